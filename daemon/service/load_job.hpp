// A LoadRules job without D-Bus: reads a file through a pread-like callback
// (Port.LoadRules: records for one port; Manager.LoadRules: rule lines, each
// routed to its matcher's port), presizes the matchers once (lines always;
// records when the caller announced a count), then adds the rules a chunk at
// a time, a chunk's rules all of one port, each chunk all or nothing
// with proto::load::ChunkRetry's retry (a rule the service names is dropped
// as a failure and the rest sent again).  A chunk the device took may still
// be on its way to the store (Service::begin_add_rules): the job collects it
// after the next chunk went to the device, and counts it loaded only then.
// The bus runs one step() per event loop iteration; what the job does to
// the service goes through callbacks, so the machine is tested with fakes.
//
// Records settle in file order: when the job ends early (error() not
// empty), the first loaded() records not listed in failures() were added
// and every other unlisted record was not; failed() counts those too.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/desired.hpp"
#include "service/matcher_index.hpp"
#include "service/read_ahead.hpp"
#include "sgnic/proto/limits.hpp"
#include "sgnic/proto/load.hpp"

namespace sgnic::service {

struct LoadFailure {
    std::uint64_t index = 0;  // 1-based record number in the file
    std::string text;         // the record, or its start (proto::load::excerpt)
    std::string reason;
    friend bool operator==(const LoadFailure&, const LoadFailure&) = default;
};

// A LoadJob's chunk: its rules as parsed (ids and uids 0), with the record
// index of each, all for one port.  The chunk read ahead (while the one before was sent) keeps its
// failures and what ended its reading until it becomes the chunk.  (Not
// nested in LoadJob: std::optional of a nested type with member
// initializers is not default-constructible to clang inside the class.)
struct LoadChunk {
    std::vector<model::DesiredRule> rules;
    std::vector<std::uint64_t> indices;
    std::string port;
    std::vector<LoadFailure> failures;
    std::string read_error;
    bool end_of_file = false;
};

class LoadJob {
public:
    // Records scanned per presize step; a chunk is read in its own step.
    static constexpr std::size_t kScanRecordsPerStep = 65536;
    // More failures than this end the job: the list travels in one signal.
    static constexpr std::size_t kMaxFailures = 65536;
    // The first chunk's size by default (Options::first_chunk).
    static constexpr std::size_t kFirstChunk = 1024;

    // Per matcher, its RX and TX rules: what the presize scan counts.
    using Incoming = proto::load::RuleCounts;

    struct Options {
        std::optional<std::uint64_t> expected;  // the caller's count: progress total, presize
        std::size_t chunk = proto::kDefaultLoadChunk;
        // The caller's counts per matcher: the matchers are grown to these
        // and the file is not scanned.
        std::optional<Incoming> incoming = std::nullopt;
        // The first chunk's size; each next one is four times the one
        // before, up to `chunk`.  The device idles until the first chunk is
        // read, and each chunk is read while the one before goes in: small
        // chunks first start the device at once and keep the reading ahead.
        std::size_t first_chunk = kFirstChunk;
    };
    // Puts a batch in the device all or nothing; an error that names a rule
    // says "rule #<index in the batch>: ..." (as Service::add_rules does).
    // Its store commit may still run: the result is the ticket to Collect.
    // `after` is the ticket of the batch before, not collected yet (0:
    // none); if that one is not stored, this one must fail.
    // `meanwhile` reads the next chunk: the batch call runs it, if it
    // likes, while the device takes the batch on a thread of its own.
    using Ticket = std::uint64_t;
    using Meanwhile = std::function<void()>;
    using Rules = std::span<const model::DesiredRule>;
    using Add = std::function<Expected<Ticket>(Rules, Ticket after, const Meanwhile& meanwhile)>;
    // The same to a port (a job of rule lines).
    using AddTo = std::function<Expected<Ticket>(const std::string& port, Rules, Ticket after,
                                                 const Meanwhile& meanwhile)>;
    // Waits for a batch's commit; an error means its rules were not added.
    using Collect = std::function<Expected<void>(Ticket)>;
    // The port of a rule line: its matcher's, which must be the one the line
    // names, if it names one ("" when not); or why the rule cannot go.
    using Route =
        std::function<Expected<std::string>(std::string_view named, model::MatcherKey matcher)>;
    // Grows the matchers (and the rule tables) for what comes; a hint, its
    // failure ignored.  Called once, before the first chunk.
    using Reserve = std::function<void(const Incoming&)>;

