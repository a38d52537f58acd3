#include "store/seal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "sgnic/proto/unique_fd.hpp"

namespace sgnic::store {

namespace {

// Layout, little-endian: the magic; the port count, then per port its
// ifindex (u32), steer_gen (u64), name length (u32) and name; next_rule
// (u64); the rule count (u64), then per rule its key and id (u64 each); a
// checksum (u64) of everything before it.
constexpr std::string_view kFileName = "seal";
constexpr std::string_view kTempName = "seal.new";
constexpr std::array<std::uint8_t, 8> kMagic = {'s', 'g', 'n', 'S', 'E', 'A', 'L', '1'};
constexpr std::uint32_t kMaxPorts = 4096;
constexpr std::uint32_t kMaxName = 64;  // IFNAMSIZ is 16
constexpr std::size_t kRuleBytes = 16;

// FNV-1a's constants over 64-bit words (the tail zero-padded): enough to
// catch a torn or damaged file, which is all a checksum here is for.
std::uint64_t checksum(std::span<const std::uint8_t> bytes) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    std::size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, bytes.data() + i, 8);
        h = (h ^ word) * 0x100000001b3ULL;
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
    return (h ^ tail ^ bytes.size()) * 0x100000001b3ULL;
}

class Writer {
public:
    void put(std::uint64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) {
            out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        }
    }
    void put(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    std::vector<std::uint8_t>& bytes() { return out_; }

private:
    std::vector<std::uint8_t> out_;
};

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
    bool get(std::uint64_t& v, int bytes) {
        if (left() < static_cast<std::size_t>(bytes)) {
            return false;
        }
        v = 0;
        for (int i = 0; i < bytes; ++i) {
            v |= static_cast<std::uint64_t>(in_[at_ + i]) << (8 * i);
        }
        at_ += bytes;
        return true;
    }
    bool get(std::span<const std::uint8_t>& out, std::size_t n) {
        if (left() < n) {
            return false;
        }
        out = in_.subspan(at_, n);
        at_ += n;
        return true;
    }
    std::size_t left() const { return in_.size() - at_; }

private:
    std::span<const std::uint8_t> in_;
    std::size_t at_ = 0;
};

Error corrupt(const std::string& what) { return {Errc::store, "the seal is unreadable: " + what}; }

Error os_error(const std::string& what) {
    return {Errc::store, what + ": " + std::strerror(errno)};
}

}  // namespace

std::vector<std::uint8_t> encode_seal(const model::Seal& seal) {
    Writer w;
    w.bytes().reserve(64 + seal.ports.size() * 32 + seal.rules.size() * kRuleBytes);
    w.put(kMagic);
    w.put(seal.ports.size(), 4);
    for (const model::SealedPort& p : seal.ports) {
        w.put(p.ifindex, 4);
        w.put(p.steer_gen, 8);
        w.put(p.name.size(), 4);
        w.put({reinterpret_cast<const std::uint8_t*>(p.name.data()), p.name.size()});
    }
    w.put(seal.next_rule, 8);
    w.put(seal.rules.size(), 8);
    for (const model::RuleBinding& r : seal.rules) {
        w.put(r.id, 8);
        w.put(r.rule, 8);
    }
    w.put(checksum(w.bytes()), 8);
    return std::move(w.bytes());
}

Expected<model::Seal> decode_seal(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < kMagic.size() + 8) {
        return corrupt(std::to_string(bytes.size()) + " bytes are too few");
    }
    const auto body = bytes.first(bytes.size() - 8);
    Reader tail(bytes.last(8));
    std::uint64_t sum = 0;
    (void)tail.get(sum, 8);
    if (sum != checksum(body)) {
        return corrupt("its checksum does not match");
    }
    Reader r(body);
    std::span<const std::uint8_t> magic;
    (void)r.get(magic, kMagic.size());
    if (!std::equal(magic.begin(), magic.end(), kMagic.begin())) {
        return corrupt("not a seal of this sgnicd's format");
    }
    model::Seal seal;
    std::uint64_t ports = 0;
    if (!r.get(ports, 4) || ports > kMaxPorts) {
        return corrupt("bad port count");
    }
    for (std::uint64_t i = 0; i < ports; ++i) {
        std::uint64_t ifindex = 0;
        std::uint64_t gen = 0;
        std::uint64_t length = 0;
        std::span<const std::uint8_t> name;
        if (!r.get(ifindex, 4) || !r.get(gen, 8) || !r.get(length, 4) || length > kMaxName ||
            !r.get(name, length)) {
            return corrupt("port " + std::to_string(i) + " is cut short");
        }
        seal.ports.push_back({.name = std::string(name.begin(), name.end()),
                              .ifindex = static_cast<policy::PortId>(ifindex),
                              .steer_gen = gen});
    }
    std::uint64_t rules = 0;
    if (!r.get(seal.next_rule, 8) || !r.get(rules, 8) || r.left() / kRuleBytes != rules ||
        r.left() % kRuleBytes != 0) {
        return corrupt("its rule count does not match its size");
    }
    seal.rules.resize(rules);
    for (model::RuleBinding& rule : seal.rules) {
        (void)r.get(rule.id, 8);
        (void)r.get(rule.rule, 8);
    }
    return seal;
}

Status write_seal(const std::filesystem::path& state_dir, const model::Seal& seal) {
    const std::vector<std::uint8_t> bytes = encode_seal(seal);
    const std::filesystem::path temp = state_dir / kTempName;
    const UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) {
        return os_error("create " + temp.string());
    }
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const Error e = os_error("write " + temp.string());
            (void)::unlink(temp.c_str());
            return e;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0 || ::rename(temp.c_str(), (state_dir / kFileName).c_str()) != 0) {
        const Error e = os_error("seal " + (state_dir / kFileName).string());
        (void)::unlink(temp.c_str());
        return e;
    }
    // The rename itself is durable once the directory is synced.
    const UniqueFd dir(::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir || ::fsync(dir.get()) != 0) {
        return os_error("sync " + state_dir.string());
    }
    return {};
}

Expected<std::optional<model::Seal>> read_seal(const std::filesystem::path& state_dir) {
    const std::filesystem::path path = state_dir / kFileName;
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) {
            return std::optional<model::Seal>();
        }
        return os_error("open " + path.string());
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return os_error("stat " + path.string());
    }
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return os_error("read " + path.string());
        }
        if (n == 0) {
            return corrupt("it shrank while read");
        }
        done += static_cast<std::size_t>(n);
    }
    auto seal = decode_seal(bytes);
    if (!seal) {
        return seal.error();
    }
    return std::optional<model::Seal>(std::move(*seal));
}

Status remove_seal(const std::filesystem::path& state_dir) {
    const std::filesystem::path path = state_dir / kFileName;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return os_error("remove " + path.string());
    }
    return {};
}

}  // namespace sgnic::store
