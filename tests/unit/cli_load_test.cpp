// `rule load`: both file forms, and the chunked sender that drops the rule
// an all-or-nothing batch names and sends the rest again.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "cli/load.hpp"

namespace sgnic::cli {
namespace {

// A whole file's rules and refusals, in file order (each_rule collected).
struct ParsedFile {
    std::vector<LoadItem> items;
    std::vector<LoadFailure> failures;
};

ParsedFile parse_rule_file(std::string_view content) {
    ParsedFile out;
    each_rule(
        content, [&out](LoadItem&& item) { out.items.push_back(std::move(item)); },
        [&out](LoadFailure&& failure) { out.failures.push_back(std::move(failure)); });
    return out;
}

TEST(CliLoad, text_form_with_comments_blank_lines_and_bad_lines) {
    const ParsedFile f = parse_rule_file(
        "# header\n"
        "\n"
        "matcher 1 dir rx ipv4-dst 10.0.0.0 action drop\n"
        "matcher 1 ipv4-dst 10.0.0.999 action drop\n"
        "   dev sg0 matcher 2 dir rx ip-proto udp action count queue 4   # trailing\n"
        "matcher 1 action\n"
        "matcher 1 ipv4-dst 10.0.0.1 action mark 2\n");
    ASSERT_EQ(f.items.size(), 2U);
    EXPECT_EQ(f.items[0].where, "line 3");
    EXPECT_EQ(f.items[0].rule.directions, "rx");
    EXPECT_EQ(f.items[1].where, "line 5");
    EXPECT_EQ(f.items[1].rule.port, "sg0");
    EXPECT_EQ(f.items[1].rule.actions, (std::vector<std::string>{"count", "queue 4"}));
    ASSERT_EQ(f.failures.size(), 3U);
    EXPECT_EQ(f.failures[0].where, "line 4");
    EXPECT_NE(f.failures[0].reason.find("10.0.0.999"), std::string::npos) << f.failures[0].reason;
    EXPECT_EQ(f.failures[1].where, "line 6");
    EXPECT_NE(f.failures[1].reason.find("'action' needs an action"), std::string::npos);
    // mark acts on received frames: a rule of both directions (the default) is refused.
    EXPECT_EQ(f.failures[2].where, "line 7");
    EXPECT_NE(f.failures[2].reason.find("direction must be rx, not both"), std::string::npos)
        << f.failures[2].reason;
}

TEST(CliLoad, json_form_array_or_object_and_list_output) {
    const ParsedFile a = parse_rule_file(R"([
        {"matcher": 1, "dir": "rx", "match": {"ip-proto": "tcp", "l4-dport": 443},
         "actions": ["count", "mark 3"]},
        {"port": "sg0", "matcher": 2, "directions": "both",
         "match": [{"field": "ipv4-src", "value": "10.0.0.1"}], "actions": "drop",
         "id": 77, "counters": null}
    ])");
    ASSERT_TRUE(a.failures.empty()) << a.failures[0].reason;
    ASSERT_EQ(a.items.size(), 2U);
    EXPECT_EQ(a.items[0].where, "rule 1");
    EXPECT_EQ(a.items[0].rule.directions, "rx");
    EXPECT_EQ(a.items[0].rule.match,
              (std::vector<proto::FieldText>{{"ip-proto", "tcp"}, {"l4-dport", "443"}}));
    EXPECT_EQ(a.items[0].rule.actions, (std::vector<std::string>{"count", "mark 3"}));
    EXPECT_EQ(a.items[1].rule.port, "sg0");
    EXPECT_EQ(a.items[1].rule.matcher, 2U);

