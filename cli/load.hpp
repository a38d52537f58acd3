// `rule load`: rule files in two forms, and sending them in chunks over a
// batch call that is all or nothing.  Pure: the sender is a callback.
//
// Text form: one rule per line in the words of `rule add`; '#' starts a
// comment; blank lines are skipped.
//
// JSON form (the file starts with '{' or '['): an array of rules, or an
// object with "rules": [...] (so `sgnicctl -j rule list` output loads back):
//   {"dev"|"port": "sgnic0",            optional: else the matcher's port
//    "matcher": 3,                      required, > 0
//    "dir"|"directions": "rx",          optional, default "both"
//    "match": {"ipv4-dst": "10.0.0.1"}  or [{"field": F, "value": V}, ...]
//    "actions": ["count", "queue 1"]}   or one string "count queue 1"
// Other keys (id, uid, counters, ...) are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/grammar.hpp"
#include "sgnic/proto/load.hpp"

namespace sgnic::cli {

struct LoadItem {
    std::string where;  // "line 7", "rule 3": how the summary names it
    RuleText rule;
    std::size_t position = 0;  // in the file, so failures are reported in its order
};

struct LoadFailure {
    std::string where;
    std::string reason;
    std::size_t position = 0;
};

// Walks a rule file one rule at a time, in file order: each rule the grammar
// accepts goes to on_rule, each one it refuses to on_failure.  Nothing is
// kept, so a file of a million rules costs what its records do.
void each_rule(std::string_view content, const std::function<void(LoadItem&&)>& on_rule,
               const std::function<void(LoadFailure&&)>& on_failure);

// One AddRules call's outcome, and the daemon's "rule #3: ..." read back
// (proto/load.hpp: the chunk machine sgnicd's load jobs use too).
using proto::load::BatchResult;
using proto::load::failing_index;

struct LoadReport {
    std::uint64_t loaded = 0;
    std::vector<LoadFailure> failures;
    bool aborted = false;
};

// Sends the items of one port over AddRules in chunks of at most `chunk`
// (a daemon without Port.LoadRules); a chunk whose error names a rule loses
// that rule (recorded with the reason) and is sent again; an error naming
// no rule fails the whole chunk (proto::load::ChunkRetry).  progress(done)
// counts rules settled (loaded or failed).
using SendBatch = std::function<BatchResult(std::span<const LoadItem>)>;
LoadReport send_in_chunks(std::span<const LoadItem> items, std::size_t chunk, const SendBatch& send,
                          const std::function<void(std::uint64_t)>& progress);

// How a rule is named in a report ("line 7"), and where it is in the file.
struct RuleName {
    std::string where;
    std::size_t position = 0;
};

// The file descriptor's content for Port.LoadRules (proto/load.hpp), built
// one rule at a time.  Record i (1-based) is sent[i - 1]; a rule whose texts
// cannot be a record (no valid one holds a tab, ',' or '=') is refused.
struct Records {
    std::string text;
    std::vector<RuleName> sent;
    std::vector<LoadFailure> refused;

    void add(const LoadItem& item);
};

// The rules of the file at the names' positions (ascending, as Records keeps
// them): a daemon without Port.LoadRules takes rule texts over AddRules.
std::vector<LoadItem> rules_at(std::string_view content, std::span<const RuleName> names);

// A LoadRules job's Finished: rules loaded, (record index, reason) per
// failure, and why it ended early ("" when it did not).
struct JobOutcome {
    std::uint64_t loaded = 0;
    std::vector<std::pair<std::uint64_t, std::string>> failures;
    std::string error;
};
// The job's failures under the rules' names.  Records settle in order: the
// first `loaded` records not named failed were loaded; after an early end
// every other one failed with the job's error (and report.aborted is set).
void add_job_outcome(LoadReport& report, std::span<const RuleName> sent, const JobOutcome& job);

using proto::load::RuleCounts;

// The file for Manager.LoadRules: its rules as lines in the words of `rule
// add`, which sgnicd parses and checks itself.  A text file goes as it is
// (`verbatim`, `text` and `sent` empty): sgnicd skips its blank and comment
// lines and names a failure by the file's line number, so nothing here
// reads more than the count of its rule lines.  A JSON file's rules are
// checked here and written as lines (line i of `text` is sent[i - 1]), one
// that cannot be is refused.
struct RuleLines {
    bool verbatim = false;
    std::string text;
    std::uint64_t rules = 0;  // lines of the file sgnicd gets that hold a rule
    // Their rules per matcher and direction (RX, TX), as sgnicd's presize
    // counts them: sgnicd sizes the matchers without reading the file first.
    RuleCounts per_matcher;
    std::vector<RuleName> sent;
    std::vector<LoadFailure> refused;
};
// rule_lines' count of a text file, made as the file arrives in pieces
// that end at a line's end (RuleFile's follower).  A JSON file is not
// counted.
class RuleLineCount {
public:
    void add(std::string_view piece);
    // The bytes added: rule_lines takes the count only for the whole text.
    std::uint64_t bytes() const { return bytes_; }

private:
    friend RuleLines rule_lines(std::string_view content, const RuleLineCount* counted);
    std::uint64_t bytes_ = 0;
    bool started_ = false;  // a piece with a word seen: the form is known
    bool json_ = false;
    std::uint64_t rules_ = 0;
    RuleCounts per_matcher_;
    proto::load::RuleLineTargets targets_;  // where the last piece ended
};
// `counted`, when it counted all of `content`, spares counting it again.
RuleLines rule_lines(std::string_view content, const RuleLineCount* counted = nullptr);
// A text file's lines that hold rules, named "line N", in order.
std::vector<RuleName> rule_line_names(std::string_view content);
// A job over a file sent as it is names failures by line number: the same
// failures by their rank among `names` (rule_line_names()), as
// add_job_outcome counts records.
JobOutcome ranked(JobOutcome job, std::span<const RuleName> names);

// Failures in file order.
void sort_failures(LoadReport& report);

// "loaded N, failed M" and the first `shown` reasons, then "... and K more".
std::string load_summary(const LoadReport& report, std::size_t shown);

}  // namespace sgnic::cli
