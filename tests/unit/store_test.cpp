// The desired state on disk: round trip, one transaction per request, and
// nothing partial after a crash in the middle of one.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "desired_rules.hpp"
#include "store/store.hpp"

namespace sgnic::store {
namespace {

using model::DesiredMatcher;
using model::DesiredRule;

// The first column of the first row `sql` gives.
std::int64_t count_of(const std::filesystem::path& db_file, const std::string& sql);

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sgnic-store-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    Store open() {
        auto s = Store::open(dir_ / "state");
        EXPECT_TRUE(s) << s.error().message();
        return std::move(*s);
    }

    static DesiredMatcher matcher(model::MatcherKey id) {
        return {.id = id,
                .port = "eth0",
                .priority = 7,
                .fields = {{"ipv4-dst", "255.255.255.0"}, {"ip-proto", "0xff"}}};
    }

    // Why load() fails once `sql` changed the stored packs; they are as
    // they were again after.
    std::string load_error_with(const std::string& sql) {
        const auto db_file = dir_ / "state" / "state.db";
        {
            auto db = Database::open(db_file);
            EXPECT_TRUE(db);
            EXPECT_TRUE(db->exec("CREATE TABLE saved AS SELECT * FROM rule_packs; " + sql)) << sql;
        }
        auto state = open().load();
        EXPECT_FALSE(state) << "loaded after " << sql;
        std::string error = state ? std::string() : state.error().message();
        auto db = Database::open(db_file);
        EXPECT_TRUE(db);
        EXPECT_TRUE(
            db->exec("DELETE FROM rule_packs; INSERT INTO rule_packs SELECT * FROM saved; DROP "
                     "TABLE saved"));
        return error;
    }

    // The one pack of `rules` left with its last `left` (a quarter or
    // less): written again in format 1, it reads back as those rules.
    void delete_all_but_the_last(const std::vector<DesiredRule>& rules, std::size_t left) {
        const auto db = dir_ / "state" / "state.db";
        std::vector<model::RuleKey> gone;
        for (std::size_t i = 0; i + left < rules.size(); ++i) {
            gone.push_back(rules[i].id);
        }
        ASSERT_TRUE(open().delete_rules(gone));
        EXPECT_EQ(count_of(db, "SELECT rules FROM rule_packs"), static_cast<std::int64_t>(left));
        EXPECT_EQ(count_of(db, "SELECT format FROM rule_packs"), 1);
        auto state = open().load();
        ASSERT_TRUE(state) << state.error().message();
        ASSERT_EQ(state->rules.size(), left);
        for (std::size_t i = rules.size() - left; i < rules.size(); ++i) {
            EXPECT_EQ(state->rules.at(rules[i].id), rules[i]) << "rule " << rules[i].id;
        }
    }

