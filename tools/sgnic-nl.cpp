// sgnic-nl: the low-level command-line client of the sgnic netlink family,
// for operators, developers and the VM tests (sgnic-nl(8)).  Prints JSON on
// stdout; on a failed request prints "sgnic-nl: ENAME: extack" on stderr and
// exits 1 (2 for usage errors).
#include <linux/sgnic.h>
#include <net/if.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "netlink/sgnic_netlink.hpp"
#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/fields.hpp"
#include "sgnic/proto/spec.hpp"
#include "sgnic/proto/version.hpp"

namespace {

using json = nlohmann::json;
namespace nl = sgnic::nl;
namespace proto = sgnic::proto;
using Args = std::vector<std::string>;

// The option --count and the pools' "count": not the action.
constexpr const char* kCount = "count";  // layering: an option and a key, not the action

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string usage() {
    return R"(usage: sgnic-nl COMMAND ...
  dev [IFNAME] | portals | pools [IFNAME]
  matcher-new IFNAME [id N] [prio N] [rx-log N] [tx-log N] [cookie N] [owner N] FIELD[/MASK]...
  matcher-del IFNAME ID | matcher-get IFNAME ID | matchers [IFNAME]
  matcher-resize IFNAME ID TARGET          (TARGET 0 clears)
  rule-add IFNAME MATCHER ID rx|tx|both [FIELD=VALUE]... [cookie=N] [owner=N] ACTION...
  rules-add IFNAME MATCHER --file F [--continue]   (lines: ID DIR FIELD=VALUE... ACTION...)
  rules-gen IFNAME MATCHER --count N [--first-id I] [--dir D] [--vary FIELD=BASE] [--step N]
            [--set FIELD=VALUE]... [--action A]... [--continue] [--batch BYTES]
  rules-del IFNAME [--matcher M] [--continue] ID...
  rules-move IFNAME MATCHER [--batch N] [--pause-ms MS] (--all | ID...)
  rule-get IFNAME ID
  rules [IFNAME [MATCHER]] [--from ID] [--to ID] [--count]
  monitor [--timeout-ms MS] [--count N]
  fuzz IFNAME N [SEED]
  state                          devices, matchers and rules in one JSON object
  script FILE                    one command per line, in one process; stops at a failure
  raw COMMAND [--dump] TOKEN...   hand-made request; TOKEN: u32:TYPE=V | bytes:TYPE=HEX |
            str:TYPE=S | nest:TYPE{ ... }   (V may be @IFNAME); prints the answer
  help | --help | -h             this text;  version | --version
FIELD: )" + proto::field_names() +
           R"(
VALUE, MASK: as sgnicctl takes them (MAC, IPv4, IPv6 address, decimal or 0x number)
ACTION: )" +
           proto::action_forms(" | ") + " (as ACTION=N)\n";
}

// --help: the usage and what a user needs around it.
std::string help() {
    return "sgnic-nl talks to the sgnic generic-netlink family of sgnic.ko directly, without\n"
           "sgnicd: it prints the kernel's own view as JSON on stdout and sends requests as\n"
           "given.  Requests that change anything need CAP_NET_ADMIN.  Matchers and rules\n"
           "made here are not sgnicd's: its next reconcile deletes them.\n\n" +
           usage() +
           "\nExit status: 0 done; 1 the kernel refused (stderr: \"sgnic-nl: ENAME: "
           "extack\"); 2 usage error.\nSee sgnic-nl(8).\n";
}

uint64_t to_u64(const std::string& s) {
    try {
        size_t pos = 0;
        const unsigned long long v = std::stoull(s, &pos, 0);
        if (pos != s.size() || s.starts_with('-')) {
            throw UsageError("bad number: " + s);
        }
        return v;
    } catch (const std::logic_error&) {
        throw UsageError("bad number: " + s);
    }
}

uint32_t to_u32(const std::string& s) {
    const uint64_t v = to_u64(s);
    if (v > UINT32_MAX) {
        throw UsageError("bad number: " + s);
    }
    return static_cast<uint32_t>(v);
}

uint32_t ifindex_of(const std::string& name) {
    const unsigned int idx = if_nametoindex(name.c_str());
    // An unknown name goes to the kernel as an impossible index: ENODEV.
    return idx ? idx : UINT32_MAX;
}

