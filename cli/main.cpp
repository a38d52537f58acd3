// sgnicctl: parse, check, call sgnicd, print.  Exit status 0 ok, 1 usage
// error, 2 daemon or kernel error.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include "cli/client.hpp"
#include "cli/format.hpp"
#include "cli/grammar.hpp"
#include "cli/load.hpp"
#include "cli/rule_file.hpp"
#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/dbus.hpp"
#include "sgnic/proto/unique_fd.hpp"
#include "sgnic/proto/version.hpp"

namespace sgnic::cli {
namespace {

constexpr int kOk = 0;
constexpr int kUsage = 1;
constexpr int kFailed = 2;
constexpr std::size_t kShownFailures = 10;
constexpr std::size_t kBarWidth = 30;
constexpr auto kProgressEvery = std::chrono::milliseconds(100);

int fail(const CallError& e) {
    std::cerr << "sgnicctl: " << describe_error(e) << "\n";
    return kFailed;
}

void out(const std::string& s) {
    std::cout << s;
    std::cout.flush();
}

// The daemon's JSON; a parse failure is a daemon error.
std::optional<Json> parse_json(const std::string& text) {
    try {
        return Json::parse(text);
    } catch (const Json::parse_error& e) {
        std::cerr << "sgnicctl: sgnicd answered with malformed JSON: " << e.what() << "\n";
        return std::nullopt;
    }
}

template <typename T>
T* value(Outcome<T>& o) {
    return std::get_if<T>(&o);
}

// Every page of DescribeRules as one document {"rules", "errors"}.
std::optional<Json> all_rules(Client& c, const std::string& port, std::uint64_t matcher,
                              std::optional<CallError>& error) {
    Json out = {{"rules", Json::array()}, {"errors", Json::array()}};
    std::uint64_t after = 0;
    for (;;) {
        // sgnicd sizes the pages (short calls: other clients are served between them).
        auto page = c.describe_rules(port, matcher, after, 0);
        if (auto* e = std::get_if<CallError>(&page)) {
            error = *e;
            return std::nullopt;
        }
        auto doc = parse_json(*value(page));
        if (!doc) {
            return std::nullopt;
        }
        for (Json& r : (*doc)["rules"]) {
            out["rules"].push_back(std::move(r));
        }
        for (Json& e : (*doc)["errors"]) {
            if (std::find(out["errors"].begin(), out["errors"].end(), e) == out["errors"].end()) {
                out["errors"].push_back(std::move(e));
            }
        }
        const Json next = doc->value("next", Json());
        if (!next.is_number_unsigned()) {
            return out;
        }
        after = next.get<std::uint64_t>();
    }
}

int run_read(Client& c, const Options& opt, const Command& cmd) {
    if (std::holds_alternative<PortList>(cmd)) {
        auto d = c.describe();
        if (auto* e = std::get_if<CallError>(&d)) {
            return fail(*e);
        }
        auto doc = parse_json(*value(d));
        if (!doc) {
            return kFailed;
        }
        out(opt.json ? dump({{"ports", doc->value("ports", Json::array())}}, opt.pretty)
                     : format_port_list(*doc));
        return kOk;
    }
    if (const auto* show = std::get_if<PortShow>(&cmd)) {
        auto d = c.describe_port(show->port);
        if (auto* e = std::get_if<CallError>(&d)) {
            return fail(*e);
        }
        auto s = c.stats();
        if (auto* e = std::get_if<CallError>(&s)) {
            return fail(*e);
        }
        auto port = parse_json(*value(d));
        auto stats = parse_json(*value(s));
        if (!port || !stats) {
            return kFailed;
        }
        Json counters = Json::object();
        for (const Json& p : stats->value("ports", Json::array())) {
            if (p.value("name", "") == show->port) {
                for (const char* k : {"rx_packets", "rx_bytes", "tx_packets", "tx_bytes"}) {
                    counters[k] = p.value(k, 0ULL);
                }
            }
        }
        if (opt.json) {
            (*port)["counters"] = counters;
            out(dump(*port, opt.pretty));
        } else {
            out(format_port_show(*port, counters));
        }
        return kOk;
    }
    if (const auto* list = std::get_if<MatcherList>(&cmd)) {
        std::vector<std::string> ports;
        if (list->port) {
            ports.push_back(*list->port);
        } else {
            auto p = c.list_ports();
            if (auto* e = std::get_if<CallError>(&p)) {
                return fail(*e);
            }
            ports = *value(p);
        }
        Json matchers = Json::array();
        for (const std::string& port : ports) {
            auto d = c.describe_port(port);
            if (auto* e = std::get_if<CallError>(&d)) {
                return fail(*e);
            }
            auto doc = parse_json(*value(d));
            if (!doc) {
                return kFailed;
            }
            for (Json& m : (*doc)["matchers"]) {
                matchers.push_back(std::move(m));
            }
        }
        out(opt.json ? dump({{"matchers", matchers}}, opt.pretty) : format_matcher_list(matchers));
        return kOk;
    }
    if (const auto* show = std::get_if<MatcherShow>(&cmd)) {
        auto d = c.describe_matcher(show->id);
        if (auto* e = std::get_if<CallError>(&d)) {
            return fail(*e);
        }
        auto doc = parse_json(*value(d));
        if (!doc) {
            return kFailed;
        }
        if (opt.json) {  // with its rules, a page at a time
            std::optional<CallError> error;
            auto rules = all_rules(c, "", show->id, error);
            if (!rules) {
                return error ? fail(*error) : kFailed;
            }
            (*doc)["rules"] = std::move((*rules)["rules"]);
        }
        out(opt.json ? dump(*doc, opt.pretty) : format_matcher_show(*doc));
        return kOk;
    }
    if (const auto* list = std::get_if<RuleList>(&cmd)) {
        std::optional<CallError> error;
        auto doc = all_rules(c, list->port.value_or(""), list->matcher, error);
        if (!doc) {
            return error ? fail(*error) : kFailed;
        }
        out(opt.json ? dump(*doc, opt.pretty) : format_rule_list(*doc));
        return kOk;
    }
    if (std::holds_alternative<Stats>(cmd)) {
        auto s = c.stats();
        if (auto* e = std::get_if<CallError>(&s)) {
            return fail(*e);
        }
        auto doc = parse_json(*value(s));
        if (!doc) {
            return kFailed;
        }
        out(opt.json ? dump(*doc, opt.pretty) : format_stats(*doc));
        return kOk;
    }
    return -1;
}

int run_version(const Options& opt) {
    auto c = Client::open();
    std::string daemon;
    std::optional<CallError> error;
    if (auto* client = value(c)) {
        auto v = client->version();
        if (auto* s = value(v)) {
            daemon = *s;
        } else {
            error = std::get<CallError>(v);
        }
    } else {
        error = std::get<CallError>(c);
    }
    if (opt.json) {
        out(dump({{"sgnicctl", proto::kVersion}, {"sgnicd", error ? Json(nullptr) : Json(daemon)}},
                 opt.pretty));
    } else {
        out(std::string("sgnicctl ") + proto::kVersion + "\n");
        if (!error) {
            out("sgnicd " + daemon + "\n");
        }
    }
    return error ? fail(*error) : kOk;
}

// Deletes in calls of at most proto::kMaxRulesPerCall ids; returns how many were deleted.
int delete_ids(Client& c, const std::vector<std::uint64_t>& ids, std::uint64_t& deleted) {
    for (std::size_t i = 0; i < ids.size(); i += proto::kMaxRulesPerCall) {
        const std::span<const std::uint64_t> part(
            ids.data() + i, std::min(proto::kMaxRulesPerCall, ids.size() - i));
        auto r = c.delete_rules(part);
        if (auto* e = std::get_if<CallError>(&r)) {
            return fail(*e);
        }
        deleted += part.size();
    }
    return kOk;
}

int run_flush(Client& c, const RuleFlush& f) {
    auto r = c.flush_rules(f.port.value_or(""));
    if (auto* e = std::get_if<CallError>(&r)) {
        return fail(*e);
    }
    out("deleted " + counted(*value(r), "rule") + "\n");
    return kOk;
}

class Progress {
public:
    explicit Progress(std::uint64_t total)
        : total_(total), on_(isatty(STDERR_FILENO) == 1), start_(Clock::now()) {}
    void update(std::uint64_t done, bool force = false) {
        if (!on_) {
            return;
        }
        const auto now = Clock::now();
        if (!force && now - last_ < kProgressEvery) {
            return;
        }
        last_ = now;
        const double secs = std::chrono::duration<double>(now - start_).count();
        std::cerr << "\r" << progress_line(done, total_, secs, kBarWidth) << "\033[K" << std::flush;
    }
    void finish() {
        if (on_) {
            std::cerr << "\r\033[K" << std::flush;
        }
    }

private:
    using Clock = std::chrono::steady_clock;
    std::uint64_t total_;
    bool on_;
    Clock::time_point start_;
    Clock::time_point last_{};
};

// An sgnicd without Manager.LoadRules (or no memfd here): the rules go by port.
struct ByPort {};

// Manager.LoadRules: sgnicd reads the rule lines, routes and checks each
// rule itself; sgnicctl sends a text file as it is (a JSON file's rules as
// lines).  A CallError when sgnicd is not there, as for any command.
std::variant<LoadReport, CallError, ByPort> load_lines(Client& c, const RuleLoad& load,
                                                       const RuleFile& file,
                                                       const RuleLineCount& counted) {
    const std::string_view content = file.text();
    RuleLines lines = rule_lines(content, &counted);
    LoadReport report;
    report.failures = std::move(lines.refused);
    const std::uint64_t refused = report.failures.size();
    const std::uint64_t total = refused + lines.rules;
    Progress progress(total);
    if (lines.rules > 0) {
        // A file sent as it is goes as sgnicctl holds it, in its memfd.
        UniqueFd rewritten;
        if (!lines.verbatim) {
            rewritten = sealed_memfd(lines.text);
        }
        const int fd = lines.verbatim ? file.fd() : rewritten.get();
        if (fd < 0) {
            return ByPort{};
        }
        auto job = c.load_rules("", fd, lines.rules, static_cast<std::uint32_t>(load.chunk),
                                lines.per_matcher,
                                [&](std::uint64_t done) { progress.update(refused + done); });
        // A file sent as it is has its rule lines named only when a failure
        // needs a name.
        auto name_lines = [&] {
            if (lines.verbatim) {
                lines.sent = rule_line_names(content);
            }
        };
        if (auto* done = value(job)) {
            if (lines.verbatim && (!done->failures.empty() || !done->error.empty())) {
                name_lines();
                add_job_outcome(report, lines.sent, ranked(*done, lines.sent));
            } else {
                add_job_outcome(report, lines.sent, *done);
            }
        } else if (const CallError& e = std::get<CallError>(job); e.unknown_method) {
            return ByPort{};
        } else if (e.not_running) {
            return e;
        } else {
            name_lines();
            // The call was refused: every rule with it.
            for (const RuleName& it : lines.sent) {
                report.failures.push_back({it.where, describe_error(e), it.position});
            }
            report.aborted = true;
        }
    }
    progress.update(total, true);
    progress.finish();
    return report;
}

// An sgnicd without Manager.LoadRules: sgnicctl reads the rules, finds
// each one's port and sends them by port (Port.LoadRules, else AddRules).
std::variant<LoadReport, CallError> load_by_port(Client& c, const RuleLoad& load,
                                                 std::string_view content) {
    LoadReport report;

    // Each rule's port from its matcher, checked here rather than by a
    // failed round trip; then its values against the matcher's template.
    auto matchers = c.list_matchers();
    if (auto* e = std::get_if<CallError>(&matchers)) {
        return *e;
    }
    std::map<std::uint64_t, std::string> port_of;
    for (const MatcherRef& m : *value(matchers)) {
        port_of[m.id] = m.port;
    }
    // Templates from Port.Describe (matchers without their rules), one call
    // per port; a matcher whose template cannot be read is left to the daemon.
    std::map<std::uint64_t, std::optional<proto::MatchTemplate>> templates;
    std::set<std::string> described;
    auto template_of = [&](std::uint64_t id,
                           const std::string& port) -> const std::optional<proto::MatchTemplate>& {
        if (described.insert(port).second) {
            auto d = c.describe_port(port);
            const Json doc = value(d) != nullptr ? Json::parse(*value(d), nullptr, false) : Json();
            for (const Json& m :
                 doc.is_object() ? doc.value("matchers", Json::array()) : Json::array()) {
                std::vector<proto::FieldText> fields;
                for (const Json& f : m.value("template", Json::array())) {
                    fields.push_back({f.value("field", ""), f.value("mask", "")});
                }
                if (auto t = proto::parse_template(fields)) {
                    templates[m.value("id", std::uint64_t{0})] = t->match;
                }
            }
        }
        return templates[id];
    };
    // The port a rule goes to, or why it cannot go.
    const auto port_for =
        [&](const LoadItem& item) -> std::variant<const std::string*, std::string> {
        const auto p = port_of.find(item.rule.matcher);
        if (p == port_of.end()) {
            return "no matcher " + std::to_string(item.rule.matcher);
        }
        if (item.rule.port && *item.rule.port != p->second) {
            return "matcher " + std::to_string(item.rule.matcher) + " is on port '" + p->second +
                   "', not '" + *item.rule.port + "'";
        }
        if (const auto& t = template_of(item.rule.matcher, p->second)) {
            if (auto m = proto::parse_match(*t, item.rule.match); !m) {
                return m.error().message();
            }
        }
        return &p->second;
    };
    // One pass over the file: each rule becomes a record of its port's file
    // descriptor as it is read, so a million rules are held once, as records.
    std::uint64_t total = 0;
    const auto lines =
        static_cast<std::size_t>(std::count(content.begin(), content.end(), '\n')) + 1;
    std::vector<std::string> order;
    std::map<std::string, Records> by_port;
    // RX and TX rules per matcher, for Matcher.Reserve (an sgnicd without
    // Port.LoadRules; a LoadRules job presizes by itself).
    std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> incoming;
    each_rule(
        content,
        [&](LoadItem&& item) {
            ++total;
            auto port = port_for(item);
            if (auto* reason = std::get_if<std::string>(&port)) {
                report.failures.push_back(
                    {std::move(item.where), std::move(*reason), item.position});
                return;
            }
            if (auto dirs = proto::parse_directions(item.rule.directions)) {
                auto& [rx, tx] = incoming[item.rule.matcher];
                rx += dirs->rx ? 1 : 0;
                tx += dirs->tx ? 1 : 0;
            }
            const auto [at, fresh] = by_port.try_emplace(*std::get<const std::string*>(port));
            if (fresh) {
                order.push_back(at->first);
                // Room for the whole file (a record is shorter than its line),
                // so the records are never copied while they grow; pages of
                // the room unused are never touched.
                at->second.text.reserve(content.size());
                at->second.sent.reserve(lines);
            }
            at->second.add(item);
        },
        [&](LoadFailure&& failure) {
            ++total;
            report.failures.push_back(std::move(failure));
        });

    Progress progress(total);
    std::uint64_t base = report.failures.size();
    // Adds one port's outcome to the report; true when the load stops there.
    const auto absorb = [&report](LoadReport& part) {
        report.loaded += part.loaded;
        for (auto& f : part.failures) {
            report.failures.push_back(std::move(f));
        }
        report.aborted = report.aborted || part.aborted;
        return part.aborted;
    };
    // A daemon without Port.LoadRules gets AddRules calls from here on.
    bool old_daemon = false;
    for (const std::string& port : order) {
        Records records = std::move(by_port[port]);
        for (LoadFailure& f : records.refused) {
            report.failures.push_back(std::move(f));
        }
        base += records.refused.size();
        if (records.sent.empty()) {
            continue;
        }
        const auto on_progress = [&](std::uint64_t done) {
            progress.update(std::min(total, base + done));
        };
        LoadReport part;
        if (!old_daemon) {
            UniqueFd fd = sealed_memfd(records.text);
            if (fd) {
                auto job = c.load_rules(port, fd.get(), records.sent.size(),
                                        static_cast<std::uint32_t>(load.chunk), {}, on_progress);
                if (auto* done = value(job)) {
                    add_job_outcome(part, records.sent, *done);
                } else if (const CallError& e = std::get<CallError>(job); !e.unknown_method) {
                    // The call was refused: every rule of the port with it.
                    for (const RuleName& it : records.sent) {
                        part.failures.push_back({it.where, describe_error(e), it.position});
                    }
                    part.aborted = e.denied || e.not_running;
                } else {
                    old_daemon = true;
                }
            } else {
                old_daemon = true;  // no memfd here: the records go as AddRules calls
            }
            if (!old_daemon) {
                base += records.sent.size();
                if (absorb(part)) {
                    break;
                }
                continue;
            }
        }
        // Each matcher grows once, to the size its rules need, before they
        // are sent: one resize instead of one per threshold crossed.  A
        // reservation is a hint: one the daemon refuses leaves the rules to
        // grow the matcher as they go in, or to fail there with their reason.
        for (const auto& [matcher, more] : incoming) {
            if (port_of[matcher] == port) {
                (void)c.reserve(matcher, more.first, more.second);
            }
        }
        // AddRules takes rule texts: the port's rules read again, on this path only.
        const std::vector<LoadItem> items = rules_at(content, records.sent);
        auto send = [&](std::span<const LoadItem> batch) {
            BatchResult r;
            auto ids = c.add_rules(port, batch);
            if (value(ids) != nullptr) {
                r.ok = true;
                return r;
            }
            const CallError& e = std::get<CallError>(ids);
            r.fatal = e.denied || e.not_running;
            std::string rest;
            r.index = failing_index(e.message, &rest);
            r.message = r.index ? rest : describe_error(e);
            return r;
        };
        part = send_in_chunks(items, load.chunk, send, on_progress);
        base += part.loaded + part.failures.size();
        if (absorb(part)) {
            break;
        }
    }
    progress.update(total, true);
    progress.finish();
    return report;
}

int run_load(Client& c, const Options& opt, const RuleLoad& load, const RuleFile& file,
             const RuleLineCount& counted) {
    auto lines = load_lines(c, load, file, counted);
    if (std::holds_alternative<ByPort>(lines)) {
        auto by_port = load_by_port(c, load, file.text());
        if (auto* e = std::get_if<CallError>(&by_port)) {
            return fail(*e);
        }
        lines = std::get<LoadReport>(std::move(by_port));
    }
    if (auto* e = std::get_if<CallError>(&lines)) {
        return fail(*e);
    }
    auto& report = std::get<LoadReport>(lines);
    sort_failures(report);
    if (opt.json) {
        Json failures = Json::array();
        for (const auto& f : report.failures) {
            failures.push_back({{"where", f.where}, {"reason", f.reason}});
        }
        out(dump(
            {{"loaded", report.loaded}, {"failed", report.failures.size()}, {"failures", failures}},
            opt.pretty));
    } else {
        out(load_summary(report, kShownFailures));
    }
    return report.failures.empty() ? kOk : kFailed;
}

int run_change(Client& c, const Options& opt, const Command& cmd) {
    if (const auto* mc = std::get_if<MatcherCreate>(&cmd)) {
        auto id = c.create_matcher(mc->port, mc->priority, mc->fields);
        if (auto* e = std::get_if<CallError>(&id)) {
            return fail(*e);
        }
        out(opt.json ? dump({{"id", *value(id)}}, opt.pretty) : std::to_string(*value(id)) + "\n");
        return kOk;
    }
    if (const auto* md = std::get_if<MatcherDelete>(&cmd)) {
        auto r = c.delete_matcher(md->id);
        return std::holds_alternative<CallError>(r) ? fail(std::get<CallError>(r)) : kOk;
    }
    if (const auto* ra = std::get_if<RuleAdd>(&cmd)) {
        RuleText rule = ra->rule;
        auto matchers = c.list_matchers();
        if (auto* e = std::get_if<CallError>(&matchers)) {
            return fail(*e);
        }
        std::optional<std::string> port;
        for (const MatcherRef& m : *value(matchers)) {
            if (m.id == rule.matcher) {
                port = m.port;
            }
        }
        if (!port) {
            std::cerr << "sgnicctl: no matcher " << rule.matcher << "\n";
            return kFailed;
        }
        if (rule.port && *rule.port != *port) {
            std::cerr << "sgnicctl: matcher " << rule.matcher << " is on port '" << *port
                      << "', not '" << *rule.port << "'\n";
            return kFailed;
        }
        auto ids = c.add_rules(*port, std::span<const RuleText>(&rule, 1));
        if (auto* e = std::get_if<CallError>(&ids)) {
            // One rule: the batch index says nothing to a person.
            std::string rest;
            if (failing_index(e->message, &rest)) {
                e->message = rest;
            }
            return fail(*e);
        }
        const std::uint64_t id = value(ids)->empty() ? 0 : value(ids)->front();
        out(opt.json ? dump({{"id", id}}, opt.pretty) : std::to_string(id) + "\n");
        return kOk;
    }
    if (const auto* rd = std::get_if<RuleDelete>(&cmd)) {
        std::uint64_t deleted = 0;
        return delete_ids(c, rd->ids, deleted);
    }
    if (const auto* rf = std::get_if<RuleFlush>(&cmd)) {
        return run_flush(c, *rf);
    }
    return -1;
}

// --- monitor ---------------------------------------------------------------

struct MonitorState {
    Options opt;
};

// A variant's value as JSON (the daemon's properties are u, t, s, b).
Json read_variant(sd_bus_message* m) {
    char type = 0;
    const char* contents = nullptr;
    if (sd_bus_message_peek_type(m, &type, &contents) <= 0 || contents == nullptr) {
        return nullptr;
    }
    Json v = nullptr;
    (void)sd_bus_message_enter_container(m, 'v', contents);
    switch (contents[0]) {
        case 'u': {
            std::uint32_t x = 0;
            sd_bus_message_read_basic(m, 'u', &x);
            v = x;
            break;
        }
        case 't': {
            std::uint64_t x = 0;
            sd_bus_message_read_basic(m, 't', &x);
            v = x;
            break;
        }
        case 's':
        case 'o': {
            const char* x = nullptr;
            sd_bus_message_read_basic(m, contents[0], &x);
            v = x != nullptr ? x : "";
            break;
        }
        case 'b': {
            int x = 0;
            sd_bus_message_read_basic(m, 'b', &x);
            v = x != 0;
            break;
        }
        default:
            (void)sd_bus_message_skip(m, contents);
    }
    (void)sd_bus_message_exit_container(m);
    return v;
}

// "/org/sgnic/Steering1/matcher/3" -> {"matcher": 3}; ports by name.
Json object_of(const char* path) {
    if (const std::uint64_t id = matcher_id_of(path)) {
        return {{"matcher", id}};
    }
    char* name = nullptr;
    if (sd_bus_path_decode(path, proto::dbus::kPortPrefix, &name) > 0 && name != nullptr) {
        const sd::CString n(name);
        return {{"port", n.get()}};
    }
    return {{"path", path}};
}

std::string object_words(const Json& obj) {
    if (obj.contains("matcher")) {
        return "matcher " + std::to_string(obj["matcher"].get<std::uint64_t>());
    }
    if (obj.contains("port")) {
        return "port " + obj["port"].get<std::string>();
    }
    return obj.value("path", "");
}

void emit(const MonitorState& st, const Json& event, const std::string& line) {
    out(st.opt.json ? dump(event, st.opt.pretty) : line + "\n");
}

int on_signal(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    const auto& st = *static_cast<MonitorState*>(userdata);
    const std::string_view iface = sd_bus_message_get_interface(m);
    const std::string_view member = sd_bus_message_get_member(m);
    const char* path = sd_bus_message_get_path(m);
    if (iface == proto::dbus::kMatcherInterface && member == "Rehashed") {
        std::uint32_t rx_old = 0;
        std::uint32_t rx_new = 0;
        std::uint32_t tx_old = 0;
        std::uint32_t tx_new = 0;
        std::uint64_t usec = 0;
        std::uint64_t moved = 0;
        const char* reason = nullptr;
        if (sd_bus_message_read(m, "uuuutts", &rx_old, &rx_new, &tx_old, &tx_new, &usec, &moved,
                                &reason) < 0) {
            return 0;
        }
        Json ev = {{"event", "rehashed"},
                   {"matcher", matcher_id_of(path)},
                   {"rx", {{"from", rx_old}, {"to", rx_new}}},
                   {"tx", {{"from", tx_old}, {"to", tx_new}}},
                   {"duration_usec", usec},
                   {"rules_moved", moved},
                   {"reason", reason}};
        emit(st, ev,
             "rehashed matcher " + std::to_string(matcher_id_of(path)) + ": rx " +
                 std::to_string(rx_old) + "->" + std::to_string(rx_new) + ", tx " +
                 std::to_string(tx_old) + "->" + std::to_string(tx_new) + ", " +
                 counted(moved, "rule") + " moved in " + std::to_string(usec) + " us (" + reason +
                 ")");
        return 0;
    }
    if (iface == "org.freedesktop.DBus.Properties" && member == "PropertiesChanged") {
        const char* changed_iface = nullptr;
        if (sd_bus_message_read(m, "s", &changed_iface) < 0 ||
            sd_bus_message_enter_container(m, 'a', "{sv}") < 0) {
            return 0;
        }
        Json props = Json::object();
        std::string words;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
            const char* name = nullptr;
            sd_bus_message_read(m, "s", &name);
            Json v = read_variant(m);
            sd_bus_message_exit_container(m);
            words +=
                std::string(" ") + name + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
            props[name] = std::move(v);
        }
        sd_bus_message_exit_container(m);
        std::vector<std::string> invalidated;
        if (sd_bus_message_enter_container(m, 'a', "s") > 0) {
            const char* name = nullptr;
            while (sd_bus_message_read(m, "s", &name) > 0) {
                invalidated.emplace_back(name);
                words += std::string(" ") + name;
            }
        }
        const Json obj = object_of(path);
        Json ev = {{"event", "changed"}, {"properties", props}, {"invalidated", invalidated}};
        ev.update(obj);
        emit(st, ev, "changed " + object_words(obj) + ":" + words);
        return 0;
    }
    if (iface == "org.freedesktop.DBus.ObjectManager" &&
        (member == "InterfacesAdded" || member == "InterfacesRemoved")) {
        const char* object = nullptr;
        if (sd_bus_message_read(m, "o", &object) < 0) {
            return 0;
        }
        const bool added = member == "InterfacesAdded";
        const Json obj = object_of(object);
        Json ev = {{"event", added ? "added" : "removed"}};
        ev.update(obj);
        emit(st, ev, std::string(added ? "added " : "removed ") + object_words(obj));
    }
    return 0;
}

int on_quit(sd_event_source* s, const struct signalfd_siginfo* /*si*/, void* /*userdata*/) {
    return sd_event_exit(sd_event_source_get_event(s), 0);
}

int run_monitor(Client& c, const Options& opt) {
    MonitorState st{opt};
    sd_bus_slot* raw_slot = nullptr;
    const std::string match = std::string("type='signal',sender='") + proto::dbus::kServiceName +
                              "',path_namespace='" + proto::dbus::kManagerPath + "'";
    int r = sd_bus_add_match(c.bus(), &raw_slot, match.c_str(), on_signal, &st);
    const sd::Slot slot(raw_slot);
    if (r < 0) {
        std::cerr << "sgnicctl: monitor: cannot subscribe: " << strerror(-r) << "\n";
        return kFailed;
    }
    // Subscribed first, then the first line: whoever reads it knows that
    // every later event is seen.
    auto v = c.version();
    if (auto* e = std::get_if<CallError>(&v)) {
        return fail(*e);
    }
    emit(st, {{"event", "start"}, {"version", *value(v)}},
         "following sgnicd " + *value(v) + " (Ctrl-C stops)");

    sd_event* raw_event = nullptr;
    r = sd_event_default(&raw_event);
    const sd::Event event(raw_event);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    sd_event_source* raw_int = nullptr;
    sd_event_source* raw_term = nullptr;
    if (r >= 0) {
        r = sd_event_add_signal(event.get(), &raw_int, SIGINT, on_quit, nullptr);
    }
    const sd::EventSource sig_int(raw_int);
    if (r >= 0) {
        r = sd_event_add_signal(event.get(), &raw_term, SIGTERM, on_quit, nullptr);
    }
    const sd::EventSource sig_term(raw_term);
    if (r >= 0) {
        r = sd_bus_attach_event(c.bus(), event.get(), SD_EVENT_PRIORITY_NORMAL);
    }
    if (r >= 0) {
        r = sd_event_loop(event.get());
    }
    (void)sd_bus_detach_event(c.bus());
    if (r < 0) {
        std::cerr << "sgnicctl: monitor: " << strerror(-r) << "\n";
        return kFailed;
    }
    return kOk;
}

int run(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    auto parsed = parse_command_line(args);
    if (auto* e = std::get_if<UsageError>(&parsed)) {
        std::cerr << "sgnicctl: " << e->message << "\n";
        if (!e->hint.empty()) {
            std::cerr << "hint: " << e->hint << "\n";
        }
        return kUsage;
    }
    const Invocation& inv = std::get<Invocation>(parsed);
    if (const auto* h = std::get_if<Help>(&inv.command)) {
        out(h->text);
        return kOk;
    }
    if (std::holds_alternative<Version>(inv.command)) {
        return run_version(inv.options);
    }
    // The file is read before any connection: an unreadable one is a usage error.
    std::optional<RuleFile> rules;
    RuleLineCount counted;  // the file's rule lines, counted while it is copied
    if (const auto* rl = std::get_if<RuleLoad>(&inv.command)) {
        auto file =
            RuleFile::open(rl->file, [&counted](std::string_view piece) { counted.add(piece); });
        if (const auto* why = std::get_if<std::string>(&file)) {
            std::cerr << "sgnicctl: rule load: " << *why << "\n"
                      << "hint: give a readable file, or '-' for stdin\n";
            return kUsage;
        }
        rules.emplace(std::get<RuleFile>(std::move(file)));
    }
    auto client = Client::open();
    if (auto* e = std::get_if<CallError>(&client)) {
        return fail(*e);
    }
    Client& c = *value(client);
    if (const auto* rl = std::get_if<RuleLoad>(&inv.command)) {
        return run_load(c, inv.options, *rl, *rules, counted);
    }
    if (std::holds_alternative<Monitor>(inv.command)) {
        return run_monitor(c, inv.options);
    }
    if (const int rc = run_read(c, inv.options, inv.command); rc >= 0) {
        return rc;
    }
    return run_change(c, inv.options, inv.command);
}

}  // namespace
}  // namespace sgnic::cli

int main(int argc, char** argv) {
    try {
        return sgnic::cli::run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "sgnicctl: " << e.what() << "\n";
        return 2;
    }
}
