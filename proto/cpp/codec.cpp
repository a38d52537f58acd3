#include "sgnic/proto/codec.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <utility>

#include "sgnic/proto/limits.hpp"

namespace sgnic::proto {

namespace {

constexpr int kBitsPerByte = 8;
constexpr std::uint32_t kHexBase = 16;
constexpr std::uint32_t kDecBase = 10;

struct NamedNumber {
    std::string_view name;
    std::uint32_t value;
};

constexpr std::array kEthertypes = {
    NamedNumber{"ipv4", 0x0800}, NamedNumber{"ipv6", 0x86dd}, NamedNumber{"arp", 0x0806},
    NamedNumber{"vlan", 0x8100}, NamedNumber{"qinq", 0x88a8}, NamedNumber{"lldp", 0x88cc},
};
constexpr std::array kProtocols = {
    NamedNumber{"icmp", 1},   NamedNumber{"tcp", 6},  NamedNumber{"udp", 17},
    NamedNumber{"gre", 47},   NamedNumber{"esp", 50}, NamedNumber{"icmpv6", 58},
    NamedNumber{"sctp", 132},
};

Error invalid(std::string message) { return {Errc::invalid_argument, std::move(message)}; }

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

// "drop, queue and accept"
std::string terminal_names() {
    std::vector<std::string_view> names;
    for (const spec::Action& a : spec::kActions) {
        if (is_terminal(a.type)) {
            names.push_back(a.name);
        }
    }
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        out += std::string(i == 0                  ? ""
                           : i + 1 == names.size() ? " and "
                                                   : ", ") +
               std::string(names[i]);
    }
    return out;
}

// Decimal, or hex with 0x; nothing else, no sign, no spaces.
std::optional<std::uint64_t> parse_uint(std::string_view text) {
    std::uint32_t base = kDecBase;
    if (text.starts_with("0x") || text.starts_with("0X")) {
        text.remove_prefix(2);
        base = kHexBase;
    }
    if (text.empty()) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), v, static_cast<int>(base));
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

// The width in bits a prefix length counts over.
int field_bits(const FieldInfo& f) {
    if (f.kind != FieldKind::number) {
        return static_cast<int>(f.length) * kBitsPerByte;
    }
    int bits = 0;
    for (std::uint32_t m = f.max; m != 0; m >>= 1) {
        ++bits;
    }
    return bits;
}

Bytes number_bytes(const FieldInfo& f, std::uint64_t v) {
    Bytes out(f.length);
    for (std::size_t i = f.length; i-- > 0; v >>= kBitsPerByte) {
        out[i] = static_cast<std::uint8_t>(v & 0xff);
    }
    return out;
}

std::uint64_t bytes_number(std::span<const std::uint8_t> b) {
    std::uint64_t v = 0;
    for (const std::uint8_t byte : b) {
        v = (v << kBitsPerByte) | byte;
    }
    return v;
}

// The top `prefix` bits of the field's width set, as bytes of its length.
Bytes prefix_bytes(const FieldInfo& f, int prefix) {
    const int width = field_bits(f);
    Bytes out(f.length);
    const int skip = static_cast<int>(f.length) * kBitsPerByte - width;  // unused high bits
    for (int bit = skip; bit < skip + prefix; ++bit) {
        const auto byte = static_cast<std::size_t>(bit / kBitsPerByte);
        out[byte] = static_cast<std::uint8_t>(out[byte] | (0x80U >> (bit % kBitsPerByte)));
    }
    return out;
}

std::optional<Bytes> parse_mac(std::string_view text) {
    constexpr std::size_t kMacLen = 6;
    constexpr std::size_t kMacText = 17;  // aa:bb:cc:dd:ee:ff
    if (text.size() != kMacText) {
        return std::nullopt;
    }
    Bytes out;
    for (std::size_t i = 0; i < kMacLen; ++i) {
        const std::string_view pair = text.substr(i * 3, 2);
        if (i > 0 && text[i * 3 - 1] != ':' && text[i * 3 - 1] != '-') {
            return std::nullopt;
        }
        std::uint32_t v = 0;
        const auto [end, ec] = std::from_chars(pair.data(), pair.data() + 2, v, kHexBase);
        if (ec != std::errc() || end != pair.data() + 2) {
            return std::nullopt;
        }
        out.push_back(static_cast<std::uint8_t>(v));
    }
    return out;
}