    static DesiredRule rule(model::RuleKey id, model::MatcherKey m) {
        return model::testing::text_rule(matcher(m), id, policy::Directions::rx_only(),
                                         {{"ipv4-dst", "10.0.0.0"}, {"ip-proto", "6"}},
                                         {"count", "queue 2"}, 1000);
    }
    std::filesystem::path dir_;
};

// The matcher of the generated rules below, and a rule's /24 by its id.
DesiredMatcher generated_matcher(model::MatcherKey m) {
    return {.id = m,
            .port = "eth0",
            .priority = 7,
            .fields = {{"ipv4-dst", "255.255.255.0"}, {"ip-proto", "0xff"}}};
}
std::string dst_of(model::RuleKey id) {
    return "10." + std::to_string(id / 256 % 256) + "." + std::to_string(id % 256) + ".0";
}

// Rules of a load's chunk: each different (value, directions, actions,
// uid), so a pack that mixed up two records would not read back equal.
std::vector<DesiredRule> varied_rules(model::RuleKey first, std::size_t n, model::MatcherKey m) {
    const DesiredMatcher dm = generated_matcher(m);
    std::vector<DesiredRule> out;
    for (std::size_t i = 0; i < n; ++i) {
        const model::RuleKey id = first + i;
        const std::string dst = dst_of(id);
        const bool rx = i % 3 != 0;
        std::vector<std::string> actions = {"count"};
        if (rx) {
            actions.push_back("queue " + std::to_string(i % 4));
        }
        out.push_back(model::testing::text_rule(
            dm, id,
            rx ? policy::Directions::rx_only() : policy::Directions{.rx = false, .tx = true},
            {{"ipv4-dst", dst}, {"ip-proto", std::to_string(i % 200)}}, actions,
            static_cast<std::uint32_t>(1000 + i)));
    }
    return out;
}

// Rules in runs, as a load writes them: ids in a row, one matcher, one
// direction, uid and action list, only the match differing; now and then a
// rule breaks the run (another action list, uid or direction, an id
// skipped).
std::vector<DesiredRule> run_rules(model::RuleKey first, std::size_t n, model::MatcherKey m) {
    const DesiredMatcher dm = generated_matcher(m);
    std::vector<DesiredRule> out;
    for (std::size_t i = 0; i < n; ++i) {
        const model::RuleKey id = first + i + i / 700;
        const std::string dst = dst_of(id);
        const bool tx = i % 500 == 499;
        std::vector<std::string> actions = {"count"};
        if (!tx && i % 97 == 96) {
            actions.emplace_back("queue 1");
        } else if (!tx && i % 97 == 0 && i > 0) {
            actions.emplace_back("queue 2");  // as long as the one before's
        }
        out.push_back(model::testing::text_rule(
            dm, id,
            tx ? policy::Directions{.rx = false, .tx = true} : policy::Directions::rx_only(),
            {{"ipv4-dst", dst}, {"ip-proto", std::to_string(i % 200)}}, actions,
            i % 1000 == 333 ? 7U : 1000U));
    }
    return out;
}

// A pack as schema 5 wrote it (format 0): per rule its id (8 bytes),
// matcher (8), directions (1), uid (4), stored body's length (2), little-
// endian, then the stored body.
std::string format_0_pack(const std::vector<DesiredRule>& rules) {
    std::string out;
    auto put_le = [&out](std::uint64_t v, std::size_t bytes) {
        for (std::size_t i = 0; i < bytes; ++i) {
            out.push_back(static_cast<char>(v >> (8 * i)));
        }
    };
    for (const DesiredRule& r : rules) {
        std::string body;
        r.body.append_stored(body);
        put_le(r.id, 8);
        put_le(r.matcher, 8);
        put_le((r.directions.rx ? 1U : 0U) | (r.directions.tx ? 2U : 0U), 1);
        put_le(r.uid, 4);
        put_le(body.size(), 2);
        out += body;
    }
    return out;
}

std::int64_t count_of(const std::filesystem::path& db_file, const std::string& sql) {
    auto db = Database::open(db_file);
    EXPECT_TRUE(db);
    auto q = db->prepare(sql);
    EXPECT_TRUE(q) << sql;
    EXPECT_TRUE(q->step()) << sql;
    return q->int64(0);
}

TEST_F(StoreTest, round_trips_the_desired_state_across_reopen) {
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
        const std::vector<DesiredRule> rules = {rule(1, 1), rule(2, 1), rule(3, 1)};
        ASSERT_TRUE(s.add_rules(rules, 4));
    }
    Store s = open();
    auto state = s.load();
    ASSERT_TRUE(state) << state.error().message();
    ASSERT_EQ(state->matchers.size(), 1U);
    EXPECT_EQ(state->matchers.at(1), matcher(1));
    ASSERT_EQ(state->rules.size(), 3U);
    EXPECT_EQ(state->rules.at(2), rule(2, 1));
    EXPECT_EQ(state->next_matcher, 2U);
    EXPECT_EQ(state->next_rule, 4U);
}

TEST_F(StoreTest, ids_are_never_reused_after_deletes) {
    Store s = open();
    ASSERT_TRUE(s.add_matcher(matcher(1), 2));
    const std::vector<DesiredRule> rules = {rule(1, 1), rule(2, 1)};
    ASSERT_TRUE(s.add_rules(rules, 3));
    const std::vector<model::RuleKey> gone = {1, 2};
    ASSERT_TRUE(s.delete_rules(gone));
    ASSERT_TRUE(s.delete_matcher(1, {}));
    auto state = s.load();
    ASSERT_TRUE(state);
    EXPECT_TRUE(state->matchers.empty());
    EXPECT_TRUE(state->rules.empty());
    EXPECT_EQ(state->next_matcher, 2U);
    EXPECT_EQ(state->next_rule, 3U);
}

