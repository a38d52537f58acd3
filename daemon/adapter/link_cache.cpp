#include "adapter/link_cache.hpp"

#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include <array>

namespace sgnic::adapter {

void LinkCache::SockFree::operator()(nl_sock* s) const { nl_socket_free(s); }
void LinkCache::CacheFree::operator()(nl_cache* c) const { nl_cache_free(c); }

LinkCache::LinkCache() {
    sock_.reset(nl_socket_alloc());
    if (sock_ && nl_connect(sock_.get(), NETLINK_ROUTE) < 0) {
        sock_.reset();
    }
}

bool LinkCache::refill() {
    if (!sock_) {
        return false;
    }
    nl_cache* fresh = nullptr;
    if (rtnl_link_alloc_cache(sock_.get(), AF_UNSPEC, &fresh) < 0) {
        return false;
    }
    cache_.reset(fresh);
    return true;
}

std::optional<Link> LinkCache::find(std::uint32_t ifindex) const {
    if (!cache_) {
        return std::nullopt;
    }
    rtnl_link* link = rtnl_link_get(cache_.get(), static_cast<int>(ifindex));
    if (link == nullptr) {
        return std::nullopt;
    }
    std::array<char, 32> oper{};
    rtnl_link_operstate2str(rtnl_link_get_operstate(link), oper.data(), oper.size());
    Link out{.name = rtnl_link_get_name(link),
             .state = {.oper_state = oper.data(),
                       .admin_up = (rtnl_link_get_flags(link) & IFF_UP) != 0,
                       .mtu = rtnl_link_get_mtu(link),
                       .rx_packets = rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS),
                       .rx_bytes = rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES),
                       .tx_packets = rtnl_link_get_stat(link, RTNL_LINK_TX_PACKETS),
                       .tx_bytes = rtnl_link_get_stat(link, RTNL_LINK_TX_BYTES)}};
    rtnl_link_put(link);
    return out;
}

}  // namespace sgnic::adapter
