// What sgnicd needs from the kernel besides policy::Device: the sgnic ports
// and a dump of the steering objects.  The netlink adapter (daemon/netlink,
// libmnl + libnl-route-3) implements both, and policy::Device, for sgnic.ko;
// the unit tests implement them with fakes.  sgnicd takes them by reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/adopt.hpp"
#include "model/reconcile.hpp"
#include "policy/types.hpp"
#include "sgnic/proto/result.hpp"

namespace sgnic::service {

// Hit counters of one installed rule, per direction.
struct RuleCounters {
    policy::RuleId id = 0;
    std::uint64_t rx_packets = 0;
    std::uint64_t rx_bytes = 0;
    std::uint64_t tx_packets = 0;
    std::uint64_t tx_bytes = 0;
};

// Rule ids [first, last]: the rules a counter read covers.
struct RuleIdRange {
    policy::RuleId first = 0;
    policy::RuleId last = std::numeric_limits<policy::RuleId>::max();
};

// The netdev side of a port, from rtnetlink (libnl-route-3's link cache).
struct LinkState {
    std::string oper_state;  // "up", "down", "lowerlayerdown", ... as ip link says
    bool admin_up = false;
    std::uint32_t mtu = 0;
    std::uint64_t rx_packets = 0;
    std::uint64_t rx_bytes = 0;
    std::uint64_t tx_packets = 0;
    std::uint64_t tx_bytes = 0;
};

struct PortInfo {
    policy::PortId ifindex = 0;
    std::string name;
    policy::Caps caps;
    LinkState link;
    // Changes with every change of the port's matchers and rules (the dev
    // dump's steer-gen): what a seal compares.
    std::uint64_t steer_gen = 0;
};

class PortSource {
public:
    PortSource() = default;
    PortSource(const PortSource&) = delete;
    PortSource& operator=(const PortSource&) = delete;
    PortSource(PortSource&&) = delete;
    PortSource& operator=(PortSource&&) = delete;
    virtual ~PortSource() = default;

    // The sgnic ports present now (dev-get dump, names from the link cache).
    virtual Expected<std::vector<PortInfo>> list_ports() = 0;
};

class KernelState {
public:
    KernelState() = default;
    KernelState(const KernelState&) = delete;
    KernelState& operator=(const KernelState&) = delete;
    KernelState(KernelState&&) = delete;
    KernelState& operator=(KernelState&&) = delete;
    virtual ~KernelState() = default;

    // matcher-get and rule-get dumps over every port.
    virtual Expected<model::ActualState> dump() = 0;
    // The matcher-get dump alone (`rules` stays empty): an adoption from a
    // seal needs each matcher's rule counts, not its rules.
    virtual Expected<model::ActualState> dump_matchers() = 0;
    // Objects reconcile found foreign: no policy owns them.  A matcher is
    // removed after its rules; a resize link it is part of is cleared first.
    struct Removal {
        std::size_t removed = 0;  // gone now, including rules already gone
        std::vector<Error> errors;
    };
    virtual Removal remove_rules(std::span<const model::ActualRule> rules) = 0;
    virtual Status remove_matcher(const model::ActualMatcher& matcher) = 0;
    // Finishes a resize a previous run left half done: the source's rules
    // move on and the source goes; if the target cannot hold them, the
    // resize is turned around and the target goes.  No rule is lost.
    virtual Status settle_resize(const model::UnfinishedResize& resize) = 0;
    // The counters of the rules of one device matcher with ids in `ids` (a
    // rule-get dump of that range: a page of a listing reads only its own).
    virtual Expected<std::vector<RuleCounters>> rule_counters(policy::PortId port,
                                                              policy::DeviceMatcherId matcher,
                                                              RuleIdRange ids) = 0;
};

// A device that can take a bulk load's inserts on a thread of its own (the
// netlink adapter: the kernel inserts inside the sendmsg() that carries
// them).  While deferring, policy::Device::insert_rules() queues its
// requests and reports no failure; settle_inserts() waits for them and says
// how many rules the device refused.  Every other request waits for the
// queued ones first, so the device sees requests in the order they came.
class DeferredInserts {
public:
    DeferredInserts() = default;
    DeferredInserts(const DeferredInserts&) = delete;
    DeferredInserts& operator=(const DeferredInserts&) = delete;
    DeferredInserts(DeferredInserts&&) = delete;
    DeferredInserts& operator=(DeferredInserts&&) = delete;
    virtual ~DeferredInserts() = default;

    struct Outcome {
        std::size_t refused = 0;     // rules the device did not insert
        std::optional<Error> first;  // why the first of them was refused
    };
    virtual void defer_inserts(bool on) = 0;
    virtual Outcome settle_inserts() = 0;
};

// What the kernel tells sgnicd without being asked: the sgnic family going
// away or coming back (module unload/reload, through nlctrl's notifications),
// ports appearing or leaving, and a receive-buffer overrun that lost some of
// it.  The daemon polls fd() and reconciles when read() says so.
class KernelWatch {
public:
    KernelWatch() = default;
    KernelWatch(const KernelWatch&) = delete;
    KernelWatch& operator=(const KernelWatch&) = delete;
    KernelWatch(KernelWatch&&) = delete;
    KernelWatch& operator=(KernelWatch&&) = delete;
    virtual ~KernelWatch() = default;

    // A devlink health reporter of sgnic's device changed state: a report
    // (error) or a recovery (healthy).  Logged, never acted on: the kernel's
    // reporter recovers by itself or by `devlink health recover`.
    struct Health {
        std::string handle;  // "platform/sgnic/1": the device and the port index
        std::string reporter;
        bool error = false;
        std::uint64_t errors = 0;
        std::uint64_t recoveries = 0;
    };

    struct News {
        bool reconcile = false;    // the kernel's picture may differ from ours
        bool module_gone = false;  // the sgnic family was unregistered
        bool module_back = false;  // and registered again
        std::string why;           // for the log: "sgnic.ko loaded", "overrun", ...
        std::vector<Health> health;
    };

    virtual int fd() const = 0;
    // Reads everything pending; never blocks.
    virtual News read() = 0;
};

}  // namespace sgnic::service