TEST_F(StoreTest, deleting_a_matcher_deletes_its_rules) {
    Store s = open();
    ASSERT_TRUE(s.add_matcher(matcher(1), 2));
    ASSERT_TRUE(s.add_matcher(matcher(2), 3));
    const std::vector<DesiredRule> rules = {rule(1, 1), rule(2, 2)};
    ASSERT_TRUE(s.add_rules(rules, 3));
    const std::vector<model::RuleKey> its_rules = {1};
    ASSERT_TRUE(s.delete_matcher(1, its_rules));
    auto state = s.load();
    ASSERT_TRUE(state);
    EXPECT_EQ(state->matchers.size(), 1U);
    ASSERT_EQ(state->rules.size(), 1U);
    EXPECT_EQ(state->rules.begin()->matcher, 2U);
}

TEST_F(StoreTest, a_failing_batch_leaves_nothing_behind) {
    Store s = open();
    ASSERT_TRUE(s.add_matcher(matcher(1), 2));
    // Rule 1 again: its primary key fails the third row.
    const std::vector<DesiredRule> rules = {rule(1, 1), rule(3, 1), rule(1, 1)};
    auto st = s.add_rules(rules, 4);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("store rule 1: sqlite step: UNIQUE constraint failed"),
              std::string::npos)
        << st.error().message();
    auto state = s.load();
    ASSERT_TRUE(state);
    EXPECT_TRUE(state->rules.empty());
    EXPECT_EQ(state->next_rule, 1U);
}

TEST_F(StoreTest, a_crash_in_the_middle_of_a_batch_leaves_nothing_partial) {
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
        const std::vector<DesiredRule> first = {rule(1, 1)};
        ASSERT_TRUE(s.add_rules(first, 2));
    }
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // The daemon dies with rows written and the transaction open.
        auto s = Store::open(dir_ / "state");
        if (!s) {
            _exit(2);
        }
        s->set_row_hook_for_testing([](std::size_t row) {
            if (row == 50) {
                _exit(0);
            }
        });
        std::vector<DesiredRule> batch;
        for (model::RuleKey id = 2; id < 200; ++id) {
            batch.push_back(rule(id, 1));
        }
        (void)s->add_rules(batch, 200);
        _exit(3);  // not reached: the hook exits first
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0) << "the child did not die mid-transaction";

    Store s = open();
    auto state = s.load();
    ASSERT_TRUE(state) << state.error().message();
    EXPECT_EQ(state->rules.size(), 1U) << "a partial batch survived the crash";
    EXPECT_EQ(state->next_rule, 2U);
    const std::vector<DesiredRule> again = {rule(2, 1)};
    EXPECT_TRUE(s.add_rules(again, 3)) << "the store is writable after recovery";
}

// The stored form of rule(1, 1)'s body: given (fields 0 and 1), 5 match
// bytes (10.0.0.0, 6), 2 actions (count; queue 2, its argument little-endian).
const std::string kRuleBlob = "X'030005020A0000000601000000000302000000'";

// Schemas 1 and 2 kept a rule's match and action lists as texts (JSON in 1);
// opening such a store rewrites each as its stored body, once, and the
// state reads back the same.
TEST_F(StoreTest, a_schema_1_or_2_store_is_upgraded_when_opened) {
    const std::string v1 =
        "INSERT INTO matchers VALUES (1, 'eth0', 7, "
        R"('[["ipv4-dst","255.255.255.0"],["ip-proto","0xff"]]');)"
        R"(INSERT INTO rules VALUES (1, 1, 1, '[["ipv4-dst","10.0.0.0"],["ip-proto","6"]]', '["count","queue 2"]', 1000);)"
        R"(INSERT INTO rules VALUES (2, 1, 1, '[["ipv4-dst","10.0.0.0"],["ip-proto","6"]]', '["count","queue 2"]', 1000);)";
    const std::string v2 =
        "INSERT INTO matchers VALUES (1, 'eth0', 7, 'ipv4-dst=255.255.255.0,ip-proto=0xff');"
        "INSERT INTO rules VALUES (1, 1, 1, 'ipv4-dst=10.0.0.0,ip-proto=6', 'count,queue 2', 1000);"
        "INSERT INTO rules VALUES (2, 1, 1, 'ipv4-dst=10.0.0.0,ip-proto=6', 'count,queue 2', "
        "1000);";
    for (const auto& [version, rows] : {std::pair{1, v1}, std::pair{2, v2}}) {
        SCOPED_TRACE("schema " + std::to_string(version));
        std::filesystem::remove_all(dir_ / "state");
        std::filesystem::create_directories(dir_ / "state");
        {  // the tables as schemas 1 and 2 had them
            auto db = Database::open(dir_ / "state" / "state.db");
            ASSERT_TRUE(db);
            ASSERT_TRUE(db->exec(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
                "CREATE TABLE matchers (id INTEGER PRIMARY KEY, port TEXT NOT NULL,"
                "  priority INTEGER NOT NULL, template TEXT NOT NULL);"
                "CREATE TABLE rules (id INTEGER PRIMARY KEY,"
                "  matcher INTEGER NOT NULL REFERENCES matchers(id),"
                "  directions INTEGER NOT NULL, match TEXT NOT NULL, actions TEXT NOT NULL,"
                "  uid INTEGER NOT NULL);"
                "CREATE INDEX rules_by_matcher ON rules(matcher);"
                "INSERT INTO meta VALUES ('next_matcher', 2), ('next_rule', 3);" +
                rows + "PRAGMA user_version = " + std::to_string(version) + ";"));
        }
        Store s = open();
        auto state = s.load();
        ASSERT_TRUE(state) << state.error().message();
        EXPECT_EQ(state->matchers.at(1), matcher(1));
        EXPECT_EQ(state->rules.at(1), rule(1, 1));
        EXPECT_EQ(state->rules.at(2), rule(2, 1));
        EXPECT_EQ(state->next_rule, 3U);
        auto db = Database::open(dir_ / "state" / "state.db");
        ASSERT_TRUE(db);
        auto q = db->prepare(
            "SELECT quote(body), (SELECT template FROM matchers) FROM rules WHERE id = 1");
        ASSERT_TRUE(q);
        ASSERT_TRUE(q->step());
        EXPECT_EQ(q->text(0), kRuleBlob);
        EXPECT_EQ(q->text(1), "ipv4-dst=255.255.255.0,ip-proto=0xff");
        auto v = db->prepare("PRAGMA user_version");
        ASSERT_TRUE(v);
        ASSERT_TRUE(v->step());
        EXPECT_EQ(v->int64(0), kSchemaVersion);
    }
}

