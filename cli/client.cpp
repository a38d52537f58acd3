#include "cli/client.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include "sgnic/proto/dbus.hpp"

namespace sgnic::cli {

namespace {

using proto::dbus::kPortPrefix;
constexpr const char* kService = proto::dbus::kServiceName;
constexpr const char* kRoot = proto::dbus::kManagerPath;
constexpr const char* kManager = proto::dbus::kManagerInterface;
constexpr const char* kPort = proto::dbus::kPortInterface;
constexpr const char* kMatcher = proto::dbus::kMatcherInterface;
constexpr const char* kJob = proto::dbus::kJobInterface;
using proto::dbus::kJobPrefix;
// A big AddRules call takes a while in the daemon: far above the 25 s default.
constexpr std::uint64_t kCallTimeoutUsec = 300ULL * 1000 * 1000;

CallError from_errno(const char* what, int r) {
    CallError e{.name = "", .message = std::string(what) + ": " + strerror(-r)};
    return e;
}

CallError from_bus_error(const sd::Error& error, int r) {
    CallError e;
    e.name = error.name();
    e.message = error.message();
    if (e.name.empty()) {
        e.message = std::string("D-Bus call failed: ") + strerror(-r);
    }
    // Bus activation of sgnicd.service failing is "not running" too, with
    // the reason kept (describe_error adds it).
    e.activation_failed = e.name.starts_with("org.freedesktop.DBus.Error.Spawn.") ||
                          e.name.starts_with("org.freedesktop.systemd1.");
    e.not_running = e.name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
                    e.name == "org.freedesktop.DBus.Error.NameHasNoOwner" || e.activation_failed;
    e.denied = e.name == "org.freedesktop.DBus.Error.AccessDenied";
    e.unknown_method = e.name == "org.freedesktop.DBus.Error.UnknownMethod";
    return e;
}

int append_fields(sd_bus_message* m, std::span<const proto::FieldText> fields) {
    int r = sd_bus_message_open_container(m, 'a', "(ss)");
    for (const auto& f : fields) {
        if (r >= 0) {
            r = sd_bus_message_append(m, "(ss)", f.field.c_str(), f.text.c_str());
        }
    }
    return r < 0 ? r : sd_bus_message_close_container(m);
}

int append_rule(sd_bus_message* m, const RuleText& rule) {
    int r = sd_bus_message_open_container(m, 'r', "osa(ss)as");
    if (r >= 0) {
        r = sd_bus_message_append(m, "os", matcher_object(rule.matcher).c_str(),
                                  rule.directions.c_str());
    }
    if (r >= 0) {
        r = append_fields(m, rule.match);
    }
    if (r >= 0) {
        r = sd_bus_message_open_container(m, 'a', "s");
    }
    for (const auto& a : rule.actions) {
        if (r >= 0) {
            r = sd_bus_message_append(m, "s", a.c_str());
        }
    }
    if (r >= 0) {
        r = sd_bus_message_close_container(m);
    }
    return r < 0 ? r : sd_bus_message_close_container(m);
}

Outcome<std::vector<std::uint64_t>> read_ids(Outcome<sd::Message> reply) {
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    const void* data = nullptr;
    std::size_t size = 0;
    const int r = sd_bus_message_read_array(std::get<sd::Message>(reply).get(), 't', &data, &size);
    if (r < 0) {
        return from_errno("read the rule ids", r);
    }
    std::vector<std::uint64_t> ids(size / sizeof(std::uint64_t));
    if (!ids.empty()) {
        std::memcpy(ids.data(), data, ids.size() * sizeof(std::uint64_t));
    }
    return ids;
}

}  // namespace

std::string port_object(const std::string& port) {
    char* raw = nullptr;
    if (sd_bus_path_encode(kPortPrefix, port.c_str(), &raw) < 0) {
        return {};
    }
    const sd::CString path(raw);
    return path.get();
}

std::string matcher_object(std::uint64_t id) {
    return std::string(proto::dbus::kMatcherPrefix) + "/" + std::to_string(id);
}

std::uint64_t matcher_id_of(std::string_view path) {
    const std::string prefix = std::string(proto::dbus::kMatcherPrefix) + "/";
    if (!path.starts_with(prefix)) {
        return 0;
    }
    const std::string_view digits = path.substr(prefix.size());
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    return ec == std::errc() && end == digits.data() + digits.size() ? id : 0;
}

std::string describe_error(const CallError& e) {
    if (e.activation_failed) {
        return "sgnicd is not running and could not be started: " + e.message;
    }
    if (e.not_running) {
        return std::string("sgnicd is not running (") + kService +
               " has no owner on the system bus)";
    }
    return e.message.empty() ? e.name : e.message;
}

Outcome<Client> Client::open() {
    sd_bus* raw = nullptr;
    const int r = sd_bus_open_system(&raw);
    sd::Bus bus(raw);
    if (r < 0) {
        CallError e = from_errno("cannot connect to the system bus", r);
        e.not_running = false;
        e.message = "cannot connect to the system bus (" + std::string(strerror(-r)) +
                    "): is D-Bus running?";
        return e;
    }
    return Client(std::move(bus));
}

template <typename Fill>
Outcome<sd::Message> Client::call(const std::string& path, const char* iface, const char* member,
                                  Fill fill) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_.get(), &raw, kService, path.c_str(), iface, member);
    if (r < 0) {
        return from_errno(member, r);
    }
    const sd::Message m(raw);
    r = fill(m.get());
    if (r < 0) {
        return from_errno(member, r);
    }
    sd::Error error;
    sd_bus_message* reply = nullptr;
    r = sd_bus_call(bus_.get(), m.get(), kCallTimeoutUsec, error.get(), &reply);
    sd::Message owned(reply);
    if (r < 0) {
        CallError e = from_bus_error(error, r);
        // A fallback vtable that finds no object: say which one.
        if (e.name == "org.freedesktop.DBus.Error.UnknownObject" ||
            e.name == "org.freedesktop.DBus.Error.UnknownMethod") {
            if (std::string_view(iface) == kPort) {
                char* name = nullptr;
                if (sd_bus_path_decode(path.c_str(), kPortPrefix, &name) > 0) {
                    const sd::CString n(name);
                    e.message = "no sgnic port '" + std::string(n.get()) + "'";
                }
            } else if (std::string_view(iface) == kMatcher) {
                e.message = "no matcher " + std::to_string(matcher_id_of(path));
            }
        }
        return e;
    }
    return owned;
}

