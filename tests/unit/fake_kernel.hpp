// The kernel as the netlink adapter presents it to sgnicd (ports, dumps,
// removal of foreign objects), over the policy tests' fake device.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "policy_fake_device.hpp"
#include "service/kernel.hpp"
#include "sgnic/proto/codec.hpp"

namespace sgnic::service::testing {

using policy::testing::FakeDevice;

// The kernel as the netlink adapter would present it, over the fake device.
class FakeKernel final : public PortSource, public KernelState {
public:
    explicit FakeKernel(FakeDevice& dev) : dev_(dev) {}

    std::vector<PortInfo> ports = {{.ifindex = 7, .name = "sg0", .caps = {}, .link = {}},
                                   {.ifindex = 8, .name = "sg-1", .caps = {}, .link = {}}};

    // Every port's steer_gen: `steer_base` (a module reload picks another),
    // moved on by each change the device saw on any port (coarser than the
    // module, which counts per port).
    std::uint64_t steer_base = 0x5eed;
    std::uint64_t steer_gen() const {
        const auto changes =
            std::count_if(dev_.calls.begin(), dev_.calls.end(), [](const std::string& c) {
                return !c.starts_with("adopt") && !c.starts_with("add template");
            });
        return steer_base + static_cast<std::uint64_t>(changes);
    }

    Expected<std::vector<PortInfo>> list_ports() override {
        std::vector<PortInfo> out = ports;
        for (PortInfo& p : out) {
            p.steer_gen = steer_gen();
        }
        return out;
    }

    // As the module dumps them: templates and match values in field id
    // order, owner tags and cookies.
    Expected<model::ActualState> dump() override {
        ++dumps;
        model::ActualState a = matchers_as_dumped();
        for (const auto& [id, r] : dev_.rules) {
            const auto& m = dev_.matchers.at(r.matcher);
            model::ActualRule ar{
                .ifindex = m.spec.port,
                .matcher = r.matcher,
                .id = id,
                .owner = r.owner,
                .cookie = r.spec.cookie,
                .directions = r.directions,
                .match = proto::in_field_id_order(m.spec.match_template, r.spec.match),
                .actions = r.spec.actions};
            a.rules.push_back(std::move(ar));
        }
        return a;
    }
    std::size_t dumps = 0;
    Expected<model::ActualState> dump_matchers() override {
        ++matcher_dumps;
        return matchers_as_dumped();
    }
    std::size_t matcher_dumps = 0;
    Status settle_resize(const model::UnfinishedResize& r) override {
        ++settled;
        auto moved = dev_.move_rules(r.source.id, r.target.id, r.source_rules);
        if (moved.error) {
            return *moved.error;
        }
        return dev_.destroy_matcher(r.source.id);
    }
    std::size_t settled = 0;
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
    std::size_t counters_read = 0;  // rules rule_counters() returned, in all
    Expected<std::vector<RuleCounters>> rule_counters(policy::PortId /*port*/,
                                                      policy::DeviceMatcherId matcher,
                                                      RuleIdRange ids) override {
        const auto m = dev_.matchers.find(matcher);
        if (m == dev_.matchers.end()) {
            return Error(Errc::not_found, "no device matcher " + std::to_string(matcher));
        }
        std::vector<RuleCounters> out;
        for (auto it = m->second.rules.lower_bound(ids.first);
             it != m->second.rules.end() && *it <= ids.last; ++it) {
            const auto c = counters.find(*it);
            out.push_back(c == counters.end() ? RuleCounters{.id = *it} : c->second);
        }
        counters_read += out.size();
        return out;
    }

private:
    model::ActualState matchers_as_dumped() const {
        model::ActualState a;
        for (const auto& [id, m] : dev_.matchers) {
            model::ActualMatcher am{.ifindex = m.spec.port,
                                    .id = id,
                                    .owner = m.owner,
                                    .cookie = m.spec.cookie,
                                    .priority = m.spec.priority,
                                    .match_template = m.spec.match_template,
                                    .rx_size_log = m.spec.rx_size_log,
                                    .tx_size_log = m.spec.tx_size_log,
                                    .resize_target = m.resize_target.value_or(0),
                                    .resize_source = 0};
            std::sort(am.match_template.fields.begin(), am.match_template.fields.end(),
                      [](const auto& x, const auto& y) { return x.field < y.field; });
            for (const auto& [other, o] : dev_.matchers) {
                if (o.resize_target == id) {
                    am.resize_source = other;
                }
            }
            for (const auto& [rule_id, r] : dev_.rules) {
                if (r.matcher == id) {
                    am.rx_rules += r.directions.rx ? 1 : 0;
                    am.tx_rules += r.directions.tx ? 1 : 0;
                    ++am.rules;
                }
            }
            a.matchers.push_back(std::move(am));
        }
        return a;
    }

    FakeDevice& dev_;
};

}  // namespace sgnic::service::testing