// Schema 3 had an index of rules by matcher, which cost every row written
// ~40 % more: opening such a store drops it and keeps every row.
TEST_F(StoreTest, a_schema_3_store_loses_its_index_by_matcher_when_opened) {
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
        const std::vector<DesiredRule> rules = {rule(1, 1), rule(2, 1)};
        ASSERT_TRUE(s.add_rules(rules, 3));
    }
    auto index_count = [&] {
        auto db = Database::open(dir_ / "state" / "state.db");
        EXPECT_TRUE(db);
        auto q = db->prepare(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rules'"
            " AND name NOT LIKE 'sqlite_autoindex%'");
        EXPECT_TRUE(q);
        EXPECT_TRUE(q->step());
        return q->int64(0);
    };
    EXPECT_EQ(index_count(), 0) << "a new store has no index of rules";
    {  // as schema 3 left it
        auto db = Database::open(dir_ / "state" / "state.db");
        ASSERT_TRUE(db);
        ASSERT_TRUE(
            db->exec("CREATE INDEX rules_by_matcher ON rules(matcher); DROP TABLE rule_packs;"
                     " DROP TABLE rule_dropped; PRAGMA user_version = 3;"));
    }
    ASSERT_EQ(index_count(), 1);
    Store s = open();
    EXPECT_EQ(index_count(), 0);
    auto state = s.load();
    ASSERT_TRUE(state) << state.error().message();
    ASSERT_EQ(state->rules.size(), 2U);
    EXPECT_EQ(state->rules.at(1), rule(1, 1));
    EXPECT_EQ(state->rules.at(2), rule(2, 1));
}

// Schema 4 had every rule as a row and no tables of packs: opening it adds
// them, its rows stay and read back, and a load's chunk after is a pack.
TEST_F(StoreTest, a_schema_4_store_keeps_its_rows_and_takes_packs_after) {
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
        const std::vector<DesiredRule> rules = {rule(1, 1), rule(2, 1)};
        ASSERT_TRUE(s.add_rules(rules, 3));
    }
    {  // as schema 4 left it
        auto db = Database::open(dir_ / "state" / "state.db");
        ASSERT_TRUE(db);
        ASSERT_TRUE(
            db->exec("DROP TABLE rule_packs; DROP TABLE rule_dropped; PRAGMA user_version = 4;"));
    }
    Store s = open();
    ASSERT_TRUE(s.add_rules(varied_rules(3, 100, 1), 103));
    const std::vector<model::RuleKey> gone = {2, 50};
    ASSERT_TRUE(s.delete_rules(gone));
    auto state = s.load();
    ASSERT_TRUE(state) << state.error().message();
    ASSERT_EQ(state->rules.size(), 100U);
    EXPECT_EQ(state->rules.at(1), rule(1, 1));
    EXPECT_FALSE(state->rules.contains(2));
    EXPECT_FALSE(state->rules.contains(50));
    const auto db = dir_ / "state" / "state.db";
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rule_packs"), 1);
    EXPECT_EQ(count_of(db, "PRAGMA user_version"), kSchemaVersion);
}

