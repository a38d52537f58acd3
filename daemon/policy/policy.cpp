#include "policy/policy.hpp"

#include "sgnic/proto/codec.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace sgnic::policy {

namespace {

std::string describe(const ActionTypes& types) {
    std::string out = "[";
    for (const ActionType t : types) {
        if (out.size() > 1) {
            out += ",";
        }
        out += proto::action_name(t);
    }
    return out + "]";
}

std::string matcher_name(const MatcherState& m) {
    return "matcher " + std::to_string(m.id) + " (port " + std::to_string(m.port) + ")";
}

// "<context>: <step>: <cause>; <what the rollback did>", keeping the cause's code.
Error step_failed(const Error& cause, const std::string& context, std::string_view step,
                  const std::string& rollback) {
    return {cause.code(),
            context + ": " + std::string(step) + ": " + cause.message() + "; " + rollback};
}

}  // namespace

std::string_view to_string(RehashReason reason) {
    switch (reason) {
        case RehashReason::threshold:
            return "threshold";
        case RehashReason::collision:
            return "collision";
        case RehashReason::shrink:
            return "shrink";
        case RehashReason::presize:
            return "presize";
    }
    return "unknown";
}

MatcherSpec MatcherState::spec(int rx_size_log, int tx_size_log) const {
    return {.port = port,
            .priority = priority,
            .cookie = cookie,
            .match_template = match_template,
            .rx_size_log = rx_size_log,
            .tx_size_log = tx_size_log,
            .action_templates = action_templates.templates()};
}

DeviceMatcherId MatcherState::holder(RuleId id) const {
    if (stray && stray->rules.contains(id)) {
        return stray->device;
    }
    if (resize && resize->in_source(id)) {
        return resize->source;
    }
    return device;
}

std::vector<DeviceMatcherId> MatcherState::devices() const {
    std::vector<DeviceMatcherId> out = {device};
    if (stray) {
        out.push_back(stray->device);
    }
    if (resize) {
        out.push_back(resize->source);
    }
    return out;
}

Policy::Policy(Device& device, PolicyConfig config, Clock clock)
    : device_(device), config_(config), clock_(std::move(clock)) {}

MatcherState* Policy::lookup(MatcherId id) {
    const auto it = matchers_.find(id);
    return it == matchers_.end() ? nullptr : &it->second;
}

const MatcherState* Policy::find_matcher(MatcherId id) const {
    const auto it = matchers_.find(id);
    return it == matchers_.end() ? nullptr : &it->second;
}

const RuleRecord* Policy::find_rule(RuleId id) const { return rules_.find(id); }

std::vector<MatcherId> Policy::matcher_ids() const {
    std::vector<MatcherId> ids;
    ids.reserve(matchers_.size());
    for (const auto& [id, m] : matchers_) {
        ids.push_back(id);
    }
    return ids;
}

std::vector<RehashReport> Policy::take_rehash_reports() { return std::exchange(reports_, {}); }

MatcherState Policy::new_matcher(PortId port, std::uint32_t priority, MatchTemplate match_template,
                                 std::uint64_t cookie) const {
    const auto limit = static_cast<std::size_t>(
        std::max(0, std::min(config_.action_templates_max, device_.caps().max_action_templates)));
    MatcherState m(
        next_matcher_, port, priority, std::move(match_template),
        ActionTemplateSet(static_cast<std::size_t>(config_.action_templates_initial), limit));
    m.cookie = cookie;
    return m;
}

Expected<MatcherId> Policy::create_matcher(PortId port, std::uint32_t priority,
                                           MatchTemplate match_template, std::uint64_t cookie) {
    const Caps caps = device_.caps();
    const Sizing sizing(config_, caps);
    const std::string context =
        "create matcher on port " + std::to_string(port) + " priority " + std::to_string(priority);
    if (config_.init_size_log > sizing.cap()) {
        return Error(Errc::invalid_argument,
                     context + ": initial size_log " + std::to_string(config_.init_size_log) +
                         " exceeds the device's cap " + std::to_string(sizing.cap()) +
                         " (ste_alloc_log_max " + std::to_string(caps.ste_alloc_log_max) + ")");
    }
    MatcherState m = new_matcher(port, priority, std::move(match_template), cookie);
    m.rx.size_log = config_.init_size_log;
    m.tx.size_log = config_.init_size_log;

    auto device = device_.create_matcher(m.spec(m.rx.size_log, m.tx.size_log));
    if (!device) {
        return device.error().with_context(context);
    }
    m.device = *device;
    const MatcherId id = next_matcher_++;
    matchers_.emplace(id, std::move(m));
    return id;
}