std::optional<Bytes> parse_inet(int family, std::size_t length, std::string_view text) {
    constexpr std::size_t kLongestText = 64;
    if (text.empty() || text.size() >= kLongestText) {
        return std::nullopt;
    }
    const std::string copy(text);
    Bytes out(length);
    if (inet_pton(family, copy.c_str(), out.data()) != 1) {
        return std::nullopt;
    }
    return out;
}

std::span<const NamedNumber> names_of(const FieldInfo& f) {
    if (f.id == SGNIC_MATCH_FIELD_ETHERTYPE) {
        return kEthertypes;
    }
    if (f.id == SGNIC_MATCH_FIELD_IP_PROTO) {
        return kProtocols;
    }
    return {};
}

std::optional<std::uint64_t> named_number(const FieldInfo& f, std::string_view text) {
    for (const NamedNumber& n : names_of(f)) {
        if (n.name == text) {
            return n.value;
        }
    }
    return std::nullopt;
}

std::string form_of(const FieldInfo& f) {
    switch (f.kind) {
        case FieldKind::mac:
            return "a MAC address (aa:bb:cc:dd:ee:ff)";
        case FieldKind::ipv4:
            return "an IPv4 address";
        case FieldKind::ipv6:
            return "an IPv6 address";
        case FieldKind::number:
            break;
    }
    if (f.id == SGNIC_MATCH_FIELD_ETHERTYPE) {
        return "an ethertype (0x0800 or " + value_names(f) + ")";
    }
    if (f.id == SGNIC_MATCH_FIELD_IP_PROTO) {
        return "a protocol (0-255 or " + value_names(f) + ")";
    }
    return "a number";
}

// An address or number in the field's form; `names` allows protocol names.
Expected<Bytes> parse_plain(const FieldInfo& f, std::string_view text, std::string_view what,
                            bool names) {
    std::optional<Bytes> out;
    switch (f.kind) {
        case FieldKind::mac:
            out = parse_mac(text);
            break;
        case FieldKind::ipv4:
            out = parse_inet(AF_INET, f.length, text);
            break;
        case FieldKind::ipv6:
            out = parse_inet(AF_INET6, f.length, text);
            break;
        case FieldKind::number: {
            std::optional<std::uint64_t> v = parse_uint(text);
            if (!v && names) {
                v = named_number(f, text);
            }
            if (v && *v > f.max) {
                return invalid(std::string(f.name) + ": " + std::string(what) + " " + quoted(text) +
                               " is larger than " + std::to_string(f.max));
            }
            if (v) {
                out = number_bytes(f, *v);
            }
            break;
        }
    }
    if (!out) {
        return invalid(std::string(f.name) + ": " + std::string(what) + " " + quoted(text) +
                       " is not " + form_of(f));
    }
    return std::move(*out);
}

Expected<Bytes> parse_prefix(const FieldInfo& f, std::string_view digits) {
    const int width = field_bits(f);
    const std::optional<std::uint64_t> n =
        digits.starts_with("0x") ? std::nullopt : parse_uint(digits);
    if (!n) {
        return invalid(std::string(f.name) + ": prefix length " + quoted(digits) +
                       " is not a number");
    }
    if (*n == 0) {
        return invalid(std::string(f.name) + ": prefix length /0 masks nothing");
    }
    if (*n > static_cast<std::uint64_t>(width)) {
        return invalid(std::string(f.name) + ": prefix length /" + std::to_string(*n) +
                       " is longer than the field's " + std::to_string(width) + " bits");
    }
    return prefix_bytes(f, static_cast<int>(*n));
}

