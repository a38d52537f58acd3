#include "adapter/genl_watch.hpp"

#include <fcntl.h>
#include <linux/devlink.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/sgnic.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "netlink/sgnic_netlink.hpp"

namespace sgnic::adapter {

namespace {

constexpr std::size_t kBufBytes = std::size_t{1} << 16;
// sgnic.ko's devlink instance is platform/sgnic (its platform device).
constexpr std::string_view kDevlinkBus = "platform";
constexpr std::string_view kDevlinkDev = "sgnic";
// DEVLINK_ATTR_HEALTH_REPORTER_STATE: 0 healthy, 1 error (the enum is not uapi).
constexpr std::uint8_t kReporterStateError = 1;
// Room for a burst of notifications (a module load announces every port).
constexpr int kRcvBufBytes = 1 << 20;

[[noreturn]] void fail(const std::string& what) {
    const int err = errno;
    throw nl::Error(err, "", "netlink watch: " + what + ": " + std::strerror(err));
}

// A family and its groups as nlctrl describes them; id 0 if there is no
// family of that name.
nl::FamilyInfo ask_family(mnl_socket* sock, std::uint32_t seq, const std::string& name) {
    const nl::Message req = nl::build_get_family(seq, name);
    if (mnl_socket_sendto(sock, req.data(), req.size()) < 0) {
        fail("ask nlctrl for " + name);
    }
    std::vector<std::uint8_t> buf(kBufBytes);
    nl::FamilyInfo family;
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(sock, buf.data(), buf.size());
        if (n < 0) {
            fail("nlctrl's answer for " + name);
        }
        auto len = static_cast<int>(n);
        for (const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
             mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE) {
                const nl::Ack ack = nl::parse_ack(nlh);
                if (ack.err != 0 && ack.err != ENOENT) {
                    errno = ack.err;
                    fail("nlctrl, family " + name);
                }
                return family;
            }
            family = nl::parse_family(nlh);
        }
    }
}

void join(mnl_socket* sock, std::uint32_t group, bool on) {
    int g = static_cast<int>(group);
    if (mnl_socket_setsockopt(sock, on ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP, &g,
                              sizeof(g)) < 0 &&
        on) {
        fail("join group " + std::to_string(group));
    }
}

}  // namespace

std::string_view to_string(GenlWatch::Event e) {
    switch (e) {
        case GenlWatch::Event::family_new:
            return "sgnic family registered";
        case GenlWatch::Event::family_del:
            return "sgnic family unregistered";
        case GenlWatch::Event::port_add:
            return "port added";
        case GenlWatch::Event::port_del:
            return "port removed";
        case GenlWatch::Event::steering:
            return "steering notification";
        case GenlWatch::Event::overrun:
            return "notifications lost (receive buffer overrun)";
    }
    return "unknown";
}

GenlWatch::GenlWatch() : buf_(kBufBytes) {
    sock_ = mnl_socket_open(NETLINK_GENERIC);
    if (sock_ == nullptr) {
        fail("socket");
    }
    try {
        if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
            fail("bind");
        }
        setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &kRcvBufBytes, sizeof(kRcvBufBytes));
        const std::uint32_t notify = ask_family(sock_, 1, "nlctrl").group("notify");
        if (notify == 0) {
            errno = ENOENT;
            fail("nlctrl has no notify group");
        }
        join(sock_, notify, true);
        // devlink is built into the kernel or absent: asked once.
        const nl::FamilyInfo devlink = ask_family(sock_, 2, DEVLINK_GENL_NAME);
        if (devlink.id != 0 && devlink.group(DEVLINK_GENL_MCGRP_CONFIG_NAME) != 0) {
            devlink_family_ = devlink.id;
            join(sock_, devlink.group(DEVLINK_GENL_MCGRP_CONFIG_NAME), true);
        }
        if (fcntl(fd(), F_SETFL, fcntl(fd(), F_GETFL) | O_NONBLOCK) < 0) {
            fail("O_NONBLOCK");
        }
    } catch (...) {
        mnl_socket_close(sock_);
        throw;
    }
}

GenlWatch::~GenlWatch() { mnl_socket_close(sock_); }

void GenlWatch::follow(std::uint16_t family, std::uint32_t events_group) {
    if (events_group_ != 0 && events_group_ != events_group) {
        join(sock_, events_group_, false);
    }
    family_ = family;
    events_group_ = family == 0 ? 0 : events_group;
    if (events_group_ != 0) {
        join(sock_, events_group_, true);
    }
}