uint32_t direction_of(const std::string& s) {
    if (s == "rx") {
        return SGNIC_DIRECTION_RX;
    }
    if (s == "tx") {
        return SGNIC_DIRECTION_TX;
    }
    if (s == "both") {
        return SGNIC_DIRECTION_RX | SGNIC_DIRECTION_TX;
    }
    if (s == "none") {
        return 0;
    }
    throw UsageError("direction must be rx, tx or both: " + s);
}

std::string direction_name(uint32_t d) {
    switch (d) {
        case SGNIC_DIRECTION_RX:
            return "rx";
        case SGNIC_DIRECTION_TX:
            return "tx";
        case SGNIC_DIRECTION_RX | SGNIC_DIRECTION_TX:
            return "both";
        default:
            return std::to_string(d);
    }
}

std::string hex(const nl::Bytes& b) {
    std::string out;
    for (auto c : b) {
        std::array<char, 3> buf{};
        std::snprintf(buf.data(), buf.size(), "%02x", c);
        out += buf.data();
    }
    return out;
}

const proto::FieldInfo& field_of(const std::string& name) {
    const proto::FieldInfo* f = proto::find_field(name);
    if (f == nullptr) {
        throw UsageError("unknown field: " + name + " (known: " + proto::field_names() + ")");
    }
    return *f;
}

const proto::FieldInfo& field_of(uint32_t id) {
    static const proto::FieldInfo kUnknown{.name = "?"};
    const proto::FieldInfo* f = proto::find_field_by_id(id);
    return f != nullptr ? *f : kUnknown;
}

// A value in sgnicctl's forms (sgnic/proto/codec.hpp), without a mask.
nl::Bytes value_of(const proto::FieldInfo& f, const std::string& text) {
    auto v = proto::parse_value(f, text);
    if (!v) {
        throw UsageError(v.error().message());
    }
    if (v->mask) {
        throw UsageError(std::string(f.name) + ": no /MASK in a value here: " + text);
    }
    return std::move(v->value);
}

nl::Bytes mask_of(const proto::FieldInfo& f, const std::string& text) {
    auto m = proto::parse_mask(f, text);
    if (!m) {
        throw UsageError(m.error().message());
    }
    return std::move(*m);
}

std::string_view action_name(uint32_t type) {
    return proto::action_name(static_cast<proto::ActionType>(type));
}

// FIELD=VALUE into a match entry, or an action word into an action.
bool parse_rule_word(const std::string& w, nl::RuleSpec& r) {
    const auto eq = w.find('=');
    const std::string key = w.substr(0, eq);
    if ((key == "cookie" || key == "owner") && eq != std::string::npos) {
        if (key == "cookie") {
            r.cookie = to_u64(w.substr(eq + 1));
        } else {
            r.owner = to_u32(w.substr(eq + 1));
        }
        return true;
    }
    if (const proto::spec::Action* a = proto::find_action(key)) {
        const auto type = static_cast<uint32_t>(a->type);
        nl::Action act{type, std::nullopt, std::nullopt};
        if (a->takes_arg) {
            if (eq == std::string::npos) {
                throw UsageError(key + " needs =N");
            }
            (type == SGNIC_ACTION_TYPE_MARK ? act.mark : act.queue) = to_u32(w.substr(eq + 1));
        }
        r.actions.push_back(act);
        return true;
    }
    if (eq == std::string::npos) {
        return false;
    }
    const proto::FieldInfo& f = field_of(key);
    r.match.push_back({f.id, value_of(f, w.substr(eq + 1))});
    return true;
}

nl::RuleSpec parse_rule_words(const Args& words, size_t from) {
    if (words.size() < from + 2) {
        throw UsageError("a rule needs ID and DIR");
    }
    nl::RuleSpec r;
    r.id = to_u32(words[from]);
    r.direction = direction_of(words[from + 1]);
    for (size_t i = from + 2; i < words.size(); i++) {
        if (!parse_rule_word(words[i], r)) {
            throw UsageError("not FIELD=VALUE nor an action: " + words[i]);
        }
    }
    return r;
}

json table_json(const nl::TableInfo& t) {
    json j = {{"rules", t.rules}, {"pages", t.pages}};
    if (t.size_log) {
        j["size_log"] = *t.size_log;
    }
    return j;
}

