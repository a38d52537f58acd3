// The LoadRules record format, rule file lines and the chunk machine (proto/load.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sgnic/proto/load.hpp"

namespace sgnic::proto::load {
namespace {

RuleRequest sample() {
    return {.matcher = 3,
            .directions = "rx",
            .match = {{"ipv4-dst", "10.0.0.0/24"}, {"ip-proto", "tcp"}},
            .actions = {"count", "queue 1"}};
}

TEST(ProtoLoadRecord, a_rule_is_one_tab_separated_line_and_parses_back) {
    std::string text;
    ASSERT_TRUE(append_record(text, sample()));
    EXPECT_EQ(text, "3\trx\tipv4-dst=10.0.0.0/24,ip-proto=tcp\tcount,queue 1\n");
    auto back = parse_record(std::string_view(text).substr(0, text.size() - 1));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, sample());
}

TEST(ProtoLoadRecord, empty_lists_and_a_two_word_direction_round_trip) {
    const RuleRequest r{
        .matcher = 18446744073709551615ULL, .directions = "rx,tx", .match = {}, .actions = {}};
    std::string text;
    ASSERT_TRUE(append_record(text, r));
    EXPECT_EQ(text, "18446744073709551615\trx,tx\t\t\n");
    auto back = parse_record(std::string_view(text).substr(0, text.size() - 1));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, r);
    // An empty value is a value (the daemon refuses it with its reason).
    auto empty_value = parse_record("1\tboth\tipv4-dst=\tdrop");
    ASSERT_TRUE(empty_value);
    EXPECT_EQ(empty_value->match, (std::vector<FieldText>{{"ipv4-dst", ""}}));
}

TEST(ProtoLoadRecord, texts_holding_a_separator_are_refused_and_nothing_is_written) {
    const std::vector<std::pair<RuleRequest, std::string>> cases = {
        {{.matcher = 1, .directions = "rx\t", .match = {}, .actions = {"drop"}}, "a tab"},
        {{.matcher = 1, .directions = "rx", .match = {{"ipv4-dst", "1,2"}}, .actions = {"drop"}},
         "','"},
        {{.matcher = 1, .directions = "rx", .match = {{"ipv4-dst", "a=b"}}, .actions = {"drop"}},
         "'='"},
        {{.matcher = 1, .directions = "rx", .match = {{"ip=v4", "1"}}, .actions = {"drop"}}, "'='"},
        {{.matcher = 1, .directions = "rx", .match = {{"", "1"}}, .actions = {"drop"}},
         "without its field name"},
        {{.matcher = 1, .directions = "rx", .match = {}, .actions = {"mark 1\n"}}, "a newline"},
        {{.matcher = 1, .directions = "rx", .match = {}, .actions = {"count", ""}},
         "an empty action"},
        {{.matcher = 1, .directions = "rx", .match = {}, .actions = {std::string(5000, 'x')}},
         "at most 4096"},
    };
    for (const auto& [rule, why] : cases) {
        std::string text = "kept";
        auto st = append_record(text, rule);
        ASSERT_FALSE(st) << why;
        EXPECT_NE(st.error().message().find(why), std::string::npos)
            << "expected '" << why << "' in: " << st.error().message();
        EXPECT_EQ(text, "kept");
    }
}

TEST(ProtoLoadRecord, every_malformed_form_is_refused_with_its_reason) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "empty record"},
        {"1\trx\tdrop",
         "4 tab-separated columns (matcher, directions, match, actions), this one 3"},
        {"1\trx\t\tdrop\textra", "this one 5"},
        {"0\trx\t\tdrop", "matcher '0' is not an id above 0"},
        {"x1\trx\t\tdrop", "matcher 'x1' is not an id above 0"},
        {"1x\trx\t\tdrop", "matcher '1x' is not an id above 0"},
        {"+1\trx\t\tdrop", "matcher '+1' is not an id above 0"},
        {"\trx\t\tdrop", "matcher '' is not an id above 0"},
        {"99999999999999999999\trx\t\tdrop", "is not an id above 0"},
        {"1\t\t\tdrop", "the directions column is empty"},
        {"1\trx\tipv4-dst\tdrop", "match 'ipv4-dst' is not <field>=<value>"},
        {"1\trx\t=10.0.0.1\tdrop", "match '=10.0.0.1' is not <field>=<value>"},
        {"1\trx\tipv4-dst=1=2\tdrop", "match 'ipv4-dst=1=2' holds '=' twice"},
        {"1\trx\tipv4-dst=1,\tdrop", "match '' is not <field>=<value>"},
        {"1\trx\t\tcount,,drop", "an empty action in 'count,,drop'"},
        {"1\trx\t\tdrop,", "an empty action in 'drop,'"},
        {std::string("1\trx\t\tdr\0p", 10), "byte 9 is not text"},
        {"1\trx\t\tdr\xffp", "byte 9 is not text"},
        {"1\trx\t\t\xc0\xaf", "byte 7 is not text"},      // overlong '/'
        {"1\trx\t\t\xed\xa0\x80", "byte 7 is not text"},  // a surrogate
    };
    for (const auto& [record, why] : cases) {
        auto r = parse_record(record);
        ASSERT_FALSE(r) << "accepted: " << record;
        EXPECT_NE(r.error().message().find(why), std::string::npos)
            << "record '" << record << "': expected '" << why << "' in: " << r.error().message();
        EXPECT_EQ(r.error().code(), Errc::invalid_argument);
    }
    EXPECT_TRUE(parse_record("1\trx\tipv4-dst=10.0.0.1\tmark 7 \xc3\xa9"));  // UTF-8 passes
}