Outcome<std::string> Client::call_string(const std::string& path, const char* iface,
                                         const char* member) {
    auto reply = call(path, iface, member, [](sd_bus_message* /*m*/) { return 0; });
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    const char* s = nullptr;
    const int r = sd_bus_message_read(std::get<sd::Message>(reply).get(), "s", &s);
    if (r < 0) {
        return from_errno(member, r);
    }
    return std::string(s);
}

Outcome<std::string> Client::version() { return call_string(kRoot, kManager, "Version"); }
Outcome<std::string> Client::describe() { return call_string(kRoot, kManager, "Describe"); }
Outcome<std::string> Client::stats() { return call_string(kRoot, kManager, "Stats"); }

Outcome<std::string> Client::describe_port(const std::string& port) {
    return call_string(port_object(port), kPort, "Describe");
}

Outcome<std::string> Client::describe_matcher(std::uint64_t id) {
    return call_string(matcher_object(id), kMatcher, "Describe");
}

Outcome<std::string> Client::describe_rules(const std::string& port, std::uint64_t matcher,
                                            std::uint64_t after, std::uint32_t limit) {
    auto reply = call(kRoot, kManager, "DescribeRules", [&](sd_bus_message* m) {
        return sd_bus_message_append(m, "sttu", port.c_str(), matcher, after, limit);
    });
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    const char* s = nullptr;
    const int r = sd_bus_message_read(std::get<sd::Message>(reply).get(), "s", &s);
    if (r < 0) {
        return from_errno("DescribeRules", r);
    }
    return std::string(s);
}