json dev_json(const nl::DevInfo& d) {
    return {{"ifindex", d.ifindex},
            {"name", d.name},
            {"peer_ifindex", d.peer_ifindex},
            {"caps",
             {{"ste_alloc_log_max", d.caps.ste_alloc_log_max},
              {"rtc_log_depth_max", d.caps.rtc_log_depth_max},
              {"max_matchers", d.caps.max_matchers},
              {"max_action_templates", d.caps.max_action_templates},
              {"supported_fields", d.caps.supported_fields}}},
            {"rx", table_json(d.rx)},
            {"tx", table_json(d.tx)},
            {"matchers", d.matchers},
            {"rule_limit", d.rule_limit},
            {"rule_ops", d.rule_ops},
            {"steer_gen", d.steer_gen}};
}

json matcher_json(const nl::MatcherInfo& m) {
    json tmpl = json::array();
    for (const auto& t : m.tmpl) {
        tmpl.push_back({{"field", field_of(t.field).name}, {"mask", hex(t.mask)}});
    }
    return {{"id", m.id},
            {"ifindex", m.ifindex},
            {"priority", m.priority},
            {"template", tmpl},
            {"rx", table_json(m.rx)},
            {"tx", table_json(m.tx)},
            {"resize_target", m.resize_target},
            {"resize_source", m.resize_source},
            {"action_templates", m.action_templates},
            {"cookie", m.cookie},
            {"owner", m.owner},
            {"rules", m.rules}};
}

// null for a direction in which the rule keeps no counters (no `count`).
json counters_json(const std::optional<nl::Counters>& c) {
    if (!c) {
        return nullptr;
    }
    return {{"packets", c->packets}, {"bytes", c->bytes}};
}

json rule_json(const nl::RuleInfo& r) {
    json match = json::object();
    for (const auto& e : r.match) {
        const proto::FieldInfo& f = field_of(e.field);
        match[std::string(f.name)] = proto::format_value(f, e.value);
    }
    json actions = json::array();
    for (const auto& a : r.actions) {
        json j = {{"type", action_name(a.type)}};
        if (a.mark) {
            j["mark"] = *a.mark;  // layering: the attribute, not the action
        }
        if (a.queue) {
            j["queue"] = *a.queue;  // layering: the attribute, not the action
        }
        actions.push_back(j);
    }
    return {{"id", r.id},
            {"ifindex", r.ifindex},
            {"matcher", r.matcher_id},
            {"direction", direction_name(r.direction)},
            {"match", match},
            {"actions", actions},
            {"rx", counters_json(r.rx)},
            {"tx", counters_json(r.tx)},
            {"cookie", r.cookie},
            {"owner", r.owner}};
}

json bulk_json(const nl::BulkReply& b) {
    json results = json::array();
    for (const auto& r : b.results) {
        json j = {{"index", r.index}, {"id", r.id}, {"errno", r.err}, {"msg", r.msg}};
        if (r.direction) {
            j["direction"] = direction_name(r.direction);
        }
        results.push_back(j);
    }
    return {{"applied", b.applied}, {"failed", b.failed}, {"results", results}};
}

void print(const json& j) { std::cout << j.dump() << '\n'; }

// Options of the form --name VALUE, and flags, pulled out of args.
struct Options {
    std::multimap<std::string, std::string> values;
    std::vector<std::string> flags;
    Args rest;

    Options(const Args& args, size_t from, const std::vector<std::string>& with_value) {
        for (size_t i = from; i < args.size(); i++) {
            const auto& a = args[i];
            if (a.starts_with("--")) {
                const auto name = a.substr(2);
                if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
                    if (i + 1 >= args.size()) {
                        throw UsageError(a + " needs a value");
                    }
                    values.emplace(name, args[++i]);
                } else {
                    flags.push_back(name);
                }
            } else {
                rest.push_back(a);
            }
        }
    }
    bool flag(const std::string& n) const {
        return std::find(flags.begin(), flags.end(), n) != flags.end();
    }
    std::optional<std::string> get(const std::string& n) const {
        auto it = values.find(n);
        if (it == values.end()) {
            return std::nullopt;
        }
        return it->second;
    }
    std::vector<std::string> all(const std::string& n) const {
        std::vector<std::string> out;
        auto [b, e] = values.equal_range(n);
        for (auto it = b; it != e; ++it) {
            out.push_back(it->second);
        }
        return out;
    }
};

nl::Bytes add_to_value(nl::Bytes v, uint64_t n) {
    for (size_t i = v.size(); i-- > 0 && n;) {
        const uint64_t sum = v[i] + (n & 0xff);
        v[i] = static_cast<uint8_t>(sum);
        n = (n >> 8) + (sum >> 8);
    }
    return v;
}

