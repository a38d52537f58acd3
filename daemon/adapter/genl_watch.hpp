// A non-blocking generic netlink socket that listens, never asks: nlctrl's
// "notify" group (families registered and unregistered) and, while the sgnic
// family exists, its "events" group (ports added and removed, matchers).
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <string>
#include <vector>

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

    // Everything pending, in order; never blocks.
    std::vector<Event> read();

private:
    void parse(const std::uint8_t* buf, std::size_t len, std::vector<Event>& out);

    mnl_socket* sock_ = nullptr;
    std::uint16_t family_ = 0;
    std::uint32_t events_group_ = 0;
    std::vector<std::uint8_t> buf_;
};

std::string_view to_string(GenlWatch::Event e);

}  // namespace sgnic::adapter