    // Records, all for `port`.  Rules are parsed against the templates of
    // `matchers`.
    LoadJob(proto::load::RecordReader::ReadAt read, Options options,
            std::shared_ptr<const MatcherIndex> matchers, std::string port, Add add,
            Collect collect, Reserve reserve);
    // Rule lines (proto::load::parse_rule_line), each to the port `route`
    // names; the record index of a failure is its line number.
    LoadJob(proto::load::RecordReader::ReadAt read, Options options,
            std::shared_ptr<const MatcherIndex> matchers, Route route, AddTo add, Collect collect,
            Reserve reserve);

    // One unit of work: a block of the presize scan, or one batch call (with
    // the reading of its chunk).  Returns whether there is more to do.
    bool step();
    // Stops after the chunk in progress; the rules already added stay.
    void cancel() { cancel_ = true; }
    // Ends with `why` (sgnicd stops): no further batch is sent; the one
    // whose commit is in flight is collected.
    void abandon(const std::string& why);

    bool finished() const { return finished_; }
    std::uint64_t loaded() const { return loaded_; }
    std::uint64_t failed() const { return failures_.size() + unloaded_; }
    // Records settled (loaded or failed) and the expected total (0: unknown).
    std::pair<std::uint64_t, std::uint64_t> progress() const {
        return {loaded() + failed(), total_};
    }
    const std::vector<LoadFailure>& failures() const { return failures_; }
    // "" or why the job ended before the end of the file.
    const std::string& error() const { return error_; }

private:
    void scan_step();
    void load_step();
    using Chunk = LoadChunk;
    // The next chunk's records into rules_; malformed ones fail at once.
    // Takes the chunk read ahead if there is one.
    void read_chunk();
    // Reads the chunk after the one being sent into next_ (Meanwhile).
    void read_next_chunk();
    // Reads records into `chunk` up to a chunk's worth.
    void read_into(Chunk& chunk);
    // The next record's rule and port into rule_ and rule_port_, or nothing
    // (a failure, added to `failures`, or no rule).
    bool take(ReadAhead::Item& item, std::vector<LoadFailure>& failures);
    void fail(std::uint64_t index, std::string text, std::string reason);
    // Adds the rule read last to `chunk`.
    void keep_rule(Chunk& chunk);
    // A rule the device refused, quoted as it would be written.
    std::string quoted(const std::string& port, const model::DesiredRule& rule) const;
    // Ends the job; with an error, counts the records not loaded.
    void finish(std::string error, std::uint64_t pending);
    // Collects the chunk in flight: loaded, or (returned) why not.
    std::optional<std::string> land();

    Options options_;
    std::shared_ptr<const MatcherIndex> matchers_;
    std::string port_;  // records: the job's one port
    Route route_;       // none for records: every rule goes to the one port
    AddTo add_;
    Collect collect_;
    Reserve reserve_;
    // Rules of the next chunk read: from Options::first_chunk up.
    std::size_t chunk_size_ =
        std::max<std::size_t>(1, std::min(options_.first_chunk, options_.chunk));
    std::uint64_t total_ = 0;    // the caller's count, or the scan's
    std::uint64_t scanned_ = 0;  // rules the scan counted
    proto::load::RecordReader::ReadAt read_;
    std::optional<proto::load::RecordReader> scan_;
    proto::load::RuleLineTargets scan_targets_;  // the scan's lines read before
    // Reads and parses the records for the chunks, from the first one on,
    // from the job's start: meanwhile a presize runs.  Gone once the job
    // ended well.
    std::unique_ptr<ReadAhead> ahead_ =
        std::make_unique<ReadAhead>(read_, route_ != nullptr, matchers_, port_);
    Incoming incoming_;
    Chunk chunk_;                // the chunk in progress (failures and end go to the job's)
    std::optional<Chunk> next_;  // the chunk read while chunk_ was sent
    Chunk spare_;                // the one sent before: its lists' memory for next_
    // The rule read last: a line whose port is not the chunk's starts the next.
    model::DesiredRule rule_;
    std::string rule_port_;
    std::uint64_t rule_index_ = 0;
    // The route of the rule before: its matcher and port word.
    bool routed_ = false;
    model::MatcherKey routed_matcher_ = 0;
    std::string routed_named_;
    bool holding_ = false;
    std::optional<proto::load::ChunkRetry> retry_;
    // The chunk the device took whose commit may still run: its ticket and
    // the rules it loads.
    struct InFlight {
        Ticket ticket = 0;
        std::uint64_t rules = 0;
    };
    std::optional<InFlight> in_flight_;
    std::vector<LoadFailure> failures_;
    std::uint64_t loaded_ = 0;
    std::uint64_t unloaded_ = 0;  // not added because the job ended early
    std::string error_;
    bool end_of_file_ = false;
    bool cancel_ = false;
    bool finished_ = false;
};

}  // namespace sgnic::service
