// The file of `sgnicctl rule load`, held once: in a sealed memfd, which
// sgnicd reads (LoadRules) and nobody can change meanwhile, and which
// sgnicctl reads through a read-only mapping of the same pages.  A regular
// file is copied into the memfd by the kernel (sendfile), not through
// sgnicctl's memory: reading a 50 MB file into a string and writing it to
// the memfd again was the bulk of what sgnicctl did before the call.
// Where no memfd can be made (a sandbox, an old kernel) the text is held in
// memory and there is no fd: the rules then go by port.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "sgnic/proto/unique_fd.hpp"

namespace sgnic::cli {

class RuleFile {
public:
    // The text in pieces, in order, each ending at a newline (the last one
    // at the text's end).
    using Follow = std::function<void(std::string_view piece)>;

    // `path` "-" reads stdin.  The error names the file and why.  A large
    // regular file is copied a block at a time, and `follow` (when given)
    // reads each block on a thread of its own once it is in the memfd:
    // what sgnicctl counts is read while the copy runs, from the copy.  The
    // copy is the file as long as it was when opened.  A small file, a
    // pipe, or no thread to spare: the text is not followed (the caller
    // reads text() itself).
    static std::variant<RuleFile, std::string> open(const std::string& path,
                                                    const Follow& follow = {});
    // Files below this are copied at once and not followed.
    static constexpr std::size_t kFollowBytes = std::size_t{1} << 20;

    RuleFile(const RuleFile&) = delete;
    RuleFile& operator=(const RuleFile&) = delete;
    RuleFile(RuleFile&& other) noexcept;
    RuleFile& operator=(RuleFile&&) = delete;  // held once, moved only into its holder
    ~RuleFile();

    std::string_view text() const;
    // The sealed memfd that holds text(), or -1.
    int fd() const { return memfd_.get(); }

private:
    RuleFile() = default;

    // Copies `in` (a regular file of `size` bytes) into memfd_ while
    // `follow` reads it; the error names `name`.
    std::optional<std::string> copy_following(int in, std::size_t size, const std::string& name,
                                              const Follow& follow);

    UniqueFd memfd_;
    const void* map_ = nullptr;  // PROT_READ, map_bytes_ bytes, of which size_ hold the text
    std::size_t map_bytes_ = 0;
    std::size_t size_ = 0;
    std::string held_;  // no memfd
};

// A sealed memfd holding `text`; an invalid fd when that cannot be done.
UniqueFd sealed_memfd(std::string_view text);

}  // namespace sgnic::cli
