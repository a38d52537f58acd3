#include "model/desired.hpp"

#include <algorithm>
#include <optional>

#include "sgnic/proto/limits.hpp"
#include "sgnic/proto/spec.hpp"

namespace sgnic::model {

namespace {

// Action arguments are held little-endian: the bytes are also the stored
// form (RuleBody::append_stored), which must read the same on any host.
std::uint8_t* put_le32(std::uint8_t* out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        *out++ = static_cast<std::uint8_t>(v >> (8 * i));
    }
    return out;
}

std::uint32_t get_le32(const std::uint8_t* in) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v |= static_cast<std::uint32_t>(in[i]) << (8 * i);
    }
    return v;
}

constexpr std::size_t kStoredHeader = 4;  // given (2 bytes), match length, action count

}  // namespace

static_assert(proto::spec::kMatchFields.size() <= 16, "RuleBody::given_ has a bit per field");
static_assert(proto::kMaxActions <= 255, "RuleBody::actions_ counts them in a byte");
static_assert(sizeof(RuleBody) == 32);

RuleBody::RuleBody(std::span<const std::uint8_t> match, std::uint32_t given,
                   std::span<const policy::Action> actions)
    : given_(static_cast<std::uint16_t>(given)),
      match_len_(static_cast<std::uint8_t>(match.size())),
      actions_(static_cast<std::uint8_t>(actions.size())) {
    std::uint8_t* out = inline_.data();
    if (bytes() > kInline) {
        heap_ = std::make_unique_for_overwrite<std::uint8_t[]>(bytes());
        out = heap_.get();
    }
    out = std::copy(match.begin(), match.end(), out);
    for (const policy::Action& a : actions) {
        *out++ = static_cast<std::uint8_t>(a.type);
        out = put_le32(out, a.arg);
    }
}

RuleBody::RuleBody(const RuleBody& other)
    : given_(other.given_),
      match_len_(other.match_len_),
      actions_(other.actions_),
      inline_(other.inline_) {
    if (other.heap_) {
        heap_ = std::make_unique_for_overwrite<std::uint8_t[]>(bytes());
        std::copy_n(other.heap_.get(), bytes(), heap_.get());
    }
}

RuleBody& RuleBody::operator=(const RuleBody& other) {
    if (this != &other) {
        *this = RuleBody(other);
    }
    return *this;
}

std::vector<policy::Action> RuleBody::actions() const {
    std::vector<policy::Action> out;
    actions(out);
    return out;
}

void RuleBody::actions(std::vector<policy::Action>& out) const {
    out.resize(actions_);
    const std::uint8_t* in = data() + match_len_;
    for (policy::Action& a : out) {
        a.type = static_cast<policy::ActionType>(*in++);
        a.arg = get_le32(in);
        in += sizeof a.arg;
    }
}

void RuleBody::append_stored(std::string& out) const {
    out.push_back(static_cast<char>(given_ & 0xff));
    out.push_back(static_cast<char>(given_ >> 8));
    out.push_back(static_cast<char>(match_len_));
    out.push_back(static_cast<char>(actions_));
    out.append(reinterpret_cast<const char*>(data()), bytes());
}

Expected<RuleBody> RuleBody::from_stored(const proto::MatchTemplate& tmpl,
                                         std::span<const std::uint8_t> stored) {
    if (stored.size() < kStoredHeader) {
        return Error(Errc::invalid_argument,
                     "a stored body of " + std::to_string(stored.size()) + " bytes is truncated");
    }
    const std::uint32_t given = stored[0] | (static_cast<std::uint32_t>(stored[1]) << 8);
    const std::size_t match_len = stored[2];
    const std::size_t count = stored[3];
    if (stored.size() != kStoredHeader + match_len + count * kActionBytes) {
        return Error(Errc::invalid_argument, "a stored body of " + std::to_string(stored.size()) +
                                                 " bytes does not hold " +
                                                 std::to_string(match_len) + " match bytes and " +
                                                 std::to_string(count) + " actions");
    }
    if (count > proto::kMaxActions) {
        return Error(Errc::invalid_argument, "a stored body has " + std::to_string(count) +
                                                 " actions; a rule takes at most " +
                                                 std::to_string(proto::kMaxActions));
    }
    const std::span<const std::uint8_t> match = stored.subspan(kStoredHeader, match_len);
    std::array<policy::Action, proto::kMaxActions> actions{};
    const std::uint8_t* in = match.data() + match_len;
    for (std::size_t i = 0; i < count; ++i, in += kActionBytes) {
        actions[i] = {.type = static_cast<policy::ActionType>(in[0]), .arg = get_le32(in + 1)};
    }
    const std::span<const policy::Action> action_list(actions.data(), count);
    if (auto st = proto::check_match(tmpl, match, given); !st) {
        return st.error();
    }
    if (auto st = proto::check_actions(action_list); !st) {
        return st.error();
    }
    return RuleBody(match, given, action_list);
}

