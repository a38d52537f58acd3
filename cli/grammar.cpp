#include "cli/grammar.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <limits>

#include "sgnic/proto/fields.hpp"

namespace sgnic::cli {

namespace {

using Words = std::span<const std::string>;

const std::string& kObjects() {
    static const std::string s = "port, matcher, rule, monitor, stats, version";
    return s;
}

UsageError usage(std::string message, std::string hint) {
    return {std::move(message), std::move(hint)};
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool is_help(std::string_view w) { return w == "-h" || w == "--help" || w == "help"; }

template <typename T>
std::optional<T> parse_number(std::string_view text) {
    T v = 0;
    if (text.empty() || text.front() == '+' || text.front() == '-') {
        return std::nullopt;
    }
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

// Reads the word after a keyword such as `dev`, or says it is missing.
std::variant<std::string, UsageError> value_of(Words words, std::size_t& i, std::string_view key,
                                               std::string_view what) {
    if (i + 1 >= words.size()) {
        return usage(quoted(key) + " needs " + std::string(what) + " after it",
                     "write " + std::string(key) + " " + std::string(what));
    }
    ++i;
    return words[i];
}

std::variant<std::string, UsageError> port_arg(Words words, std::size_t& i, std::string_view key) {
    auto v = value_of(words, i, key, "PORT");
    if (auto* e = std::get_if<UsageError>(&v)) {
        return *e;
    }
    std::string name = std::get<std::string>(v);
    if (!valid_port_name(name)) {
        return usage("port name " + quoted(name) + " is not a valid netdev name",
                     "at most 15 characters, no '/', ':' or blanks (see `sgnicctl port list`)");
    }
    return name;
}

std::variant<std::uint64_t, UsageError> id_arg(std::string_view text, std::string_view what) {
    const auto v = parse_number<std::uint64_t>(text);
    if (!v || *v == 0) {
        return usage(
            std::string(what) + " id " + quoted(text) + " is not a number above 0",
            std::string(what) + " ids are what `sgnicctl " + std::string(what) + " list` shows");
    }
    return *v;
}

// `matcher ID`: the id after the keyword.
std::variant<std::uint64_t, UsageError> matcher_arg(Words words, std::size_t& i) {
    auto v = value_of(words, i, "matcher", "ID");
    if (auto* e = std::get_if<UsageError>(&v)) {
        return *e;
    }
    return id_arg(std::get<std::string>(v), "matcher");
}

// What a value of the field looks like, for hints.
std::string value_hint(const proto::FieldInfo& f) {
    switch (f.kind) {
        case proto::FieldKind::mac:
            return std::string(f.name) + " takes a MAC address such as 02:00:00:00:00:01";
        case proto::FieldKind::ipv4:
            return std::string(f.name) + " takes an IPv4 address such as 10.0.0.0 or 10.0.0.0/24";
        case proto::FieldKind::ipv6:
            return std::string(f.name) + " takes an IPv6 address such as 2001:db8::/64";
        case proto::FieldKind::number:
            break;
    }
    std::string hint = std::string(f.name) + " takes a number from 0 to " + std::to_string(f.max) +
                       " (decimal or 0x hex)";
    if (const std::string names = proto::value_names(f); !names.empty()) {
        hint += " or " + names;
    }
    return hint;
}

// `FIELD[/MASK]`: no mask is the full width; a decimal after '/' is a prefix
// length, anything else a mask in the field's own form.
std::variant<proto::FieldText, UsageError> template_field(std::string_view word) {
    const std::size_t slash = word.find('/');
    const std::string_view name = word.substr(0, slash);
    const proto::FieldInfo* f = proto::find_field(name);
    if (f == nullptr) {
        return usage("unknown field " + quoted(name), "fields are " + proto::field_names());
    }
    std::string mask;
    if (slash == std::string_view::npos) {
        const int bits = f->kind == proto::FieldKind::number
                             ? static_cast<int>(std::bit_width(f->max))
                             : static_cast<int>(f->length) * std::numeric_limits<uint8_t>::digits;
        mask = "/" + std::to_string(bits);
    } else {
        const std::string_view rest = word.substr(slash + 1);
        const bool prefix = !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
            return c >= '0' && c <= '9';
        });
        mask = prefix ? "/" + std::string(rest) : std::string(rest);
    }
    auto parsed = proto::parse_mask(*f, mask);
    if (!parsed) {
        return usage(parsed.error().message(),
                     "a mask is /PREFIX or the field's form (ff:ff:ff:00:00:00, 255.255.0.0, "
                     "ffff::, 0xfff)");
    }
    return proto::FieldText{std::string(name), mask};
}

std::variant<std::vector<proto::FieldText>, UsageError> template_fields(std::string_view list) {
    std::vector<proto::FieldText> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = list.find(',', start);
        const std::string_view item = list.substr(start, comma - start);
        if (item.empty()) {
            return usage("empty field in match list " + quoted(list),
                         "separate fields with single commas: ipv4-dst/24,ip-proto");
        }
        auto f = template_field(item);
        if (auto* e = std::get_if<UsageError>(&f)) {
            return *e;
        }
        auto& ft = std::get<proto::FieldText>(f);
        if (std::any_of(out.begin(), out.end(),
                        [&](const proto::FieldText& o) { return o.field == ft.field; })) {
            return usage("field " + quoted(ft.field) + " is given twice",
                         "name each field once in a template");
        }
        out.push_back(std::move(ft));
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    return out;
}

std::variant<Command, UsageError> parse_port(Words w) {
    const std::string verb = w.empty() ? "list" : w[0];
    if (verb == "list") {
        if (w.size() > 1) {
            return usage("unexpected word " + quoted(w[1]) + " after 'port list'",
                         "port list takes no arguments");
        }
        return PortList{};
    }
    if (verb == "show") {
        if (w.size() != 2) {
            return usage(w.size() < 2 ? "port show needs a PORT"
                                      : "unexpected word " + quoted(w[2]) + " after the port",
                         "sgnicctl port show PORT");
        }
        if (!valid_port_name(w[1])) {
            return usage("port name " + quoted(w[1]) + " is not a valid netdev name",
                         "at most 15 characters, no '/', ':' or blanks");
        }
        return PortShow{w[1]};
    }
    return usage("unknown verb " + quoted(verb) + " for port", "port verbs are list, show");
}

std::variant<Command, UsageError> parse_matcher(Words w) {
    const std::string verb = w.empty() ? "list" : w[0];
    if (verb == "create") {
        MatcherCreate c;
        bool have_port = false;
        bool have_prio = false;
        for (std::size_t i = 1; i < w.size(); ++i) {
            if (w[i] == "dev") {
                auto p = port_arg(w, i, "dev");
                if (auto* e = std::get_if<UsageError>(&p)) {
                    return *e;
                }
                c.port = std::get<std::string>(p);
                have_port = true;
            } else if (w[i] == "prio" || w[i] == "priority") {
                auto v = value_of(w, i, w[i], "N");
                if (auto* e = std::get_if<UsageError>(&v)) {
                    return *e;
                }
                const auto n = parse_number<std::uint32_t>(std::get<std::string>(v));
                if (!n) {
                    return usage("priority " + quoted(w[i]) + " is not a number",
                                 "prio takes 0..4294967295; lower is looked up first");
                }
                c.priority = *n;
                have_prio = true;
            } else if (w[i] == "match") {
                auto v = value_of(w, i, "match", "FIELD[/MASK][,FIELD...]");
                if (auto* e = std::get_if<UsageError>(&v)) {
                    return *e;
                }
                auto fields = template_fields(std::get<std::string>(v));
                if (auto* e = std::get_if<UsageError>(&fields)) {
                    return *e;
                }
                for (auto& f : std::get<std::vector<proto::FieldText>>(fields)) {
                    if (std::any_of(
                            c.fields.begin(), c.fields.end(),
                            [&](const proto::FieldText& o) { return o.field == f.field; })) {
                        return usage("field " + quoted(f.field) + " is given twice",
                                     "name each field once in a template");
                    }
                    c.fields.push_back(std::move(f));
                }
            } else {
                return usage("unexpected word " + quoted(w[i]) + " in matcher create",
                             "sgnicctl matcher create dev PORT prio N match FIELD[/MASK][,...]");
            }
        }
        if (!have_port) {
            return usage("matcher create needs dev PORT", "sgnicctl matcher create dev sgnic0 ...");
        }
        if (c.fields.empty()) {
            return usage("matcher create needs match FIELD[/MASK][,...]",
                         "for example: match ipv4-dst/24,ip-proto");
        }
        (void)have_prio;  // prio defaults to 0: first looked up
        return c;
    }
    if (verb == "list") {
        MatcherList l;
        for (std::size_t i = 1; i < w.size(); ++i) {
            if (w[i] != "dev") {
                return usage("unexpected word " + quoted(w[i]) + " in matcher list",
                             "sgnicctl matcher list [dev PORT]");
            }
            auto p = port_arg(w, i, "dev");
            if (auto* e = std::get_if<UsageError>(&p)) {
                return *e;
            }
            l.port = std::get<std::string>(p);
        }
        return l;
    }
    if (verb == "show" || verb == "delete") {
        if (w.size() != 2) {
            return usage(w.size() < 2 ? "matcher " + verb + " needs an ID"
                                      : "unexpected word " + quoted(w[2]) + " after the id",
                         "sgnicctl matcher " + verb + " ID");
        }
        auto id = id_arg(w[1], "matcher");
        if (auto* e = std::get_if<UsageError>(&id)) {
            return *e;
        }
        if (verb == "show") {
            return MatcherShow{std::get<std::uint64_t>(id)};
        }
        return MatcherDelete{std::get<std::uint64_t>(id)};
    }
    return usage("unknown verb " + quoted(verb) + " for matcher",
                 "matcher verbs are create, list, show, delete");
}

std::variant<Command, UsageError> parse_rule(Words w) {
    const std::string verb = w.empty() ? "list" : w[0];
    if (verb == "add") {
        auto r = parse_rule_words(w.subspan(1));
        if (auto* e = std::get_if<UsageError>(&r)) {
            return *e;
        }
        return RuleAdd{std::get<RuleText>(r)};
    }
    if (verb == "delete" || verb == "del") {
        RuleDelete d;
        for (std::size_t i = 1; i < w.size(); ++i) {
            auto id = id_arg(w[i], "rule");
            if (auto* e = std::get_if<UsageError>(&id)) {
                return *e;
            }
            d.ids.push_back(std::get<std::uint64_t>(id));
        }
        if (d.ids.empty()) {
            return usage("rule delete needs at least one ID", "sgnicctl rule delete ID...");
        }
        return d;
    }
    if (verb == "list" || verb == "flush") {
        std::optional<std::string> port;
        std::uint64_t matcher = 0;
        for (std::size_t i = 1; i < w.size(); ++i) {
            if (w[i] == "dev") {
                auto p = port_arg(w, i, "dev");
                if (auto* e = std::get_if<UsageError>(&p)) {
                    return *e;
                }
                port = std::get<std::string>(p);
            } else if (w[i] == "matcher" && verb == "list") {
                auto id = matcher_arg(w, i);
                if (auto* e = std::get_if<UsageError>(&id)) {
                    return *e;
                }
                matcher = std::get<std::uint64_t>(id);
            } else {
                return usage("unexpected word " + quoted(w[i]) + " in rule " + verb,
                             verb == "list" ? "sgnicctl rule list [dev PORT] [matcher ID]"
                                            : "sgnicctl rule flush [dev PORT]");
            }
        }
        if (verb == "list") {
            return RuleList{port, matcher};
        }
        return RuleFlush{port};
    }
    if (verb == "load") {
        RuleLoad l;
        bool have_file = false;
        for (std::size_t i = 1; i < w.size(); ++i) {
            if (w[i] == "chunk") {
                auto v = value_of(w, i, "chunk", "N");
                if (auto* e = std::get_if<UsageError>(&v)) {
                    return *e;
                }
                const auto n = parse_number<std::size_t>(std::get<std::string>(v));
                if (!n || *n == 0 || *n > kMaxChunk) {
                    return usage("chunk " + quoted(std::get<std::string>(v)) +
                                     " is not a number from 1 to " + std::to_string(kMaxChunk),
                                 "the daemon takes at most " + std::to_string(kMaxChunk) +
                                     " rules per call");
                }
                l.chunk = *n;
            } else if (!have_file) {
                l.file = w[i];
                have_file = true;
            } else {
                return usage("unexpected word " + quoted(w[i]) + " after the file name",
                             "sgnicctl rule load FILE [chunk N]");
            }
        }
        if (!have_file) {
            return usage("rule load needs a FILE", "sgnicctl rule load FILE ('-' reads stdin)");
        }
        return l;
    }
    return usage("unknown verb " + quoted(verb) + " for rule",
                 "rule verbs are add, delete, list, flush, load");
}

}  // namespace

std::vector<std::string> split_words(std::string_view line) {
    std::vector<std::string> out;
    split_words(line, out);
    return out;
}

void split_words(std::string_view line, std::vector<std::string>& out) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    std::size_t n = 0;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '#') {
        if (blank(line[i])) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < line.size() && !blank(line[end]) && line[end] != '#') {
            ++end;
        }
        if (n == out.size()) {
            out.emplace_back();
        }
        out[n++].assign(line.substr(i, end - i));
        i = end;
    }
    out.resize(n);
}

