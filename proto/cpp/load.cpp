#include "sgnic/proto/load.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>

namespace sgnic::proto::load {

namespace {

Error invalid(std::string message) { return {Errc::invalid_argument, std::move(message)}; }

// Calls fn(piece) for each piece between `sep`s ("" is one empty piece)
// until fn returns false; returns whether every piece was taken.
template <class Fn>
bool each_piece(std::string_view text, char sep, Fn fn) {
    for (;;) {
        const std::size_t at = text.find(sep);
        if (!fn(text.substr(0, at))) {
            return false;
        }
        if (at == std::string_view::npos) {
            return true;
        }
        text.remove_prefix(at + 1);
    }
}

// Splits at every `sep`; "" is one empty piece.
std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
        const std::size_t at = text.find(sep);
        out.push_back(text.substr(0, at));
        if (at == std::string_view::npos) {
            return out;
        }
        text.remove_prefix(at + 1);
    }
}

// The first separator of `seps` in `text`, named for a message, or null.
const char* separator_in(std::string_view text, std::string_view seps) {
    // A loop over the text, not find_first_of: that calls memchr on `seps`
    // once per character (13 % of sgnicctl's time preparing a load).
    const auto at = std::find_if(text.begin(), text.end(), [seps](char c) {
        return std::any_of(seps.begin(), seps.end(), [c](char sep) { return c == sep; });
    });
    if (at == text.end()) {
        return nullptr;
    }
    switch (*at) {
        case kColumnSeparator:
            return "a tab";
        case kRecordEnd:
            return "a newline";
        case kListSeparator:
            return "','";
        default:
            return "'='";
    }
}

// The length of the longest prefix of `text` that is valid UTF-8 without
// NUL (D-Bus strings are; the store and the JSON replies want them so).
std::size_t valid_utf8_prefix(std::string_view text) {
    std::size_t i = 0;
    // Eight bytes at a time while they are ASCII without NUL (rule files
    // are): a byte loop was a tenth of parsing a rule line.
    constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    while (i + sizeof(std::uint64_t) <= text.size()) {
        std::uint64_t w = 0;
        std::memcpy(&w, text.data() + i, sizeof(w));
        if ((w & kHighBits) != 0 || ((w - kOnes) & ~w & kHighBits) != 0) {
            break;  // a byte to look at one by one
        }
        i += sizeof(w);
    }
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == 0) {
            return i;
        }
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        std::uint32_t min = 0;
        if ((c & 0xe0U) == 0xc0) {
            len = 2;
            cp = c & 0x1fU;
            min = 0x80;
        } else if ((c & 0xf0U) == 0xe0) {
            len = 3;
            cp = c & 0x0fU;
            min = 0x800;
        } else if ((c & 0xf8U) == 0xf0) {
            len = 4;
            cp = c & 0x07U;
            min = 0x10000;
        } else {
            return i;
        }
        if (i + len > text.size()) {
            return i;
        }
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xc0U) != 0x80) {
                return i;
            }
            cp = (cp << 6U) | (cc & 0x3fU);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return i;
        }
        i += len;
    }
    return i;
}

constexpr std::string_view kLineSeparators = "\t\n";
constexpr std::string_view kItemSeparators = "\t\n,=";

}  // namespace

Status append_match_column(std::string& out, std::span<const FieldText> match) {
    for (std::size_t i = 0; i < match.size(); ++i) {
        const FieldText& f = match[i];
        if (f.field.empty()) {
            return invalid("a match value without its field name");
        }
        if (const char* sep = separator_in(f.field, kItemSeparators)) {
            return invalid("field name '" + f.field + "' holds " + sep);
        }
        if (const char* sep = separator_in(f.text, kItemSeparators)) {
            return invalid(f.field + ": value '" + f.text + "' holds " + sep +
                           ", which no value can");
        }
        if (i > 0) {
            out += kListSeparator;
        }
        out += f.field;
        out += kPairSeparator;
        out += f.text;
    }
    return {};
}

