#include "model/rule_line.hpp"

#include <algorithm>
#include <cstring>

namespace sgnic::model {

namespace {

// The bytes of a rule line's words as parse_rule_line splits them; a line
// with a comment or a byte that is not ASCII text goes to the full parse.
enum class ByteKind : std::uint8_t { word, blank, other };

constexpr std::array<ByteKind, 256> kByteKinds = [] {
    std::array<ByteKind, 256> kinds{};
    kinds[0] = ByteKind::other;
    kinds[' '] = ByteKind::blank;
    kinds['\t'] = ByteKind::blank;
    kinds['\r'] = ByteKind::blank;
    kinds['#'] = ByteKind::other;
    for (std::size_t c = 0x80; c < kinds.size(); ++c) {
        kinds[c] = ByteKind::other;
    }
    return kinds;
}();

class Words {
public:
    explicit Words(std::string_view line) : line_(line) {}
    // The next word, "" at the end; false at a byte the quick parse leaves.
    bool next(std::string_view& word) {
        while (at_ < line_.size() && kind(line_[at_]) == ByteKind::blank) {
            ++at_;
        }
        const std::size_t start = at_;
        while (at_ < line_.size() && kind(line_[at_]) == ByteKind::word) {
            ++at_;
        }
        word = line_.substr(start, at_ - start);
        return at_ == line_.size() || kind(line_[at_]) != ByteKind::other;
    }

private:
    static ByteKind kind(char c) { return kByteKinds[static_cast<unsigned char>(c)]; }
    std::string_view line_;
    std::size_t at_ = 0;
};

bool is(std::string_view word, std::string_view keyword) {
    return word.size() == keyword.size() &&
           std::memcmp(word.data(), keyword.data(), word.size()) == 0;
}

// Decimal digits only (what a bulk file holds); hex and names are left to
// the full parse.
bool decimal(std::string_view word, std::uint64_t max, std::uint64_t& out) {
    constexpr std::size_t kMaxDigits = 10;  // UINT32_MAX has 10: no overflow below
    if (word.empty() || word.size() > kMaxDigits) {
        return false;
    }
    std::uint64_t v = 0;
    for (const char c : word) {
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > max) {
        return false;
    }
    out = v;
    return true;
}

// Four decimal octets as inet_pton() takes them: no leading zero, none
// above 255.
bool dotted_quad(std::string_view word, std::uint8_t* out) {
    std::size_t at = 0;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (at >= word.size() || word[at] != '.') {
                return false;
            }
            ++at;
        }
        const std::size_t start = at;
        unsigned v = 0;
        while (at < word.size() && at - start < 3 && word[at] >= '0' && word[at] <= '9') {
            v = v * 10 + static_cast<unsigned>(word[at] - '0');
            ++at;
        }
        const std::size_t digits = at - start;
        if (digits == 0 || v > 255 || (digits > 1 && word[start] == '0')) {
            return false;
        }
        out[octet] = static_cast<std::uint8_t>(v);
    }
    return at == word.size();
}

bool outside(std::span<const std::uint8_t> value, std::span<const std::uint8_t> mask) {
    for (std::size_t i = 0; i < value.size(); ++i) {
        if ((value[i] & static_cast<std::uint8_t>(~mask[i])) != 0) {
            return true;
        }
    }
    return false;
}

// The value of `field` into `out` (its length), as parse_match() places it.
bool field_value(const proto::FieldInfo& field, std::string_view text,
                 std::span<const std::uint8_t> mask, std::uint8_t* out) {
    std::uint64_t number = 0;
    if (field.kind == proto::FieldKind::ipv4 && field.length == 4 && dotted_quad(text, out)) {
        // out holds it
    } else if (field.kind == proto::FieldKind::number && decimal(text, field.max, number)) {
        for (std::size_t i = field.length; i-- > 0; number >>= 8) {
            out[i] = static_cast<std::uint8_t>(number & 0xff);
        }
    } else {
        auto parsed = proto::parse_value(field, text);
        if (!parsed || parsed->value.size() != field.length ||
            (parsed->mask && !std::ranges::equal(*parsed->mask, mask))) {
            return false;
        }
        std::ranges::copy(parsed->value, out);
    }
    return !outside(std::span(out, field.length), mask);
}

}  // namespace

