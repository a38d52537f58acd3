#include "cli/rule_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace sgnic::cli {

namespace {

constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;

bool write_all(int fd, const char* data, std::size_t len) {
    while (len > 0) {
        const ssize_t n = ::write(fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data += n;
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

// Reads `in` to its end in blocks, each to `sink`; errno on failure.
template <typename Sink>
int read_blocks(int in, Sink&& sink) {
    std::array<char, std::size_t{64} * 1024> block{};
    for (;;) {
        const ssize_t n = ::read(in, block.data(), block.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno;
        }
        if (n == 0) {
            return 0;
        }
        if (!sink(block.data(), static_cast<std::size_t>(n))) {
            return errno != 0 ? errno : EIO;
        }
    }
}

// Copies the rest of `in` to the end of `out`: in the kernel while sendfile
// takes the input (a regular file), then in blocks (a pipe, a tty).
int copy_rest(int in, int out) {
    constexpr std::size_t kMaxSend = 0x7ffff000;  // what one sendfile() moves at most
    for (;;) {
        const ssize_t n = ::sendfile(out, in, nullptr, kMaxSend);
        if (n > 0) {
            continue;
        }
        if (n == 0) {
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP && errno != ESPIPE) {
            return errno;
        }
        break;  // this input does not splice
    }
    return read_blocks(
        in, [&](const char* data, std::size_t len) { return write_all(out, data, len); });
}

UniqueFd new_memfd() {
    return UniqueFd(::memfd_create("sgnicctl-rules", MFD_CLOEXEC | MFD_ALLOW_SEALING));
}

}  // namespace

UniqueFd sealed_memfd(std::string_view text) {
    UniqueFd fd = new_memfd();
    if (!fd || !write_all(fd.get(), text.data(), text.size()) ||
        ::fcntl(fd.get(), F_ADD_SEALS, kSeals) < 0) {
        return {};
    }
    return fd;
}

std::variant<RuleFile, std::string> RuleFile::open(const std::string& path) {
    UniqueFd opened;
    int in = STDIN_FILENO;
    if (path != "-") {
        opened.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!opened) {
            return "cannot read '" + path + "': " + std::strerror(errno);
        }
        in = opened.get();
    }
    const std::string name = path == "-" ? std::string("stdin") : "'" + path + "'";
    RuleFile file;
    file.memfd_ = new_memfd();
    if (!file.memfd_) {
        const int err = read_blocks(in, [&](const char* data, std::size_t len) {
            file.held_.append(data, len);
            return true;
        });
        if (err != 0) {
            return "cannot read " + name + ": " + std::strerror(err);
        }
        return file;
    }
    if (const int err = copy_rest(in, file.memfd_.get()); err != 0) {
        return "cannot read " + name + ": " + std::strerror(err);
    }
    struct stat st {};
    if (::fcntl(file.memfd_.get(), F_ADD_SEALS, kSeals) < 0 ||
        ::fstat(file.memfd_.get(), &st) < 0) {
        return "cannot seal the copy of " + name + ": " + std::strerror(errno);
    }
    file.size_ = static_cast<std::size_t>(st.st_size);
    if (file.size_ > 0) {
        // Populated at once: one fault, not one per page, as the file is read.
        void* map =
            ::mmap(nullptr, file.size_, PROT_READ, MAP_SHARED | MAP_POPULATE, file.memfd_.get(), 0);
        if (map == MAP_FAILED) {
            return "cannot map the copy of " + name + ": " + std::strerror(errno);
        }
        file.map_ = map;
    }
    return file;
}

RuleFile::RuleFile(RuleFile&& other) noexcept
    : memfd_(std::move(other.memfd_)),
      map_(std::exchange(other.map_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      held_(std::move(other.held_)) {}

RuleFile::~RuleFile() {
    if (map_ != nullptr) {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): munmap takes void*
        (void)::munmap(const_cast<void*>(map_), size_);
    }
}

std::string_view RuleFile::text() const {
    if (map_ != nullptr) {
        return {static_cast<const char*>(map_), size_};
    }
    return held_;
}

}  // namespace sgnic::cli