Expected<MatcherId> Policy::adopt_matcher(const AdoptedMatcher& adopted) {
    const Caps caps = device_.caps();
    const Sizing sizing(config_, caps);
    const std::string context = "adopt device matcher " + std::to_string(adopted.device) +
                                " on port " + std::to_string(adopted.port);
    for (const int size_log : {adopted.rx_size_log, adopted.tx_size_log}) {
        if (size_log < 0 || size_log > sizing.cap()) {
            return Error(Errc::invalid_argument,
                         context + ": size_log " + std::to_string(size_log) +
                             " is beyond the device's cap " + std::to_string(sizing.cap()));
        }
    }
    // Checked before anything changes; a sorted copy finds an id given
    // twice without a node per rule (a start adopts up to millions).
    std::vector<RuleId> ids;
    ids.reserve(adopted.rules.size());
    for (const AdoptedRule& r : adopted.rules) {
        ids.push_back(r.id);
    }
    std::sort(ids.begin(), ids.end());
    const auto twice = std::adjacent_find(ids.begin(), ids.end());
    for (const AdoptedRule& r : adopted.rules) {
        const bool repeated = twice != ids.end() && *twice == r.id;
        if (r.directions.empty() || rules_.contains(r.id) || repeated) {
            return Error(Errc::invalid_argument,
                         context + ": rule " + std::to_string(r.id) +
                             (r.directions.empty() ? " uses neither RX nor TX"
                                                   : " is known already or given twice"));
        }
    }
    MatcherState m =
        new_matcher(adopted.port, adopted.priority, adopted.match_template, adopted.cookie);
    m.device = adopted.device;
    m.rx.size_log = adopted.rx_size_log;
    m.tx.size_log = adopted.tx_size_log;
    std::vector<ActionTemplateIndex> templates;
    for (const AdoptedRule& r : adopted.rules) {
        auto at = m.action_templates.find(r.action_types);
        if (!at) {
            if (auto room = m.action_templates.reserve_one(); !room) {
                return room.error().with_context(context);
            }
            at = m.action_templates.append(r.action_types);
        }
        templates.push_back(*at);
    }
    if (auto st = device_.adopt_matcher(m.spec(m.rx.size_log, m.tx.size_log), m.device); !st) {
        return st.error().with_context(context);
    }
    // Checked above: neither table has any of the ids, none is repeated.
    std::vector<RuleRecord> records;
    std::vector<RuleRef> refs;
    records.reserve(adopted.rules.size());
    refs.reserve(adopted.rules.size());
    for (std::size_t i = 0; i < adopted.rules.size(); ++i) {
        const AdoptedRule& r = adopted.rules[i];
        count_rule(m, r.directions);
        refs.push_back({.id = r.id});
        records.push_back({.id = r.id,
                           .matcher = m.id,
                           .directions = r.directions,
                           .action_template = templates[i]});
        reserve_rule_ids(r.id);
    }
    m.rules.insert_many(std::move(refs));
    rules_.insert_many(std::move(records));
    const MatcherId id = next_matcher_++;
    matchers_.emplace(id, std::move(m));
    return id;
}

Status Policy::destroy_matcher(MatcherId id) {
    MatcherState* m = lookup(id);
    if (m == nullptr) {
        return Error(Errc::not_found,
                     "destroy matcher " + std::to_string(id) + ": no such matcher");
    }
    const std::string context = "destroy " + matcher_name(*m);
    if (!m->rules.empty()) {
        return Error(Errc::invalid_argument,
                     context + ": it still holds " + std::to_string(m->rules.size()) + " rules");
    }
    if (m->resize) {  // nothing left to move: this ends it
        if (auto st = run_resize(*m); !st) {
            return st.error().with_context(context);
        }
    }
    if (m->stray) {
        // Holds no rules: every rule it held is deleted.
        auto st = device_.destroy_matcher(m->stray->device);
        if (!st) {
            return st.error().with_context(context + ": stray device matcher " +
                                           std::to_string(m->stray->device));
        }
        m->stray.reset();
    }
    auto st = device_.destroy_matcher(m->device);
    if (!st) {
        return st.error().with_context(context);
    }
    matchers_.erase(id);
    return {};
}