Status append_actions_column(std::string& out, std::span<const std::string> actions) {
    for (std::size_t i = 0; i < actions.size(); ++i) {
        const std::string& a = actions[i];
        if (a.empty()) {
            return invalid("an empty action");
        }
        if (const char* sep = separator_in(a, kItemSeparators)) {
            return invalid("action '" + a + "' holds " + sep + ", which no action can");
        }
        if (i > 0) {
            out += kListSeparator;
        }
        out += a;
    }
    return {};
}

Status append_record(std::string& out, const RuleRequest& rule) {
    return append_record(out, rule.matcher, rule.directions, rule.match, rule.actions);
}

Status append_record(std::string& out, std::uint64_t matcher, std::string_view directions,
                     std::span<const FieldText> match, std::span<const std::string> actions) {
    // Written in place and cut back on a refusal: no string per record.
    const std::size_t start = out.size();
    const auto refuse = [&out, start](Status st) {
        out.resize(start);
        return st;
    };
    if (const char* sep = separator_in(directions, kLineSeparators)) {
        return invalid("directions '" + std::string(directions) + "' hold " + sep);
    }
    std::array<char, std::numeric_limits<std::uint64_t>::digits10 + 1> id{};
    const auto [id_end, ec] = std::to_chars(id.data(), id.data() + id.size(), matcher);
    (void)ec;  // the array holds every u64
    out.append(id.data(), id_end);
    out += kColumnSeparator;
    out += directions;
    out += kColumnSeparator;
    if (auto st = append_match_column(out, match); !st) {
        return refuse(st);
    }
    out += kColumnSeparator;
    if (auto st = append_actions_column(out, actions); !st) {
        return refuse(st);
    }
    if (const std::size_t bytes = out.size() - start; bytes > kMaxRecordBytes) {
        return refuse(invalid("the rule takes " + std::to_string(bytes) +
                              " bytes as a record; at most " + std::to_string(kMaxRecordBytes)));
    }
    out += kRecordEnd;
    return {};
}

Status parse_match_column(std::string_view column, std::vector<FieldText>& out) {
    std::size_t n = 0;
    if (!column.empty()) {
        std::optional<Error> error;
        each_piece(column, kListSeparator, [&](std::string_view pair) {
            const std::size_t eq = pair.find(kPairSeparator);
            if (eq == std::string_view::npos || eq == 0) {
                error = invalid("match '" + std::string(pair) + "' is not <field>=<value>");
                return false;
            }
            const std::string_view value = pair.substr(eq + 1);
            if (value.find(kPairSeparator) != std::string_view::npos) {
                error = invalid("match '" + std::string(pair) + "' holds '=' twice");
                return false;
            }
            if (n == out.size()) {
                out.emplace_back();
            }
            out[n].field.assign(pair.substr(0, eq));  // the strings keep their memory
            out[n].text.assign(value);
            ++n;
            return true;
        });
        if (error) {
            return *error;
        }
    }
    out.resize(n);
    return {};
}

Expected<std::vector<FieldText>> parse_match_column(std::string_view column) {
    std::vector<FieldText> out;
    if (auto st = parse_match_column(column, out); !st) {
        return st.error();
    }
    return out;
}

Status parse_actions_column(std::string_view column, std::vector<std::string>& out) {
    std::size_t n = 0;
    if (!column.empty()) {
        const bool whole = each_piece(column, kListSeparator, [&](std::string_view action) {
            if (action.empty()) {
                return false;
            }
            if (n == out.size()) {
                out.emplace_back();
            }
            out[n++].assign(action);
            return true;
        });
        if (!whole) {
            return invalid("an empty action in '" + std::string(column) + "'");
        }
    }
    out.resize(n);
    return {};
}

Expected<std::vector<std::string>> parse_actions_column(std::string_view column) {
    std::vector<std::string> out;
    if (auto st = parse_actions_column(column, out); !st) {
        return st.error();
    }
    return out;
}

