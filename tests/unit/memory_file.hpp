// A file in memory as a load job's reads see it (pread), for tests: a read
// that starts at `fail_at` or after fails with EIO.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "sgnic/proto/load.hpp"

namespace sgnic::testing {

inline proto::load::RecordReader::ReadAt memory_file(
    std::string content, std::uint64_t fail_at = std::numeric_limits<std::uint64_t>::max()) {
    return [content = std::move(content), fail_at](std::span<char> buf,
                                                   std::uint64_t offset) -> Expected<std::size_t> {
        if (offset >= fail_at) {
            return Error(Errc::device, "read at byte " + std::to_string(offset) + ": EIO");
        }
        if (offset >= content.size()) {
            return std::size_t{0};
        }
        const std::size_t n = std::min(buf.size(), content.size() - offset);
        std::memcpy(buf.data(), content.data() + offset, n);
        return n;
    };
}

}  // namespace sgnic::testing