int cmd_matcher_new(nl::Client& c, const Args& a) {
    if (a.size() < 2) {
        throw UsageError("matcher-new IFNAME ...");
    }
    nl::MatcherSpec spec;
    spec.ifindex = ifindex_of(a[1]);
    for (size_t i = 2; i < a.size(); i++) {
        const auto& w = a[i];
        if (w == "cookie" && i + 1 < a.size()) {
            spec.cookie = to_u64(a[++i]);
            continue;
        }
        if ((w == "id" || w == "prio" || w == "rx-log" || w == "tx-log" || w == "owner") &&
            i + 1 < a.size()) {
            const uint32_t v = to_u32(a[++i]);
            if (w == "id") {
                spec.id = v;
            } else if (w == "prio") {
                spec.priority = v;
            } else if (w == "owner") {
                spec.owner = v;
            } else if (w == "rx-log") {
                spec.rx_size_log = v;
            } else {
                spec.tx_size_log = v;
            }
            continue;
        }
        const auto slash = w.find('/');
        const proto::FieldInfo& f = field_of(w.substr(0, slash));
        // No mask: the field's full width.
        spec.tmpl.push_back({f.id, slash == std::string::npos ? proto::full_mask(f)
                                                              : mask_of(f, w.substr(slash + 1))});
    }
    print(matcher_json(c.matcher_new(spec)));
    return 0;
}

int cmd_rules_gen(nl::Client& c, const Args& a) {
    const Options o(a, 1, {kCount, "first-id", "dir", "vary", "set", "action", "batch", "step"});
    if (o.rest.size() != 2) {
        throw UsageError("rules-gen IFNAME MATCHER --count N ...");
    }
    const uint32_t count = to_u32(o.get(kCount).value_or("1"));
    const uint32_t first = to_u32(o.get("first-id").value_or("1"));
    nl::RuleSpec base;
    base.direction = direction_of(o.get("dir").value_or("rx"));
    for (const auto& s : o.all("set")) {
        parse_rule_word(s, base);
    }
    for (const auto& s : o.all("action")) {
        parse_rule_word(s, base);
    }
    if (base.actions.empty()) {
        base.actions.push_back({SGNIC_ACTION_TYPE_COUNT, std::nullopt, std::nullopt});
    }
    const auto vary = o.get("vary").value_or("ipv4-dst=10.0.0.0");
    const auto eq = vary.find('=');
    const proto::FieldInfo& vf = field_of(vary.substr(0, eq));
    const nl::Bytes vbase = value_of(vf, eq == std::string::npos ? "0" : vary.substr(eq + 1));
    const size_t batch = o.get("batch") ? to_u32(*o.get("batch")) : nl::Client::kDefaultBatchBytes;
    const uint32_t flags = o.flag("continue") ? SGNIC_BULK_FLAGS_CONTINUE : 0;
    const uint32_t ifindex = ifindex_of(o.rest[0]);
    const uint32_t matcher = to_u32(o.rest[1]);

    // Generated and sent in chunks, so that a million rules never sit in
    // memory; with --step N, chunks of N, each timed on its own (a benchmark
    // that measures the kernel in one process, not a process per step).
    const uint32_t step = o.get("step") ? to_u32(*o.get("step")) : 0;
    if (o.get("step") && step == 0) {
        throw UsageError("--step must be at least 1");
    }
    const uint32_t chunk = step != 0 ? step : 16384;
    json steps = json::array();
    nl::BulkReply total;
    const auto t0 = std::chrono::steady_clock::now();
    auto mark = t0;
    for (uint32_t done = 0; done < count;) {
        const uint32_t n = std::min(chunk, count - done);
        std::vector<nl::RuleSpec> rules(n, base);
        for (uint32_t i = 0; i < n; i++) {
            rules[i].id = first + done + i;
            rules[i].match.push_back({vf.id, add_to_value(vbase, done + i)});
        }
        auto part = c.rules_new(ifindex, matcher, rules, flags, batch);
        total.applied += part.applied;
        total.failed += part.failed;
        for (auto& r : part.results) {
            r.index += done;
            total.results.push_back(std::move(r));
        }
        done += n;
        if (step != 0) {
            const auto now = std::chrono::steady_clock::now();
            steps.push_back({{"rules_after", done},
                             {"rules", n},
                             {"seconds", std::chrono::duration<double>(now - mark).count()}});
            mark = now;
        }
    }
    const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    json j = bulk_json(total);
    j["seconds"] = secs;
    if (step != 0) {
        j["steps"] = steps;
    }
    print(j);
    return 0;
}

