// Bulk rule loads (LoadRules, proto/org.sgnic.Steering1.xml): the two
// formats of the file descriptor a load hands over (Port.LoadRules records,
// Manager.LoadRules rule lines, below), and the chunk machine that sends
// rules in all-or-nothing batches.  sgnicd's load job and sgnicctl's
// AddRules path (a daemon without LoadRules) both use it, so the retry rule
// exists once.  Pure: no I/O except through a read callback.
//
// Record format: one rule per line, four columns separated by a tab,
//   <matcher id>\t<directions>\t<field>=<value>[,<field>=<value>...]\t<action>[,<action>...]\n
// e.g. "3\trx\tipv4-dst=10.0.0.0,ip-proto=tcp\tcount,queue 1\n".  The texts
// are those AddRules takes (codec.hpp); none of them can hold a tab, a
// newline, ',' or '=' (directions may be "rx,tx": the column is not a list),
// so there is no quoting.  An empty match or action column is an empty list.
// The last record may lack its newline.  A record longer than
// kMaxRecordBytes is refused without being read whole.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/result.hpp"

namespace sgnic::proto {

// One rule as AddRules and LoadRules take it (the matcher by id).
struct RuleRequest {
    std::uint64_t matcher = 0;
    std::string directions;
    std::vector<FieldText> match;
    std::vector<std::string> actions;
    friend bool operator==(const RuleRequest&, const RuleRequest&) = default;
};

namespace load {

inline constexpr char kColumnSeparator = '\t';
inline constexpr char kListSeparator = ',';
inline constexpr char kPairSeparator = '=';
inline constexpr char kRecordEnd = '\n';
// A rule's longest legitimate record is about 1.5 KB (16 fields, 16 actions).
inline constexpr std::size_t kMaxRecordBytes = 4096;
// Bytes of a record quoted back in a failure report.
inline constexpr std::size_t kExcerptBytes = 64;

// Appends the rule's record and its newline; a text that holds a separator
// is refused (no valid field, value or action does) and nothing is appended.
Status append_record(std::string& out, const RuleRequest& rule);
// The same from a rule's parts (sgnicctl builds records from what it parsed).
Status append_record(std::string& out, std::uint64_t matcher, std::string_view directions,
                     std::span<const FieldText> match, std::span<const std::string> actions);
// One record without its newline.  Errors say which column is wrong.
Expected<RuleRequest> parse_record(std::string_view record);
// The match and action columns on their own ("field=value,...",
// "action,..."): sgnicd's store keeps a rule's lists in the same text.
Status append_match_column(std::string& out, std::span<const FieldText> match);
Status append_actions_column(std::string& out, std::span<const std::string> actions);
Expected<std::vector<FieldText>> parse_match_column(std::string_view column);
Expected<std::vector<std::string>> parse_actions_column(std::string_view column);
// The same into `out`, whose elements and strings keep their memory from
// one call to the next (a store read of a million rows); on an error `out`
// holds no meaning.
Status parse_match_column(std::string_view column, std::vector<FieldText>& out);
Status parse_actions_column(std::string_view column, std::vector<std::string>& out);
// A rule file line in the words of `sgnicctl rule add` (Manager.LoadRules):
//   [dev PORT] matcher ID [dir rx|tx|both] FIELD VALUE... action ACTION...
// Words are split on blanks (space, tab, CR); '#' starts a comment.
struct RuleLine {
    std::string port;  // "" when the line names none: the matcher's
    RuleRequest rule;  // directions "both" when the line names none
};
// One line: false for a line without a rule (blank or a comment), else its
// rule in `out` (whose strings keep their memory from one call to the next).
// The words' structure is checked here; the values, actions and directions
// where the rule is added, as for a record.  Errors name the word at fault.
Expected<bool> parse_rule_line(std::string_view line, RuleLine& out);
// Appends the rule as a line (port "" for none) and its newline; a word
// that is empty or holds a blank or '#' is refused, naming it, and nothing
// is appended.
Status append_rule_line(std::string& out, std::string_view port, std::uint64_t matcher,
                        std::string_view directions, std::span<const FieldText> match,
                        std::span<const std::string> actions);
// What a byte is to a rule line; a table, not comparisons: splitting lines
// into words was the largest part of parsing them.  A NUL or a byte that is
// not ASCII is part of a word, but makes the line not plain.
enum class LineByte : std::uint8_t { word, blank, comment, unusual };
inline constexpr std::array<LineByte, 256> kLineBytes = [] {
    std::array<LineByte, 256> kinds{};
    kinds[0] = LineByte::unusual;
    kinds[' '] = LineByte::blank;
    kinds['\t'] = LineByte::blank;
    kinds['\r'] = LineByte::blank;
    kinds['#'] = LineByte::comment;
    for (std::size_t c = 0x80; c < kinds.size(); ++c) {
        kinds[c] = LineByte::unusual;
    }
    return kinds;
}();

// The words of a rule line, one at a time, as parse_rule_line splits them:
// blanks separate them, '#' ends the line.  Inline: a load splits millions.
class RuleLineWords {
public:
    explicit RuleLineWords(std::string_view line) : line_(line) {}
    // The words from byte `at` on (a word's start, or blanks before one).
    RuleLineWords(std::string_view line, std::size_t at) : line_(line), at_(at) {}
    // The next word; "" at the end of the line.
    std::string_view next() {
        while (at_ < line_.size() && kind(line_[at_]) == LineByte::blank) {
            ++at_;
        }
        const std::size_t start = at_;
        at_ = word_end(at_);
        const std::size_t end = at_;
        if (at_ < line_.size() && kind(line_[at_]) == LineByte::comment) {
            at_ = line_.size();  // the comment is not words
            plain_ = false;
        }
        return line_.substr(start, end - start);
    }
    // The next word, left to be read again.
    std::string_view peek() {
        RuleLineWords ahead = *this;
        return ahead.next();
    }
    // No comment and no byte that is not ASCII text (NUL, >= 0x80) so far.
    bool plain() const { return plain_; }
    // Where the next word is looked for: the end of the word read last.
    std::size_t at() const { return at_; }

private:
    static LineByte kind(char c) { return kLineBytes[static_cast<unsigned char>(c)]; }
    // Where the word at `at` ends: the first blank or '#' from there, or the
    // line's end; an unusual byte on the way makes the line not plain.
    // Eight bytes at a time while none of them can be anything but a word's
    // (printable ASCII other than '#'): splitting was most of a bulk parse.
    std::size_t word_end(std::size_t at) {
        while (at < line_.size()) {
            if constexpr (std::endian::native == std::endian::little) {
                for (; line_.size() - at >= sizeof(std::uint64_t); at += sizeof(std::uint64_t)) {
                    std::uint64_t bytes = 0;
                    std::memcpy(&bytes, line_.data() + at, sizeof(bytes));
                    if (const std::uint64_t flags = not_printable(bytes); flags != 0) {
                        at += static_cast<std::size_t>(std::countr_zero(flags)) / 8;
                        break;
                    }
                }
                if (at == line_.size()) {
                    break;
                }
            }
            const LineByte k = kind(line_[at]);
            if (k == LineByte::unusual) {
                plain_ = false;
            } else if (k != LineByte::word) {
                break;
            }
            ++at;
        }
        return at;
    }
    // The top bit of each byte of `bytes` below 0x21, at or above 0x80, or
    // '#'.  The lowest byte flagged is exact (a borrow only flags bytes above
    // one flagged rightly); the table then says what it is.
    static std::uint64_t not_printable(std::uint64_t bytes) {
        constexpr std::uint64_t kOnes = 0x0101010101010101;
        constexpr std::uint64_t kTops = 0x8080808080808080;
        const auto below = [](std::uint64_t v, std::uint64_t n) {
            return (v - kOnes * n) & ~v & kTops;
        };
        return below(bytes, '!') | (bytes & kTops) | below(bytes ^ (kOnes * '#'), 1);
    }
    std::string_view line_;
    std::size_t at_ = 0;
    bool plain_ = true;
};
// The words of a rule line that are not a field or a value.
enum class Keyword : std::uint8_t { none, dev, matcher, dir, action };

// Which keyword a word is: by its length first, so that most words (values,
// fields) are told apart without comparing their bytes.
inline Keyword keyword_of(std::string_view word) {
    switch (word.size()) {
        case 3:
            if (word == "dev") {
                return Keyword::dev;
            }
            return word == "dir" ? Keyword::dir : Keyword::none;
        case 6:
            return word == "action" ? Keyword::action : Keyword::none;
        case 7:
            return word == "matcher" ? Keyword::matcher : Keyword::none;
        default:
            return Keyword::none;
    }
}
// Whether a line holds a rule (a word before any '#'), without parsing it.
bool holds_rule(std::string_view line);
// The matcher and directions a rule line names, for counting before the
// rules are parsed (presize); nullopt when they cannot be read.
std::optional<std::pair<std::uint64_t, Directions>> rule_line_target(std::string_view line);
// rule_line_target() of a file's lines read in order: a line that begins
// with the same bytes as the line before, up to and including the blank
// after its `dir` word, has the same target, which is not read again (a
// load's lines mostly begin alike: sgnicctl's count of a 1M-line file 227
// -> 123 instructions a line).
class RuleLineTargets {
public:
    std::optional<std::pair<std::uint64_t, Directions>> operator()(std::string_view line);

private:
    static constexpr std::size_t kKeyBytes = 64;
    std::array<char, kKeyBytes> key_{};
    std::size_t key_len_ = 0;  // 0: no line before to compare with
    std::pair<std::uint64_t, Directions> target_{};
};
// Rules per matcher and direction (RX, TX): what a presize needs, counted by
// sgnicd's pass over a file or by its caller (LoadRules' "matchers").
using RuleCounts = std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>>;
void count_rule(RuleCounts& counts, std::uint64_t matcher, Directions directions);

// The record as text for a report: at most kExcerptBytes (then "..."),
// cut at a whole character, bytes that are not UTF-8 text shown as '?'.
std::string excerpt(std::string_view record);

// Splits a file into records, reading it a block at a time through `read`
// (pread-like: up to buf.size() bytes at `offset`, 0 at the end).
class RecordReader {
public:
    using ReadAt = std::function<Expected<std::size_t>(std::span<char> buf, std::uint64_t offset)>;
    static constexpr std::size_t kDefaultBlock = std::size_t{256} * 1024;

