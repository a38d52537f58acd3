// org.sgnic.Steering1 end to end on a private dbus-daemon the test owns: the
// service runs with a fake device in a thread of this process, a client
// connection calls it as sgnicctl would.  No VM, no kernel module.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "bus/server.hpp"
#include "fake_kernel.hpp"
#include "policy_fake_device.hpp"
#include "private_bus.hpp"
#include "service/service.hpp"
#include "sgnic/proto/load.hpp"
#include "sgnic/proto/sd.hpp"
#include "sgnic/proto/unique_fd.hpp"
#include "sgnic/proto/version.hpp"

namespace sgnic::bus {
namespace {

using policy::testing::FakeDevice;
using service::testing::FakeKernel;
using testing::connect;
using testing::PrivateBus;
using testing::ServiceThread;

struct Rule {
    std::string matcher;
    std::string directions;
    std::vector<std::pair<std::string, std::string>> match;
    std::vector<std::string> actions;
};

struct Reply {
    sd::Message message;
    std::string error_name;
    std::string error_message;
    bool ok() const { return error_name.empty(); }
};

class SteeringBus : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(dbus_.address().empty()) << "dbus-daemon did not start";
        service_.emplace(device_, kernel_, kernel_, std::nullopt, model::DesiredState{},
                         policy::PolicyConfig{});
        ASSERT_TRUE(service_->reconcile());
        served_.emplace(dbus_.address(), *service_, [this](sd_bus_message* m) {
            return real_check_ ? has_net_admin(m) : allow_.load();
        });
        ASSERT_TRUE(served_->started()) << "the service did not come up";
        client_ = connect(dbus_.address());
    }

    void TearDown() override {
        job_match_.reset();
        client_.reset();
        served_.reset();
    }

    Reply finish(sd_bus_message* call) {
        sd::Message m(call);
        sd::Error error;
        sd_bus_message* reply = nullptr;
        sd_bus_call(client_.get(), m.get(), 0, error.get(), &reply);
        return {sd::Message(reply), error.name(), error.message()};
    }

    sd_bus_message* method(const std::string& path, const char* iface, const char* member) {
        sd_bus_message* m = nullptr;
        EXPECT_GE(sd_bus_message_new_method_call(client_.get(), &m, kServiceName, path.c_str(),
                                                 iface, member),
                  0);
        return m;
    }

    Reply call0(const std::string& path, const char* iface, const char* member) {
        return finish(method(path, iface, member));
    }

    Reply create_matcher(const std::string& port, std::uint32_t priority,
                         const std::vector<std::pair<std::string, std::string>>& fields) {
        sd_bus_message* m = method(port_path(port), kPortInterface, "CreateMatcher");
        sd_bus_message_append(m, "u", priority);
        sd_bus_message_open_container(m, 'a', "(ss)");
        for (const auto& [f, t] : fields) {
            sd_bus_message_append(m, "(ss)", f.c_str(), t.c_str());
        }
        sd_bus_message_close_container(m);
        return finish(m);
    }

    std::string matcher_of(Reply& r) {
        const char* path = nullptr;
        EXPECT_GE(sd_bus_message_read(r.message.get(), "o", &path), 0);
        return path != nullptr ? path : "";
    }

    Reply add_rules(const std::string& port, const std::vector<Rule>& rules) {
        sd_bus_message* m = method(port_path(port), kPortInterface, "AddRules");
        sd_bus_message_open_container(m, 'a', "(osa(ss)as)");
        for (const Rule& r : rules) {
            sd_bus_message_open_container(m, 'r', "osa(ss)as");
            sd_bus_message_append(m, "os", r.matcher.c_str(), r.directions.c_str());
            sd_bus_message_open_container(m, 'a', "(ss)");
            for (const auto& [f, v] : r.match) {
                sd_bus_message_append(m, "(ss)", f.c_str(), v.c_str());
            }
            sd_bus_message_close_container(m);
            sd_bus_message_open_container(m, 'a', "s");
            for (const auto& a : r.actions) {
                sd_bus_message_append(m, "s", a.c_str());
            }
            sd_bus_message_close_container(m);
            sd_bus_message_close_container(m);
        }
        sd_bus_message_close_container(m);
        return finish(m);
    }

    std::vector<std::uint64_t> ids_of(Reply& r) {
        const void* data = nullptr;
        std::size_t size = 0;
        EXPECT_GE(sd_bus_message_read_array(r.message.get(), 't', &data, &size), 0);
        std::vector<std::uint64_t> ids(size / sizeof(std::uint64_t));
        std::memcpy(ids.data(), data, size);
        return ids;
    }

    Reply delete_rules(const std::string& port, const std::vector<std::uint64_t>& ids) {
        sd_bus_message* m = method(port_path(port), kPortInterface, "DeleteRules");
        sd_bus_message_append_array(m, 't', ids.data(), ids.size() * sizeof(std::uint64_t));
        return finish(m);
    }

    std::uint64_t property(const std::string& path, const char* iface, const char* name,
                           char type) {
        sd::Error error;
        if (type == 'u') {
            std::uint32_t v = 0;
            EXPECT_GE(sd_bus_get_property_trivial(client_.get(), kServiceName, path.c_str(), iface,
                                                  name, error.get(), type, &v),
                      0)
                << error.message();
            return v;
        }
        std::uint64_t v = 0;
        EXPECT_GE(sd_bus_get_property_trivial(client_.get(), kServiceName, path.c_str(), iface,
                                              name, error.get(), type, &v),
                  0)
            << error.message();
        return v;
    }

    std::string introspect(const std::string& path) {
        Reply r = call0(path, "org.freedesktop.DBus.Introspectable", "Introspect");
        const char* xml = nullptr;
        EXPECT_TRUE(r.ok()) << r.error_message;
        EXPECT_GE(sd_bus_message_read(r.message.get(), "s", &xml), 0);
        return xml != nullptr ? xml : "";
    }

