// sgnic-bus-fuzz: random and mutated calls to sgnicd on the system bus.
// Every call must be answered, with a reply or a named error, within the
// timeout; the daemon must still answer at the end.  Prints a JSON summary
// (calls, replies, errors by name) and exits 1 on the first unanswered call.
//
//   sgnic-bus-fuzz [--calls N] [--seed S] [--timeout-ms MS]
#include <systemd/sd-bus.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "sgnic/proto/dbus.hpp"
#include "sgnic/proto/sd.hpp"

namespace {

using nlohmann::json;
using sgnic::sd::Bus;
using sgnic::sd::Error;
using sgnic::sd::Message;

constexpr const char* kService = sgnic::proto::dbus::kServiceName;
constexpr const char* kRoot = sgnic::proto::dbus::kManagerPath;

struct Method {
    const char* interface;
    const char* name;
    const char* signature;  // of the valid call
};

// The API as proto/org.sgnic.Steering1.xml has it, and the standard ones.
const Method kMethods[] = {
    {"org.sgnic.Steering1.Manager", "ListPorts", ""},
    {"org.sgnic.Steering1.Manager", "ListMatchers", ""},
    {"org.sgnic.Steering1.Manager", "Describe", ""},
    {"org.sgnic.Steering1.Manager", "Version", ""},
    {"org.sgnic.Steering1.Manager", "DescribeRules", "sttu"},
    {"org.sgnic.Steering1.Manager", "DeleteRules", "at"},
    {"org.sgnic.Steering1.Manager", "FlushRules", "s"},
    {"org.sgnic.Steering1.Manager", "Stats", ""},
    {"org.sgnic.Steering1.Port", "CreateMatcher", "ua(ss)"},
    {"org.sgnic.Steering1.Port", "AddRules", "a(osa(ss)as)"},
    {"org.sgnic.Steering1.Port", "DeleteRules", "at"},
    {"org.sgnic.Steering1.Port", "Flush", ""},
    {"org.sgnic.Steering1.Port", "Describe", ""},
    {"org.sgnic.Steering1.Matcher", "Delete", ""},
    {"org.sgnic.Steering1.Matcher", "Describe", ""},
    {"org.sgnic.Steering1.Matcher", "Reserve", "tt"},
    {"org.freedesktop.DBus.Properties", "GetAll", "s"},
    {"org.freedesktop.DBus.Properties", "Get", "ss"},
    {"org.freedesktop.DBus.Properties", "Set", "ssv"},
    {"org.freedesktop.DBus.Introspectable", "Introspect", ""},
    {"org.freedesktop.DBus.ObjectManager", "GetManagedObjects", ""},
    {"org.sgnic.Steering1.Manager", "Explode", ""},
    {"org.sgnic.Steering1.Bogus", "Describe", ""},
};

const char* const kFields[] = {"dmac",     "smac",     "ethertype", "vlan-id",  "ipv4-src",
                               "ipv4-dst", "ipv6-src", "ipv6-dst",  "ip-proto", "l4-sport",
                               "l4-dport", "vni",      "",          "ipv4"};
const char* const kTexts[] = {"/32",
                              "/0",
                              "/33",
                              "/-1",
                              "255.255.255.0",
                              "10.0.0.1",
                              "10.0.0.1/24",
                              "0xffff",
                              "65535",
                              "65536",
                              "-1",
                              "udp",
                              "tcp",
                              "ipv4",
                              "ff:ff:ff:ff:ff:ff",
                              "zz:zz",
                              "::1",
                              "fe80::/64",
                              "",
                              " ",
                              "0x",
                              "1e9",
                              "99999999999999999999",
                              "//",
                              "drop",
                              "count",
                              "accept",
                              "mark 5",
                              "queue 1",
                              "queue 99999",
                              "mark",
                              "rx",
                              "tx",
                              "both",
                              "rx,tx",
                              "sideways"};
const char* const kProps[] = {"Name",      "Ifindex",     "Matchers", "RxRules", "TxRules",
                              "RxSizeLog", "DevicePages", "Rehashes", "Port",    "Nope"};

class Fuzzer {
public:
    Fuzzer(sd_bus* bus, std::uint64_t seed) : bus_(bus), rng_(seed) {}