Expected<RuleRequest> parse_record(std::string_view record) {
    if (record.empty()) {
        return invalid("empty record");
    }
    if (const std::size_t ok = valid_utf8_prefix(record); ok != record.size()) {
        return invalid("byte " + std::to_string(ok + 1) + " is not text (UTF-8 without NUL)");
    }
    const auto columns = split(record, kColumnSeparator);
    if (columns.size() != 4) {
        return invalid(
            "a record has 4 tab-separated columns (matcher, directions, match, "
            "actions), this one " +
            std::to_string(columns.size()));
    }
    RuleRequest out;
    const std::string_view id = columns[0];
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), out.matcher);
    if (ec != std::errc() || end != id.data() + id.size() || out.matcher == 0 ||
        !std::isdigit(static_cast<unsigned char>(id.front()))) {
        return invalid("matcher '" + std::string(id) + "' is not an id above 0");
    }
    if (columns[1].empty()) {
        return invalid("the directions column is empty");
    }
    out.directions = columns[1];
    auto match = parse_match_column(columns[2]);
    if (!match) {
        return match.error();
    }
    out.match = std::move(*match);
    auto actions = parse_actions_column(columns[3]);
    if (!actions) {
        return actions.error();
    }
    out.actions = std::move(*actions);
    return out;
}

namespace {

constexpr std::string_view kRuleSyntax =
    "[dev PORT] matcher ID [dir rx|tx|both] FIELD VALUE... action ACTION...";

std::string quoted(std::string_view word) { return "'" + std::string(word) + "'"; }

std::optional<std::uint64_t> id_word(std::string_view word) {
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
    if (ec != std::errc() || end != word.data() + word.size() || id == 0) {
        return std::nullopt;
    }
    return id;
}

// Sets the next element of `list` (grown as needed) to `text`.
void put(std::vector<std::string>& list, std::size_t& used, std::string_view text) {
    if (used == list.size()) {
        list.emplace_back();
    }
    list[used++].assign(text);
}

}  // namespace

bool holds_rule(std::string_view line) { return !RuleLineWords(line).next().empty(); }

Status append_rule_line(std::string& out, std::string_view port, std::uint64_t matcher,
                        std::string_view directions, std::span<const FieldText> match,
                        std::span<const std::string> actions) {
    std::string line;
    std::optional<std::string_view> bad;
    const auto word = [&](std::string_view w) {
        if (bad) {
            return;
        }
        if (w.empty() || w.find_first_of(" \t\r\n\v\f#") != std::string_view::npos) {
            bad = w;
            return;
        }
        line.append(w).push_back(' ');
    };
    if (!port.empty()) {
        word("dev");
        word(port);
    }
    word("matcher");
    word(std::to_string(matcher));
    word("dir");
    word(directions);
    for (const FieldText& f : match) {
        word(f.field);
        word(f.text);
    }
    for (const std::string& action : actions) {
        word("action");
        // "mark 5": a name and its number, one word each.
        each_piece(action, ' ', [&](std::string_view w) {
            word(w);
            return true;
        });
    }
    if (bad) {
        return invalid("'" + std::string(*bad) +
                       "' holds a blank or '#': a rule line cannot carry it");
    }
    line.back() = kRecordEnd;
    out += line;
    return {};
}

