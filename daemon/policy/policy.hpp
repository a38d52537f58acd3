// The steering policy core of sgnicd: matchers, rules counted per direction,
// when and how a matcher is rehashed, and how a failed rehash is undone.
// No I/O: everything reaches the device through the Device interface.
//
// Invariant kept across every failure: each rule the core knows is in
// exactly one live device matcher, and the core knows which.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/action_templates.hpp"
#include "policy/device.hpp"
#include "policy/id_table.hpp"
#include "policy/sizing.hpp"
#include "policy/types.hpp"
#include "sgnic/proto/result.hpp"

namespace sgnic::policy {

// presize: a batch or a caller's reservation grew the tables once, before
// the rules went in, instead of one rehash per threshold crossed.
enum class RehashReason { threshold, collision, shrink, presize };

std::string_view to_string(RehashReason reason);

struct SizeChange {
    int from = 0;
    int to = 0;
    friend bool operator==(const SizeChange&, const SizeChange&) = default;
};

// One completed rehash, for the daemon's log line and Rehashed signal.
struct RehashReport {
    MatcherId matcher = 0;
    PortId port = 0;
    DeviceMatcherId old_device = 0;
    DeviceMatcherId new_device = 0;
    SizeChange rx;
    SizeChange tx;
    std::size_t rules_moved = 0;
    RehashReason reason = RehashReason::threshold;
    std::chrono::nanoseconds duration{0};
};

// "rehash matcher 3 on eth0 (threshold): rx size_log 1->2, tx 1->1,
//  5 rules moved in 120 us"
std::string format_rehash(const RehashReport& r, std::uint64_t matcher, std::string_view port);

// A device matcher left behind by a rollback that could not finish: it may
// still hold some of the matcher's rules.  heal() moves them back.
struct StrayMatcher {
    DeviceMatcherId device = 0;
    std::set<RuleId> rules;
};

// A resize in progress (PolicyConfig::resize_step_rules > 0).  The target
// is the matcher's device now: new rules go there, at the new sizes.  The
// rules the source held at the start move over a step at a time; until they
// have, lookups in the device try the target first, then the source.
struct ResizeProgress {
    DeviceMatcherId source = 0;
    SizeChange rx;
    SizeChange tx;
    RehashReason reason = RehashReason::threshold;
    std::vector<RuleId> pending;  // sorted: the source's rules at the start
    std::size_t next = 0;         // pending[0, next) have moved or are gone
    std::size_t moved = 0;
    std::size_t source_templates = 0;  // action templates the source has
    std::chrono::steady_clock::time_point start;

    // Whether rule `id` (a live rule of the matcher) is still in the source.
    bool in_source(RuleId id) const {
        return std::binary_search(pending.begin() + static_cast<std::ptrdiff_t>(next),
                                  pending.end(), id);
    }
};

// A rule of a matcher: MatcherState::rules holds only ids.
struct RuleRef {
    RuleId id = 0;
    friend bool operator==(const RuleRef&, const RuleRef&) = default;
};

struct MatcherState {
    MatcherState(MatcherId id, PortId port, std::uint32_t priority, MatchTemplate match_template,
                 ActionTemplateSet templates)
        : id(id),
          port(port),
          priority(priority),
          match_template(std::move(match_template)),
          action_templates(std::move(templates)) {}

    MatcherId id;
    PortId port;
    std::uint32_t priority;
    MatchTemplate match_template;
    std::uint64_t cookie = 0;
    DeviceMatcherId device = 0;
    DirectionSize rx;
    DirectionSize tx;
    ActionTemplateSet action_templates;
    IdTable<RuleRef> rules;  // ordered, so bulk moves are deterministic
    std::optional<StrayMatcher> stray;
    std::optional<ResizeProgress> resize;
    std::uint64_t rehashes = 0;

