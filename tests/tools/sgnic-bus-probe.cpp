// sgnic-bus-probe: what one client of sgnicd sees while a matcher rehashes.
// On one system-bus connection it loops: Port.AddRules with one RX rule
// (FIELD = a value counting up from --start, action count) on the matcher,
// then Properties.Get of the matcher's Resizing (rules moved, rules to
// move), timing each call with CLOCK_MONOTONIC.  It stops once Resizing was
// non-zero and then (0, 0) again (the rehash ended), or at --max-seconds or
// --max-calls, and prints one JSON line:
//
//   calls                 AddRules and Get calls made
//   during_resize         of them, those of an iteration (AddRules, Get) that
//                         began or ended with Resizing non-zero: served while
//                         the rehash ran
//   resize_seen           Resizing was non-zero at least once
//   resize_ended          ... and read (0, 0) again afterwards
//   resize_total          the largest "rules to move" read
//   max_ms, p99_ms, p50_ms                     over every call
//   max_during_resize_ms, p99_during_resize_ms, p50_during_resize_ms
//                                              over the during_resize calls
//   rules_added           rules AddRules added (one per call)
//   stopped               "resize-ended", "max-seconds", "max-calls" or
//                         "stop-file"
//
//   sgnic-bus-probe --port NAME --matcher PATH --field NAME [--start VALUE]
//                   [--ready FILE] [--max-seconds S] [--max-calls N]
//                   [--timeout-ms MS] [--stop-file FILE] [--add-samples FILE]
//
// --stop-file: stop once FILE exists (checked before each iteration), and
// not when a rehash ends;
// --add-samples: each AddRules call's time in ms, one per line, into FILE
// (what make bench reads as single-add latency).
//
// VALUE is a number (decimal or 0x hex) or an IPv4 address (for ipv4-src
// and ipv4-dst), which counts up as one.  Exit status: 0 the summary is
// printed; 1 a call failed (the error is printed, the summary so far too);
// 2 a bad command line or no system bus.
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sgnic/proto/dbus.hpp"
#include "sgnic/proto/sd.hpp"

namespace {

using nlohmann::json;
using sgnic::sd::Bus;
using sgnic::sd::CString;
using sgnic::sd::Error;
using sgnic::sd::Message;

namespace dbus = sgnic::proto::dbus;

constexpr const char* kUsage =
    "usage: sgnic-bus-probe --port NAME --matcher PATH --field NAME [--start VALUE]\n"
    "                       [--ready FILE] [--max-seconds S] [--max-calls N] [--timeout-ms MS]\n"
    "                       [--stop-file FILE] [--add-samples FILE]\n"
    "  Adds one RX rule (FIELD = VALUE, VALUE + 1, ...; action count) to the matcher at\n"
    "  PATH through port NAME's AddRules and reads the matcher's Resizing property, in a\n"
    "  loop on one system-bus connection, timing every call; stops when a rehash was seen\n"
    "  and has ended, after S seconds (default 300) or N calls; prints a JSON summary.\n"
    "  VALUE (default 0): a number (decimal or 0x hex) or an IPv4 address.  --ready FILE\n"
    "  is created after the first successful iteration.  MS: per-call timeout (default\n"
    "  25000).  --stop-file FILE: stop once FILE exists (not at a rehash's end).\n"
    "  --add-samples FILE: each AddRules call's time in ms, one per line.\n"
    "  Exit status: 0 summary printed, 1 a call failed, 2 bad command line or no bus.\n";

// A command-line word that is not what its option takes.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    std::string port;
    std::string matcher;
    std::string field;
    std::uint64_t start = 0;
    bool ipv4 = false;  // start and the values are IPv4 addresses
    std::string ready;
    std::uint64_t max_seconds = 300;
    std::optional<std::uint64_t> max_calls;
    std::uint64_t timeout_ms = 25000;
    std::string stop_file;
    std::string add_samples;
};

std::optional<std::uint64_t> parse_number(std::string_view s) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        base = 16;
    }
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

std::optional<std::uint64_t> parse_ipv4(std::string_view s) {
    std::uint64_t addr = 0;
    for (int i = 0; i < 4; ++i) {
        const std::size_t dot = s.find('.');
        const std::string_view part = i < 3 ? s.substr(0, dot) : s;
        if ((i < 3 && dot == std::string_view::npos) || part.empty() || part.size() > 3) {
            return std::nullopt;
        }
        unsigned octet = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), octet);
        if (ec != std::errc() || end != part.data() + part.size() || octet > 255) {
            return std::nullopt;
        }
        addr = addr << 8 | octet;
        if (i < 3) {
            s.remove_prefix(dot + 1);
        }
    }
    return addr;
}

std::string format_value(std::uint64_t v, bool ipv4) {
    if (!ipv4) {
        return std::to_string(v);
    }
    return std::to_string(v >> 24 & 0xff) + "." + std::to_string(v >> 16 & 0xff) + "." +
           std::to_string(v >> 8 & 0xff) + "." + std::to_string(v & 0xff);
}