Expected<ActionTemplateIndex> Policy::ensure_action_template(MatcherState& m,
                                                             const ActionTypes& types) {
    if (const auto found = m.action_templates.find(types)) {
        return *found;
    }
    const std::string context = "add action template " + describe(types);
    auto before = m.action_templates.reserve_one();
    if (!before) {
        return before.error().with_context(context);
    }
    auto st = device_.add_action_template(m.device, types);
    if (!st) {
        m.action_templates.restore_capacity(*before);
        return st.error().with_context(context);
    }
    return m.action_templates.append(types);
}

void Policy::count_rule(MatcherState& m, Directions dirs) {
    const Sizing s = sizing();
    for (const Direction d : kDirections) {
        if (!dirs.uses(d)) {
            continue;
        }
        DirectionSize& size = m.size(d);
        ++size.rules;
        if (s.needs_growth(size)) {
            size.rehash_required = true;
        }
    }
}

void Policy::uncount_rule(MatcherState& m, Directions dirs) {
    for (const Direction d : kDirections) {
        if (dirs.uses(d)) {
            --m.size(d).rules;
        }
    }
}

void Policy::mark_rehash_required(MatcherState& m, Directions dirs) {
    for (const Direction d : kDirections) {
        if (dirs.uses(d)) {
            m.size(d).rehash_required = true;
        }
    }
}

void Policy::reevaluate_rehash_required(MatcherState& m) {
    const Sizing s = sizing();
    for (const Direction d : kDirections) {
        m.size(d).rehash_required = s.needs_growth(m.size(d));
    }
}

Expected<RuleId> Policy::insert_rule(MatcherId id, const RuleSpec& rule) {
    MatcherState* m = lookup(id);
    if (m == nullptr) {
        return Error(Errc::not_found, "insert rule: no matcher " + std::to_string(id));
    }
    const std::string context = "insert rule into " + matcher_name(*m);
    if (rule.directions.empty()) {
        return Error(Errc::invalid_argument, context + ": the rule uses neither RX nor TX");
    }
    if (auto healed = heal_first(*m, context); !healed) {
        return healed.error();
    }
    auto at = ensure_action_template(*m, rule.action_types());
    if (!at) {
        return at.error().with_context(context);
    }

    // Burnt even on failure: after a timeout the device may hold the rule,
    // and reconcile must not confuse it with a later one.
    const RuleId rule_id = next_rule_++;
    count_rule(*m, rule.directions);
    auto fail = [&](Error e) {
        uncount_rule(*m, rule.directions);
        reevaluate_rehash_required(*m);
        return e.with_context(context);
    };

    if (m->rx.rehash_required || m->tx.rehash_required) {
        auto grown = rehash(*m, RehashReason::threshold);
        if (!grown) {
            return fail(grown.error());
        }
    }
    auto st = device_.insert_rule(m->device, rule_id, *at, rule);
    if (!st) {
        // Only a full row is cured by a larger table; busy and timeout are not.
        if (st.error().code() != Errc::collision) {
            return fail(st.error());
        }
        mark_rehash_required(*m, rule.directions);
        auto grown = rehash(*m, RehashReason::collision);
        if (!grown) {
            return fail(grown.error().with_context("collision, then"));
        }
        if (!*grown) {
            return fail(
                Error(Errc::collision,
                      st.error().message() + " (the rule's tables are at their maximum size)"));
        }
        st = device_.insert_rule(m->device, rule_id, *at, rule);
        if (!st) {
            return fail(st.error().with_context("retry after rehash"));
        }
    }
    m->rules.insert({.id = rule_id});
    rules_.insert(
        {.id = rule_id, .matcher = id, .directions = rule.directions, .action_template = *at});
    return rule_id;
}

namespace {

// Rules per bulk device request; a rehash ends a run earlier.  Small
// enough that a load's sender thread gets the first request of a batch
// soon (it waits while this thread counts and encodes a run), about the
// rules one 64 KiB netlink message holds.
constexpr std::size_t kMaxRun = 512;

}  // namespace

