// /org/sgnic/Steering1, org.sgnic.Steering1.Manager: the whole surface of
// the manager object in one table.
#include <cstdint>
#include <cstring>

#include "bus/args.hpp"
#include "bus/job.hpp"
#include "bus/server.hpp"
#include "sgnic/proto/version.hpp"

namespace sgnic::bus {

namespace {

int method_list_ports(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto& server = *static_cast<Server*>(userdata);
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_return(m, &raw);
    if (r < 0) {
        return r;
    }
    const sd::Message reply(raw);
    r = sd_bus_message_open_container(reply.get(), 'a', "(so)");
    for (const service::PortInfo& p : server.service().ports()) {
        if (r >= 0) {
            r = sd_bus_message_append(reply.get(), "(so)", p.name.c_str(),
                                      port_path(p.name).c_str());
        }
    }
    if (r >= 0) {
        r = sd_bus_message_close_container(reply.get());
    }
    return r < 0 ? r : sd_bus_send(nullptr, reply.get(), nullptr);
}

int method_list_matchers(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto& server = *static_cast<Server*>(userdata);
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_return(m, &raw);
    if (r < 0) {
        return r;
    }
    const sd::Message reply(raw);
    r = sd_bus_message_open_container(reply.get(), 'a', "(tso)");
    for (const auto& [key, matcher] : server.service().desired().matchers) {
        if (r >= 0) {
            r = sd_bus_message_append(reply.get(), "(tso)", key, matcher.port.c_str(),
                                      matcher_path(key).c_str());
        }
    }
    if (r >= 0) {
        r = sd_bus_message_close_container(reply.get());
    }
    return r < 0 ? r : sd_bus_send(nullptr, reply.get(), nullptr);
}

int method_describe(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto& server = *static_cast<Server*>(userdata);
    return sd_bus_reply_method_return(m, "s", server.service().describe().c_str());
}

int method_version(sd_bus_message* m, void* /*userdata*/, sd_bus_error* /*error*/) {
    return sd_bus_reply_method_return(m, "s", proto::kVersion);
}

int method_describe_rules(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& server = *static_cast<Server*>(userdata);
    const char* port = nullptr;
    std::uint64_t matcher = 0;
    std::uint64_t after = 0;
    std::uint32_t limit = 0;
    const int r = sd_bus_message_read(m, "sttu", &port, &matcher, &after, &limit);
    if (r < 0) {
        return r;
    }
    auto json = server.service().describe_rules(port, matcher, after, limit);
    if (!json) {
        return reply_error(error, json.error());
    }
    return sd_bus_reply_method_return(m, "s", json->c_str());
}

int method_delete_rules(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& server = *static_cast<Server*>(userdata);
    if (const int r = server.authorize(m, error); r < 0) {
        return r;
    }
    auto ids = read_rule_ids(m);
    if (!ids) {
        return reply_error(error, ids.error());
    }
    auto st = server.service().delete_rules_by_id(*ids);
    if (!st) {
        return reply_error(error, st.error());
    }
    return sd_bus_reply_method_return(m, "");
}

int method_flush_rules(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& server = *static_cast<Server*>(userdata);
    if (const int r = server.authorize(m, error); r < 0) {
        return r;
    }
    const char* port = nullptr;
    if (const int r = sd_bus_message_read(m, "s", &port); r < 0) {
        return r;
    }
    auto deleted = server.service().flush_rules(port);
    if (!deleted) {
        return reply_error(error, deleted.error());
    }
    return sd_bus_reply_method_return(m, "t", static_cast<std::uint64_t>(*deleted));
}

int method_load_rules(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return start_load_job(*static_cast<Server*>(userdata), m, "", error);
}

int method_stats(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto& server = *static_cast<Server*>(userdata);
    return sd_bus_reply_method_return(m, "s", server.service().stats().c_str());
}

const sd_bus_vtable kManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_ARGS("ListPorts", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", ports),
                            method_list_ports, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("ListMatchers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(tso)", matchers),
                            method_list_matchers, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json), method_describe,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS(
        "DescribeRules", SD_BUS_ARGS("s", port, "t", matcher, "t", after, "u", limit),
        SD_BUS_RESULT("s", json), method_describe_rules, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("LoadRules", SD_BUS_ARGS("h", fd, "a{sv}", options),
                            SD_BUS_RESULT("o", job), method_load_rules, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("DeleteRules", SD_BUS_ARGS("at", ids), SD_BUS_NO_RESULT,
                            method_delete_rules, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("FlushRules", SD_BUS_ARGS("s", port), SD_BUS_RESULT("t", deleted),
                            method_flush_rules, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Stats", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json), method_stats,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Version", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", version), method_version,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

}  // namespace

int add_manager_object(sd_bus* bus, Server& server, std::vector<sd::Slot>& slots) {
    sd_bus_slot* slot = nullptr;
    const int r = sd_bus_add_object_vtable(bus, &slot, kManagerPath, kManagerInterface,
                                           kManagerVtable, &server);
    slots.emplace_back(slot);
    return r;
}

}  // namespace sgnic::bus
