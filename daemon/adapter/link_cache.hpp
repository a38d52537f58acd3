// Port names, state and counters from rtnetlink, through libnl-route-3's
// link cache (the kernel's ifindex is the key; names change with renames).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "service/kernel.hpp"

struct nl_sock;
struct nl_cache;

namespace sgnic::adapter {

struct Link {
    std::string name;
    service::LinkState state;
};

class LinkCache {
public:
    LinkCache();

    // Re-reads every link; false (and the old picture kept) on failure.
    bool refill();
    std::optional<Link> find(std::uint32_t ifindex) const;

private:
    struct SockFree {
        void operator()(nl_sock* s) const;
    };
    struct CacheFree {
        void operator()(nl_cache* c) const;
    };
    std::unique_ptr<nl_sock, SockFree> sock_;
    std::unique_ptr<nl_cache, CacheFree> cache_;
};

}  // namespace sgnic::adapter
