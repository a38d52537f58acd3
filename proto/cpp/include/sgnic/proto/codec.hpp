// Text forms of steering arguments, as sgnicctl and the D-Bus API take them,
// parsed into the bytes the device wants and formatted back canonically.
// Every error is Errc::invalid_argument with a message naming the field and
// the text at fault.  No I/O, no D-Bus: sgnicctl, sgnicd and sgnic-nl all
// use these codecs, so a value means the same to each of them.
//
//   masks   dmac/smac     ff:ff:ff:00:00:00 or /24 (prefix length)
//           ipv4-*        255.255.255.0 or /24
//           ipv6-*        ffff:ffff:: or /64
//           numbers       0xfff, 4095 or /12 (prefix of the field's width)
//   values  the same forms as the field's mask, optionally "/mask" (which
//           must then equal the matcher's mask); numbers also by name:
//           ethertype ipv4 ipv6 arp vlan qinq lldp, ip-proto icmp tcp udp
//           gre esp icmpv6 sctp
//   actions drop | count | accept | mark N | queue N; drop, queue and accept
//           are terminal (at most one, last)
//   directions rx | tx | both | rx,tx
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sgnic/proto/fields.hpp"
#include "sgnic/proto/result.hpp"
#include "sgnic/proto/spec.hpp"
#include "sgnic/proto/types.hpp"

namespace sgnic::proto {

using Bytes = std::vector<std::uint8_t>;

// A field and the text given for it: a mask in a template, a value in a rule.
struct FieldText {
    std::string field;
    std::string text;
    friend bool operator==(const FieldText&, const FieldText&) = default;
};

struct ParsedValue {
    Bytes value;
    std::optional<Bytes> mask;
};

Expected<Bytes> parse_mask(const FieldInfo& field, std::string_view text);
// Every bit the field uses (vlan-id: 0x0fff): a template field without a mask.
Bytes full_mask(const FieldInfo& field);
Expected<ParsedValue> parse_value(const FieldInfo& field, std::string_view text);
// The names a number field also takes ("ipv4, ipv6, arp, ..." for
// ethertype), "" for a field without names.
std::string value_names(const FieldInfo& field);
// Canonical text: MACs as aa:bb:.., addresses as inet_ntop writes them,
// ethertypes and every mask of a number field in hex, other numbers decimal.
std::string format_value(const FieldInfo& field, std::span<const std::uint8_t> bytes);
std::string format_mask(const FieldInfo& field, std::span<const std::uint8_t> bytes);

// A matcher's template: known fields, each once, each with a valid mask.
// The result keeps the order given; canonical() gives the texts to store.
struct Template {
    MatchTemplate match;
    std::vector<FieldText> canonical;
};
Expected<Template> parse_template(std::span<const FieldText> fields);

// A rule's match values under a template as the device takes them: the
// bytes of every template field in template order (fields left out match
// zero).  Canonical texts are made from the bytes when asked (format_value).
struct Match {
    Bytes bytes;
    std::uint32_t given = 0;  // bit i: template field i was given a value
};
Expected<Match> parse_match(const MatchTemplate& tmpl, std::span<const FieldText> values);

// A match's bytes (in template order) rearranged into field id order, the
// order the kernel dumps values in: two matches then compare whatever order
// their templates listed the fields in.  Empty if the bytes do not fit.
// The checks parse_match() makes, on bytes already in that form (a stored
// rule): the template's length, `given` naming template fields only, a
// field not given all zero, no value bit outside its field's mask.
Expected<void> check_match(const MatchTemplate& tmpl, std::span<const std::uint8_t> bytes,
                           std::uint32_t given);

Bytes in_field_id_order(const MatchTemplate& tmpl, std::span<const std::uint8_t> bytes);

// The action of that name (spec.hpp), or null.
const spec::Action* find_action(std::string_view name);
// The action of that type, or null.
const spec::Action* find_action(ActionType type);
// Every action as written, "mark N" for those with an argument, joined by
// `separator`: "drop, count, mark N, queue N, accept" for help and errors.
std::string action_forms(std::string_view separator);
// "drop", "mark", ...
std::string_view action_name(ActionType type);
// drop, queue and accept end a rule's action list.
bool is_terminal(ActionType type);

Expected<Action> parse_action(std::string_view text);
Expected<std::vector<Action>> parse_actions(std::span<const std::string> texts);
std::string format_action(const Action& action);
// The checks parse_actions() makes on the parsed list: 1 to kMaxActions
// actions of known types, arguments only where one is taken, a terminal
// action only last, none twice.
Expected<void> check_actions(std::span<const Action> actions);

Expected<Directions> parse_directions(std::string_view text);
// A netdev name the kernel would accept (dev_valid_name()).
bool valid_port_name(std::string_view name);
std::string format_directions(Directions dirs);

// mark and queue act on a frame the port receives: a rule with either takes
// direction rx only (the kernel refuses them in a TX rule too).
bool acts_on_rx_only(ActionType type);
Expected<void> check_directions(Directions dirs, std::span<const Action> actions);

}  // namespace sgnic::proto
