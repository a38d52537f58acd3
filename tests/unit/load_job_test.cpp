// sgnicd's LoadRules jobs without D-Bus: records (Port.LoadRules) or rule
// lines (Manager.LoadRules) from a file in memory, a fake batch sender that
// fails as told, a fake route and a fake presize.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "memory_file.hpp"
#include "model/desired.hpp"
#include "service/load_job.hpp"

namespace sgnic::service {
namespace {

using RuleRequest = proto::RuleRequest;

using sgnic::testing::memory_file;

// "<matcher>\trx\tl4-dport=<n>\t<action>\n" per rule.
std::string records(int n, std::uint64_t matcher = 1, const std::string& dirs = "rx") {
    std::string out;
    for (int i = 1; i <= n; ++i) {
        out +=
            std::to_string(matcher) + "\t" + dirs + "\tl4-dport=" + std::to_string(i) + "\tdrop\n";
    }
    return out;
}

// The template of every matcher of these tests.
proto::MatchTemplate l4_dport_template() {
    const std::vector<proto::FieldText> fields{{.field = "l4-dport", .text = "0xffff"}};
    return proto::parse_template(fields)->match;
}

// A parsed rule as the request it was read from (canonical words).
RuleRequest request_of(const model::DesiredRule& rule) {
    return {.matcher = rule.matcher,
            .directions = proto::format_directions(rule.directions),
            .match = model::match_texts(l4_dport_template(), rule.body),
            .actions = model::action_texts(rule.body)};
}

// Adds batches as Service::add_rules would: all or nothing, the first rule
// whose l4-dport is in `bad` named as "rule #i"; `fatal_at` (1-based call)
// fails like a read-only sgnicd.  A batch added gets a ticket (its call's
// number) whose commit is collected later; the commit of ticket
// `unstored` fails, and a batch sent after it fails as the store's.  For
// rule lines, `ports` places each matcher on a port, and route() refuses as
// the bus's route does.
struct FakeService {
    std::vector<std::string> bad;
    int fatal_at = 0;
    int fatal_after_meanwhile_at = 0;  // the same, once the job read its next chunk
    int calls = 0;
    std::vector<std::size_t> batch_sizes;
    std::vector<std::string> added;  // l4-dport values, in order
    std::vector<std::tuple<model::MatcherKey, std::uint64_t, std::uint64_t>> reserved;
    std::size_t reserved_before_first_add = 0;
    int reserve_calls = 0;
    std::map<model::MatcherKey, std::string> ports;
    // Each AddTo call: the port, the batch's size, its l4-dport values.
    using Sent = std::tuple<std::string, std::size_t, std::vector<std::string>>;
    std::vector<Sent> sent;
    std::vector<RuleRequest> added_rules;  // the rules added, in order
    LoadJob::Ticket unstored = 0;
    std::vector<LoadJob::Ticket> afters;     // each call's `after`
    std::vector<LoadJob::Ticket> collected;  // in order
    std::map<LoadJob::Ticket, std::size_t> uncollected;

    // The matchers the job parses against: those of `ports`, or, for
    // records, matchers 1 to 99 on port "sg0".
    std::shared_ptr<const MatcherIndex> index() const {
        auto index = std::make_shared<MatcherIndex>();
        if (ports.empty()) {
            for (model::MatcherKey m = 1; m < 100; ++m) {
                index->put(m, "sg0", l4_dport_template());
            }
        }
        for (const auto& [m, port] : ports) {
            index->put(m, port, l4_dport_template());
        }
        return index;
    }

    Expected<LoadJob::Ticket> take(LoadJob::Rules rules, LoadJob::Ticket after,
                                   const LoadJob::Meanwhile& meanwhile) {
        ++calls;
        batch_sizes.push_back(rules.size());
        afters.push_back(after);
        if (calls == fatal_at) {
            return Error(Errc::store, "sgnicd is read-only: the state cannot be read");
        }
        if (after != 0 && after == unstored) {
            return Error(Errc::store, "store rules: the batch before was not stored: disk full");
        }
        // The device takes the batch (on its thread, in sgnicd): the job
        // reads its next chunk, even if a rule is then refused.
        if (meanwhile) {
            meanwhile();
        }
        if (calls == fatal_after_meanwhile_at) {
            return Error(Errc::store, "sgnicd is read-only: the state cannot be read");
        }
        for (std::size_t i = 0; i < rules.size(); ++i) {
            const std::string port = request_of(rules[i]).match.at(0).text;
            if (std::find(bad.begin(), bad.end(), port) != bad.end()) {
                return Error(Errc::invalid_argument,
                             "rule #" + std::to_string(i) + ": l4-dport " + port + " is bad");
            }
        }
        for (const model::DesiredRule& r : rules) {
            added_rules.push_back(request_of(r));
            added.push_back(added_rules.back().match.at(0).text);
        }
        const auto ticket = static_cast<LoadJob::Ticket>(calls);
        uncollected[ticket] = rules.size();
        return ticket;
    }