Outcome<std::vector<std::string>> Client::list_ports() {
    auto reply = call(kRoot, kManager, "ListPorts", [](sd_bus_message* /*m*/) { return 0; });
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    sd_bus_message* m = std::get<sd::Message>(reply).get();
    std::vector<std::string> out;
    int r = sd_bus_message_enter_container(m, 'a', "(so)");
    const char* name = nullptr;
    const char* path = nullptr;
    while (r >= 0 && (r = sd_bus_message_read(m, "(so)", &name, &path)) > 0) {
        out.emplace_back(name);
    }
    if (r < 0) {
        return from_errno("ListPorts", r);
    }
    return out;
}

Outcome<std::vector<MatcherRef>> Client::list_matchers() {
    auto reply = call(kRoot, kManager, "ListMatchers", [](sd_bus_message* /*m*/) { return 0; });
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    sd_bus_message* m = std::get<sd::Message>(reply).get();
    std::vector<MatcherRef> out;
    int r = sd_bus_message_enter_container(m, 'a', "(tso)");
    std::uint64_t id = 0;
    const char* port = nullptr;
    const char* path = nullptr;
    while (r >= 0 && (r = sd_bus_message_read(m, "(tso)", &id, &port, &path)) > 0) {
        out.push_back({id, port});
    }
    if (r < 0) {
        return from_errno("ListMatchers", r);
    }
    return out;
}

Outcome<std::uint64_t> Client::create_matcher(const std::string& port, std::uint32_t priority,
                                              std::span<const proto::FieldText> fields) {
    auto reply = call(port_object(port), kPort, "CreateMatcher", [&](sd_bus_message* m) {
        const int r = sd_bus_message_append(m, "u", priority);
        return r < 0 ? r : append_fields(m, fields);
    });
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    const char* path = nullptr;
    const int r = sd_bus_message_read(std::get<sd::Message>(reply).get(), "o", &path);
    if (r < 0) {
        return from_errno("CreateMatcher", r);
    }
    return matcher_id_of(path);
}

Outcome<bool> Client::delete_matcher(std::uint64_t id) {
    auto reply =
        call(matcher_object(id), kMatcher, "Delete", [](sd_bus_message* /*m*/) { return 0; });
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    return true;
}

