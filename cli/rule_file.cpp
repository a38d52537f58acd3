#include "cli/rule_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
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

// Copies up to `max` bytes of `in` to `out` at its offset: in the kernel
// while sendfile takes the input (a regular file), else through a buffer
// (a pipe, a tty: `splices` turns false, `buffer` is grown once).  The
// bytes copied, 0 at the end, or -1 (errno).
ssize_t copy_block(int in, int out, std::size_t max, bool& splices, std::string& buffer) {
    for (;;) {
        if (splices) {
            const ssize_t n = ::sendfile(out, in, nullptr, max);
            if (n >= 0) {
                return n;
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP && errno != ESPIPE) {
                return -1;
            }
            splices = false;
        }
        buffer.resize(std::size_t{64} * 1024);
        const ssize_t n = ::read(in, buffer.data(), std::min(max, buffer.size()));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n;
        }
        if (!write_all(out, buffer.data(), static_cast<std::size_t>(n))) {
            errno = errno != 0 ? errno : EIO;
            return -1;
        }
        return n;
    }
}

// Copies the rest of `in` to the end of `out`; errno on failure.
int copy_rest(int in, int out) {
    constexpr std::size_t kMaxSend = 0x7ffff000;  // what one sendfile() moves at most
    std::string buffer;
    for (bool splices = true;;) {
        const ssize_t n = copy_block(in, out, kMaxSend, splices, buffer);
        if (n <= 0) {
            return n < 0 ? errno : 0;
        }
    }
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

std::variant<RuleFile, std::string> RuleFile::open(const std::string& path, const Follow& follow) {
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
    struct stat in_st {};
    const off_t in_at = follow ? ::lseek(in, 0, SEEK_CUR) : -1;
    if (in_at >= 0 && ::fstat(in, &in_st) == 0 && S_ISREG(in_st.st_mode) &&
        in_st.st_size - in_at >= static_cast<off_t>(kFollowBytes)) {
        if (auto why = file.copy_following(in, static_cast<std::size_t>(in_st.st_size - in_at),
                                           name, follow)) {
            return *why;
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
        file.map_bytes_ = file.size_;
    }
    return file;
}

std::optional<std::string> RuleFile::copy_following(int in, std::size_t size,
                                                    const std::string& name, const Follow& follow) {
    const int out = memfd_.get();
    if (::ftruncate(out, static_cast<off_t>(size)) < 0) {
        return "cannot size the copy of " + name + ": " + std::strerror(errno);
    }
    // Private but never written, so its pages are the memfd's: the reader
    // sees each block as the copy writes it.  (A shared mapping of the
    // writable memfd would keep F_SEAL_WRITE from being set.)
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, out, 0);
    if (map == MAP_FAILED) {
        return "cannot map the copy of " + name + ": " + std::strerror(errno);
    }
    map_ = map;
    map_bytes_ = size;
    const std::string_view text(static_cast<const char*>(map), size);

    std::mutex mutex;
    std::condition_variable more;
    std::size_t copied = 0;  // guarded by mutex, as done
    bool done = false;
    std::exception_ptr failed;  // the reader's
    std::thread reader;
    try {
        reader = std::thread([&] {
            std::size_t read = 0;  // handed to `follow`
            std::size_t seen = 0;  // looked at for a newline
            for (bool last = false; !last;) {
                std::size_t upto = 0;
                {
                    std::unique_lock lock(mutex);
                    more.wait(lock, [&] { return done || copied > seen; });
                    upto = copied;
                    last = done;
                }
                seen = upto;
                std::size_t end = upto;
                if (!last) {  // whole lines until the end
                    const std::size_t nl = text.substr(read, upto - read).rfind('\n');
                    if (nl == std::string_view::npos) {
                        continue;
                    }
                    end = read + nl + 1;
                }
                if (end > read) {
                    try {
                        follow(text.substr(read, end - read));
                    } catch (...) {
                        failed = std::current_exception();
                        return;
                    }
                    read = end;
                }
            }
        });
    } catch (const std::system_error&) {
        // No thread: copied alone, read by the caller afterwards.
    }
    constexpr std::size_t kBlock = std::size_t{4} << 20;
    bool splices = true;
    std::string buffer;
    int err = 0;
    std::size_t at = 0;
    while (at < size) {
        const ssize_t n = copy_block(in, out, std::min(kBlock, size - at), splices, buffer);
        if (n <= 0) {
            err = n < 0 ? errno : 0;
            break;  // an error, or the file is shorter now
        }
        at += static_cast<std::size_t>(n);
        {
            const std::lock_guard lock(mutex);
            copied = at;
        }
        more.notify_one();
    }
    {
        const std::lock_guard lock(mutex);
        done = true;
    }
    more.notify_one();
    if (reader.joinable()) {
        reader.join();
    }
    if (failed) {
        std::rethrow_exception(failed);
    }
    if (err != 0) {
        return "cannot read " + name + ": " + std::strerror(err);
    }
    size_ = at;
    if ((at < size && ::ftruncate(out, static_cast<off_t>(at)) < 0) ||
        ::fcntl(out, F_ADD_SEALS, kSeals) < 0) {
        return "cannot seal the copy of " + name + ": " + std::strerror(errno);
    }
    return std::nullopt;
}

RuleFile::RuleFile(RuleFile&& other) noexcept
    : memfd_(std::move(other.memfd_)),
      map_(std::exchange(other.map_, nullptr)),
      map_bytes_(std::exchange(other.map_bytes_, 0)),
      size_(std::exchange(other.size_, 0)),
      held_(std::move(other.held_)) {}

RuleFile::~RuleFile() {
    if (map_ != nullptr) {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): munmap takes void*
        (void)::munmap(const_cast<void*>(map_), map_bytes_);
    }
}

std::string_view RuleFile::text() const {
    if (map_ != nullptr) {
        return {static_cast<const char*>(map_), size_};
    }
    return held_;
}

}  // namespace sgnic::cli
