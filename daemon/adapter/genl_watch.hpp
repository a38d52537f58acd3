// A non-blocking generic netlink socket that listens, never asks: nlctrl's
// "notify" group (families registered and unregistered), while the sgnic
// family exists its "events" group (ports added and removed, matchers), and
// devlink's "config" group for the health reporters of sgnic's device.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "service/kernel.hpp"

namespace sgnic::adapter {

class GenlWatch {
public:
    enum class Event {
        family_new,  // nlctrl: the sgnic family registered (module loaded)
        family_del,  // nlctrl: the sgnic family unregistered (module unloading)
        port_add,    // sgnic dev-add-ntf
        port_del,    // sgnic dev-del-ntf
        steering,    // sgnic matcher notifications (ours or anybody's)
        overrun,     // ENOBUFS: notifications were lost
    };

    GenlWatch();
    ~GenlWatch();
    GenlWatch(const GenlWatch&) = delete;
    GenlWatch& operator=(const GenlWatch&) = delete;
    GenlWatch(GenlWatch&&) = delete;
    GenlWatch& operator=(GenlWatch&&) = delete;

    int fd() const { return mnl_socket_get_fd(sock_); }

    // Follows the sgnic family's events group (the ids change with every
    // module load); family 0 stops following it.
    void follow(std::uint16_t family, std::uint32_t events_group);

    using Health = service::KernelWatch::Health;

    // Everything pending, in order; never blocks.  Health changes read on
    // the way are kept for take_health().
    std::vector<Event> read();
    std::vector<Health> take_health();

private:
    void parse(const std::uint8_t* buf, std::size_t len, std::vector<Event>& out);
    void parse_health(const nlmsghdr* nlh);

    mnl_socket* sock_ = nullptr;
    std::uint16_t family_ = 0;
    std::uint32_t events_group_ = 0;
    std::uint16_t devlink_family_ = 0;  // 0: a kernel without devlink
    std::vector<Health> health_;
    std::vector<std::uint8_t> buf_;
};

std::string_view to_string(GenlWatch::Event e);

}  // namespace sgnic::adapter
