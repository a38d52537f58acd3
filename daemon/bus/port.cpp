// /org/sgnic/Steering1/port/<escaped netdev name>, org.sgnic.Steering1.Port:
// one object per sgnic port, served by a fallback vtable.

#include "bus/args.hpp"
#include "bus/job.hpp"
#include "bus/server.hpp"
#include "model/geometry.hpp"

namespace sgnic::bus {

namespace {

// The port of the object a call or property read addresses.
const service::PortInfo* port_of(Server& server, const char* path) {
    const auto name = port_from_path(path);
    return name ? server.service().find_port(*name) : nullptr;
}

struct Totals {
    std::uint64_t rx = 0;
    std::uint64_t tx = 0;
    std::uint64_t pages = 0;
    std::uint32_t matchers = 0;
};

Totals totals(const service::Service& svc, const std::string& port) {
    Totals t;
    for (const model::MatcherKey key : svc.matchers_of(port)) {
        ++t.matchers;
        if (const policy::MatcherState* s = svc.matcher_state(key)) {
            t.rx += s->rx.rules;
            t.tx += s->tx.rules;
            t.pages += model::table_pages(s->rx.size_log) + model::table_pages(s->tx.size_log);
        }
    }
    return t;
}

int find_port(sd_bus* /*bus*/, const char* path, const char* /*interface*/, void* userdata,
              void** found, sd_bus_error* /*error*/) {
    if (port_of(*static_cast<Server*>(userdata), path) == nullptr) {
        return 0;
    }
    *found = userdata;
    return 1;
}

int enumerate_ports(sd_bus* /*bus*/, const char* /*prefix*/, void* userdata, char*** nodes,
                    sd_bus_error* /*error*/) {
    std::vector<std::string> paths;
    for (const service::PortInfo& p : static_cast<Server*>(userdata)->service().ports()) {
        paths.push_back(port_path(p.name));
    }
    *nodes = to_strv(paths);
    return *nodes == nullptr ? -ENOMEM : 0;
}

int method_create_matcher(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& server = *static_cast<Server*>(userdata);
    if (const int r = server.authorize(m, error); r < 0) {
        return r;
    }
    const service::PortInfo* port = port_of(server, sd_bus_message_get_path(m));
    std::uint32_t priority = 0;
    const int r = sd_bus_message_read(m, "u", &priority);
    if (r < 0) {
        return r;
    }
    auto fields = read_field_texts(m, "fields", kMaxFields);
    if (!fields) {
        return reply_error(error, fields.error());
    }
    auto key =
        server.service().create_matcher(port->name, priority, *fields, Server::sender_uid(m));
    if (!key) {
        return reply_error(error, key.error());
    }
    return sd_bus_reply_method_return(m, "o", matcher_path(*key).c_str());
}

int method_add_rules(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& server = *static_cast<Server*>(userdata);
    if (const int r = server.authorize(m, error); r < 0) {
        return r;
    }
    const service::PortInfo* port = port_of(server, sd_bus_message_get_path(m));
    auto rules = read_rules(m);
    if (!rules) {
        return reply_error(error, rules.error());
    }
    auto ids = server.service().add_rules(port->name, *rules, Server::sender_uid(m));
    if (!ids) {
        return reply_error(error, ids.error());
    }
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_return(m, &raw);
    if (r < 0) {
        return r;
    }
    const sd::Message reply(raw);
    r = sd_bus_message_append_array(reply.get(), 't', ids->data(),
                                    ids->size() * sizeof(model::RuleKey));
    return r < 0 ? r : sd_bus_send(nullptr, reply.get(), nullptr);
}

int method_load_rules(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& server = *static_cast<Server*>(userdata);
    return start_load_job(server, m, port_of(server, sd_bus_message_get_path(m))->name, error);
}

int method_delete_rules(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& server = *static_cast<Server*>(userdata);
    if (const int r = server.authorize(m, error); r < 0) {
        return r;
    }
    const service::PortInfo* port = port_of(server, sd_bus_message_get_path(m));
    auto ids = read_rule_ids(m);
    if (!ids) {
        return reply_error(error, ids.error());
    }
    auto st = server.service().delete_rules(port->name, *ids);
    if (!st) {
        return reply_error(error, st.error());
    }
    return sd_bus_reply_method_return(m, "");
}

int method_flush(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& server = *static_cast<Server*>(userdata);
    if (const int r = server.authorize(m, error); r < 0) {
        return r;
    }
    const service::PortInfo* port = port_of(server, sd_bus_message_get_path(m));
    auto st = server.service().flush(port->name);
    if (!st) {
        return reply_error(error, st.error());
    }
    return sd_bus_reply_method_return(m, "");
}

int method_describe(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto& server = *static_cast<Server*>(userdata);
    const service::PortInfo* port = port_of(server, sd_bus_message_get_path(m));
    return sd_bus_reply_method_return(m, "s", server.service().describe_port(port->name).c_str());
}

int property_get(sd_bus* /*bus*/, const char* path, const char* /*interface*/, const char* property,
                 sd_bus_message* reply, void* userdata, sd_bus_error* /*error*/) {
    auto& server = *static_cast<Server*>(userdata);
    const service::PortInfo* port = port_of(server, path);
    if (port == nullptr) {
        return -ENOENT;
    }
    const std::string_view p(property);
    if (p == "Name") {
        return sd_bus_message_append(reply, "s", port->name.c_str());
    }
    if (p == "Ifindex") {
        return sd_bus_message_append(reply, "u", port->ifindex);
    }
    const Totals t = totals(server.service(), port->name);
    if (p == "Matchers") {
        return sd_bus_message_append(reply, "u", t.matchers);
    }
    if (p == "RxRules") {
        return sd_bus_message_append(reply, "t", t.rx);
    }
    if (p == "TxRules") {
        return sd_bus_message_append(reply, "t", t.tx);
    }
    return sd_bus_message_append(reply, "t", t.pages);  // DevicePages
}

constexpr auto kChange = SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;

const sd_bus_vtable kPortVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Ifindex", "u", property_get, 0, kChange),
    SD_BUS_PROPERTY("Matchers", "u", property_get, 0, kChange),
    SD_BUS_PROPERTY("RxRules", "t", property_get, 0, kChange),
    SD_BUS_PROPERTY("TxRules", "t", property_get, 0, kChange),
    SD_BUS_PROPERTY("DevicePages", "t", property_get, 0, kChange),
    SD_BUS_METHOD_WITH_ARGS("CreateMatcher", SD_BUS_ARGS("u", priority, "a(ss)", fields),
                            SD_BUS_RESULT("o", matcher), method_create_matcher,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("AddRules", SD_BUS_ARGS("a(osa(ss)as)", rules),
                            SD_BUS_RESULT("at", ids), method_add_rules, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("LoadRules", SD_BUS_ARGS("h", fd, "a{sv}", options),
                            SD_BUS_RESULT("o", job), method_load_rules, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("DeleteRules", SD_BUS_ARGS("at", ids), SD_BUS_NO_RESULT,
                            method_delete_rules, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Flush", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_flush,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json), method_describe,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

}  // namespace

int add_port_objects(sd_bus* bus, Server& server, std::vector<sd::Slot>& slots) {
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_fallback_vtable(bus, &slot, kPortPrefix, kPortInterface, kPortVtable,
                                       find_port, &server);
    slots.emplace_back(slot);
    if (r < 0) {
        return r;
    }
    slot = nullptr;
    r = sd_bus_add_node_enumerator(bus, &slot, kPortPrefix, enumerate_ports, &server);
    slots.emplace_back(slot);
    return r;
}

}  // namespace sgnic::bus