    // A sealed memfd holding `text`, as sgnicctl hands its records over.
    static UniqueFd memfd(const std::string& text) {
        UniqueFd fd(memfd_create("bus-test-records", MFD_CLOEXEC | MFD_ALLOW_SEALING));
        EXPECT_TRUE(fd);
        EXPECT_EQ(write(fd.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
        EXPECT_EQ(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0);
        return fd;
    }

    // LoadRules on `path` (a port's, or the manager's) with the options
    // `fill` appends inside a{sv}.
    template <typename Fill>
    Reply load_rules_at(const std::string& path, const char* iface, int fd, Fill fill,
                        sd_bus* bus) {
        sd_bus_message* m = nullptr;
        EXPECT_GE(sd_bus_message_new_method_call(bus != nullptr ? bus : client_.get(), &m,
                                                 kServiceName, path.c_str(), iface, "LoadRules"),
                  0);
        sd::Message call(m);
        sd_bus_message_append(m, "h", fd);
        sd_bus_message_open_container(m, 'a', "{sv}");
        fill(m);
        sd_bus_message_close_container(m);
        sd::Error error;
        sd_bus_message* reply = nullptr;
        sd_bus_call(bus != nullptr ? bus : client_.get(), m, 0, error.get(), &reply);
        return {sd::Message(reply), error.name(), error.message()};
    }

    // Port.LoadRules with the options `fill` appends inside a{sv}.
    template <typename Fill>
    Reply load_rules_with(const std::string& port, int fd, Fill fill, sd_bus* bus = nullptr) {
        return load_rules_at(port_path(port), kPortInterface, fd, fill, bus);
    }

    // Manager.LoadRules (rule lines, each to its matcher's port) with the
    // options `fill` appends inside a{sv}.
    template <typename Fill>
    Reply manager_load_rules_with(int fd, Fill fill) {
        return load_rules_at(kManagerPath, kManagerInterface, fd, fill, nullptr);
    }

    Reply manager_load_rules(int fd, std::uint32_t chunk) {
        return manager_load_rules_with(
            fd, [&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "chunk", "u", chunk); });
    }

    Reply load_rules(const std::string& port, int fd, std::uint64_t rules, std::uint32_t chunk) {
        return load_rules_with(port, fd, [&](sd_bus_message* m) {
            sd_bus_message_append(m, "{sv}", "rules", "t", rules);
            sd_bus_message_append(m, "{sv}", "chunk", "u", chunk);
        });
    }

    struct Finished {
        std::uint64_t loaded = 0;
        std::vector<std::tuple<std::uint64_t, std::string, std::string>> failures;
        std::string error;
        bool seen = false;
    };

    // Every job's Finished the client hears, by path: subscribed before
    // the call, since a small job ends before its path is read.
    void watch_jobs() {
        sd_bus_slot* slot = nullptr;
        const std::string match =
            std::string("type='signal',interface='") + kJobInterface + "',member='Finished'";
        ASSERT_GE(sd_bus_add_match(
                      client_.get(), &slot, match.c_str(),
                      [](sd_bus_message* m, void* userdata, sd_bus_error* /*e*/) {
                          auto& seen = *static_cast<std::map<std::string, Finished>*>(userdata);
                          Finished f;
                          f.seen = true;
                          sd_bus_message_read(m, "t", &f.loaded);
                          sd_bus_message_enter_container(m, 'a', "(tss)");
                          std::uint64_t index = 0;
                          const char* text = nullptr;
                          const char* reason = nullptr;
                          while (sd_bus_message_read(m, "(tss)", &index, &text, &reason) > 0) {
                              f.failures.emplace_back(index, text, reason);
                          }
                          sd_bus_message_exit_container(m);
                          const char* error = nullptr;
                          sd_bus_message_read(m, "s", &error);
                          f.error = error != nullptr ? error : "?";
                          seen[sd_bus_message_get_path(m)] = f;
                          return 0;
                      },
                      &finished_),
                  0);
        job_match_.reset(slot);
    }

    Finished wait_finished(const std::string& job) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!finished_.contains(job) && std::chrono::steady_clock::now() < until) {
            if (sd_bus_process(client_.get(), nullptr) > 0) {
                continue;
            }
            sd_bus_wait(client_.get(), 100000);
        }
        EXPECT_TRUE(finished_.contains(job)) << "no Finished from " << job;
        return finished_[job];
    }

    // A job's Progress: (settled, total).
    std::pair<std::uint64_t, std::uint64_t> progress_of(const std::string& job) {
        sd::Error error;
        sd_bus_message* raw = nullptr;
        EXPECT_GE(sd_bus_get_property(client_.get(), kServiceName, job.c_str(), kJobInterface,
                                      "Progress", error.get(), &raw, "(tt)"),
                  0)
            << error.message();
        const sd::Message progress(raw);
        std::uint64_t settled = 0;
        std::uint64_t total = 0;
        EXPECT_GE(sd_bus_message_read(progress.get(), "(tt)", &settled, &total), 0);
        return {settled, total};
    }

    // A job's Port.
    std::string port_of_job(const std::string& job) {
        sd::Error error;
        char* port = nullptr;
        EXPECT_GE(sd_bus_get_property_string(client_.get(), kServiceName, job.c_str(),
                                             kJobInterface, "Port", error.get(), &port),
                  0)
            << error.message();
        const sd::CString owned(port);
        return port != nullptr ? port : "?";
    }

    // The rules of `port` as DescribeRules lists them, one
    // "<matcher> <directions> <first value> <actions...>" each.
    std::vector<std::string> rules_on(const std::string& port) {
        sd_bus_message* d = method(kManagerPath, kManagerInterface, "DescribeRules");
        sd_bus_message_append(d, "sttu", port.c_str(), std::uint64_t{0}, std::uint64_t{0}, 0U);
        Reply described = finish(d);
        EXPECT_TRUE(described.ok()) << described.error_message;
        const char* json = nullptr;
        EXPECT_GE(sd_bus_message_read(described.message.get(), "s", &json), 0);
        const auto doc = nlohmann::json::parse(json != nullptr ? json : "{}");
        std::vector<std::string> out;
        for (const auto& rule : doc["rules"]) {
            std::string line = std::to_string(rule["matcher"].get<std::uint64_t>()) + " " +
                               rule["directions"].get<std::string>() + " " +
                               rule["match"][0]["value"].get<std::string>();
            for (const auto& action : rule["actions"]) {
                line += " " + action.get<std::string>();
            }
            out.push_back(line);
        }
        return out;
    }

    // Lines joined by newlines (none after the last).
    static std::string lines(const std::vector<std::string>& each) {
        std::string out;
        for (std::size_t i = 0; i < each.size(); ++i) {
            out += (i > 0 ? "\n" : "") + each[i];
        }
        return out;
    }

    // The id at the end of a matcher's path.
    static std::string id_of(const std::string& matcher) {
        return matcher.substr(matcher.rfind('/') + 1);
    }

    static std::string job_of(Reply& r) {
        const char* path = nullptr;
        EXPECT_GE(sd_bus_message_read(r.message.get(), "o", &path), 0);
        return path != nullptr ? path : "";
    }

    // n rules of an l4-dport matcher: "<id>\trx\tl4-dport=<i>\tdrop".
    static std::string records(const std::string& matcher, int n, int first = 1) {
        const std::string id = matcher.substr(matcher.rfind('/') + 1);
        std::string out;
        for (int i = first; i < first + n; ++i) {
            out += id + "\trx\tl4-dport=" + std::to_string(i) + "\tdrop\n";
        }
        return out;
    }

    // The records of a job that is still running when the test acts on it:
    // kSlowRules rules for a new l4-dport matcher on sg0, to be loaded with
    // chunk 1 (a batch per rule); watches jobs.
    static constexpr int kSlowRules = 20000;
    UniqueFd slow_job_records() {
        Reply m = create_matcher("sg0", 0, {{"l4-dport", "0xffff"}});
        EXPECT_TRUE(m.ok()) << m.error_message;
        watch_jobs();
        return memfd(records(matcher_of(m), kSlowRules));
    }

    PrivateBus dbus_;
    FakeDevice device_;
    FakeKernel kernel_{device_};
    std::optional<service::Service> service_;
    std::atomic<bool> allow_{true};
    std::atomic<bool> real_check_{false};
    std::map<std::string, Finished> finished_;
    sd::Slot job_match_;
    std::optional<ServiceThread> served_;
    sd::Bus client_;
};

struct Tag {
    bool closing = false;
    std::string kind;
    std::map<std::string, std::string> attrs;
};

// The tags of an XML text, comments skipped.  Enough for introspection data
// (no std::regex: GCC 12 warns inside it under the sanitizers).
std::vector<Tag> tags(const std::string& xml) {
    std::vector<Tag> out;
    std::size_t pos = 0;
    while ((pos = xml.find('<', pos)) != std::string::npos) {
        if (xml.compare(pos, 4, "<!--") == 0) {
            pos = xml.find("-->", pos);
            continue;
        }
        const std::size_t end = xml.find('>', pos);
        if (end == std::string::npos) {
            break;
        }
        std::string body = xml.substr(pos + 1, end - pos - 1);
        pos = end;
        Tag t;
        if (body.starts_with('/')) {
            t.closing = true;
            body.erase(0, 1);
        }
        std::size_t i = body.find_first_of(" \t\n/");
        t.kind = body.substr(0, i);
        while (i != std::string::npos && (i = body.find('=', i)) != std::string::npos) {
            const std::size_t name_start = body.find_last_of(" \t\n", i) + 1;
            const std::size_t value_end = body.find('"', i + 2);
            t.attrs[body.substr(name_start, i - name_start)] =
                body.substr(i + 2, value_end - i - 2);
            i = value_end + 1;
        }
        out.push_back(std::move(t));
    }
    return out;
}

// One line per member (method, signal, property) with its args in order;
// annotations and comments dropped; members sorted.
std::map<std::string, std::vector<std::string>> interfaces(const std::string& xml) {
    std::map<std::string, std::vector<std::string>> out;
    std::string iface;
    std::string member;
    auto flush = [&] {
        if (!iface.empty() && !member.empty()) {
            out[iface].push_back(member);
        }
        member.clear();
    };
    for (Tag& t : tags(xml)) {
        if (t.kind == "interface") {
            flush();
            iface = !t.closing && t.attrs["name"].starts_with("org.sgnic.") ? t.attrs["name"] : "";
            continue;
        }
        if (t.closing ||
            (t.kind != "method" && t.kind != "signal" && t.kind != "property" && t.kind != "arg")) {
            continue;
        }
        if (t.kind != "arg") {
            flush();
            member = t.kind + " " + t.attrs["name"];
            if (t.kind == "property") {
                member += " " + t.attrs["type"] + " " + t.attrs["access"];
            }
            continue;
        }
        member += " | " + t.attrs["direction"] + " " + t.attrs["type"] + " " + t.attrs["name"];
    }
    flush();
    for (auto& [name, members] : out) {
        std::sort(members.begin(), members.end());
    }
    return out;
}