BatchInsert Policy::insert_rules(MatcherId id, std::span<const RuleSpec> rules) {
    BatchInsert out;
    MatcherState* m = lookup(id);
    if (m == nullptr) {
        out.error = Error(Errc::not_found, "insert rules: no matcher " + std::to_string(id));
        return out;
    }
    const std::string context = "insert rule into " + matcher_name(*m);
    if (auto healed = heal_first(*m, context); !healed) {
        out.error = std::move(healed.error());
        return out;
    }

    // Rules counted and given an id, sent (or to be sent) in one request.
    struct Pending {
        std::size_t index = 0;
        RuleId id = 0;
        ActionTemplateIndex at = 0;
    };
    std::vector<Pending> run;
    // The id of each rule once it is in the device and recorded (ids start
    // at 1): the result, and what an undo deletes.
    std::vector<RuleId> in(rules.size(), 0);

    auto commit = [&](const Pending& p) {
        m->rules.insert({.id = p.id});
        rules_.insert({.id = p.id,
                       .matcher = id,
                       .directions = rules[p.index].directions,
                       .action_template = p.at});
        in[p.index] = p.id;
    };
    // Undo everything this call did and report rule `index`.
    auto fail = [&](std::size_t index, Error e) {
        for (const Pending& p : run) {
            if (in[p.index] == 0) {
                uncount_rule(*m, rules[p.index].directions);
            }
        }
        reevaluate_rehash_required(*m);
        std::vector<std::size_t> undo_index;
        std::vector<RuleId> undo;
        for (std::size_t k = 0; k < in.size(); ++k) {
            if (in[k] != 0) {
                undo_index.push_back(k);
                undo.push_back(in[k]);
            }
        }
        const BatchDelete undone = delete_rules(undo);
        for (const RuleFailure& f : undone.failures) {
            out.kept.emplace(undo_index[f.index], undo[f.index]);
        }
        if (!undone.failures.empty()) {
            e = Error(e.code(), e.message() + "; the undo could not delete " +
                                    std::to_string(out.kept.size()) +
                                    " of the batch's rules, which stay in (" +
                                    undone.failures.front().error.message() + ")");
        }
        out.error = std::move(e.with_context(context));
        out.failed = index;
        return std::move(out);
    };
    // Sends the run; a collision is cured as insert_rule() cures it.
    auto flush = [&]() -> std::optional<std::pair<std::size_t, Error>> {
        if (run.empty()) {
            return std::nullopt;
        }
        std::vector<RuleInsert> request;
        request.reserve(run.size());
        for (const Pending& p : run) {
            request.push_back({.id = p.id, .at = p.at, .rule = &rules[p.index]});
        }
        std::vector<RuleFailure> failures = device_.insert_rules(m->device, request);
        std::size_t f = 0;
        for (std::size_t i = 0; i < run.size(); ++i) {
            if (f < failures.size() && failures[f].index == i) {
                ++f;
                continue;
            }
            commit(run[i]);
        }
        for (RuleFailure& failure : failures) {
            const Pending& p = run.at(failure.index);
            const RuleSpec& rule = rules[p.index];
            if (failure.error.code() != Errc::collision) {
                return std::pair{p.index, std::move(failure.error)};
            }
            mark_rehash_required(*m, rule.directions);
            auto grown = rehash(*m, RehashReason::collision);
            if (!grown) {
                return std::pair{p.index, std::move(grown.error().with_context("collision, then"))};
            }
            if (!*grown) {
                return std::pair{
                    p.index, Error(Errc::collision, failure.error.message() +
                                                        " (the rule's tables are at their maximum "
                                                        "size)")};
            }
            auto st = device_.insert_rule(m->device, p.id, p.at, rule);
            if (!st) {
                return std::pair{p.index, std::move(st.error().with_context("retry after rehash"))};
            }
            commit(p);
        }
        run.clear();
        return std::nullopt;
    };

    // Grown once for the whole batch, to the sizes rule-by-rule growth would
    // reach (a rule without directions is refused first: nothing changes).
    // A presize that fails is left to that growth, which reports the rule it
    // fails at; a rollback it could not finish fails the batch.
    std::uint64_t more[2] = {0, 0};
    for (std::size_t k = 0; k < rules.size(); ++k) {
        if (rules[k].directions.empty()) {
            return fail(k, Error(Errc::invalid_argument, "the rule uses neither RX nor TX"));
        }
        for (const Direction d : kDirections) {
            more[static_cast<int>(d)] += rules[k].directions.uses(d) ? 1 : 0;
        }
    }
    // One rule grows as insert_rule() would: a threshold crossed.
    const RehashReason why = rules.size() == 1 ? RehashReason::threshold : RehashReason::presize;
    if (auto grown = presize(*m, more[0], more[1], why); !grown && m->stray) {
        return fail(0, std::move(grown.error()));
    }

    // A batch's rules mostly share their action types: their template is
    // looked up once a run of them (a template's index never changes).
    ActionTypes types;
    std::optional<ActionTemplateIndex> at;
    for (std::size_t k = 0; k < rules.size(); ++k) {
        const RuleSpec& rule = rules[k];
        if (!at || !std::ranges::equal(rule.actions, types, {}, &Action::type)) {
            types.clear();
            for (const Action& a : rule.actions) {
                types.push_back(a.type);
            }
            auto found = ensure_action_template(*m, types);
            if (!found) {
                return fail(k, found.error());
            }
            at = *found;
        }
        count_rule(*m, rule.directions);
        if ((m->rx.rehash_required || m->tx.rehash_required) && !run.empty()) {
            // The run so far goes in at the size it was counted for.
            uncount_rule(*m, rule.directions);
            reevaluate_rehash_required(*m);
            if (auto failed = flush()) {
                return fail(failed->first, std::move(failed->second));
            }
            count_rule(*m, rule.directions);
        }
        if (m->rx.rehash_required || m->tx.rehash_required) {
            auto grown = rehash(*m, RehashReason::threshold);
            if (!grown) {
                uncount_rule(*m, rule.directions);
                return fail(k, grown.error());
            }
        }
        run.push_back({.index = k, .id = next_rule_++, .at = *at});
        if (run.size() >= kMaxRun) {
            if (auto failed = flush()) {
                return fail(failed->first, std::move(failed->second));
            }
        }
    }
    if (auto failed = flush()) {
        return fail(failed->first, std::move(failed->second));
    }
    out.ids = std::move(in);
    return out;
}