TEST(ProtoLoadColumns, a_reused_list_holds_exactly_the_last_column_parsed) {
    std::vector<FieldText> match;
    std::vector<std::string> actions;
    ASSERT_TRUE(parse_match_column("ipv4-dst=10.0.0.1,l4-dport=53,ip-proto=udp", match));
    ASSERT_TRUE(parse_actions_column("count,mark 7,drop", actions));
    ASSERT_TRUE(parse_match_column("l4-dport=80", match));
    ASSERT_TRUE(parse_actions_column("drop", actions));
    EXPECT_EQ(match, (std::vector<FieldText>{{"l4-dport", "80"}}));
    EXPECT_EQ(actions, (std::vector<std::string>{"drop"}));
    ASSERT_TRUE(parse_match_column("", match));
    EXPECT_TRUE(match.empty());
    // The same reasons as the forms that return a new list.
    const auto bad = parse_match_column("l4-dport=80,ip-proto", match);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), parse_match_column("l4-dport=80,ip-proto").error().message());
    const auto empty = parse_actions_column("count,,drop", actions);
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().message(), "an empty action in 'count,,drop'");
}

TEST(ProtoLoadRecord, an_excerpt_is_short_whole_characters_and_text) {
    EXPECT_EQ(excerpt("1\trx\t\tdrop"), "1\trx\t\tdrop");
    const std::string long_record(100, 'a');
    EXPECT_EQ(excerpt(long_record), std::string(kExcerptBytes, 'a') + "...");
    // A two-byte character across the cut is left out whole.
    const std::string cut = std::string(kExcerptBytes - 1, 'a') + "\xc3\xa9" + "b";
    EXPECT_EQ(excerpt(cut), std::string(kExcerptBytes - 1, 'a') + "...");
    EXPECT_EQ(excerpt("a\xff"
                      "b"),
              "a?b");
    EXPECT_EQ(excerpt(std::string("a\0b", 3)), "a?b");
}

// A file in memory, read through ReadAt in small pieces.
struct MemoryFile {
    std::string content;
    std::size_t reads = 0;
    bool fail = false;
    RecordReader::ReadAt reader() {
        return [this](std::span<char> buf, std::uint64_t offset) -> Expected<std::size_t> {
            ++reads;
            if (fail) {
                return Error(Errc::device, "read at byte " + std::to_string(offset) + ": EIO");
            }
            if (offset >= content.size()) {
                return std::size_t{0};
            }
            const std::size_t n = std::min(buf.size(), content.size() - offset);
            std::memcpy(buf.data(), content.data() + offset, n);
            return n;
        };
    }
};

std::vector<std::string> all_records(RecordReader& reader, std::vector<bool>* too_long = nullptr) {
    std::vector<std::string> out;
    for (;;) {
        auto r = reader.next();
        EXPECT_TRUE(r) << r.error().message();
        if (!r || !*r) {
            return out;
        }
        EXPECT_EQ((*r)->index, out.size() + 1);
        out.emplace_back((*r)->text);
        if (too_long != nullptr) {
            too_long->push_back((*r)->too_long);
        }
    }
}

TEST(ProtoLoadReader, records_split_across_reads_come_whole_and_numbered) {
    MemoryFile f{.content = "1\trx\t\tdrop\n22\ttx\t\tcount\n333\tboth\t\taccept\n"};
    RecordReader reader(f.reader(), 5);  // blocks shorter than a record
    EXPECT_EQ(all_records(reader), (std::vector<std::string>{"1\trx\t\tdrop", "22\ttx\t\tcount",
                                                             "333\tboth\t\taccept"}));
    EXPECT_GT(f.reads, 8U);
}