    DirectionSize& size(Direction d) { return d == Direction::rx ? rx : tx; }
    const DirectionSize& size(Direction d) const { return d == Direction::rx ? rx : tx; }
    MatcherSpec spec(int rx_size_log, int tx_size_log) const;
    // The device matcher that holds rule `id` (a live rule of this matcher):
    // the stray of an unfinished rollback, the source of a resize that has
    // not moved it yet, or the matcher's own.
    DeviceMatcherId holder(RuleId id) const;
    // Every device matcher holding some of the rules: its own first.
    std::vector<DeviceMatcherId> devices() const;
};

// 16 bytes: a policy holds one per rule of the device.
struct RuleRecord {
    RuleId id = 0;
    MatcherId matcher = 0;
    Directions directions;
    ActionTemplateIndex action_template = 0;
};

// A matcher the device already holds, made by an earlier run, taken over as
// it is (no device call): its device matcher, sizes and rules.
struct AdoptedRule {
    RuleId id = 0;
    Directions directions;
    ActionTypes action_types;
};

struct AdoptedMatcher {
    PortId port = 0;
    std::uint32_t priority = 0;
    MatchTemplate match_template;
    std::uint64_t cookie = 0;
    DeviceMatcherId device = 0;
    int rx_size_log = 0;
    int tx_size_log = 0;
    std::vector<AdoptedRule> rules;
};

struct DeleteOutcome {
    // The rule is gone either way; a failed shrink only leaves the matcher
    // larger than it needs to be.
    std::optional<Error> shrink_error;
};

// The outcome of a bulk insert: every rule's id, in order, or the first rule
// that failed for good and why.  Then the batch's rules are taken out again,
// except those the device refuses to delete: they stay in, live rules of the
// matcher, in `kept` (index into the request -> id) for the caller to own.
struct BatchInsert {
    std::vector<RuleId> ids;
    std::optional<Error> error;
    std::size_t failed = 0;  // index of the failing rule when error is set
    std::map<std::size_t, RuleId> kept;
};

// The outcome of a bulk delete: each rule goes or stays on its own.
struct BatchDelete {
    std::size_t deleted = 0;
    std::vector<RuleFailure> failures;  // index into the request, in order
    // Matchers emptied by the delete but left at their grown size.
    std::vector<Error> shrink_errors;
};

class Policy {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    explicit Policy(Device& device, PolicyConfig config = {},
                    Clock clock = std::chrono::steady_clock::now);

    Expected<MatcherId> create_matcher(PortId port, std::uint32_t priority,
                                       MatchTemplate match_template, std::uint64_t cookie = 0);
    // Takes over a matcher and its rules as the device holds them; later
    // rule ids are above every adopted one.  All or nothing: a rule id the
    // core already knows, a repeated one or an unknown size refuses it all.
    Expected<MatcherId> adopt_matcher(const AdoptedMatcher& adopted);
    // Rule ids up to `id` are taken by someone else: new rules go above.
    void reserve_rule_ids(RuleId id) { next_rule_ = std::max(next_rule_, id + 1); }
    // Above every rule id used or reserved so far.
    RuleId next_rule_id() const { return next_rule_; }
    // Only an empty matcher can be destroyed: delete its rules first.
    Status destroy_matcher(MatcherId id);

    Expected<RuleId> insert_rule(MatcherId id, const RuleSpec& rule);
    // The tables are first grown once (presize) to the size that inserting
    // the rules one by one would reach; then the rules go in bulk requests,
    // with insert_rule()'s collision cure.  All or nothing.
    BatchInsert insert_rules(MatcherId id, std::span<const RuleSpec> rules);
    // Grows the matcher's tables once so that `rx` more RX rules and `tx`
    // more TX rules fit without a rehash (a bulk load that knows its size).
    // Returns whether it resized; more than the largest table holds is an
    // error and changes nothing.
    Expected<bool> reserve(MatcherId id, std::uint64_t rx, std::uint64_t tx);
    // Room in the table of all rules for `rules` more (memory only).
    void expect_rules(std::uint64_t rules) { rules_.reserve(rules_.slot_count() + rules); }
    Expected<DeleteOutcome> delete_rule(RuleId id);
    // One bulk device request per device matcher; a matcher left empty is
    // shrunk once, at the end.  Unknown and repeated ids are failures.
    BatchDelete delete_rules(std::span<const RuleId> ids);