    explicit RecordReader(ReadAt read, std::size_t block = kDefaultBlock);

    struct Record {
        std::uint64_t index = 0;  // 1-based position in the file
        std::string_view text;    // without the newline; valid until next()
        bool too_long = false;    // text is then the record's first kMaxRecordBytes
    };
    // The next record, nullopt after the last one, or the read's error.
    Expected<std::optional<Record>> next();
    // Counts the records not read yet (those `counts` accepts, when given),
    // and reads them away.
    Expected<std::uint64_t> count_rest(bool (*counts)(std::string_view) = nullptr);

private:
    // Reads another block after what is buffered; false at the end.
    Expected<bool> fill();

    ReadAt read_;
    std::size_t block_;
    std::vector<char> buf_;
    std::size_t begin_ = 0;  // unread bytes are buf_[begin_, end_)
    std::size_t end_ = 0;
    std::uint64_t offset_ = 0;  // of the file, after buf_[end_ - 1]
    std::uint64_t index_ = 0;
    bool eof_ = false;
    std::string long_;  // the start of a record longer than kMaxRecordBytes
};

// "rule #3: bad" -> 3 and, in *rest, the message after "rule #3: ": the
// daemon names the failing rule of a batch (0-based) this way.
std::optional<std::size_t> failing_index(std::string_view message, std::string* rest);

// One batch call's outcome.
struct BatchResult {
    bool ok = false;
    std::optional<std::size_t> index;  // the failing rule in the batch, when named
    std::string message;               // without the "rule #N: " prefix
    bool fatal = false;                // stop the whole load: no later batch can succeed
};

// One chunk of a load, sent as all-or-nothing batches: a batch whose error
// names a rule loses that rule (a failure) and the rest is sent again; an
// error naming no rule fails every rule still pending; a fatal one too, and
// says that the load stops.  Positions are 0-based within the chunk.
class ChunkRetry {
public:
    explicit ChunkRetry(std::size_t size);

    // The positions to send next, in order; empty when the chunk is settled.
    const std::vector<std::size_t>& pending() const { return pending_; }
    bool done() const { return pending_.empty(); }

    struct Settled {
        std::uint64_t loaded = 0;
        std::vector<std::size_t> failed;  // positions, all with `reason`
        std::string reason;
        bool fatal = false;
    };
    // What the result of sending pending() settles.
    Settled settle(const BatchResult& result);

private:
    std::vector<std::size_t> pending_;
};

}  // namespace load
}  // namespace sgnic::proto