// A row that does not read back under its matcher's template (edited by
// hand, or corrupt) fails the load with the rule and the reason: sgnicd then
// starts read-only instead of guessing.
TEST_F(StoreTest, refuses_to_load_a_rule_row_that_does_not_parse) {
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
        const std::vector<DesiredRule> rules = {rule(1, 1), rule(2, 1)};
        ASSERT_TRUE(s.add_rules(rules, 3));
    }
    {
        auto db = Database::open(dir_ / "state" / "state.db");
        ASSERT_TRUE(db);
        auto q = db->prepare("SELECT quote(body) FROM rules WHERE id = 2");
        ASSERT_TRUE(q);
        ASSERT_TRUE(q->step());
        ASSERT_EQ(q->text(0), kRuleBlob) << "the stored form the cases below change";
    }
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"UPDATE rules SET body = X'030005' WHERE id = 2",
         "rule 2: corrupt row: a stored body of 3 bytes is truncated"},
        {"UPDATE rules SET body = X'030005020A00000006010000000003020000' WHERE id = 2",
         "rule 2: corrupt row: a stored body of 18 bytes does not hold 5 match bytes and 2 "
         "actions"},
        {"UPDATE rules SET body = X'030004020A00000001000000000302000000' WHERE id = 2",
         "rule 2: corrupt row: the match has 4 bytes; the matcher's template takes 5"},
        {"UPDATE rules SET body = X'070005020A0000000601000000000302000000' WHERE id = 2",
         "rule 2: corrupt row: the match gives a field the matcher's template does not have"},
        {"UPDATE rules SET body = X'010005020A0000000601000000000302000000' WHERE id = 2",
         "rule 2: corrupt row: ip-proto: a field not given has a value"},
        {"UPDATE rules SET body = X'030005020A0000010601000000000302000000' WHERE id = 2",
         "rule 2: corrupt row: ipv4-dst: value '10.0.0.1' has bits outside the matcher's mask"},
        {"UPDATE rules SET body = X'030005020A0000000609000000000302000000' WHERE id = 2",
         "rule 2: corrupt row: unknown action type 9"},
        {"UPDATE rules SET body = X'030005020A0000000601050000000302000000' WHERE id = 2",
         "rule 2: corrupt row: action 'count' takes no argument, has 5"},
        {"UPDATE rules SET body = X'030005020A0000000603000000000100000000' WHERE id = 2",
         "rule 2: corrupt row: action 'count' follows the terminal action 'queue 0'"},
        {"UPDATE rules SET body = X'030005020A0000000601000000000100000000' WHERE id = 2",
         "rule 2: corrupt row: action 'count' is given twice"},
        {"UPDATE rules SET directions = 2 WHERE id = 2",  // TX, but queue acts on RX
         "rule 2: corrupt row: action 'queue 2' acts on received frames"},
        {"UPDATE rules SET directions = 0 WHERE id = 2",
         "rule 2: corrupt row: it uses neither RX nor TX"},
        {"UPDATE matchers SET template = 'ipv4-dst=banana' WHERE id = 1",
         "matcher 1: corrupt template: "},
        // No foreign key guards the column: the load does.
        {"UPDATE rules SET matcher = 9 WHERE id = 2", "rule 2: no matcher 9"},
    };
    for (const auto& [sql, expected] : cases) {
        {
            auto db = Database::open(dir_ / "state" / "state.db");
            ASSERT_TRUE(db);
            ASSERT_TRUE(db->exec("BEGIN; " + sql + "; COMMIT;"));
        }
        Store s = open();
        auto state = s.load();
        ASSERT_FALSE(state) << sql;
        EXPECT_NE(state.error().message().find(expected), std::string::npos)
            << sql << ": " << state.error().message();
        {  // back as it was for the next case
            auto db = Database::open(dir_ / "state" / "state.db");
            ASSERT_TRUE(db);
            ASSERT_TRUE(db->exec("UPDATE rules SET body = " + kRuleBlob +
                                 ", directions = 1, matcher = 1; UPDATE matchers SET template = "
                                 "'ipv4-dst=255.255.255.0,ip-proto=0xff'"));
        }
        ASSERT_TRUE(open().load()) << "restored after " << sql;
    }
}