std::variant<RuleText, UsageError> parse_rule_words(std::span<const std::string> w) {
    RuleText r;
    bool have_matcher = false;
    bool have_dir = false;
    std::vector<std::string> actions;
    static const std::string kSyntax =
        "[dev PORT] matcher ID [dir rx|tx|both] FIELD VALUE... action ACTION...";
    for (std::size_t i = 0; i < w.size(); ++i) {
        const std::string& word = w[i];
        if (word == "dev") {
            auto p = port_arg(w, i, "dev");
            if (auto* e = std::get_if<UsageError>(&p)) {
                return *e;
            }
            r.port = std::get<std::string>(p);
        } else if (word == "matcher") {
            auto id = matcher_arg(w, i);
            if (auto* e = std::get_if<UsageError>(&id)) {
                return *e;
            }
            r.matcher = std::get<std::uint64_t>(id);
            have_matcher = true;
        } else if (word == "dir") {
            auto v = value_of(w, i, "dir", "rx|tx|both");
            if (auto* e = std::get_if<UsageError>(&v)) {
                return *e;
            }
            const std::string& d = std::get<std::string>(v);
            auto dirs = proto::parse_directions(d);
            if (!dirs) {
                return usage(dirs.error().message(), "dir takes rx, tx or both");
            }
            r.directions = proto::format_directions(*dirs);
            have_dir = true;
        } else if (word == "action") {
            if (i + 1 >= w.size()) {
                return usage("'action' needs an action after it",
                             "actions are " + proto::action_forms(", "));
            }
            // Everything up to the next `action` (which may repeat) is one list.
            while (i + 1 < w.size() && w[i + 1] != "action") {
                ++i;
                std::string a = w[i];
                const proto::spec::Action* known = proto::find_action(a);
                if (known != nullptr && known->takes_arg) {
                    if (i + 1 >= w.size() || w[i + 1] == "action") {
                        return usage("action " + quoted(a) + " needs a number after it",
                                     a + " N, N from 0 to 4294967295");
                    }
                    ++i;
                    a += " " + w[i];
                }
                auto parsed = proto::parse_action(a);
                if (!parsed) {
                    return usage(parsed.error().message(), "for example: action count queue 3");
                }
                actions.push_back(proto::format_action(*parsed));
            }
        } else if (const proto::FieldInfo* f = proto::find_field(word)) {
            if (i + 1 >= w.size()) {
                return usage("field " + quoted(word) + " needs a VALUE after it",
                             "for example: ipv4-dst 10.0.0.0/24, ip-proto tcp");
            }
            ++i;
            auto v = proto::parse_value(*f, w[i]);
            if (!v) {
                return usage(v.error().message(), value_hint(*f));
            }
            if (std::any_of(r.match.begin(), r.match.end(),
                            [&](const proto::FieldText& o) { return o.field == word; })) {
                return usage("field " + quoted(word) + " is given twice",
                             "give each field one value");
            }
            r.match.push_back({word, w[i]});
        } else {
            return usage("unexpected word " + quoted(word) + " in a rule",
                         "fields are " + proto::field_names() + "; a rule is " + kSyntax);
        }
    }
    (void)have_dir;  // both directions unless told
    if (!have_matcher) {
        return usage("a rule needs matcher ID", "a rule is " + kSyntax);
    }
    if (actions.empty()) {
        return usage("a rule needs an action",
                     "end the rule with action " + proto::action_forms("|"));
    }
    auto checked = proto::parse_actions(actions);
    if (!checked) {
        return usage(checked.error().message(), "for example: action count queue 3");
    }
    if (auto dirs = proto::parse_directions(r.directions); dirs) {
        if (auto fits = proto::check_directions(*dirs, *checked); !fits) {
            return usage(fits.error().message(),
                         "add dir rx: mark and queue steer what the port receives");
        }
    }
    r.actions = std::move(actions);
    return r;
}