TEST_F(SteeringBus, live_introspection_matches_the_interface_file) {
    Reply m = create_matcher("sg0", 0, {{"ip-proto", "0xff"}});
    ASSERT_TRUE(m.ok()) << m.error_message;
    const std::string matcher = matcher_of(m);

    std::ifstream in(std::string(SGNIC_PROTO_DIR) + "/org.sgnic.Steering1.xml");
    ASSERT_TRUE(in) << "proto/org.sgnic.Steering1.xml";
    std::stringstream file;
    file << in.rdbuf();
    const auto documented = interfaces(file.str());
    ASSERT_EQ(documented.size(), 4U);

    // A job object lingers after its end: there to introspect.
    const UniqueFd fd = memfd("");
    Reply load = load_rules("sg0", fd.get(), 0, 1);
    ASSERT_TRUE(load.ok()) << load.error_message;
    const std::string job = job_of(load);

    std::map<std::string, std::vector<std::string>> live;
    for (const std::string& path : {std::string(kManagerPath), port_path("sg0"), matcher, job}) {
        for (auto& [name, members] : interfaces(introspect(path))) {
            live[name] = members;
        }
    }
    for (const auto& [name, members] : documented) {
        ASSERT_TRUE(live.contains(name)) << name << " is not served";
        EXPECT_EQ(live[name], members) << "interface " << name;
    }
    EXPECT_EQ(live.size(), documented.size());

    // The object tree lists the ports (escaped names) and the matcher.
    const std::string root = introspect(kManagerPath);
    EXPECT_NE(root.find("<node name=\"port\"/>"), std::string::npos) << root;
    const std::string ports = introspect(kPortPrefix);
    EXPECT_NE(ports.find("<node name=\"sg0\"/>"), std::string::npos) << ports;
    EXPECT_NE(ports.find("<node name=\"sg_2d1\"/>"), std::string::npos) << ports;
}

TEST_F(SteeringBus, manager_lists_ports_and_describes_itself) {
    Reply r = call0(kManagerPath, kManagerInterface, "ListPorts");
    ASSERT_TRUE(r.ok()) << r.error_message;
    std::vector<std::pair<std::string, std::string>> ports;
    ASSERT_GE(sd_bus_message_enter_container(r.message.get(), 'a', "(so)"), 0);
    const char* name = nullptr;
    const char* path = nullptr;
    while (sd_bus_message_read(r.message.get(), "(so)", &name, &path) > 0) {
        ports.emplace_back(name, path);
    }
    EXPECT_EQ(ports, (std::vector<std::pair<std::string, std::string>>{
                         {"sg0", "/org/sgnic/Steering1/port/sg0"},
                         {"sg-1", "/org/sgnic/Steering1/port/sg_2d1"}}));

    Reply v = call0(kManagerPath, kManagerInterface, "Version");
    ASSERT_TRUE(v.ok());
    const char* version = nullptr;
    ASSERT_GE(sd_bus_message_read(v.message.get(), "s", &version), 0);
    EXPECT_STREQ(version, proto::kVersion);

    Reply d = call0(kManagerPath, kManagerInterface, "Describe");
    ASSERT_TRUE(d.ok());
    const char* json = nullptr;
    ASSERT_GE(sd_bus_message_read(d.message.get(), "s", &json), 0);
    EXPECT_NE(std::string(json).find("\"name\":\"sg-1\""), std::string::npos) << json;
}

TEST_F(SteeringBus, rx_only_rules_grow_only_rx_and_the_rehash_is_signalled) {
    struct Seen {
        std::uint32_t rx_old, rx_new, tx_old, tx_new;
        std::uint64_t usec, moved;
        std::string reason;
    };
    std::vector<Seen> seen;
    sd_bus_slot* raw = nullptr;
    ASSERT_GE(sd_bus_match_signal(
                  client_.get(), &raw, nullptr, nullptr, kMatcherInterface, "Rehashed",
                  [](sd_bus_message* m, void* userdata, sd_bus_error* /*e*/) {
                      Seen s{};
                      const char* reason = nullptr;
                      sd_bus_message_read(m, "uuuutts", &s.rx_old, &s.rx_new, &s.tx_old, &s.tx_new,
                                          &s.usec, &s.moved, &reason);
                      s.reason = reason != nullptr ? reason : "";
                      static_cast<std::vector<Seen>*>(userdata)->push_back(s);
                      return 0;
                  },
                  &seen),
              0);
    const sd::Slot match(raw);

    Reply m = create_matcher("sg0", 1, {{"ipv4-dst", "/24"}, {"ip-proto", "255"}});
    ASSERT_TRUE(m.ok()) << m.error_name << ": " << m.error_message;
    const std::string matcher = matcher_of(m);
    EXPECT_EQ(matcher, "/org/sgnic/Steering1/matcher/1");

    std::vector<Rule> rules;
    rules.reserve(3);
    for (int i = 0; i < 3; ++i) {
        rules.push_back({matcher,
                         "rx",
                         {{"ipv4-dst", "10.0." + std::to_string(i) + ".0"}, {"ip-proto", "tcp"}},
                         {"count", "queue 1"}});
    }
    Reply added = add_rules("sg0", rules);
    ASSERT_TRUE(added.ok()) << added.error_name << ": " << added.error_message;
    EXPECT_EQ(ids_of(added), (std::vector<std::uint64_t>{1, 2, 3}));

    // Three rules fill more than 70 % of 4 rows: RX grows to 8 rows, once,
    // before the rules go in (one by one it would be two rehashes).
    EXPECT_EQ(property(matcher, kMatcherInterface, "RxSizeLog", 'u'), 3U);
    EXPECT_EQ(property(matcher, kMatcherInterface, "TxSizeLog", 'u'), 1U);
    EXPECT_EQ(property(matcher, kMatcherInterface, "RxRules", 't'), 3U);
    EXPECT_EQ(property(matcher, kMatcherInterface, "TxRules", 't'), 0U);
    EXPECT_EQ(property(matcher, kMatcherInterface, "Rehashes", 't'), 1U);
    EXPECT_GT(property(matcher, kMatcherInterface, "DevicePages", 't'), 0U);
    EXPECT_EQ(property(port_path("sg0"), kPortInterface, "RxRules", 't'), 3U);
    EXPECT_EQ(property(port_path("sg0"), kPortInterface, "Matchers", 'u'), 1U);

    while (sd_bus_process(client_.get(), nullptr) > 0) {
    }
    ASSERT_EQ(seen.size(), 1U);
    EXPECT_EQ(seen[0].rx_old, 1U);
    EXPECT_EQ(seen[0].rx_new, 3U);
    EXPECT_EQ(seen[0].tx_old, 1U);
    EXPECT_EQ(seen[0].tx_new, 1U);
    EXPECT_EQ(seen[0].moved, 0U);
    EXPECT_EQ(seen[0].reason, "presize");
}

TEST_F(SteeringBus, rules_can_be_deleted_and_matchers_flushed) {
    Reply m = create_matcher("sg0", 0, {{"l4-dport", "0xffff"}});
    ASSERT_TRUE(m.ok());
    const std::string matcher = matcher_of(m);
    Reply added = add_rules("sg0", {{matcher, "both", {{"l4-dport", "443"}}, {"drop"}},
                                    {matcher, "tx", {{"l4-dport", "80"}}, {"count"}}});
    ASSERT_TRUE(added.ok()) << added.error_message;
    const auto ids = ids_of(added);

    Reply del = delete_rules("sg0", {ids[0]});
    ASSERT_TRUE(del.ok()) << del.error_message;
    EXPECT_EQ(property(matcher, kMatcherInterface, "RxRules", 't'), 0U);
    EXPECT_EQ(property(matcher, kMatcherInterface, "TxRules", 't'), 1U);

    Reply again = delete_rules("sg0", {ids[0]});
    EXPECT_EQ(again.error_name, "org.sgnic.Steering1.NoSuchRule");

    Reply flush = call0(port_path("sg0"), kPortInterface, "Flush");
    ASSERT_TRUE(flush.ok()) << flush.error_message;
    Reply gone = call0(matcher, kMatcherInterface, "Describe");
    EXPECT_EQ(gone.error_name, "org.freedesktop.DBus.Error.UnknownObject");

    Reply m2 = create_matcher("sg0", 0, {{"dmac", "ff:ff:ff:ff:ff:ff"}});
    ASSERT_TRUE(m2.ok());
    const std::string matcher2 = matcher_of(m2);
    EXPECT_EQ(matcher2, "/org/sgnic/Steering1/matcher/2") << "ids are never reused";
    Reply deleted = call0(matcher2, kMatcherInterface, "Delete");
    ASSERT_TRUE(deleted.ok()) << deleted.error_message;

    TearDown();
    EXPECT_TRUE(device_.matchers.empty());
    EXPECT_TRUE(device_.rules.empty());
}

