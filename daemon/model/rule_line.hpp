// A rule line (proto::load::parse_rule_line's words) parsed straight into
// the rule the service stores, in one pass over its words: no word copied,
// no list per value.  A load's read-ahead thread parses a million lines;
// the full parse (parse_rule_line, then parse_rule) made strings and lists
// for each and cost as much as the kernel's insert.
//
// Only a line the full parse takes is taken, and as the full parse takes
// it (a test checks the two on generated lines).  A line that is not of
// the usual shape (a comment after the rule, a word given twice, bytes that
// are not ASCII, ...) or that is wrong in any way is left to the full
// parse, which names what is wrong: the quick one never has to.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "model/desired.hpp"
#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/fields.hpp"
#include "sgnic/proto/limits.hpp"

namespace sgnic::model {

// A matcher's template, and how the quick parse places values in it: each
// field's description and offset in the packed match, worked out once per
// matcher, not per line.
class QuickTemplate {
public:
    static constexpr std::size_t kMaxFields = proto::spec::kMatchFields.size();
    // Every field, none longer than an IPv6 address.
    static constexpr std::size_t kMaxBytes = kMaxFields * 16;
    struct Field {
        const proto::FieldInfo* info = nullptr;
        std::size_t offset = 0;
    };

    // Not usable() when the template is not one the quick parse places
    // values in (an unknown field, too long).
    explicit QuickTemplate(proto::MatchTemplate tmpl);
    const proto::MatchTemplate& tmpl() const { return tmpl_; }
    bool usable() const { return usable_; }
    // The index in the template of the field of that name.
    std::optional<std::size_t> index_of(std::string_view name) const;
    const Field& field(std::size_t index) const { return fields_[index]; }
    std::size_t length() const { return length_; }

private:
    proto::MatchTemplate tmpl_;
    std::array<Field, kMaxFields> fields_{};
    std::size_t count_ = 0;
    std::size_t length_ = 0;
    bool usable_ = false;
};

// A word by its bytes in the line: the same in a line of the same start.
// (QuickRuleLine's; not nested: a nested type with member initializers is
// not default-constructible inside its class.)
struct QuickWord {
    std::uint32_t at = 0;
    std::uint32_t size = 0;
};
// What a rule line's pairs read so far say (QuickRuleLine's).
struct QuickPlace {
    std::uint64_t matcher = 0;
    QuickWord port;
    proto::Directions directions = proto::Directions::both();
    std::size_t field_count = 0;
    bool named_port = false;
    bool named_dirs = false;
};
// The place after a pair, and the byte after the blank that ended it.
struct QuickResume {
    std::size_t at = 0;
    QuickPlace place;
};

class QuickRuleLine {
public:
    // The line's words, its matcher and port word; false when the line is
    // not for the quick parse.  A line that starts as the line scanned
    // before did, up to the end of one of its words' pairs (a bulk file's
    // lines differ mostly in a value), is read on from there.
    bool scan(std::string_view line);
    // Valid while the line scanned is.
    std::uint64_t matcher() const { return place_.matcher; }
    std::string_view port() const { return word(place_.port); }  // "" when the line names none
    // The scanned rule under its matcher's template into `out` (its id and
    // uid 0); false when the quick parse cannot take it.
    bool parse(const QuickTemplate& tmpl, DesiredRule& out) const;

private:
    static constexpr std::size_t kMaxFields = QuickTemplate::kMaxFields;
    // The words before "action" come in pairs: a place's (matcher, dev,
    // dir) or a field's.
    static constexpr std::size_t kMaxPairs = kMaxFields + 3;

    // Reads line_'s words from byte `from` on, place_ holding what the
    // words before it said.
    bool scan_from(std::size_t from);
    std::string_view word(QuickWord w) const { return line_.substr(w.at, w.size); }
    QuickWord word_of(std::string_view w) const {
        return {static_cast<std::uint32_t>(w.data() - line_.data()),
                static_cast<std::uint32_t>(w.size())};
    }

    std::string_view line_;
    QuickPlace place_;
    // Each field's name and value words, in the line's order.
    std::array<std::pair<QuickWord, QuickWord>, kMaxFields> fields_{};
    std::array<proto::Action, proto::kMaxActions> actions_{};
    std::size_t action_count_ = 0;
    // The last line taken: its bytes up to its last pair's end, and where
    // each of its pairs ended.
    std::string before_;
    std::array<QuickResume, kMaxPairs> resumes_{};
    std::size_t resume_count_ = 0;
};

}  // namespace sgnic::model