TEST(ProtoLoadReader, an_empty_file_has_no_records_and_a_last_line_needs_no_newline) {
    MemoryFile empty;
    RecordReader none(empty.reader());
    EXPECT_TRUE(all_records(none).empty());

    MemoryFile f{.content = "a\nb"};
    RecordReader reader(f.reader(), 1);
    EXPECT_EQ(all_records(reader), (std::vector<std::string>{"a", "b"}));

    // An empty line is a record (which parse_record refuses).
    MemoryFile blank{.content = "a\n\nb\n"};
    RecordReader blanks(blank.reader());
    EXPECT_EQ(all_records(blanks), (std::vector<std::string>{"a", "", "b"}));
}

TEST(ProtoLoadReader, a_record_too_long_is_cut_and_the_next_one_read_whole) {
    const std::string huge(3 * kMaxRecordBytes + 17, 'x');
    for (const bool newline : {true, false}) {
        MemoryFile f{.content = "a\n" + huge + (newline ? "\nb\n" : "")};
        RecordReader reader(f.reader(), 1000);
        std::vector<bool> too_long;
        const auto records = all_records(reader, &too_long);
        ASSERT_EQ(records.size(), newline ? 3U : 2U);
        EXPECT_EQ(records[1], std::string(kMaxRecordBytes, 'x'));
        EXPECT_EQ(too_long, newline ? (std::vector<bool>{false, true, false})
                                    : (std::vector<bool>{false, true}));
        if (newline) {
            EXPECT_EQ(records[2], "b");
        }
    }
    // Exactly the limit is not too long.
    MemoryFile f{.content = std::string(kMaxRecordBytes, 'y') + "\n"};
    RecordReader reader(f.reader(), 100);
    std::vector<bool> too_long;
    EXPECT_EQ(all_records(reader, &too_long).at(0).size(), kMaxRecordBytes);
    EXPECT_EQ(too_long, std::vector<bool>{false});
}

TEST(ProtoLoadReader, a_read_error_is_reported_and_count_rest_counts_what_is_left) {
    MemoryFile f{.content = "a\nb\nc\nd"};
    RecordReader reader(f.reader(), 2);
    auto first = reader.next();
    ASSERT_TRUE(first && *first);
    auto rest = reader.count_rest();
    ASSERT_TRUE(rest);
    EXPECT_EQ(*rest, 3U);

    MemoryFile bad{.content = "a\n", .reads = 0, .fail = true};
    RecordReader broken(bad.reader());
    auto r = broken.next();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "read at byte 0: EIO");
}

TEST(ProtoLoadFailingIndex, reads_the_daemons_prefix) {
    std::string rest;
    EXPECT_EQ(failing_index("rule #12: ipv4-dst: bad", &rest), 12U);
    EXPECT_EQ(rest, "ipv4-dst: bad");
    EXPECT_FALSE(failing_index("store rules: disk full", &rest));
    EXPECT_FALSE(failing_index("rule #: x", &rest));
}

