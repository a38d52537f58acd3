// /org/sgnic/Steering1/matcher/<id>, org.sgnic.Steering1.Matcher: one object
// per matcher, served by a fallback vtable.  The id is the daemon's, stable
// across rehashes and restarts.
#include <cstring>
#include <optional>

#include "bus/args.hpp"
#include "bus/server.hpp"
#include "model/geometry.hpp"

namespace sgnic::bus {

namespace {

const model::DesiredMatcher* matcher_of(Server& server, const char* path) {
    const auto key = matcher_from_path(path);
    if (!key) {
        return nullptr;
    }
    const auto& matchers = server.service().desired().matchers;
    const auto it = matchers.find(*key);
    return it == matchers.end() ? nullptr : &it->second;
}

int find_matcher(sd_bus* /*bus*/, const char* path, const char* /*interface*/, void* userdata,
                 void** found, sd_bus_error* /*error*/) {
    if (matcher_of(*static_cast<Server*>(userdata), path) == nullptr) {
        return 0;
    }
    *found = userdata;
    return 1;
}

int enumerate_matchers(sd_bus* /*bus*/, const char* /*prefix*/, void* userdata, char*** nodes,
                       sd_bus_error* /*error*/) {
    std::vector<std::string> paths;
    for (const auto& [key, m] : static_cast<Server*>(userdata)->service().desired().matchers) {
        paths.push_back(matcher_path(key));
    }
    *nodes = to_strv(paths);
    return *nodes == nullptr ? -ENOMEM : 0;
}

int method_delete(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& server = *static_cast<Server*>(userdata);
    if (const int r = server.authorize(m, error); r < 0) {
        return r;
    }
    const model::DesiredMatcher* matcher = matcher_of(server, sd_bus_message_get_path(m));
    auto st = server.service().delete_matcher(matcher->id);
    if (!st) {
        return reply_error(error, st.error());
    }
    return sd_bus_reply_method_return(m, "");
}

int method_reserve(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& server = *static_cast<Server*>(userdata);
    if (const int r = server.authorize(m, error); r < 0) {
        return r;
    }
    const model::DesiredMatcher* matcher = matcher_of(server, sd_bus_message_get_path(m));
    std::uint64_t rx = 0;
    std::uint64_t tx = 0;
    if (const int r = sd_bus_message_read(m, "tt", &rx, &tx); r < 0) {
        return r;
    }
    auto grown = server.service().reserve_rules(matcher->id, rx, tx);
    if (!grown) {
        return reply_error(error, grown.error());
    }
    return sd_bus_reply_method_return(m, "b", static_cast<int>(*grown));
}

int method_describe(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto& server = *static_cast<Server*>(userdata);
    const model::DesiredMatcher* matcher = matcher_of(server, sd_bus_message_get_path(m));
    return sd_bus_reply_method_return(m, "s",
                                      server.service().describe_matcher(matcher->id).c_str());
}

int property_get(sd_bus* /*bus*/, const char* path, const char* /*interface*/, const char* property,
                 sd_bus_message* reply, void* userdata, sd_bus_error* /*error*/) {
    auto& server = *static_cast<Server*>(userdata);
    const model::DesiredMatcher* matcher = matcher_of(server, path);
    if (matcher == nullptr) {
        return -ENOENT;
    }
    const std::string_view p(property);
    if (p == "Port") {
        return sd_bus_message_append(reply, "s", matcher->port.c_str());
    }
    if (p == "Priority") {
        return sd_bus_message_append(reply, "u", matcher->priority);
    }
    // Zero while the matcher is not in the device (its port is absent).
    const policy::MatcherState* s = server.service().matcher_state(matcher->id);
    const policy::DirectionSize none;
    const policy::DirectionSize& rx = s != nullptr ? s->rx : none;
    const policy::DirectionSize& tx = s != nullptr ? s->tx : none;
    if (p == "RxSizeLog") {
        return sd_bus_message_append(reply, "u", static_cast<std::uint32_t>(rx.size_log));
    }
    if (p == "TxSizeLog") {
        return sd_bus_message_append(reply, "u", static_cast<std::uint32_t>(tx.size_log));
    }
    if (p == "RxRules") {
        return sd_bus_message_append(reply, "t", rx.rules);
    }
    if (p == "TxRules") {
        return sd_bus_message_append(reply, "t", tx.rules);
    }
    if (p == "DevicePages") {
        const std::uint64_t pages =
            s == nullptr ? 0 : model::table_pages(rx.size_log) + model::table_pages(tx.size_log);
        return sd_bus_message_append(reply, "t", pages);
    }
    if (p == "Resizing") {
        // Rules moved so far and rules to move; (0, 0) when no rehash runs.
        const std::optional<policy::ResizeProgress>& resize =
            s != nullptr ? s->resize : std::nullopt;
        return sd_bus_message_append(
            reply, "(tt)", static_cast<std::uint64_t>(resize ? resize->moved : 0),
            static_cast<std::uint64_t>(resize ? resize->pending.size() : 0));
    }
    return sd_bus_message_append(reply, "t", s != nullptr ? s->rehashes : 0);  // Rehashes
}

constexpr auto kChange = SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;

const sd_bus_vtable kMatcherVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Port", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Priority", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("RxSizeLog", "u", property_get, 0, kChange),
    SD_BUS_PROPERTY("TxSizeLog", "u", property_get, 0, kChange),
    SD_BUS_PROPERTY("RxRules", "t", property_get, 0, kChange),
    SD_BUS_PROPERTY("TxRules", "t", property_get, 0, kChange),
    SD_BUS_PROPERTY("DevicePages", "t", property_get, 0, kChange),
    SD_BUS_PROPERTY("Rehashes", "t", property_get, 0, kChange),
    SD_BUS_PROPERTY("Resizing", "(tt)", property_get, 0, kChange),
    SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_delete,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json), method_describe,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Reserve", SD_BUS_ARGS("t", rx_rules, "t", tx_rules),
                            SD_BUS_RESULT("b", resized), method_reserve,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_ARGS(
        "Rehashed",
        SD_BUS_ARGS("u", rx_old_size_log, "u", rx_new_size_log, "u", tx_old_size_log, "u",
                    tx_new_size_log, "t", duration_usec, "t", rules_moved, "s", reason),
        0),
    SD_BUS_VTABLE_END,
};

}  // namespace

int add_matcher_objects(sd_bus* bus, Server& server, std::vector<sd::Slot>& slots) {
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_fallback_vtable(bus, &slot, kMatcherPrefix, kMatcherInterface,
                                       kMatcherVtable, find_matcher, &server);
    slots.emplace_back(slot);
    if (r < 0) {
        return r;
    }
    slot = nullptr;
    r = sd_bus_add_node_enumerator(bus, &slot, kMatcherPrefix, enumerate_matchers, &server);
    slots.emplace_back(slot);
    return r;
}

}  // namespace sgnic::bus