Expected<bool> parse_rule_line(std::string_view line, RuleLine& out) {
    RuleLineWords words(line);
    std::string_view word = words.next();
    if (word.empty()) {
        return false;
    }
    // The rule's words must be text; a comment may be in any encoding.
    if (const std::string_view words_part = line.substr(0, line.find('#'));
        valid_utf8_prefix(words_part) != words_part.size()) {
        return invalid("byte " + std::to_string(valid_utf8_prefix(words_part) + 1) +
                       " is not text (UTF-8 without NUL)");
    }
    RuleRequest& r = out.rule;
    out.port.clear();
    r.matcher = 0;
    std::string_view directions = "both";
    std::size_t fields = 0;
    std::size_t actions = 0;
    for (; !word.empty(); word = words.next()) {
        const Keyword keyword = keyword_of(word);
        if (keyword == Keyword::dev) {
            const std::string_view name = words.next();
            if (name.empty()) {
                return invalid("'dev' needs a PORT after it");
            }
            if (!valid_port_name(name)) {
                return invalid("port name " + quoted(name) +
                               " is not a valid netdev name (at most 15 characters, no '/' "
                               "or ':')");
            }
            out.port.assign(name);
        } else if (keyword == Keyword::matcher) {
            const std::string_view id = words.next();
            if (id.empty()) {
                return invalid("'matcher' needs an ID after it");
            }
            const auto matcher = id_word(id);
            if (!matcher) {
                return invalid("matcher id " + quoted(id) + " is not a number above 0");
            }
            r.matcher = *matcher;
        } else if (keyword == Keyword::dir) {
            const std::string_view dirs = words.next();
            if (dirs.empty()) {
                return invalid("'dir' needs rx, tx or both after it");
            }
            if (auto parsed = parse_directions(dirs); !parsed) {
                return parsed.error();
            }
            directions = dirs;
        } else if (keyword == Keyword::action) {
            // Everything up to the next `action` (which may repeat) is one list.
            if (words.peek().empty()) {
                return invalid("'action' needs an action after it (actions are " +
                               action_forms(", ") + ")");
            }
            for (std::string_view ahead = words.peek();
                 !ahead.empty() && keyword_of(ahead) != Keyword::action; ahead = words.peek()) {
                const std::string_view name = words.next();
                const spec::Action* known = find_action(name);
                if (known == nullptr || !known->takes_arg) {
                    put(r.actions, actions, name);
                    continue;
                }
                const std::string_view arg = words.next();
                if (arg.empty() || keyword_of(arg) == Keyword::action) {
                    return invalid("action " + quoted(name) + " needs a number after it");
                }
                put(r.actions, actions, name);
                r.actions[actions - 1].append(" ").append(arg);
            }
        } else if (find_field(word) != nullptr) {
            const std::string_view value = words.next();
            if (value.empty()) {
                return invalid("field " + quoted(word) + " needs a VALUE after it");
            }
            for (std::size_t i = 0; i < fields; ++i) {
                if (r.match[i].field == word) {
                    return invalid("field " + quoted(word) + " is given twice");
                }
            }
            if (fields == r.match.size()) {
                r.match.emplace_back();
            }
            r.match[fields].field.assign(word);
            r.match[fields++].text.assign(value);
        } else {
            return invalid("unexpected word " + quoted(word) + " in a rule (fields are " +
                           field_names() + "; a rule is " + std::string(kRuleSyntax) + ")");
        }
    }
    r.match.resize(fields);
    r.actions.resize(actions);
    r.directions.assign(directions);
    if (r.matcher == 0) {
        return invalid("a rule needs matcher ID (a rule is " + std::string(kRuleSyntax) + ")");
    }
    if (actions == 0) {
        return invalid("a rule needs an action (end the rule with action " + action_forms("|") +
                       ")");
    }
    return true;
}