bool all_zero(std::span<const std::uint8_t> b) {
    return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

bool outside(std::span<const std::uint8_t> value, std::span<const std::uint8_t> mask) {
    for (std::size_t i = 0; i < value.size(); ++i) {
        if ((value[i] & static_cast<std::uint8_t>(~mask[i])) != 0) {
            return true;
        }
    }
    return false;
}

std::string format_number(const FieldInfo& f, std::span<const std::uint8_t> bytes, bool hex) {
    const std::uint64_t v = bytes_number(bytes);
    if (!hex) {
        return std::to_string(v);
    }
    std::array<char, 24> buf{};
    std::snprintf(buf.data(), buf.size(), "0x%0*llx", static_cast<int>(f.length * 2),
                  static_cast<unsigned long long>(v));
    return buf.data();
}

std::string format_address(const FieldInfo& f, std::span<const std::uint8_t> bytes) {
    if (f.kind == FieldKind::mac) {
        std::string out;
        std::array<char, 4> buf{};
        for (const std::uint8_t b : bytes) {
            std::snprintf(buf.data(), buf.size(), out.empty() ? "%02x" : ":%02x", b);
            out += buf.data();
        }
        return out;
    }
    std::array<char, INET6_ADDRSTRLEN> buf{};
    const int family = f.kind == FieldKind::ipv4 ? AF_INET : AF_INET6;
    if (inet_ntop(family, bytes.data(), buf.data(), buf.size()) == nullptr) {
        return "?";
    }
    return buf.data();
}

}  // namespace

std::string value_names(const FieldInfo& f) {
    std::string out;
    for (const NamedNumber& n : names_of(f)) {
        out += (out.empty() ? "" : ", ") + std::string(n.name);
    }
    return out;
}

Expected<Bytes> parse_mask(const FieldInfo& f, std::string_view text) {
    Expected<Bytes> mask = text.starts_with('/') ? parse_prefix(f, text.substr(1))
                                                 : parse_plain(f, text, "mask", false);
    if (!mask) {
        return mask;
    }
    if (all_zero(*mask)) {
        return invalid(std::string(f.name) + ": mask " + quoted(text) +
                       " is all zeroes and would match nothing");
    }
    return mask;
}

Bytes full_mask(const FieldInfo& f) { return prefix_bytes(f, field_bits(f)); }

Expected<ParsedValue> parse_value(const FieldInfo& f, std::string_view text) {
    const std::size_t slash = text.find('/');
    const std::string_view plain = text.substr(0, slash);
    auto value = parse_plain(f, plain, "value", true);
    if (!value) {
        return value.error();
    }
    ParsedValue out{.value = std::move(*value), .mask = std::nullopt};
    if (slash == std::string_view::npos) {
        return out;
    }
    // Addresses take a prefix length or a mask; numbers only a mask (a bare
    // decimal after the slash would be ambiguous).
    const std::string_view rest = text.substr(slash + 1);
    const bool prefix =
        f.kind != FieldKind::number && !rest.empty() &&
        std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
    auto mask = prefix ? parse_prefix(f, rest) : parse_plain(f, rest, "mask", false);
    if (!mask) {
        return mask.error();
    }
    if (all_zero(*mask)) {
        return invalid(std::string(f.name) + ": mask of " + quoted(text) + " is all zeroes");
    }
    if (outside(out.value, *mask)) {
        return invalid(std::string(f.name) + ": value " + quoted(text) +
                       " has bits set outside its own mask");
    }
    out.mask = std::move(*mask);
    return out;
}

std::string format_value(const FieldInfo& f, std::span<const std::uint8_t> bytes) {
    if (f.kind == FieldKind::number) {
        return format_number(f, bytes, f.id == SGNIC_MATCH_FIELD_ETHERTYPE);
    }
    return format_address(f, bytes);
}