// A load's chunk is one row of rule_packs, not a row per rule; a single
// add stays a row; both read back the same, in id order.
TEST_F(StoreTest, a_large_batch_is_one_pack_and_reads_back_rule_for_rule) {
    const auto chunk = varied_rules(2, 1000, 1);
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
        const std::vector<DesiredRule> single = {rule(1, 1)};
        ASSERT_TRUE(s.add_rules(single, 2));
        ASSERT_TRUE(s.add_rules(chunk, 1002));
        const std::vector<DesiredRule> after = {rule(1002, 1)};
        ASSERT_TRUE(s.add_rules(after, 1003));
    }
    const auto db = dir_ / "state" / "state.db";
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rule_packs"), 1);
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rules"), 2);
    auto state = open().load();
    ASSERT_TRUE(state) << state.error().message();
    ASSERT_EQ(state->rules.size(), 1002U);
    model::RuleKey expect = 1;
    for (const DesiredRule& r : state->rules) {
        ASSERT_EQ(r.id, expect) << "not in id order";
        const DesiredRule& want = expect == 1      ? rule(1, 1)
                                  : expect == 1002 ? rule(1002, 1)
                                                   : chunk[expect - 2];
        EXPECT_EQ(r, want) << "rule " << expect;
        ++expect;
    }
    EXPECT_EQ(state->next_rule, 1003U);
}

// More than a pack holds: several packs, the rest as rows.
TEST_F(StoreTest, a_batch_larger_than_a_pack_is_split) {
    const auto rules = varied_rules(1, 4096 + 4096 + 10, 1);
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
        ASSERT_TRUE(s.add_rules(rules, 8203));
    }
    const auto db = dir_ / "state" / "state.db";
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rule_packs"), 2);
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rules"), 10);
    auto state = open().load();
    ASSERT_TRUE(state) << state.error().message();
    ASSERT_EQ(state->rules.size(), rules.size());
    EXPECT_EQ(state->rules.at(4097), rules[4096]);
    EXPECT_EQ(state->rules.at(8202), rules[8201]);
}

// A rule deleted from a pack is gone after a reopen; the pack is written
// again without its dropped rules once a quarter is left, and goes (with
// its entries of dropped rules) when none is.
TEST_F(StoreTest, deletes_from_a_pack_shrink_it_and_the_last_one_removes_it) {
    const auto rules = varied_rules(1, 100, 1);
    const auto db = dir_ / "state" / "state.db";
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
        ASSERT_TRUE(s.add_rules(rules, 101));
        // 73 of 100 (odd ids, then a few even ones), in two calls: 27 live.
        std::vector<model::RuleKey> odd;
        for (model::RuleKey id = 1; id <= 100; id += 2) {
            odd.push_back(id);
        }
        ASSERT_TRUE(s.delete_rules(odd));
        // Rule 1 again: deleted before, it is not counted twice.
        const std::vector<model::RuleKey> some_even = {1,  2,  4,  6,  8,  10, 12, 14,
                                                       16, 18, 20, 22, 24, 26, 28, 30,
                                                       32, 34, 36, 38, 40, 42, 44, 46};
        ASSERT_TRUE(s.delete_rules(some_even));
    }
    EXPECT_EQ(count_of(db, "SELECT live FROM rule_packs"), 27);
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rule_dropped"), 73);
    {
        auto state = open().load();
        ASSERT_TRUE(state) << state.error().message();
        ASSERT_EQ(state->rules.size(), 27U);
        EXPECT_FALSE(state->rules.contains(45));
        EXPECT_EQ(state->rules.at(48), rules[47]);
        EXPECT_EQ(state->next_rule, 101U) << "ids are never reused";
    }
    {  // the 25th live from the end: 25 left of 100 is a quarter
        Store s = open();
        const std::vector<model::RuleKey> two = {48, 50};
        ASSERT_TRUE(s.delete_rules(two));
    }
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rule_dropped"), 0) << "not rewritten";
    EXPECT_EQ(count_of(db, "SELECT rules FROM rule_packs"), 25);
    EXPECT_EQ(count_of(db, "SELECT live FROM rule_packs"), 25);
    EXPECT_EQ(count_of(db, "SELECT first FROM rule_packs"), 52);
    {
        auto state = open().load();
        ASSERT_TRUE(state) << state.error().message();
        ASSERT_EQ(state->rules.size(), 25U);
        EXPECT_EQ(state->rules.begin()->id, 52U);
        EXPECT_EQ(state->rules.at(100), rules[99]);
    }
    {
        Store s = open();
        std::vector<model::RuleKey> rest;
        for (model::RuleKey id = 52; id <= 100; id += 2) {
            rest.push_back(id);
        }
        rest.push_back(7);     // deleted already: nothing changes
        rest.push_back(5000);  // never stored
        ASSERT_TRUE(s.delete_rules(rest));
    }
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rule_packs"), 0);
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rule_dropped"), 0);
    auto state = open().load();
    ASSERT_TRUE(state) << state.error().message();
    EXPECT_TRUE(state->rules.empty());
    EXPECT_EQ(state->next_rule, 101U);
}