TEST_F(SteeringBus, bad_arguments_get_named_errors_that_say_what_is_wrong) {
    Reply m = create_matcher("sg0", 0, {{"ipv4-src", "/16"}});
    ASSERT_TRUE(m.ok());
    const std::string matcher = matcher_of(m);
    Reply other = create_matcher("sg-1", 0, {{"ipv4-src", "/16"}});
    ASSERT_TRUE(other.ok());
    const std::string foreign = matcher_of(other);

    struct Case {
        const char* what;
        Reply reply;
        const char* name;
        const char* message;
    };
    std::vector<Case> cases;
    cases.push_back({"unknown field", create_matcher("sg0", 0, {{"ipv4-source", "/8"}}),
                     "org.sgnic.Steering1.InvalidArgument", "unknown field 'ipv4-source'"});
    cases.push_back({"bad mask", create_matcher("sg0", 0, {{"ipv4-src", "/33"}}),
                     "org.sgnic.Steering1.InvalidArgument", "ipv4-src: prefix length /33"});
    cases.push_back({"no fields", create_matcher("sg0", 0, {}),
                     "org.sgnic.Steering1.InvalidArgument", "at least one field"});
    cases.push_back(
        {"huge field list",
         create_matcher("sg0", 0,
                        std::vector<std::pair<std::string, std::string>>(17, {"dmac", "/48"})),
         "org.sgnic.Steering1.InvalidArgument", "fields: more than 16 entries"});
    cases.push_back({"unknown port", create_matcher("sg9", 0, {{"dmac", "/48"}}),
                     "org.freedesktop.DBus.Error.UnknownObject", ""});
    cases.push_back({"not a matcher path",
                     add_rules("sg0", {{"/org/sgnic/Steering1", "rx", {}, {"drop"}}}),
                     "org.sgnic.Steering1.NoSuchMatcher", "rule #0: '/org/sgnic/Steering1'"});
    cases.push_back({"unknown matcher",
                     add_rules("sg0", {{"/org/sgnic/Steering1/matcher/99", "rx", {}, {"drop"}}}),
                     "org.sgnic.Steering1.NoSuchMatcher", "rule #0: no matcher 99 on port 'sg0'"});
    cases.push_back({"matcher of another port", add_rules("sg0", {{foreign, "rx", {}, {"drop"}}}),
                     "org.sgnic.Steering1.NoSuchMatcher", "on port 'sg0'"});
    cases.push_back({"value outside the mask",
                     add_rules("sg0", {{matcher, "rx", {{"ipv4-src", "10.1.0.0"}}, {"drop"}},
                                       {matcher, "rx", {{"ipv4-src", "10.1.2.3"}}, {"drop"}}}),
                     "org.sgnic.Steering1.InvalidArgument",
                     "rule #1: ipv4-src: value '10.1.2.3' has bits outside the matcher's mask "
                     "255.255.0.0"});
    cases.push_back({"mark in a TX rule",
                     add_rules("sg0", {{matcher, "rx", {{"ipv4-src", "10.1.0.0"}}, {"drop"}},
                                       {matcher, "tx", {{"ipv4-src", "10.2.0.0"}}, {"mark 5"}}}),
                     "org.sgnic.Steering1.InvalidArgument",
                     "rule #1: action 'mark 5' acts on received frames: the rule's direction "
                     "must be rx, not tx"});
    cases.push_back({"queue in a rule of both directions",
                     add_rules("sg0", {{matcher, "both", {{"ipv4-src", "10.1.0.0"}}, {"queue 1"}}}),
                     "org.sgnic.Steering1.InvalidArgument",
                     "rule #0: action 'queue 1' acts on received frames: the rule's direction "
                     "must be rx, not both"});
    cases.push_back({"field not in template",
                     add_rules("sg0", {{matcher, "rx", {{"l4-dport", "80"}}, {"drop"}}}),
                     "org.sgnic.Steering1.InvalidArgument", "is not in the matcher's template"});
    cases.push_back({"bad direction", add_rules("sg0", {{matcher, "sideways", {}, {"drop"}}}),
                     "org.sgnic.Steering1.InvalidArgument", "direction 'sideways'"});
    cases.push_back({"bad action", add_rules("sg0", {{matcher, "rx", {}, {"drop", "count"}}}),
                     "org.sgnic.Steering1.InvalidArgument", "follows the terminal action"});
    cases.push_back({"no actions", add_rules("sg0", {{matcher, "rx", {}, {}}}),
                     "org.sgnic.Steering1.InvalidArgument", "at least one action"});
    cases.push_back(
        {"empty batch", add_rules("sg0", {}), "org.sgnic.Steering1.InvalidArgument", "no rules"});
    cases.push_back({"unknown rule id", delete_rules("sg0", {12345}),
                     "org.sgnic.Steering1.NoSuchRule", "no rule 12345 on port 'sg0'"});
    {
        sd_bus_message* wrong = method(port_path("sg0"), kPortInterface, "CreateMatcher");
        sd_bus_message_append(wrong, "s", "ip-proto");
        cases.push_back(
            {"wrong signature", finish(wrong), "org.freedesktop.DBus.Error.InvalidArgs", ""});
    }
    for (const Case& c : cases) {
        EXPECT_EQ(c.reply.error_name, c.name) << c.what << ": " << c.reply.error_message;
        EXPECT_NE(c.reply.error_message.find(c.message), std::string::npos)
            << c.what << ": expected '" << c.message << "' in '" << c.reply.error_message << "'";
    }
    // A failed batch changed nothing, and the service is still up.
    EXPECT_EQ(property(matcher, kMatcherInterface, "RxRules", 't'), 0U);
    EXPECT_TRUE(call0(kManagerPath, kManagerInterface, "Version").ok());
}

TEST_F(SteeringBus, callers_without_net_admin_can_read_but_not_change) {
    Reply m = create_matcher("sg0", 0, {{"ip-proto", "0xff"}});
    ASSERT_TRUE(m.ok());
    const std::string matcher = matcher_of(m);
    allow_ = false;
    const char* denied = "org.freedesktop.DBus.Error.AccessDenied";
    EXPECT_EQ(create_matcher("sg0", 0, {{"ip-proto", "0xff"}}).error_name, denied);
    EXPECT_EQ(add_rules("sg0", {{matcher, "rx", {{"ip-proto", "6"}}, {"drop"}}}).error_name,
              denied);
    EXPECT_EQ(delete_rules("sg0", {1}).error_name, denied);
    Reply flush = call0(port_path("sg0"), kPortInterface, "Flush");
    EXPECT_EQ(flush.error_name, denied);
    EXPECT_NE(flush.error_message.find("Flush needs CAP_NET_ADMIN"), std::string::npos)
        << flush.error_message;
    EXPECT_EQ(call0(matcher, kMatcherInterface, "Delete").error_name, denied);

    EXPECT_TRUE(call0(kManagerPath, kManagerInterface, "Describe").ok());
    EXPECT_TRUE(call0(port_path("sg0"), kPortInterface, "Describe").ok());
    EXPECT_TRUE(call0(matcher, kMatcherInterface, "Describe").ok());
    EXPECT_EQ(property(matcher, kMatcherInterface, "RxSizeLog", 'u'), 1U);
}

