// sgnicctl's grammar: every verb parses into its command, and every
// malformed input is a usage error naming the word at fault, with a hint.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/grammar.hpp"

namespace sgnic::cli {
namespace {

using Args = std::vector<std::string>;

Invocation ok(const Args& args) {
    auto r = parse_command_line(args);
    if (auto* e = std::get_if<UsageError>(&r)) {
        ADD_FAILURE() << "usage error: " << e->message;
        return {};
    }
    return std::get<Invocation>(r);
}

UsageError bad(const Args& args) {
    auto r = parse_command_line(args);
    if (!std::holds_alternative<UsageError>(r)) {
        std::string line;
        for (const auto& a : args) {
            line += a + " ";
        }
        ADD_FAILURE() << "accepted: " << line;
        return {};
    }
    return std::get<UsageError>(r);
}

TEST(CliGrammar, options_come_before_or_after_the_object) {
    auto a = ok({"-j", "port", "list"});
    EXPECT_TRUE(a.options.json);
    EXPECT_FALSE(a.options.pretty);
    EXPECT_TRUE(std::holds_alternative<PortList>(a.command));
    auto b = ok({"port", "list", "-p"});
    EXPECT_TRUE(b.options.json);
    EXPECT_TRUE(b.options.pretty);
    auto c = ok({"--json", "--pretty", "stats"});
    EXPECT_TRUE(c.options.pretty);
    EXPECT_TRUE(std::holds_alternative<Stats>(c.command));
}

TEST(CliGrammar, port_verbs) {
    EXPECT_TRUE(std::holds_alternative<PortList>(ok({"port"}).command));
    EXPECT_TRUE(std::holds_alternative<PortList>(ok({"port", "list"}).command));
    EXPECT_EQ(std::get<PortShow>(ok({"port", "show", "sgnic0"}).command).port, "sgnic0");
    EXPECT_EQ(bad({"port", "show"}).message, "port show needs a PORT");
    EXPECT_EQ(bad({"port", "show", "a", "b"}).message, "unexpected word 'b' after the port");
    EXPECT_EQ(bad({"port", "show", "sixteen-chars-xx"}).message,
              "port name 'sixteen-chars-xx' is not a valid netdev name");
    EXPECT_EQ(bad({"port", "list", "x"}).message, "unexpected word 'x' after 'port list'");
    const UsageError e = bad({"port", "frob"});
    EXPECT_EQ(e.message, "unknown verb 'frob' for port");
    EXPECT_EQ(e.hint, "port verbs are list, show");
}

TEST(CliGrammar, matcher_create_takes_fields_with_masks_prefixes_or_full_width) {
    const auto c = std::get<MatcherCreate>(
        ok({"matcher", "create", "dev", "sg0", "prio", "7", "match",
            "ipv4-dst/24,ip-proto,dmac/ff:ff:ff:00:00:00,l4-dport/0xff00,vlan-id"})
            .command);
    EXPECT_EQ(c.port, "sg0");
    EXPECT_EQ(c.priority, 7U);
    const std::vector<proto::FieldText> want = {{"ipv4-dst", "/24"},
                                                {"ip-proto", "/8"},
                                                {"dmac", "ff:ff:ff:00:00:00"},
                                                {"l4-dport", "0xff00"},
                                                {"vlan-id", "/12"}};
    EXPECT_EQ(c.fields, want);
    const auto d = std::get<MatcherCreate>(
        ok({"matcher", "create", "match", "ipv6-src", "dev", "sg-1"}).command);
    EXPECT_EQ(d.priority, 0U);
    EXPECT_EQ(d.fields, (std::vector<proto::FieldText>{{"ipv6-src", "/128"}}));
}

TEST(CliGrammar, matcher_create_errors) {
    EXPECT_EQ(bad({"matcher", "create", "match", "ip-proto"}).message,
              "matcher create needs dev PORT");
    EXPECT_EQ(bad({"matcher", "create", "dev", "sg0"}).message,
              "matcher create needs match FIELD[/MASK][,...]");
    EXPECT_EQ(bad({"matcher", "create", "dev"}).message, "'dev' needs PORT after it");
    EXPECT_EQ(bad({"matcher", "create", "dev", "sg0", "prio", "high", "match", "ip-proto"}).message,
              "priority 'high' is not a number");
    EXPECT_EQ(bad({"matcher", "create", "dev", "sg0", "prio", "-1", "match", "ip-proto"}).message,
              "priority '-1' is not a number");
    const UsageError unknown = bad({"matcher", "create", "dev", "sg0", "match", "ipv4-source"});
    EXPECT_EQ(unknown.message, "unknown field 'ipv4-source'");
    EXPECT_NE(unknown.hint.find("ipv4-src"), std::string::npos) << unknown.hint;
    EXPECT_EQ(bad({"matcher", "create", "dev", "sg0", "match", "ipv4-src/33"}).message,
              "ipv4-src: prefix length /33 is longer than the field's 32 bits");
    EXPECT_NE(bad({"matcher", "create", "dev", "sg0", "match", "dmac/ff:ff:zz:00:00:00"})
                  .message.find("dmac"),
              std::string::npos);
    EXPECT_EQ(bad({"matcher", "create", "dev", "sg0", "match", "ip-proto,,dmac"}).message,
              "empty field in match list 'ip-proto,,dmac'");
    EXPECT_EQ(bad({"matcher", "create", "dev", "sg0", "match", "ip-proto,ip-proto/4"}).message,
              "field 'ip-proto' is given twice");
    EXPECT_EQ(
        bad({"matcher", "create", "dev", "sg0", "match", "ip-proto", "match", "ip-proto"}).message,
        "field 'ip-proto' is given twice");
    EXPECT_EQ(bad({"matcher", "create", "dev", "sg0", "match", "ip-proto", "extra"}).message,
              "unexpected word 'extra' in matcher create");
}

TEST(CliGrammar, matcher_list_show_delete) {
    EXPECT_FALSE(std::get<MatcherList>(ok({"matcher", "list"}).command).port);
    EXPECT_EQ(std::get<MatcherList>(ok({"matcher", "list", "dev", "sg0"}).command).port, "sg0");
    EXPECT_EQ(std::get<MatcherShow>(ok({"matcher", "show", "12"}).command).id, 12U);
    EXPECT_EQ(std::get<MatcherDelete>(ok({"matcher", "delete", "3"}).command).id, 3U);
    EXPECT_EQ(bad({"matcher", "show"}).message, "matcher show needs an ID");
    EXPECT_EQ(bad({"matcher", "delete", "0"}).message, "matcher id '0' is not a number above 0");
    EXPECT_EQ(bad({"matcher", "show", "0x3"}).message, "matcher id '0x3' is not a number above 0");
    EXPECT_EQ(bad({"matcher", "list", "sg0"}).message, "unexpected word 'sg0' in matcher list");
    EXPECT_EQ(bad({"matcher", "rename"}).message, "unknown verb 'rename' for matcher");
}

TEST(CliGrammar, rule_add_reads_fields_direction_and_actions) {
    const RuleText r = std::get<RuleAdd>(ok({"rule", "add", "dev", "sg0", "matcher", "4", "dir",
                                             "rx", "ipv4-dst", "10.0.0.0/24", "ip-proto", "tcp",
                                             "action", "count", "mark", "0x10", "queue", "2"})
                                             .command)
                           .rule;
    EXPECT_EQ(r.port, "sg0");
    EXPECT_EQ(r.matcher, 4U);
    EXPECT_EQ(r.directions, "rx");
    EXPECT_EQ(r.match,
              (std::vector<proto::FieldText>{{"ipv4-dst", "10.0.0.0/24"}, {"ip-proto", "tcp"}}));
    EXPECT_EQ(r.actions, (std::vector<std::string>{"count", "mark 16", "queue 2"}));

    // No dev, default direction, repeated `action`, a rule matching no field.
    const RuleText s =
        std::get<RuleAdd>(
            ok({"rule", "add", "matcher", "1", "action", "count", "action", "drop"}).command)
            .rule;
    EXPECT_FALSE(s.port);
    EXPECT_EQ(s.directions, "both");
    EXPECT_TRUE(s.match.empty());
    EXPECT_EQ(s.actions, (std::vector<std::string>{"count", "drop"}));
}

TEST(CliGrammar, rule_add_errors_name_the_word) {
    auto msg = [](Args words) {
        words.insert(words.begin(), {"rule", "add"});
        return bad(words).message;
    };
    EXPECT_EQ(msg({"ipv4-dst", "10.0.0.1", "action", "drop"}), "a rule needs matcher ID");
    EXPECT_EQ(msg({"matcher", "1", "ipv4-dst", "10.0.0.1"}), "a rule needs an action");
    EXPECT_EQ(msg({"matcher", "x", "action", "drop"}), "matcher id 'x' is not a number above 0");
    EXPECT_EQ(msg({"matcher"}), "'matcher' needs ID after it");
    EXPECT_EQ(msg({"matcher", "1", "dir", "up", "action", "drop"}),
              "direction 'up' is not one of rx, tx, both");
    EXPECT_EQ(msg({"matcher", "1", "dir"}), "'dir' needs rx|tx|both after it");
    EXPECT_NE(msg({"matcher", "1", "ipv4-dst", "10.0.0.300", "action", "drop"}).find("10.0.0.300"),
              std::string::npos);
    EXPECT_NE(msg({"matcher", "1", "ipv6-dst", "fe80::zz", "action", "drop"}).find("fe80::zz"),
              std::string::npos);
    EXPECT_NE(msg({"matcher", "1", "dmac", "aa:bb:cc", "action", "drop"}).find("aa:bb:cc"),
              std::string::npos);
    EXPECT_NE(msg({"matcher", "1", "ip-proto", "tcpp", "action", "drop"}).find("tcpp"),
              std::string::npos);
    EXPECT_NE(msg({"matcher", "1", "l4-dport", "65536", "action", "drop"}).find("65536"),
              std::string::npos);
    EXPECT_NE(msg({"matcher", "1", "vlan-id", "4096", "action", "drop"}).find("4096"),
              std::string::npos);
    EXPECT_EQ(msg({"matcher", "1", "ip-proto"}), "field 'ip-proto' needs a VALUE after it");
    EXPECT_EQ(msg({"matcher", "1", "ip-proto", "6", "ip-proto", "17", "action", "drop"}),
              "field 'ip-proto' is given twice");
    EXPECT_EQ(msg({"matcher", "1", "color", "red", "action", "drop"}),
              "unexpected word 'color' in a rule");
    EXPECT_EQ(msg({"matcher", "1", "action"}), "'action' needs an action after it");
    EXPECT_EQ(msg({"matcher", "1", "action", "jump"}),
              "unknown action 'jump' (known: drop, count, mark N, queue N, accept)");
    EXPECT_EQ(msg({"matcher", "1", "action", "queue"}), "action 'queue' needs a number after it");
    EXPECT_NE(msg({"matcher", "1", "action", "mark", "x"}).find("mark x"), std::string::npos);
    EXPECT_NE(msg({"matcher", "1", "action", "mark", "-1"}).find("mark -1"), std::string::npos);
    EXPECT_EQ(msg({"matcher", "1", "action", "drop", "count"}),
              "action 'count' follows the terminal action 'drop' (drop, queue and accept must "
              "come last)");
    EXPECT_EQ(msg({"matcher", "1", "action", "count", "count"}), "action 'count' is given twice");
    // No dir means both directions: mark and queue need dir rx.
    EXPECT_EQ(msg({"matcher", "1", "ip-proto", "6", "action", "mark", "5"}),
              "action 'mark 5' acts on received frames: the rule's direction must be rx, not both");
    EXPECT_EQ(msg({"matcher", "1", "dir", "tx", "ip-proto", "6", "action", "count", "queue", "1"}),
              "action 'queue 1' acts on received frames: the rule's direction must be rx, not tx");
    EXPECT_EQ(msg({"dev", "a b", "matcher", "1", "action", "drop"}),
              "port name 'a b' is not a valid netdev name");
}

TEST(CliGrammar, a_bad_value_hints_at_the_fields_form) {
    auto hint = [](const std::string& field, const std::string& value) {
        return bad({"rule", "add", "matcher", "1", field, value, "action", "drop"}).hint;
    };
    EXPECT_EQ(hint("ip-proto", "tcpp"),
              "ip-proto takes a number from 0 to 255 (decimal or 0x hex) or icmp, tcp, udp, gre, "
              "esp, icmpv6, sctp");
    EXPECT_EQ(hint("vlan-id", "4096"), "vlan-id takes a number from 0 to 4095 (decimal or 0x hex)");
    EXPECT_EQ(hint("ipv4-src", "1.2.3"),
              "ipv4-src takes an IPv4 address such as 10.0.0.0 or 10.0.0.0/24");
    EXPECT_EQ(hint("smac", "02:00"), "smac takes a MAC address such as 02:00:00:00:00:01");
    EXPECT_EQ(hint("ipv6-dst", "::g"), "ipv6-dst takes an IPv6 address such as 2001:db8::/64");
}

TEST(CliGrammar, rule_delete_list_flush_load) {
    EXPECT_EQ(std::get<RuleDelete>(ok({"rule", "delete", "1", "7", "9"}).command).ids,
              (std::vector<std::uint64_t>{1, 7, 9}));
    EXPECT_EQ(bad({"rule", "delete"}).message, "rule delete needs at least one ID");
    EXPECT_EQ(bad({"rule", "delete", "1", "two"}).message, "rule id 'two' is not a number above 0");

    const auto l = std::get<RuleList>(ok({"rule", "list", "matcher", "3", "dev", "sg0"}).command);
    EXPECT_EQ(l.matcher, 3U);
    EXPECT_EQ(l.port, "sg0");
    EXPECT_EQ(std::get<RuleList>(ok({"rule"}).command).matcher, 0U);
    EXPECT_EQ(bad({"rule", "list", "matcher", "-2"}).message,
              "matcher id '-2' is not a number above 0");
    EXPECT_EQ(bad({"rule", "list", "all"}).message, "unexpected word 'all' in rule list");

    EXPECT_FALSE(std::get<RuleFlush>(ok({"rule", "flush"}).command).port);
    EXPECT_EQ(std::get<RuleFlush>(ok({"rule", "flush", "dev", "sg0"}).command).port, "sg0");
    EXPECT_EQ(bad({"rule", "flush", "matcher", "1"}).message,
              "unexpected word 'matcher' in rule flush");

    const auto f = std::get<RuleLoad>(ok({"rule", "load", "rules.txt"}).command);
    EXPECT_EQ(f.file, "rules.txt");
    EXPECT_EQ(f.chunk, kDefaultChunk);
    EXPECT_EQ(std::get<RuleLoad>(ok({"rule", "load", "-", "chunk", "10"}).command).chunk, 10U);
    EXPECT_EQ(bad({"rule", "load"}).message, "rule load needs a FILE");
    EXPECT_EQ(bad({"rule", "load", "a", "b"}).message, "unexpected word 'b' after the file name");
    EXPECT_EQ(bad({"rule", "load", "a", "chunk", "65537"}).message,
              "chunk '65537' is not a number from 1 to 65536");
    EXPECT_EQ(bad({"rule", "load", "a", "chunk", "0"}).message,
              "chunk '0' is not a number from 1 to 65536");
    EXPECT_EQ(bad({"rule", "insert"}).message, "unknown verb 'insert' for rule");
}

TEST(CliGrammar, monitor_stats_version_and_help) {
    EXPECT_TRUE(std::holds_alternative<Monitor>(ok({"monitor"}).command));
    EXPECT_TRUE(std::holds_alternative<Stats>(ok({"stats"}).command));
    EXPECT_TRUE(std::holds_alternative<Version>(ok({"version"}).command));
    EXPECT_TRUE(std::holds_alternative<Version>(ok({"-V"}).command));
    EXPECT_EQ(bad({"stats", "now"}).message, "unexpected word 'now' after 'stats'");

    const auto top = std::get<Help>(ok({"--help"}).command).text;
    for (const char* verb :
         {"port list", "port show", "matcher create", "matcher list", "matcher show",
          "matcher delete", "rule add", "rule delete", "rule list", "rule flush", "rule load",
          "monitor", "stats", "version"}) {
        EXPECT_NE(top.find(std::string("sgnicctl ") + verb), std::string::npos) << verb;
    }
    const auto rule = std::get<Help>(ok({"rule", "add", "--help"}).command).text;
    EXPECT_NE(rule.find("sgnicctl rule add"), std::string::npos);
    EXPECT_EQ(rule.find("sgnicctl port list"), std::string::npos);
    EXPECT_NE(std::get<Help>(ok({"help", "matcher"}).command).text.find("matcher create"),
              std::string::npos);
    EXPECT_NE(std::get<Help>(ok({"port", "-h"}).command).text.find("port show"), std::string::npos);
    EXPECT_EQ(bad({"bogus", "--help"}).message, "unknown object 'bogus'");
}

TEST(CliGrammar, top_level_errors) {
    const UsageError none = bad({});
    EXPECT_EQ(none.message, "no object given");
    EXPECT_NE(none.hint.find("objects are port, matcher, rule"), std::string::npos);
    EXPECT_EQ(bad({"-x"}).message, "unknown option '-x'");
    EXPECT_EQ(bad({"-j"}).message, "no object given");
    EXPECT_EQ(bad({"ports", "show"}).message, "port show needs a PORT");
    EXPECT_EQ(bad({"table", "list"}).message, "unknown object 'table'");
}

TEST(CliGrammar, words_and_port_names) {
    EXPECT_EQ(split_words("  matcher 1\taction drop # comment"),
              (std::vector<std::string>{"matcher", "1", "action", "drop"}));
    EXPECT_TRUE(split_words("# only a comment").empty());
    EXPECT_EQ(split_words("a#b c"), (std::vector<std::string>{"a"}));
    // A buffer reused line after line holds exactly the new line's words.
    std::vector<std::string> words;
    split_words("matcher 1 ipv4-dst 10.0.0.1 action count", words);
    EXPECT_EQ(words.size(), 6U);
    split_words(" \r action\tdrop\r", words);
    EXPECT_EQ(words, (std::vector<std::string>{"action", "drop"}));
    split_words("", words);
    EXPECT_TRUE(words.empty());
    EXPECT_TRUE(valid_port_name("sgnic0"));
    EXPECT_TRUE(valid_port_name("fifteen-chars-x"));
    EXPECT_FALSE(valid_port_name(""));
    EXPECT_FALSE(valid_port_name("."));
    EXPECT_FALSE(valid_port_name(".."));
    EXPECT_FALSE(valid_port_name("a:b"));
    EXPECT_FALSE(valid_port_name("sixteen-chars-xx"));
}

}  // namespace
}  // namespace sgnic::cli
