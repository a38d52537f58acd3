// sgnic.ko as sgnicd sees it: policy::Device, service::PortSource,
// service::KernelState and service::KernelWatch over the sgnic generic netlink family
// (daemon/netlink, libmnl), with port names and link state from
// libnl-route-3's link cache.
//
// Ids.  The kernel's matcher ids are per port; the policy's DeviceMatcherId
// is global.  The adapter picks every matcher id itself, unique over all
// ports, so one number serves both, and remembers each matcher's port and
// template.  Rule ids are the policy's, which fit the kernel's u32 until the
// policy has issued four billion of them (refused beyond).
//
// The family.  Asking nlctrl for "sgnic" makes the kernel load the module.
// That is wanted when sgnicd starts; after an operator's rmmod it is not, so
// once nlctrl says the family is gone the adapter stays away until nlctrl
// says it is back.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "adapter/genl_watch.hpp"
#include "adapter/link_cache.hpp"
#include "adapter/rule_sender.hpp"
#include "netlink/sgnic_netlink.hpp"
#include "policy/device.hpp"
#include "service/kernel.hpp"

namespace sgnic::adapter {

class NetlinkKernel final : public policy::Device,
                            public service::PortSource,
                            public service::KernelState,
                            public service::KernelWatch,
                            public service::DeferredInserts {
public:
    // Rules per rule-move or rule-del request.
    static constexpr std::size_t kBatch = 4096;
    // Reads of a dump that changes under them before giving up.
    static constexpr int kDumpAttempts = 5;

    // Opens the watch first so that nothing between it and the first
    // resolve goes unseen; throws nl::Error if netlink is unusable.
    NetlinkKernel();

    // policy::Device
    policy::Caps caps() const override;
    Expected<policy::DeviceMatcherId> create_matcher(const policy::MatcherSpec& spec) override;
    Status adopt_matcher(const policy::MatcherSpec& spec, policy::DeviceMatcherId matcher) override;
    Status destroy_matcher(policy::DeviceMatcherId matcher) override;
    Status set_resize_target(policy::DeviceMatcherId from, policy::DeviceMatcherId to) override;
    policy::MoveResult move_rules(policy::DeviceMatcherId from, policy::DeviceMatcherId to,
                                  std::span<const policy::RuleId> rules) override;
    Status insert_rule(policy::DeviceMatcherId matcher, policy::RuleId id,
                       policy::ActionTemplateIndex at, const policy::RuleSpec& rule) override;
    Status delete_rule(policy::DeviceMatcherId matcher, policy::RuleId id) override;
    // rule-del with the continue flag, many rules per request.
    std::vector<policy::RuleFailure> delete_rules(policy::DeviceMatcherId matcher,
                                                  std::span<const policy::RuleId> ids) override;
    // rule-new with the continue flag, many rules per request.
    std::vector<policy::RuleFailure> insert_rules(
        policy::DeviceMatcherId matcher, std::span<const policy::RuleInsert> rules) override;
    Status add_action_template(policy::DeviceMatcherId matcher,
                               const policy::ActionTypes& types) override;

    // service::PortSource
    Expected<std::vector<service::PortInfo>> list_ports() override;

    // service::KernelState
    Expected<model::ActualState> dump() override;
    Expected<model::ActualState> dump_matchers() override;
    Removal remove_rules(std::span<const model::ActualRule> rules) override;
    Status remove_matcher(const model::ActualMatcher& matcher) override;
    Status settle_resize(const model::UnfinishedResize& resize) override;
    Expected<std::vector<service::RuleCounters>> rule_counters(policy::PortId port,
                                                               policy::DeviceMatcherId matcher,
                                                               service::RuleIdRange ids) override;

    // service::KernelWatch
    int fd() const override { return watch_.fd(); }
    News read() override;

    // service::DeferredInserts: rule-new requests go to a RuleSender.
    void defer_inserts(bool on) override { deferring_ = on; }
    Outcome settle_inserts() override;

private:
    struct Matcher {
        policy::PortId port = 0;
        policy::MatchTemplate match_template;
    };

    // The client, connected on first use while the family is present.
    // Waits for the deferred inserts first: every request but those goes
    // through here.
    Expected<nl::Client*> client();
    // The sender of deferred inserts, started on first use; none if it
    // cannot be (the inserts are then sent as if not deferred).
    RuleSender* sender();
    const Matcher* find(policy::DeviceMatcherId id) const;
    // The matchers, and every rule too when `with_rules`.
    Expected<model::ActualState> read_state(bool with_rules);
    Error not_ours(policy::DeviceMatcherId id, const char* what) const;
    // Drops insert_rules' requests above kKeptSpecs.
    void trim_spec_scratch();

    GenlWatch watch_;
    LinkCache links_;
    std::unique_ptr<nl::Client> client_;
    bool family_present_ = true;  // until nlctrl says otherwise
    std::optional<policy::Caps> caps_;
    std::map<policy::DeviceMatcherId, Matcher> matchers_;
    policy::DeviceMatcherId next_matcher_ = 1;
    // insert_rules' requests, filled again by the next call; at most
    // kKeptSpecs (a load's chunk) are kept between calls.
    static constexpr std::size_t kKeptSpecs = 4096;
    std::vector<nl::RuleSpec> spec_scratch_;
    bool deferring_ = false;
    // Idle between calls: a load's batch settles its inserts before the
    // call returns, so the watch (read()) can drop it with the client.
    std::unique_ptr<RuleSender> sender_;
};

// Errors of the family as the policy core classifies them: ENOSPC is a
// collision, EBUSY and ETIMEDOUT what they say, EINVAL/ERANGE/EOPNOTSUPP
// invalid arguments, EDQUOT no space, ENOENT/ENODEV not found; the message
// is the kernel's extack.
Error to_policy_error(const nl::Error& e, const std::string& context);
// One rule's failure in a bulk reply, mapped as a whole-request error would be.
Error bulk_error(const nl::RuleResult& r, const std::string& context);

// A rule in the family's terms: the policy's match bytes cut per template
// field, its actions and directions.  invalid_argument if the bytes do not
// fit the template or the id does not fit the family's u32.
Expected<nl::RuleSpec> to_nl_rule(const policy::MatchTemplate& tmpl, policy::RuleId id,
                                  const policy::RuleSpec& rule);
// The same into `out`, whose lists keep their memory.
Status fill_nl_rule(const policy::MatchTemplate& tmpl, policy::RuleId id,
                    const policy::RuleSpec& rule, nl::RuleSpec& out);

}  // namespace sgnic::adapter
