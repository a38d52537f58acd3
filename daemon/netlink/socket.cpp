// The libmnl socket of the sgnic family and the client's operations.
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/sgnic.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "netlink/sgnic_netlink.hpp"

namespace sgnic::nl {

namespace {

// Dumps and bulk replies can be large: read whole datagrams.
constexpr size_t kRxBufBytes = 1 << 20;
constexpr int kSockBufBytes = 4 << 20;

[[noreturn]] void throw_errno(const std::string& what) {
    const int err = errno;
    throw Error(err, "", what + ": " + std::strerror(err));
}

std::string describe(int err, const std::string& extack) {
    std::string s = std::strerror(err);
    if (!extack.empty()) {
        s += ": " + extack;
    }
    return s;
}

}  // namespace

// ---- Socket ----

Socket::Socket() : rxbuf_(kRxBufBytes) {
    sock_ = mnl_socket_open(NETLINK_GENERIC);
    if (!sock_) {
        throw_errno("netlink socket");
    }
    try {
        if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
            throw_errno("netlink bind");
        }
        portid_ = mnl_socket_get_portid(sock_);
        int one = 1;
        mnl_socket_setsockopt(sock_, NETLINK_EXT_ACK, &one, sizeof(one));
        mnl_socket_setsockopt(sock_, NETLINK_CAP_ACK, &one, sizeof(one));
        const int fd = mnl_socket_get_fd(sock_);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSockBufBytes, sizeof(kSockBufBytes));
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSockBufBytes, sizeof(kSockBufBytes));
        family_ = resolve();
    } catch (...) {
        mnl_socket_close(sock_);
        throw;
    }
}

Socket::~Socket() { mnl_socket_close(sock_); }

void Socket::send(const void* data, size_t len) {
    if (mnl_socket_sendto(sock_, data, len) < 0) {
        throw_errno("netlink send");
    }
}

// nlctrl: the family id and the events group; asking loads the module.
uint16_t Socket::resolve() {
    FamilyInfo info;
    family_ = GENL_ID_CTRL;
    transact(build_get_family(next_seq(), SGNIC_FAMILY_NAME),
             [&](const nlmsghdr* nlh) { info = parse_family(nlh); });
    if (!info.id) {
        throw Error(ENOENT, "", "sgnic family not found");
    }
    events_group_ = info.group(SGNIC_MCGRP_EVENTS);
    return info.id;
}

void Socket::transact(const Message& req, const std::function<void(const nlmsghdr*)>& on_msg) {
    const uint32_t seq = req.header()->nlmsg_seq;
    send(req.data(), req.size());
    bool interrupted = false;
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(sock_, rxbuf_.data(), rxbuf_.size());
        if (n < 0) {
            throw_errno("netlink receive");
        }
        auto len = static_cast<int>(n);
        const auto* nlh = reinterpret_cast<const nlmsghdr*>(rxbuf_.data());
        for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid_) {
                continue;  // a stale answer or an event
            }
            interrupted = interrupted || (nlh->nlmsg_flags & NLM_F_DUMP_INTR) != 0;
            if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE) {
                const Ack ack = parse_ack(nlh);
                if (ack.err) {
                    throw Error(ack.err, ack.msg, describe(ack.err, ack.msg));
                }
                if (interrupted) {
                    throw Error(EINTR, "", "the dump was interrupted by a change; read it again");
                }
                return;
            }
            if (on_msg) {
                on_msg(nlh);
            }
        }
    }
}

int Socket::transact_raw(const uint8_t* data, size_t len) {
    if (mnl_socket_sendto(sock_, data, len) < 0) {
        return errno;
    }
    int result = 0;
    for (;;) {
        pollfd pfd{mnl_socket_get_fd(sock_), POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0) {
            return result;  // the kernel ignores some messages silently
        }
        const ssize_t n =
            recv(mnl_socket_get_fd(sock_), rxbuf_.data(), rxbuf_.size(), MSG_DONTWAIT);
        if (n < 0) {
            return errno == EAGAIN ? result : errno;
        }
        auto left = static_cast<int>(n);
        const auto* nlh = reinterpret_cast<const nlmsghdr*>(rxbuf_.data());
        for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
            if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE) {
                return parse_ack(nlh).err;
            }
        }
    }
}

void Socket::join_events() {
    int group = static_cast<int>(events_group_);
    if (mnl_socket_setsockopt(sock_, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
        throw_errno("join events");
    }
}

bool Socket::recv_event(int timeout_ms, const std::function<void(const nlmsghdr*)>& on_msg) {
    pollfd pfd{mnl_socket_get_fd(sock_), POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) {
        return false;
    }
    const ssize_t n = mnl_socket_recvfrom(sock_, rxbuf_.data(), rxbuf_.size());
    if (n < 0) {
        throw_errno("netlink receive");
    }
    auto len = static_cast<int>(n);
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(rxbuf_.data());
    for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
        if (nlh->nlmsg_type == family_) {
            on_msg(nlh);
        }
    }
    return true;
}

// ---- Client ----

std::vector<DevInfo> Client::devs() {
    std::vector<DevInfo> out;
    sock_.transact(build_dev_get(sock_.family(), sock_.next_seq(), 0),
                   [&](const nlmsghdr* nlh) { out.push_back(parse_dev(nlh)); });
    return out;
}

DevInfo Client::dev(uint32_t ifindex) {
    DevInfo d;
    sock_.transact(build_dev_get(sock_.family(), sock_.next_seq(), ifindex),
                   [&](const nlmsghdr* nlh) { d = parse_dev(nlh); });
    return d;
}