int cmd_rules_move(nl::Client& c, const Args& a) {
    const Options o(a, 1, {"batch", "pause-ms"});
    if (o.rest.size() < 2) {
        throw UsageError("rules-move IFNAME MATCHER (--all | ID...)");
    }
    const uint32_t ifindex = ifindex_of(o.rest[0]);
    const uint32_t matcher = to_u32(o.rest[1]);
    std::vector<uint32_t> ids;
    if (o.flag("all")) {
        c.rules_dump(ifindex, matcher, [&](const nl::RuleInfo& r) { ids.push_back(r.id); });
    }
    for (size_t i = 2; i < o.rest.size(); i++) {
        ids.push_back(to_u32(o.rest[i]));
    }
    const size_t batch = o.get("batch") ? to_u32(*o.get("batch")) : ids.size();
    const auto pause = std::chrono::milliseconds(to_u32(o.get("pause-ms").value_or("0")));
    nl::BulkReply total;
    for (size_t done = 0; done < ids.size(); done += batch) {
        const auto part = c.rules_move(
            ifindex, matcher,
            std::span<const uint32_t>(ids).subspan(done, std::min(batch, ids.size() - done)));
        total.applied += part.applied;
        std::this_thread::sleep_for(pause);
    }
    print(bulk_json(total));
    return 0;
}

// Random and mutated messages of the family; the kernel must answer each
// with an errno or a reply, and its log stays clean.
int cmd_fuzz(nl::Client& c, const Args& a) {
    if (a.size() < 3) {
        throw UsageError("fuzz IFNAME N [SEED]");
    }
    const uint32_t ifindex = ifindex_of(a[1]);
    const uint32_t n = to_u32(a[2]);
    std::mt19937 rng(a.size() > 3 ? to_u32(a[3]) : 1);
    auto& sock = c.socket();
    const uint16_t fam = sock.family();

    // Valid seeds to mutate.
    std::vector<nl::Message> seeds;
    nl::MatcherSpec ms;
    ms.ifindex = ifindex;
    ms.id = 100;
    ms.tmpl = {{SGNIC_MATCH_FIELD_IPV4_DST, {0xff, 0xff, 0xff, 0xff}},
               {SGNIC_MATCH_FIELD_L4_DPORT, {0xff, 0xff}}};
    ms.rx_size_log = 4;
    seeds.push_back(nl::build_matcher_new(fam, 0, ms));
    nl::RuleSpec r;
    r.id = 1000;
    r.direction = SGNIC_DIRECTION_RX;
    r.match = {{SGNIC_MATCH_FIELD_IPV4_DST, {10, 1, 2, 3}}, {SGNIC_MATCH_FIELD_L4_DPORT, {0, 80}}};
    r.actions = {{SGNIC_ACTION_TYPE_COUNT, std::nullopt, std::nullopt},
                 {SGNIC_ACTION_TYPE_MARK, 7, std::nullopt},
                 {SGNIC_ACTION_TYPE_DROP, std::nullopt, std::nullopt}};
    std::vector<nl::RuleSpec> rules{r, r};
    rules[1].id = 1001;
    seeds.push_back(nl::build_rule_new(fam, 0, ifindex, 100, 0, rules));
    std::vector<uint32_t> ids{1000, 1001};
    seeds.push_back(nl::build_rule_ids(fam, 0, SGNIC_CMD_RULE_DEL, ifindex, 100, 0, ids));
    seeds.push_back(nl::build_rule_ids(fam, 0, SGNIC_CMD_RULE_MOVE, ifindex, 100, 1, ids));
    seeds.push_back(nl::build_matcher_resize(fam, 0, ifindex, 100, 101));
    seeds.push_back(nl::build_matcher_del(fam, 0, ifindex, 100));
    seeds.push_back(nl::build_dev_get(fam, 0, ifindex));
    seeds.push_back(nl::build_dev_get(fam, 0, 0));
    seeds.push_back(nl::build_pool_dump(fam, 0, ifindex));
    seeds.push_back(nl::build_portal_dump(fam, 0));
    seeds.push_back(nl::build_matcher_get(fam, 0, ifindex, 0));
    seeds.push_back(nl::build_rule_dump(fam, 0, ifindex, 0));
    seeds.push_back(nl::build_rule_get(fam, 0, ifindex, 1000));

    std::map<int, uint32_t> errnos;
    std::vector<uint8_t> buf;
    for (uint32_t i = 0; i < n; i++) {
        const auto& seed = seeds[rng() % seeds.size()];
        buf.assign(seed.data(), seed.data() + seed.size());
        const uint32_t mode = rng() % 4;
        constexpr size_t kHdr = 16 + 4;  // nlmsghdr + genlmsghdr
        if (mode == 0) {
            // Random TLVs after the headers.
            buf.resize(kHdr + (rng() % 256));
            for (size_t k = kHdr; k < buf.size(); k++) {
                buf[k] = static_cast<uint8_t>(rng());
            }
        } else {
            // Flip a few bytes of the attributes (lengths, types, values).
            const uint32_t flips = 1 + static_cast<uint32_t>(rng() % (uint64_t{mode} * 3));
            for (uint32_t k = 0; k < flips && buf.size() > kHdr; k++) {
                buf[kHdr + rng() % (buf.size() - kHdr)] = static_cast<uint8_t>(rng());
            }
            if (rng() % 8 == 0) {
                buf.resize(kHdr + rng() % (buf.size() - kHdr + 1));  // truncated
            }
        }
        if (rng() % 16 == 0) {
            buf[16] = static_cast<uint8_t>(rng() % 24);  // another command
        }
        const auto len = static_cast<uint32_t>(buf.size());
        std::memcpy(buf.data(), &len, sizeof(len));
        const uint32_t seq = sock.next_seq();
        std::memcpy(buf.data() + 8, &seq, sizeof(seq));
        errnos[sock.transact_raw(buf.data(), buf.size())]++;
    }
    json j = json::object();
    for (auto [e, cnt] : errnos) {
        j[e ? strerrorname_np(e) : "ok"] = cnt;
    }
    print({{"messages", n}, {"answers", j}});
    return 0;
}