namespace {

// The target of a line that begins as sgnicctl and the manual write one,
// "matcher N dir D" and a blank, read without splitting the line into words
// (a load's presize count reads a million of them: 4-5x faster in a TCG
// guest).  nullopt for any other line: the words decide.
// `key_len`, when given, is set to the length of the line's start that
// decides its target (through the blank after the `dir` word), or 0.
std::optional<std::pair<std::uint64_t, Directions>> written_target(std::string_view line,
                                                                   std::size_t* key_len = nullptr) {
    constexpr std::string_view kMatcher = "matcher ";
    constexpr std::string_view kDir = " dir ";
    if (!line.starts_with(kMatcher)) {
        return std::nullopt;
    }
    const char* const end = line.data() + line.size();
    std::uint64_t matcher = 0;
    const auto [after_id, ec] = std::from_chars(line.data() + kMatcher.size(), end, matcher);
    std::string_view rest(after_id, static_cast<std::size_t>(end - after_id));
    if (ec != std::errc() || matcher == 0 || !rest.starts_with(kDir)) {
        return std::nullopt;
    }
    rest.remove_prefix(kDir.size());
    std::size_t word = 0;
    while (word < rest.size() &&
           kLineBytes[static_cast<unsigned char>(rest[word])] == LineByte::word) {
        ++word;
    }
    // The word ends at a blank, a comment or the line's end; not at a byte
    // that is not text (the words would read it as part of the word).
    if (word < rest.size() &&
        kLineBytes[static_cast<unsigned char>(rest[word])] == LineByte::unusual) {
        return std::nullopt;
    }
    auto dirs = parse_directions(rest.substr(0, word));
    if (!dirs) {
        return std::nullopt;
    }
    if (key_len != nullptr && word < rest.size() &&
        kLineBytes[static_cast<unsigned char>(rest[word])] == LineByte::blank) {
        *key_len = static_cast<std::size_t>(rest.data() - line.data()) + word + 1;
    }
    return std::pair{matcher, *dirs};
}

}  // namespace

std::optional<std::pair<std::uint64_t, Directions>> rule_line_target(std::string_view line) {
    if (auto written = written_target(line)) {
        return written;
    }
    RuleLineWords words(line);
    std::optional<std::uint64_t> matcher;
    Directions dirs = Directions::both();
    bool named_dirs = false;
    // Up to the actions, or until both are known: the rest of the line is
    // not read (a second `matcher` or `dir` makes the line fail when it is
    // parsed, and its count is only a size).
    for (std::string_view word = words.next(); !word.empty() && !(matcher && named_dirs);
         word = words.next()) {
        const Keyword keyword = keyword_of(word);
        if (keyword == Keyword::action) {
            break;
        }
        if (keyword == Keyword::matcher) {
            matcher = id_word(words.next());
        } else if (keyword == Keyword::dir) {
            auto parsed = parse_directions(words.next());
            if (!parsed) {
                return std::nullopt;
            }
            dirs = *parsed;
            named_dirs = true;
        } else {
            // `dev` or a field: its port or value is skipped, whatever it
            // reads like.  No field lookup: a word that is no field makes
            // the line fail when it is parsed, and its count is only a size.
            (void)words.next();
        }
    }
    if (!matcher) {
        return std::nullopt;
    }
    return std::pair{*matcher, dirs};
}

std::optional<std::pair<std::uint64_t, Directions>> RuleLineTargets::operator()(
    std::string_view line) {
    if (key_len_ != 0 && line.size() >= key_len_ &&
        std::memcmp(line.data(), key_.data(), key_len_) == 0) {
        return target_;
    }
    std::size_t key_len = 0;
    auto target = written_target(line, &key_len);
    key_len_ = 0;
    if (!target) {
        return rule_line_target(line);
    }
    if (key_len <= kKeyBytes) {
        std::memcpy(key_.data(), line.data(), key_len);
        key_len_ = key_len;
        target_ = *target;
    }
    return target;
}

void count_rule(RuleCounts& counts, std::uint64_t matcher, Directions directions) {
    auto& [rx, tx] = counts[matcher];
    rx += directions.rx ? 1 : 0;
    tx += directions.tx ? 1 : 0;
}

std::string excerpt(std::string_view record) {
    // Cut at a whole character; a byte that is not text becomes '?'.
    std::string out;
    while (!record.empty()) {
        const std::size_t room = kExcerptBytes - out.size();
        std::size_t ok = valid_utf8_prefix(record);
        if (ok > room) {
            ok = valid_utf8_prefix(record.substr(0, room));
            out.append(record.substr(0, ok));
            record.remove_prefix(ok);
            break;
        }
        out.append(record.substr(0, ok));
        record.remove_prefix(ok);
        if (record.empty() || out.size() == kExcerptBytes) {
            break;
        }
        out += '?';
        record.remove_prefix(1);
    }
    if (!record.empty()) {
        out += "...";
    }
    return out;
}