Outcome<std::vector<std::uint64_t>> Client::add_rules(const std::string& port,
                                                      std::span<const RuleText> rules) {
    return read_ids(call(port_object(port), kPort, "AddRules", [&](sd_bus_message* m) {
        int r = sd_bus_message_open_container(m, 'a', "(osa(ss)as)");
        for (const RuleText& rule : rules) {
            if (r >= 0) {
                r = append_rule(m, rule);
            }
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
    }));
}

Outcome<std::vector<std::uint64_t>> Client::add_rules(const std::string& port,
                                                      std::span<const LoadItem> rules) {
    return read_ids(call(port_object(port), kPort, "AddRules", [&](sd_bus_message* m) {
        int r = sd_bus_message_open_container(m, 'a', "(osa(ss)as)");
        for (const LoadItem& item : rules) {
            if (r >= 0) {
                r = append_rule(m, item.rule);
            }
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
    }));
}

Outcome<bool> Client::delete_rules(std::span<const std::uint64_t> ids) {
    auto reply = call(kRoot, kManager, "DeleteRules", [&](sd_bus_message* m) {
        return sd_bus_message_append_array(m, 't', ids.data(), ids.size() * sizeof(std::uint64_t));
    });
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    return true;
}

Outcome<std::uint64_t> Client::flush_rules(const std::string& port) {
    auto reply = call(kRoot, kManager, "FlushRules", [&](sd_bus_message* m) {
        return sd_bus_message_append(m, "s", port.c_str());
    });
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    std::uint64_t deleted = 0;
    if (const int r = sd_bus_message_read(std::get<sd::Message>(reply).get(), "t", &deleted);
        r < 0) {
        return from_errno("FlushRules", r);
    }
    return deleted;
}

namespace {

// LoadRules' arguments: the descriptor and the options a{sv}.
int append_load(sd_bus_message* m, int fd, std::uint64_t rules, std::uint32_t chunk,
                const RuleCounts& per_matcher) {
    int r = sd_bus_message_append(m, "h", fd);
    if (r >= 0) {
        r = sd_bus_message_open_container(m, 'a', "{sv}");
    }
    if (r >= 0) {
        r = sd_bus_message_append(m, "{sv}{sv}", "rules", "t", rules, "chunk", "u", chunk);
    }
    if (r >= 0 && !per_matcher.empty()) {
        r = sd_bus_message_open_container(m, 'e', "sv");
        r = r < 0 ? r : sd_bus_message_append(m, "s", "matchers");
        r = r < 0 ? r : sd_bus_message_open_container(m, 'v', "a(ttt)");
        r = r < 0 ? r : sd_bus_message_open_container(m, 'a', "(ttt)");
        for (auto it = per_matcher.begin(); r >= 0 && it != per_matcher.end(); ++it) {
            r = sd_bus_message_append(m, "(ttt)", it->first, it->second.first, it->second.second);
        }
        for (int open = 3; r >= 0 && open > 0; --open) {
            r = sd_bus_message_close_container(m);
        }
    }
    return r < 0 ? r : sd_bus_message_close_container(m);
}

// What sgnicctl hears of its load job while it waits.
struct JobWatch {
    std::string path;  // known once LoadRules answered
    const std::function<void(std::uint64_t)>* progress = nullptr;
    std::map<std::string, JobOutcome> finished;  // by job path: signals may come first
    std::uint64_t loaded = 0;                    // as last announced
    bool daemon_gone = false;
    int error = 0;
};

int on_job_finished(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto& w = *static_cast<JobWatch*>(userdata);
    JobOutcome out;
    int r = sd_bus_message_read(m, "t", &out.loaded);
    if (r >= 0) {
        r = sd_bus_message_enter_container(m, 'a', "(tss)");
    }
    std::uint64_t index = 0;
    const char* text = nullptr;
    const char* reason = nullptr;
    while (r >= 0 && (r = sd_bus_message_read(m, "(tss)", &index, &text, &reason)) > 0) {
        out.failures.emplace_back(index, reason);
    }
    if (r >= 0) {
        r = sd_bus_message_exit_container(m);
    }
    const char* error = nullptr;
    if (r >= 0) {
        r = sd_bus_message_read(m, "s", &error);
    }
    if (r < 0) {
        w.error = r;
        return 0;
    }
    out.error = error;
    w.finished[sd_bus_message_get_path(m)] = std::move(out);
    return 0;
}

int on_job_changed(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto& w = *static_cast<JobWatch*>(userdata);
    if (w.path != sd_bus_message_get_path(m)) {
        return 0;
    }
    const char* iface = nullptr;
    if (sd_bus_message_read(m, "s", &iface) < 0 ||
        sd_bus_message_enter_container(m, 'a', "{sv}") < 0) {
        return 0;
    }
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
        const char* name = nullptr;
        if (sd_bus_message_read(m, "s", &name) < 0) {
            return 0;
        }
        const std::string_view n(name);
        if (n == "Progress") {
            std::uint64_t settled = 0;
            std::uint64_t total = 0;
            if (sd_bus_message_read(m, "v", "(tt)", &settled, &total) >= 0) {
                (*w.progress)(settled);
            }
        } else if (n == "Loaded") {
            (void)sd_bus_message_read(m, "v", "t", &w.loaded);
        } else {
            (void)sd_bus_message_skip(m, "v");
        }
        (void)sd_bus_message_exit_container(m);
    }
    return 0;
}

int on_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto& w = *static_cast<JobWatch*>(userdata);
    const char* name = nullptr;
    const char* old_owner = nullptr;
    const char* new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) >= 0 && *new_owner == '\0') {
        w.daemon_gone = true;
    }
    return 0;
}

}  // namespace