    const ParsedFile o = parse_rule_file(R"({"rules": [
        {"matcher": 1, "actions": ["drop"]},
        {"matcher": "1", "actions": ["drop"]},
        {"matcher": 1, "match": 5, "actions": ["drop"]},
        {"matcher": 1, "actions": [3]},
        {"actions": ["drop"]},
        {"matcher": 1, "match": {"ip-proto": "tcpx"}, "actions": ["drop"]},
        7
    ]})");
    ASSERT_EQ(o.items.size(), 1U);
    ASSERT_EQ(o.failures.size(), 6U);
    EXPECT_EQ(o.failures[0].where, "rule 2");
    EXPECT_EQ(o.failures[0].reason, "\"matcher\" must be a number above 0, not \"1\"");
    EXPECT_EQ(o.failures[1].reason, "\"match\" must be an object or an array");
    EXPECT_EQ(o.failures[2].reason, "\"actions\" must hold strings, not 3");
    EXPECT_EQ(o.failures[3].reason, "a rule needs \"matcher\"");
    EXPECT_NE(o.failures[4].reason.find("tcpx"), std::string::npos);
    EXPECT_EQ(o.failures[5].reason, "a rule must be a JSON object");

    const ParsedFile broken = parse_rule_file("[{\"matcher\": 1,");
    ASSERT_EQ(broken.failures.size(), 1U);
    EXPECT_EQ(broken.failures[0].where, "file");
    EXPECT_NE(broken.failures[0].reason.find("not valid JSON"), std::string::npos);
    EXPECT_EQ(parse_rule_file(R"({"rule": []})").failures.size(), 1U);
}

TEST(CliLoad, failing_index_reads_the_daemons_prefix) {
    std::string rest;
    EXPECT_EQ(failing_index("rule #12: ipv4-dst: bad", &rest), 12U);
    EXPECT_EQ(rest, "ipv4-dst: bad");
    EXPECT_FALSE(failing_index("store rules: disk full", &rest));
    EXPECT_FALSE(failing_index("rule #: x", &rest));
}

std::vector<LoadItem> items(int n) {
    std::vector<LoadItem> out;
    for (int i = 0; i < n; ++i) {
        RuleText r;
        r.matcher = 1;
        r.actions = {"drop"};
        out.push_back({"line " + std::to_string(i + 1), r, static_cast<std::size_t>(i + 1)});
    }
    return out;
}

TEST(CliLoad, a_named_failure_drops_that_rule_and_resends_the_rest) {
    const auto all = items(10);
    std::vector<std::vector<std::string>> calls;
    // Rules "line 3" and "line 8" are refused; the batch is all or nothing.
    auto send = [&](std::span<const LoadItem> batch) {
        std::vector<std::string> names;
        for (const auto& it : batch) {
            names.push_back(it.where);
        }
        calls.push_back(names);
        BatchResult r;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (batch[i].where == "line 3" || batch[i].where == "line 8") {
                r.index = i;
                r.message = batch[i].where + " is bad";
                return r;
            }
        }
        r.ok = true;
        return r;
    };
    std::vector<std::uint64_t> progress;
    const LoadReport rep =
        send_in_chunks(all, 4, send, [&](std::uint64_t d) { progress.push_back(d); });
    EXPECT_EQ(rep.loaded, 8U);
    ASSERT_EQ(rep.failures.size(), 2U);
    EXPECT_EQ(rep.failures[0].where, "line 3");
    EXPECT_EQ(rep.failures[0].reason, "line 3 is bad");
    EXPECT_EQ(rep.failures[1].where, "line 8");
    EXPECT_FALSE(rep.aborted);
    // Chunk 1: 1-4 refused at 3, then 1,2,4; chunk 2: 5-8 refused at 8,
    // then 5-7; chunk 3: 9,10.
    ASSERT_EQ(calls.size(), 5U);
    EXPECT_EQ(calls[1], (std::vector<std::string>{"line 1", "line 2", "line 4"}));
    EXPECT_EQ(calls[3], (std::vector<std::string>{"line 5", "line 6", "line 7"}));
    EXPECT_EQ(progress.back(), 10U);
}

TEST(CliLoad, an_unnamed_failure_fails_the_chunk_and_a_fatal_one_everything) {
    const auto all = items(6);
    int call = 0;
    auto send = [&](std::span<const LoadItem> /*batch*/) {
        BatchResult r;
        if (++call == 1) {
            r.message = "store rules: disk full";
            return r;
        }
        r.ok = true;
        return r;
    };
    const LoadReport rep = send_in_chunks(all, 4, send, [](std::uint64_t) {});
    EXPECT_EQ(rep.loaded, 2U);
    ASSERT_EQ(rep.failures.size(), 4U);
    EXPECT_EQ(rep.failures[3].reason, "store rules: disk full");

    auto denied = [](std::span<const LoadItem>) {
        return BatchResult{.ok = false, .index = {}, .message = "denied", .fatal = true};
    };
    const LoadReport d = send_in_chunks(all, 4, denied, [](std::uint64_t) {});
    EXPECT_TRUE(d.aborted);
    EXPECT_EQ(d.loaded, 0U);
    EXPECT_EQ(d.failures.size(), 6U);
    EXPECT_EQ(d.failures[5].where, "line 6");
}