Expected<DeleteOutcome> Policy::delete_rule(RuleId id) {
    BatchDelete batch = delete_rules(std::span(&id, 1));
    if (!batch.failures.empty()) {
        return std::move(batch.failures.front().error);
    }
    DeleteOutcome outcome;
    if (!batch.shrink_errors.empty()) {
        outcome.shrink_error = std::move(batch.shrink_errors.front());
    }
    return outcome;
}

BatchDelete Policy::delete_rules(std::span<const RuleId> ids) {
    BatchDelete out;
    // Request indexes grouped by the device matcher holding the rule.
    std::map<DeviceMatcherId, std::vector<std::size_t>> by_device;
    std::set<RuleId> seen;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const RuleRecord* r = rules_.find(ids[i]);
        if (r == nullptr || !seen.insert(ids[i]).second) {
            out.failures.push_back(
                {.index = i,
                 .error = Error(Errc::not_found,
                                "delete rule " + std::to_string(ids[i]) + ": no such rule")});
            continue;
        }
        by_device[lookup(r->matcher)->holder(ids[i])].push_back(i);
    }

    std::set<MatcherId> touched;
    std::vector<RuleId> request;
    for (const auto& [device, indexes] : by_device) {
        request.clear();
        for (const std::size_t i : indexes) {
            request.push_back(ids[i]);
        }
        std::vector<RuleFailure> failures = device_.delete_rules(device, request);
        std::size_t f = 0;
        for (std::size_t k = 0; k < indexes.size(); ++k) {
            const RuleId id = request[k];
            const RuleRecord r = rules_.at(id);
            MatcherState& m = *lookup(r.matcher);
            if (f < failures.size() && failures[f].index == k) {
                out.failures.push_back(
                    {.index = indexes[k],
                     .error = std::move(failures[f].error.with_context(
                         "delete rule " + std::to_string(id) + " from " + matcher_name(m)))});
                ++f;
                continue;
            }
            if (m.stray) {
                m.stray->rules.erase(id);
            }
            m.rules.erase(id);
            uncount_rule(m, r.directions);
            rules_.erase(id);
            touched.insert(m.id);
            ++out.deleted;
        }
    }
    std::sort(out.failures.begin(), out.failures.end(),
              [](const RuleFailure& a, const RuleFailure& b) { return a.index < b.index; });

    // An emptied matcher goes back to the initial size, once.
    const int init = config_.init_size_log;
    for (const MatcherId id : touched) {
        MatcherState& m = *lookup(id);
        const bool empty = m.rx.rules == 0 && m.tx.rules == 0;
        const bool grown = m.rx.size_log != init || m.tx.size_log != init;
        if (empty && grown && !m.stray) {
            m.rx.rehash_required = false;
            m.tx.rehash_required = false;
            auto shrunk = resize(m, init, init, RehashReason::shrink);
            if (!shrunk) {
                out.shrink_errors.push_back(std::move(shrunk.error()));
            }
        }
    }
    return out;
}

