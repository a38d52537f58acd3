// org.sgnic.Steering1 on a bus: the manager object, one object per port and
// one per matcher (proto/org.sgnic.Steering1.xml).  One vtable per object
// kind, each in its own file (manager.cpp, port.cpp, matcher.cpp), as
// systemd-networkd does; this class holds the slots and emits signals.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/job.hpp"
#include "service/service.hpp"
#include "sgnic/proto/dbus.hpp"
#include "sgnic/proto/result.hpp"
#include "sgnic/proto/sd.hpp"

namespace sgnic::bus {

using proto::dbus::kJobInterface;
using proto::dbus::kJobPrefix;
using proto::dbus::kManagerInterface;
using proto::dbus::kManagerPath;
using proto::dbus::kMatcherInterface;
using proto::dbus::kMatcherPrefix;
using proto::dbus::kPortInterface;
using proto::dbus::kPortPrefix;
using proto::dbus::kServiceName;
inline constexpr const char* kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";

std::string port_path(const std::string& port);
std::optional<std::string> port_from_path(const char* path);
std::string matcher_path(model::MatcherKey matcher);
std::optional<model::MatcherKey> matcher_from_path(const char* path);

// May the sender of this message change steering state?
using Authorizer = std::function<bool(sd_bus_message*)>;
// CAP_NET_ADMIN in the sender's effective set, or euid 0.
bool has_net_admin(sd_bus_message* m);

class Server final : public service::ServiceListener {
public:
    // Registers the objects on `bus` and takes the well-known name.
    static Expected<std::unique_ptr<Server>> start(sd_bus* bus, service::Service& service,
                                                   Authorizer authorizer = has_net_admin);
    ~Server() override;
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    Server(Server&&) = delete;
    Server& operator=(Server&&) = delete;

    service::Service& service() { return service_; }
    sd_bus* bus() { return bus_; }
    Jobs& jobs() { return *jobs_; }

    // For method handlers: 0 when the sender may change state; otherwise
    // fills `error` with AccessDenied (naming the method) and returns its
    // negative errno.
    int authorize(sd_bus_message* m, sd_bus_error* error);
    static std::uint32_t sender_uid(sd_bus_message* m);

    void matcher_changed(model::MatcherKey matcher) override;
    void matcher_added(model::MatcherKey matcher) override;
    void matcher_removed(model::MatcherKey matcher) override;
    void port_changed(const std::string& port) override;
    void rehashed(model::MatcherKey matcher, const policy::RehashReport& report) override;

private:
    struct Token {
        explicit Token() = default;
    };

public:
    Server(Token /*only start()*/, sd_bus* bus, service::Service& service, Authorizer authorizer)
        : bus_(bus), service_(service), authorizer_(std::move(authorizer)) {}

private:
    sd_bus* bus_;
    service::Service& service_;
    Authorizer authorizer_;
    std::vector<sd::Slot> slots_;
    std::unique_ptr<Jobs> jobs_;
};

// Replies to a failed call with proto::dbus::error_name(e.code()).
int reply_error(sd_bus_error* error, const Error& e);

// Each object kind's registration, in its own file.
int add_manager_object(sd_bus* bus, Server& server, std::vector<sd::Slot>& slots);
int add_port_objects(sd_bus* bus, Server& server, std::vector<sd::Slot>& slots);
int add_matcher_objects(sd_bus* bus, Server& server, std::vector<sd::Slot>& slots);

}  // namespace sgnic::bus