TEST(ProtoLoadChunkRetry, a_named_failure_drops_that_rule_and_the_rest_is_sent_again) {
    ChunkRetry c(5);
    EXPECT_EQ(c.pending(), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
    auto s = c.settle({.ok = false, .index = 2, .message = "bad", .fatal = false});
    EXPECT_EQ(s.failed, std::vector<std::size_t>{2});
    EXPECT_EQ(s.reason, "bad");
    EXPECT_EQ(s.loaded, 0U);
    EXPECT_EQ(c.pending(), (std::vector<std::size_t>{0, 1, 3, 4}));
    // The index names the rule in the batch sent, not in the chunk.
    s = c.settle({.ok = false, .index = 2, .message = "worse", .fatal = false});
    EXPECT_EQ(s.failed, std::vector<std::size_t>{3});
    s = c.settle({.ok = true, .index = {}, .message = {}, .fatal = false});
    EXPECT_EQ(s.loaded, 3U);
    EXPECT_TRUE(s.failed.empty());
    EXPECT_TRUE(c.done());
}

TEST(ProtoLoadChunkRetry, an_unnamed_or_out_of_range_failure_fails_the_chunk_and_fatal_says_stop) {
    ChunkRetry unnamed(3);
    auto s = unnamed.settle({.ok = false, .index = {}, .message = "busy", .fatal = false});
    EXPECT_EQ(s.failed, (std::vector<std::size_t>{0, 1, 2}));
    EXPECT_FALSE(s.fatal);
    EXPECT_TRUE(unnamed.done());

    ChunkRetry beyond(2);
    s = beyond.settle({.ok = false, .index = 7, .message = "odd", .fatal = false});
    EXPECT_EQ(s.failed, (std::vector<std::size_t>{0, 1}));

    ChunkRetry fatal(4);
    (void)fatal.settle({.ok = false, .index = 1, .message = "bad", .fatal = false});
    s = fatal.settle({.ok = false, .index = 0, .message = "read-only", .fatal = true});
    EXPECT_TRUE(s.fatal);
    EXPECT_EQ(s.failed, (std::vector<std::size_t>{0, 2, 3}));
    EXPECT_EQ(s.reason, "read-only");
    EXPECT_TRUE(fatal.done());
}

// A line that must hold a rule, parsed into a fresh RuleLine.
RuleLine rule_line(std::string_view line) {
    RuleLine out;
    auto r = parse_rule_line(line, out);
    EXPECT_TRUE(r) << "'" << line << "': " << r.error().message();
    EXPECT_TRUE(r && *r) << "'" << line << "' holds no rule";
    return out;
}

TEST(RuleLine, a_blank_line_or_a_comment_holds_no_rule) {
    const std::vector<std::string_view> lines = {
        "", " ", "\t", "\r", " \t\r \t", "#", "# x", "   # x", "\t#matcher 1 action drop\r",
    };
    for (const std::string_view line : lines) {
        RuleLine out;
        auto r = parse_rule_line(line, out);
        ASSERT_TRUE(r) << "'" << line << "': " << r.error().message();
        EXPECT_FALSE(*r) << "'" << line << "'";
    }
}

TEST(RuleLine, a_full_line_gives_its_port_matcher_directions_fields_and_actions) {
    const RuleLine l =
        rule_line("dev sgnic0 matcher 3 dir rx ipv4-dst 10.0.0.1 l4-dport 80 action count queue 2");
    EXPECT_EQ(l.port, "sgnic0");
    EXPECT_EQ(l.rule, (RuleRequest{.matcher = 3,
                                   .directions = "rx",
                                   .match = {{"ipv4-dst", "10.0.0.1"}, {"l4-dport", "80"}},
                                   .actions = {"count", "queue 2"}}));
}

TEST(RuleLine, words_come_in_any_order_before_action_and_any_blanks_separate_them) {
    const RuleLine l = rule_line(
        "\t ip-proto  tcp\tdir tx,rx matcher 18446744073709551615 dev eth0 action mark 7 accept\r");
    EXPECT_EQ(l.port, "eth0");
    // Directions, values and actions are kept as written: they are checked
    // where the rule is added.
    EXPECT_EQ(l.rule, (RuleRequest{.matcher = 18446744073709551615ULL,
                                   .directions = "tx,rx",
                                   .match = {{"ip-proto", "tcp"}},
                                   .actions = {"mark 7", "accept"}}));
    EXPECT_EQ(rule_line("matcher 2 action mark x frob").rule.actions,
              (std::vector<std::string>{"mark x", "frob"}));
}

TEST(RuleLine, a_line_without_dev_or_dir_names_no_port_and_both_directions) {
    const RuleLine l = rule_line("matcher 1 action drop");
    EXPECT_EQ(l.port, "");
    EXPECT_EQ(l.rule,
              (RuleRequest{.matcher = 1, .directions = "both", .match = {}, .actions = {"drop"}}));
}

TEST(RuleLine, a_comment_ends_the_rule_even_glued_to_a_word) {
    const RuleRequest udp_drop{
        .matcher = 1, .directions = "both", .match = {{"ip-proto", "udp"}}, .actions = {"drop"}};
    EXPECT_EQ(rule_line("matcher 1 ip-proto udp action drop # why").rule, udp_drop);
    EXPECT_EQ(rule_line("matcher 1 ip-proto udp action drop#x queue 3").rule, udp_drop);
    EXPECT_EQ(rule_line("matcher 1 ip-proto udp action drop#").rule, udp_drop);
    // What follows '#' is not read: here the action is commented out.
    RuleLine out;
    auto r = parse_rule_line("matcher 1 ip-proto udp#x action drop", out);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("a rule needs an action"), std::string::npos)
        << r.error().message();
}

TEST(RuleLine, a_repeated_action_keyword_continues_the_action_list) {
    EXPECT_EQ(rule_line("matcher 1 l4-dport 1 action count action drop").rule,
              (RuleRequest{.matcher = 1,
                           .directions = "both",
                           .match = {{"l4-dport", "1"}},
                           .actions = {"count", "drop"}}));
    EXPECT_EQ(rule_line("matcher 1 action mark 5 action queue 2 action accept").rule.actions,
              (std::vector<std::string>{"mark 5", "queue 2", "accept"}));
}