uint8_t command_of(const std::string& name) {
    static const std::map<std::string, uint8_t> kCmds{{"dev-get", SGNIC_CMD_DEV_GET},
                                                      {"portal-get", SGNIC_CMD_PORTAL_GET},
                                                      {"pool-get", SGNIC_CMD_POOL_GET},
                                                      {"matcher-new", SGNIC_CMD_MATCHER_NEW},
                                                      {"matcher-del", SGNIC_CMD_MATCHER_DEL},
                                                      {"matcher-get", SGNIC_CMD_MATCHER_GET},
                                                      {"matcher-resize", SGNIC_CMD_MATCHER_RESIZE},
                                                      {"rule-new", SGNIC_CMD_RULE_NEW},
                                                      {"rule-del", SGNIC_CMD_RULE_DEL},
                                                      {"rule-move", SGNIC_CMD_RULE_MOVE},
                                                      {"rule-get", SGNIC_CMD_RULE_GET}};
    auto it = kCmds.find(name);
    if (it != kCmds.end()) {
        return it->second;
    }
    return static_cast<uint8_t>(to_u32(name));
}

// A request written token by token, for malformed and incomplete messages.
int cmd_raw(nl::Client& c, const Args& a) {
    const Options o(a, 1, {});
    if (o.rest.empty()) {
        throw UsageError("raw COMMAND TOKEN...");
    }
    auto& sock = c.socket();
    nl::Message m(sock.family(), command_of(o.rest[0]), o.flag("dump") ? NLM_F_DUMP : NLM_F_ACK,
                  sock.next_seq());
    std::vector<size_t> nests;
    for (size_t i = 1; i < o.rest.size(); i++) {
        const auto& t = o.rest[i];
        if (t == "}") {
            if (nests.empty()) {
                throw UsageError("unbalanced }");
            }
            m.end_nest(nests.back());
            nests.pop_back();
            continue;
        }
        const auto colon = t.find(':');
        const auto eq = t.find('=', colon);
        if (colon == std::string::npos) {
            throw UsageError("bad token: " + t);
        }
        const std::string kind = t.substr(0, colon);
        if (kind == "nest" && t.ends_with("{")) {
            nests.push_back(m.start_nest(
                static_cast<uint16_t>(to_u32(t.substr(colon + 1, t.size() - colon - 2)))));
            continue;
        }
        if (eq == std::string::npos) {
            throw UsageError("bad token: " + t);
        }
        const auto type = static_cast<uint16_t>(to_u32(t.substr(colon + 1, eq - colon - 1)));
        const std::string val = t.substr(eq + 1);
        if (kind == "u32") {
            m.put_u32(type, val.starts_with("@") ? ifindex_of(val.substr(1)) : to_u32(val));
        } else if (kind == "str") {
            m.put_string(type, val);
        } else if (kind == "bytes") {
            nl::Bytes b;
            for (size_t k = 0; k + 1 < val.size(); k += 2) {
                b.push_back(static_cast<uint8_t>(std::stoul(val.substr(k, 2), nullptr, 16)));
            }
            m.put_bytes(type, b.data(), b.size());
        } else {
            throw UsageError("bad token: " + t);
        }
    }
    if (!nests.empty()) {
        throw UsageError("unbalanced {");
    }
    uint32_t replies = 0;
    sock.transact(m, [&](const nlmsghdr*) { replies++; });
    print({{"replies", replies}});
    return 0;
}