std::variant<Invocation, UsageError> parse_command_line(std::span<const std::string> args) {
    Invocation inv;
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "-j" || a == "--json") {
            inv.options.json = true;
        } else if (a == "-p" || a == "--pretty") {
            inv.options.pretty = true;
            inv.options.json = true;
        } else if (a == "-jp" || a == "-pj") {
            inv.options.json = inv.options.pretty = true;
        } else if (a == "-h" || a == "--help") {
            inv.command = Help{help_text()};
            return inv;
        } else if (a == "-V" || a == "--version") {
            inv.command = Version{};
            return inv;
        } else if (a.starts_with('-') && a.size() > 1) {
            return usage("unknown option " + quoted(a),
                         "options are -j/--json, -p/--pretty, -h/--help, -V/--version");
        } else {
            break;
        }
    }
    if (i == args.size()) {
        return usage("no object given", "sgnicctl OBJECT VERB [ARGS]; objects are " + kObjects() +
                                            "; see sgnicctl --help");
    }
    const std::string& object = args[i];
    const Words rest = args.subspan(i + 1);
    // `--help` anywhere after the object asks for that object's help.
    if (is_help(object)) {
        inv.command = Help{help_text(rest.empty() ? std::string_view{} : rest[0])};
        return inv;
    }
    if (std::any_of(rest.begin(), rest.end(),
                    [](const std::string& w) { return w == "-h" || w == "--help"; })) {
        if (object != "port" && object != "matcher" && object != "rule" && object != "monitor" &&
            object != "stats" && object != "version") {
            return usage("unknown object " + quoted(object), "objects are " + kObjects());
        }
        inv.command = Help{help_text(object)};
        return inv;
    }
    // Options may also follow the object and verb (`sgnicctl rule list -j`).
    std::vector<std::string> words;
    for (const std::string& w : rest) {
        if (w == "-j" || w == "--json") {
            inv.options.json = true;
        } else if (w == "-p" || w == "--pretty" || w == "-jp" || w == "-pj") {
            inv.options.json = inv.options.pretty = true;
        } else {
            words.push_back(w);
        }
    }
    std::variant<Command, UsageError> cmd = usage("", "");
    if (object == "port" || object == "ports") {
        cmd = parse_port(words);
    } else if (object == "matcher" || object == "matchers") {
        cmd = parse_matcher(words);
    } else if (object == "rule" || object == "rules") {
        cmd = parse_rule(words);
    } else if (object == "monitor" || object == "stats" || object == "version") {
        if (!words.empty()) {
            return usage("unexpected word " + quoted(words[0]) + " after " + quoted(object),
                         object + " takes no arguments");
        }
        if (object == "monitor") {
            cmd = Monitor{};
        } else if (object == "stats") {
            cmd = Stats{};
        } else {
            cmd = Version{};
        }
    } else {
        return usage("unknown object " + quoted(object), "objects are " + kObjects());
    }
    if (auto* e = std::get_if<UsageError>(&cmd)) {
        return *e;
    }
    inv.command = std::get<Command>(cmd);
    return inv;
}