TEST(RuleLine, a_reused_rule_line_holds_exactly_the_last_rule_parsed) {
    RuleLine out;
    auto first = parse_rule_line(
        "dev sgnic0 matcher 3 dir rx ipv4-dst 10.0.0.1 l4-dport 80 action count queue 2", out);
    ASSERT_TRUE(first && *first);
    auto second = parse_rule_line("matcher 5 ip-proto udp action drop", out);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_TRUE(*second);
    EXPECT_EQ(out.port, "");
    EXPECT_EQ(out.rule, (RuleRequest{.matcher = 5,
                                     .directions = "both",
                                     .match = {{"ip-proto", "udp"}},
                                     .actions = {"drop"}}));
    // A line without a rule between two rules changes nothing that matters.
    auto blank = parse_rule_line("  # nothing", out);
    ASSERT_TRUE(blank);
    EXPECT_FALSE(*blank);
    auto third = parse_rule_line("dev eth1 matcher 9 dir tx action count count count", out);
    ASSERT_TRUE(third && *third);
    EXPECT_EQ(out.port, "eth1");
    EXPECT_EQ(out.rule, (RuleRequest{.matcher = 9,
                                     .directions = "tx",
                                     .match = {},
                                     .actions = {"count", "count", "count"}}));
}

TEST(RuleLine, an_unexpected_word_is_named_with_the_fields_and_the_rule_syntax) {
    RuleLine out;
    auto r = parse_rule_line("frobnicate everything", out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::invalid_argument);
    EXPECT_EQ(r.error().message(),
              "unexpected word 'frobnicate' in a rule (fields are dmac, smac, ethertype, vlan-id, "
              "ipv4-src, ipv4-dst, ipv6-src, ipv6-dst, ip-proto, l4-sport, l4-dport; a rule is "
              "[dev PORT] matcher ID [dir rx|tx|both] FIELD VALUE... action ACTION...)");
}

TEST(RuleLine, every_malformed_line_is_refused_naming_the_word_at_fault) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"matcher 1 l4-dport 1 bogus action drop", "unexpected word 'bogus' in a rule"},
        {"matcher 1 IPV4-DST 10.0.0.1 action drop", "unexpected word 'IPV4-DST' in a rule"},
        {"l4-dport 1 action drop",
         "a rule needs matcher ID (a rule is [dev PORT] matcher ID [dir rx|tx|both] FIELD "
         "VALUE... action ACTION...)"},
        {"matcher 0 action drop", "matcher id '0' is not a number above 0"},
        {"matcher x action drop", "matcher id 'x' is not a number above 0"},
        {"matcher 1x action drop", "matcher id '1x' is not a number above 0"},
        {"matcher -1 action drop", "matcher id '-1' is not a number above 0"},
        {"matcher 18446744073709551616 action drop",
         "matcher id '18446744073709551616' is not a number above 0"},
        {"matcher", "'matcher' needs an ID after it"},
        {"matcher # 1 action drop", "'matcher' needs an ID after it"},
        {"matcher 1 l4-dport 80",
         "a rule needs an action (end the rule with action drop|count|mark N|queue N|accept)"},
        {"matcher 1 action",
         "'action' needs an action after it (actions are drop, count, mark N, queue N, accept)"},
        {"matcher 1 action count action", "'action' needs an action after it"},
        {"matcher 1 action queue", "action 'queue' needs a number after it"},
        {"matcher 1 action queue action drop", "action 'queue' needs a number after it"},
        {"matcher 1 action drop mark", "action 'mark' needs a number after it"},
        {"matcher 1 l4-dport", "field 'l4-dport' needs a VALUE after it"},
        {"matcher 1 ipv4-dst #10.0.0.1 action drop", "field 'ipv4-dst' needs a VALUE after it"},
        {"matcher 1 l4-dport 80 ip-proto tcp l4-dport 81 action drop",
         "field 'l4-dport' is given twice"},
        {"matcher 1 dir up action drop", "direction 'up' is not one of rx, tx, both"},
        {"matcher 1 dir RX action drop", "direction 'RX' is not one of rx, tx, both"},
        {"matcher 1 dir", "'dir' needs rx, tx or both after it"},
        {"dev", "'dev' needs a PORT after it"},
        {"dev  \t", "'dev' needs a PORT after it"},
        {"dev 0123456789abcdef matcher 1 action drop",
         "port name '0123456789abcdef' is not a valid netdev name (at most 15 characters, no '/' "
         "or ':')"},
        {"dev a/b matcher 1 action drop", "port name 'a/b' is not a valid netdev name"},
        {"dev a:1 matcher 1 action drop", "port name 'a:1' is not a valid netdev name"},
        {"dev . matcher 1 action drop", "port name '.' is not a valid netdev name"},
        {"dev .. matcher 1 action drop", "port name '..' is not a valid netdev name"},
        {"matcher 1 action \xff", "byte 18 is not text (UTF-8 without NUL)"},
        {"matcher 1 action dr\xc3", "byte 20 is not text (UTF-8 without NUL)"},
        {std::string("matcher 1 action dr\0p", 21), "byte 20 is not text (UTF-8 without NUL)"},
    };
    for (const auto& [line, why] : cases) {
        RuleLine out;
        auto r = parse_rule_line(line, out);
        ASSERT_FALSE(r) << "accepted: '" << line << "'";
        EXPECT_NE(r.error().message().find(why), std::string::npos)
            << "line '" << line << "': expected '" << why << "' in: " << r.error().message();
        EXPECT_EQ(r.error().code(), Errc::invalid_argument) << line;
    }
}