Outcome<JobOutcome> Client::load_rules(const std::string& port, int fd, std::uint64_t rules,
                                       std::uint32_t chunk, const RuleCounts& per_matcher,
                                       const std::function<void(std::uint64_t)>& progress) {
    JobWatch w;
    w.progress = &progress;
    // Subscribed before the call: the job may finish before its path is read.
    const std::string service = std::string("sender='") + kService + "',";
    const std::string finished = "type='signal'," + service + "interface='" + kJob +
                                 "',member='Finished',path_namespace='" + kJobPrefix + "'";
    const std::string changed = "type='signal'," + service +
                                "interface='org.freedesktop.DBus.Properties',member='"
                                "PropertiesChanged',path_namespace='" +
                                kJobPrefix + "'";
    const std::string owner = std::string(
                                  "type='signal',sender='org.freedesktop.DBus',interface='org."
                                  "freedesktop.DBus',member='NameOwnerChanged',arg0='") +
                              kService + "'";
    std::array<sd_bus_slot*, 3> raw{};
    int r = sd_bus_add_match(bus_.get(), &raw[0], finished.c_str(), on_job_finished, &w);
    const sd::Slot finished_slot(raw[0]);
    if (r >= 0) {
        r = sd_bus_add_match(bus_.get(), &raw[1], changed.c_str(), on_job_changed, &w);
    }
    const sd::Slot changed_slot(raw[1]);
    if (r >= 0) {
        r = sd_bus_add_match(bus_.get(), &raw[2], owner.c_str(), on_owner_changed, &w);
    }
    const sd::Slot owner_slot(raw[2]);
    if (r < 0) {
        return from_errno("LoadRules: subscribe to the job's signals", r);
    }
    const bool lines = port.empty();
    auto reply =
        call(lines ? kRoot : port_object(port), lines ? kManager : kPort, "LoadRules",
             [&](sd_bus_message* m) { return append_load(m, fd, rules, chunk, per_matcher); });
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    const char* path = nullptr;
    r = sd_bus_message_read(std::get<sd::Message>(reply).get(), "o", &path);
    if (r < 0) {
        return from_errno("LoadRules", r);
    }
    w.path = path;
    for (;;) {
        if (const auto it = w.finished.find(w.path); it != w.finished.end()) {
            return std::move(it->second);
        }
        if (w.error < 0) {
            return from_errno("LoadRules: read the job's Finished", w.error);
        }
        if (w.daemon_gone) {
            // What went in before is unknown beyond the last progress.
            return JobOutcome{
                .loaded = w.loaded, .failures = {}, .error = "sgnicd went away during the load"};
        }
        r = sd_bus_process(bus_.get(), nullptr);
        if (r < 0) {
            return from_errno("LoadRules: wait for the job", r);
        }
        if (r == 0) {
            r = sd_bus_wait(bus_.get(), UINT64_MAX);
            if (r < 0 && r != -EINTR) {
                return from_errno("LoadRules: wait for the job", r);
            }
        }
    }
}

Outcome<bool> Client::reserve(std::uint64_t matcher, std::uint64_t rx, std::uint64_t tx) {
    auto reply = call(matcher_object(matcher), kMatcher, "Reserve",
                      [&](sd_bus_message* m) { return sd_bus_message_append(m, "tt", rx, tx); });
    if (auto* e = std::get_if<CallError>(&reply)) {
        return *e;
    }
    int resized = 0;
    if (const int r = sd_bus_message_read(std::get<sd::Message>(reply).get(), "b", &resized);
        r < 0) {
        return from_errno("Reserve", r);
    }
    return resized != 0;
}

}  // namespace sgnic::cli
