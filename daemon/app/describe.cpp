// Describe(): the service's state as JSON, for sgnicctl and people.
#include <nlohmann/json.hpp>

#include "app/service.hpp"
#include "app/version.hpp"
#include "model/geometry.hpp"

namespace sgnic::app {

using nlohmann::json;

namespace {

json fields_json(const std::vector<model::FieldText>& fields, const char* what) {
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

json matcher_json(const Service& svc, const model::DesiredMatcher& m, bool with_rules) {
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
        out["action_templates"] = s->action_templates.size();
    }
    if (with_rules) {
        json rules = json::array();
        for (const auto& [key, r] : svc.desired().rules) {
            if (r.matcher == m.id) {
                rules.push_back({{"id", r.id},
                                 {"directions", model::format_directions(r.directions)},
                                 {"match", fields_json(r.match, "value")},
                                 {"actions", r.actions},
                                 {"uid", r.uid}});
            }
        }
        out["rules"] = std::move(rules);
    }
    return out;
}

json port_json(const Service& svc, const PortInfo& p, bool with_matchers) {
    json out = {{"name", p.name},
                {"ifindex", p.ifindex},
                {"caps",
                 {{"ste_alloc_log_max", p.caps.ste_alloc_log_max},
                  {"rtc_log_depth_max", p.caps.rtc_log_depth_max},
                  {"max_action_templates", p.caps.max_action_templates}}}};
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
            matchers.push_back(matcher_json(svc, svc.desired().matchers.at(key), false));
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
    return json{{"version", kVersion},
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

std::string Service::describe_matcher(model::MatcherKey matcher) const {
    const auto it = desired_.matchers.find(matcher);
    return it == desired_.matchers.end() ? "{}" : matcher_json(*this, it->second, true).dump();
}

}  // namespace sgnic::app
