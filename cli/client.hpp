// sgnicctl's D-Bus side: one method per call it makes on org.sgnic.Steering1,
// with the daemon's errors kept as they are and the ones that mean "sgnicd
// is not there" turned into one clear sentence.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "cli/grammar.hpp"
#include "cli/load.hpp"
#include "sgnic/proto/sd.hpp"

namespace sgnic::cli {

struct CallError {
    std::string name;  // D-Bus error name
    std::string message;
    bool not_running = false;        // the service has no owner
    bool activation_failed = false;  // ... and starting it failed
    bool denied = false;             // AccessDenied
    bool unknown_method = false;     // UnknownMethod: an older sgnicd
};

template <typename T>
using Outcome = std::variant<T, CallError>;

struct MatcherRef {
    std::uint64_t id = 0;
    std::string port;
};

class Client {
public:
    // The system bus (DBUS_SYSTEM_BUS_ADDRESS when set).
    static Outcome<Client> open();

    Outcome<std::string> version();
    Outcome<std::string> describe();
    Outcome<std::string> describe_port(const std::string& port);
    Outcome<std::string> describe_matcher(std::uint64_t id);
    // One page of DescribeRules (ids above `after`, at most `limit`).
    Outcome<std::string> describe_rules(const std::string& port, std::uint64_t matcher,
                                        std::uint64_t after, std::uint32_t limit);
    Outcome<std::string> stats();
    Outcome<std::vector<std::string>> list_ports();
    Outcome<std::vector<MatcherRef>> list_matchers();

    Outcome<std::uint64_t> create_matcher(const std::string& port, std::uint32_t priority,
                                          std::span<const proto::FieldText> fields);
    Outcome<bool> delete_matcher(std::uint64_t id);
    Outcome<std::vector<std::uint64_t>> add_rules(const std::string& port,
                                                  std::span<const RuleText> rules);
    // Same call for `rule load`, whose items carry where they came from.
    Outcome<std::vector<std::uint64_t>> add_rules(const std::string& port,
                                                  std::span<const LoadItem> rules);
    Outcome<bool> delete_rules(std::span<const std::uint64_t> ids);
    // Port.LoadRules: the records in `fd` (cli/load.hpp Records) as one
    // job of at most `chunk` rules per batch; progress(settled) while it
    // runs; its Finished.  The daemon vanishing ends the wait.  With port
    // "", Manager.LoadRules: `fd` holds rule lines (cli/load.hpp RuleLines)
    // and each rule goes to its matcher's port.  `per_matcher`, if not
    // empty, is the file's rules per matcher (the "matchers" option).
    Outcome<JobOutcome> load_rules(const std::string& port, int fd, std::uint64_t rules,
                                   std::uint32_t chunk, const RuleCounts& per_matcher,
                                   const std::function<void(std::uint64_t)>& progress);
    // Matcher.Reserve: room for rx and tx more rules; whether it resized.
    Outcome<bool> reserve(std::uint64_t matcher, std::uint64_t rx, std::uint64_t tx);
    // Manager.FlushRules: every rule of the port ("" for all); how many went.
    Outcome<std::uint64_t> flush_rules(const std::string& port);

    sd_bus* bus() { return bus_.get(); }

private:
    explicit Client(sd::Bus bus) : bus_(std::move(bus)) {}

    template <typename Fill>
    Outcome<sd::Message> call(const std::string& path, const char* iface, const char* member,
                              Fill fill);
    Outcome<std::string> call_string(const std::string& path, const char* iface,
                                     const char* member);

    sd::Bus bus_;
};

// The object path of a port (sd_bus_path_encode) and a matcher.
std::string port_object(const std::string& port);
std::string matcher_object(std::uint64_t id);
// 0 when the path is not a matcher's.
std::uint64_t matcher_id_of(std::string_view path);

// The line sgnicctl prints for a failed call (without "sgnicctl: ").
std::string describe_error(const CallError& e);

}  // namespace sgnic::cli