TEST(CliLoad, records_for_load_rules_keep_the_items_order_and_refuse_what_cannot_travel) {
    auto all = items(3);
    all[1].rule.match = {{"ipv4-dst", "10.0.0.1,10.0.0.2"}};
    all[2].rule.directions = "rx";
    all[2].rule.match = {{"ipv4-dst", "10.0.0.3"}};
    all[2].rule.actions = {"count", "mark 5"};
    Records r;
    for (const LoadItem& item : all) {
        r.add(item);
    }
    // The refused rule left nothing of itself in the text.
    EXPECT_EQ(r.text, "1\tboth\t\tdrop\n1\trx\tipv4-dst=10.0.0.3\tcount,mark 5\n");
    ASSERT_EQ(r.sent.size(), 2U);
    EXPECT_EQ(r.sent[0].where, "line 1");
    EXPECT_EQ(r.sent[1].where, "line 3");
    EXPECT_EQ(r.sent[1].position, 3U);
    ASSERT_EQ(r.refused.size(), 1U);
    EXPECT_EQ(r.refused[0].where, "line 2");
    EXPECT_EQ(r.refused[0].reason,
              "ipv4-dst: value '10.0.0.1,10.0.0.2' holds ',', which no value can");
}

TEST(CliLoad, each_rule_walks_the_file_in_order_and_rules_at_reads_the_named_ones_again) {
    const std::string file =
        "matcher 1 ipv4-dst 10.0.0.1 action drop\n"
        "matcher 1 ipv4-dst bad action drop\n"
        "# comment\n"
        "matcher 2 dir rx action count\n"
        "matcher 1 ipv4-dst 10.0.0.4 action count\n";
    std::vector<std::string> seen;
    each_rule(
        file, [&](LoadItem&& item) { seen.push_back(item.where); },
        [&](LoadFailure&& failure) { seen.push_back(failure.where + " refused"); });
    EXPECT_EQ(seen, (std::vector<std::string>{"line 1", "line 2 refused", "line 4", "line 5"}));

    const std::vector<RuleName> names{{"line 1", 1}, {"line 5", 5}};
    const std::vector<LoadItem> again = rules_at(file, names);
    ASSERT_EQ(again.size(), 2U);
    EXPECT_EQ(again[0].rule.match, (std::vector<proto::FieldText>{{"ipv4-dst", "10.0.0.1"}}));
    EXPECT_EQ(again[1].where, "line 5");
    EXPECT_EQ(again[1].rule.actions, (std::vector<std::string>{"count"}));
    EXPECT_TRUE(rules_at(file, {}).empty());
}

// A file over a megabyte is counted in two halves at once: the counts are
// those of the whole, whichever line the split falls on.
TEST(CliLoad, a_large_text_file_is_counted_as_a_whole) {
    const std::vector<std::string> kinds = {
        "matcher 3 dir rx ipv4-dst 10.0.0.1 action count\n",
        "matcher 4 ipv4-dst 10.0.0.2 action count # both ways\n",
        "# a comment\n",
        "\n",
        "frobnicate everything\n",
        "matcher 3 dir tx l4-dport 80 action drop\n",
    };
    for (std::size_t shift = 0; shift < kinds.size(); ++shift) {
        std::string content;
        std::uint64_t rules = 0;
        RuleCounts expected;
        for (std::size_t i = 0; content.size() < (std::size_t{3} << 19); ++i) {
            const std::size_t k = (i * 7 + shift) % kinds.size();
            content += kinds[k];
            rules += k == 2 || k == 3 ? 0 : 1;
            if (k == 0) {
                ++expected[3].first;
            } else if (k == 1) {
                ++expected[4].first;
                ++expected[4].second;
            } else if (k == 5) {
                ++expected[3].second;
            }
        }
        content.pop_back();  // the last line without its newline
        const RuleLines lines = rule_lines(content);
        EXPECT_EQ(lines.rules, rules) << "shift " << shift;
        EXPECT_EQ(lines.per_matcher, expected) << "shift " << shift;
    }
}