Expected<bool> Policy::rehash(MatcherState& m, RehashReason reason) {
    const Sizing s = sizing();
    int to[2] = {m.rx.size_log, m.tx.size_log};
    for (const Direction d : kDirections) {
        DirectionSize& size = m.size(d);
        if (!size.rehash_required) {
            continue;
        }
        size.rehash_required = false;
        // A maxed-out table stays as it is; the insert may still fit.
        if (!s.maxed_out(size.size_log)) {
            to[static_cast<int>(d)] = s.grown(size.size_log);
        }
    }
    if (to[0] == m.rx.size_log && to[1] == m.tx.size_log) {
        return false;
    }
    auto st = resize(m, to[0], to[1], reason);
    if (!st) {
        return st.error();
    }
    return true;
}

Expected<bool> Policy::presize(MatcherState& m, std::uint64_t rx, std::uint64_t tx,
                               RehashReason reason) {
    const Sizing s = sizing();
    const int to_rx = s.grown_for(m.rx, rx);
    const int to_tx = s.grown_for(m.tx, tx);
    if (to_rx == m.rx.size_log && to_tx == m.tx.size_log) {
        return false;
    }
    auto st = resize(m, to_rx, to_tx, reason);
    if (!st) {
        return st.error();
    }
    reevaluate_rehash_required(m);
    return true;
}

Expected<bool> Policy::reserve(MatcherId id, std::uint64_t rx, std::uint64_t tx) {
    MatcherState* m = lookup(id);
    if (m == nullptr) {
        return Error(Errc::not_found, "reserve: no matcher " + std::to_string(id));
    }
    const std::string context = "reserve rules in " + matcher_name(*m);
    for (const Direction d : kDirections) {
        const std::uint64_t more = d == Direction::rx ? rx : tx;
        const char* name = d == Direction::rx ? "RX" : "TX";
        const std::uint64_t most = sizing().capacity(m->size(d).size_log);
        const std::uint64_t has = m->size(d).rules;
        if (more > most - std::min(most, has)) {
            return Error(Errc::invalid_argument,
                         context + ": " + std::to_string(more) + " more " + name +
                             " rules do not fit: a table holds " + std::to_string(most) +
                             " at most and this one has " + std::to_string(has));
        }
    }
    if (auto healed = heal_first(*m, context); !healed) {
        return healed.error();
    }
    auto grown = presize(*m, rx, tx, RehashReason::presize);
    if (!grown) {
        return std::move(grown.error().with_context(context));
    }
    // At least max(rx, tx) rules come (each goes one way or both): room for
    // their records is made with the tables' growth.  Not when nothing grew:
    // a reservation of a few more each time (a load's batches, each making
    // sure its rules fit) would move the whole list every time.
    if (*grown) {
        m->rules.reserve(m->rules.slot_count() + std::max(rx, tx));
    }
    return *grown;
}

namespace {

std::string resize_context(const std::string& matcher, SizeChange rx, SizeChange tx) {
    return "rehash " + matcher + " RX " + std::to_string(rx.from) + "->" + std::to_string(rx.to) +
           " TX " + std::to_string(tx.from) + "->" + std::to_string(tx.to);
}

}  // namespace

Status Policy::resize(MatcherState& m, int rx_size_log, int tx_size_log, RehashReason reason) {
    if (m.resize) {
        // One resize at a time: the one running ends first.
        if (auto st = run_resize(m); !st) {
            return st;
        }
    }
    if (auto st = begin_resize(m, rx_size_log, tx_size_log, reason); !st) {
        return st;
    }
    // A rehash of one step's worth of rules ends in this call: it costs
    // no more than the step would.
    const auto step = static_cast<std::size_t>(std::max(0, config_.resize_step_rules));
    if (m.resize->pending.size() <= step || step == 0) {
        return run_resize(m);
    }
    return {};
}