    LoadJob::Add add() {
        return
            [this](LoadJob::Rules rules, LoadJob::Ticket after,
                   const LoadJob::Meanwhile& meanwhile) { return take(rules, after, meanwhile); };
    }
    LoadJob::Collect collect() {
        return [this](LoadJob::Ticket ticket) -> Expected<void> {
            if (uncollected.erase(ticket) != 1) {
                ADD_FAILURE() << "ticket " << ticket << " collected but not outstanding";
            }
            collected.push_back(ticket);
            if (ticket == unstored) {
                return Error(Errc::store, "store rules: disk full");
            }
            return {};
        };
    }
    LoadJob::AddTo add_to() {
        return [this](const std::string& port, LoadJob::Rules rules, LoadJob::Ticket after,
                      const LoadJob::Meanwhile& meanwhile) {
            std::vector<std::string> values;
            values.reserve(rules.size());
            for (const model::DesiredRule& r : rules) {
                values.push_back(request_of(r).match.at(0).text);
            }
            sent.emplace_back(port, rules.size(), std::move(values));
            return take(rules, after, meanwhile);
        };
    }
    LoadJob::Route route() {
        return [this](std::string_view named, model::MatcherKey matcher) -> Expected<std::string> {
            const auto it = ports.find(matcher);
            if (it == ports.end()) {
                return Error(Errc::invalid_argument, "no matcher " + std::to_string(matcher));
            }
            if (!named.empty() && named != it->second) {
                return Error(Errc::invalid_argument, "matcher " + std::to_string(matcher) +
                                                         " is on port '" + it->second + "', not '" +
                                                         std::string(named) + "'");
            }
            return it->second;
        };
    }
    LoadJob::Reserve reserve() {
        return [this](const LoadJob::Incoming& incoming) {
            ++reserve_calls;
            for (const auto& [m, more] : incoming) {
                reserved.emplace_back(m, more.first, more.second);
                if (calls == 0) {
                    ++reserved_before_first_add;
                }
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
    LoadJob job(memory_file(content), {.expected = 10, .chunk = 4}, svc.index(), "sg0", svc.add(),
                svc.collect(), svc.reserve());
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
    EXPECT_EQ(svc.reserve_calls, 1);
}

// The caller's counts per matcher replace the scan: the matchers are sized
// to them, in a step of their own, and the file is read once, for the load.
TEST(LoadJob, the_callers_counts_per_matcher_size_the_matchers_without_a_scan) {
    for (const bool lines : {false, true}) {
        FakeService svc;
        svc.ports = {{1, "sg0"}};
        const std::string content =
            lines ? "matcher 1 dir rx l4-dport 1 action drop\nmatcher 1 dir rx l4-dport 2 action "
                    "drop\n"
                  : records(2);
        const LoadJob::Options options{
            .expected = 7, .chunk = 4096, .incoming = LoadJob::Incoming{{1, {7, 0}}, {9, {0, 3}}}};
        std::size_t reads = 0;
        auto file = memory_file(content);
        auto counted = [&](std::span<char> buf, std::uint64_t offset) {
            ++reads;
            return file(buf, offset);
        };
        LoadJob job = lines ? LoadJob(counted, options, svc.index(), svc.route(), svc.add_to(),
                                      svc.collect(), svc.reserve())
                            : LoadJob(counted, options, svc.index(), "sg0", svc.add(),
                                      svc.collect(), svc.reserve());
        EXPECT_TRUE(job.step());  // the presize
        EXPECT_EQ(reads, 0U);
        run(job);
        using R = std::tuple<model::MatcherKey, std::uint64_t, std::uint64_t>;
        EXPECT_EQ(svc.reserved, (std::vector<R>{{1, 7, 0}, {9, 0, 3}})) << lines;
        EXPECT_EQ(svc.reserve_calls, 1);
        EXPECT_EQ(job.loaded(), 2U);
        EXPECT_EQ(job.progress(), (std::pair<std::uint64_t, std::uint64_t>{2, 7}));
    }
}

TEST(LoadJob, without_a_count_there_is_no_presize_and_no_total) {
    FakeService svc;
    LoadJob job(memory_file(records(3)), {.expected = std::nullopt, .chunk = 4096}, svc.index(),
                "sg0", svc.add(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_TRUE(svc.reserved.empty());
    EXPECT_EQ(job.progress(), (std::pair<std::uint64_t, std::uint64_t>{3, 0}));
}

TEST(LoadJob, a_failing_rule_is_dropped_with_its_record_number_and_the_chunk_sent_again) {
    FakeService svc;
    svc.bad = {"3", "7"};
    std::string content = records(8);
    content.insert(content.find("1\trx\tl4-dport=5"), "1\trx\tdrop\n");  // malformed: record 5
    LoadJob job(memory_file(content), {.expected = 9, .chunk = 4}, svc.index(), "sg0", svc.add(),
                svc.collect(), svc.reserve());
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
    LoadJob job(memory_file(records(10)), {.expected = 10, .chunk = 4}, svc.index(), "sg0",
                svc.add(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "sgnicd is read-only: the state cannot be read");
    EXPECT_EQ(job.loaded(), 3U);
    ASSERT_EQ(job.failures().size(), 1U);  // only the named one is listed
    EXPECT_EQ(job.failures()[0].index, 2U);
    EXPECT_EQ(job.failed(), 7U);  // that one, and records 5-10 not loaded
    EXPECT_EQ(job.progress().first, 10U);
    EXPECT_EQ(svc.calls, 3);
}

// The chunk after the one being sent is read while the device takes it; it
// settles after that one: its failures follow in file order, and when the
// job ends first its rules count as not loaded and its failures stand.
TEST(LoadJob, the_chunk_read_while_one_is_sent_settles_after_it_in_file_order) {
    FakeService svc;
    svc.fatal_after_meanwhile_at = 2;  // the second chunk's call, after the third was read
    std::string content = records(12);
    content.insert(content.find("1\trx\tl4-dport=9\t"), "1\trx\tdrop\n");  // record 9
    LoadJob job(memory_file(content), {.expected = 13, .chunk = 4}, svc.index(), "sg0", svc.add(),
                svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "sgnicd is read-only: the state cannot be read");
    EXPECT_EQ(job.loaded(), 4U);  // the first chunk
    ASSERT_EQ(job.failures().size(), 1U);
    EXPECT_EQ(job.failures()[0].index, 9U);
    // The second chunk (4), the third read ahead (3 rules) and record 13.
    EXPECT_EQ(job.failed(), 1U + 4U + 3U + 1U);
    EXPECT_EQ(svc.batch_sizes, (std::vector<std::size_t>{4, 4}));
}

TEST(LoadJob, cancel_stops_after_the_chunk_in_progress) {
    FakeService svc;
    svc.bad = {"1"};
    LoadJob job(memory_file(records(10)), {.expected = std::nullopt, .chunk = 4}, svc.index(),
                "sg0", svc.add(), svc.collect(), svc.reserve());
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
    LoadJob job(memory_file(records(10)), {.expected = 10, .chunk = 4}, svc.index(), "sg0",
                svc.add(), svc.collect(), svc.reserve());
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

TEST(LoadJob, a_chunk_is_loaded_once_its_commit_is_collected_after_the_next_went_to_the_device) {
    FakeService svc;
    LoadJob job(memory_file(records(10)), {.expected = 10, .chunk = 4}, svc.index(), "sg0",
                svc.add(), svc.collect(), svc.reserve());
    ASSERT_TRUE(job.step());  // the presize scan
    ASSERT_TRUE(job.step());  // chunk 1 in the device, its commit in flight
    EXPECT_EQ(job.loaded(), 0U);
    EXPECT_EQ(job.progress().first, 0U);
    EXPECT_TRUE(svc.collected.empty());
    ASSERT_TRUE(job.step());  // chunk 2 in the device, then chunk 1 collected
    EXPECT_EQ(job.loaded(), 4U);
    EXPECT_EQ(svc.collected, (std::vector<LoadJob::Ticket>{1}));
    ASSERT_TRUE(job.step());  // chunk 3
    EXPECT_EQ(job.loaded(), 8U);
    EXPECT_FALSE(job.step());  // the end collects the last
    EXPECT_EQ(job.loaded(), 10U);
    EXPECT_EQ(job.error(), "");
    EXPECT_EQ(svc.afters, (std::vector<LoadJob::Ticket>{0, 1, 2}));
    EXPECT_EQ(svc.collected, (std::vector<LoadJob::Ticket>{1, 2, 3}));
    EXPECT_TRUE(svc.uncollected.empty());
}

TEST(LoadJob, a_commit_that_fails_ends_the_job_and_no_later_chunk_is_loaded) {
    FakeService svc;
    svc.unstored = 2;  // chunk 2 (records 5-8) goes to the device, not to the store
    LoadJob job(memory_file(records(12)), {.expected = 12, .chunk = 4}, svc.index(), "sg0",
                svc.add(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "store rules: the batch before was not stored: disk full");
    EXPECT_EQ(job.loaded(), 4U);
    EXPECT_TRUE(job.failures().empty());  // nothing the device named
    EXPECT_EQ(job.failed(), 8U);          // records 5-12 not loaded
    EXPECT_EQ(job.progress().first, 12U);
    EXPECT_EQ(svc.calls, 3);  // chunk 3 refused because chunk 2 was not stored
    EXPECT_EQ(svc.collected, (std::vector<LoadJob::Ticket>{1, 2}));
    EXPECT_TRUE(svc.uncollected.empty());
}

TEST(LoadJob, a_last_chunk_not_stored_is_the_jobs_error) {
    FakeService svc;
    svc.unstored = 3;  // records 9-10
    LoadJob job(memory_file(records(10)), {.expected = 10, .chunk = 4}, svc.index(), "sg0",
                svc.add(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "store rules: disk full");
    EXPECT_EQ(job.loaded(), 8U);
    EXPECT_EQ(job.failed(), 2U);
    EXPECT_TRUE(svc.uncollected.empty());
}

TEST(LoadJob, cancel_and_abandon_collect_the_chunk_in_flight) {
    FakeService svc;
    LoadJob cancelled(memory_file(records(10)), {.expected = std::nullopt, .chunk = 4}, svc.index(),
                      "sg0", svc.add(), svc.collect(), svc.reserve());
    ASSERT_TRUE(cancelled.step());  // chunk 1, in flight
    cancelled.cancel();
    EXPECT_FALSE(cancelled.step());
    EXPECT_EQ(cancelled.error(), "cancelled");
    EXPECT_EQ(cancelled.loaded(), 4U);
    EXPECT_TRUE(svc.uncollected.empty());

    FakeService svc2;
    svc2.unstored = 1;
    LoadJob abandoned(memory_file(records(10)), {.expected = std::nullopt, .chunk = 4},
                      svc2.index(), "sg0", svc2.add(), svc2.collect(), svc2.reserve());
    ASSERT_TRUE(abandoned.step());
    abandoned.abandon("sgnicd is stopping");
    EXPECT_EQ(abandoned.error(), "sgnicd is stopping");  // the first reason stays
    EXPECT_EQ(abandoned.loaded(), 0U);
    EXPECT_EQ(abandoned.failed(), 10U);
    EXPECT_EQ(svc2.collected, (std::vector<LoadJob::Ticket>{1}));
}

TEST(LoadJob, an_empty_file_finishes_with_nothing_and_a_read_error_ends_the_job) {
    FakeService svc;
    LoadJob empty(memory_file(""), {.expected = 0, .chunk = 4}, svc.index(), "sg0", svc.add(),
                  svc.collect(), svc.reserve());
    run(empty);
    EXPECT_EQ(empty.loaded(), 0U);
    EXPECT_EQ(empty.error(), "");
    EXPECT_EQ(svc.calls, 0);

    auto broken = [](std::span<char> /*buf*/, std::uint64_t offset) -> Expected<std::size_t> {
        return Error(Errc::device, "read at byte " + std::to_string(offset) + ": EIO");
    };
    LoadJob job(broken, {.expected = std::nullopt, .chunk = 4}, svc.index(), "sg0", svc.add(),
                svc.collect(), svc.reserve());
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
    LoadJob job(memory_file(content), {.expected = std::nullopt, .chunk = 65536}, svc.index(),
                "sg0", svc.add(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "more than 65536 records failed");
    EXPECT_EQ(job.failures().size(), LoadJob::kMaxFailures);
    EXPECT_EQ(job.failed(), LoadJob::kMaxFailures + 11);
    EXPECT_EQ(job.loaded(), 0U);
}

// The chunk read ahead while the device refused the last failures the list
// has room for: its failures beyond the bound are not listed but counted,
// and its rules are not sent.
TEST(LoadJob, failures_past_the_bound_in_the_chunk_read_ahead_are_counted_not_listed) {
    FakeService svc;
    svc.bad = {"1", "2"};
    std::string content;
    for (std::size_t i = 0; i < LoadJob::kMaxFailures - 2; ++i) {
        content += "x\n";
    }
    content += records(2);  // both refused by the device
    content += "x\n1\trx\tl4-dport=7\tdrop\n1\trx\tl4-dport=8\tdrop\n";  // read ahead
    // Every chunk of 65536 records: the first ends with the two rules.
    LoadJob job(memory_file(content),
                {.expected = std::nullopt, .chunk = 65536, .first_chunk = 65536}, svc.index(),
                "sg0", svc.add(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "more than 65536 records failed");
    EXPECT_EQ(job.failures().size(), LoadJob::kMaxFailures);
    EXPECT_EQ(job.failures().back().index, LoadJob::kMaxFailures);  // the second refused
    EXPECT_EQ(job.failed(), LoadJob::kMaxFailures + 3);
    EXPECT_EQ(job.loaded(), 0U);
    EXPECT_TRUE(svc.added.empty());
}

TEST(LoadJob, the_first_chunks_are_small_and_grow_fourfold_up_to_the_chunk_size) {
    FakeService svc;
    LoadJob job(memory_file(records(30000)), {.expected = 30000, .chunk = 16384}, svc.index(),
                "sg0", svc.add(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "");
    EXPECT_EQ(job.loaded(), 30000U);
    // 1024 + 4096 + 16384, then the rest.
    EXPECT_EQ(svc.batch_sizes, (std::vector<std::size_t>{1024, 4096, 16384, 8496}));
    EXPECT_EQ(svc.added.size(), 30000U);
    EXPECT_EQ(svc.added.front(), "1");
    EXPECT_EQ(svc.added.back(), "30000");
}

TEST(LoadJob, a_chunk_size_below_the_first_chunk_is_every_chunk_size) {
    FakeService svc;
    LoadJob job(memory_file(records(10)), {.expected = 10, .chunk = 4}, svc.index(), "sg0",
                svc.add(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.loaded(), 10U);
    EXPECT_EQ(svc.batch_sizes, (std::vector<std::size_t>{4, 4, 2}));
}

// The parser's reason for refusing `line` ("" if it takes it).
std::string parser_reason(std::string_view line) {
    proto::load::RuleLine parsed;
    auto r = proto::load::parse_rule_line(line, parsed);
    return r ? std::string() : r.error().message();
}

using Progress = std::pair<std::uint64_t, std::uint64_t>;
using Reserved = std::tuple<model::MatcherKey, std::uint64_t, std::uint64_t>;
using Sent = FakeService::Sent;
using Values = std::vector<std::string>;

TEST(LoadJob, rule_lines_go_to_their_matchers_ports_and_a_chunk_never_mixes_ports) {
    FakeService svc;
    svc.ports = {{1, "sgA"}, {2, "sgB"}};
    const std::string content =
        "# rules for two ports\n"                                              // 1
        "matcher 1 dir rx l4-dport 1 action drop\n"                            // 2
        "\n"                                                                   // 3
        "matcher 1 dir rx l4-dport 2 action count\n"                           // 4
        "dev sgB matcher 2 l4-dport 3 action count\n"                          // 5
        "   # an indented comment\n"                                           // 6
        "matcher 2 dir tx l4-dport 4 action drop  # a rule, then a comment\n"  // 7
        " \t \n"                                                               // 8
        "matcher 1 l4-dport 5 action drop";                                    // 9, no newline
    LoadJob job(memory_file(content), {.expected = std::nullopt, .chunk = 100}, svc.index(),
                svc.route(), svc.add_to(), svc.collect(), svc.reserve());
    EXPECT_EQ(job.progress(), (Progress{0, 0}));
    ASSERT_TRUE(job.step());  // the presize scan
    // The total is the rule lines, not the lines.
    EXPECT_EQ(job.progress(), (Progress{0, 5}));
    EXPECT_EQ(svc.calls, 0);
    // Once per matcher, before any batch, with its rules' directions.
    EXPECT_EQ(svc.reserved, (std::vector<Reserved>{{1, 3, 1}, {2, 1, 2}}));
    EXPECT_EQ(svc.reserved_before_first_add, 2U);
    EXPECT_EQ(svc.reserve_calls, 1);
    int steps = 1;
    while (job.step()) {
        ++steps;
    }
    EXPECT_EQ(steps, 4);  // the scan, three batches
    EXPECT_EQ(job.loaded(), 5U);
    EXPECT_EQ(job.failed(), 0U);
    EXPECT_TRUE(job.failures().empty());
    EXPECT_EQ(job.error(), "");
    EXPECT_EQ(job.progress(), (Progress{5, 5}));
    // A, B, then A again: three chunks though one would hold all five.
    EXPECT_EQ(svc.sent, (std::vector<Sent>{{"sgA", 2, Values{"1", "2"}},
                                           {"sgB", 2, Values{"3", "4"}},
                                           {"sgA", 1, Values{"5"}}}));
    EXPECT_EQ(svc.reserved.size(), 2U);
    ASSERT_EQ(svc.added_rules.size(), 5U);
    EXPECT_EQ(svc.added_rules[1], (RuleRequest{.matcher = 1,
                                               .directions = "rx",
                                               .match = {{.field = "l4-dport", .text = "2"}},
                                               .actions = {"count"}}));
    EXPECT_EQ(svc.added_rules[2], (RuleRequest{.matcher = 2,
                                               .directions = "both",
                                               .match = {{.field = "l4-dport", .text = "3"}},
                                               .actions = {"count"}}));
    EXPECT_EQ(svc.added_rules[3], (RuleRequest{.matcher = 2,
                                               .directions = "tx",
                                               .match = {{.field = "l4-dport", .text = "4"}},
                                               .actions = {"drop"}}));
}

// Six RX rule lines, l4-dport 1 to 6, on matchers 1, 1, 1, 2, 2, 1 (ports
// sgA, sgA, sgA, sgB, sgB, sgA), each followed by `after`.
std::string three_runs_of_ports(const std::string& after) {
    std::string content;
    for (const auto& [matcher, dport] :
         std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {1, 3}, {2, 4}, {2, 5}, {1, 6}}) {
        content += "matcher " + std::to_string(matcher) + " dir rx l4-dport " +
                   std::to_string(dport) + " action drop\n" + after;
    }
    return content;
}

TEST(LoadJob, rule_lines_fill_chunks_up_to_their_size_and_a_given_count_is_the_total) {
    FakeService svc;
    svc.ports = {{1, "sgA"}, {2, "sgB"}};
    const std::string content = three_runs_of_ports("");
    LoadJob job(memory_file(content), {.expected = 10, .chunk = 2}, svc.index(), svc.route(),
                svc.add_to(), svc.collect(), svc.reserve());
    ASSERT_TRUE(job.step());
    EXPECT_EQ(job.progress(), (Progress{0, 10}));
    run(job);
    EXPECT_EQ(job.loaded(), 6U);
    EXPECT_EQ(job.error(), "");
    EXPECT_EQ(job.progress(), (Progress{6, 10}));
    EXPECT_EQ(svc.sent, (std::vector<Sent>{{"sgA", 2, Values{"1", "2"}},
                                           {"sgA", 1, Values{"3"}},
                                           {"sgB", 2, Values{"4", "5"}},
                                           {"sgA", 1, Values{"6"}}}));
    EXPECT_EQ(svc.reserved, (std::vector<Reserved>{{1, 4, 0}, {2, 2, 0}}));
    EXPECT_EQ(svc.reserved_before_first_add, 2U);
}

TEST(LoadJob, the_presize_scan_of_rule_lines_reads_past_a_blank_line_at_a_step_boundary) {
    FakeService svc;
    svc.ports = {{1, "sgA"}};
    // A blank line is the last record of the scan's first step.
    std::string content;
    const std::size_t before = LoadJob::kScanRecordsPerStep - 1;
    for (std::size_t i = 0; i < before; ++i) {
        content += "matcher 1 dir rx l4-dport 1 action drop\n";
    }
    content += "\n";
    for (int i = 0; i < 10; ++i) {
        content += "matcher 1 dir tx l4-dport 2 action drop\n";
    }
    LoadJob job(memory_file(content), {.expected = std::nullopt, .chunk = 65536}, svc.index(),
                svc.route(), svc.add_to(), svc.collect(), svc.reserve());
    ASSERT_TRUE(job.step());  // the first step of the scan
    EXPECT_TRUE(svc.reserved.empty());
    ASSERT_TRUE(job.step());  // the rest
    EXPECT_EQ(svc.reserved, (std::vector<Reserved>{{1, before, 10}}));
    EXPECT_EQ(job.progress(), (Progress{0, before + 10}));
}

TEST(LoadJob, lines_without_a_rule_take_no_room_in_a_chunk_however_long) {
    FakeService svc;
    svc.ports = {{1, "sgA"}, {2, "sgB"}};
    std::string content = three_runs_of_ports("# between\n");
    // A comment and a blank line longer than a record may be: skipped too.
    content += "# " + std::string(5000, 'x') + "\n" + std::string(5000, ' ') + "\n";
    content += "matcher 2 dir rx l4-dport 7 action drop\n";
    LoadJob job(memory_file(content), {.expected = std::nullopt, .chunk = 2}, svc.index(),
                svc.route(), svc.add_to(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "");
    EXPECT_EQ(job.loaded(), 7U);
    EXPECT_EQ(job.failed(), 0U);
    EXPECT_EQ(job.progress(), (Progress{7, 7}));
    EXPECT_EQ(svc.sent, (std::vector<Sent>{{"sgA", 2, Values{"1", "2"}},
                                           {"sgA", 1, Values{"3"}},
                                           {"sgB", 2, Values{"4", "5"}},
                                           {"sgA", 1, Values{"6"}},
                                           {"sgB", 1, Values{"7"}}}));
}

TEST(LoadJob, a_rule_line_refused_by_the_route_or_the_parser_fails_with_its_line_number) {
    FakeService svc;
    svc.ports = {{1, "sgA"}, {2, "sgB"}};
    const std::string content =
        "matcher 1 l4-dport 1 action drop\n"           // 1
        "matcher 999 l4-dport 2 action drop\n"         // 2: no such matcher
        "# a comment\n"                                // 3
        "frobnicate everything\n"                      // 4: not a rule
        "dev sgB matcher 1 l4-dport 3 action drop\n"   // 5: the wrong port
        "\n"                                           // 6
        "matcher 1 l4-dport 4 action drop\n"           // 7
        "matcher 2 l4-dport 5\n"                       // 8: no action
        "dev sgB matcher 2 l4-dport 6 action drop\n";  // 9
    const std::string not_a_rule = parser_reason("frobnicate everything");
    EXPECT_TRUE(not_a_rule.starts_with("unexpected word 'frobnicate' in a rule")) << not_a_rule;
    const std::string no_action = parser_reason("matcher 2 l4-dport 5");
    EXPECT_TRUE(no_action.starts_with("a rule needs an action")) << no_action;
    LoadJob job(memory_file(content), {.expected = std::nullopt, .chunk = 100}, svc.index(),
                svc.route(), svc.add_to(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "");
    EXPECT_EQ(job.loaded(), 3U);
    EXPECT_EQ(
        job.failures(),
        (std::vector<LoadFailure>{
            {.index = 2, .text = "matcher 999 l4-dport 2 action drop", .reason = "no matcher 999"},
            {.index = 4, .text = "frobnicate everything", .reason = not_a_rule},
            {.index = 5,
             .text = "dev sgB matcher 1 l4-dport 3 action drop",
             .reason = "matcher 1 is on port 'sgA', not 'sgB'"},
            {.index = 8, .text = "matcher 2 l4-dport 5", .reason = no_action},
        }));
    EXPECT_EQ(job.failed(), 4U);
    EXPECT_EQ(job.progress(), (Progress{7, 7}));  // seven lines hold rules
    EXPECT_EQ(svc.sent, (std::vector<Sent>{{"sgA", 2, Values{"1", "4"}}, {"sgB", 1, Values{"6"}}}));
}

TEST(LoadJob, a_fatal_error_in_a_lines_job_counts_only_the_rule_lines_not_loaded) {
    const std::string content =
        "# header\n"                           // 1
        "matcher 1 l4-dport 1 action drop\n"   // 2: A
        "matcher 1 l4-dport 2 action drop\n"   // 3: A
        "\n"                                   // 4
        "matcher 2 l4-dport 3 action drop\n"   // 5: B, held over after chunk 1
        "matcher 2 l4-dport 4 action drop\n"   // 6: B
        "# comment\n"                          // 7
        "matcher 1 l4-dport 5 action drop\n"   // 8: A, held over after chunk 2
        "\n"                                   // 9
        "  # trailing\n"                       // 10
        "matcher 1 l4-dport 6 action drop\n";  // 11: A
    struct Case {
        int fatal_at;
        std::uint64_t loaded;
        std::uint64_t failed;
        std::vector<Sent> sent;
    };
    const std::vector<Case> cases = {
        // Chunk 1 (lines 2, 3) refused: those, held line 5, and 6, 8, 11.
        {1, 0, 6, {{"sgA", 2, Values{"1", "2"}}}},
        // Chunk 2 (lines 5, 6) refused: those, held line 8, and 11.
        {2, 2, 4, {{"sgA", 2, Values{"1", "2"}}, {"sgB", 2, Values{"3", "4"}}}},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE("fatal at call " + std::to_string(c.fatal_at));
        FakeService svc;
        svc.ports = {{1, "sgA"}, {2, "sgB"}};
        svc.fatal_at = c.fatal_at;
        LoadJob job(memory_file(content), {.expected = std::nullopt, .chunk = 100}, svc.index(),
                    svc.route(), svc.add_to(), svc.collect(), svc.reserve());
        run(job);
        EXPECT_EQ(job.error(), "sgnicd is read-only: the state cannot be read");
        EXPECT_EQ(job.loaded(), c.loaded);
        EXPECT_TRUE(job.failures().empty());
        EXPECT_EQ(job.failed(), c.failed);
        EXPECT_EQ(job.progress(), (Progress{6, 6}));
        EXPECT_EQ(svc.sent, c.sent);
        EXPECT_EQ(svc.calls, c.fatal_at);
    }
}

TEST(LoadJob, cancel_in_a_lines_job_counts_the_held_over_rule_as_not_loaded) {
    FakeService svc;
    svc.ports = {{1, "sgA"}, {2, "sgB"}};
    const std::string content =
        "matcher 1 l4-dport 1 action drop\n"   // 1: A
        "matcher 2 l4-dport 2 action drop\n"   // 2: B, held over
        "# comment\n"                          // 3
        "\n"                                   // 4
        "matcher 2 l4-dport 3 action drop\n";  // 5: B
    LoadJob job(memory_file(content), {.expected = std::nullopt, .chunk = 100}, svc.index(),
                svc.route(), svc.add_to(), svc.collect(), svc.reserve());
    ASSERT_TRUE(job.step());  // the scan
    ASSERT_TRUE(job.step());  // chunk 1: line 1
    job.cancel();
    EXPECT_FALSE(job.step());
    EXPECT_EQ(job.error(), "cancelled");
    EXPECT_EQ(job.loaded(), 1U);
    EXPECT_EQ(job.failed(), 2U);  // lines 2 and 5
    EXPECT_EQ(job.progress(), (Progress{3, 3}));
    EXPECT_EQ(svc.sent, (std::vector<Sent>{{"sgA", 1, Values{"1"}}}));
}

TEST(LoadJob, a_rule_line_the_service_names_is_dropped_and_its_chunk_resent_to_its_port) {
    FakeService svc;
    svc.ports = {{1, "sgA"}, {2, "sgB"}};
    svc.bad = {"2", "5"};
    const std::string content =
        "matcher 1 l4-dport 1 action drop\n"          // 1
        "# the next one is refused\n"                 // 2
        "matcher 1 l4-dport 2 action drop\n"          // 3: refused
        "matcher 1 l4-dport 3 action drop\n"          // 4
        "dev sgB matcher 2 l4-dport 4 action drop\n"  // 5
        "\n"                                          // 6
        "matcher 2 l4-dport 5 action drop\n";         // 7: refused
    LoadJob job(memory_file(content), {.expected = std::nullopt, .chunk = 100}, svc.index(),
                svc.route(), svc.add_to(), svc.collect(), svc.reserve());
    run(job);
    EXPECT_EQ(job.error(), "");
    EXPECT_EQ(job.loaded(), 3U);
    EXPECT_EQ(job.failed(), 2U);
    // The text: the rule's words as read, with the port it went to.
    EXPECT_EQ(job.failures(), (std::vector<LoadFailure>{
                                  {.index = 3,
                                   .text = "dev sgA matcher 1 dir both l4-dport 2 action drop",
                                   .reason = "l4-dport 2 is bad"},
                                  {.index = 7,
                                   .text = "dev sgB matcher 2 dir both l4-dport 5 action drop",
                                   .reason = "l4-dport 5 is bad"},
                              }));
    EXPECT_EQ(job.progress(), (Progress{5, 5}));
    // Each chunk sent again without the rule named, to the same port.
    EXPECT_EQ(svc.sent, (std::vector<Sent>{{"sgA", 3, Values{"1", "2", "3"}},
                                           {"sgA", 2, Values{"1", "3"}},
                                           {"sgB", 2, Values{"4", "5"}},
                                           {"sgB", 1, Values{"4"}}}));
    EXPECT_EQ(svc.added, (Values{"1", "3", "4"}));
}

}  // namespace
}  // namespace sgnic::service