TEST(CliLoad, a_text_file_goes_as_it_is_and_its_rule_lines_are_named_by_line_number) {
    const std::string content =
        "# rules\n"
        "\n"
        "matcher 3 dir rx ipv4-dst 10.0.0.1 action count   # kept whole\n"
        "   \t\r\n"
        "frobnicate everything\n"
        "  # indented comment\n"
        "matcher 3 l4-dport 80 action drop";  // no newline at the end
    const RuleLines lines = rule_lines(content);
    // Unparsed and uncopied: sgnicd reads and judges the file, "frobnicate"
    // included; only its rule lines are counted here.
    EXPECT_TRUE(lines.verbatim);
    EXPECT_EQ(lines.text, "");
    EXPECT_EQ(lines.rules, 3U);
    EXPECT_TRUE(lines.sent.empty());
    EXPECT_TRUE(lines.refused.empty());
    // Per matcher, as sgnicd's presize counts (the default is both ways);
    // "frobnicate" names no matcher and counts only in the total.
    EXPECT_EQ(lines.per_matcher, (RuleCounts{{3, {2, 1}}}));
    const std::vector<RuleName> names = rule_line_names(content);
    ASSERT_EQ(names.size(), 3U);
    EXPECT_EQ(names[0].where, "line 3");
    EXPECT_EQ(names[0].position, 3U);
    EXPECT_EQ(names[1].where, "line 5");
    EXPECT_EQ(names[2].where, "line 7");
    EXPECT_EQ(names[2].position, 7U);
    EXPECT_EQ(rule_lines("# nothing\n\n").rules, 0U);
    EXPECT_EQ(rule_lines("").rules, 0U);

    // sgnicd names failures by the file's line numbers; the report counts
    // rule lines: line 5 is the second, line 4 none (named nowhere).
    const JobOutcome job{.loaded = 1, .failures = {{5, "bad"}, {4, "odd"}}, .error = ""};
    const JobOutcome by_rank = ranked(job, names);
    EXPECT_EQ(by_rank.failures,
              (std::vector<std::pair<std::uint64_t, std::string>>{{2, "bad"}, {0, "odd"}}));
    LoadReport report;
    add_job_outcome(report, names, by_rank);
    EXPECT_EQ(report.loaded, 1U);
    ASSERT_EQ(report.failures.size(), 1U);
    EXPECT_EQ(report.failures[0].where, "line 5");
    EXPECT_EQ(report.failures[0].reason, "bad");

    // Ended early after the first rule: the third fails with the reason.
    LoadReport aborted;
    add_job_outcome(aborted, names,
                    ranked({.loaded = 1, .failures = {{5, "bad"}}, .error = "cancelled"}, names));
    ASSERT_EQ(aborted.failures.size(), 2U);
    EXPECT_EQ(aborted.failures[1].where, "line 7");
    EXPECT_EQ(aborted.failures[1].reason, "cancelled");
    EXPECT_TRUE(aborted.aborted);
}

TEST(CliLoad, a_count_made_in_pieces_is_the_count_of_the_whole_text) {
    const std::string text =
        "\n# rules\n"
        "matcher 3 dir rx ipv4-dst 10.0.0.1 action count\n"
        "dev sg0 matcher 4 dir both l4-dport 80 action drop\n"
        "frobnicate\n"
        "matcher 3 dir tx action count";
    const RuleLines whole = rule_lines(text);
    ASSERT_EQ(whole.rules, 4U);  // "frobnicate" too: sgnicd refuses it
    // Split after each line, as RuleFile's follower hands the text over.
    for (std::size_t cut = text.find('\n'); cut != std::string::npos;
         cut = text.find('\n', cut + 1)) {
        RuleLineCount count;
        count.add(std::string_view(text).substr(0, cut + 1));
        count.add(std::string_view(text).substr(cut + 1));
        const RuleLines lines = rule_lines(text, &count);
        EXPECT_TRUE(lines.verbatim);
        EXPECT_EQ(lines.rules, whole.rules) << "cut at " << cut;
        EXPECT_EQ(lines.per_matcher, whole.per_matcher) << "cut at " << cut;
    }
    // A count of part of the text is not the text's: it is counted here.
    RuleLineCount part;
    part.add(std::string_view(text).substr(0, text.find("frobnicate")));
    EXPECT_EQ(rule_lines(text, &part).rules, 4U);
    EXPECT_EQ(rule_lines(text, &part).per_matcher, whole.per_matcher);
    // A JSON file after blank lines is read as JSON, whatever the pieces.
    const std::string json =
        "\n  \n[{\"matcher\": 3, \"match\": {\"ipv4-dst\": \"10.0.0.1\"}, "
        "\"actions\": \"drop\"}]";
    RuleLineCount json_count;
    json_count.add(std::string_view(json).substr(0, 4));
    json_count.add(std::string_view(json).substr(4));
    const RuleLines from_json = rule_lines(json, &json_count);
    EXPECT_FALSE(from_json.verbatim);
    EXPECT_EQ(from_json.rules, 1U);
    EXPECT_EQ(from_json.text, "matcher 3 dir both ipv4-dst 10.0.0.1 action drop\n");
}

