// A load's records read and parsed ahead of its job, on a thread of their
// own: each rule parsed whole, once, against its matcher's template (the
// MatcherIndex), into the form the service stores and the device takes.
// The job's thread, a load's critical path, then only routes and sends them
// (reading and parsing were a quarter of its CPU).  The thread
// stays at most a few blocks ahead; without a thread (none could be
// started) each block is read when the job reaches it.
#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "model/desired.hpp"
#include "model/rule_line.hpp"
#include "service/matcher_index.hpp"
#include "sgnic/proto/load.hpp"

namespace sgnic::service {

class ReadAhead {
public:
    static constexpr std::size_t kBlockRecords = 512;

    // A record as the job takes it.
    struct Item {
        enum class Kind : std::uint8_t { rule, no_rule, failed };
        Kind kind = Kind::no_rule;
        // A rule record, loaded or not: what a job that ends early counts as
        // not loaded (every record of a file of records; the lines that
        // hold a rule).
        bool counts = false;
        std::uint64_t index = 0;     // 1-based record number in the file
        std::string text;            // failed: the record (its start, when too long)
        std::string reason;          // failed: why
        proto::load::RuleLine line;  // its words (and port word, lines only)
        model::DesiredRule rule;     // rule: parsed (id and uid 0)
    };

    // `lines`: rule lines (proto::load::parse_rule_line), else records
    // (proto::load::parse_record) for `port`.  A rule whose matcher
    // `matchers` does not know, or is on another port than the record's
    // job or the line names, fails.
    ReadAhead(proto::load::RecordReader::ReadAt read, bool lines,
              std::shared_ptr<const MatcherIndex> matchers, std::string port = {});
    ~ReadAhead();
    ReadAhead(const ReadAhead&) = delete;
    ReadAhead& operator=(const ReadAhead&) = delete;
    ReadAhead(ReadAhead&&) = delete;
    ReadAhead& operator=(ReadAhead&&) = delete;

    // The next record, in file order; nullptr after the last one, or at a
    // read error (then error() says which).  The item is the caller's until
    // the next call: it may take the rule's lists, leaving others in their
    // place (which the reader fills again).
    Item* next();
    const std::string& error() const { return error_; }
    // Stops reading ahead and counts the records after the last one next()
    // returned that `counts`; nullopt when the file cannot be read to its end.
    std::optional<std::uint64_t> count_rest();

private:
    struct Block {
        std::deque<Item> items;  // the first `used` are this block's
        std::size_t used = 0;
        bool last = false;  // nothing is read after this block
        std::string error;  // the read error after its items ("" if none)
    };

    void run();
    void fill(Block& block);
    // A rule line of the usual shape parsed in one pass into item.rule and
    // item.line.port; false leaves it to the full parse (which names what
    // is wrong, if anything).
    bool quick_parse(std::string_view line, Item& item);
    // The rule of item.line parsed into item.rule, or why it cannot go.
    Status parse(Item& item);
    // The matcher of `key`, nullptr if none (the one before, when the same).
    const MatcherIndex::Entry* matcher(std::uint64_t key);
    void stop();

    proto::load::RecordReader reader_;  // the thread's while it runs
    bool lines_;
    std::shared_ptr<const MatcherIndex> matchers_;
    std::string port_;  // records: the job's
    // The thread's: the matcher the rule before went to (rules come in
    // runs of a matcher).
    std::shared_ptr<const MatcherIndex::Entry> last_matcher_;
    std::uint64_t last_key_ = 0;
    model::QuickRuleLine quick_;  // the thread's
    // The thread sleeps until half the blocks are free, then fills them
    // all: one wake-up per few blocks, and the job has blocks to read
    // while the thread is woken.
    static constexpr std::size_t kBlocks = 8;
    static constexpr std::size_t kRefillBlocks = kBlocks / 2;
    std::array<Block, kBlocks> blocks_;
    // Under mu_: blocks filled and not yet handed out, in order; blocks to
    // fill; whether the thread must end.
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::size_t> ready_;
    std::deque<std::size_t> free_;
    bool stop_ = false;
    std::thread thread_;
    // The job's: the block it reads and where.
    std::optional<std::size_t> current_;
    std::size_t at_ = 0;
    bool done_ = false;  // the last block was handed out
    std::string error_;
};

}  // namespace sgnic::service