std::vector<PortalInfo> Client::portals() {
    std::vector<PortalInfo> out;
    sock_.transact(build_portal_dump(sock_.family(), sock_.next_seq()),
                   [&](const nlmsghdr* nlh) { out.push_back(parse_portal(nlh)); });
    return out;
}

std::vector<PoolInfo> Client::pools(uint32_t ifindex) {
    std::vector<PoolInfo> out;
    sock_.transact(build_pool_dump(sock_.family(), sock_.next_seq(), ifindex),
                   [&](const nlmsghdr* nlh) { out.push_back(parse_pool(nlh)); });
    return out;
}

MatcherInfo Client::matcher_new(const MatcherSpec& spec) {
    MatcherInfo m;
    sock_.transact(build_matcher_new(sock_.family(), sock_.next_seq(), spec),
                   [&](const nlmsghdr* nlh) { m = parse_matcher(nlh); });
    return m;
}

void Client::matcher_del(uint32_t ifindex, uint32_t id) {
    sock_.transact(build_matcher_del(sock_.family(), sock_.next_seq(), ifindex, id), nullptr);
}

MatcherInfo Client::matcher_get(uint32_t ifindex, uint32_t id) {
    MatcherInfo m;
    sock_.transact(build_matcher_get(sock_.family(), sock_.next_seq(), ifindex, id),
                   [&](const nlmsghdr* nlh) { m = parse_matcher(nlh); });
    return m;
}

std::vector<MatcherInfo> Client::matchers(uint32_t ifindex) {
    std::vector<MatcherInfo> out;
    sock_.transact(build_matcher_get(sock_.family(), sock_.next_seq(), ifindex, 0),
                   [&](const nlmsghdr* nlh) { out.push_back(parse_matcher(nlh)); });
    return out;
}

void Client::matcher_resize(uint32_t ifindex, uint32_t id, uint32_t target) {
    sock_.transact(build_matcher_resize(sock_.family(), sock_.next_seq(), ifindex, id, target),
                   nullptr);
}

namespace {

void merge(BulkReply& total, BulkReply&& part, uint32_t base) {
    total.applied += part.applied;
    total.failed += part.failed;
    for (auto& r : part.results) {
        r.index += base;
        total.results.push_back(std::move(r));
    }
}

}  // namespace

BulkReply Client::rules_new(uint32_t ifindex, uint32_t matcher_id, std::span<const RuleSpec> rules,
                            uint32_t flags, size_t max_bytes) {
    BulkReply total;
    size_t done = 0;
    while (done < rules.size()) {
        const auto rest = rules.subspan(done);
        auto [request, n] = build_rule_new_upto(sock_.family(), sock_.next_seq(), ifindex,
                                                matcher_id, flags, rest, max_bytes);
        BulkReply part;
        try {
            sock_.transact(request, [&](const nlmsghdr* nlh) { part = parse_bulk_reply(nlh); });
        } catch (const Error& e) {
            throw Error(e.err(), e.extack(),
                        std::string(e.what()) + " (batch from rule " + std::to_string(done) + ", " +
                            std::to_string(total.applied) + " applied before)");
        }
        merge(total, std::move(part), static_cast<uint32_t>(done));
        done += n;
    }
    return total;
}

BulkReply Client::rules_ids(uint8_t cmd, uint32_t ifindex, uint32_t matcher_id,
                            std::span<const uint32_t> ids, uint32_t flags, size_t max_bytes) {
    // Header plus ifindex, matcher-id, flags; then 12 bytes per rule nest.
    constexpr size_t kPerRule = 2 * MNL_ATTR_HDRLEN + 4;
    const size_t per_msg = std::max<size_t>(1, (max_bytes - 64) / kPerRule);
    BulkReply total;
    for (size_t done = 0; done < ids.size(); done += per_msg) {
        const auto batch = ids.subspan(done, std::min(per_msg, ids.size() - done));
        BulkReply part;
        sock_.transact(build_rule_ids(sock_.family(), sock_.next_seq(), cmd, ifindex, matcher_id,
                                      flags, batch),
                       [&](const nlmsghdr* nlh) { part = parse_bulk_reply(nlh); });
        merge(total, std::move(part), static_cast<uint32_t>(done));
    }
    return total;
}

BulkReply Client::rules_del(uint32_t ifindex, uint32_t matcher_id, std::span<const uint32_t> ids,
                            uint32_t flags, size_t max_bytes) {
    return rules_ids(SGNIC_CMD_RULE_DEL, ifindex, matcher_id, ids, flags, max_bytes);
}

BulkReply Client::rules_move(uint32_t ifindex, uint32_t matcher_id, std::span<const uint32_t> ids,
                             uint32_t flags, size_t max_bytes) {
    return rules_ids(SGNIC_CMD_RULE_MOVE, ifindex, matcher_id, ids, flags, max_bytes);
}

RuleInfo Client::rule_get(uint32_t ifindex, uint32_t id) {
    RuleInfo r;
    sock_.transact(build_rule_get(sock_.family(), sock_.next_seq(), ifindex, id),
                   [&](const nlmsghdr* nlh) { r = parse_rule(nlh); });
    return r;
}

void Client::rules_dump(uint32_t ifindex, uint32_t matcher_id,
                        const std::function<void(const RuleInfo&)>& on_rule, IdRange range) {
    RuleInfo r;
    sock_.transact(build_rule_dump(sock_.family(), sock_.next_seq(), ifindex, matcher_id, range),
                   [&](const nlmsghdr* nlh) {
                       parse_rule(nlh, r);
                       on_rule(r);
                   });
}

}  // namespace sgnic::nl
