#include "model/rule_line.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "sgnic/proto/load.hpp"

namespace sgnic::model {

namespace {

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

// The value of `field` into `out` (its length), as parse_match() places it
// (proto::check_match checks it against the template's mask).
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
    return true;
}

}  // namespace

bool QuickRuleLine::scan(std::string_view line) {
    line_ = line;
    place_ = {};
    action_count_ = 0;
    std::size_t from = 0;
    // From the furthest pair's end the line shares with the line before.
    for (std::size_t r = resume_count_; r-- > 0;) {
        const QuickResume& resume = resumes_[r];
        if (resume.at <= line.size() && std::memcmp(line.data(), before_.data(), resume.at) == 0) {
            from = resume.at;
            place_ = resume.place;
            break;
        }
        resume_count_ = r;  // none matched: 0
    }
    const bool taken = scan_from(from);
    if (!taken) {
        resume_count_ = 0;  // a place is only kept from a line taken
    } else if (resume_count_ > 0) {
        before_.assign(line.substr(0, resumes_[resume_count_ - 1].at));
    }
    return taken;
}

bool QuickRuleLine::scan_from(std::size_t from) {
    using proto::load::Keyword;
    using proto::load::keyword_of;
    proto::load::RuleLineWords words(line_, from);
    QuickPlace& p = place_;
    std::string_view word = words.next();
    // The fields and the words that name the rule's place, in any order;
    // then the actions, to the end of the line.
    for (Keyword keyword = keyword_of(word); !word.empty() && keyword != Keyword::action;
         keyword = keyword_of(word)) {
        const std::string_view after = words.next();
        if (after.empty()) {
            return false;
        }
        switch (keyword) {
            case Keyword::matcher:
                if (p.matcher != 0 || !decimal(after, UINT64_MAX, p.matcher) || p.matcher == 0) {
                    return false;
                }
                break;
            case Keyword::dev:
                if (p.named_port || !proto::valid_port_name(after)) {
                    return false;
                }
                p.port = word_of(after);
                p.named_port = true;
                break;
            case Keyword::dir: {
                auto dirs = proto::parse_directions(after);
                if (p.named_dirs || !dirs) {
                    return false;
                }
                p.directions = *dirs;
                p.named_dirs = true;
                break;
            }
            case Keyword::action:  // (not here: the loop ends at it)
            case Keyword::none:
                if (p.field_count == fields_.size()) {
                    return false;
                }
                fields_[p.field_count++] = {word_of(word), word_of(after)};
                break;
        }
        // A blank ends the pair: a line with these bytes up to it has read
        // the same words by then.
        if (const std::size_t end = words.at();
            end < line_.size() &&
            proto::load::kLineBytes[static_cast<unsigned char>(line_[end])] ==
                proto::load::LineByte::blank &&
            resume_count_ < resumes_.size()) {
            resumes_[resume_count_++] = {.at = end + 1, .place = p};
        }
        word = words.next();
    }
    while (!word.empty()) {  // at "action"
        word = words.next();
        if (word.empty() || keyword_of(word) == Keyword::action) {
            return false;  // an empty list: the full parse says so
        }
        for (; !word.empty() && keyword_of(word) != Keyword::action;) {
            const proto::spec::Action* known = proto::find_action(word);
            if (known == nullptr || action_count_ == actions_.size()) {
                return false;
            }
            std::uint64_t arg = 0;
            if (known->takes_arg && !decimal(words.next(), UINT32_MAX, arg)) {
                return false;
            }
            actions_[action_count_++] = {.type = known->type,
                                         .arg = static_cast<std::uint32_t>(arg)};
            word = words.next();
        }
    }
    const std::span<const proto::Action> actions(actions_.data(), action_count_);
    return words.plain() && p.matcher != 0 && proto::check_actions(actions) &&
           proto::check_directions(p.directions, actions);
}

QuickTemplate::QuickTemplate(proto::MatchTemplate tmpl) : tmpl_(std::move(tmpl)) {
    if (tmpl_.fields.size() > fields_.size()) {
        return;  // usable() stays false
    }
    for (const proto::MatchField& m : tmpl_.fields) {
        const proto::FieldInfo* info = proto::find_field_by_id(m.field);
        if (info == nullptr || info->length != m.mask.size() ||
            length_ + info->length > kMaxBytes) {
            return;
        }
        fields_[count_++] = {.info = info, .offset = length_};
        length_ += info->length;
    }
    usable_ = true;
}

std::optional<std::size_t> QuickTemplate::index_of(std::string_view name) const {
    for (std::size_t i = 0; i < count_; ++i) {
        if (fields_[i].info->name == name) {
            return i;
        }
    }
    return std::nullopt;
}

bool QuickRuleLine::parse(const QuickTemplate& tmpl, DesiredRule& out) const {
    if (!tmpl.usable()) {
        return false;
    }
    std::array<std::uint8_t, QuickTemplate::kMaxBytes> bytes{};
    std::uint32_t given = 0;
    for (std::size_t k = 0; k < place_.field_count; ++k) {
        const std::string_view name = word(fields_[k].first);
        const std::string_view text = word(fields_[k].second);
        const auto index = tmpl.index_of(name);
        if (!index || (given & (1U << *index)) != 0) {
            return false;
        }
        const auto& place = tmpl.field(*index);
        if (!field_value(*place.info, text, tmpl.tmpl().fields[*index].mask,
                         bytes.data() + place.offset)) {
            return false;
        }
        given |= 1U << *index;
    }
    const std::span<const std::uint8_t> match(bytes.data(), tmpl.length());
    if (!proto::check_match(tmpl.tmpl(), match, given)) {
        return false;
    }
    out = DesiredRule{.id = 0,
                      .matcher = place_.matcher,
                      .uid = 0,
                      .directions = place_.directions,
                      .body = RuleBody(match, given, std::span(actions_.data(), action_count_))};
    return true;
}

}  // namespace sgnic::model