TEST(RuleLine, a_byte_that_is_not_text_is_named_wherever_it_is) {
    // Text is checked eight bytes at a time, then byte by byte: the byte is
    // found at every offset from such a block's start.
    for (const char bad : {'\xff', '\0', '\x80'}) {
        for (std::size_t k = 0; k < 17; ++k) {
            std::string line = "matcher 1 action d" + std::string(k, 'r');
            const std::size_t at = line.size() + 1;
            line += bad;
            line += "op";
            RuleLine out;
            auto r = parse_rule_line(line, out);
            ASSERT_FALSE(r) << "accepted: '" << line << "'";
            EXPECT_EQ(r.error().message(),
                      "byte " + std::to_string(at) + " is not text (UTF-8 without NUL)")
                << "k=" << k;
        }
    }
    // Two-, three- and four-byte characters in a word pass at any offset
    // from a block's start ("dev " and k bytes before them; 9 bytes, so the
    // 15-byte port name leaves k up to 6, and 4 + 6 > 8 crosses a block).
    const std::string chars = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    for (std::size_t k = 0; k <= 6; ++k) {
        const std::string port = std::string(k, 'a') + chars;
        EXPECT_EQ(rule_line("dev " + port + " matcher 1 action drop").port, port) << "k=" << k;
    }
}

TEST(RuleLine, a_port_name_of_15_characters_and_utf8_text_pass) {
    EXPECT_EQ(rule_line("dev 0123456789abcde matcher 1 action drop").port, "0123456789abcde");
    EXPECT_EQ(rule_line("dev caf\xc3\xa9 matcher 1 action mark 7").port, "caf\xc3\xa9");
}

TEST(RuleLine, holds_rule_is_true_for_a_word_before_any_comment) {
    for (const std::string_view line :
         {"matcher 1 action drop", "x", "  frobnicate # x", "\tdev#", "matcher", "\r\xff"}) {
        EXPECT_TRUE(holds_rule(line)) << "'" << line << "'";
    }
    for (const std::string_view line :
         {"", " ", "\t\r ", "#", "# matcher 1 action drop", "   # x", "\t#x"}) {
        EXPECT_FALSE(holds_rule(line)) << "'" << line << "'";
    }
}

// Words and plain() as the byte table alone says, one byte at a time: what
// RuleLineWords must give, however it reads the line.
std::pair<std::vector<std::string>, bool> words_by_table(std::string_view line) {
    std::vector<std::string> words;
    bool plain = true;
    std::string word;
    for (const char c : line) {
        const LineByte kind = kLineBytes[static_cast<unsigned char>(c)];
        if (kind == LineByte::comment) {
            if (!word.empty()) {
                words.push_back(word);
            }
            return {words, false};
        }
        if (kind == LineByte::blank) {
            if (!word.empty()) {
                words.push_back(std::exchange(word, {}));
            }
            continue;
        }
        plain = plain && kind != LineByte::unusual;
        word.push_back(c);
    }
    if (!word.empty()) {
        words.push_back(word);
    }
    return {words, plain};
}

