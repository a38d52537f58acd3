// sgnicctl's human output: units, columns, and the tables built from the
// daemon's JSON documents.
#include <gtest/gtest.h>

#include "cli/format.hpp"

namespace sgnic::cli {
namespace {

TEST(CliFormat, human_units) {
    EXPECT_EQ(human_bytes(0), "0 B");
    EXPECT_EQ(human_bytes(1023), "1023 B");
    EXPECT_EQ(human_bytes(1536), "1.5 KiB");
    EXPECT_EQ(human_bytes(3ULL << 30), "3.0 GiB");
    EXPECT_EQ(human_count(999), "999");
    EXPECT_EQ(human_count(1500000), "1.5M");
    EXPECT_EQ(human_count(2000000000), "2.0G");
    EXPECT_EQ(counted(0, "rule"), "0 rules");
    EXPECT_EQ(counted(1, "rule"), "1 rule");
    EXPECT_EQ(counted(2, "matcher"), "2 matchers");
    EXPECT_EQ(human_duration(4.4), "4s");
    EXPECT_EQ(human_duration(125), "2m05s");
    EXPECT_EQ(human_duration(3720), "1h02m");
    EXPECT_EQ(human_duration(-1), "?");
}

TEST(CliFormat, tables_align_text_left_and_numbers_right) {
    EXPECT_EQ(table({"NAME", "COUNT"}, {{"a", "5"}, {"longer", "12345"}}),
              "NAME    COUNT\n"
              "a           5\n"
              "longer  12345\n");
    EXPECT_EQ(table({"X"}, {}), "X\n");
}

TEST(CliFormat, progress_has_bar_rate_and_eta) {
    EXPECT_EQ(progress_line(50, 100, 5.0, 10), "[#####     ]  50%  50/100  10 rules/s  ETA 5s");
    EXPECT_EQ(progress_line(0, 100, 0.0, 4), "[    ]   0%  0/100  0 rules/s  ETA ?");
    EXPECT_EQ(progress_line(100000, 100000, 10.0, 2),
              "[##] 100%  100.0k/100.0k  10.0k rules/s  ETA 0s");
}

TEST(CliFormat, documents_become_tables) {
    const Json describe = Json::parse(R"({"ports":[{"name":"sg0","ifindex":7,"rx_rules":3,
        "tx_rules":1,"device_pages":2}]})");
    EXPECT_EQ(format_port_list(describe),
              "PORT  IFINDEX  RX_RULES  TX_RULES  PAGES  PAGE_MEMORY\n"
              "sg0         7         3         1      2      8.0 KiB\n");
    EXPECT_EQ(format_port_list(Json::parse(R"({"ports":[]})")), "no sgnic ports\n");

    const Json rules = Json::parse(R"({"rules":[{"id":1,"matcher":2,"port":"sg0",
        "directions":"rx","match":[{"field":"ip-proto","value":"6"}],"actions":["count","drop"],
        "counters":{"rx_packets":1500,"rx_bytes":2048,"tx_packets":0,"tx_bytes":0}},
        {"id":2,"matcher":2,"port":"sg0","directions":"both","match":[],"actions":["drop"],
        "counters":null}],"errors":["matcher 2: device gone"]})");
    EXPECT_EQ(format_rule_list(rules),
              "ID  MATCHER  PORT  DIR   MATCH       ACTIONS     PACKETS    BYTES\n"
              " 1        2  sg0   rx    ip-proto=6  count drop     1.5k  2.0 KiB\n"
              " 2        2  sg0   both              drop              -        -\n"
              "warning: counters unavailable: matcher 2: device gone\n");

    const Json matcher = Json::parse(R"({"id":4,"port":"sg0","priority":1,"installed":true,
        "template":[{"field":"ipv4-dst","mask":"255.255.255.0"}],
        "rx":{"size_log":3,"rules":5,"pages":1,"rehash_required":false},
        "tx":{"size_log":1,"rules":0,"pages":1,"rehash_required":true},
        "rehashes":2,"action_templates":1,"rule_count":2})");
    const std::string show = format_matcher_show(matcher);
    EXPECT_NE(show.find("matcher 4 on sg0, priority 1\n  template: ipv4-dst/255.255.255.0\n"),
              std::string::npos)
        << show;
    EXPECT_NE(show.find("rx          3      5      1  4.0 KiB  no"), std::string::npos) << show;
    EXPECT_NE(show.find("tx          1      0      1  4.0 KiB  yes"), std::string::npos) << show;
    EXPECT_NE(show.find("2 rules (sgnicctl rule list matcher 4)"), std::string::npos) << show;
    EXPECT_EQ(show.find("rehash in progress"), std::string::npos) << show;
    Json resizing = matcher;
    resizing["resizing"] = {{"moved", 2048}, {"total", 5000}, {"reason", "presize"}};
    EXPECT_NE(format_matcher_show(resizing).find(
                  "  rehash in progress (presize): 2048 of 5000 rules moved\n"),
              std::string::npos)
        << format_matcher_show(resizing);

    const std::string list = format_matcher_list(Json::array({matcher}));
    EXPECT_NE(list.find(" 4  sg0      1  yes"), std::string::npos) << list;
    EXPECT_EQ(format_matcher_list(Json::array()), "no matchers\n");
}

TEST(CliFormat, json_output_is_one_line_or_indented) {
    const Json doc = {{"a", 1}};
    EXPECT_EQ(dump(doc, false), "{\"a\":1}\n");
    EXPECT_EQ(dump(doc, true), "{\n  \"a\": 1\n}\n");
}

}  // namespace
}  // namespace sgnic::cli
