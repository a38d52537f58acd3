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
    static DesiredRule rule(model::RuleKey id, model::MatcherKey m) {
        return model::testing::text_rule(matcher(m), id, policy::Directions::rx_only(),
                                         {{"ipv4-dst", "10.0.0.0"}, {"ip-proto", "6"}},
                                         {"count", "queue 2"}, 1000);
    }
    std::filesystem::path dir_;
};

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
            db->exec("CREATE INDEX rules_by_matcher ON rules(matcher); PRAGMA user_version = 3;"));
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
    EXPECT_NE(s.error().message().find("schema 99, newer than this sgnicd's 4"), std::string::npos)
        << s.error().message();
}

}  // namespace
}  // namespace sgnic::store
