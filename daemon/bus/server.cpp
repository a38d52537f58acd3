#include "bus/server.hpp"

#include <linux/capability.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

namespace sgnic::bus {

std::string port_path(const std::string& port) {
    char* raw = nullptr;
    if (sd_bus_path_encode(kPortPrefix, port.c_str(), &raw) < 0) {
        return {};
    }
    const sd::CString path(raw);
    return path.get();
}

std::optional<std::string> port_from_path(const char* path) {
    char* raw = nullptr;
    if (sd_bus_path_decode(path, kPortPrefix, &raw) <= 0 || raw == nullptr) {
        return std::nullopt;
    }
    const sd::CString name(raw);
    if (*name == '\0') {
        return std::nullopt;
    }
    return std::string(name.get());
}

std::string matcher_path(model::MatcherKey matcher) {
    return std::string(kMatcherPrefix) + "/" + std::to_string(matcher);
}

std::optional<model::MatcherKey> matcher_from_path(const char* path) {
    const std::string_view p(path);
    const std::string prefix = std::string(kMatcherPrefix) + "/";
    if (!p.starts_with(prefix)) {
        return std::nullopt;
    }
    const std::string_view digits = p.substr(prefix.size());
    model::MatcherKey key = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), key);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
        return std::nullopt;
    }
    return key;
}

bool has_net_admin(sd_bus_message* m) {
    sd_bus_creds* raw = nullptr;
    if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EFFECTIVE_CAPS | SD_BUS_CREDS_EUID, &raw) < 0) {
        return false;
    }
    const sd::Creds creds(raw);
    if (sd_bus_creds_has_effective_cap(creds.get(), CAP_NET_ADMIN) > 0) {
        return true;
    }
    uid_t euid = 0;
    return sd_bus_creds_get_euid(creds.get(), &euid) >= 0 && euid == 0;
}

std::uint32_t Server::sender_uid(sd_bus_message* m) {
    sd_bus_creds* raw = nullptr;
    if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &raw) < 0) {
        return UINT32_MAX;
    }
    const sd::Creds creds(raw);
    uid_t euid = 0;
    return sd_bus_creds_get_euid(creds.get(), &euid) >= 0 ? euid : UINT32_MAX;
}

int Server::authorize(sd_bus_message* m, sd_bus_error* error) {
    if (authorizer_(m)) {
        return 0;
    }
    return sd_bus_error_setf(error, kAccessDenied,
                             "%s needs CAP_NET_ADMIN; reading (Describe, properties) is open",
                             sd_bus_message_get_member(m));
}

int reply_error(sd_bus_error* error, const Error& e) {
    const std::string name = proto::dbus::error_name(e.code());
    return sd_bus_error_set(error, name.c_str(), e.message().c_str());
}

Expected<std::unique_ptr<Server>> Server::start(sd_bus* bus, service::Service& service,
                                                Authorizer authorizer) {
    auto server = std::make_unique<Server>(Token{}, bus, service, std::move(authorizer));
    int r = add_manager_object(bus, *server, server->slots_);
    if (r >= 0) {
        r = add_port_objects(bus, *server, server->slots_);
    }
    if (r >= 0) {
        r = add_matcher_objects(bus, *server, server->slots_);
    }
    server->jobs_ = std::make_unique<Jobs>(*server);
    if (r >= 0) {
        r = add_job_objects(bus, *server->jobs_, server->slots_);
    }
    if (r >= 0) {
        sd_bus_slot* slot = nullptr;
        r = sd_bus_add_object_manager(bus, &slot, kManagerPath);
        server->slots_.emplace_back(slot);
    }
    if (r < 0) {
        return Error(Errc::device, std::string("register D-Bus objects: ") + strerror(-r));
    }
    r = sd_bus_request_name(bus, kServiceName, 0);
    if (r < 0) {
        return Error(Errc::device,
                     std::string("take the name ") + kServiceName + ": " + strerror(-r));
    }
    service.set_listener(server.get());
    return server;
}

Server::~Server() {
    jobs_.reset();  // running jobs end, each with its Finished
    service_.set_listener(nullptr);
    (void)sd_bus_release_name(bus_, kServiceName);
}

void Server::matcher_changed(model::MatcherKey matcher) {
    const std::string path = matcher_path(matcher);
    const int r = sd_bus_emit_properties_changed(bus_, path.c_str(), kMatcherInterface, "RxSizeLog",
                                                 "TxSizeLog", "RxRules", "TxRules", "DevicePages",
                                                 "Rehashes", "Resizing", nullptr);
    if (r < 0) {
        spdlog::debug("PropertiesChanged on {}: {}", path, strerror(-r));
    }
}

void Server::matcher_added(model::MatcherKey matcher) {
    const std::string path = matcher_path(matcher);
    const int r = sd_bus_emit_interfaces_added(bus_, path.c_str(), kMatcherInterface, nullptr);
    if (r < 0) {
        spdlog::debug("InterfacesAdded on {}: {}", path, strerror(-r));
    }
}

// Named explicitly: the object may already be unresolvable when this runs.
void Server::matcher_removed(model::MatcherKey matcher) {
    const std::string path = matcher_path(matcher);
    const int r = sd_bus_emit_interfaces_removed(bus_, path.c_str(), kMatcherInterface, nullptr);
    if (r < 0) {
        spdlog::debug("InterfacesRemoved on {}: {}", path, strerror(-r));
    }
}

void Server::port_changed(const std::string& port) {
    const std::string path = port_path(port);
    const int r = sd_bus_emit_properties_changed(bus_, path.c_str(), kPortInterface, "Matchers",
                                                 "RxRules", "TxRules", "DevicePages", nullptr);
    if (r < 0) {
        spdlog::debug("PropertiesChanged on {}: {}", path, strerror(-r));
    }
}

void Server::rehashed(model::MatcherKey matcher, const policy::RehashReport& report) {
    const std::string path = matcher_path(matcher);
    const auto usec = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(report.duration).count());
    const int r = sd_bus_emit_signal(
        bus_, path.c_str(), kMatcherInterface, "Rehashed", "uuuutts",
        static_cast<std::uint32_t>(report.rx.from), static_cast<std::uint32_t>(report.rx.to),
        static_cast<std::uint32_t>(report.tx.from), static_cast<std::uint32_t>(report.tx.to), usec,
        static_cast<std::uint64_t>(report.rules_moved),
        std::string(policy::to_string(report.reason)).c_str());
    if (r < 0) {
        spdlog::debug("Rehashed on {}: {}", path, strerror(-r));
    }
    matcher_changed(matcher);
}

}  // namespace sgnic::bus