// create new → set it as resize target → move the rules (one step, or a
// step at a time) → destroy old.  Until the last step succeeds the old
// device matcher keeps every rule that has not moved, and lookups find the
// others in the new one; any failure moves them back, destroys the new one
// and leaves sizes as they were.
Status Policy::begin_resize(MatcherState& m, int rx_size_log, int tx_size_log,
                            RehashReason reason) {
    const auto start = clock_();
    const DeviceMatcherId old = m.device;
    const SizeChange rx{m.rx.size_log, rx_size_log};
    const SizeChange tx{m.tx.size_log, tx_size_log};
    const std::string context = resize_context(matcher_name(m), rx, tx);

    auto fresh = device_.create_matcher(m.spec(rx_size_log, tx_size_log));
    if (!fresh) {
        return step_failed(
            fresh.error(), context, "create matcher",
            "nothing changed, every rule is in device matcher " + std::to_string(old));
    }
    if (auto st = device_.set_resize_target(old, *fresh); !st) {
        return step_failed(st.error(), context, "set resize target",
                           undo_resize(m, *fresh, {}, m.action_templates.size()));
    }
    std::vector<RuleId> pending;
    pending.reserve(m.rules.size());
    for (const RuleRef& r : m.rules) {
        pending.push_back(r.id);
    }
    m.resize = ResizeProgress{.source = old,
                              .rx = rx,
                              .tx = tx,
                              .reason = reason,
                              .pending = std::move(pending),
                              .next = 0,
                              .moved = 0,
                              .source_templates = m.action_templates.size(),
                              .start = start};
    m.device = *fresh;
    m.rx.size_log = rx_size_log;
    m.tx.size_log = tx_size_log;
    return {};
}

Status Policy::advance_resize(MatcherState& m, std::size_t budget) {
    ResizeProgress& p = *m.resize;
    const std::string context = resize_context(matcher_name(m), p.rx, p.tx);
    std::vector<RuleId> batch;
    while (p.next < p.pending.size() && batch.size() < budget) {
        const RuleId id = p.pending[p.next++];
        if (rules_.contains(id)) {  // deleted since the start: nothing to move
            batch.push_back(id);
        }
    }
    if (!batch.empty()) {
        const MoveResult moved = device_.move_rules(p.source, m.device, batch);
        const std::size_t n = std::min(moved.moved, batch.size());
        p.moved += n;
        if (moved.error) {
            if (n < batch.size()) {  // the rest of the batch is still in the source
                p.next = static_cast<std::size_t>(
                    std::lower_bound(p.pending.begin(), p.pending.end(), batch[n]) -
                    p.pending.begin());
            }
            const std::string step = "move rules (" + std::to_string(p.moved) + " of " +
                                     std::to_string(p.pending.size()) + " moved)";
            return step_failed(*moved.error, context, step, abort_resize(m));
        }
    }
    while (p.next < p.pending.size() && !rules_.contains(p.pending[p.next])) {
        ++p.next;  // deleted: the step that moved the last rule ends it
    }
    if (p.next < p.pending.size()) {
        return {};
    }
    if (auto st = device_.destroy_matcher(p.source); !st) {
        return step_failed(st.error(), context, "destroy old matcher", abort_resize(m));
    }
    reports_.push_back(RehashReport{.matcher = m.id,
                                    .port = m.port,
                                    .old_device = p.source,
                                    .new_device = m.device,
                                    .rx = p.rx,
                                    .tx = p.tx,
                                    .rules_moved = p.moved,
                                    .reason = p.reason,
                                    .duration = clock_() - p.start});
    ++m.rehashes;
    m.resize.reset();
    return {};
}

// Turns the resize in progress around: the source is the matcher's device
// again, at its old sizes, and every rule in the target goes back to it.
std::string Policy::abort_resize(MatcherState& m) {
    const ResizeProgress p = std::move(*m.resize);
    m.resize.reset();
    const DeviceMatcherId target = m.device;
    std::vector<RuleId> in_target;
    for (const RuleRef& r : m.rules) {
        if (!p.in_source(r.id)) {
            in_target.push_back(r.id);
        }
    }
    m.device = p.source;
    m.rx.size_log = p.rx.from;
    m.tx.size_log = p.tx.from;
    reevaluate_rehash_required(m);
    return undo_resize(m, target, std::move(in_target), p.source_templates);
}

Status Policy::step(MatcherId id) {
    MatcherState* m = lookup(id);
    if (m == nullptr) {
        return Error(Errc::not_found, "resize step: no matcher " + std::to_string(id));
    }
    if (!m->resize) {
        return {};
    }
    return advance_resize(*m, static_cast<std::size_t>(std::max(1, config_.resize_step_rules)));
}

Status Policy::finish_resize(MatcherId id) {
    MatcherState* m = lookup(id);
    if (m == nullptr) {
        return Error(Errc::not_found, "finish resize: no matcher " + std::to_string(id));
    }
    return m->resize ? run_resize(*m) : Status{};
}

std::vector<MatcherId> Policy::resizing() const {
    std::vector<MatcherId> ids;
    for (const auto& [id, m] : matchers_) {
        if (m.resize) {
            ids.push_back(id);
        }
    }
    return ids;
}