    void refresh_objects();
    // One random call; false if it went unanswered.
    bool call_one(std::uint64_t timeout_usec, json& errors, std::uint64_t& replies);

private:
    std::uint64_t pick(std::uint64_t n) {
        return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
    }
    bool chance(int percent) { return pick(100) < static_cast<std::uint64_t>(percent); }
    std::string text();
    std::string value();
    std::string path();
    std::string path_for(const Method& method);
    int append_valid(sd_bus_message* m, const Method& method);
    int append_random(sd_bus_message* m);

    sd_bus* bus_;
    std::mt19937_64 rng_;
    std::vector<std::string> ports_;
    std::vector<std::string> matchers_;
};

std::string Fuzzer::text() {
    if (chance(10)) {
        // A long or odd text: sd-bus refuses invalid UTF-8, so printable only.
        std::string s(pick(chance(20) ? 200000 : 64), 'a');
        for (char& c : s) {
            c = static_cast<char>(' ' + pick(95));
        }
        return s;
    }
    std::string s = kTexts[pick(std::size(kTexts))];
    if (chance(15) && !s.empty()) {
        s.resize(pick(s.size()));  // truncated
    }
    return s;
}

// Mostly an object of the method's kind, so that calls get past dispatch.
std::string Fuzzer::path_for(const Method& method) {
    const std::string iface = method.interface;
    if (chance(80)) {
        if (iface == "org.sgnic.Steering1.Port" && !ports_.empty()) {
            return ports_[pick(ports_.size())];
        }
        if (iface == "org.sgnic.Steering1.Matcher" && !matchers_.empty()) {
            return matchers_[pick(matchers_.size())];
        }
        if (iface == "org.sgnic.Steering1.Manager") {
            return kRoot;
        }
    }
    return path();
}

// A rule value: mostly a number that fits ip-proto or l4-dport, else text().
std::string Fuzzer::value() {
    if (chance(60)) {
        return std::to_string(pick(chance(50) ? 256 : 70000));
    }
    return text();
}

std::string Fuzzer::path() {
    const auto r = pick(10);
    if (r < 3 && !ports_.empty()) {
        return ports_[pick(ports_.size())];
    }
    if (r < 6 && !matchers_.empty()) {
        return matchers_[pick(matchers_.size())];
    }
    if (r < 8) {
        return kRoot;
    }
    static const char* const kBogus[] = {"/org/sgnic/Steering1/port/nosuch",
                                         "/org/sgnic/Steering1/matcher/0",
                                         "/org/sgnic/Steering1/matcher/18446744073709551615",
                                         "/org/sgnic/Steering1/matcher/x",
                                         "/org/sgnic",
                                         "/"};
    return kBogus[pick(std::size(kBogus))];
}

void Fuzzer::refresh_objects() {
    Error error;
    sd_bus_message* raw = nullptr;
    ports_.clear();
    matchers_.clear();
    if (sd_bus_call_method(bus_, kService, kRoot, "org.sgnic.Steering1.Manager", "ListPorts",
                           error.get(), &raw, "") >= 0) {
        const Message reply(raw);
        const char* name = nullptr;
        const char* p = nullptr;
        if (sd_bus_message_enter_container(reply.get(), 'a', "(so)") >= 0) {
            while (sd_bus_message_read(reply.get(), "(so)", &name, &p) > 0) {
                ports_.emplace_back(p);
            }
        }
    }
    raw = nullptr;
    Error error2;
    if (sd_bus_call_method(bus_, kService, kRoot, "org.sgnic.Steering1.Manager", "ListMatchers",
                           error2.get(), &raw, "") >= 0) {
        const Message reply(raw);
        std::uint64_t id = 0;
        const char* port = nullptr;
        const char* p = nullptr;
        if (sd_bus_message_enter_container(reply.get(), 'a', "(tso)") >= 0) {
            while (sd_bus_message_read(reply.get(), "(tso)", &id, &port, &p) > 0) {
                matchers_.emplace_back(p);
            }
        }
    }
}

int Fuzzer::append_valid(sd_bus_message* m, const Method& method) {
    const std::string sig = method.signature;
    int r = 0;
    if (sig == "sttu") {
        const std::string port = chance(70) ? "sgnic1" : text();
        r = sd_bus_message_append(m, "sttu", port.c_str(), pick(8), pick(1000),
                                  static_cast<std::uint32_t>(pick(70000)));
    } else if (sig == "at") {
        const std::size_t n = chance(5) ? 70000 : pick(20);
        std::vector<std::uint64_t> ids(n);
        for (auto& id : ids) {
            id = chance(50) ? pick(200) : rng_();
        }
        r = sd_bus_message_append_array(m, 't', ids.data(), ids.size() * sizeof(std::uint64_t));
    } else if (sig == "ua(ss)") {
        r = sd_bus_message_append(m, "u", static_cast<std::uint32_t>(pick(5)));
        if (r >= 0) {
            r = sd_bus_message_open_container(m, 'a', "(ss)");
        }
        for (std::uint64_t i = 0, n = pick(4); r >= 0 && i < n; ++i) {
            const std::string t = text();
            r = sd_bus_message_append(m, "(ss)", kFields[pick(std::size(kFields))], t.c_str());
        }
        if (r >= 0) {
            r = sd_bus_message_close_container(m);
        }
    } else if (sig == "a(osa(ss)as)") {
        r = sd_bus_message_open_container(m, 'a', "(osa(ss)as)");
        for (std::uint64_t i = 0, n = chance(5) ? 3000 : pick(6); r >= 0 && i < n; ++i) {
            const std::string p =
                chance(70) && !matchers_.empty() ? matchers_[pick(matchers_.size())] : path();
            const std::string dir = text();
            r = sd_bus_message_open_container(m, 'r', "osa(ss)as");
            if (r >= 0) {
                r = sd_bus_message_append(m, "os", p.c_str(), chance(70) ? "rx" : dir.c_str());
            }
            if (r >= 0) {
                r = sd_bus_message_open_container(m, 'a', "(ss)");
            }
            for (std::uint64_t k = 0, f = pick(4); r >= 0 && k < f; ++k) {
                const std::string t = value();
                const char* field = chance(70) ? (k % 2 == 0 ? "ip-proto" : "l4-dport")
                                               : kFields[pick(std::size(kFields))];
                r = sd_bus_message_append(m, "(ss)", field, t.c_str());
            }
            if (r >= 0) {
                r = sd_bus_message_close_container(m);
            }
            if (r >= 0) {
                r = sd_bus_message_open_container(m, 'a', "s");
            }
            for (std::uint64_t k = 0, a = pick(4); r >= 0 && k < a; ++k) {
                const std::string t = text();
                r = sd_bus_message_append(m, "s", t.c_str());
            }
            if (r >= 0) {
                r = sd_bus_message_close_container(m);
            }
            if (r >= 0) {
                r = sd_bus_message_close_container(m);
            }
        }
        if (r >= 0) {
            r = sd_bus_message_close_container(m);
        }
    } else if (sig == "tt") {
        // Mostly counts a table takes, sometimes far more than any does.
        r = sd_bus_message_append(m, "tt", chance(10) ? rng_() : pick(20000),
                                  chance(10) ? rng_() : pick(2000));
    } else if (sig == "s") {
        r = sd_bus_message_append(m, "s", chance(50) ? "org.sgnic.Steering1.Matcher" : "x.y");
    } else if (sig == "ss") {
        r = sd_bus_message_append(m, "ss", "org.sgnic.Steering1.Matcher",
                                  kProps[pick(std::size(kProps))]);
    } else if (sig == "ssv") {
        r = sd_bus_message_append(m, "ssv", "org.sgnic.Steering1.Matcher",
                                  kProps[pick(std::size(kProps))], "u", 7U);
    }
    return r;
}

// Arguments of the wrong shape: random basic types and containers.
int Fuzzer::append_random(sd_bus_message* m) {
    int r = 0;
    for (std::uint64_t i = 0, n = pick(4); r >= 0 && i < n; ++i) {
        switch (pick(6)) {
            case 0:
                r = sd_bus_message_append(m, "u", static_cast<std::uint32_t>(rng_()));
                break;
            case 1: {
                const std::string t = text();
                r = sd_bus_message_append(m, "s", t.c_str());
                break;
            }
            case 2:
                r = sd_bus_message_append(m, "t", rng_());
                break;
            case 3:
                r = sd_bus_message_append(m, "as", 2, "a", "b");
                break;
            case 4:
                r = sd_bus_message_append(m, "a(ss)", 1, "ipv4-src", "/8");
                break;
            default:
                r = sd_bus_message_append(m, "b", 1);
                break;
        }
    }
    return r;
}

bool Fuzzer::call_one(std::uint64_t timeout_usec, json& errors, std::uint64_t& replies) {
    const Method& method = kMethods[pick(std::size(kMethods))];
    const std::string p = path_for(method);
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &raw, kService, p.c_str(), method.interface,
                                           method.name);
    const Message call(raw);
    if (r < 0) {
        std::fprintf(stderr, "build %s: %s\n", method.name, std::strerror(-r));
        return true;  // the client's own refusal, nothing was sent
    }
    r = chance(80) ? append_valid(call.get(), method) : append_random(call.get());
    if (r < 0) {
        return true;  // sd-bus refused an argument before sending
    }
    Error error;
    raw = nullptr;
    r = sd_bus_call(bus_, call.get(), timeout_usec, error.get(), &raw);
    const Message reply(raw);
    if (r >= 0) {
        ++replies;
        return true;
    }
    const std::string name = error.name();
    if (name.empty() || name == "org.freedesktop.DBus.Error.NoReply" ||
        name == "org.freedesktop.DBus.Error.Timeout" ||
        name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
        name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
        name == "org.freedesktop.DBus.Error.Disconnected") {
        std::fprintf(stderr, "%s %s.%s: unanswered: %s (%s)\n", p.c_str(), method.interface,
                     method.name, name.c_str(), std::strerror(-r));
        return false;
    }
    errors[name] = errors.value(name, 0) + 1;
    return true;
}

}  // namespace