    // Finishes an interrupted rollback (see StrayMatcher).  insert_rule()
    // calls it first; the daemon may call it from a timer.
    Status heal(MatcherId id);

    // Moves up to resize_step_rules rules of the matcher's resize in
    // progress; the step that moves the last one destroys the source and
    // reports the rehash.  A step that fails turns the resize around (the
    // rules go back to the source, the target is destroyed) and returns
    // why.  Nothing to do when no resize is in progress.
    Status step(MatcherId id);
    // Runs the matcher's resize in progress to its end.
    Status finish_resize(MatcherId id);
    // Matchers with a resize in progress, in id order.
    std::vector<MatcherId> resizing() const;
    // Whether any is (asked once per event-loop iteration: no allocation).
    bool resize_in_progress() const;

    const MatcherState* find_matcher(MatcherId id) const;
    const RuleRecord* find_rule(RuleId id) const;
    std::vector<MatcherId> matcher_ids() const;
    std::size_t rule_count() const { return rules_.size(); }

    // Rehashes completed since the last call, oldest first.
    std::vector<RehashReport> take_rehash_reports();

    const PolicyConfig& config() const { return config_; }

private:
    Sizing sizing() const { return {config_, device_.caps()}; }
    // A matcher's state before it reaches the device: the next id, an empty
    // action-template list of the configured capacity.
    MatcherState new_matcher(PortId port, std::uint32_t priority, MatchTemplate match_template,
                             std::uint64_t cookie) const;
    MatcherState* lookup(MatcherId id);
    // Finishes an interrupted rollback before a change; Errc::degraded if
    // it cannot.
    Status heal_first(MatcherState& m, const std::string& context);

    Expected<ActionTemplateIndex> ensure_action_template(MatcherState& m, const ActionTypes& types);
    void count_rule(MatcherState& m, Directions dirs);
    void uncount_rule(MatcherState& m, Directions dirs);
    void mark_rehash_required(MatcherState& m, Directions dirs);
    void reevaluate_rehash_required(MatcherState& m);

    // Grows the directions marked rehash-required.  Returns false when none
    // can grow (all maxed out) and nothing was done.
    Expected<bool> rehash(MatcherState& m, RehashReason reason);
    // One resize to the sizes `rx`/`tx` more rules would grow the tables to.
    Expected<bool> presize(MatcherState& m, std::uint64_t rx, std::uint64_t tx,
                           RehashReason reason);
    // Starts a resize (a running one is finished first) and, unless
    // resize_step_rules says to go step by step and there is more than one
    // step to go, runs it to its end.
    Status resize(MatcherState& m, int rx_size_log, int tx_size_log, RehashReason reason);
    Status begin_resize(MatcherState& m, int rx_size_log, int tx_size_log, RehashReason reason);
    // Moves up to `budget` rules of the resize in progress, and ends it
    // when none is left; a failure turns it around.
    Status advance_resize(MatcherState& m, std::size_t budget);
    Status run_resize(MatcherState& m) { return advance_resize(m, SIZE_MAX); }
    // Turns it around; returns a sentence for the error message.
    std::string abort_resize(MatcherState& m);
    std::string undo_resize(MatcherState& m, DeviceMatcherId fresh, std::vector<RuleId> moved,
                            std::size_t source_templates);

    Device& device_;
    PolicyConfig config_;
    Clock clock_;
    std::map<MatcherId, MatcherState> matchers_;
    IdTable<RuleRecord> rules_;
    std::vector<RehashReport> reports_;
    MatcherId next_matcher_ = 1;
    RuleId next_rule_ = 1;
};

}  // namespace sgnic::policy