policy::ActionTypes RuleBody::action_types() const {
    policy::ActionTypes out(actions_);
    const std::uint8_t* in = data() + match_len_;
    for (policy::ActionType& t : out) {
        t = static_cast<policy::ActionType>(*in);
        in += kActionBytes;
    }
    return out;
}

bool operator==(const RuleBody& a, const RuleBody& b) {
    return a.given_ == b.given_ && a.match_len_ == b.match_len_ && a.actions_ == b.actions_ &&
           std::equal(a.data(), a.data() + a.bytes(), b.data());
}

namespace {

// parse_body(), and with `dirs` whether the actions fit them, checked
// before the body is packed.
Expected<RuleBody> parse_body_for(const proto::MatchTemplate& tmpl,
                                  std::span<const FieldText> match,
                                  std::span<const std::string> actions,
                                  std::optional<proto::Directions> dirs) {
    auto m = proto::parse_match(tmpl, match);
    if (!m) {
        return m.error();
    }
    auto a = proto::parse_actions(actions);
    if (!a) {
        return a.error();
    }
    if (dirs) {
        if (auto fits = proto::check_directions(*dirs, *a); !fits) {
            return fits.error();
        }
    }
    return RuleBody(m->bytes, m->given, *a);
}

}  // namespace

Expected<RuleBody> parse_body(const proto::MatchTemplate& tmpl, std::span<const FieldText> match,
                              std::span<const std::string> actions) {
    return parse_body_for(tmpl, match, actions, std::nullopt);
}

Expected<DesiredRule> parse_rule(const proto::MatchTemplate& tmpl, const proto::RuleRequest& req) {
    auto dirs = proto::parse_directions(req.directions);
    if (!dirs) {
        return dirs.error();
    }
    auto body = parse_body_for(tmpl, req.match, req.actions, *dirs);
    if (!body) {
        return body.error();
    }
    return DesiredRule{
        .id = 0, .matcher = req.matcher, .uid = 0, .directions = *dirs, .body = std::move(*body)};
}

std::vector<FieldText> match_texts(const proto::MatchTemplate& tmpl, const RuleBody& body) {
    std::vector<FieldText> out;
    const std::span<const std::uint8_t> bytes = body.match();
    std::size_t offset = 0;
    for (std::size_t i = 0; i < tmpl.fields.size(); ++i) {
        const std::size_t len = tmpl.fields[i].mask.size();
        const proto::FieldInfo* f = proto::find_field_by_id(tmpl.fields[i].field);
        if ((body.given() & (1U << i)) != 0 && f != nullptr && offset + len <= bytes.size()) {
            out.push_back(
                {std::string(f->name), proto::format_value(*f, bytes.subspan(offset, len))});
        }
        offset += len;
    }
    return out;
}

Expected<std::vector<FieldText>> MatchTexts::of(const DesiredRule& rule) {
    auto known = templates_.find(rule.matcher);
    if (known == templates_.end()) {
        const auto m = matchers_.find(rule.matcher);
        if (m == matchers_.end()) {
            return Error(Errc::invalid_argument, "no matcher " + std::to_string(rule.matcher));
        }
        auto parsed = proto::parse_template(m->second.fields);
        if (!parsed) {
            return parsed.error().with_context("matcher " + std::to_string(rule.matcher));
        }
        known = templates_.emplace(rule.matcher, std::move(parsed->match)).first;
    }
    return match_texts(known->second, rule.body);
}

std::vector<std::string> action_texts(const RuleBody& body) {
    std::vector<std::string> out;
    for (const policy::Action& a : body.actions()) {
        out.push_back(proto::format_action(a));
    }
    return out;
}

}  // namespace sgnic::model