bool QuickRuleLine::scan(std::string_view line) {
    matcher_ = 0;
    port_ = {};
    directions_ = proto::Directions::both();
    field_count_ = 0;
    action_count_ = 0;
    bool named_port = false;
    bool named_dirs = false;
    Words words(line);
    std::string_view word;
    if (!words.next(word)) {
        return false;
    }
    // The fields and the words that name the rule's place, in any order;
    // then the actions, to the end of the line.
    for (; !word.empty() && !is(word, "action");) {
        std::string_view after;
        if (!words.next(after) || after.empty()) {
            return false;
        }
        if (is(word, "matcher")) {
            if (matcher_ != 0 || !decimal(after, UINT64_MAX, matcher_) || matcher_ == 0) {
                return false;
            }
        } else if (is(word, "dev")) {
            if (named_port || !proto::valid_port_name(after)) {
                return false;
            }
            port_ = after;
            named_port = true;
        } else if (is(word, "dir")) {
            if (named_dirs) {
                return false;
            }
            auto dirs = proto::parse_directions(after);
            if (!dirs) {
                return false;
            }
            directions_ = *dirs;
            named_dirs = true;
        } else {
            if (field_count_ == fields_.size()) {
                return false;
            }
            fields_[field_count_++] = {word, after};
        }
        if (!words.next(word)) {
            return false;
        }
    }
    while (!word.empty()) {  // at "action"
        if (!words.next(word) || word.empty() || is(word, "action")) {
            return false;  // an empty list: the full parse says so
        }
        for (; !word.empty() && !is(word, "action");) {
            const proto::spec::Action* known = proto::find_action(word);
            if (known == nullptr || action_count_ == actions_.size()) {
                return false;
            }
            std::uint64_t arg = 0;
            if (known->takes_arg && (!words.next(word) || !decimal(word, UINT32_MAX, arg))) {
                return false;
            }
            actions_[action_count_++] = {.type = known->type,
                                         .arg = static_cast<std::uint32_t>(arg)};
            if (!words.next(word)) {
                return false;
            }
        }
    }
    const std::span<const proto::Action> actions(actions_.data(), action_count_);
    return matcher_ != 0 && proto::check_actions(actions) &&
           proto::check_directions(directions_, actions);
}

bool QuickRuleLine::parse(const proto::MatchTemplate& tmpl, DesiredRule& out) const {
    constexpr std::size_t kMaxFieldBytes = 16;  // an IPv6 address
    if (tmpl.fields.size() > kMaxFields) {
        return false;
    }
    std::array<std::size_t, kMaxFields> offsets{};
    std::size_t length = 0;
    for (std::size_t i = 0; i < tmpl.fields.size(); ++i) {
        offsets[i] = length;
        length += tmpl.fields[i].mask.size();
    }
    std::array<std::uint8_t, kMaxFields * kMaxFieldBytes> bytes{};
    if (length > bytes.size()) {
        return false;
    }
    std::uint32_t given = 0;
    for (std::size_t k = 0; k < field_count_; ++k) {
        const auto& [name, text] = fields_[k];
        const proto::FieldInfo* f = proto::find_field(name);
        if (f == nullptr) {
            return false;
        }
        const auto it = std::find_if(tmpl.fields.begin(), tmpl.fields.end(),
                                     [&](const proto::MatchField& m) { return m.field == f->id; });
        if (it == tmpl.fields.end() || it->mask.size() != f->length) {
            return false;
        }
        const auto index = static_cast<std::size_t>(it - tmpl.fields.begin());
        if ((given & (1U << index)) != 0 ||
            !field_value(*f, text, it->mask, bytes.data() + offsets[index])) {
            return false;
        }
        given |= 1U << index;
    }
    out = DesiredRule{.id = 0,
                      .matcher = matcher_,
                      .uid = 0,
                      .directions = directions_,
                      .body = RuleBody(std::span(bytes.data(), length), given,
                                       std::span(actions_.data(), action_count_))};
    return true;
}

}  // namespace sgnic::model