bool Policy::resize_in_progress() const {
    return std::any_of(matchers_.begin(), matchers_.end(),
                       [](const auto& entry) { return entry.second.resize.has_value(); });
}

// Moves `moved` back from `fresh` to the live matcher and destroys `fresh`.
// The action templates from index `source_templates` on went to `fresh`
// only: the live matcher gets them first, for the rules that use them.
// The resize is turned around next, even with nothing to move: the device
// refuses to destroy the target of a resize but lets an empty source go.
// What cannot be undone now is recorded as a stray for heal().  Returns a
// sentence for the error message.
std::string Policy::undo_resize(MatcherState& m, DeviceMatcherId fresh, std::vector<RuleId> moved,
                                std::size_t source_templates) {
    const std::string fresh_name = "device matcher " + std::to_string(fresh);
    std::optional<Error> failure;
    std::size_t back = 0;
    const auto& templates = m.action_templates.templates();
    for (std::size_t i = source_templates; i < templates.size() && !failure; ++i) {
        if (auto added = device_.add_action_template(m.device, templates[i]); !added) {
            failure = added.error();
        }
    }
    if (!failure) {
        if (auto st = device_.set_resize_target(fresh, m.device); !st) {
            failure = st.error();
        }
    }
    if (!failure && !moved.empty()) {
        const MoveResult result = device_.move_rules(fresh, m.device, moved);
        back = std::min(result.moved, moved.size());
        failure = result.error;
    }
    if (failure) {
        StrayMatcher stray{.device = fresh, .rules = {}};
        stray.rules.insert(moved.begin() + static_cast<long>(back), moved.end());
        const std::size_t left = stray.rules.size();
        m.stray = std::move(stray);
        return "rollback incomplete: " + std::to_string(left) + " rules stay in " + fresh_name +
               " until healed (" + failure->message() + ")";
    }
    if (auto st = device_.destroy_matcher(fresh); !st) {
        m.stray = StrayMatcher{.device = fresh, .rules = {}};
        return "rolled back, but the empty " + fresh_name + " is left until healed (" +
               st.error().message() + ")";
    }
    return "rolled back, every rule is in device matcher " + std::to_string(m.device);
}

Status Policy::heal_first(MatcherState& m, const std::string& context) {
    if (!m.stray) {
        return {};
    }
    auto healed = heal(m.id);
    if (!healed) {
        return Error(Errc::degraded, context + ": " + healed.error().message());
    }
    return {};
}

Status Policy::heal(MatcherId id) {
    MatcherState* m = lookup(id);
    if (m == nullptr) {
        return Error(Errc::not_found, "heal: no matcher " + std::to_string(id));
    }
    if (!m->stray) {
        return {};
    }
    StrayMatcher& stray = *m->stray;
    const std::string context = "heal " + matcher_name(*m) + ": stray device matcher " +
                                std::to_string(stray.device) + " with " +
                                std::to_string(stray.rules.size()) + " rules";
    // As in undo_resize(): the stray must be the source, not the target.
    if (auto st = device_.set_resize_target(stray.device, m->device); !st) {
        return st.error().with_context(context + ": set resize target");
    }
    if (!stray.rules.empty()) {
        const std::vector<RuleId> rules(stray.rules.begin(), stray.rules.end());
        const MoveResult moved = device_.move_rules(stray.device, m->device, rules);
        const std::size_t n = std::min(moved.moved, rules.size());
        for (std::size_t i = 0; i < n; ++i) {
            stray.rules.erase(rules[i]);
        }
        if (moved.error) {
            Error e = *moved.error;
            return e.with_context(context + ": move rules back");
        }
    }
    auto st = device_.destroy_matcher(stray.device);
    if (!st) {
        return st.error().with_context(context + ": destroy");
    }
    m->stray.reset();
    return {};
}

std::string format_rehash(const RehashReport& r, std::uint64_t matcher, std::string_view port) {
    const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(r.duration).count();
    return "rehash matcher " + std::to_string(matcher) + " on " + std::string(port) + " (" +
           std::string(to_string(r.reason)) + "): rx size_log " + std::to_string(r.rx.from) + "->" +
           std::to_string(r.rx.to) + ", tx " + std::to_string(r.tx.from) + "->" +
           std::to_string(r.tx.to) + ", " + std::to_string(r.rules_moved) + " rules moved in " +
           std::to_string(usec) + " us";
}

}  // namespace sgnic::policy
