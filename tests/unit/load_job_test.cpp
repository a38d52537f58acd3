// sgnicd's Port.LoadRules job without D-Bus: records from a file in memory,
// a fake batch sender that fails as told, and a fake presize.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "service/load_job.hpp"

namespace sgnic::service {
namespace {

// A file in memory, as pread reads it.
proto::load::RecordReader::ReadAt file(const std::string& content) {
    return [content](std::span<char> buf, std::uint64_t offset) -> Expected<std::size_t> {
        if (offset >= content.size()) {
            return std::size_t{0};
        }
        const std::size_t n = std::min(buf.size(), content.size() - offset);
        std::memcpy(buf.data(), content.data() + offset, n);
        return n;
    };
}

// "<matcher>\trx\tl4-dport=<n>\t<action>\n" per rule.
std::string records(int n, std::uint64_t matcher = 1, const std::string& dirs = "rx") {
    std::string out;
    for (int i = 1; i <= n; ++i) {
        out +=
            std::to_string(matcher) + "\t" + dirs + "\tl4-dport=" + std::to_string(i) + "\tdrop\n";
    }
    return out;
}

// Adds batches as Service::add_rules would: all or nothing, the first rule
// whose l4-dport is in `bad` named as "rule #i"; `fatal_at` (1-based call)
// fails like a read-only sgnicd.
struct FakeService {
    std::vector<std::string> bad;
    int fatal_at = 0;
    int calls = 0;
    std::vector<std::size_t> batch_sizes;
    std::vector<std::string> added;  // l4-dport values, in order
    std::vector<std::tuple<model::MatcherKey, std::uint64_t, std::uint64_t>> reserved;
    std::size_t reserved_before_first_add = 0;