TEST(RuleLine, words_split_as_the_byte_table_says_at_every_offset_of_every_byte) {
    // Each byte next to the ones the splitter tells apart ('!' and '"' below
    // and '$' above '#', DEL, the ends of the ASCII range), at every position
    // of a line longer than the eight bytes read at once, and random lines.
    const std::string odd{"\0\x01\t\r\x1f !\"#$\x7f\x80\xff", 13};
    std::vector<std::string> lines;
    for (const char c : odd) {
        for (std::size_t at = 0; at < 20; ++at) {
            std::string line = "matcher 12 dir rx ipv4-dst";
            line[at] = c;
            lines.push_back(line);
            lines.push_back(line.substr(0, at + 1));
        }
    }
    std::uint64_t seed = 0x9e3779b97f4a7c15;
    const std::string alphabet = odd + "abz019.-";
    for (int n = 0; n < 20000; ++n) {
        seed = seed * 6364136223846793005 + 1442695040888963407;
        std::string line(static_cast<std::size_t>(seed >> 59), 'x');
        for (char& c : line) {
            seed = seed * 6364136223846793005 + 1442695040888963407;
            c = alphabet[(seed >> 33) % alphabet.size()];
        }
        lines.push_back(line);
    }
    for (const std::string& line : lines) {
        const auto [expected, plain] = words_by_table(line);
        RuleLineWords words(line);
        std::vector<std::string> got;
        for (std::string_view w = words.next(); !w.empty(); w = words.next()) {
            got.emplace_back(w);
        }
        EXPECT_EQ(got, expected) << testing::PrintToString(line);
        EXPECT_EQ(words.plain(), plain) << testing::PrintToString(line);
    }
}

TEST(RuleLine, rule_line_target_reads_the_matcher_and_directions_before_the_actions) {
    using Target = std::optional<std::pair<std::uint64_t, Directions>>;
    EXPECT_EQ(rule_line_target("matcher 7 dir tx l4-dport 1 action drop"),
              (Target{{7, Directions::tx_only()}}));
    EXPECT_EQ(rule_line_target("dev sgnic0 dir rx matcher 3 action count"),
              (Target{{3, Directions::rx_only()}}));
    EXPECT_EQ(rule_line_target("matcher 7 dir rx,tx action drop"),
              (Target{{7, Directions::both()}}));
    EXPECT_EQ(rule_line_target("matcher 7 l4-dport 1 action drop"),
              (Target{{7, Directions::both()}}));
    // Words after `action` are actions, never the target.
    EXPECT_EQ(rule_line_target("matcher 7 action drop dir rx"), (Target{{7, Directions::both()}}));
    EXPECT_EQ(rule_line_target("matcher 7 action drop matcher 8"),
              (Target{{7, Directions::both()}}));
    // Nor are the words of a comment.
    EXPECT_EQ(rule_line_target("matcher 7 # dir tx"), (Target{{7, Directions::both()}}));
    // A port or a value is never a keyword, as parse_rule_line reads them.
    EXPECT_EQ(rule_line_target("dev dir matcher 3 action drop"), (Target{{3, Directions::both()}}));
    EXPECT_EQ(rule_line_target("dev matcher matcher 3 action drop"),
              (Target{{3, Directions::both()}}));
    EXPECT_EQ(rule_line_target("matcher 1 l4-dport matcher dir tx action drop"),
              (Target{{1, Directions::tx_only()}}));
    // Once both are known the rest is not read: a line that names either
    // twice fails when it is parsed, and its count is only a size.
    EXPECT_EQ(rule_line_target("matcher 7 dir rx matcher 8 dir bogus action drop"),
              (Target{{7, Directions::rx_only()}}));
}

// "matcher N dir D ..." is read without splitting it into words; it and the
// lines that only look like it read as the words do.
TEST(RuleLine, rule_line_target_reads_the_written_form_as_the_words_do) {
    using Target = std::optional<std::pair<std::uint64_t, Directions>>;
    EXPECT_EQ(rule_line_target("matcher 12 dir rx ipv4-dst 10.0.0.1 action count"),
              (Target{{12, Directions::rx_only()}}));
    EXPECT_EQ(rule_line_target("matcher 007 dir both action drop"),
              (Target{{7, Directions::both()}}));
    EXPECT_EQ(rule_line_target("matcher 7 dir rx,tx"), (Target{{7, Directions::both()}}));
    EXPECT_EQ(rule_line_target("matcher 7 dir tx# comment"), (Target{{7, Directions::tx_only()}}));
    EXPECT_EQ(rule_line_target("matcher 7 dir tx\taction drop"),
              (Target{{7, Directions::tx_only()}}));
    // Not the written form: the words decide.
    EXPECT_EQ(rule_line_target("matcher 7\tdir tx action drop"),
              (Target{{7, Directions::tx_only()}}));
    EXPECT_EQ(rule_line_target("matcher  7 dir  tx action drop"),
              (Target{{7, Directions::tx_only()}}));
    EXPECT_EQ(rule_line_target("matcher 7x dir tx matcher 8 action drop"),
              (Target{{8, Directions::tx_only()}}));
    for (const char* line :
         {"matcher 0 dir rx action drop", "matcher +7 dir rx action drop",
          "matcher 18446744073709551616 dir rx action drop", "matcher 7 dir rxx action drop",
          "matcher 7 dir rx\x80 action drop", "matcher 7 dir  action drop", "matcher 7 dir "}) {
        EXPECT_EQ(rule_line_target(line), Target{}) << "'" << line << "'";
    }
}

