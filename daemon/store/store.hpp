// The desired state, stored crash-safely in <state-dir>/state.db: SQLite in
// WAL mode with synchronous=FULL, one transaction per request, so after a
// crash a request is either wholly there or not at all.  Schema version in
// PRAGMA user_version; a newer schema than this build knows is refused, an
// older one is brought up to date in one transaction when the store opens
// (1 -> 2: the match and action lists from JSON to plain text; 2 -> 3: a
// rule's lists become its body in the stored form, RuleBody::append_stored;
// 3 -> 4: no index of rules by matcher; 4 -> 5: the tables of rule packs;
// 5 -> 6: a pack's format, so packs of rules in a run hold little more than
// each rule's match bytes).
//
// A rule row costs one B-tree insert: no index by matcher (a matcher's rules
// are deleted by their ids, which sgnicd holds) and no foreign-key check per
// row (sgnicd adds a rule only to a matcher it has, and load() refuses a
// rule whose matcher is missing).  Both had taken ~40 % of a row's cost.
// A batch of 64 rules or more (a load's chunk, a large AddRules) is not
// rows but packs of up to 4096 rules, one row each; a rule deleted from a
// pack is named in a table of dropped rules until its pack is rewritten
// (at a quarter left) or gone.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <span>

#include "model/desired.hpp"
#include "sgnic/proto/result.hpp"
#include "store/sqlite.hpp"

namespace sgnic::store {

inline constexpr int kSchemaVersion = 6;

class Store {
public:
    static Expected<Store> open(const std::filesystem::path& state_dir);
    // The database file open() opens in `state_dir`.
    static std::filesystem::path file_in(const std::filesystem::path& state_dir);

    Expected<model::DesiredState> load();

    // Each is one transaction; the id counters are stored with the objects.
    Status add_matcher(const model::DesiredMatcher& m, model::MatcherKey next_matcher);
    Status add_rules(std::span<const model::DesiredRule> rules, model::RuleKey next_rule);
    // add_rules() without its commit: the rows are written in a transaction
    // the caller commits, or drops to roll it back.  Nothing else may use
    // the store until then; the rows may be written on another thread.
    Expected<Transaction> write_rules(std::span<const model::DesiredRule> rules,
                                      model::RuleKey next_rule);
    Status delete_rules(std::span<const model::RuleKey> rules);
    // A matcher and its rules, which the caller names.
    Status delete_matcher(model::MatcherKey matcher, std::span<const model::RuleKey> rules);

    // Tests: called after each rule row is written inside add_rules().
    void set_row_hook_for_testing(std::function<void(std::size_t)> hook) {
        row_hook_ = std::move(hook);
    }

private:
    explicit Store(Database db) : db_(std::move(db)) {}
    Status migrate();
    Status upgrade_rules(std::int64_t version);
    Status copy_rules(bool json_lists,
                      const std::map<model::MatcherKey, proto::MatchTemplate>& templates);
    Status set_meta(std::string_view key, std::uint64_t value);
    // Inside the caller's transaction; `at` is the index of the first rule
    // in the caller's batch (the row hook's count).
    Expected<bool> can_pack(std::span<const model::DesiredRule> rules);
    Status write_pack(std::span<const model::DesiredRule> rules, std::size_t at);
    Status write_rows(std::span<const model::DesiredRule> rules, std::size_t at);
    Status refuse_packed(std::span<const model::DesiredRule> rules);
    Status delete_rule_rows(std::span<const model::RuleKey> rules);
    Status drop_packed(std::span<const model::RuleKey> ids);
    Status repack(std::int64_t first, std::int64_t last, std::span<const std::uint8_t> bytes,
                  std::int64_t format, std::span<const model::RuleKey> also_dropped);

    Database db_;
    std::function<void(std::size_t)> row_hook_;
};

}  // namespace sgnic::store