TEST_F(StoreTest, deleting_a_matcher_deletes_its_packed_rules) {
    Store s = open();
    ASSERT_TRUE(s.add_matcher(matcher(1), 2));
    ASSERT_TRUE(s.add_matcher(matcher(2), 3));
    ASSERT_TRUE(s.add_rules(varied_rules(1, 200, 1), 201));
    ASSERT_TRUE(s.add_rules(varied_rules(201, 200, 2), 401));
    std::vector<model::RuleKey> its_rules;
    for (model::RuleKey id = 1; id <= 200; ++id) {
        its_rules.push_back(id);
    }
    ASSERT_TRUE(s.delete_matcher(1, its_rules));
    auto state = s.load();
    ASSERT_TRUE(state) << state.error().message();
    EXPECT_EQ(state->matchers.size(), 1U);
    ASSERT_EQ(state->rules.size(), 200U);
    EXPECT_EQ(state->rules.begin()->id, 201U);
    const auto db = dir_ / "state" / "state.db";
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rule_packs"), 1);
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rule_dropped"), 0)
        << "a whole pack's rules are not named one by one";
}

// A batch whose ids are not rising (a caller's duplicate) is written as
// rows, and the duplicate fails the whole batch as it always did; so does
// a batch over the range of a pack.
TEST_F(StoreTest, a_large_batch_with_a_duplicate_or_a_stored_id_fails_whole) {
    Store s = open();
    ASSERT_TRUE(s.add_matcher(matcher(1), 2));
    auto dup = varied_rules(1, 100, 1);
    dup[70] = dup[20];
    auto st = s.add_rules(dup, 101);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("store rule 21: sqlite step: UNIQUE constraint failed"),
              std::string::npos)
        << st.error().message();
    ASSERT_TRUE(s.add_rules(varied_rules(1, 100, 1), 101));
    for (const std::size_t n :
         {std::size_t{100}, std::size_t{1}}) {  // a pack's range: rows, and a single row
        st = s.add_rules(varied_rules(50, n, 1), 150);
        ASSERT_FALSE(st) << "a batch over stored ids was taken";
        EXPECT_NE(st.error().message().find("store rule 50: it is stored already"),
                  std::string::npos)
            << st.error().message();
    }

    auto state = s.load();
    ASSERT_TRUE(state) << state.error().message();
    EXPECT_EQ(state->rules.size(), 100U);
    EXPECT_EQ(state->next_rule, 101U);
}

// A pack that does not read back fails the load, naming the pack and what
// is wrong with it; a rule in it is checked as a row is.
TEST_F(StoreTest, refuses_to_load_a_pack_that_does_not_parse) {
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
        ASSERT_TRUE(s.add_rules(varied_rules(1, 100, 1), 101));
    }
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"UPDATE rule_packs SET body = substr(body, 1, length(body) - 3)",
         "rule pack 1: corrupt: a record is cut short at byte"},
        {"UPDATE rule_packs SET body = body || body",
         "rule pack 1: corrupt: rule 1 after rule 100"},
        // Format 0, as schema 5 wrote packs.
        {"UPDATE rule_packs SET format = 0,"
         " body = X'0100000000000000090000000000000001E80300000000'",
         "rule 1: no matcher 9"},
        {"UPDATE rule_packs SET format = 0,"
         " body = X'0100000000000000010000000000000001E80300000300030005'",
         "rule 1: corrupt row: a stored body of 3 bytes is truncated"},
        // Format 1: a record's kind first.
        {"UPDATE rule_packs SET format = 2", "rule pack 1: corrupt: format 2 is not one this"},
        {"UPDATE rule_packs SET body = X'05'", "rule pack 1: corrupt: record kind 5 at byte 0"},
        {"UPDATE rule_packs SET body = X'010A000001'",
         "rule pack 1: corrupt: the first record continues a run"},
    };
    for (const auto& [sql, expected] : cases) {
        const std::string error = load_error_with(sql);
        EXPECT_NE(error.find(expected), std::string::npos) << sql << ": " << error;
        auto again = open().load();
        ASSERT_TRUE(again) << "restored after " << sql;
        EXPECT_EQ(again->rules.size(), 100U);
    }
}