std::string format_mask(const FieldInfo& f, std::span<const std::uint8_t> bytes) {
    if (f.kind == FieldKind::number) {
        return format_number(f, bytes, true);
    }
    return format_address(f, bytes);
}

Expected<Template> parse_template(std::span<const FieldText> fields) {
    if (fields.empty()) {
        return invalid("a matcher needs at least one field");
    }
    Template out;
    for (const FieldText& ft : fields) {
        const FieldInfo* f = find_field(ft.field);
        if (f == nullptr) {
            return invalid("unknown field " + quoted(ft.field) + " (known: " + field_names() + ")");
        }
        const bool dup = std::any_of(out.match.fields.begin(), out.match.fields.end(),
                                     [&](const MatchField& m) { return m.field == f->id; });
        if (dup) {
            return invalid("field " + quoted(ft.field) + " is given twice");
        }
        auto mask = parse_mask(*f, ft.text);
        if (!mask) {
            return mask.error();
        }
        out.canonical.push_back({std::string(f->name), format_mask(*f, *mask)});
        out.match.fields.push_back({.field = f->id, .mask = std::move(*mask)});
    }
    return out;
}

Bytes in_field_id_order(const MatchTemplate& tmpl, std::span<const std::uint8_t> bytes) {
    std::vector<std::pair<std::uint32_t, std::span<const std::uint8_t>>> values;
    std::size_t offset = 0;
    for (const MatchField& f : tmpl.fields) {
        if (offset + f.mask.size() > bytes.size()) {
            return {};
        }
        values.emplace_back(f.field, bytes.subspan(offset, f.mask.size()));
        offset += f.mask.size();
    }
    if (offset != bytes.size()) {
        return {};
    }
    std::sort(values.begin(), values.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    Bytes out;
    out.reserve(bytes.size());
    for (const auto& v : values) {
        out.insert(out.end(), v.second.begin(), v.second.end());
    }
    return out;
}

// A template names each field at most once: Match::given has a bit for each.
static_assert(spec::kMatchFields.size() <= 32);

namespace {

// The template's field names, for an error message only.
std::string template_names(const MatchTemplate& tmpl) {
    std::string names;
    for (const MatchField& m : tmpl.fields) {
        const FieldInfo* f = find_field_by_id(m.field);
        names += (names.empty() ? "" : ", ") + std::string(f != nullptr ? f->name : "?");
    }
    return names;
}

}  // namespace

// Called once per rule by every bulk path (AddRules, LoadRules, the store's
// load): no allocation but the bytes, no text made.
Expected<Match> parse_match(const MatchTemplate& tmpl, std::span<const FieldText> values) {
    if (tmpl.fields.size() > spec::kMatchFields.size()) {
        return invalid("the matcher's template has " + std::to_string(tmpl.fields.size()) +
                       " fields; there are " + std::to_string(spec::kMatchFields.size()));
    }
    Match out;
    std::array<std::size_t, spec::kMatchFields.size()> offsets{};
    std::size_t length = 0;
    for (std::size_t i = 0; i < tmpl.fields.size(); ++i) {
        offsets[i] = length;
        length += tmpl.fields[i].mask.size();
    }
    out.bytes.resize(length);
    for (const FieldText& ft : values) {
        const FieldInfo* f = find_field(ft.field);
        if (f == nullptr) {
            return invalid("unknown field " + quoted(ft.field) + " (known: " + field_names() + ")");
        }
        const auto it = std::find_if(tmpl.fields.begin(), tmpl.fields.end(),
                                     [&](const MatchField& m) { return m.field == f->id; });
        if (it == tmpl.fields.end()) {
            return invalid("field " + quoted(ft.field) + " is not in the matcher's template (" +
                           template_names(tmpl) + ")");
        }
        const auto index = static_cast<std::size_t>(it - tmpl.fields.begin());
        if ((out.given & (1U << index)) != 0) {
            return invalid("field " + quoted(ft.field) + " is given twice");
        }
        out.given |= 1U << index;
        auto parsed = parse_value(*f, ft.text);
        if (!parsed) {
            return parsed.error();
        }
        if (parsed->mask && *parsed->mask != it->mask) {
            return invalid(std::string(f->name) + ": the mask of " + quoted(ft.text) +
                           " differs from the matcher's mask " + format_mask(*f, it->mask));
        }
        if (outside(parsed->value, it->mask)) {
            return invalid(std::string(f->name) + ": value " + quoted(ft.text) +
                           " has bits outside the matcher's mask " + format_mask(*f, it->mask));
        }
        std::copy(parsed->value.begin(), parsed->value.end(),
                  out.bytes.begin() + static_cast<std::ptrdiff_t>(offsets[index]));
    }
    return out;
}

Expected<void> check_match(const MatchTemplate& tmpl, std::span<const std::uint8_t> bytes,
                           std::uint32_t given) {
    std::size_t length = 0;
    for (const MatchField& m : tmpl.fields) {
        length += m.mask.size();
    }
    if (bytes.size() != length) {
        return invalid("the match has " + std::to_string(bytes.size()) +
                       " bytes; the matcher's template takes " + std::to_string(length));
    }
    if (tmpl.fields.size() < 32 && (given >> tmpl.fields.size()) != 0) {
        return invalid("the match gives a field the matcher's template does not have");
    }
    std::size_t offset = 0;
    for (std::size_t i = 0; i < tmpl.fields.size(); ++i) {
        const MatchField& m = tmpl.fields[i];
        const std::span<const std::uint8_t> value = bytes.subspan(offset, m.mask.size());
        offset += m.mask.size();
        // A template from parse_template() names known fields only.
        const FieldInfo* f = find_field_by_id(m.field);
        if (f == nullptr) {
            return invalid("the matcher's template has an unknown field " +
                           std::to_string(static_cast<unsigned>(m.field)));
        }
        if ((given & (1U << i)) == 0) {
            if (std::any_of(value.begin(), value.end(), [](std::uint8_t b) { return b != 0; })) {
                return invalid(std::string(f->name) + ": a field not given has a value");
            }
        } else if (outside(value, m.mask)) {
            return invalid(std::string(f->name) + ": value " + quoted(format_value(*f, value)) +
                           " has bits outside the matcher's mask " + format_mask(*f, m.mask));
        }
    }
    return {};
}

const spec::Action* find_action(std::string_view name) {
    const auto* it = std::find_if(spec::kActions.begin(), spec::kActions.end(),
                                  [&](const spec::Action& a) { return a.name == name; });
    return it == spec::kActions.end() ? nullptr : &*it;
}

std::string action_forms(std::string_view separator) {
    std::string out;
    for (const spec::Action& a : spec::kActions) {
        out += (out.empty() ? "" : std::string(separator)) + std::string(a.name) +
               (a.takes_arg ? " N" : "");
    }
    return out;
}

const spec::Action* find_action(ActionType type) {
    const auto* it = std::find_if(spec::kActions.begin(), spec::kActions.end(),
                                  [&](const spec::Action& a) { return a.type == type; });
    return it == spec::kActions.end() ? nullptr : &*it;
}

std::string_view action_name(ActionType type) {
    const spec::Action* k = find_action(type);
    return k == nullptr ? std::string_view("?") : k->name;
}

bool is_terminal(ActionType type) {
    return type == ActionType::drop || type == ActionType::queue || type == ActionType::accept;
}

Expected<Action> parse_action(std::string_view text) {
    const std::size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    std::string_view arg =
        space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    while (arg.starts_with(' ')) {
        arg.remove_prefix(1);
    }
    const spec::Action* k = find_action(word);
    if (k == nullptr) {
        return invalid("unknown action " + quoted(text) + " (known: " + action_forms(", ") + ")");
    }
    if (!k->takes_arg) {
        if (space != std::string_view::npos) {
            return invalid("action " + quoted(text) + ": " + std::string(word) +
                           " takes no argument");
        }
        return Action{.type = k->type, .arg = 0};
    }
    const std::optional<std::uint64_t> n = parse_uint(arg);
    if (!n || *n > UINT32_MAX) {
        return invalid("action " + quoted(text) + ": " + std::string(word) +
                       " needs a number from 0 to 4294967295");
    }
    return Action{.type = k->type, .arg = static_cast<std::uint32_t>(*n)};
}

Expected<std::vector<Action>> parse_actions(std::span<const std::string> texts) {
    if (texts.size() > kMaxActions) {
        return invalid("a rule takes at most " + std::to_string(kMaxActions) + " actions, not " +
                       std::to_string(texts.size()));
    }
    std::vector<Action> out;
    for (const std::string& t : texts) {
        auto a = parse_action(t);
        if (!a) {
            return a.error();
        }
        out.push_back(*a);
    }
    if (auto st = check_actions(out); !st) {
        return st.error();
    }
    return out;
}

Expected<void> check_actions(std::span<const Action> actions) {
    if (actions.empty()) {
        return invalid("a rule needs at least one action");
    }
    if (actions.size() > kMaxActions) {
        return invalid("a rule takes at most " + std::to_string(kMaxActions) + " actions, not " +
                       std::to_string(actions.size()));
    }
    for (std::size_t i = 0; i < actions.size(); ++i) {
        const Action& a = actions[i];
        const spec::Action* k = find_action(a.type);
        if (k == nullptr) {
            return invalid("unknown action type " + std::to_string(static_cast<unsigned>(a.type)));
        }
        if (!k->takes_arg && a.arg != 0) {
            return invalid("action " + quoted(format_action(a)) + " takes no argument, has " +
                           std::to_string(a.arg));
        }
        if (i > 0 && is_terminal(actions[i - 1].type)) {
            return invalid("action " + quoted(format_action(a)) + " follows the terminal action " +
                           quoted(format_action(actions[i - 1])) + " (" + terminal_names() +
                           " must come last)");
        }
        const auto earlier = actions.first(i);
        if (std::any_of(earlier.begin(), earlier.end(),
                        [&](const Action& o) { return o.type == a.type; })) {
            return invalid("action " + quoted(format_action(a)) + " is given twice");
        }
    }
    return {};
}

bool acts_on_rx_only(ActionType type) {
    return type == ActionType::mark || type == ActionType::queue;
}

Expected<void> check_directions(Directions dirs, std::span<const Action> actions) {
    if (!dirs.tx) {
        return {};
    }
    for (const Action& a : actions) {
        if (acts_on_rx_only(a.type)) {
            return invalid("action " + quoted(format_action(a)) +
                           " acts on received frames: the rule's direction must be rx, not " +
                           format_directions(dirs));
        }
    }
    return {};
}

bool valid_port_name(std::string_view name) {
    constexpr std::size_t kIfNameSize = 16;  // IFNAMSIZ, with the terminating NUL
    if (name.empty() || name.size() >= kIfNameSize || name == "." || name == "..") {
        return false;
    }
    return std::none_of(name.begin(), name.end(), [](char c) {
        return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
               c == '\v' || c == '\f';
    });
}

std::string format_action(const Action& a) {
    const spec::Action* k = find_action(a.type);
    const std::string name(action_name(a.type));
    return k != nullptr && k->takes_arg ? name + " " + std::to_string(a.arg) : name;
}

Expected<Directions> parse_directions(std::string_view text) {
    if (text == "rx") {
        return Directions::rx_only();
    }
    if (text == "tx") {
        return Directions::tx_only();
    }
    if (text == "both" || text == "rx,tx" || text == "tx,rx") {
        return Directions::both();
    }
    return invalid("direction " + quoted(text) + " is not one of rx, tx, both");
}

std::string format_directions(Directions dirs) {
    if (dirs.rx && dirs.tx) {
        return "both";
    }
    return dirs.rx ? "rx" : dirs.tx ? "tx" : "none";
}

}  // namespace sgnic::proto