TEST_F(SteeringBus, manager_describes_rules_with_counters_deletes_by_id_and_sums_stats) {
    Reply m0 = create_matcher("sg0", 0, {{"ip-proto", "0xff"}});
    Reply m1 = create_matcher("sg-1", 0, {{"ip-proto", "0xff"}});
    ASSERT_TRUE(m0.ok() && m1.ok());
    const std::string a = matcher_of(m0);
    const std::string b = matcher_of(m1);
    Reply r0 = add_rules("sg0", {{a, "rx", {{"ip-proto", "tcp"}}, {"count"}},
                                 {a, "tx", {{"ip-proto", "udp"}}, {"drop"}}});
    Reply r1 = add_rules("sg-1", {{b, "rx", {{"ip-proto", "gre"}}, {"mark 1", "accept"}}});
    ASSERT_TRUE(r0.ok() && r1.ok()) << r0.error_message << r1.error_message;
    const auto ids0 = ids_of(r0);
    const auto ids1 = ids_of(r1);
    for (const auto& [id, rule] : device_.rules) {
        kernel_.counters[id] = {
            .id = id, .rx_packets = 2, .rx_bytes = 128, .tx_packets = 3, .tx_bytes = 192};
    }

    auto describe_rules = [&](const std::string& port, std::uint64_t matcher,
                              std::uint64_t after = 0, std::uint32_t limit = 0) {
        sd_bus_message* call = method(kManagerPath, kManagerInterface, "DescribeRules");
        sd_bus_message_append(call, "sttu", port.c_str(), matcher, after, limit);
        return finish(call);
    };
    auto json_of = [](Reply& r) {
        const char* text = nullptr;
        EXPECT_GE(sd_bus_message_read(r.message.get(), "s", &text), 0);
        return nlohmann::json::parse(text != nullptr ? text : "null");
    };
    Reply all = describe_rules("", 0);
    ASSERT_TRUE(all.ok()) << all.error_message;
    const auto doc = json_of(all);
    ASSERT_EQ(doc["rules"].size(), 3U);
    EXPECT_TRUE(doc["errors"].empty());
    EXPECT_EQ(doc["rules"][0]["id"], ids0[0]);
    EXPECT_EQ(doc["rules"][0]["port"], "sg0");
    EXPECT_EQ(doc["rules"][0]["installed"], true);
    EXPECT_EQ(doc["rules"][0]["counters"],
              (nlohmann::json{
                  {"rx_packets", 2}, {"rx_bytes", 128}, {"tx_packets", 3}, {"tx_bytes", 192}}));
    EXPECT_EQ(doc["rules"][2]["actions"], (nlohmann::json{"mark 1", "accept"}));
    EXPECT_TRUE(doc["next"].is_null());
    // Pages: ids above `after`, `limit` at a time, "next" to continue.
    Reply page1 = describe_rules("", 0, 0, 2);
    ASSERT_TRUE(page1.ok()) << page1.error_message;
    const auto p1 = json_of(page1);
    ASSERT_EQ(p1["rules"].size(), 2U);
    EXPECT_EQ(p1["next"], ids0[1]);
    Reply page2 = describe_rules("", 0, ids0[1], 2);
    ASSERT_TRUE(page2.ok());
    const auto p2 = json_of(page2);
    ASSERT_EQ(p2["rules"].size(), 1U);
    EXPECT_EQ(p2["rules"][0]["id"], ids1[0]);
    EXPECT_TRUE(p2["next"].is_null());
    EXPECT_EQ(describe_rules("", 0, 0, 65537).error_name, "org.sgnic.Steering1.InvalidArgument");
    Reply one_port = describe_rules("sg-1", 0);
    ASSERT_TRUE(one_port.ok());
    EXPECT_EQ(json_of(one_port)["rules"].size(), 1U);
    Reply one_matcher = describe_rules("", 1);
    ASSERT_TRUE(one_matcher.ok());
    EXPECT_EQ(json_of(one_matcher)["rules"].size(), 2U);
    EXPECT_EQ(describe_rules("sg9", 0).error_name, "org.sgnic.Steering1.NoSuchPort");
    EXPECT_EQ(describe_rules("", 99).error_name, "org.sgnic.Steering1.NoSuchMatcher");
    Reply mismatch = describe_rules("sg-1", 1);
    EXPECT_EQ(mismatch.error_name, "org.sgnic.Steering1.NoSuchMatcher");
    EXPECT_EQ(mismatch.error_message, "no matcher 1 on port 'sg-1'");

    Reply stats = call0(kManagerPath, kManagerInterface, "Stats");
    ASSERT_TRUE(stats.ok());
    const auto st = json_of(stats);
    EXPECT_EQ(st["total"]["matchers"], 2);
    EXPECT_EQ(st["total"]["rx_rules"], 2);
    EXPECT_EQ(st["total"]["tx_rules"], 1);
    EXPECT_EQ(st["total"]["rx_packets"], 6);
    EXPECT_EQ(st["total"]["tx_bytes"], 576);
    EXPECT_EQ(st["ports"][1]["name"], "sg-1");
    EXPECT_EQ(st["ports"][1]["rx_packets"], 2);
    EXPECT_EQ(st["rules"], 3);

    auto delete_by_id = [&](const std::vector<std::uint64_t>& ids) {
        sd_bus_message* call = method(kManagerPath, kManagerInterface, "DeleteRules");
        sd_bus_message_append_array(call, 't', ids.data(), ids.size() * sizeof(std::uint64_t));
        return finish(call);
    };
    // An unknown id anywhere in the list deletes nothing.
    Reply unknown = delete_by_id({ids0[0], 4242});
    EXPECT_EQ(unknown.error_name, "org.sgnic.Steering1.NoSuchRule");
    EXPECT_EQ(unknown.error_message, "no rule 4242");
    EXPECT_EQ(service_->desired().rules.size(), 3U);
    allow_ = false;
    EXPECT_EQ(delete_by_id({ids0[0]}).error_name, "org.freedesktop.DBus.Error.AccessDenied");
    allow_ = true;
    // Rules of two ports in one call.
    Reply both = delete_by_id({ids1[0], ids0[1]});
    ASSERT_TRUE(both.ok()) << both.error_message;
    EXPECT_EQ(service_->desired().rules.size(), 1U);
    EXPECT_TRUE(service_->desired().rules.contains(ids0[0]));
    EXPECT_EQ(property(b, kMatcherInterface, "TxRules", 't'), 0U);
    EXPECT_EQ(property(a, kMatcherInterface, "TxRules", 't'), 0U);
    EXPECT_EQ(property(a, kMatcherInterface, "RxRules", 't'), 1U);
}

TEST_F(SteeringBus, flush_rules_deletes_a_ports_rules_or_all_and_keeps_the_matchers) {
    Reply m0 = create_matcher("sg0", 0, {{"ip-proto", "0xff"}});
    Reply m1 = create_matcher("sg-1", 0, {{"ip-proto", "0xff"}});
    ASSERT_TRUE(m0.ok() && m1.ok());
    const std::string a = matcher_of(m0);
    const std::string b = matcher_of(m1);
    std::vector<Rule> rules;
    for (int p = 1; p <= 60; ++p) {
        rules.push_back({a, "rx", {{"ip-proto", std::to_string(p)}}, {"drop"}});
    }
    ASSERT_TRUE(add_rules("sg0", rules).ok());
    ASSERT_TRUE(add_rules("sg-1", {{b, "tx", {{"ip-proto", "udp"}}, {"count"}}}).ok());
    ASSERT_GT(property(a, kMatcherInterface, "RxSizeLog", 'u'), 1U);

    auto flush_rules = [&](const std::string& port) {
        sd_bus_message* call = method(kManagerPath, kManagerInterface, "FlushRules");
        sd_bus_message_append(call, "s", port.c_str());
        return finish(call);
    };
    auto deleted = [](Reply& r) {
        std::uint64_t n = 0;
        EXPECT_GE(sd_bus_message_read(r.message.get(), "t", &n), 0);
        return n;
    };
    EXPECT_EQ(flush_rules("sg9").error_name, "org.sgnic.Steering1.NoSuchPort");
    allow_ = false;
    EXPECT_EQ(flush_rules("").error_name, "org.freedesktop.DBus.Error.AccessDenied");
    allow_ = true;
    EXPECT_EQ(service_->desired().rules.size(), 61U);

    const std::size_t requests = device_.bulk_deletes;
    Reply one = flush_rules("sg0");
    ASSERT_TRUE(one.ok()) << one.error_message;
    EXPECT_EQ(deleted(one), 60U);
    EXPECT_EQ(device_.bulk_deletes - requests, 1U) << "60 rules in one device request";
    EXPECT_EQ(property(a, kMatcherInterface, "RxRules", 't'), 0U);
    EXPECT_EQ(property(a, kMatcherInterface, "RxSizeLog", 'u'), 1U) << "emptied: shrunk";
    EXPECT_EQ(property(b, kMatcherInterface, "TxRules", 't'), 1U) << "the other port's stay";
    EXPECT_EQ(service_->desired().matchers.size(), 2U);

    Reply all = flush_rules("");
    ASSERT_TRUE(all.ok()) << all.error_message;
    EXPECT_EQ(deleted(all), 1U);
    Reply none = flush_rules("");
    ASSERT_TRUE(none.ok()) << none.error_message;
    EXPECT_EQ(deleted(none), 0U);
    EXPECT_TRUE(service_->desired().rules.empty());
    EXPECT_TRUE(device_.rules.empty());
    EXPECT_EQ(device_.matchers.size(), 2U);
}

