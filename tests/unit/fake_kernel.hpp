// The kernel as the netlink adapter presents it to sgnicd (ports, dumps,
// removal of foreign objects), over the policy tests' fake device.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "policy_fake_device.hpp"
#include "service/kernel.hpp"

namespace sgnic::service::testing {

using policy::testing::FakeDevice;

// The kernel as the netlink adapter would present it, over the fake device.
class FakeKernel final : public PortSource, public KernelState {
public:
    explicit FakeKernel(FakeDevice& dev) : dev_(dev) {}

    std::vector<PortInfo> ports = {{.ifindex = 7, .name = "sg0", .caps = {}, .link = {}},
                                   {.ifindex = 8, .name = "sg-1", .caps = {}, .link = {}}};

    Expected<std::vector<PortInfo>> list_ports() override { return ports; }

    Expected<model::ActualState> dump() override {
        model::ActualState a;
        for (const auto& [id, m] : dev_.matchers) {
            a.matchers.push_back({.ifindex = m.spec.port, .id = id});
        }
        for (const auto& [id, r] : dev_.rules) {
            a.rules.push_back(
                {.ifindex = dev_.matchers.at(r.matcher).spec.port, .matcher = r.matcher, .id = id});
        }
        return a;
    }
    Removal remove_rules(std::span<const model::ActualRule> rules) override {
        Removal out;
        for (const model::ActualRule& r : rules) {
            if (auto st = dev_.delete_rule(r.matcher, r.id); st) {
                ++out.removed;
            } else {
                out.errors.push_back(st.error());
            }
        }
        return out;
    }
    Status remove_matcher(const model::ActualMatcher& m) override {
        return dev_.destroy_matcher(m.id);
    }
    // Counters the test sets per rule id; rules without an entry count 0.
    std::map<policy::RuleId, RuleCounters> counters;
    Expected<std::vector<RuleCounters>> rule_counters(policy::PortId /*port*/,
                                                      policy::DeviceMatcherId matcher) override {
        const auto m = dev_.matchers.find(matcher);
        if (m == dev_.matchers.end()) {
            return Error(Errc::not_found, "no device matcher " + std::to_string(matcher));
        }
        std::vector<RuleCounters> out;
        for (const policy::RuleId id : m->second.rules) {
            const auto c = counters.find(id);
            out.push_back(c == counters.end() ? RuleCounters{.id = id} : c->second);
        }
        return out;
    }

private:
    FakeDevice& dev_;
};

}  // namespace sgnic::service::testing