std::uint64_t number_of(const std::string& option, const std::string& word) {
    const auto v = parse_number(word);
    if (!v) {
        throw UsageError(option + " takes a number, not '" + word + "'");
    }
    return *v;
}

// Returns nullopt after --help.
std::optional<Options> parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string opt = argv[i];
        if (opt == "--help" || opt == "-h") {
            std::fputs(kUsage, stdout);
            return std::nullopt;
        }
        if (opt.rfind("--", 0) != 0) {
            throw UsageError("unexpected word '" + opt + "'");
        }
        if (i + 1 >= argc) {
            throw UsageError(opt + " needs a value");
        }
        const std::string v = argv[++i];
        if (opt == "--port") {
            o.port = v;
        } else if (opt == "--matcher") {
            if (sd_bus_object_path_is_valid(v.c_str()) <= 0) {
                throw UsageError("--matcher takes a D-Bus object path, not '" + v + "'");
            }
            o.matcher = v;
        } else if (opt == "--field") {
            o.field = v;
        } else if (opt == "--start") {
            if (const auto n = parse_number(v)) {
                o.start = *n;
            } else if (const auto a = parse_ipv4(v)) {
                o.start = *a;
                o.ipv4 = true;
            } else {
                throw UsageError("--start takes a number or an IPv4 address, not '" + v + "'");
            }
        } else if (opt == "--ready") {
            o.ready = v;
        } else if (opt == "--max-seconds") {
            o.max_seconds = number_of(opt, v);
        } else if (opt == "--max-calls") {
            o.max_calls = number_of(opt, v);
        } else if (opt == "--timeout-ms") {
            o.timeout_ms = number_of(opt, v);
        } else if (opt == "--stop-file") {
            o.stop_file = v;
        } else if (opt == "--add-samples") {
            o.add_samples = v;
        } else {
            throw UsageError("unknown option '" + opt + "'");
        }
    }
    for (const auto& [name, value] :
         {std::pair{"--port", &o.port}, std::pair{"--matcher", &o.matcher},
          std::pair{"--field", &o.field}}) {
        if (value->empty()) {
            throw UsageError(std::string(name) + " is required");
        }
    }
    return o;
}

double now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Nearest rank; 0 for no samples.
double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

double round3(double ms) { return std::round(ms * 1000) / 1000; }

// A failed call: what it was and the bus's error.
struct CallError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Probe {
public:
    Probe(sd_bus* bus, const Options& o, std::string port_path)
        : bus_(bus), o_(o), port_path_(std::move(port_path)) {}

    void run();
    json summary() const;
    // --add-samples: the AddRules times, one per line.
    void write_add_samples() const;

private:
    // Both return the call's time in ms.
    double add_rule(std::uint64_t value);
    double read_resizing(std::uint64_t& moved, std::uint64_t& total);
    Message call(Message request, const char* what);

    sd_bus* bus_;
    const Options& o_;
    std::string port_path_;
    std::vector<double> all_ms_;
    std::vector<double> add_ms_;
    std::vector<double> during_ms_;
    std::uint64_t calls_ = 0;
    std::uint64_t rules_added_ = 0;
    std::uint64_t resize_total_ = 0;
    bool resize_seen_ = false;
    bool resize_ended_ = false;
    std::string stopped_;
};

Message Probe::call(Message request, const char* what) {
    Error error;
    sd_bus_message* raw = nullptr;
    const int r = sd_bus_call(bus_, request.get(), o_.timeout_ms * 1000, error.get(), &raw);
    Message reply(raw);
    ++calls_;
    if (r < 0) {
        throw CallError(std::string(what) + " (call " + std::to_string(calls_) +
                        "): " + (*error.name() != '\0' ? error.name() : std::strerror(-r)) + ": " +
                        error.message());
    }
    return reply;
}

double Probe::add_rule(std::uint64_t value) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &raw, dbus::kServiceName, port_path_.c_str(),
                                           dbus::kPortInterface, "AddRules");
    Message request(raw);
    const std::string text = format_value(value, o_.ipv4);
    if (r >= 0) {
        r = sd_bus_message_append(request.get(), "a(osa(ss)as)", 1, o_.matcher.c_str(), "rx", 1,
                                  o_.field.c_str(), text.c_str(), 1, "count");
    }
    if (r < 0) {
        throw CallError("AddRules: build the call: " + std::string(std::strerror(-r)));
    }
    const double t0 = now_ms();
    const Message reply = call(std::move(request), "AddRules");
    const double ms = now_ms() - t0;
    const void* ids = nullptr;
    std::size_t size = 0;
    r = sd_bus_message_read_array(reply.get(), 't', &ids, &size);
    if (r < 0 || size != sizeof(std::uint64_t)) {
        throw CallError("AddRules (call " + std::to_string(calls_) +
                        "): expected one rule id, got " +
                        (r < 0 ? std::string(std::strerror(-r))
                               : std::to_string(size / sizeof(std::uint64_t))));
    }
    ++rules_added_;
    return ms;
}