// Lines read in order, each changed from the one before at one byte (or cut
// there), get from one RuleLineTargets what rule_line_target says of each
// alone: a line is read on from the one before only when its start says
// the same.
TEST(RuleLine, rule_line_targets_read_in_order_say_what_each_line_alone_says) {
    const std::vector<std::string> shapes = {
        "matcher 12 dir rx ipv4-dst 10.0.0.1 action count",
        "matcher 7 dir tx\tl4-dport 80 action drop",
        "matcher 3 dir rx,tx action count # both",
        "dev sgnic0 matcher 5 dir rx action drop",
    };
    const std::string changes = "0123456789 \t#xrtab,\x80";
    std::uint64_t seed = 0x9e3779b97f4a7c15U;
    auto next = [&seed](std::uint64_t below) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        return seed % below;
    };
    std::size_t reused = 0;
    for (const std::string& shape : shapes) {
        RuleLineTargets targets;
        std::string line = shape;
        std::string before;
        for (int i = 0; i < 20000; ++i) {
            // From the shape now and then, so the lines stay near it.
            std::string changed = next(8) == 0 ? shape : line;
            const std::size_t at = next(changed.size() + 1);
            if (next(10) == 0) {
                changed.resize(at);
            } else if (at < changed.size()) {
                changed[at] = changes[next(changes.size())];
            } else {
                changed.push_back(changes[next(changes.size())]);
            }
            line = changed;
            if (line.compare(0, 17, before, 0, 17) == 0) {
                ++reused;
            }
            ASSERT_EQ(targets(line), rule_line_target(line))
                << "'" << line << "' after '" << before << "'";
            before = line;
        }
    }
    EXPECT_GT(reused, 10000U);  // the lines did begin alike
}

TEST(RuleLine, a_comment_may_hold_bytes_that_are_not_text) {
    RuleLine line;
    auto r = parse_rule_line("matcher 1 action drop # caf\xe9", line);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(*r);
    EXPECT_EQ(line.rule.actions, std::vector<std::string>{"drop"});
}

TEST(RuleLine, rule_line_target_is_nullopt_without_a_readable_matcher_or_directions) {
    for (const std::string_view line :
         {"", "# matcher 7", "l4-dport 1 action drop", "matcher", "matcher 0 action drop",
          "matcher x action drop", "matcher 7 dir up action drop", "matcher 7 dir",
          "action drop matcher 7", "dir rx action matcher 7"}) {
        EXPECT_EQ(rule_line_target(line), std::nullopt) << "'" << line << "'";
    }
}

TEST(RuleLine, a_rule_written_as_a_line_reads_back_the_same) {
    const RuleRequest rule{.matcher = 3,
                           .directions = "rx",
                           .match = {{.field = "ipv4-dst", .text = "10.0.0.1"}},
                           .actions = {"count", "mark 7"}};
    std::string text = "# first\n";
    ASSERT_TRUE(
        append_rule_line(text, "sgnic0", rule.matcher, rule.directions, rule.match, rule.actions));
    EXPECT_EQ(
        text,
        "# first\ndev sgnic0 matcher 3 dir rx ipv4-dst 10.0.0.1 action count action mark 7\n");
    RuleLine back;
    const auto parsed = parse_rule_line(text.substr(8, text.size() - 9), back);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(back.port, "sgnic0");
    EXPECT_EQ(back.rule, rule);
    // A word a line cannot carry is refused by name, and nothing is written.
    const auto refused =
        append_rule_line(text, "a#b", rule.matcher, rule.directions, rule.match, rule.actions);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message(), "'a#b' holds a blank or '#': a rule line cannot carry it");
    const std::vector<FieldText> blank_value{{.field = "ipv4-dst", .text = "10 0"}};
    EXPECT_FALSE(append_rule_line(text, "", 1, "rx", blank_value, rule.actions));
    EXPECT_TRUE(text.ends_with("mark 7\n"));
}

}  // namespace
}  // namespace sgnic::proto::load