namespace {

int run(int argc, char** argv) {
    std::uint64_t calls = 5000;
    std::uint64_t seed =
        static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    std::uint64_t timeout_ms = 30000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string opt = argv[i];
        const std::uint64_t v = std::stoull(argv[i + 1]);
        if (opt == "--calls") {
            calls = v;
        } else if (opt == "--seed") {
            seed = v;
        } else if (opt == "--timeout-ms") {
            timeout_ms = v;
        } else {
            std::fprintf(stderr,
                         "usage: sgnic-bus-fuzz [--calls N] [--seed S] [--timeout-ms MS]\n");
            return 2;
        }
    }
    sd_bus* raw = nullptr;
    if (const int r = sd_bus_open_system(&raw); r < 0) {
        std::fprintf(stderr, "system bus: %s\n", std::strerror(-r));
        return 2;
    }
    const Bus bus(raw);
    Fuzzer fuzzer(bus.get(), seed);
    json errors = json::object();
    std::uint64_t replies = 0;
    for (std::uint64_t i = 0; i < calls; ++i) {
        if (i % 200 == 0) {
            fuzzer.refresh_objects();
        }
        if (!fuzzer.call_one(timeout_ms * 1000, errors, replies)) {
            std::fprintf(stderr, "seed %llu, call %llu\n", static_cast<unsigned long long>(seed),
                         static_cast<unsigned long long>(i));
            return 1;
        }
    }
    Error error;
    sd_bus_message* reply = nullptr;
    const int r = sd_bus_call_method(bus.get(), kService, kRoot, "org.sgnic.Steering1.Manager",
                                     "Version", error.get(), &reply, "");
    const Message version(reply);
    const json out = {{"seed", seed},
                      {"calls", calls},
                      {"replies", replies},
                      {"errors", errors},
                      {"alive", r >= 0}};
    std::printf("%s\n", out.dump().c_str());
    return r >= 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sgnic-bus-fuzz: %s\n", e.what());
    }
    return 2;
}