double Probe::read_resizing(std::uint64_t& moved, std::uint64_t& total) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &raw, dbus::kServiceName, o_.matcher.c_str(),
                                           "org.freedesktop.DBus.Properties", "Get");
    Message request(raw);
    if (r >= 0) {
        r = sd_bus_message_append(request.get(), "ss", dbus::kMatcherInterface, "Resizing");
    }
    if (r < 0) {
        throw CallError("Get Resizing: build the call: " + std::string(std::strerror(-r)));
    }
    const double t0 = now_ms();
    const Message reply = call(std::move(request), "Get Resizing");
    const double ms = now_ms() - t0;
    r = sd_bus_message_read(reply.get(), "v", "(tt)", &moved, &total);
    if (r < 0) {
        throw CallError("Get Resizing (call " + std::to_string(calls_) +
                        "): not a (tt): " + std::strerror(-r));
    }
    return ms;
}

void Probe::run() {
    const double deadline = now_ms() + static_cast<double>(o_.max_seconds) * 1e3;
    bool was_resizing = false;
    for (std::uint64_t value = o_.start;; ++value) {
        if (o_.max_calls && calls_ >= *o_.max_calls) {
            stopped_ = "max-calls";
            return;
        }
        if (now_ms() >= deadline) {
            stopped_ = "max-seconds";
            return;
        }
        if (!o_.stop_file.empty() && access(o_.stop_file.c_str(), F_OK) == 0) {
            stopped_ = "stop-file";
            return;
        }
        const double add_ms = add_rule(value);
        add_ms_.push_back(add_ms);
        std::uint64_t moved = 0;
        std::uint64_t total = 0;
        const double get_ms = read_resizing(moved, total);
        all_ms_.push_back(add_ms);
        all_ms_.push_back(get_ms);
        const bool resizing = moved != 0 || total != 0;
        if (resizing || was_resizing) {
            during_ms_.push_back(add_ms);
            during_ms_.push_back(get_ms);
        }
        resize_total_ = std::max(resize_total_, total);
        if (!o_.ready.empty() && value == o_.start) {
            std::ofstream(o_.ready).put('\n');
        }
        if (resizing) {
            resize_seen_ = true;
        } else if (resize_seen_ && o_.stop_file.empty()) {
            resize_ended_ = true;
            stopped_ = "resize-ended";
            return;
        }
        was_resizing = resizing;
    }
}

void Probe::write_add_samples() const {
    if (o_.add_samples.empty()) {
        return;
    }
    std::ofstream out(o_.add_samples);
    for (const double ms : add_ms_) {
        out << round3(ms) << '\n';
    }
    if (!out.flush()) {
        throw std::runtime_error("--add-samples " + o_.add_samples + ": cannot write");
    }
}

json Probe::summary() const {
    const auto max_of = [](const std::vector<double>& v) {
        return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
    };
    return {{"calls", calls_},
            {"during_resize", during_ms_.size()},
            {"resize_seen", resize_seen_},
            {"resize_ended", resize_ended_},
            {"resize_total", resize_total_},
            {"max_ms", round3(max_of(all_ms_))},
            {"p99_ms", round3(percentile(all_ms_, 99))},
            {"p50_ms", round3(percentile(all_ms_, 50))},
            {"max_during_resize_ms", round3(max_of(during_ms_))},
            {"p99_during_resize_ms", round3(percentile(during_ms_, 99))},
            {"p50_during_resize_ms", round3(percentile(during_ms_, 50))},
            {"rules_added", rules_added_},
            {"stopped", stopped_.empty() ? json(nullptr) : json(stopped_)}};
}

int run(int argc, char** argv) {
    std::optional<Options> o;
    try {
        o = parse_options(argc, argv);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "sgnic-bus-probe: %s (--help for usage)\n", e.what());
        return 2;
    }
    if (!o) {
        return 0;
    }
    char* encoded = nullptr;
    if (const int r = sd_bus_path_encode(dbus::kPortPrefix, o->port.c_str(), &encoded); r < 0) {
        std::fprintf(stderr, "sgnic-bus-probe: --port '%s': %s\n", o->port.c_str(),
                     std::strerror(-r));
        return 2;
    }
    const CString port_path(encoded);
    sd_bus* raw = nullptr;
    if (const int r = sd_bus_open_system(&raw); r < 0) {
        std::fprintf(stderr, "sgnic-bus-probe: system bus: %s\n", std::strerror(-r));
        return 2;
    }
    const Bus bus(raw);
    Probe probe(bus.get(), *o, port_path.get());
    int status = 0;
    try {
        probe.run();
    } catch (const CallError& e) {
        std::fprintf(stderr, "sgnic-bus-probe: %s\n", e.what());
        status = 1;
    }
    probe.write_add_samples();
    std::printf("%s\n", probe.summary().dump().c_str());
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sgnic-bus-probe: %s\n", e.what());
    }
    return 2;
}