TEST_F(SteeringBus, matchers_appear_and_go_in_the_object_manager_signals) {
    std::vector<std::string> seen;
    sd_bus_slot* raw = nullptr;
    ASSERT_GE(sd_bus_match_signal(
                  client_.get(), &raw, nullptr, kManagerPath, "org.freedesktop.DBus.ObjectManager",
                  nullptr,
                  [](sd_bus_message* m, void* userdata, sd_bus_error* /*e*/) {
                      const char* path = nullptr;
                      sd_bus_message_read(m, "o", &path);
                      static_cast<std::vector<std::string>*>(userdata)->push_back(
                          std::string(sd_bus_message_get_member(m)) + " " +
                          (path != nullptr ? path : ""));
                      return 0;
                  },
                  &seen),
              0);
    const sd::Slot match(raw);
    Reply m = create_matcher("sg0", 0, {{"ip-proto", "0xff"}});
    ASSERT_TRUE(m.ok());
    const std::string matcher = matcher_of(m);
    ASSERT_TRUE(call0(matcher, kMatcherInterface, "Delete").ok());
    for (int i = 0; i < 50 && seen.size() < 2; ++i) {
        while (sd_bus_process(client_.get(), nullptr) > 0) {
        }
        if (seen.size() < 2) {
            sd_bus_wait(client_.get(), 20000);
        }
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"InterfacesAdded " + matcher,
                                              "InterfacesRemoved " + matcher}));
}

TEST_F(SteeringBus, load_rules_reads_a_memfd_and_finishes_with_every_rule_in) {
    Reply m = create_matcher("sg0", 0, {{"l4-dport", "0xffff"}});
    ASSERT_TRUE(m.ok()) << m.error_message;
    const std::string matcher = matcher_of(m);
    watch_jobs();
    const UniqueFd fd = memfd(records(matcher, 100));
    Reply load = load_rules("sg0", fd.get(), 100, 16);
    ASSERT_TRUE(load.ok()) << load.error_name << ": " << load.error_message;
    const std::string job = job_of(load);
    EXPECT_TRUE(job.starts_with(std::string(kJobPrefix) + "/")) << job;

    const Finished f = wait_finished(job);
    EXPECT_EQ(f.loaded, 100U);
    EXPECT_TRUE(f.failures.empty());
    EXPECT_EQ(f.error, "");
    EXPECT_EQ(property(matcher, kMatcherInterface, "RxRules", 't'), 100U);
    EXPECT_EQ(device_.rules.size(), 100U);
    // Presized once for all 100 (70 % of 256 rows > 100), not per chunk.
    EXPECT_EQ(property(matcher, kMatcherInterface, "RxSizeLog", 'u'), 8U);
    EXPECT_EQ(property(matcher, kMatcherInterface, "Rehashes", 't'), 1U);
    // The object stays for its caller to read.
    EXPECT_EQ(property(job, kJobInterface, "Loaded", 't'), 100U);
    EXPECT_EQ(property(job, kJobInterface, "Failed", 't'), 0U);
    EXPECT_EQ(progress_of(job), (std::pair<std::uint64_t, std::uint64_t>{100, 100}));
    EXPECT_EQ(port_of_job(job), "sg0");
    // The rules are those of AddRules: listed, with their record's values.
    Reply described = finish([&] {
        sd_bus_message* d = method(kManagerPath, kManagerInterface, "DescribeRules");
        sd_bus_message_append(d, "sttu", "sg0", std::uint64_t{0}, std::uint64_t{0}, 0U);
        return d;
    }());
    ASSERT_TRUE(described.ok());
    const char* json = nullptr;
    ASSERT_GE(sd_bus_message_read(described.message.get(), "s", &json), 0);
    const auto doc = nlohmann::json::parse(json);
    ASSERT_EQ(doc["rules"].size(), 100U);
    EXPECT_EQ(doc["rules"][41]["match"][0]["value"], "42");
    EXPECT_EQ(doc["rules"][41]["directions"], "rx");
}

TEST_F(SteeringBus, load_rules_reports_a_failing_record_by_number_and_loads_the_others) {
    Reply m = create_matcher("sg0", 0, {{"l4-dport", "0xffff"}});
    ASSERT_TRUE(m.ok());
    const std::string matcher = matcher_of(m);
    const std::string id = matcher.substr(matcher.rfind('/') + 1);
    watch_jobs();
    const std::string text = records(matcher, 6) + id + "\trx\tl4-dport=70000\tdrop\n" +
                             records(matcher, 4, 7) + "garbage\n" + records(matcher, 8, 11) + id +
                             "\ttx\tl4-dport=99\tmark 3";  // no newline at the end
    const UniqueFd fd = memfd(text);
    Reply load = load_rules("sg0", fd.get(), 20, 5);
    ASSERT_TRUE(load.ok()) << load.error_message;
    const Finished f = wait_finished(job_of(load));
    EXPECT_EQ(f.loaded, 18U);
    EXPECT_EQ(f.error, "");
    ASSERT_EQ(f.failures.size(), 3U);
    EXPECT_EQ(std::get<0>(f.failures[0]), 7U);
    EXPECT_EQ(std::get<1>(f.failures[0]), id + "\trx\tl4-dport=70000\tdrop");
    EXPECT_NE(std::get<2>(f.failures[0]).find("l4-dport"), std::string::npos)
        << std::get<2>(f.failures[0]);
    EXPECT_EQ(std::get<0>(f.failures[1]), 12U);
    EXPECT_EQ(std::get<1>(f.failures[1]), "garbage");
    EXPECT_NE(std::get<2>(f.failures[1]).find("4 tab-separated columns"), std::string::npos);
    EXPECT_EQ(std::get<0>(f.failures[2]), 21U);
    EXPECT_NE(std::get<2>(f.failures[2]).find("must be rx, not tx"), std::string::npos)
        << std::get<2>(f.failures[2]);
    EXPECT_EQ(service_->desired().rules.size(), 18U);
    EXPECT_EQ(device_.rules.size(), 18U);
}

