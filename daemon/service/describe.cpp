// Describe(): the service's state as JSON, for sgnicctl and people.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "model/geometry.hpp"
#include "service/json_text.hpp"
#include "service/service.hpp"
#include "sgnic/proto/version.hpp"

namespace sgnic::service {

using nlohmann::json;

namespace {

json fields_json(const std::vector<proto::FieldText>& fields, const char* what) {
    json out = json::array();
    for (const auto& f : fields) {
        out.push_back({{"field", f.field}, {what, f.text}});
    }
    return out;
}

json direction_json(const policy::DirectionSize& s) {
    return {{"size_log", s.size_log},
            {"rules", s.rules},
            {"pages", model::table_pages(s.size_log)},
            {"rehash_required", s.rehash_required}};
}

json matcher_json(const Service& svc, const model::DesiredMatcher& m) {
    json out = {{"id", m.id},
                {"port", m.port},
                {"priority", m.priority},
                {"template", fields_json(m.fields, "mask")}};
    const policy::MatcherState* s = svc.matcher_state(m.id);
    out["installed"] = s != nullptr;
    if (s != nullptr) {
        out["rx"] = direction_json(s->rx);
        out["tx"] = direction_json(s->tx);
        out["rehashes"] = s->rehashes;
        // A rehash in progress: rules moved so far of those to move.
        out["resizing"] = s->resize ? json{{"moved", s->resize->moved},
                                           {"total", s->resize->pending.size()},
                                           {"reason", policy::to_string(s->resize->reason)}}
                                    : json(nullptr);
        out["action_templates"] = s->action_templates.size();
    }
    return out;
}

json port_json(const Service& svc, const PortInfo& p, bool with_matchers) {
    json out = {{"name", p.name},
                {"ifindex", p.ifindex},
                {"caps",
                 {{"ste_alloc_log_max", p.caps.ste_alloc_log_max},
                  {"rtc_log_depth_max", p.caps.rtc_log_depth_max},
                  {"max_action_templates", p.caps.max_action_templates}}},
                // The netdev as rtnetlink saw it at the last reconcile.
                {"link",
                 {{"oper_state", p.link.oper_state},
                  {"admin_up", p.link.admin_up},
                  {"mtu", p.link.mtu},
                  {"rx_packets", p.link.rx_packets},
                  {"rx_bytes", p.link.rx_bytes},
                  {"tx_packets", p.link.tx_packets},
                  {"tx_bytes", p.link.tx_bytes}}}};
    std::uint64_t rx = 0;
    std::uint64_t tx = 0;
    std::uint64_t pages = 0;
    json matchers = json::array();
    for (const model::MatcherKey key : svc.matchers_of(p.name)) {
        if (const policy::MatcherState* s = svc.matcher_state(key)) {
            rx += s->rx.rules;
            tx += s->tx.rules;
            pages += model::table_pages(s->rx.size_log) + model::table_pages(s->tx.size_log);
        }
        if (with_matchers) {
            matchers.push_back(matcher_json(svc, svc.desired().matchers.at(key)));
        }
    }
    out["rx_rules"] = rx;
    out["tx_rules"] = tx;
    out["device_pages"] = pages;
    if (with_matchers) {
        out["matchers"] = std::move(matchers);
    }
    return out;
}

}  // namespace

std::string Service::describe() const {
    json ports = json::array();
    for (const PortInfo& p : ports_) {
        ports.push_back(port_json(*this, p, false));
    }
    return json{{"version", proto::kVersion},
                {"ports", std::move(ports)},
                {"matchers", desired_.matchers.size()},
                {"rules", desired_.rules.size()},
                {"persistence", store_.has_value()}}
        .dump();
}

std::string Service::describe_port(const std::string& port) const {
    const PortInfo* p = find_port(port);
    return p == nullptr ? "{}" : port_json(*this, *p, true).dump();
}

Expected<std::string> Service::describe_rules(const std::string& port, model::MatcherKey matcher,
                                              model::RuleKey after, std::size_t limit) {
    if (!port.empty() && find_port(port) == nullptr) {
        return Error(Errc::no_such_port, "no sgnic port '" + port + "'");
    }
    if (matcher != 0) {
        const auto it = desired_.matchers.find(matcher);
        if (it == desired_.matchers.end()) {
            return Error(Errc::no_such_matcher, "no matcher " + std::to_string(matcher));
        }
        if (!port.empty() && it->second.port != port) {
            return Error(Errc::no_such_matcher,
                         "no matcher " + std::to_string(matcher) + " on port '" + port + "'");
        }
    }
    if (limit > kMaxBatch) {
        return Error(Errc::invalid_argument, "limit " + std::to_string(limit) + ": at most " +
                                                 std::to_string(kMaxBatch) + " rules per page");
    }
    limit = limit == 0 ? kDescribePage : std::min(limit, kDescribePage);
    // The page first, then the counters of its rules: one read per matcher
    // it touches, of the range of rule ids the page holds there (a page of a
    // million-rule matcher reads its own rules, not the matcher's).
    std::vector<const model::DesiredRule*> page;
    json next = nullptr;
    std::map<model::MatcherKey, RuleIdRange> ranges;
    for (auto it = desired_.rules.upper_bound(after); it != desired_.rules.end(); ++it) {
        const model::DesiredRule& r = *it;
        if ((matcher != 0 && r.matcher != matcher) ||
            (!port.empty() && desired_.matchers.at(r.matcher).port != port)) {
            continue;
        }
        if (page.size() == limit) {
            next = page.back()->id;
            break;
        }
        page.push_back(&r);
        if (const model::RuleBinding* b = rule_ids_.find(r.id); b != nullptr) {
            const policy::RuleId id = b->rule;
            const auto [range, fresh] = ranges.try_emplace(r.matcher, RuleIdRange{id, id});
            range->second.first = std::min(range->second.first, id);
            range->second.last = std::max(range->second.last, id);
        }
    }
    json errors = json::array();
    std::map<model::MatcherKey, std::map<policy::RuleId, RuleCounters>> counters;
    for (const auto& [key, range] : ranges) {
        auto read = counters_of(key, range);
        if (read) {
            counters.emplace(key, std::move(*read));
        } else {
            errors.push_back("matcher " + std::to_string(key) + ": " + read.error().message());
        }
    }
    // The page's texts are made from the rules' bytes under their templates.
    model::MatchTexts match_texts(desired_.matchers);
    // Written as text: a DOM of thousands of rules cost most of the call.
    std::string out;
    json_text::Writer w(out);
    w.begin_object().key("rules").begin_array();
    for (const model::DesiredRule* r : page) {
        w.begin_object();
        w.key("id").number(r->id);
        w.key("matcher").number(r->matcher);
        w.key("port").string(desired_.matchers.at(r->matcher).port);
        w.key("directions").string(proto::format_directions(r->directions));
        w.key("match").begin_array();
        // A desired matcher's template parsed when it was made: no error here.
        if (const auto fields = match_texts.of(*r)) {
            for (const proto::FieldText& f : *fields) {
                w.begin_object().key("field").string(f.field).key("value").string(f.text);
                w.end_object();
            }
        }
        w.end_array();
        const std::vector<policy::Action> actions = r->body.actions();
        w.key("actions").begin_array();
        for (const policy::Action& a : actions) {
            w.string(proto::format_action(a));
        }
        w.end_array();
        w.key("uid").number(r->uid);
        const model::RuleBinding* binding = rule_ids_.find(r->id);
        w.key("installed").boolean(binding != nullptr);
        // Only a rule with `count` has counters (the kernel keeps none for others).
        const bool counts = std::ranges::any_of(
            actions, [](const policy::Action& a) { return a.type == proto::ActionType::count; });
        const RuleCounters* rc = nullptr;
        if (const auto c = counters.find(r->matcher);
            counts && c != counters.end() && binding != nullptr) {
            if (const auto found = c->second.find(binding->rule); found != c->second.end()) {
                rc = &found->second;
            }
        }
        w.key("counters");
        if (rc == nullptr) {
            w.null();
        } else {
            w.begin_object()
                .key("rx_packets")
                .number(rc->rx_packets)
                .key("rx_bytes")
                .number(rc->rx_bytes)
                .key("tx_packets")
                .number(rc->tx_packets)
                .key("tx_bytes")
                .number(rc->tx_bytes)
                .end_object();
        }
        w.end_object();
    }
    w.end_array();
    w.key("errors").raw(errors.dump());
    w.key("next").raw(next.dump());
    w.end_object();
    return out;
}

std::string Service::stats() {
    json ports = json::array();
    json errors = json::array();
    static constexpr std::array<const char*, 9> kKeys = {"matchers",     "rx_rules",   "tx_rules",
                                                         "device_pages", "rehashes",   "rx_packets",
                                                         "rx_bytes",     "tx_packets", "tx_bytes"};
    json total = json::object();
    for (const char* k : kKeys) {
        total[k] = 0;
    }
    auto add = [](json& into, const char* key, std::uint64_t v) {
        into[key] = into[key].get<std::uint64_t>() + v;
    };
    for (const PortInfo& p : ports_) {
        json port = {{"name", p.name}};
        for (const char* k : kKeys) {
            port[k] = 0;
        }
        for (const model::MatcherKey key : matchers_of(p.name)) {
            add(port, "matchers", 1);
            if (const policy::MatcherState* s = matcher_state(key)) {
                add(port, "rx_rules", s->rx.rules);
                add(port, "tx_rules", s->tx.rules);
                add(port, "device_pages",
                    model::table_pages(s->rx.size_log) + model::table_pages(s->tx.size_log));
                add(port, "rehashes", s->rehashes);
            }
            auto counters = counters_of(key);
            if (!counters) {
                errors.push_back("matcher " + std::to_string(key) + ": " +
                                 counters.error().message());
                continue;
            }
            for (const auto& [id, c] : *counters) {
                add(port, "rx_packets", c.rx_packets);
                add(port, "rx_bytes", c.rx_bytes);
                add(port, "tx_packets", c.tx_packets);
                add(port, "tx_bytes", c.tx_bytes);
            }
        }
        for (const char* k : kKeys) {
            add(total, k, port[k].get<std::uint64_t>());
        }
        ports.push_back(std::move(port));
    }
    return json{{"version", proto::kVersion},     {"ports", std::move(ports)},
                {"total", std::move(total)},      {"matchers", desired_.matchers.size()},
                {"rules", desired_.rules.size()}, {"errors", std::move(errors)}}
        .dump();
}

// The rules themselves are DescribeRules' (a page at a time): a matcher of a
// million rules is one short answer here.
std::string Service::describe_matcher(model::MatcherKey matcher) const {
    const auto it = desired_.matchers.find(matcher);
    if (it == desired_.matchers.end()) {
        return "{}";
    }
    json out = matcher_json(*this, it->second);
    out["rule_count"] =
        std::count_if(desired_.rules.begin(), desired_.rules.end(),
                      [&](const model::DesiredRule& r) { return r.matcher == matcher; });
    return out.dump();
}

}  // namespace sgnic::service