std::string help_text(std::string_view object) {
    static const std::string kPort =
        "sgnicctl port list                 every sgnic port with its rule and page totals\n"
        "sgnicctl port show PORT            one port: caps, matchers, counters\n";
    static const std::string kMatcher =
        "sgnicctl matcher create dev PORT [prio N] match FIELD[/MASK][,FIELD[/MASK]...]\n"
        "                                   prints the new matcher's id\n"
        "sgnicctl matcher list [dev PORT]   matchers with RX/TX size_log, rules, pages\n"
        "sgnicctl matcher show ID           one matcher and its rules\n"
        "sgnicctl matcher delete ID         deletes the matcher with its rules\n"
        "  FIELD /MASK: a decimal after '/' is a prefix length (ipv4-dst/24); otherwise a\n"
        "  mask in the field's form (dmac/ff:ff:ff:00:00:00, l4-dport/0xff00); no mask is\n"
        "  the full width.\n";
    static const std::string kRule =
        "sgnicctl rule add [dev PORT] matcher ID [dir rx|tx|both] FIELD VALUE...\n"
        "                  action " +
        proto::action_forms("|") +
        "...\n"
        "                                   prints the new rule's id (dir: both by default;\n"
        "                                   mark and queue need dir rx)\n"
        "sgnicctl rule delete ID...         deletes rules by id, whatever their port\n"
        "sgnicctl rule list [dev PORT] [matcher ID]\n"
        "                                   rules with hit and byte counters\n"
        "sgnicctl rule flush [dev PORT]     deletes every rule (matchers stay)\n"
        "sgnicctl rule load FILE [chunk N]  adds rules from FILE ('-': stdin): JSON or one\n"
        "                                   rule per line in `rule add` words, '#' comments\n";
    static const std::string kOther =
        "sgnicctl monitor                   follows rehashes and matcher/port changes\n"
        "sgnicctl stats                     totals per port: rules, pages, hits\n"
        "sgnicctl version                   sgnicctl's and sgnicd's versions\n";
    static const std::string kFields =
        "fields: " + proto::field_names() +
        "\nvalues: MAC, IPv4/IPv6 address (/N allowed when it equals the matcher's mask),\n"
        "        numbers in decimal or 0x hex, names for ethertype (ipv4 ipv6 arp vlan qinq\n"
        "        lldp) and ip-proto (icmp tcp udp gre esp icmpv6 sctp)\n";
    static const std::string kOptions =
        "options: -j, --json   JSON output (read commands; see the man page for its shape)\n"
        "         -p, --pretty indented JSON (implies -j)\n"
        "         -h, --help   this help; `sgnicctl OBJECT --help` for one object\n"
        "         -V, --version\n"
        "exit status: 0 ok, 1 usage error, 2 daemon or kernel error\n";
    if (object == "port" || object == "ports") {
        return "usage:\n" + kPort;
    }
    if (object == "matcher" || object == "matchers") {
        return "usage:\n" + kMatcher + kFields;
    }
    if (object == "rule" || object == "rules") {
        return "usage:\n" + kRule + kFields;
    }
    if (object == "monitor" || object == "stats" || object == "version") {
        return "usage:\n" + kOther;
    }
    return "usage: sgnicctl [options] OBJECT VERB [ARGS]\n"
           "Configures sgnic steering through sgnicd (org.sgnic.Steering1 on the system bus).\n\n" +
           kPort + kMatcher + kRule + kOther + "\n" + kFields + "\n" + kOptions;
}

}  // namespace sgnic::cli
