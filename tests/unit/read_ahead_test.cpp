// The reader a load job takes its records from: read and parsed on a
// thread a few blocks ahead, handed out in file order, the rest counted
// when the job ends early.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "memory_file.hpp"
#include "model/desired.hpp"
#include "service/read_ahead.hpp"

namespace sgnic::service {
namespace {

using Kind = ReadAhead::Item::Kind;

using sgnic::testing::memory_file;

// Line i (1-based): a rule with l4-dport i, except every 10th is a comment
// and every 7th names no matcher (a parse failure).
std::string lines(int n) {
    std::string out;
    for (int i = 1; i <= n; ++i) {
        if (i % 10 == 0) {
            out += "# comment " + std::to_string(i) + "\n";
        } else if (i % 7 == 0) {
            out += "dir rx l4-dport " + std::to_string(i) + " action drop\n";
        } else {
            out += "matcher 3 dir rx l4-dport " + std::to_string(i) + " action drop\n";
        }
    }
    return out;
}

proto::MatchTemplate l4_dport_template() {
    const std::vector<proto::FieldText> fields{{.field = "l4-dport", .text = "0xffff"}};
    return proto::parse_template(fields)->match;
}

// Matchers 1 and 3 on port sg0, 5 on sg1, all of template l4-dport.
std::shared_ptr<MatcherIndex> matchers() {
    auto index = std::make_shared<MatcherIndex>();
    index->put(1, "sg0", l4_dport_template());
    index->put(3, "sg0", l4_dport_template());
    index->put(5, "sg1", l4_dport_template());
    return index;
}

// The l4-dport value of a parsed rule, as text.
std::string dport(const model::DesiredRule& rule) {
    const auto texts = model::match_texts(l4_dport_template(), rule.body);
    return texts.size() == 1 ? texts[0].text : "?";
}

constexpr int kLines = static_cast<int>(ReadAhead::kBlockRecords) * 5 + 17;

TEST(ReadAhead, hands_out_every_line_in_order_parsed_across_blocks) {
    ReadAhead ahead(memory_file(lines(kLines)), true, matchers());
    for (int i = 1; i <= kLines; ++i) {
        ReadAhead::Item* item = ahead.next();
        ASSERT_NE(item, nullptr) << "line " << i;
        ASSERT_EQ(item->index, static_cast<std::uint64_t>(i));
        if (i % 10 == 0) {
            EXPECT_EQ(item->kind, Kind::no_rule) << i;
            EXPECT_FALSE(item->counts) << i;
        } else if (i % 7 == 0) {
            EXPECT_EQ(item->kind, Kind::failed) << i;
            EXPECT_TRUE(item->counts) << i;
            EXPECT_NE(item->reason.find("matcher"), std::string::npos) << item->reason;
            EXPECT_EQ(item->text, "dir rx l4-dport " + std::to_string(i) + " action drop");
        } else {
            ASSERT_EQ(item->kind, Kind::rule) << i << ": " << item->reason;
            EXPECT_EQ(item->rule.matcher, 3U);
            EXPECT_EQ(item->rule.directions, proto::Directions::rx_only());
            EXPECT_EQ(dport(item->rule), std::to_string(i));
            EXPECT_EQ(model::action_texts(item->rule.body), std::vector<std::string>{"drop"});
            if (i % 3 == 0) {  // the job takes the rule
                const model::DesiredRule taken = std::move(item->rule);
                EXPECT_EQ(taken.matcher, 3U);
            }
        }
    }
    EXPECT_EQ(ahead.next(), nullptr);
    EXPECT_EQ(ahead.error(), "");
    EXPECT_EQ(ahead.next(), nullptr) << "the end stays the end";
}

TEST(ReadAhead, records_are_parsed_as_records_and_a_too_long_one_fails) {
    const std::string too_long(proto::load::kMaxRecordBytes + 10, 'x');
    ReadAhead ahead(memory_file("1\trx\tl4-dport=5\tdrop\n" + too_long + "\n\tbad\n"), false,
                    matchers(), "sg0");
    ReadAhead::Item* item = ahead.next();
    ASSERT_NE(item, nullptr);
    ASSERT_EQ(item->kind, Kind::rule) << item->reason;
    EXPECT_EQ(item->rule.matcher, 1U);
    EXPECT_EQ(dport(item->rule), "5");
    item = ahead.next();
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(item->kind, Kind::failed);
    EXPECT_EQ(item->reason, "the record is longer than 4096 bytes");
    EXPECT_EQ(item->index, 2U);
    item = ahead.next();
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(item->kind, Kind::failed);
    EXPECT_TRUE(item->counts) << "every record of a records file counts";
    EXPECT_EQ(ahead.next(), nullptr);
}

TEST(ReadAhead, a_read_error_ends_the_records_after_those_read_before_it) {
    const int n = 20000;
    const std::string text = lines(n);
    // The reader reads 256 KiB blocks: the error comes with the second.
    ASSERT_GT(text.size(), proto::load::RecordReader::kDefaultBlock);
    ReadAhead ahead(memory_file(text, proto::load::RecordReader::kDefaultBlock), true, matchers());
    std::uint64_t last = 0;
    while (ReadAhead::Item* item = ahead.next()) {
        EXPECT_EQ(item->index, last + 1);
        last = item->index;
    }
    EXPECT_EQ(ahead.error(),
              "read at byte " + std::to_string(proto::load::RecordReader::kDefaultBlock) + ": EIO");
    EXPECT_GT(last, 0U);
    EXPECT_LT(last, static_cast<std::uint64_t>(n));
    EXPECT_EQ(ahead.count_rest(), std::nullopt) << "the rest cannot be counted";
}

// The records after the last one handed out that hold a rule: in the
// block being read, in the blocks read ahead and in the rest of the file.
TEST(ReadAhead, count_rest_counts_the_rule_lines_not_handed_out_wherever_they_are) {
    auto rule_lines_after = [](int handed) {
        int n = 0;
        for (int i = handed + 1; i <= kLines; ++i) {
            n += i % 10 == 0 ? 0 : 1;  // a failing rule line counts too
        }
        return static_cast<std::uint64_t>(n);
    };
    for (const int handed :
         {0, 1, 500, static_cast<int>(ReadAhead::kBlockRecords), 2500, kLines - 1, kLines}) {
        ReadAhead ahead(memory_file(lines(kLines)), true, matchers());
        for (int i = 0; i < handed; ++i) {
            ASSERT_NE(ahead.next(), nullptr);
        }
        EXPECT_EQ(ahead.count_rest(), rule_lines_after(handed)) << "after " << handed;
        EXPECT_EQ(ahead.next(), nullptr) << "nothing after the count";
    }
}

// Each rule is parsed whole where it is read: a value, action or direction
// that is wrong, a matcher that is not there or is on another port than
// the line (or the records' job) names fail the record, quoting it.
TEST(ReadAhead, a_rule_that_does_not_parse_under_its_matcher_fails_where_it_is_read) {
    const std::string text =
        "matcher 3 dir rx l4-dport 70000 action drop\n"
        "matcher 3 dir rx ipv4-dst 10.0.0.1 action drop\n"
        "matcher 3 dir rx l4-dport 1 action mark\n"
        "matcher 3 dir tx l4-dport 1 action queue 1\n"
        "matcher 8 dir rx l4-dport 1 action drop\n"
        "dev sg9 matcher 3 dir rx l4-dport 1 action drop\n"
        "dev sg1 matcher 5 dir both l4-dport 2 action count\n";
    ReadAhead ahead(memory_file(text), true, matchers());
    const std::vector<std::string> reasons{"70000",        "ipv4-dst",
                                           "mark",         "queue",
                                           "no matcher 8", "matcher 3 is on port 'sg0', not 'sg9'"};
    for (const std::string& reason : reasons) {
        ReadAhead::Item* item = ahead.next();
        ASSERT_NE(item, nullptr);
        EXPECT_EQ(item->kind, Kind::failed) << reason;
        EXPECT_NE(item->reason.find(reason), std::string::npos) << item->reason;
        EXPECT_NE(text.find(item->text + "\n"), std::string::npos) << item->text;
    }
    ReadAhead::Item* item = ahead.next();
    ASSERT_NE(item, nullptr);
    ASSERT_EQ(item->kind, Kind::rule) << item->reason;
    EXPECT_EQ(item->rule.matcher, 5U);
    EXPECT_EQ(item->rule.directions, proto::Directions::both());
    EXPECT_EQ(dport(item->rule), "2");
    EXPECT_EQ(ahead.next(), nullptr);

    // Records go to their job's port: a matcher elsewhere is not there.
    ReadAhead records(memory_file("5\trx\tl4-dport=5\tdrop\n9\trx\tl4-dport=5\tdrop\n"), false,
                      matchers(), "sg0");
    for (const std::string reason : {"no matcher 5 on port 'sg0'", "no matcher 9 on port 'sg0'"}) {
        item = records.next();
        ASSERT_NE(item, nullptr);
        EXPECT_EQ(item->kind, Kind::failed);
        EXPECT_EQ(item->reason, reason);
    }
}

// The matchers are looked up as they are when the rule is read: one made
// after the reader started is found.
TEST(ReadAhead, a_matcher_made_while_the_file_is_read_is_found) {
    auto index = matchers();
    std::string text;
    for (int i = 1; i <= static_cast<int>(ReadAhead::kBlockRecords) * 10; ++i) {
        text += "matcher 7 dir rx l4-dport " + std::to_string(i % 60000 + 1) + " action drop\n";
    }
    ReadAhead ahead(memory_file(text), true, index);
    ReadAhead::Item* item = ahead.next();
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(item->reason, "no matcher 7");
    index->put(7, "sg0", l4_dport_template());
    // The blocks read before the matcher came fail; those read after not.
    std::size_t rules = 0;
    while ((item = ahead.next()) != nullptr) {
        rules += item->kind == Kind::rule ? 1 : 0;
    }
    EXPECT_GT(rules, 0U);
}

// The thread reads no further than its blocks hold (a few thousand
// records, not the file), and a reader destroyed at any point stops and
// joins its thread.
TEST(ReadAhead, reads_no_further_ahead_than_its_blocks_and_stops_when_destroyed) {
    const int n = 40000;  // ~1.6 MB: seven reads of 256 KiB
    const std::string text = lines(n);
    std::atomic<int> reads = 0;
    auto counted = [&](std::span<char> buf, std::uint64_t offset) -> Expected<std::size_t> {
        ++reads;
        const std::size_t got =
            offset >= text.size() ? 0 : std::min(buf.size(), text.size() - offset);
        std::memcpy(buf.data(), text.data() + std::min<std::size_t>(offset, text.size()), got);
        return got;
    };
    {
        ReadAhead ahead(counted, true, matchers());
        ASSERT_NE(ahead.next(), nullptr);
        // Until the thread is idle: no read for 200 ms.
        for (int seen = -1; seen != reads.load();) {
            seen = reads.load();
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        // Eight blocks of 512 lines of ~40 bytes are one 256 KiB read, or
        // two when a block ends in the middle of a line.
        EXPECT_LE(reads.load(), 2) << "it read on past its blocks";
        int handed = 1;
        while (ahead.next() != nullptr) {
            ++handed;
        }
        EXPECT_EQ(handed, n);
        EXPECT_GE(reads.load(), 7);
    }
    for (const int handed : {0, 3, 2000}) {
        ReadAhead ahead(counted, true, matchers());
        for (int i = 0; i < handed; ++i) {
            ASSERT_NE(ahead.next(), nullptr);
        }
    }
}

}  // namespace
}  // namespace sgnic::service
