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
#include <string>
#include <string_view>
#include <variant>

#include "sgnic/proto/unique_fd.hpp"

namespace sgnic::cli {

class RuleFile {
public:
    // `path` "-" reads stdin.  The error names the file and why.
    static std::variant<RuleFile, std::string> open(const std::string& path);

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

    UniqueFd memfd_;
    const void* map_ = nullptr;  // PROT_READ, size_ bytes
    std::size_t size_ = 0;
    std::string held_;  // no memfd
};

// A sealed memfd holding `text`; an invalid fd when that cannot be done.
UniqueFd sealed_memfd(std::string_view text);

}  // namespace sgnic::cli