TEST(CliLoad, rule_lines_of_a_json_file_are_its_checked_rules_written_as_words) {
    const std::string content = R"([
        {"matcher": 3, "dir": "rx", "match": {"ipv4-dst": "10.0.0.1"}, "actions": ["mark 7", "accept"]},
        {"dev": "sg0", "matcher": 4, "match": [{"field": "l4-dport", "value": 80}], "actions": "drop"},
        {"matcher": 3, "match": {"ip-proto": "tcp"}},
        {"dev": "a#b", "matcher": 3, "actions": "count"}
    ])";
    const RuleLines lines = rule_lines(content);
    EXPECT_EQ(lines.text,
              "matcher 3 dir rx ipv4-dst 10.0.0.1 action mark 7 action accept\n"
              "dev sg0 matcher 4 dir both l4-dport 80 action drop\n");
    EXPECT_FALSE(lines.verbatim);
    EXPECT_EQ(lines.rules, 2U);
    EXPECT_EQ(lines.per_matcher, (RuleCounts{{3, {1, 0}}, {4, {1, 1}}}));
    ASSERT_EQ(lines.sent.size(), 2U);
    EXPECT_EQ(lines.sent[0].where, "rule 1");
    EXPECT_EQ(lines.sent[1].where, "rule 2");
    ASSERT_EQ(lines.refused.size(), 2U);
    EXPECT_EQ(lines.refused[0].where, "rule 3");
    EXPECT_EQ(lines.refused[0].reason, "a rule needs \"actions\"");
    // A netdev name may hold '#', a rule line cannot.
    EXPECT_EQ(lines.refused[1].where, "rule 4");
    EXPECT_EQ(lines.refused[1].reason, "'a#b' holds a blank or '#': a rule line cannot carry it");
}

TEST(CliLoad, a_jobs_failures_are_named_as_the_file_names_them) {
    std::vector<RuleName> sent;
    for (const LoadItem& item : items(6)) {
        sent.push_back({item.where, item.position});
    }
    LoadReport report;
    add_job_outcome(report, sent,
                    {.loaded = 4, .failures = {{2, "bad"}, {5, "worse"}}, .error = ""});
    EXPECT_EQ(report.loaded, 4U);
    ASSERT_EQ(report.failures.size(), 2U);
    EXPECT_EQ(report.failures[0].where, "line 2");
    EXPECT_EQ(report.failures[1].where, "line 5");
    EXPECT_EQ(report.failures[1].reason, "worse");
    EXPECT_FALSE(report.aborted);

    // Ended early: the first `loaded` records not named went in, the
    // others failed with the job's error.
    LoadReport early;
    add_job_outcome(early, sent,
                    {.loaded = 2, .failures = {{2, "bad"}, {4, "odd"}}, .error = "cancelled"});
    EXPECT_EQ(early.loaded, 2U);
    sort_failures(early);
    std::vector<std::string> where;
    for (const auto& f : early.failures) {
        where.push_back(f.where + ": " + f.reason);
    }
    EXPECT_EQ(where, (std::vector<std::string>{"line 2: bad", "line 4: odd", "line 5: cancelled",
                                               "line 6: cancelled"}));
    EXPECT_TRUE(early.aborted);
}

TEST(CliLoad, summary_shows_the_first_reasons_and_counts_the_rest) {
    LoadReport r;
    r.loaded = 5;
    for (int i = 0; i < 4; ++i) {
        r.failures.push_back({"line " + std::to_string(i), "bad"});
    }
    EXPECT_EQ(load_summary(r, 2),
              "loaded 5, failed 4\n  line 0: bad\n  line 1: bad\n  ... and 2 more\n");
    EXPECT_EQ(load_summary(LoadReport{.loaded = 3, .failures = {}, .aborted = false}, 2),
              "loaded 3, failed 0\n");
}

}  // namespace
}  // namespace sgnic::cli
