#include "service/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <iterator>
#include <memory>
#include <set>
#include <system_error>
#include <utility>

#include "log/log.hpp"

namespace sgnic::service {

namespace {

std::string rule_context(std::size_t index) { return "rule #" + std::to_string(index); }

Error with_context(Error e, const std::string& context) {
    e.with_context(context);
    return e;
}

}  // namespace

Service::Service(policy::Device& device, PortSource& ports, KernelState& kernel,
                 std::optional<store::Store> store, model::DesiredState desired,
                 policy::PolicyConfig config)
    : device_(device),
      port_source_(ports),
      kernel_(kernel),
      store_(std::move(store)),
      desired_(std::move(desired)),
      config_(config) {
    for (const auto& [key, m] : desired_.matchers) {
        // A template that does not parse: the matcher never reaches the
        // device, and its rules fail as a missing matcher's.
        if (auto tmpl = proto::parse_template(m.fields)) {
            matcher_index_->put(key, m.port, std::move(tmpl->match));
        }
    }
    reset_policy();
}

void Service::reset_policy() {
    policy_.reset();
    policy_.emplace(device_, config_);
    matcher_ids_.clear();
    matcher_keys_.clear();
    rule_ids_.clear();
    unowned_.clear();
    adopted_ = false;
}

void Service::disown(std::span<const policy::RuleId> ids, const std::string& context) {
    if (ids.empty()) {
        return;
    }
    unowned_.insert(ids.begin(), ids.end());
    log::error_limited("unowned", context + ": " + std::to_string(ids.size()) +
                                      " rules it inserted could not be taken out; sgnicd "
                                      "deletes them at its next change (policy rule " +
                                      std::to_string(ids.front()) +
                                      (ids.size() > 1 ? ", ..." : "") + ")");
}

void Service::release_unowned() {
    if (unowned_.empty()) {
        return;
    }
    const std::vector<policy::RuleId> ids(unowned_.begin(), unowned_.end());
    const policy::BatchDelete out = policy_->delete_rules(ids);
    unowned_.clear();
    for (const policy::RuleFailure& f : out.failures) {
        if (policy_->find_rule(ids[f.index]) != nullptr) {
            unowned_.insert(ids[f.index]);
        }
    }
    if (!out.failures.empty()) {
        log::error_limited("unowned",
                           "delete rules no one owns: " + out.failures.front().error.message());
    }
}

const PortInfo* Service::find_port(const std::string& name) const {
    const auto it = std::find_if(ports_.begin(), ports_.end(),
                                 [&](const PortInfo& p) { return p.name == name; });
    return it == ports_.end() ? nullptr : &*it;
}

const policy::MatcherState* Service::matcher_state(model::MatcherKey matcher) const {
    const auto it = matcher_ids_.find(matcher);
    return it == matcher_ids_.end() ? nullptr : policy_->find_matcher(it->second);
}

std::vector<model::MatcherKey> Service::matchers_of(const std::string& port) const {
    std::vector<model::MatcherKey> out;
    for (const auto& [key, m] : desired_.matchers) {
        if (m.port == port) {
            out.push_back(key);
        }
    }
    return out;
}

model::Installed Service::installed() const {
    model::Installed in;
    for (const auto& [key, id] : matcher_ids_) {
        const policy::MatcherState* m = policy_->find_matcher(id);
        in.matchers[key] = {.ifindex = m->port, .id = m->device};
        for (const policy::DeviceMatcherId other : m->devices()) {
            if (other != m->device) {
                in.other_owned.insert({.ifindex = m->port, .id = other});
            }
        }
    }
    for (const model::RuleBinding& b : rule_ids_) {
        const policy::RuleRecord* r = policy_->find_rule(b.rule);
        const policy::MatcherState* m = policy_->find_matcher(r->matcher);
        in.rules[b.id] = {.ifindex = m->port, .matcher = m->holder(b.rule), .id = b.rule};
    }
    for (const policy::RuleId id : unowned_) {
        const policy::RuleRecord* r = policy_->find_rule(id);
        const policy::MatcherState* m = policy_->find_matcher(r->matcher);
        in.other_rules.insert({.ifindex = m->port, .matcher = m->holder(id), .id = id});
    }
    return in;
}

void Service::publish_rehashes() {
    for (const policy::RehashReport& r : policy_->take_rehash_reports()) {
        const auto key = matcher_keys_.find(r.matcher);
        if (key == matcher_keys_.end()) {
            continue;
        }
        const std::string& port = desired_.matchers.at(key->second).port;
        const std::array fields = {
            log::Field{"SGNIC_PORT", port},
            log::Field{"SGNIC_MATCHER", std::to_string(key->second)},
            log::Field{"SGNIC_RULES", std::to_string(r.rules_moved)},
            log::Field{"SGNIC_REASON", std::string(policy::to_string(r.reason))},
            log::Field{"SGNIC_RX_SIZE_LOG", std::to_string(r.rx.to)},
            log::Field{"SGNIC_TX_SIZE_LOG", std::to_string(r.tx.to)},
            log::Field{
                "SGNIC_DURATION_USEC",
                std::to_string(
                    std::chrono::duration_cast<std::chrono::microseconds>(r.duration).count())},
        };
        log::event(log::Level::info, log::msgid::rehashed,
                   policy::format_rehash(r, key->second, port), fields);
        if (listener_ != nullptr) {
            listener_->rehashed(key->second, r);
        }
    }
}

bool Service::resize_step() {
    const std::vector<policy::MatcherId> ids = policy_->resizing();
    if (ids.empty()) {
        return false;
    }
    const auto turn = std::upper_bound(ids.begin(), ids.end(), last_stepped_);
    const policy::MatcherId id = turn == ids.end() ? ids.front() : *turn;
    last_stepped_ = id;
    const auto st = policy_->step(id);
    publish_rehashes();
    if (!st) {
        const auto key = matcher_keys_.find(id);
        if (key != matcher_keys_.end()) {
            const std::string& port = desired_.matchers.at(key->second).port;
            const std::array fields = {log::Field{"SGNIC_PORT", port},
                                       log::Field{"SGNIC_MATCHER", std::to_string(key->second)}};
            log::event(log::Level::warning, log::msgid::rehash_rolled_back,
                       "rehash of matcher " + std::to_string(key->second) + " on " + port +
                           " turned around: " + st.error().message(),
                       fields);
            if (listener_ != nullptr) {
                listener_->matcher_changed(key->second);
            }
        }
    }
    return policy_->resize_in_progress();
}

void Service::finish_resizes() {
    for (const policy::MatcherId id : policy_->resizing()) {
        if (auto st = policy_->finish_resize(id); !st) {
            spdlog::warn("finish a rehash: {}", st.error().message());
        }
    }
    publish_rehashes();
}

Expected<policy::RuleSpec> Service::rule_spec(const model::DesiredMatcher& m,
                                              const model::DesiredRule& r) const {
    const policy::MatcherState* state = matcher_state(m.id);
    if (state == nullptr) {
        return Error(Errc::no_such_matcher,
                     "matcher " + std::to_string(m.id) + " is not in the device yet");
    }
    const std::span<const std::uint8_t> match = r.body.match();
    return policy::RuleSpec{.directions = r.directions,
                            .cookie = r.id,
                            .match = std::vector<std::uint8_t>(match.begin(), match.end()),
                            .actions = r.body.actions()};
}

Expected<void> Service::install_matcher(const model::DesiredMatcher& m) {
    const PortInfo* port = find_port(m.port);
    if (port == nullptr) {
        return Error(Errc::no_such_port, "no sgnic port '" + m.port + "'");
    }
    auto tmpl = proto::parse_template(m.fields);
    if (!tmpl) {
        return tmpl.error();
    }
    auto id = policy_->create_matcher(port->ifindex, m.priority, tmpl->match, m.id);
    if (!id) {
        return id.error();
    }
    matcher_ids_[m.id] = *id;
    matcher_keys_[*id] = m.id;
    return {};
}

// Rules of one matcher in bulk; if a bulk insert fails, that matcher's
// rules go one by one so that one bad rule does not keep the others out.
std::size_t Service::install_rules(std::span<const model::RuleKey> keys, ReconcileReport& report) {
    std::size_t added = 0;
    std::map<model::MatcherKey, std::vector<model::RuleKey>> by_matcher;
    for (const model::RuleKey key : keys) {
        by_matcher[desired_.rules.at(key).matcher].push_back(key);
    }
    auto one_failed = [&](model::RuleKey key, const std::string& why) {
        ++report.failed;
        log::error_limited("reconcile", "reconcile: rule " + std::to_string(key) + ": " + why);
    };
    for (const auto& [matcher, rules] : by_matcher) {
        const auto id = matcher_ids_.find(matcher);
        if (id == matcher_ids_.end()) {
            report.failed += rules.size();
            continue;
        }
        std::vector<model::RuleKey> ok;
        std::vector<policy::RuleSpec> specs;
        for (const model::RuleKey key : rules) {
            auto spec = rule_spec(desired_.matchers.at(matcher), desired_.rules.at(key));
            if (!spec) {
                one_failed(key, spec.error().message());
                continue;
            }
            ok.push_back(key);
            specs.push_back(std::move(*spec));
        }
        const policy::BatchInsert batch = policy_->insert_rules(id->second, specs);
        if (!batch.error) {
            for (std::size_t k = 0; k < ok.size(); ++k) {
                rule_ids_.insert_or_assign({.id = ok[k], .rule = batch.ids[k]});
            }
            added += ok.size();
            continue;
        }
        for (const auto& [k, rule_id] : batch.kept) {  // in, undo or not: theirs
            rule_ids_.insert_or_assign({.id = ok[k], .rule = rule_id});
            ++added;
        }
        for (std::size_t k = 0; k < ok.size(); ++k) {
            if (batch.kept.contains(k)) {
                continue;
            }
            auto rule_id = policy_->insert_rule(id->second, specs[k]);
            if (rule_id) {
                rule_ids_.insert_or_assign({.id = ok[k], .rule = *rule_id});
                ++added;
            } else {
                one_failed(ok[k], rule_id.error().message());
            }
        }
    }
    return added;
}

Expected<ReconcileReport> Service::reconcile() {
    land_in_flight();  // its rules are desired, not strays to delete
    auto ports = port_source_.list_ports();
    if (!ports) {
        return ports.error();
    }
    ports_ = std::move(*ports);
    if (read_only_) {
        return ReconcileReport{};  // the kernel stays as it is
    }
    std::map<std::string, policy::PortId> by_name;
    for (const PortInfo& p : ports_) {
        by_name[p.name] = p.ifindex;
    }
    if (adopted_) {
        finish_resizes();
        release_unowned();
    }
    if (!adopted_) {
        if (auto sealed = adopt_sealed()) {
            return std::move(*sealed);
        }
    }
    auto actual = kernel_.dump();
    if (!actual) {
        return actual.error();
    }
    if (!adopted_) {
        return adopt(std::move(*actual), by_name);
    }
    ReconcileReport report;
    model::Delta delta = model::reconcile(desired_, installed(), *actual, by_name);
    if (delta.installed_lost) {
        // The kernel lost objects the policy placed (module reload): the
        // policy's picture is stale, so start afresh from what is there.
        spdlog::warn("reconcile: objects sgnicd installed are gone from the kernel; reinstalling");
        reset_policy();
        auto adopted = adopt(std::move(*actual), by_name);
        if (adopted) {
            adopted->policy_reset = true;
        }
        return adopted;
    }
    if (!manage_foreign_) {
        const auto kept = model::leave_foreign(delta, *actual, kOwner);
        report.foreign_matchers = kept.first;
        report.foreign_rules = kept.second;
    }
    report.deleted_rules = remove_from_kernel(delta.delete_rules, report);
    remove_from_kernel(delta.delete_matchers, report);
    install_matchers(delta.add_matchers, report);
    report.added_rules = install_rules(delta.add_rules, report);
    report.waiting = delta.waiting.size();
    publish_rehashes();
    return report;
}

std::size_t Service::remove_from_kernel(std::span<const model::ActualRule> rules,
                                        ReconcileReport& report) {
    const KernelState::Removal removal = kernel_.remove_rules(rules);
    report.failed += removal.errors.size();
    for (const Error& e : removal.errors) {
        log::error_limited("reconcile", "reconcile: remove a rule: " + e.message());
    }
    return removal.removed;
}

void Service::remove_from_kernel(std::span<const model::ActualMatcher> matchers,
                                 ReconcileReport& report) {
    for (const model::ActualMatcher& m : matchers) {
        if (auto st = kernel_.remove_matcher(m); st) {
            ++report.deleted_matchers;
        } else {
            ++report.failed;
            log::error_limited("reconcile", "reconcile: remove a matcher: " + st.error().message());
        }
    }
}

void Service::install_matchers(std::span<const model::MatcherKey> keys, ReconcileReport& report) {
    for (const model::MatcherKey key : keys) {
        if (auto st = install_matcher(desired_.matchers.at(key)); st) {
            ++report.added_matchers;
        } else {
            ++report.failed;
            log::error_limited("reconcile", "reconcile: matcher " + std::to_string(key) + ": " +
                                                st.error().message());
        }
    }
}

void Service::take_over(model::Adoption& plan, ReconcileReport& report) {
    // Each adopted rule lies in its desired matcher, which is adopted.  In
    // key order, a million rules are found in the desired table by one walk.
    if (!std::is_sorted(plan.rules.begin(), plan.rules.end(),
                        [](const auto& a, const auto& b) { return a.id < b.id; })) {
        std::sort(plan.rules.begin(), plan.rules.end(),
                  [](const auto& a, const auto& b) { return a.id < b.id; });
    }
    std::map<model::MatcherKey, policy::AdoptedMatcher> matchers;
    for (const auto& [key, m] : plan.matchers) {
        const model::DesiredMatcher& want = desired_.matchers.at(key);
        policy::AdoptedMatcher& adopted = matchers[key];
        adopted = {.port = m.ifindex,
                   .priority = m.priority,
                   .match_template = {},
                   .cookie = key,
                   .device = m.id,
                   .rx_size_log = m.rx_size_log,
                   .tx_size_log = m.tx_size_log,
                   .rules = {}};
        // The policy keeps the template in the order the caller gave it:
        // rule bytes follow that order.
        if (auto tmpl = proto::parse_template(want.fields); tmpl) {
            adopted.match_template = tmpl->match;
        }
    }
    std::map<model::MatcherKey, std::vector<const model::RuleBinding*>> rules_of;
    model::RuleCursor desired(desired_.rules);
    for (const model::RuleBinding& r : plan.rules) {
        const model::DesiredRule& rule = *desired.find(r.id);
        matchers.at(rule.matcher)
            .rules.push_back({.id = r.rule,
                              .directions = rule.directions,
                              .action_types = rule.body.action_types()});
        rules_of[rule.matcher].push_back(&r);
    }
    std::vector<model::RuleBinding> bindings;  // one sort for all, not a table insert per rule
    bindings.reserve(plan.rules.size());
    for (auto& [key, adopted] : matchers) {
        const model::ActualMatcher& m = plan.matchers.at(key);
        const std::vector<const model::RuleBinding*>& rules = rules_of[key];
        auto id = policy_->adopt_matcher(adopted);
        adopted.rules = {};
        if (!id) {
            // Not taken over: it goes, and is made again from the store.
            ++report.failed;
            log::error_limited("reconcile", "reconcile: matcher " + std::to_string(key) + ": " +
                                                id.error().message());
            for (const model::RuleBinding* r : rules) {
                plan.delete_rules.push_back({.ifindex = m.ifindex,
                                             .matcher = m.id,
                                             .id = r->rule,
                                             .owner = kOwner,
                                             .cookie = r->id});
                plan.add_rules.push_back(r->id);
            }
            plan.delete_matchers.push_back(m);
            plan.add_matchers.push_back(key);
            continue;
        }
        matcher_ids_[key] = *id;
        matcher_keys_[*id] = key;
        for (const model::RuleBinding* r : rules) {
            bindings.push_back(*r);
        }
        ++report.adopted_matchers;
        report.adopted_rules += rules.size();
    }
    // Keys are unique in plan.rules, and a fresh policy has no bindings.
    if (!rule_ids_.insert_many(std::move(bindings))) {
        spdlog::error("reconcile: adopted rules collide with rules already bound");
    }
}

Expected<ReconcileReport> Service::adopt(model::ActualState actual,
                                         const std::map<std::string, policy::PortId>& ports) {
    ReconcileReport report;
    report.adoption = true;
    model::Adoption plan = model::plan_adoption(desired_, actual, ports, kOwner, manage_foreign_);
    // Resizes an earlier run left half done are settled first; then the
    // kernel is read again.  Each round settles every one it found.
    for (int round = 0; !plan.resizes.empty(); ++round) {
        if (round == 3) {
            return Error(Errc::degraded, "reconcile: " + std::to_string(plan.resizes.size()) +
                                             " resizes left half done could not be settled");
        }
        for (const model::UnfinishedResize& r : plan.resizes) {
            if (auto st = kernel_.settle_resize(r); st) {
                ++report.settled_resizes;
            } else {
                ++report.failed;
                log::error_limited("reconcile", "reconcile: " + st.error().message());
            }
        }
        auto again = kernel_.dump();
        if (!again) {
            return again.error();
        }
        actual = std::move(*again);
        plan = model::plan_adoption(desired_, actual, ports, kOwner, manage_foreign_);
    }
    actual = {};  // the plan holds what it needs: a million dumped rules go now
    apply_adoption(plan, report);
    return report;
}

std::optional<Expected<ReconcileReport>> Service::adopt_sealed() {
    if (!seal_) {
        return std::nullopt;
    }
    const model::Seal seal = std::move(*seal_);
    seal_.reset();
    auto matchers = kernel_.dump_matchers();
    if (!matchers) {
        return Expected<ReconcileReport>(matchers.error());
    }
    std::vector<model::SealedPort> now;
    for (const PortInfo& p : ports_) {
        now.push_back({.name = p.name, .ifindex = p.ifindex, .steer_gen = p.steer_gen});
    }
    auto plan = model::plan_sealed_adoption(desired_, matchers->matchers, seal, now, kOwner,
                                            manage_foreign_);
    if (!plan) {
        spdlog::info("adopting: {}; reading every rule", plan.error().message());
        return std::nullopt;
    }
    ReconcileReport report;
    report.adoption = true;
    report.sealed = true;
    apply_adoption(*plan, report);
    return Expected<ReconcileReport>(report);
}

void Service::apply_adoption(model::Adoption& plan, ReconcileReport& report) {
    // Rule ids are per port and shared with other owners: new ones go above
    // every id the kernel holds.
    policy_->reserve_rule_ids(plan.next_rule - 1);
    take_over(plan, report);
    report.foreign_matchers = plan.foreign_matchers;
    report.foreign_rules = plan.foreign_rules;
    // What goes, goes first: a changed rule's old version holds its match.
    remove_from_kernel(plan.replaced, report);
    report.deleted_rules = remove_from_kernel(plan.delete_rules, report);
    remove_from_kernel(plan.delete_matchers, report);
    install_matchers(plan.add_matchers, report);
    report.added_rules = install_rules(plan.add_rules, report);
    std::vector<model::RuleKey> replaced;
    for (const model::ActualRule& r : plan.replaced) {
        replaced.push_back(r.cookie);
    }
    report.replaced_rules = install_rules(replaced, report);
    report.waiting = plan.waiting.size();
    adopted_ = true;
    publish_rehashes();
}

Expected<model::Seal> Service::seal() {
    land_in_flight();
    auto not_now = [](const std::string& why) { return Error(Errc::busy, why); };
    if (read_only_) {
        return not_now("sgnicd is read-only");
    }
    if (!adopted_) {
        return not_now("the kernel's state was never adopted");
    }
    if (resizing()) {
        return not_now("a rehash is in progress");
    }
    if (!unowned_.empty() || policy_->rule_count() != rule_ids_.size()) {
        return not_now("rules a failed call left are still in the kernel (" +
                       std::to_string(policy_->rule_count()) + " placed, " +
                       std::to_string(rule_ids_.size()) + " desired)");
    }
    for (const auto& [key, id] : matcher_ids_) {
        if (policy_->find_matcher(id)->devices().size() != 1) {
            return not_now("matcher " + std::to_string(key) + " holds a rehash's leftovers");
        }
    }
    auto ports = port_source_.list_ports();
    if (!ports) {
        return ports.error();
    }
    auto matchers = kernel_.dump_matchers();
    if (!matchers) {
        return matchers.error();
    }
    model::Seal seal{.ports = {}, .next_rule = policy_->next_rule_id(), .rules = {}};
    for (const PortInfo& p : *ports) {
        seal.ports.push_back({.name = p.name, .ifindex = p.ifindex, .steer_gen = p.steer_gen});
    }
    seal.rules.assign(rule_ids_.begin(), rule_ids_.end());
    // The check the next start makes, against the matchers as they are now
    // (its port check passes by construction here): a seal that would not
    // hold then is not written (another process changed a matcher of sgnicd's).
    if (auto plan = model::plan_sealed_adoption(desired_, matchers->matchers, seal, seal.ports,
                                                kOwner, manage_foreign_);
        !plan) {
        return plan.error();
    }
    return seal;
}

Expected<void> Service::begin_change() {
    land_in_flight();
    return begin_change_overlapping();
}

Expected<void> Service::begin_change_overlapping() {
    if (read_only_) {
        return Error(Errc::store, "sgnicd is read-only: " + *read_only_);
    }
    release_unowned();
    return {};
}

Expected<model::MatcherKey> Service::create_matcher(const std::string& port, std::uint32_t priority,
                                                    std::span<const proto::FieldText> fields,
                                                    std::uint32_t uid) {
    if (auto ok = begin_change(); !ok) {
        return ok.error();
    }
    (void)uid;  // matchers are shared; rules record who asked
    if (find_port(port) == nullptr) {
        return Error(Errc::no_such_port, "no sgnic port '" + port + "'");
    }
    auto tmpl = proto::parse_template(fields);
    if (!tmpl) {
        return tmpl.error();
    }
    const model::DesiredMatcher m{
        .id = desired_.next_matcher, .port = port, .priority = priority, .fields = tmpl->canonical};
    auto st = install_matcher(m);
    if (!st) {
        return st.error();
    }
    if (store_) {
        auto stored = store_->add_matcher(m, m.id + 1);
        if (!stored) {
            const policy::MatcherId id = matcher_ids_.at(m.id);
            (void)policy_->destroy_matcher(id);
            matcher_ids_.erase(m.id);
            matcher_keys_.erase(id);
            return Error(Errc::store, "store matcher: " + stored.error().message());
        }
    }
    desired_.next_matcher = m.id + 1;
    desired_.matchers.emplace(m.id, m);
    matcher_index_->put(m.id, port, tmpl->match);
    if (listener_ != nullptr) {
        listener_->matcher_added(m.id);
        listener_->port_changed(port);
    }
    return m.id;
}

// The rules leave the desired state whatever the device says: the store no
// longer has them.  A rule the device failed to delete stays with the policy
// and the first error is reported.
Expected<void> Service::remove_rules(std::span<const model::RuleKey> rules) {
    std::vector<model::RuleKey> keys;
    std::vector<policy::RuleId> ids;
    for (const model::RuleKey key : rules) {
        desired_.rules.erase(key);
        if (const model::RuleBinding* b = rule_ids_.find(key); b != nullptr) {
            keys.push_back(key);
            ids.push_back(b->rule);
            rule_ids_.erase(key);
        }
    }
    const policy::BatchDelete batch = policy_->delete_rules(ids);
    for (const Error& e : batch.shrink_errors) {
        spdlog::warn("delete rules: shrink failed: {}", e.message());
    }
    Expected<void> result;
    for (const policy::RuleFailure& f : batch.failures) {
        // Still in the device: the policy keeps it, and so must the map.
        rule_ids_.insert({.id = keys[f.index], .rule = ids[f.index]});
        if (result) {
            result = with_context(f.error, "delete rule " + std::to_string(keys[f.index]));
        }
    }
    return result;
}

Expected<Service::Batch> Service::start_batch(const std::string& port, std::size_t rules) {
    if (find_port(port) == nullptr) {
        return Error(Errc::no_such_port, "no sgnic port '" + port + "'");
    }
    if (rules == 0) {
        return Error(Errc::invalid_argument, "the batch holds no rules");
    }
    if (rules > kMaxBatch) {
        return Error(Errc::invalid_argument, "the batch holds " + std::to_string(rules) +
                                                 " rules; at most " + std::to_string(kMaxBatch) +
                                                 " per call");
    }
    Batch batch;
    batch.next = desired_.next_rule;
    batch.records = std::move(spare_rows_);
    batch.records.clear();
    batch.records.reserve(rules);
    return batch;
}

Expected<const policy::MatcherState*> Service::batch_matcher(const std::string& port,
                                                             model::MatcherKey matcher,
                                                             std::size_t i) const {
    const auto m = desired_.matchers.find(matcher);
    if (m == desired_.matchers.end() || m->second.port != port) {
        return with_context(MatcherIndex::none_on(matcher, port), rule_context(i));
    }
    const policy::MatcherState* state = matcher_state(matcher);
    if (state == nullptr) {
        return Error(
            Errc::no_such_matcher,
            rule_context(i) + ": matcher " + std::to_string(matcher) + " is not in the device yet");
    }
    return state;
}

void Service::add_to_batch(Batch& batch, model::DesiredRule rule, std::uint32_t uid) {
    rule.id = batch.next++;
    rule.uid = uid;
    batch.records.push_back(std::move(rule));
}

const model::DesiredRule& Service::batch_row(Batch& batch, std::size_t i) {
    while (batch.records.size() <= i) {
        add_to_batch(batch, batch.source[batch.records.size()], batch.uid);
    }
    return batch.records[i];
}

const model::DesiredRule& Service::peek_row(const Batch& batch, std::size_t i) {
    return i < batch.records.size() ? batch.records[i] : batch.source[i];
}

void Service::grow_for_rules(const Batch& batch, std::size_t start, std::size_t run) {
    const model::MatcherKey matcher = peek_row(batch, start).matcher;
    std::uint64_t rx = 0;
    std::uint64_t tx = 0;
    std::size_t end = start;
    for (; end < batch.size() && peek_row(batch, end).matcher == matcher; ++end) {
        const policy::Directions dirs = peek_row(batch, end).directions;
        rx += dirs.rx ? 1 : 0;
        tx += dirs.tx ? 1 : 0;
    }
    if (end - start > run) {
        // A hint: what does not fit fails, naming its rule, when it goes in.
        (void)policy_->reserve(matcher_ids_.at(matcher), rx, tx);
    }
}

std::span<const policy::RuleSpec> Service::specs_of(std::span<const model::DesiredRule> rows) {
    if (spec_scratch_.size() < rows.size()) {
        spec_scratch_.resize(rows.size());
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const model::DesiredRule& rule = rows[i];
        policy::RuleSpec& spec = spec_scratch_[i];
        spec.directions = rule.directions;
        spec.cookie = rule.id;
        const std::span<const std::uint8_t> match = rule.body.match();
        spec.match.assign(match.begin(), match.end());
        rule.body.actions(spec.actions);
    }
    return std::span(spec_scratch_).first(rows.size());
}

void Service::trim_specs() {
    if (spec_scratch_.size() > kKeptRules) {
        spec_scratch_.resize(kKeptRules);
        spec_scratch_.shrink_to_fit();
    }
}

void Service::keep_rows(std::vector<model::DesiredRule>&& rows) {
    if (rows.capacity() <= kKeptRules) {
        rows.clear();
        spare_rows_ = std::move(rows);
    }
}

Expected<Service::Batch> Service::prepare_batch(const std::string& port,
                                                std::span<const RuleRequest> rules,
                                                std::uint32_t uid) {
    auto batch = start_batch(port, rules.size());
    if (!batch) {
        return batch;
    }
    for (std::size_t i = 0; i < rules.size(); ++i) {
        auto state = batch_matcher(port, rules[i].matcher, i);
        if (!state) {
            return state.error();
        }
        auto rule = model::parse_rule((*state)->match_template, rules[i]);
        if (!rule) {
            return with_context(rule.error(), rule_context(i));
        }
        add_to_batch(*batch, std::move(*rule), uid);
    }
    return batch;
}

Expected<Service::Batch> Service::prepare_batch(const std::string& port,
                                                std::span<const model::DesiredRule> rules,
                                                std::uint32_t uid) {
    auto batch = start_batch(port, rules.size());
    if (!batch) {
        return batch;
    }
    for (std::size_t i = 0; i < rules.size(); ++i) {
        // Parsed against the matcher's template: the matcher (its key never
        // reused) must only still be there.  Rules come in runs of a matcher.
        if (i == 0 || rules[i].matcher != rules[i - 1].matcher) {
            if (auto state = batch_matcher(port, rules[i].matcher, i); !state) {
                return state.error();
            }
        }
    }
    batch->source = rules;
    batch->uid = uid;
    return batch;
}

void Service::undo_batch(const std::string& port, std::span<const model::RuleKey> keys,
                         std::vector<policy::RuleId> kept) {
    std::vector<policy::RuleId> ids;
    ids.reserve(keys.size());
    for (const model::RuleKey k : keys) {
        ids.push_back(rule_ids_.at(k).rule);
        rule_ids_.erase(k);
    }
    const policy::BatchDelete undone = policy_->delete_rules(ids);
    for (const policy::RuleFailure& f : undone.failures) {
        kept.push_back(ids[f.index]);
    }
    disown(kept, "add rules to port '" + port + "'");
    publish_rehashes();
}

Expected<std::vector<model::RuleKey>> Service::insert_batch(const std::string& port, Batch& batch,
                                                            std::size_t run) {
    const std::size_t total = batch.size();
    std::vector<model::RuleKey> keys;
    keys.reserve(total);
    const auto& records = batch.records;
    // Consecutive rules of one matcher go to the policy as one bulk insert.
    for (std::size_t start = 0, end = 0; start < total; start = end) {
        const model::MatcherKey matcher = batch_row(batch, start).matcher;
        if (start == 0 || records[start - 1].matcher != matcher) {
            grow_for_rules(batch, start, run);
        }
        end = start + 1;
        while (end < total && end - start < run && batch_row(batch, end).matcher == matcher) {
            ++end;
        }
        const policy::BatchInsert inserted = policy_->insert_rules(
            matcher_ids_.at(matcher), specs_of(std::span(records).subspan(start, end - start)));
        trim_specs();
        if (inserted.error) {
            std::vector<policy::RuleId> kept;
            for (const auto& [k, rule_id] : inserted.kept) {
                kept.push_back(rule_id);
            }
            undo_batch(port, keys, std::move(kept));
            return with_context(*inserted.error, rule_context(start + inserted.failed));
        }
        for (std::size_t k = 0; k < inserted.ids.size(); ++k) {
            rule_ids_.insert({.id = records[start + k].id, .rule = inserted.ids[k]});
            keys.push_back(records[start + k].id);
        }
    }
    publish_rehashes();
    return keys;
}

void Service::keep_batch(const std::string& port, Batch& batch) {
    desired_.next_rule = std::max(desired_.next_rule, batch.next);
    std::set<model::MatcherKey> touched;
    model::MatcherKey last = 0;  // no matcher: keys start at 1
    for (model::DesiredRule& r : batch.records) {
        if (r.matcher != last) {  // a batch's rules come in runs of a matcher
            touched.insert(r.matcher);
            last = r.matcher;
        }
        desired_.rules.insert(std::move(r));
    }
    if (listener_ != nullptr) {
        for (const model::MatcherKey m : touched) {
            listener_->matcher_changed(m);
        }
        listener_->port_changed(port);
    }
}

Expected<std::vector<model::RuleKey>> Service::add_rules(const std::string& port,
                                                         std::span<const RuleRequest> rules,
                                                         std::uint32_t uid) {
    if (auto ok = begin_change(); !ok) {
        return ok.error();
    }
    // Validate the whole batch before the device sees any of it.
    auto batch = prepare_batch(port, rules, uid);
    if (!batch) {
        return batch.error();
    }
    // A large batch's store rows are written on a thread of their own while
    // the device takes the rules; the transaction commits only once the
    // device has them all, so the order (device, then store) is kept.
    std::future<Expected<store::Transaction>> rows;
    if (store_ && batch->records.size() >= kStoreThreadBatch) {
        try {
            rows = std::async(std::launch::async,
                              [&store = *store_, records = std::span(batch->records),
                               next = batch->next] { return store.write_rules(records, next); });
        } catch (const std::system_error& e) {
            spdlog::debug("add rules: no thread for the store ({}); written after", e.what());
        }
    }
    auto keys = insert_batch(port, *batch);
    if (!keys) {
        if (rows.valid()) {
            (void)rows.get();  // rolled back: the store is this thread's again
        }
        return keys.error();
    }
    if (store_) {
        Status stored;
        if (rows.valid()) {
            auto written = rows.get();
            stored = written ? written->commit() : Status(written.error());
        } else {
            stored = store_->add_rules(batch->records, batch->next);
        }
        if (!stored) {
            undo_batch(port, *keys, {});
            return Error(Errc::store, "store rules: " + stored.error().message());
        }
    }
    keep_batch(port, *batch);
    keep_rows(std::move(batch->records));
    return keys;
}

Expected<Service::Ticket> Service::begin_add_rules(const std::string& port,
                                                   std::span<const RuleRequest> rules,
                                                   std::uint32_t uid, Ticket after,
                                                   const std::function<void()>& meanwhile) {
    // The commit in flight runs on while this batch is checked and inserted.
    if (auto ok = begin_change_overlapping(); !ok) {
        return ok.error();
    }
    return begin_add_batch(port, prepare_batch(port, rules, uid), after, meanwhile);
}

Expected<Service::Ticket> Service::begin_add_rules(const std::string& port,
                                                   std::span<const model::DesiredRule> rules,
                                                   std::uint32_t uid, Ticket after,
                                                   const std::function<void()>& meanwhile) {
    if (auto ok = begin_change_overlapping(); !ok) {
        return ok.error();
    }
    return begin_add_batch(port, prepare_batch(port, rules, uid), after, meanwhile);
}

Expected<Service::Ticket> Service::begin_add_batch(const std::string& port, Expected<Batch> batch,
                                                   Ticket after,
                                                   const std::function<void()>& meanwhile) {
    if (!batch) {
        return batch.error();
    }
    // This also lands the commit in flight: the batch before is settled.
    auto keys = insert_batch_deferred(port, *batch, meanwhile);
    if (!keys) {
        return keys.error();
    }
    if (const auto before = landed_.find(after); before != landed_.end() && !before->second) {
        undo_batch(port, *keys, {});
        return Error(Errc::store, "store rules: the batch before was not stored: " +
                                      before->second.error().message());
    }
    batch->source = {};  // every row copied: the caller's rules are its own again
    const Ticket ticket = next_ticket_++;
    desired_.next_rule = batch->next;  // the next batch's ids follow this one's
    InFlight& flight = in_flight_.emplace(InFlight{.ticket = ticket,
                                                   .port = port,
                                                   .batch = std::move(*batch),
                                                   .keys = std::move(*keys),
                                                   .stored = {}});
    if (!store_) {
        flight.stored = std::async(std::launch::deferred, [] { return Status(); });
        return ticket;
    }
    // The thread writes and commits while the caller prepares its next
    // batch; a small batch is written when it lands, on this thread.
    auto write = [&store = *store_, records = std::span(flight.batch.records),
                  next = flight.batch.next]() -> Status {
        auto written = store.write_rules(records, next);
        return written ? written->commit() : Status(written.error());
    };
    const bool threaded = flight.batch.records.size() >= kStoreThreadBatch;
    flight.stored = threaded ? store_writer_.run(write) : std::async(std::launch::deferred, write);
    return ticket;
}

Expected<std::vector<model::RuleKey>> Service::insert_batch_deferred(
    const std::string& port, Batch& batch, const std::function<void()>& meanwhile) {
    if (deferred_ != nullptr) {
        deferred_->defer_inserts(true);
    }
    auto keys = [&] {
        // Deferring ends with the inserts, even if they throw (a null
        // pointer is not "deleted").
        const std::unique_ptr<DeferredInserts, void (*)(DeferredInserts*)> deferring(
            deferred_, [](DeferredInserts* d) { d->defer_inserts(false); });
        return insert_batch(port, batch, kInsertRun);
    }();
    // While the device's thread inserts: the next chunk is read first, as
    // the commit before may still run on the store's thread.
    if (meanwhile) {
        meanwhile();
    }
    land_in_flight();
    if (deferred_ == nullptr) {
        return keys;
    }
    const DeferredInserts::Outcome outcome = deferred_->settle_inserts();
    if (outcome.refused == 0) {
        return keys;  // a failure of the batch's own is undone already
    }
    spdlog::debug("add rules to port '{}': the device refused {} of {} rules ({}); sent again",
                  port, outcome.refused, batch.records.size(),
                  outcome.first ? outcome.first->message() : "no reason given");
    if (keys) {
        undo_batch(port, *keys, {});
    }
    // The policy counted refused rules as in: out with all of them, and in
    // again with the device's answers in hand.
    return insert_batch(port, batch);
}

void Service::land_in_flight() {
    if (!in_flight_) {
        return;
    }
    InFlight flight = std::move(*in_flight_);
    in_flight_.reset();
    const Status stored = flight.stored.get();
    if (!stored) {
        undo_batch(flight.port, flight.keys, {});
        landed_.emplace(flight.ticket,
                        Error(Errc::store, "store rules: " + stored.error().message()));
        return;
    }
    keep_batch(flight.port, flight.batch);
    keep_rows(std::move(flight.batch.records));
    landed_.emplace(flight.ticket, std::move(flight.keys));
}

Expected<std::vector<model::RuleKey>> Service::collect_add_rules(Ticket ticket) {
    if (in_flight_ && in_flight_->ticket == ticket) {
        land_in_flight();
    }
    const auto it = landed_.find(ticket);
    if (it == landed_.end()) {
        return Error(Errc::invalid_argument, "no batch " + std::to_string(ticket) + " to collect");
    }
    auto result = std::move(it->second);
    landed_.erase(it);
    return result;
}

Expected<bool> Service::reserve_rules(model::MatcherKey matcher, std::uint64_t rx,
                                      std::uint64_t tx) {
    if (auto ok = begin_change(); !ok) {
        return ok.error();
    }
    const auto m = desired_.matchers.find(matcher);
    if (m == desired_.matchers.end()) {
        return Error(Errc::no_such_matcher, "no matcher " + std::to_string(matcher));
    }
    const auto id = matcher_ids_.find(matcher);
    if (id == matcher_ids_.end()) {
        return Error(Errc::no_such_matcher, "matcher " + std::to_string(matcher) +
                                                " is not in the device yet (port '" +
                                                m->second.port + "')");
    }
    auto grown = policy_->reserve(id->second, rx, tx);
    publish_rehashes();
    if (grown && *grown && listener_ != nullptr) {
        listener_->matcher_changed(matcher);
        listener_->port_changed(m->second.port);
    }
    return grown;
}

void Service::expect_rules(std::uint64_t rules) {
    // A sixteenth more: a few rules added while the load runs do not double
    // a table of a million.
    const std::size_t more = rules + rules / 16;
    desired_.rules.reserve(desired_.rules.slot_count() + more);
    rule_ids_.reserve(rule_ids_.slot_count() + more);
    policy_->expect_rules(more);
}

Expected<void> Service::delete_rules(const std::string& port,
                                     std::span<const model::RuleKey> rules) {
    if (auto ok = begin_change(); !ok) {
        return ok.error();
    }
    if (find_port(port) == nullptr) {
        return Error(Errc::no_such_port, "no sgnic port '" + port + "'");
    }
    if (rules.size() > kMaxBatch) {
        return Error(Errc::invalid_argument,
                     "at most " + std::to_string(kMaxBatch) + " rules per call");
    }
    for (const model::RuleKey key : rules) {
        const model::DesiredRule* r = desired_.rules.find(key);
        if (r == nullptr || desired_.matchers.at(r->matcher).port != port) {
            return Error(Errc::no_such_rule,
                         "no rule " + std::to_string(key) + " on port '" + port + "'");
        }
    }
    return erase_rules(port, rules);
}

Expected<void> Service::erase_rules(const std::string& port,
                                    std::span<const model::RuleKey> rules) {
    std::set<model::MatcherKey> touched;
    for (const model::RuleKey key : rules) {
        touched.insert(desired_.rules.at(key).matcher);
    }
    // The store first: a rule the caller asked to delete must not come back
    // after a crash, and a device delete that fails is retried by reconcile.
    if (store_) {
        auto stored = store_->delete_rules(rules);
        if (!stored) {
            return Error(Errc::store, "store: " + stored.error().message());
        }
    }
    auto st = remove_rules(rules);
    publish_rehashes();
    if (listener_ != nullptr) {
        for (const model::MatcherKey m : touched) {
            listener_->matcher_changed(m);
        }
        listener_->port_changed(port);
    }
    return st;
}

Expected<void> Service::delete_matcher(model::MatcherKey matcher) {
    if (auto ok = begin_change(); !ok) {
        return ok.error();
    }
    const auto it = desired_.matchers.find(matcher);
    if (it == desired_.matchers.end()) {
        return Error(Errc::no_such_matcher, "no matcher " + std::to_string(matcher));
    }
    const std::string port = it->second.port;
    std::vector<model::RuleKey> rules;
    for (const model::DesiredRule& r : desired_.rules) {
        if (r.matcher == matcher) {
            rules.push_back(r.id);
        }
    }
    if (store_) {
        auto stored = store_->delete_matcher(matcher, rules);
        if (!stored) {
            return Error(Errc::store, "store: " + stored.error().message());
        }
    }
    auto st = remove_rules(rules);
    if (st) {
        if (const auto id = matcher_ids_.find(matcher); id != matcher_ids_.end()) {
            auto destroyed = policy_->destroy_matcher(id->second);
            if (!destroyed) {
                st = destroyed.error();
            } else {
                matcher_keys_.erase(id->second);
                matcher_ids_.erase(id);
            }
        }
    }
    if (listener_ != nullptr) {
        listener_->matcher_removed(matcher);
    }
    desired_.matchers.erase(matcher);
    matcher_index_->erase(matcher);
    publish_rehashes();
    if (listener_ != nullptr) {
        listener_->port_changed(port);
    }
    return st;
}

Expected<void> Service::delete_rules_by_id(std::span<const model::RuleKey> rules) {
    if (auto ok = begin_change(); !ok) {
        return ok.error();
    }
    if (rules.size() > kMaxBatch) {
        return Error(Errc::invalid_argument,
                     "at most " + std::to_string(kMaxBatch) + " rules per call");
    }
    // Grouped by port in first-seen order; delete_rules() does the rest.
    std::vector<std::pair<std::string, std::vector<model::RuleKey>>> by_port;
    std::set<model::RuleKey> seen;
    for (const model::RuleKey key : rules) {
        const model::DesiredRule* r = desired_.rules.find(key);
        if (r == nullptr) {
            return Error(Errc::no_such_rule, "no rule " + std::to_string(key));
        }
        if (!seen.insert(key).second) {
            continue;
        }
        const std::string& port = desired_.matchers.at(r->matcher).port;
        auto group = std::find_if(by_port.begin(), by_port.end(),
                                  [&](const auto& g) { return g.first == port; });
        if (group == by_port.end()) {
            by_port.emplace_back(port, std::vector<model::RuleKey>{});
            group = std::prev(by_port.end());
        }
        group->second.push_back(key);
    }
    for (const auto& [port, keys] : by_port) {
        if (find_port(port) == nullptr) {
            return Error(Errc::no_such_port, "rule " + std::to_string(keys.front()) + ": port '" +
                                                 port + "' is not present");
        }
    }
    for (const auto& [port, keys] : by_port) {
        if (auto st = delete_rules(port, keys); !st) {
            return st;
        }
    }
    return {};
}

Expected<std::map<policy::RuleId, RuleCounters>> Service::counters_of(model::MatcherKey matcher,
                                                                      RuleIdRange ids) {
    std::map<policy::RuleId, RuleCounters> out;
    const policy::MatcherState* s = matcher_state(matcher);
    if (s == nullptr) {
        return out;
    }
    // A rollback that could not finish leaves some rules in a stray matcher;
    // a rehash in progress has not moved some yet.
    for (const policy::DeviceMatcherId dev : s->devices()) {
        auto counters = kernel_.rule_counters(s->port, dev, ids);
        if (!counters) {
            return counters.error();
        }
        for (const RuleCounters& c : *counters) {
            out[c.id] = c;
        }
    }
    return out;
}

Expected<void> Service::flush(const std::string& port) {
    if (auto ok = begin_change(); !ok) {
        return ok.error();
    }
    if (find_port(port) == nullptr) {
        return Error(Errc::no_such_port, "no sgnic port '" + port + "'");
    }
    for (const model::MatcherKey m : matchers_of(port)) {
        auto st = delete_matcher(m);
        if (!st) {
            return st;
        }
    }
    return {};
}

Expected<std::size_t> Service::flush_rules(const std::string& port) {
    if (auto ok = begin_change(); !ok) {
        return ok.error();
    }
    if (!port.empty() && find_port(port) == nullptr) {
        return Error(Errc::no_such_port, "no sgnic port '" + port + "'");
    }
    // Also the rules of a port that is absent now: they would come back.
    std::map<std::string, std::vector<model::RuleKey>> by_port;
    for (const model::DesiredRule& r : desired_.rules) {
        const std::string& p = desired_.matchers.at(r.matcher).port;
        if (port.empty() || p == port) {
            by_port[p].push_back(r.id);
        }
    }
    std::size_t deleted = 0;
    for (const auto& [p, keys] : by_port) {
        if (auto st = erase_rules(p, keys); !st) {
            return st.error();
        }
        deleted += keys.size();
    }
    return deleted;
}

}  // namespace sgnic::service