    LoadJob::Add add() {
        return [this](std::span<const RuleRequest> rules) -> Expected<std::size_t> {
            ++calls;
            batch_sizes.push_back(rules.size());
            if (calls == fatal_at) {
                return Error(Errc::store, "sgnicd is read-only: the state cannot be read");
            }
            for (std::size_t i = 0; i < rules.size(); ++i) {
                const std::string& port = rules[i].match.at(0).text;
                if (std::find(bad.begin(), bad.end(), port) != bad.end()) {
                    return Error(Errc::invalid_argument,
                                 "rule #" + std::to_string(i) + ": l4-dport " + port + " is bad");
                }
            }
            for (const RuleRequest& r : rules) {
                added.push_back(r.match.at(0).text);
            }
            return rules.size();
        };
    }
    LoadJob::Reserve reserve() {
        return [this](model::MatcherKey m, std::uint64_t rx, std::uint64_t tx) {
            reserved.emplace_back(m, rx, tx);
            if (calls == 0) {
                ++reserved_before_first_add;
            }
        };
    }
};

void run(LoadJob& job, int limit = 100000) {
    for (int i = 0; i < limit && job.step(); ++i) {
    }
    ASSERT_TRUE(job.finished());
}

TEST(LoadJob, loads_every_record_a_chunk_per_step_after_one_presize_per_matcher) {
    FakeService svc;
    const std::string content = records(6, 1, "rx") + records(3, 2, "both") + records(1, 1, "tx");
    LoadJob job(file(content), {.expected = 10, .chunk = 4}, svc.add(), svc.reserve());
    EXPECT_EQ(job.progress(), (std::pair<std::uint64_t, std::uint64_t>{0, 10}));
    int steps = 0;
    while (job.step()) {
        ++steps;
    }
    EXPECT_EQ(job.loaded(), 10U);
    EXPECT_EQ(job.failed(), 0U);
    EXPECT_EQ(job.error(), "");
    EXPECT_EQ(job.progress(), (std::pair<std::uint64_t, std::uint64_t>{10, 10}));
    EXPECT_EQ(svc.batch_sizes, (std::vector<std::size_t>{4, 4, 2}));
    // One scan step, three batches; the end is found by a step of its own.
    EXPECT_EQ(steps, 4);
    using R = std::tuple<model::MatcherKey, std::uint64_t, std::uint64_t>;
    EXPECT_EQ(svc.reserved, (std::vector<R>{{1, 6, 1}, {2, 3, 3}}));
    EXPECT_EQ(svc.reserved_before_first_add, 2U);
}

TEST(LoadJob, without_a_count_there_is_no_presize_and_no_total) {
    FakeService svc;
    LoadJob job(file(records(3)), {.expected = std::nullopt, .chunk = 4096}, svc.add(),
                svc.reserve());
    run(job);
    EXPECT_TRUE(svc.reserved.empty());
    EXPECT_EQ(job.progress(), (std::pair<std::uint64_t, std::uint64_t>{3, 0}));
}

TEST(LoadJob, a_failing_rule_is_dropped_with_its_record_number_and_the_chunk_sent_again) {
    FakeService svc;
    svc.bad = {"3", "7"};
    std::string content = records(8);
    content.insert(content.find("1\trx\tl4-dport=5"), "1\trx\tdrop\n");  // malformed: record 5
    LoadJob job(file(content), {.expected = 9, .chunk = 4}, svc.add(), svc.reserve());
    run(job);
    EXPECT_EQ(job.loaded(), 6U);
    EXPECT_EQ(job.error(), "");
    ASSERT_EQ(job.failures().size(), 3U);
    EXPECT_EQ(job.failures()[0],
              (LoadFailure{
                  .index = 3, .text = "1\trx\tl4-dport=3\tdrop", .reason = "l4-dport 3 is bad"}));
    EXPECT_EQ(job.failures()[1].index, 5U);
    EXPECT_NE(job.failures()[1].reason.find("4 tab-separated columns"), std::string::npos)
        << job.failures()[1].reason;
    EXPECT_EQ(job.failures()[2].index, 8U);  // l4-dport 7 is the 8th record
    EXPECT_EQ(job.failed(), 3U);
    // Chunk 1 (records 1-4): refused at record 3, then 1, 2, 4 again;
    // chunk 2 (records 5-8, 5 malformed): refused at record 8, then 6, 7;
    // chunk 3: record 9.
    EXPECT_EQ(svc.added, (std::vector<std::string>{"1", "2", "4", "5", "6", "8"}));
    EXPECT_EQ(svc.batch_sizes, (std::vector<std::size_t>{4, 3, 3, 2, 1}));
}

TEST(LoadJob, a_fatal_error_ends_the_job_and_counts_every_record_not_loaded) {
    FakeService svc;
    svc.bad = {"2"};
    svc.fatal_at = 3;  // the second chunk's first call
    LoadJob job(file(records(10)), {.expected = 10, .chunk = 4}, svc.add(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "sgnicd is read-only: the state cannot be read");
    EXPECT_EQ(job.loaded(), 3U);
    ASSERT_EQ(job.failures().size(), 1U);  // only the named one is listed
    EXPECT_EQ(job.failures()[0].index, 2U);
    EXPECT_EQ(job.failed(), 7U);  // that one, and records 5-10 not loaded
    EXPECT_EQ(job.progress().first, 10U);
    EXPECT_EQ(svc.calls, 3);
}

TEST(LoadJob, cancel_stops_after_the_chunk_in_progress) {
    FakeService svc;
    svc.bad = {"1"};
    LoadJob job(file(records(10)), {.expected = std::nullopt, .chunk = 4}, svc.add(),
                svc.reserve());
    ASSERT_TRUE(job.step());  // chunk 1 refused at record 1
    job.cancel();
    ASSERT_TRUE(job.step());  // its resend still goes
    EXPECT_FALSE(job.step());
    EXPECT_EQ(job.error(), "cancelled");
    EXPECT_EQ(job.loaded(), 3U);
    EXPECT_EQ(job.failed(), 7U);  // record 1, and 5-10
    EXPECT_EQ(svc.calls, 2);
}

TEST(LoadJob, abandon_ends_at_once_and_a_finished_job_stays_as_it_ended) {
    FakeService svc;
    LoadJob job(file(records(10)), {.expected = 10, .chunk = 4}, svc.add(), svc.reserve());
    ASSERT_TRUE(job.step());  // the presize scan
    ASSERT_TRUE(job.step());  // chunk 1
    job.abandon("sgnicd is stopping");
    EXPECT_TRUE(job.finished());
    EXPECT_FALSE(job.step());
    EXPECT_EQ(job.error(), "sgnicd is stopping");
    EXPECT_EQ(job.loaded(), 4U);
    EXPECT_EQ(job.failed(), 6U);
    job.cancel();
    job.abandon("again");
    EXPECT_EQ(job.error(), "sgnicd is stopping");
}

TEST(LoadJob, an_empty_file_finishes_with_nothing_and_a_read_error_ends_the_job) {
    FakeService svc;
    LoadJob empty(file(""), {.expected = 0, .chunk = 4}, svc.add(), svc.reserve());
    run(empty);
    EXPECT_EQ(empty.loaded(), 0U);
    EXPECT_EQ(empty.error(), "");
    EXPECT_EQ(svc.calls, 0);

    auto broken = [](std::span<char> /*buf*/, std::uint64_t offset) -> Expected<std::size_t> {
        return Error(Errc::device, "read at byte " + std::to_string(offset) + ": EIO");
    };
    LoadJob job(broken, {.expected = std::nullopt, .chunk = 4}, svc.add(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "read the records: read at byte 0: EIO");
}

TEST(LoadJob, too_many_failures_end_the_job) {
    FakeService svc;
    std::string content;
    for (std::size_t i = 0; i < LoadJob::kMaxFailures + 10; ++i) {
        content += "x\n";
    }
    content += records(1);
    LoadJob job(file(content), {.expected = std::nullopt, .chunk = 65536}, svc.add(),
                svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "more than 65536 records failed");
    EXPECT_EQ(job.failures().size(), LoadJob::kMaxFailures);
    EXPECT_EQ(job.failed(), LoadJob::kMaxFailures + 11);
    EXPECT_EQ(job.loaded(), 0U);
}

}  // namespace
}  // namespace sgnic::service
