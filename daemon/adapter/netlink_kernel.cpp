#include "adapter/netlink_kernel.hpp"

#include <linux/sgnic.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

namespace sgnic::adapter {

namespace {

std::string port_name(policy::PortId port) { return "port " + std::to_string(port); }

std::string matcher_name(policy::DeviceMatcherId id, policy::PortId port) {
    return "device matcher " + std::to_string(id) + " (" + port_name(port) + ")";
}

policy::Directions from_nl_directions(std::uint32_t d) {
    return {.rx = (d & SGNIC_DIRECTION_RX) != 0, .tx = (d & SGNIC_DIRECTION_TX) != 0};
}

// A dump's matcher and rule in the model's terms.
model::ActualMatcher to_actual(const nl::MatcherInfo& m) {
    model::ActualMatcher out{.ifindex = m.ifindex,
                             .id = m.id,
                             .owner = static_cast<std::uint8_t>(m.owner),
                             .cookie = m.cookie,
                             .priority = m.priority,
                             .match_template = {},
                             .rx_size_log = static_cast<int>(m.rx.size_log.value_or(0)),
                             .tx_size_log = static_cast<int>(m.tx.size_log.value_or(0)),
                             .resize_target = m.resize_target,
                             .resize_source = m.resize_source,
                             .rx_rules = m.rx.rules,
                             .tx_rules = m.tx.rules,
                             .rules = m.rules};
    for (const nl::TemplateEntry& t : m.tmpl) {
        out.match_template.fields.push_back({.field = t.field, .mask = t.mask});
    }
    return out;
}

model::ActualRule to_actual(const nl::RuleInfo& r) {
    model::ActualRule out{.ifindex = r.ifindex,
                          .matcher = r.matcher_id,
                          .id = r.id,
                          .owner = static_cast<std::uint8_t>(r.owner),
                          .cookie = r.cookie,
                          .directions = from_nl_directions(r.direction),
                          .match = {},
                          .actions = {}};
    // The module dumps values in field id order, the order ActualRule keeps.
    std::size_t length = 0;
    for (const nl::MatchEntry& e : r.match) {
        length += e.value.size();
    }
    out.match.reserve(length);
    out.actions.reserve(r.actions.size());
    for (const nl::MatchEntry& e : r.match) {
        out.match.insert(out.match.end(), e.value.begin(), e.value.end());
    }
    for (const nl::Action& a : r.actions) {
        // ActionType's values are the uAPI's (spec.hpp); the module sends only known ones.
        out.actions.push_back({.type = static_cast<policy::ActionType>(a.type),
                               .arg = a.mark.value_or(a.queue.value_or(0))});
    }
    return out;
}

std::uint32_t to_nl_action(policy::ActionType t) {
    switch (t) {
        case policy::ActionType::drop:
            return SGNIC_ACTION_TYPE_DROP;
        case policy::ActionType::count:
            return SGNIC_ACTION_TYPE_COUNT;
        case policy::ActionType::mark:
            return SGNIC_ACTION_TYPE_MARK;
        case policy::ActionType::queue:
            return SGNIC_ACTION_TYPE_QUEUE;
        case policy::ActionType::accept:
            return SGNIC_ACTION_TYPE_ACCEPT;
    }
    return SGNIC_ACTION_TYPE_ACCEPT;
}

// The family's rule ids are u32 from 1: the policy's 64-bit id, if it fits.
Expected<std::uint32_t> device_rule_id(policy::RuleId id) {
    if (id == 0 || id > std::numeric_limits<std::uint32_t>::max()) {
        return Error(Errc::invalid_argument,
                     "rule id " + std::to_string(id) + " does not fit the device's 32-bit ids");
    }
    return static_cast<std::uint32_t>(id);
}

// Deletes are idempotent: an object the kernel no longer has is deleted.
bool gone(const nl::Error& e) { return e.err() == ENOENT; }

}  // namespace

Error to_policy_error(const nl::Error& e, const std::string& context) {
    Errc code = Errc::device;
    switch (e.err()) {
        case ENOSPC:
            code = Errc::collision;
            break;
        case EBUSY:
        case EAGAIN:
            code = Errc::busy;
            break;
        case ETIMEDOUT:
            code = Errc::timeout;
            break;
        case EINVAL:
        case ERANGE:
        case EOPNOTSUPP:
        case EEXIST:
            code = Errc::invalid_argument;
            break;
        case EDQUOT:
            code = Errc::no_space;
            break;
        case ENOENT:
        case ENODEV:
            code = Errc::not_found;
            break;
        default:
            break;
    }
    return {code, context + ": " + e.what()};
}

Status fill_nl_rule(const policy::MatchTemplate& tmpl, policy::RuleId id,
                    const policy::RuleSpec& rule, nl::RuleSpec& out) {
    const auto device_id = device_rule_id(id);
    if (!device_id) {
        return device_id.error();
    }
    out.id = *device_id;
    out.direction = (rule.directions.rx ? std::uint32_t{SGNIC_DIRECTION_RX} : 0U) |
                    (rule.directions.tx ? std::uint32_t{SGNIC_DIRECTION_TX} : 0U);
    out.cookie = rule.cookie;
    out.owner = SGNIC_OWNER_SGNICD;
    // Assigned element by element: the lists keep their memory.
    out.match.resize(tmpl.fields.size());
    std::size_t offset = 0;
    for (std::size_t i = 0; i < tmpl.fields.size(); ++i) {
        const policy::MatchField& f = tmpl.fields[i];
        if (offset + f.mask.size() > rule.match.size()) {
            return Error(Errc::invalid_argument,
                         "rule " + std::to_string(id) + ": " + std::to_string(rule.match.size()) +
                             " match bytes are fewer than the template's fields need");
        }
        const auto first = rule.match.begin() + static_cast<std::ptrdiff_t>(offset);
        out.match[i].field = f.field;
        out.match[i].value.assign(first, first + static_cast<std::ptrdiff_t>(f.mask.size()));
        offset += f.mask.size();
    }
    if (offset != rule.match.size()) {
        return Error(Errc::invalid_argument,
                     "rule " + std::to_string(id) + ": " + std::to_string(rule.match.size()) +
                         " match bytes for a template of " + std::to_string(offset));
    }
    out.actions.clear();
    for (const policy::Action& a : rule.actions) {
        nl::Action act{.type = to_nl_action(a.type), .mark = {}, .queue = {}};
        if (a.type == policy::ActionType::mark) {
            act.mark = a.arg;
        } else if (a.type == policy::ActionType::queue) {
            act.queue = a.arg;
        }
        out.actions.push_back(act);
    }
    return {};
}

Expected<nl::RuleSpec> to_nl_rule(const policy::MatchTemplate& tmpl, policy::RuleId id,
                                  const policy::RuleSpec& rule) {
    nl::RuleSpec out;
    if (auto st = fill_nl_rule(tmpl, id, rule, out); !st) {
        return st.error();
    }
    return out;
}

NetlinkKernel::NetlinkKernel() = default;

Expected<nl::Client*> NetlinkKernel::client() {
    if (sender_) {
        sender_->drain();
    }
    if (client_) {
        return client_.get();
    }
    if (!family_present_) {
        return Error(Errc::device, "sgnic.ko is not loaded (waiting for it to come back)");
    }
    try {
        auto fresh = std::make_unique<nl::Client>();
        watch_.follow(fresh->socket().family(), fresh->socket().events_group());
        client_ = std::move(fresh);
        return client_.get();
    } catch (const nl::Error& e) {
        if (e.err() == ENOENT) {
            // Not loaded and could not be loaded: wait for nlctrl to announce it.
            family_present_ = false;
            return Error(Errc::device,
                         "sgnic.ko is not loaded: no generic netlink family \"" SGNIC_FAMILY_NAME
                         "\"");
        }
        return to_policy_error(e, "connect to the sgnic family");
    }
}

RuleSender* NetlinkKernel::sender() {
    if (sender_) {
        return sender_.get();
    }
    if (!family_present_) {
        return nullptr;
    }
    try {
        sender_ = std::make_unique<RuleSender>();
    } catch (const nl::Error&) {
        return nullptr;  // no socket of its own: the inserts go as they come
    }
    return sender_.get();
}

service::DeferredInserts::Outcome NetlinkKernel::settle_inserts() {
    return sender_ ? sender_->settle() : Outcome{};
}

const NetlinkKernel::Matcher* NetlinkKernel::find(policy::DeviceMatcherId id) const {
    const auto it = matchers_.find(id);
    return it == matchers_.end() ? nullptr : &it->second;
}

Error NetlinkKernel::not_ours(policy::DeviceMatcherId id, const char* what) const {
    return {Errc::not_found,
            std::string(what) + ": device matcher " + std::to_string(id) + " is not sgnicd's"};
}

policy::Caps NetlinkKernel::caps() const { return caps_.value_or(policy::Caps{}); }

Expected<std::vector<service::PortInfo>> NetlinkKernel::list_ports() {
    auto c = client();
    if (!c) {
        if (!family_present_) {
            return std::vector<service::PortInfo>{};  // no module, no ports
        }
        return c.error();
    }
    std::vector<nl::DevInfo> devs;
    try {
        devs = (*c)->devs();
    } catch (const nl::Error& e) {
        return to_policy_error(e, "list sgnic ports");
    }
    (void)links_.refill();
    std::vector<service::PortInfo> out;
    for (const nl::DevInfo& d : devs) {
        service::PortInfo p{
            .ifindex = d.ifindex,
            .name = d.name,
            .caps = {.ste_alloc_log_max = static_cast<int>(d.caps.ste_alloc_log_max),
                     .rtc_log_depth_max = static_cast<int>(d.caps.rtc_log_depth_max),
                     .max_action_templates = static_cast<int>(d.caps.max_action_templates)},
            .link = {},
            .steer_gen = d.steer_gen};
        if (auto link = links_.find(d.ifindex)) {
            p.name = std::move(link->name);
            p.link = std::move(link->state);
        }
        if (!caps_) {
            caps_ = p.caps;
        }
        out.push_back(std::move(p));
    }
    return out;
}

Expected<policy::DeviceMatcherId> NetlinkKernel::create_matcher(const policy::MatcherSpec& spec) {
    auto c = client();
    if (!c) {
        return c.error();
    }
    nl::MatcherSpec req{.ifindex = spec.port,
                        .id = 0,
                        .priority = spec.priority,
                        .tmpl = {},
                        .rx_size_log = static_cast<std::uint32_t>(spec.rx_size_log),
                        .tx_size_log = static_cast<std::uint32_t>(spec.tx_size_log),
                        .cookie = spec.cookie,
                        .owner = SGNIC_OWNER_SGNICD};
    for (const policy::MatchField& f : spec.match_template.fields) {
        req.tmpl.push_back({.field = f.field, .mask = f.mask});
    }
    const std::string context = "create matcher on " + port_name(spec.port) + " (RX log " +
                                std::to_string(spec.rx_size_log) + ", TX log " +
                                std::to_string(spec.tx_size_log) + ")";
    // An id taken by somebody else's matcher on that port: try the next.
    for (int attempt = 0;; ++attempt) {
        while (matchers_.contains(next_matcher_) || next_matcher_ == 0) {
            ++next_matcher_;
        }
        req.id = next_matcher_++;
        try {
            (*c)->matcher_new(req);
            matchers_[req.id] = Matcher{.port = spec.port, .match_template = spec.match_template};
            return req.id;
        } catch (const nl::Error& e) {
            if (e.err() != EEXIST || attempt >= 8) {
                return to_policy_error(e, context);
            }
        }
    }
}

Status NetlinkKernel::adopt_matcher(const policy::MatcherSpec& spec,
                                    policy::DeviceMatcherId matcher) {
    const auto known = matchers_.find(matcher);
    if (known != matchers_.end() && known->second.port != spec.port) {
        return Error(Errc::invalid_argument, "adopt " + matcher_name(matcher, spec.port) +
                                                 ": the id is taken on " +
                                                 port_name(known->second.port));
    }
    matchers_[matcher] = Matcher{.port = spec.port, .match_template = spec.match_template};
    next_matcher_ = std::max(next_matcher_, matcher + 1);
    return {};
}

Status NetlinkKernel::destroy_matcher(policy::DeviceMatcherId matcher) {
    const Matcher* m = find(matcher);
    if (m == nullptr) {
        return not_ours(matcher, "destroy matcher");
    }
    auto c = client();
    if (!c) {
        return c.error();
    }
    try {
        (*c)->matcher_del(m->port, matcher);
    } catch (const nl::Error& e) {
        if (!gone(e)) {
            return to_policy_error(e, "destroy " + matcher_name(matcher, m->port));
        }
    }
    matchers_.erase(matcher);
    return {};
}

Status NetlinkKernel::set_resize_target(policy::DeviceMatcherId from, policy::DeviceMatcherId to) {
    const Matcher* src = find(from);
    const Matcher* dst = find(to);
    if (src == nullptr || dst == nullptr) {
        return not_ours(src == nullptr ? from : to, "set resize target");
    }
    if (src->port != dst->port) {
        return Error(Errc::invalid_argument, "set resize target: device matchers " +
                                                 std::to_string(from) + " and " +
                                                 std::to_string(to) + " are on different ports");
    }
    auto c = client();
    if (!c) {
        return c.error();
    }
    try {
        // The kernel turns an existing link from `to` to `from` around.
        (*c)->matcher_resize(src->port, from, to);
    } catch (const nl::Error& e) {
        return to_policy_error(e, "make device matcher " + std::to_string(to) +
                                      " the resize target of " + matcher_name(from, src->port));
    }
    return {};
}

Error bulk_error(const nl::RuleResult& r, const std::string& context) {
    const nl::Error e(
        static_cast<int>(r.err), r.msg,
        std::string(std::strerror(static_cast<int>(r.err))) + (r.msg.empty() ? "" : ": " + r.msg));
    return to_policy_error(e, context + " (rule " + std::to_string(r.id) + ")");
}

policy::MoveResult NetlinkKernel::move_rules(policy::DeviceMatcherId from,
                                             policy::DeviceMatcherId to,
                                             std::span<const policy::RuleId> rules) {
    const Matcher* src = find(from);
    if (src == nullptr || find(to) == nullptr) {
        return {.moved = 0, .error = not_ours(src == nullptr ? from : to, "move rules")};
    }
    auto c = client();
    if (!c) {
        return {.moved = 0, .error = c.error()};
    }
    policy::MoveResult result;
    std::vector<std::uint32_t> ids;
    for (std::size_t done = 0; done < rules.size(); done += ids.size()) {
        const auto batch = rules.subspan(done, std::min(kBatch, rules.size() - done));
        ids.assign(batch.begin(), batch.end());
        try {
            // Without the continue flag a request moves all of its rules or none.
            (*c)->rules_move(src->port, from, ids);
        } catch (const nl::Error& e) {
            result.error =
                to_policy_error(e, "move rules " + std::to_string(done) + ".." +
                                       std::to_string(done + ids.size() - 1) + " from " +
                                       matcher_name(from, src->port) + " to " + std::to_string(to));
            return result;
        }
        result.moved = done + ids.size();
    }
    return result;
}

Status NetlinkKernel::insert_rule(policy::DeviceMatcherId matcher, policy::RuleId id,
                                  policy::ActionTemplateIndex /*at*/,
                                  const policy::RuleSpec& rule) {
    const Matcher* m = find(matcher);
    if (m == nullptr) {
        return not_ours(matcher, "insert rule");
    }
    auto spec = to_nl_rule(m->match_template, id, rule);
    if (!spec) {
        return spec.error();
    }
    auto c = client();
    if (!c) {
        return c.error();
    }
    try {
        (*c)->rules_new(m->port, matcher, std::span(&*spec, 1));
    } catch (const nl::Error& e) {
        return to_policy_error(
            e, "insert rule " + std::to_string(id) + " into " + matcher_name(matcher, m->port));
    }
    return {};
}

void NetlinkKernel::trim_spec_scratch() {
    // A batch of AddRules' largest size does not keep its memory.
    if (spec_scratch_.size() > kKeptSpecs) {
        spec_scratch_.resize(kKeptSpecs);
        spec_scratch_.shrink_to_fit();
    }
}

std::vector<policy::RuleFailure> NetlinkKernel::insert_rules(
    policy::DeviceMatcherId matcher, std::span<const policy::RuleInsert> rules) {
    std::vector<policy::RuleFailure> failures;
    auto all_fail = [&](const Error& e) {
        failures.clear();
        for (std::size_t i = 0; i < rules.size(); ++i) {
            failures.push_back({.index = i, .error = e});
        }
        return failures;
    };
    const Matcher* m = find(matcher);
    if (m == nullptr) {
        return all_fail(not_ours(matcher, "insert rules"));
    }
    const std::string context = "insert rule into " + matcher_name(matcher, m->port);
    // The specs of the last batch are filled again: no allocation per rule
    // once they have grown to a batch's size.
    std::vector<std::size_t> index;  // specs[i] is rules[index[i]]
    index.reserve(rules.size());
    if (spec_scratch_.size() < rules.size()) {
        spec_scratch_.resize(rules.size());
    }
    for (std::size_t i = 0; i < rules.size(); ++i) {
        nl::RuleSpec& spec = spec_scratch_[index.size()];
        if (auto st = fill_nl_rule(m->match_template, rules[i].id, *rules[i].rule, spec); !st) {
            failures.push_back({.index = i, .error = st.error()});
            continue;
        }
        index.push_back(i);
    }
    const std::span<const nl::RuleSpec> specs(spec_scratch_.data(), index.size());
    if (RuleSender* s = deferring_ ? sender() : nullptr) {
        // Each request is encoded here and sent by the sender's thread while
        // this one encodes the next: the refusals come with settle_inserts().
        for (std::size_t done = 0; done < specs.size();) {
            auto [request, n] = nl::build_rule_new_upto(
                s->family(), s->next_seq(), m->port, matcher, SGNIC_BULK_FLAGS_CONTINUE,
                specs.subspan(done), nl::Client::kDefaultBatchBytes);
            s->send(std::move(request), n, context);
            done += n;
        }
        trim_spec_scratch();
        return failures;  // the rules that could not be encoded
    }
    auto c = client();
    if (!c) {
        return all_fail(c.error());
    }
    nl::BulkReply reply;
    try {
        reply = (*c)->rules_new(m->port, matcher, specs, SGNIC_BULK_FLAGS_CONTINUE);
    } catch (const nl::Error& e) {
        trim_spec_scratch();
        return all_fail(to_policy_error(e, context));
    }
    trim_spec_scratch();
    for (const nl::RuleResult& r : reply.results) {
        if (r.index >= index.size()) {
            continue;
        }
        failures.push_back({.index = index[r.index], .error = bulk_error(r, context)});
    }
    std::sort(failures.begin(), failures.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    return failures;
}

Status NetlinkKernel::delete_rule(policy::DeviceMatcherId matcher, policy::RuleId id) {
    const Matcher* m = find(matcher);
    if (m == nullptr) {
        return not_ours(matcher, "delete rule");
    }
    const auto rule = device_rule_id(id);
    if (!rule) {
        return rule.error();
    }
    auto c = client();
    if (!c) {
        return c.error();
    }
    try {
        (*c)->rules_del(m->port, 0, std::span(&*rule, 1));
    } catch (const nl::Error& e) {
        if (!gone(e)) {
            return to_policy_error(
                e, "delete rule " + std::to_string(id) + " of " + matcher_name(matcher, m->port));
        }
    }
    return {};
}

std::vector<policy::RuleFailure> NetlinkKernel::delete_rules(policy::DeviceMatcherId matcher,
                                                             std::span<const policy::RuleId> ids) {
    std::vector<policy::RuleFailure> failures;
    auto all_fail = [&](const Error& e) {
        failures.clear();
        for (std::size_t i = 0; i < ids.size(); ++i) {
            failures.push_back({.index = i, .error = e});
        }
        return failures;
    };
    const Matcher* m = find(matcher);
    if (m == nullptr) {
        return all_fail(not_ours(matcher, "delete rules"));
    }
    std::vector<std::uint32_t> rules;
    std::vector<std::size_t> index;  // rules[i] is ids[index[i]]
    rules.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto rule = device_rule_id(ids[i]);
        if (!rule) {
            failures.push_back({.index = i, .error = rule.error()});
            continue;
        }
        rules.push_back(*rule);
        index.push_back(i);
    }
    auto c = client();
    if (!c) {
        return all_fail(c.error());
    }
    const std::string context = "delete rules of " + matcher_name(matcher, m->port);
    nl::BulkReply reply;
    try {
        reply = (*c)->rules_del(m->port, 0, rules, SGNIC_BULK_FLAGS_CONTINUE);
    } catch (const nl::Error& e) {
        return all_fail(to_policy_error(e, context));
    }
    for (const nl::RuleResult& r : reply.results) {
        if (r.index >= index.size() || r.err == ENOENT) {
            continue;  // ENOENT: already gone, which is what was asked
        }
        failures.push_back({.index = index[r.index], .error = bulk_error(r, context)});
    }
    std::sort(failures.begin(), failures.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    return failures;
}

// The kernel keeps a matcher's action templates itself: a rule's action list
// finds or adds one, and EDQUOT says the matcher has too many.  The policy's
// templates are its own bookkeeping of the same lists.
Status NetlinkKernel::add_action_template(policy::DeviceMatcherId matcher,
                                          const policy::ActionTypes& /*types*/) {
    if (find(matcher) == nullptr) {
        return not_ours(matcher, "add action template");
    }
    return {};
}

Expected<model::ActualState> NetlinkKernel::dump() { return read_state(true); }

Expected<model::ActualState> NetlinkKernel::dump_matchers() { return read_state(false); }

Expected<model::ActualState> NetlinkKernel::read_state(bool with_rules) {
    auto c = client();
    if (!c) {
        if (!family_present_) {
            matchers_.clear();
            return model::ActualState{};
        }
        return c.error();
    }
    model::ActualState out;
    // A dump that a change interrupted is read again: a picture half before
    // and half after a change would make adoption delete or add wrongly.
    for (int attempt = 1;; ++attempt) {
        out = {};
        try {
            for (const nl::MatcherInfo& m : (*c)->matchers(0)) {
                out.matchers.push_back(to_actual(m));
                next_matcher_ = std::max(next_matcher_, m.id + 1);
            }
            if (with_rules) {
                (*c)->rules_dump(0, 0,
                                 [&](const nl::RuleInfo& r) { out.rules.push_back(to_actual(r)); });
            }
            break;
        } catch (const nl::Error& e) {
            if (e.err() != EINTR || attempt >= kDumpAttempts) {
                return to_policy_error(e, "dump the kernel's steering state");
            }
        }
    }
    // Forget matchers the kernel no longer has (the module was reloaded).
    std::erase_if(matchers_, [&](const auto& entry) {
        return std::none_of(out.matchers.begin(), out.matchers.end(), [&](const auto& a) {
            return a.id == entry.first && a.ifindex == entry.second.port;
        });
    });
    return out;
}

service::KernelState::Removal NetlinkKernel::remove_rules(
    std::span<const model::ActualRule> rules) {
    Removal out;
    auto c = client();
    if (!c) {
        out.errors.push_back(c.error());
        return out;
    }
    std::map<policy::PortId, std::vector<std::uint32_t>> by_port;
    for (const model::ActualRule& r : rules) {
        const auto id = device_rule_id(r.id);
        if (!id) {
            out.errors.push_back(id.error());
            continue;
        }
        by_port[r.ifindex].push_back(*id);
    }
    for (const auto& [port, ids] : by_port) {
        try {
            const nl::BulkReply reply = (*c)->rules_del(port, 0, ids, SGNIC_BULK_FLAGS_CONTINUE);
            out.removed += reply.applied;
            for (const nl::RuleResult& r : reply.results) {
                if (r.err == ENOENT) {
                    ++out.removed;  // already gone
                    continue;
                }
                out.errors.emplace_back(Errc::device, "delete rule " + std::to_string(r.id) +
                                                          " of " + port_name(port) + ": " +
                                                          std::strerror(static_cast<int>(r.err)) +
                                                          (r.msg.empty() ? "" : ": " + r.msg));
            }
        } catch (const nl::Error& e) {
            out.errors.push_back(to_policy_error(
                e, "delete " + std::to_string(ids.size()) + " rules of " + port_name(port)));
        }
    }
    return out;
}

Status NetlinkKernel::settle_resize(const model::UnfinishedResize& resize) {
    auto c = client();
    if (!c) {
        return c.error();
    }
    const policy::PortId port = resize.source.ifindex;
    const policy::DeviceMatcherId source = resize.source.id;
    const policy::DeviceMatcherId target = resize.target.id;
    const std::string context =
        "settle the resize of " + matcher_name(source, port) + " into " + std::to_string(target);
    std::vector<std::uint32_t> ids;
    for (const policy::RuleId id : resize.source_rules) {
        ids.push_back(static_cast<std::uint32_t>(id));
    }
    try {
        try {
            // Forward: the rules left in the source move on; the source goes.
            (*c)->rules_move(port, source, ids);
            (*c)->matcher_del(port, source);
            return {};
        } catch (const nl::Error& e) {
            if (e.err() != ENOSPC) {
                throw;
            }
        }
        // The target is too small for them (a shrink): turn the resize
        // around, move back what had moved, and drop the target instead.
        (*c)->matcher_resize(port, target, source);
        std::vector<std::uint32_t> moved;
        (*c)->rules_dump(port, target, [&](const nl::RuleInfo& r) { moved.push_back(r.id); });
        (*c)->rules_move(port, target, moved);
        (*c)->matcher_del(port, target);
    } catch (const nl::Error& e) {
        return to_policy_error(e, context);
    }
    return {};
}

Status NetlinkKernel::remove_matcher(const model::ActualMatcher& matcher) {
    auto c = client();
    if (!c) {
        return c.error();
    }
    const std::string name = matcher_name(matcher.id, matcher.ifindex);
    try {
        // A matcher in a resize cannot go: end the resize first.  Its rules
        // are gone (reconcile removes rules before matchers), so the link
        // holds no moved rules and can be cleared.
        const nl::MatcherInfo info = (*c)->matcher_get(matcher.ifindex, matcher.id);
        if (info.resize_target != 0) {
            (*c)->matcher_resize(matcher.ifindex, matcher.id, 0);
        }
        if (info.resize_source != 0) {
            (*c)->matcher_resize(matcher.ifindex, info.resize_source, 0);
        }
        (*c)->matcher_del(matcher.ifindex, matcher.id);
    } catch (const nl::Error& e) {
        if (!gone(e)) {
            return to_policy_error(e, "delete " + name);
        }
    }
    matchers_.erase(matcher.id);
    return {};
}

Expected<std::vector<service::RuleCounters>> NetlinkKernel::rule_counters(
    policy::PortId port, policy::DeviceMatcherId matcher, service::RuleIdRange ids) {
    constexpr policy::RuleId kMaxId = std::numeric_limits<std::uint32_t>::max();
    std::vector<service::RuleCounters> out;
    if (ids.first > kMaxId || ids.first > ids.last) {
        return out;  // the device's ids are 32-bit: none in the range
    }
    auto c = client();
    if (!c) {
        return c.error();
    }
    // 0 leaves an end of the dump open.
    const nl::IdRange range{.first = static_cast<std::uint32_t>(ids.first),
                            .last = ids.last >= kMaxId ? 0 : static_cast<std::uint32_t>(ids.last)};
    try {
        (*c)->rules_dump(
            port, matcher,
            [&](const nl::RuleInfo& r) {
                out.push_back({.id = r.id,
                               .rx_packets = r.rx ? r.rx->packets : 0,
                               .rx_bytes = r.rx ? r.rx->bytes : 0,
                               .tx_packets = r.tx ? r.tx->packets : 0,
                               .tx_bytes = r.tx ? r.tx->bytes : 0});
            },
            range);
    } catch (const nl::Error& e) {
        return to_policy_error(e, "read the counters of " + matcher_name(matcher, port));
    }
    return out;
}

service::KernelWatch::News NetlinkKernel::read() {
    News news;
    auto note = [&](GenlWatch::Event e) {
        news.reconcile = true;
        if (!news.why.empty()) {
            news.why += ", ";
        }
        news.why += to_string(e);
    };
    for (const GenlWatch::Event e : watch_.read()) {
        switch (e) {
            case GenlWatch::Event::family_del:
                // Every object went with the module; the ids die with it.
                sender_.reset();
                client_.reset();
                family_present_ = false;
                watch_.follow(0, 0);
                matchers_.clear();
                news.module_gone = true;
                note(e);
                break;
            case GenlWatch::Event::family_new:
                sender_.reset();
                client_.reset();
                family_present_ = true;
                news.module_back = true;
                note(e);
                break;
            case GenlWatch::Event::port_add:
            case GenlWatch::Event::port_del:
            case GenlWatch::Event::overrun:
                note(e);
                break;
            case GenlWatch::Event::steering:
                break;  // mostly our own; an overrun or a reconcile covers the rest
        }
    }
    news.health = watch_.take_health();
    return news;
}

}  // namespace sgnic::adapter