std::vector<GenlWatch::Event> GenlWatch::read() {
    std::vector<Event> out;
    for (;;) {
        const ssize_t n = recv(fd(), buf_.data(), buf_.size(), 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == ENOBUFS) {
                out.push_back(Event::overrun);
                continue;
            }
            if (errno == EAGAIN) {
                return out;
            }
            fail("receive");
        }
        parse(buf_.data(), static_cast<std::size_t>(n), out);
    }
}

void GenlWatch::parse(const std::uint8_t* buf, std::size_t len, std::vector<Event>& out) {
    auto left = static_cast<int>(len);
    for (const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
        if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(genlmsghdr)) {
            continue;
        }
        const auto* genl = static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(nlh));
        if (nlh->nlmsg_type == GENL_ID_CTRL) {
            if (genl->cmd != CTRL_CMD_NEWFAMILY && genl->cmd != CTRL_CMD_DELFAMILY) {
                continue;
            }
            if (nl::parse_family(nlh).name == SGNIC_FAMILY_NAME) {
                out.push_back(genl->cmd == CTRL_CMD_NEWFAMILY ? Event::family_new
                                                              : Event::family_del);
            }
        } else if (devlink_family_ != 0 && nlh->nlmsg_type == devlink_family_) {
            if (genl->cmd == DEVLINK_CMD_HEALTH_REPORTER_RECOVER) {
                parse_health(nlh);
            }
        } else if (family_ != 0 && nlh->nlmsg_type == family_) {
            switch (genl->cmd) {
                case SGNIC_CMD_DEV_ADD_NTF:
                    out.push_back(Event::port_add);
                    break;
                case SGNIC_CMD_DEV_DEL_NTF:
                    out.push_back(Event::port_del);
                    break;
                default:
                    out.push_back(Event::steering);
                    break;
            }
        }
    }
}

// A reporter's state notification: the device's handle, the port index and
// the reporter nest.  Only sgnic's device is kept; a malformed attribute is
// skipped (the kernel's own message: never expected).
void GenlWatch::parse_health(const nlmsghdr* nlh) {
    std::string bus;
    std::string dev;
    std::optional<std::uint32_t> port;
    const nlattr* nest = nullptr;
    nl::for_each_attr(nlh, sizeof(genlmsghdr), [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case DEVLINK_ATTR_BUS_NAME:
                if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
                    bus = mnl_attr_get_str(a);
                }
                break;
            case DEVLINK_ATTR_DEV_NAME:
                if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
                    dev = mnl_attr_get_str(a);
                }
                break;
            case DEVLINK_ATTR_PORT_INDEX:
                if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
                    port = mnl_attr_get_u32(a);
                }
                break;
            case DEVLINK_ATTR_HEALTH_REPORTER:
                nest = a;
                break;
            default:
                break;
        }
    });
    if (bus != kDevlinkBus || dev != kDevlinkDev || nest == nullptr) {
        return;
    }
    Health h;
    h.handle = bus + "/" + dev;
    if (port) {
        h.handle += "/" + std::to_string(*port);
    }
    nl::for_each_nested(nest, [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case DEVLINK_ATTR_HEALTH_REPORTER_NAME:
                if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
                    h.reporter = mnl_attr_get_str(a);
                }
                break;
            case DEVLINK_ATTR_HEALTH_REPORTER_STATE:
                if (mnl_attr_validate(a, MNL_TYPE_U8) == 0) {
                    h.error = mnl_attr_get_u8(a) == kReporterStateError;
                }
                break;
            case DEVLINK_ATTR_HEALTH_REPORTER_ERR_COUNT:
                if (mnl_attr_validate(a, MNL_TYPE_U64) == 0) {
                    h.errors = mnl_attr_get_u64(a);
                }
                break;
            case DEVLINK_ATTR_HEALTH_REPORTER_RECOVER_COUNT:
                if (mnl_attr_validate(a, MNL_TYPE_U64) == 0) {
                    h.recoveries = mnl_attr_get_u64(a);
                }
                break;
            default:
                break;
        }
    });
    health_.push_back(std::move(h));
}

std::vector<GenlWatch::Health> GenlWatch::take_health() { return std::exchange(health_, {}); }

}  // namespace sgnic::adapter
