// sgnicd.json and the command line: defaults, every key, and errors that
// name the key at fault.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/options.hpp"

namespace sgnic::config {
namespace {

TEST(Config, empty_object_gives_the_policy_defaults) {
    auto c = parse_config("{}");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->log_level, LogLevel::info);
    EXPECT_EQ(c->state_dir, "/var/lib/sgnic");
    EXPECT_TRUE(c->persistence);
    EXPECT_FALSE(c->manage_foreign) << "other owners' objects are left alone by default";
    const policy::PolicyConfig defaults;
    EXPECT_EQ(c->policy.init_size_log, defaults.init_size_log);
    EXPECT_EQ(c->policy.rehash_percent_threshold, defaults.rehash_percent_threshold);
    EXPECT_EQ(c->policy.action_templates_max, defaults.action_templates_max);
    EXPECT_EQ(c->policy.resize_step_rules, 1024) << "sgnicd rehashes a step at a time";
}

TEST(Config, reads_every_key) {
    auto c = parse_config(R"({
        "log-level": "debug", "state-directory": "/tmp/sg", "persistence": false,
        "manage-foreign": true,
        "policy": {"init-size-log": 2, "size-log-step": 2, "rehash-percent-threshold": 50,
                   "assured-main-table-depth": 3, "action-templates-initial": 4,
                   "action-templates-max": 64, "resize-step-rules": 0}})");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->log_level, LogLevel::debug);
    EXPECT_EQ(c->state_dir, "/tmp/sg");
    EXPECT_FALSE(c->persistence);
    EXPECT_TRUE(c->manage_foreign);
    EXPECT_EQ(c->policy.init_size_log, 2);
    EXPECT_EQ(c->policy.size_log_step, 2);
    EXPECT_EQ(c->policy.rehash_percent_threshold, 50);
    EXPECT_EQ(c->policy.assured_main_table_depth, 3);
    EXPECT_EQ(c->policy.action_templates_initial, 4);
    EXPECT_EQ(c->policy.action_templates_max, 64);
    EXPECT_EQ(c->policy.resize_step_rules, 0);
}

struct Bad {
    const char* json;
    const char* message;
};

class ConfigRefused : public ::testing::TestWithParam<Bad> {};

TEST_P(ConfigRefused, naming_the_key_path) {
    auto c = parse_config(GetParam().json);
    ASSERT_FALSE(c) << "accepted " << GetParam().json;
    EXPECT_EQ(c.error().message().rfind(GetParam().message, 0), 0U)
        << "expected to start with '" << GetParam().message << "', got '" << c.error().message()
        << "'";
}

INSTANTIATE_TEST_SUITE_P(
    every_error, ConfigRefused,
    ::testing::Values(
        Bad{R"({"colour": 1})", "colour: unknown key (known here: log-level, state-directory"},
        Bad{R"({"policy": {"size-log-stepp": 1}})", "policy.size-log-stepp: unknown key"},
        Bad{R"({"policy": {"size-log-step": "1"}})",
            "policy.size-log-step: expected an integer, got a string"},
        Bad{R"({"policy": {"size-log-step": 1.5}})",
            "policy.size-log-step: expected an integer, got a number"},
        Bad{R"({"policy": {"rehash-percent-threshold": 101}})",
            "policy.rehash-percent-threshold: 101 is out of range [1, 100]"},
        Bad{R"({"policy": {"size-log-step": 0}})", "policy.size-log-step: 0 is out of range"},
        Bad{R"({"policy": {"resize-step-rules": -1}})",
            "policy.resize-step-rules: -1 is out of range [0, 1048576]"},
        Bad{R"({"policy": {"action-templates-initial": 256}})",
            "policy.action-templates-initial: 256 exceeds action-templates-max 128"},
        Bad{R"({"policy": []})", "policy: expected an object, got a array"},
        Bad{R"({"log-level": "loud"})", "log-level: 'loud' is not one of trace, debug"},
        Bad{R"({"log-level": 3})", "log-level: expected a string, got an integer"},
        Bad{R"({"state-directory": "var/lib"})", "state-directory: 'var/lib' is not an absolute"},
        Bad{R"({"persistence": "yes"})", "persistence: expected true or false, got a string"},
        Bad{R"({"manage-foreign": 1})", "manage-foreign: expected true or false, got an integer"},
        Bad{R"([1])", "(top level): expected an object"},
        Bad{R"({"log-level": )", "not valid JSON at byte"}));

TEST(Config, a_missing_default_file_means_defaults_but_a_named_one_is_an_error) {
    EXPECT_TRUE(load_config("/nonexistent/sgnicd.json", false));
    auto c = load_config("/nonexistent/sgnicd.json", true);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message().find("/nonexistent/sgnicd.json"), std::string::npos);
}

Expected<Options> parse(std::vector<const char*> args) {
    args.insert(args.begin(), "sgnicd");
    return parse_options(args);
}

TEST(Options, every_option) {
    auto o = parse({"--config", "/c.json", "--state-dir", "/s", "--bus", "session", "--bus-address",
                    "unix:path=/x"});
    ASSERT_TRUE(o) << o.error().message();
    EXPECT_EQ(o->mode, Options::Mode::run);
    EXPECT_EQ(o->config_path, "/c.json");
    EXPECT_EQ(o->state_dir, "/s");
    EXPECT_EQ(o->bus, BusKind::session);
    EXPECT_EQ(o->bus_address, "unix:path=/x");
    EXPECT_EQ(parse({"--check-config", "/f"})->mode, Options::Mode::check_config);
    EXPECT_EQ(parse({"--check-config", "/f"})->config_path, "/f");
    EXPECT_EQ(parse({"--help"})->mode, Options::Mode::help);
    EXPECT_EQ(parse({"--version"})->mode, Options::Mode::version);
    EXPECT_EQ(parse({})->bus, BusKind::system);
}

TEST(Options, errors_name_the_option) {
    EXPECT_EQ(parse({"--bus", "tram"}).error().message(),
              "--bus: 'tram' is not one of system, session");
    EXPECT_EQ(parse({"--config"}).error().message(), "--config needs a value");
    EXPECT_EQ(parse({"--frobnicate"}).error().message(),
              "unknown option '--frobnicate' (see --help)");
}

}  // namespace
}  // namespace sgnic::config