int run(const Args& a) {
    if (a.empty()) {
        throw UsageError("no command");
    }
    const auto& cmd = a[0];
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
        std::cout << help();
        return 0;
    }
    if (cmd == "version" || cmd == "--version") {
        std::cout << "sgnic-nl " << proto::kVersion << '\n';
        return 0;
    }
    nl::Client c;
    if (cmd == "dev") {
        if (a.size() > 1) {
            print(dev_json(c.dev(ifindex_of(a[1]))));
        } else {
            json j = json::array();
            for (const auto& d : c.devs()) {
                j.push_back(dev_json(d));
            }
            print(j);
        }
    } else if (cmd == "portals") {
        json j = json::array();
        for (const auto& p : c.portals()) {
            j.push_back({{"id", p.id},
                         {"cpu", p.cpu},
                         {"dqrr_size", p.dqrr_size},
                         {"dqrr_fill", p.dqrr_fill},
                         {"enqueued", p.enqueued},
                         {"enqueue_busy", p.enqueue_busy},
                         {"dequeued", p.dequeued}});
        }
        print(j);
    } else if (cmd == "pools") {
        json j = json::array();
        for (const auto& p : c.pools(a.size() > 1 ? ifindex_of(a[1]) : 0)) {
            j.push_back({{"bpid", p.bpid},
                         {"ifindex", p.ifindex},
                         {"buffer_size", p.buffer_size},
                         {kCount, p.count},
                         {"refill_threshold", p.refill_threshold},
                         {"acquired", p.acquired},
                         {"released", p.released},
                         {"depleted", p.depleted},
                         {"percpu", p.percpu.size()}});
        }
        print(j);
    } else if (cmd == "matcher-new") {
        return cmd_matcher_new(c, a);
    } else if (cmd == "matcher-del" && a.size() == 3) {
        c.matcher_del(ifindex_of(a[1]), to_u32(a[2]));
        print({{"deleted", to_u32(a[2])}});
    } else if (cmd == "matcher-get" && a.size() == 3) {
        print(matcher_json(c.matcher_get(ifindex_of(a[1]), to_u32(a[2]))));
    } else if (cmd == "matchers") {
        json j = json::array();
        for (const auto& m : c.matchers(a.size() > 1 ? ifindex_of(a[1]) : 0)) {
            j.push_back(matcher_json(m));
        }
        print(j);
    } else if (cmd == "matcher-resize" && a.size() == 4) {
        c.matcher_resize(ifindex_of(a[1]), to_u32(a[2]), to_u32(a[3]));
        print({{"id", to_u32(a[2])}, {"resize_target", to_u32(a[3])}});
    } else if (cmd == "rule-add" && a.size() >= 5) {
        const nl::RuleSpec r = parse_rule_words(a, 3);
        print(bulk_json(c.rules_new(ifindex_of(a[1]), to_u32(a[2]), std::span(&r, 1))));
    } else if (cmd == "rules-add") {
        const Options o(a, 1, {"file"});
        if (o.rest.size() != 2 || !o.get("file")) {
            throw UsageError("rules-add IFNAME MATCHER --file F");
        }
        std::ifstream in(*o.get("file"));
        if (!in) {
            throw UsageError("cannot read " + *o.get("file"));
        }
        std::vector<nl::RuleSpec> rules;
        for (std::string line; std::getline(in, line);) {
            std::istringstream ws(line);
            Args words{""};
            for (std::string w; ws >> w;) {
                words.push_back(w);
            }
            if (words.size() > 1) {
                rules.push_back(parse_rule_words(words, 1));
            }
        }
        print(bulk_json(c.rules_new(ifindex_of(o.rest[0]), to_u32(o.rest[1]), rules,
                                    o.flag("continue") ? SGNIC_BULK_FLAGS_CONTINUE : 0)));
    } else if (cmd == "rules-gen") {
        return cmd_rules_gen(c, a);
    } else if (cmd == "rules-del") {
        const Options o(a, 1, {"matcher"});
        if (o.rest.empty()) {
            throw UsageError("rules-del IFNAME ID...");
        }
        std::vector<uint32_t> ids;
        for (size_t i = 1; i < o.rest.size(); i++) {
            ids.push_back(to_u32(o.rest[i]));
        }
        print(bulk_json(c.rules_del(ifindex_of(o.rest[0]), to_u32(o.get("matcher").value_or("0")),
                                    ids, o.flag("continue") ? SGNIC_BULK_FLAGS_CONTINUE : 0)));
    } else if (cmd == "rules-move") {
        return cmd_rules_move(c, a);
    } else if (cmd == "rule-get" && a.size() == 3) {
        print(rule_json(c.rule_get(ifindex_of(a[1]), to_u32(a[2]))));
    } else if (cmd == "rules") {
        const Options o(a, 1, {"from", "to"});
        const uint32_t ifindex = o.rest.empty() ? 0 : ifindex_of(o.rest[0]);
        const uint32_t matcher = o.rest.size() > 1 ? to_u32(o.rest[1]) : 0;
        const nl::IdRange range{.first = to_u32(o.get("from").value_or("0")),
                                .last = to_u32(o.get("to").value_or("0"))};
        uint64_t count = 0;
        uint32_t last_id = 0;
        bool ordered = true;
        json j = json::array();
        c.rules_dump(
            ifindex, matcher,
            [&](const nl::RuleInfo& r) {
                count++;
                ordered = ordered && (count == 1 || r.id > last_id || r.ifindex != ifindex);
                last_id = r.id;
                if (!o.flag(kCount)) {
                    j.push_back(rule_json(r));
                }
            },
            range);
        if (o.flag(kCount)) {
            print({{"rules", count}, {"ordered", ordered}});
        } else {
            print(j);
        }
    } else if (cmd == "monitor") {
        const Options o(a, 1, {"timeout-ms", kCount});
        const int timeout = static_cast<int>(to_u32(o.get("timeout-ms").value_or("2000")));
        const uint32_t want = to_u32(o.get(kCount).value_or("1"));
        c.socket().join_events();
        uint32_t got = 0;
        std::cout << "listening" << std::endl;
        while (got < want && c.socket().recv_event(timeout, [&](const nlmsghdr* nlh) {
            const auto m = nl::parse_matcher(nlh);
            print({{"cmd", m.cmd},
                   {"id", m.id},
                   {"ifindex", m.ifindex},
                   {"resize_source", m.resize_source}});
            got++;
        })) {
        }
    } else if (cmd == "fuzz") {
        return cmd_fuzz(c, a);
    } else if (cmd == "raw") {
        return cmd_raw(c, a);
    } else if (cmd == "state") {
        json devs = json::array();
        for (const auto& d : c.devs()) {
            devs.push_back(dev_json(d));
        }
        json matchers = json::array();
        for (const auto& m : c.matchers(0)) {
            matchers.push_back(matcher_json(m));
        }
        json rules = json::array();
        c.rules_dump(0, 0, [&](const nl::RuleInfo& r) { rules.push_back(rule_json(r)); });
        print({{"devs", devs}, {"matchers", matchers}, {"rules", rules}});
    } else if (cmd == "script" && a.size() == 2) {
        std::ifstream in(a[1]);
        if (!in) {
            throw UsageError("cannot read " + a[1]);
        }
        for (std::string line; std::getline(in, line);) {
            std::istringstream ws(line);
            Args words;
            for (std::string w; ws >> w;) {
                words.push_back(w);
            }
            if (!words.empty() && words[0] != "script" && run(words) != 0) {
                return 1;
            }
        }
    } else {
        throw UsageError("unknown command or wrong arguments: " + cmd);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const Args args(argv + 1, argv + argc);
    try {
        return run(args);
    } catch (const UsageError& e) {
        std::cerr << "sgnic-nl: " << e.what() << '\n' << usage();
        return 2;
    } catch (const nl::Error& e) {
        const char* name = strerrorname_np(e.err());
        std::cerr << "sgnic-nl: " << (name ? name : "E?") << ": "
                  << (e.extack().empty() ? e.what() : e.extack()) << '\n';
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "sgnic-nl: " << e.what() << '\n';
        return 1;
    }
}