// A load's pack holds each rule of a run as its match bytes: under 8 bytes
// a rule here (an IPv4 address and a protocol), not 36; it reads back rule
// for rule, and so does the pack written again after most of it went.
TEST_F(StoreTest, a_pack_of_rules_in_runs_holds_little_more_than_their_match_bytes) {
    const auto rules = run_rules(1, 4096, 1);
    const model::RuleKey next = rules.back().id + 1;
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
        ASSERT_TRUE(s.add_rules(rules, next));
    }
    const auto db = dir_ / "state" / "state.db";
    EXPECT_EQ(count_of(db, "SELECT count(*) FROM rule_packs"), 1);
    EXPECT_EQ(count_of(db, "SELECT format FROM rule_packs"), 1);
    EXPECT_LT(count_of(db, "SELECT length(body) FROM rule_packs"), 4096 * 8);
    auto state = open().load();
    ASSERT_TRUE(state) << state.error().message();
    ASSERT_EQ(state->rules.size(), rules.size());
    for (const DesiredRule& r : rules) {
        EXPECT_EQ(state->rules.at(r.id), r) << "rule " << r.id;
    }
    // The last record continues a run: one byte short, it is cut short.
    const std::string cut =
        load_error_with("UPDATE rule_packs SET body = substr(body, 1, length(body) - 1)");
    EXPECT_NE(cut.find("rule pack 1: corrupt: a record is cut short"), std::string::npos) << cut;
    // Most of the pack gone: it is written again, in runs still.
    delete_all_but_the_last(rules, 996);
    EXPECT_LT(count_of(db, "SELECT length(body) FROM rule_packs"), 996 * 8);
}

// Schema 5's packs (format 0) read back after the upgrade; one written
// again after deletes is written in format 1.
TEST_F(StoreTest, a_schema_5_store_keeps_its_packs_and_rewrites_them_in_runs) {
    const auto rules = run_rules(1, 2000, 1);
    const auto db = dir_ / "state" / "state.db";
    {
        Store s = open();
        ASSERT_TRUE(s.add_matcher(matcher(1), 2));
    }
    {  // as schema 5 left it
        auto d = Database::open(db);
        ASSERT_TRUE(d);
        ASSERT_TRUE(d->exec("ALTER TABLE rule_packs DROP COLUMN format; PRAGMA user_version = 5"));
        auto q = d->prepare(
            "INSERT INTO rule_packs(first, last, rules, live, body) VALUES (?1,?2,?3,?3,?4)");
        ASSERT_TRUE(q);
        ASSERT_TRUE(q->bind(1, static_cast<std::int64_t>(rules.front().id))
                        .bind(2, static_cast<std::int64_t>(rules.back().id))
                        .bind(3, static_cast<std::int64_t>(rules.size()))
                        .bind_blob(4, format_0_pack(rules))
                        .run());
        ASSERT_TRUE(d->exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('next_rule', " +
                            std::to_string(rules.back().id + 1) + ")"));
    }
    auto state = open().load();
    ASSERT_TRUE(state) << state.error().message();
    EXPECT_EQ(count_of(db, "PRAGMA user_version"), kSchemaVersion);
    EXPECT_EQ(count_of(db, "SELECT format FROM rule_packs"), 0);
    ASSERT_EQ(state->rules.size(), rules.size());
    for (const DesiredRule& r : rules) {
        EXPECT_EQ(state->rules.at(r.id), r) << "rule " << r.id;
    }
    delete_all_but_the_last(rules, 400);
}

TEST_F(StoreTest, refuses_a_newer_schema) {
    {
        auto db = Database::open(dir_ / "state.db");
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
    }
    std::filesystem::rename(dir_ / "state.db", dir_ / "state.db.tmp");
    std::filesystem::create_directories(dir_ / "state");
    std::filesystem::rename(dir_ / "state.db.tmp", dir_ / "state" / "state.db");
    auto s = Store::open(dir_ / "state");
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message().find("schema 99, newer than this sgnicd's " +
                                       std::to_string(kSchemaVersion)),
              std::string::npos)
        << s.error().message();
}

}  // namespace
}  // namespace sgnic::store