RecordReader::RecordReader(ReadAt read, std::size_t block)
    : read_(std::move(read)), block_(std::max<std::size_t>(block, 1)) {}

Expected<bool> RecordReader::fill() {
    if (eof_) {
        return false;
    }
    if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (buf_.size() < end_ + block_) {
        buf_.resize(end_ + block_);
    }
    auto n = read_(std::span(buf_.data() + end_, block_), offset_);
    if (!n) {
        return n.error();
    }
    if (*n == 0) {
        eof_ = true;
        return false;
    }
    offset_ += *n;
    end_ += *n;
    return true;
}

Expected<std::optional<RecordReader::Record>> RecordReader::next() {
    bool skipping = false;  // inside a record longer than kMaxRecordBytes
    long_.clear();
    for (;;) {
        const char* from = buf_.data() + begin_;
        const auto* nl =
            end_ > begin_ ? static_cast<const char*>(std::memchr(from, kRecordEnd, end_ - begin_))
                          : nullptr;
        if (nl != nullptr) {
            const auto len = static_cast<std::size_t>(nl - from);
            Record r{.index = ++index_, .text = {}, .too_long = skipping || len > kMaxRecordBytes};
            if (skipping) {
                r.text = long_;
            } else if (r.too_long) {
                long_.assign(from, kMaxRecordBytes);
                r.text = long_;
            } else {
                r.text = std::string_view(from, len);
            }
            begin_ += len + 1;
            return std::optional<Record>(r);
        }
        if (!skipping && end_ - begin_ > kMaxRecordBytes) {
            long_.assign(from, kMaxRecordBytes);
            skipping = true;
        }
        if (skipping) {
            begin_ = end_;  // the rest of a long record is not kept
        }
        auto more = fill();
        if (!more) {
            return more.error();
        }
        if (!*more) {
            if (!skipping && begin_ == end_) {
                return std::optional<Record>();
            }
            // The last record, without its newline.
            Record r{.index = ++index_, .text = {}, .too_long = skipping};
            r.text = skipping ? std::string_view(long_)
                              : std::string_view(buf_.data() + begin_, end_ - begin_);
            begin_ = end_;
            return std::optional<Record>(r);
        }
    }
}

Expected<std::uint64_t> RecordReader::count_rest(bool (*counts)(std::string_view)) {
    std::uint64_t n = 0;
    for (;;) {
        auto r = next();
        if (!r) {
            return r.error();
        }
        if (!*r) {
            return n;
        }
        if (counts == nullptr || counts((*r)->text)) {
            ++n;
        }
    }
}

std::optional<std::size_t> failing_index(std::string_view message, std::string* rest) {
    static constexpr std::string_view kPrefix = "rule #";
    if (!message.starts_with(kPrefix)) {
        return std::nullopt;
    }
    const std::string_view digits = message.substr(kPrefix.size());
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end == digits.data()) {
        return std::nullopt;
    }
    std::string_view tail(end, static_cast<std::size_t>(digits.data() + digits.size() - end));
    if (tail.starts_with(": ")) {
        tail.remove_prefix(2);
    }
    if (rest != nullptr) {
        *rest = std::string(tail);
    }
    return n;
}

ChunkRetry::ChunkRetry(std::size_t size) : pending_(size) {
    for (std::size_t i = 0; i < size; ++i) {
        pending_[i] = i;
    }
}

ChunkRetry::Settled ChunkRetry::settle(const BatchResult& result) {
    Settled s;
    if (result.ok) {
        s.loaded = pending_.size();
        pending_.clear();
        return s;
    }
    s.reason = result.message;
    if (!result.fatal && result.index && *result.index < pending_.size()) {
        // All or nothing: the rules before it were not added either.
        const auto at = pending_.begin() + static_cast<std::ptrdiff_t>(*result.index);
        s.failed.push_back(*at);
        pending_.erase(at);
        return s;
    }
    s.fatal = result.fatal;
    s.failed = std::move(pending_);
    pending_.clear();
    return s;
}

}  // namespace sgnic::proto::load