TEST_F(SteeringBus, load_rules_refuses_what_is_not_a_file_and_options_it_does_not_know) {
    std::array<int, 2> pipe_fds{};
    ASSERT_EQ(pipe(pipe_fds.data()), 0);
    const UniqueFd read_end(pipe_fds[0]);
    const UniqueFd write_end(pipe_fds[1]);
    Reply piped = load_rules("sg0", read_end.get(), 1, 1);
    EXPECT_EQ(piped.error_name, "org.sgnic.Steering1.InvalidArgument");
    EXPECT_NE(piped.error_message.find("fd is a pipe"), std::string::npos) << piped.error_message;

    const UniqueFd fd = memfd("");
    struct Case {
        const char* what;
        std::function<void(sd_bus_message*)> fill;
        const char* message;
    };
    const std::vector<Case> cases = {
        {"unknown key",
         [](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "bogus", "u", 1U); },
         "option 'bogus' is unknown"},
        {"chunk of the wrong type",
         [](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "chunk", "s", "many"); },
         "option 'chunk' must be of type u, not s"},
        {"rules of the wrong type",
         [](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "rules", "u", 5U); },
         "option 'rules' must be of type t, not u"},
        {"chunk 0", [](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "chunk", "u", 0U); },
         "option 'chunk' is 0: 1 to 65536"},
        {"chunk too big",
         [](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "chunk", "u", 65537U); },
         "option 'chunk' is 65537"},
        {"matchers of the wrong type",
         [](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "matchers", "t", 5ULL); },
         "option 'matchers' must be of type a(ttt), not t"},
        {"matchers without rules",
         [](sd_bus_message* m) {
             sd_bus_message_append(m, "{sv}", "matchers", "a(ttt)", 1, 1ULL, 5ULL, 0ULL);
         },
         "option 'matchers' needs option 'rules'"},
        {"a matcher twice",
         [](sd_bus_message* m) {
             sd_bus_message_append(m, "{sv}", "rules", "t", 10ULL);
             sd_bus_message_append(m, "{sv}", "matchers", "a(ttt)", 2, 1ULL, 2ULL, 0ULL, 1ULL, 0ULL,
                                   3ULL);
         },
         "option 'matchers' names matcher 1 twice"},
        {"counts beyond the rules",
         [](sd_bus_message* m) {
             sd_bus_message_append(m, "{sv}", "rules", "t", 10ULL);
             sd_bus_message_append(m, "{sv}", "matchers", "a(ttt)", 2, 1ULL, 6ULL, 6ULL, 2ULL, 5ULL,
                                   0ULL);
         },
         "matcher 2's 5 RX and 0 TX rules, with the matchers before it, are more than the 10"},
    };
    for (const Case& c : cases) {
        Reply r = load_rules_with("sg0", fd.get(), c.fill);
        EXPECT_EQ(r.error_name, "org.sgnic.Steering1.InvalidArgument") << c.what;
        EXPECT_NE(r.error_message.find(c.message), std::string::npos)
            << c.what << ": expected '" << c.message << "' in '" << r.error_message << "'";
    }
    // No options at all is fine: the defaults.
    Reply plain = load_rules_with("sg0", fd.get(), [](sd_bus_message* /*m*/) {});
    EXPECT_TRUE(plain.ok()) << plain.error_message;
}

TEST_F(SteeringBus, load_rules_and_cancel_need_net_admin) {
    const UniqueFd fd = memfd("");
    Reply started = load_rules("sg0", fd.get(), 0, 1);
    ASSERT_TRUE(started.ok());
    const std::string job = job_of(started);
    allow_ = false;
    Reply load = load_rules("sg0", fd.get(), 0, 1);
    EXPECT_EQ(load.error_name, "org.freedesktop.DBus.Error.AccessDenied");
    EXPECT_NE(load.error_message.find("LoadRules needs CAP_NET_ADMIN"), std::string::npos)
        << load.error_message;
    Reply cancel = call0(job, kJobInterface, "Cancel");
    EXPECT_EQ(cancel.error_name, "org.freedesktop.DBus.Error.AccessDenied");
}

TEST_F(SteeringBus, manager_load_rules_routes_each_line_to_its_matchers_port) {
    Reply m0 = create_matcher("sg0", 0, {{"l4-dport", "0xffff"}});
    Reply m1 = create_matcher("sg-1", 0, {{"l4-dport", "0xffff"}});
    ASSERT_TRUE(m0.ok() && m1.ok()) << m0.error_message << m1.error_message;
    const std::string a = matcher_of(m0);
    const std::string b = matcher_of(m1);
    const std::string ida = id_of(a);
    const std::string idb = id_of(b);
    watch_jobs();
    // Lines 1, 3 and 6 hold no rule; the last line has no newline.
    const std::string text = lines({
        "# rules for both ports",
        "matcher " + ida + " dir rx l4-dport 1 action drop",
        "",
        "matcher " + ida + " dir rx l4-dport 2 action count",
        "dev sg-1 matcher " + idb + " dir tx l4-dport 3 action drop",
        "   # an indented comment",
        "matcher " + idb + " l4-dport 4 action count  # both ways",
        "dev sg0 matcher " + ida + " l4-dport 5 action drop",
    });
    const UniqueFd fd = memfd(text);
    Reply load = manager_load_rules(fd.get(), 2);
    ASSERT_TRUE(load.ok()) << load.error_name << ": " << load.error_message;
    const std::string job = job_of(load);
    EXPECT_TRUE(job.starts_with(std::string(kJobPrefix) + "/")) << job;

    const Finished f = wait_finished(job);
    EXPECT_EQ(f.loaded, 5U);
    EXPECT_TRUE(f.failures.empty());
    EXPECT_EQ(f.error, "");
    // The job lingers: its Port is "" (each rule went to its matcher's).
    EXPECT_EQ(port_of_job(job), "");
    EXPECT_EQ(property(job, kJobInterface, "Loaded", 't'), 5U);
    EXPECT_EQ(property(job, kJobInterface, "Failed", 't'), 0U);
    // The total is the lines that hold rules.
    EXPECT_EQ(progress_of(job), (std::pair<std::uint64_t, std::uint64_t>{5, 5}));

    EXPECT_EQ(rules_on("sg0"), (std::vector<std::string>{ida + " rx 1 drop", ida + " rx 2 count",
                                                         ida + " both 5 drop"}));
    EXPECT_EQ(rules_on("sg-1"),
              (std::vector<std::string>{idb + " tx 3 drop", idb + " both 4 count"}));
    EXPECT_EQ(property(a, kMatcherInterface, "RxRules", 't'), 3U);
    EXPECT_EQ(property(a, kMatcherInterface, "TxRules", 't'), 1U);
    EXPECT_EQ(property(b, kMatcherInterface, "RxRules", 't'), 1U);
    EXPECT_EQ(property(b, kMatcherInterface, "TxRules", 't'), 2U);
    EXPECT_EQ(property(port_path("sg0"), kPortInterface, "RxRules", 't'), 3U);
    EXPECT_EQ(property(port_path("sg-1"), kPortInterface, "RxRules", 't'), 1U);
    EXPECT_EQ(service_->desired().rules.size(), 5U);
    EXPECT_EQ(device_.rules.size(), 5U);
}

// The caller's counts per matcher ("matchers") size the matchers in place
// of sgnicd's pass over the file: here they say 300 RX rules where the
// file holds 10, and the matcher is sized for 300.
TEST_F(SteeringBus, manager_load_rules_sizes_the_matchers_by_the_callers_counts) {
    Reply m = create_matcher("sg0", 0, {{"l4-dport", "0xffff"}});
    ASSERT_TRUE(m.ok()) << m.error_message;
    const std::string matcher = matcher_of(m);
    const std::string id = id_of(matcher);
    watch_jobs();
    std::vector<std::string> text;
    for (int port = 1; port <= 10; ++port) {
        text.push_back("matcher " + id + " dir rx l4-dport " + std::to_string(port) +
                       " action drop");
    }
    const UniqueFd fd = memfd(lines(text));
    const std::uint64_t key = std::stoull(id);
    Reply load = manager_load_rules_with(fd.get(), [&](sd_bus_message* msg) {
        sd_bus_message_append(msg, "{sv}", "rules", "t", std::uint64_t{300});
        sd_bus_message_append(msg, "{sv}", "matchers", "a(ttt)", 1, key, std::uint64_t{300},
                              std::uint64_t{0});
    });
    ASSERT_TRUE(load.ok()) << load.error_name << ": " << load.error_message;
    const Finished f = wait_finished(job_of(load));
    EXPECT_EQ(f.loaded, 10U);
    EXPECT_EQ(f.error, "");
    EXPECT_EQ(property(matcher, kMatcherInterface, "RxRules", 't'), 10U);
    // 300 rules need 429 rows at 70 %: 2^9; the file's 10 would need 2^4.
    EXPECT_EQ(property(matcher, kMatcherInterface, "RxSizeLog", 'u'), 9U);
    EXPECT_EQ(property(matcher, kMatcherInterface, "TxSizeLog", 'u'), 1U);
    EXPECT_EQ(property(matcher, kMatcherInterface, "Rehashes", 't'), 1U);
}

TEST_F(SteeringBus, manager_load_rules_names_failing_lines) {
    Reply m0 = create_matcher("sg0", 0, {{"l4-dport", "0xffff"}});
    Reply m1 = create_matcher("sg-1", 0, {{"l4-dport", "0xffff"}});
    ASSERT_TRUE(m0.ok() && m1.ok());
    const std::string a = matcher_of(m0);
    const std::string b = matcher_of(m1);
    const std::string ida = id_of(a);
    const std::string idb = id_of(b);
    watch_jobs();
    const std::string wrong_port = "dev sg-1 matcher " + ida + " l4-dport 3 action drop";
    const std::string text =
        lines({
            "matcher " + ida + " l4-dport 1 action drop",
            "matcher 999 l4-dport 2 action drop",  // 2: no such matcher
            "# a comment",
            wrong_port,               // 4
            "frobnicate everything",  // 5: not a rule
            "",
            "matcher " + idb + " dir tx l4-dport 4 action drop",
            "matcher " + ida + " dir tx l4-dport 5 action mark 3",  // 8: not under its matcher
            "dev sg-1 matcher " + idb + " l4-dport 6 action count",
        }) +
        "\n";
    proto::load::RuleLine parsed;
    const auto refused = proto::load::parse_rule_line("frobnicate everything", parsed);
    ASSERT_FALSE(refused);
    const std::string not_a_rule = refused.error().message();
    EXPECT_TRUE(not_a_rule.starts_with("unexpected word 'frobnicate' in a rule")) << not_a_rule;

    const UniqueFd fd = memfd(text);
    Reply load = manager_load_rules_with(fd.get(), [](sd_bus_message* /*m*/) {});
    ASSERT_TRUE(load.ok()) << load.error_message;
    const std::string job = job_of(load);
    const Finished f = wait_finished(job);
    EXPECT_EQ(f.error, "");
    EXPECT_EQ(f.loaded, 3U);
    using Failure = std::tuple<std::uint64_t, std::string, std::string>;
    ASSERT_EQ(f.failures.size(), 4U);
    EXPECT_EQ(f.failures[0], (Failure{2, "matcher 999 l4-dport 2 action drop", "no matcher 999"}));
    EXPECT_EQ(f.failures[1],
              (Failure{4, wrong_port, "matcher " + ida + " is on port 'sg0', not 'sg-1'"}));
    EXPECT_EQ(f.failures[2], (Failure{5, "frobnicate everything", not_a_rule}));
    // Refused as AddRules would, where it is parsed against its matcher's
    // template: the line number, the line as written, the reason.
    EXPECT_EQ(f.failures[3],
              (Failure{8, "matcher " + ida + " dir tx l4-dport 5 action mark 3",
                       "action 'mark 3' acts on received frames: the rule's direction must be "
                       "rx, not tx"}));
    EXPECT_EQ(property(job, kJobInterface, "Failed", 't'), 4U);
    EXPECT_EQ(progress_of(job), (std::pair<std::uint64_t, std::uint64_t>{7, 7}));
    EXPECT_EQ(rules_on("sg0"), (std::vector<std::string>{ida + " both 1 drop"}));
    EXPECT_EQ(rules_on("sg-1"),
              (std::vector<std::string>{idb + " tx 4 drop", idb + " both 6 count"}));
    EXPECT_EQ(service_->desired().rules.size(), 3U);
    EXPECT_EQ(device_.rules.size(), 3U);
}

TEST_F(SteeringBus, manager_load_rules_and_cancel_need_net_admin) {
    const UniqueFd fd = memfd("");
    Reply started = manager_load_rules(fd.get(), 1);
    ASSERT_TRUE(started.ok()) << started.error_message;
    const std::string job = job_of(started);
    allow_ = false;
    Reply load = manager_load_rules(fd.get(), 1);
    EXPECT_EQ(load.error_name, "org.freedesktop.DBus.Error.AccessDenied");
    EXPECT_NE(load.error_message.find("LoadRules needs CAP_NET_ADMIN"), std::string::npos)
        << load.error_message;
    Reply cancel = call0(job, kJobInterface, "Cancel");
    EXPECT_EQ(cancel.error_name, "org.freedesktop.DBus.Error.AccessDenied");
}

TEST_F(SteeringBus, manager_load_rules_refuses_what_is_not_a_file_and_options_it_does_not_know) {
    std::array<int, 2> pipe_fds{};
    ASSERT_EQ(pipe(pipe_fds.data()), 0);
    const UniqueFd read_end(pipe_fds[0]);
    const UniqueFd write_end(pipe_fds[1]);
    Reply piped = manager_load_rules(read_end.get(), 1);
    EXPECT_EQ(piped.error_name, "org.sgnic.Steering1.InvalidArgument");
    EXPECT_NE(piped.error_message.find("fd is a pipe"), std::string::npos) << piped.error_message;

    const UniqueFd fd = memfd("");
    Reply bogus = manager_load_rules_with(
        fd.get(), [](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "bogus", "u", 1U); });
    EXPECT_EQ(bogus.error_name, "org.sgnic.Steering1.InvalidArgument");
    EXPECT_NE(bogus.error_message.find("option 'bogus' is unknown"), std::string::npos)
        << bogus.error_message;
    Reply chunk0 = manager_load_rules(fd.get(), 0);
    EXPECT_EQ(chunk0.error_name, "org.sgnic.Steering1.InvalidArgument");
    EXPECT_NE(chunk0.error_message.find("option 'chunk' is 0: 1 to 65536"), std::string::npos)
        << chunk0.error_message;
    Reply plain = manager_load_rules_with(fd.get(), [](sd_bus_message* /*m*/) {});
    EXPECT_TRUE(plain.ok()) << plain.error_message;
}

TEST_F(SteeringBus, cancel_stops_a_job_after_its_chunk_and_the_rules_in_stay) {
    const UniqueFd fd = slow_job_records();
    Reply load = load_rules("sg0", fd.get(), kSlowRules, 1);  // a batch per rule: slow on purpose
    ASSERT_TRUE(load.ok()) << load.error_message;
    const std::string job = job_of(load);
    Reply cancel = call0(job, kJobInterface, "Cancel");
    EXPECT_TRUE(cancel.ok()) << cancel.error_message;
    const Finished f = wait_finished(job);
    EXPECT_EQ(f.error, "cancelled");
    EXPECT_LT(f.loaded, static_cast<std::uint64_t>(kSlowRules));
    EXPECT_TRUE(f.failures.empty());
    EXPECT_EQ(property(job, kJobInterface, "Failed", 't'), kSlowRules - f.loaded);
    EXPECT_EQ(service_->desired().rules.size(), f.loaded);
    EXPECT_EQ(device_.rules.size(), f.loaded);
}

TEST_F(SteeringBus, a_job_whose_caller_leaves_is_cancelled) {
    const UniqueFd fd = slow_job_records();
    std::string job;
    {
        sd::Bus other = connect(dbus_.address());
        Reply load = load_rules_with(
            "sg0", fd.get(),
            [](sd_bus_message* msg) { sd_bus_message_append(msg, "{sv}", "chunk", "u", 1U); },
            other.get());
        ASSERT_TRUE(load.ok()) << load.error_message;
        job = job_of(load);
    }
    const Finished f = wait_finished(job);
    EXPECT_EQ(f.error, "cancelled");
    EXPECT_LT(f.loaded, static_cast<std::uint64_t>(kSlowRules));
    EXPECT_EQ(service_->desired().rules.size(), f.loaded);
}

TEST_F(SteeringBus, a_daemon_stopping_mid_job_ends_it_with_its_rules_kept) {
    const UniqueFd fd = slow_job_records();
    Reply load = load_rules("sg0", fd.get(), kSlowRules, 1);
    ASSERT_TRUE(load.ok()) << load.error_message;
    const std::string job = job_of(load);
    served_.reset();  // sgnicd stops
    const Finished f = wait_finished(job);
    EXPECT_EQ(f.error, "sgnicd is stopping");
    EXPECT_LT(f.loaded, static_cast<std::uint64_t>(kSlowRules));
    EXPECT_EQ(service_->desired().rules.size(), f.loaded);
    EXPECT_EQ(device_.rules.size(), f.loaded);
}

TEST_F(SteeringBus, root_passes_the_real_capability_check) {
    // The default authorizer asks the bus for the caller's credentials.
    if (geteuid() != 0) {
        GTEST_SKIP() << "runs as root: the test's own credentials must pass";
    }
    real_check_ = true;
    Reply m = create_matcher("sg0", 0, {{"ip-proto", "0xff"}});
    EXPECT_TRUE(m.ok()) << m.error_name << ": " << m.error_message;
}

}  // namespace
}  // namespace sgnic::bus
