// The built sgnicctl, run as a subprocess against org.sgnic.Steering1 served
// by the real Service over the fake device on a private dbus-daemon
// (DBUS_SYSTEM_BUS_ADDRESS points sgnicctl at it).  Output, JSON, exit
// statuses.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bus/server.hpp"
#include "fake_kernel.hpp"
#include "policy_fake_device.hpp"
#include "private_bus.hpp"
#include "service/service.hpp"
#include "sgnic/proto/version.hpp"

namespace sgnic::cli {
namespace {

using bus::testing::PrivateBus;
using bus::testing::ServiceThread;
using nlohmann::json;
using policy::testing::FakeDevice;
using service::testing::FakeKernel;

struct Outcome {
    int status = -1;
    std::string out;
    std::string err;
};

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// execv()'s argument vector over `words` (which must outlive it).
std::vector<char*> exec_argv(std::vector<std::string>& words) {
    std::vector<char*> argv;
    argv.reserve(words.size() + 1);
    for (auto& w : words) {
        argv.push_back(w.data());
    }
    argv.push_back(nullptr);
    return argv;
}

// sgnicctl ARGS with the system bus at `address`, stdin from `input`.
Outcome sgnicctl(const std::string& address, const std::vector<std::string>& args,
                 const std::string& input = "") {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("sgnicctl-" + std::to_string(getpid()) + "-" +
                      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir);
    { std::ofstream(dir / "in") << input; }
    const std::string in = dir / "in";
    const std::string out = dir / "out";
    const std::string err = dir / "err";
    const std::string env = "DBUS_SYSTEM_BUS_ADDRESS=" + address;
    std::vector<std::string> argv_s = {SGNICCTL};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv = exec_argv(argv_s);
    const pid_t pid = fork();
    if (pid == 0) {
        const int i = open(in.c_str(), O_RDONLY);
        const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(i, 0);
        dup2(o, 1);
        dup2(e, 2);
        putenv(const_cast<char*>(env.c_str()));  // NOLINT: the child execs at once
        execv(argv[0], argv.data());
        _exit(127);
    }
    Outcome r;
    int status = 0;
    waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    std::filesystem::remove_all(dir);
    return r;
}

class Sgnicctl : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(dbus_.address().empty()) << "dbus-daemon did not start";
        service_.emplace(device_, kernel_, kernel_, std::nullopt, model::DesiredState{},
                         policy::PolicyConfig{});
        ASSERT_TRUE(service_->reconcile());
        served_.emplace(dbus_.address(), *service_,
                        [this](sd_bus_message* /*m*/) { return allow_.load(); });
        ASSERT_TRUE(served_->started()) << "the service did not come up";
    }

    void TearDown() override { served_.reset(); }

    Outcome ctl(const std::vector<std::string>& args, const std::string& input = "") {
        return sgnicctl(dbus_.address(), args, input);
    }

    static json parsed(const Outcome& r) {
        try {
            return json::parse(r.out);
        } catch (const json::parse_error& e) {
            ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out;
            return {};
        }
    }

    // A matcher on sg0 matching ipv4-dst/24 and ip-proto; its id.
    std::uint64_t matcher(const std::string& port = "sg0") {
        const Outcome r =
            ctl({"matcher", "create", "dev", port, "prio", "1", "match", "ipv4-dst/24,ip-proto"});
        EXPECT_EQ(r.status, 0) << r.err;
        return std::stoull(r.out);
    }

    PrivateBus dbus_;
    FakeDevice device_;
    FakeKernel kernel_{device_};
    std::optional<service::Service> service_;
    std::atomic<bool> allow_{true};
    std::optional<ServiceThread> served_;
};

TEST_F(Sgnicctl, port_list_and_show_in_columns_and_json) {
    const Outcome list = ctl({"port", "list"});
    ASSERT_EQ(list.status, 0) << list.err;
    EXPECT_EQ(list.out.substr(0, list.out.find('\n')),
              "PORT  IFINDEX  RX_RULES  TX_RULES  PAGES  PAGE_MEMORY");
    EXPECT_NE(list.out.find("\nsg0         7         0         0      0          0 B\n"),
              std::string::npos)
        << list.out;

    const Outcome j = ctl({"-j", "port", "list"});
    ASSERT_EQ(j.status, 0) << j.err;
    const json ports = parsed(j);
    ASSERT_EQ(ports["ports"].size(), 2U);
    EXPECT_EQ(ports["ports"][0]["name"], "sg0");
    EXPECT_EQ(ports["ports"][1]["name"], "sg-1");
    EXPECT_EQ(ports["ports"][1]["ifindex"], 8);

    const Outcome pretty = ctl({"port", "show", "sg-1", "-p"});
    ASSERT_EQ(pretty.status, 0) << pretty.err;
    EXPECT_NE(pretty.out.find("\n  \"name\": \"sg-1\""), std::string::npos) << pretty.out;
    const json show = parsed(pretty);
    EXPECT_EQ(show["counters"]["rx_packets"], 0);
    EXPECT_TRUE(show["matchers"].is_array());

    const Outcome missing = ctl({"port", "show", "sg9"});
    EXPECT_EQ(missing.status, 2);
    EXPECT_EQ(missing.err, "sgnicctl: no sgnic port 'sg9'\n");
    EXPECT_TRUE(missing.out.empty());
}

TEST_F(Sgnicctl, matcher_create_list_show_delete) {
    const Outcome created = ctl({"matcher", "create", "dev", "sg0", "prio", "3", "match",
                                 "ipv4-dst/24,ip-proto", "match", "dmac/ff:ff:ff:00:00:00"});
    ASSERT_EQ(created.status, 0) << created.err;
    EXPECT_EQ(created.out, "1\n");

    const Outcome list = ctl({"matcher", "list", "-j"});
    ASSERT_EQ(list.status, 0) << list.err;
    const json ms = parsed(list)["matchers"];
    ASSERT_EQ(ms.size(), 1U);
    EXPECT_EQ(ms[0]["id"], 1);
    EXPECT_EQ(ms[0]["priority"], 3);
    EXPECT_EQ(ms[0]["template"][0], (json{{"field", "ipv4-dst"}, {"mask", "255.255.255.0"}}));
    EXPECT_EQ(ms[0]["template"][1], (json{{"field", "ip-proto"}, {"mask", "0xff"}}));
    EXPECT_EQ(ms[0]["template"][2], (json{{"field", "dmac"}, {"mask", "ff:ff:ff:00:00:00"}}));
    EXPECT_EQ(parsed(ctl({"-j", "matcher", "list", "dev", "sg-1"}))["matchers"].size(), 0U);

    const Outcome human = ctl({"matcher", "list"});
    EXPECT_NE(human.out.find("ID  PORT  PRIO  INSTALLED  RX_LOG"), std::string::npos) << human.out;

    const Outcome show = ctl({"-j", "matcher", "show", "1"});
    ASSERT_EQ(show.status, 0) << show.err;
    EXPECT_EQ(parsed(show)["rx"]["size_log"], 1);
    EXPECT_EQ(parsed(show)["port"], "sg0");
    EXPECT_NE(ctl({"matcher", "show", "1"}).out.find("matcher 1 on sg0, priority 3"),
              std::string::npos);

    EXPECT_EQ(ctl({"matcher", "delete", "1"}).status, 0);
    const Outcome gone = ctl({"matcher", "show", "1"});
    EXPECT_EQ(gone.status, 2);
    EXPECT_EQ(gone.err, "sgnicctl: no matcher 1\n");
    EXPECT_TRUE(service_->desired().matchers.empty());
}

TEST_F(Sgnicctl, rules_are_added_listed_with_counters_and_deleted) {
    const std::uint64_t m = matcher();
    const Outcome added = ctl({"rule", "add", "matcher", std::to_string(m), "dir", "rx", "ipv4-dst",
                               "10.1.2.0", "ip-proto", "tcp", "action", "count", "queue", "3"});
    ASSERT_EQ(added.status, 0) << added.err;
    EXPECT_EQ(added.out, "1\n");
    const Outcome second = ctl({"-j", "rule", "add", "dev", "sg0", "matcher", std::to_string(m),
                                "ipv4-dst", "10.1.3.0/24", "action", "drop"});
    ASSERT_EQ(second.status, 0) << second.err;
    EXPECT_EQ(parsed(second), (json{{"id", 2}}));

    ASSERT_EQ(device_.rules.size(), 2U);
    for (const auto& [id, r] : device_.rules) {
        kernel_.counters[id] = {
            .id = id, .rx_packets = 1000, .rx_bytes = 1536000, .tx_packets = 0, .tx_bytes = 0};
    }
    const Outcome list = ctl({"rule", "list", "-j"});
    ASSERT_EQ(list.status, 0) << list.err;
    const json rules = parsed(list)["rules"];
    ASSERT_EQ(rules.size(), 2U);
    EXPECT_EQ(rules[0]["id"], 1);
    EXPECT_EQ(rules[0]["directions"], "rx");
    EXPECT_EQ(rules[0]["actions"], (json{"count", "queue 3"}));
    EXPECT_EQ(rules[0]["counters"]["rx_packets"], 1000);
    EXPECT_EQ(rules[0]["counters"]["rx_bytes"], 1536000);
    EXPECT_EQ(rules[1]["directions"], "both");

    const Outcome human = ctl({"rule", "list", "matcher", std::to_string(m)});
    EXPECT_NE(human.out.find("ID  MATCHER  PORT  DIR   MATCH"), std::string::npos) << human.out;
    EXPECT_NE(human.out.find("1.0k  1.5 MiB"), std::string::npos) << human.out;

    const Outcome stats = ctl({"-j", "stats"});
    ASSERT_EQ(stats.status, 0) << stats.err;
    EXPECT_EQ(parsed(stats)["total"]["rx_packets"], 2000);
    EXPECT_EQ(parsed(stats)["total"]["rx_rules"], 2);
    EXPECT_EQ(parsed(stats)["total"]["tx_rules"], 1);

    EXPECT_EQ(ctl({"rule", "delete", "1"}).status, 0);
    const Outcome again = ctl({"rule", "delete", "1", "2"});
    EXPECT_EQ(again.status, 2);
    EXPECT_EQ(again.err, "sgnicctl: no rule 1\n");
    EXPECT_EQ(service_->desired().rules.size(), 1U) << "an unknown id deletes nothing";

    const Outcome flush = ctl({"rule", "flush", "dev", "sg0"});
    ASSERT_EQ(flush.status, 0) << flush.err;
    EXPECT_EQ(flush.out, "deleted 1 rule\n");
    EXPECT_TRUE(service_->desired().rules.empty());
    EXPECT_EQ(service_->desired().matchers.size(), 1U) << "flush keeps matchers";
}

TEST_F(Sgnicctl, daemon_errors_are_shown_as_they_are_with_status_2) {
    const std::uint64_t m = matcher();
    // 10.1.2.3 has bits outside the /24 mask: only the matcher can tell.
    const Outcome r = ctl(
        {"rule", "add", "matcher", std::to_string(m), "ipv4-dst", "10.1.2.3", "action", "drop"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err,
              "sgnicctl: ipv4-dst: value '10.1.2.3' has bits outside the matcher's mask "
              "255.255.255.0\n");
    const Outcome wrong_port = ctl({"rule", "add", "dev", "sg-1", "matcher", std::to_string(m),
                                    "ip-proto", "udp", "action", "drop"});
    EXPECT_EQ(wrong_port.status, 2);
    EXPECT_NE(wrong_port.err.find("is on port 'sg0', not 'sg-1'"), std::string::npos)
        << wrong_port.err;
    EXPECT_TRUE(service_->desired().rules.empty());
}

TEST_F(Sgnicctl, callers_without_net_admin_are_told_and_can_still_read) {
    matcher();
    allow_ = false;
    const Outcome r = ctl({"matcher", "create", "dev", "sg0", "match", "l4-dport"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err,
              "sgnicctl: CreateMatcher needs CAP_NET_ADMIN; reading (Describe, properties) is "
              "open\n");
    EXPECT_EQ(ctl({"rule", "delete", "1"}).status, 2);
    const Outcome load = ctl({"rule", "load", "-"},
                             "matcher 1 ip-proto tcp action drop\n"
                             "matcher 1 ip-proto udp action drop\n");
    EXPECT_EQ(load.status, 2);
    EXPECT_NE(load.out.find("loaded 0, failed 2"), std::string::npos) << load.out;
    EXPECT_NE(load.out.find("LoadRules needs CAP_NET_ADMIN"), std::string::npos) << load.out;
    EXPECT_EQ(ctl({"port", "list"}).status, 0);
    EXPECT_EQ(ctl({"rule", "list"}).status, 0);
    EXPECT_EQ(service_->desired().matchers.size(), 1U);
}

TEST_F(Sgnicctl, rule_load_of_thousands_reports_each_failure_and_loads_the_rest) {
    const std::uint64_t m = matcher();
    const std::string id = std::to_string(m);
    std::ostringstream text;
    text << "# generated\n\n";
    constexpr int kRules = 3000;
    for (int i = 0; i < kRules; ++i) {
        const std::string dst =
            "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0";
        if (i == 10) {
            text << "matcher " << id << " ipv4-dst 10.0.0.256 action drop\n";  // bad address
        } else if (i == 700) {
            text << "matcher " << id << " ipv4-dst " << dst << " action jump 3\n";  // bad action
        } else if (i == 1500) {
            text << "matcher " << id << " ipv4-dst 10.9.9.9 action drop  # outside /24\n";
        } else if (i == 2000) {
            text << "matcher 99 ipv4-dst " << dst << " action drop\n";  // no such matcher
        } else {
            text << "matcher " << id << " dir rx ipv4-dst " << dst
                 << " ip-proto tcp action count\n";
        }
    }
    // The 1234th insert the device sees fails: the daemon names the rule and
    // sgnicctl sends the rest of that chunk again.
    device_.fail({.op = policy::testing::Op::insert_rule,
                  .code = Errc::device,
                  .skip = 1233,
                  .times = 1,
                  .moved = 0});
    const auto dir = std::filesystem::temp_directory_path() / ("sgnic-load-" + id);
    std::filesystem::create_directories(dir);
    const auto file = dir / ("rules-" + std::to_string(getpid()) + ".txt");
    std::ofstream(file) << text.str();
    const Outcome r = ctl({"rule", "load", file.string(), "chunk", "500"});
    std::filesystem::remove_all(dir);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_TRUE(r.err.empty()) << "no progress bar when stderr is not a terminal: " << r.err;
    EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "loaded 2995, failed 5") << r.out;
    EXPECT_NE(r.out.find("line 13: ipv4-dst: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("line 703: unknown action 'jump'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("line 1503: ipv4-dst: value '10.9.9.9' has bits outside"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("line 2003: no matcher 99"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("injected insert failure"), std::string::npos) << r.out;
    EXPECT_EQ(service_->desired().rules.size(), 2995U);
    EXPECT_EQ(device_.rules.size(), 2995U);

    // JSON form, with the -j summary.
    const json doc = {{"rules",
                       {{{"matcher", m},
                         {"dir", "rx"},
                         {"match", {{"ipv4-dst", "10.200.0.0"}}},
                         {"actions", {"mark 7", "accept"}}},
                        {{"dev", "sg0"},
                         {"matcher", m},
                         {"match", json::array({{{"field", "ip-proto"}, {"value", "udp"}}})},
                         {"actions", "drop"}},
                        {{"matcher", m}, {"match", {{"ip-proto", "tcp"}}}}}}};
    const Outcome j = ctl({"-j", "rule", "load", "-"}, doc.dump());
    EXPECT_EQ(j.status, 2);
    const json summary = parsed(j);
    EXPECT_EQ(summary["loaded"], 2);
    EXPECT_EQ(summary["failed"], 1);
    EXPECT_EQ(summary["failures"][0]["where"], "rule 3");
    EXPECT_EQ(summary["failures"][0]["reason"], "a rule needs \"actions\"");

    ASSERT_EQ(ctl({"rule", "flush"}).status, 0);
    EXPECT_TRUE(service_->desired().rules.empty());
}

TEST_F(Sgnicctl, rule_list_output_loads_back) {
    const std::uint64_t m = matcher();
    ASSERT_EQ(ctl({"rule", "add", "matcher", std::to_string(m), "dir", "rx", "ipv4-dst",
                   "192.168.1.0", "action", "mark", "9"})
                  .status,
              0);
    const Outcome saved = ctl({"-j", "rule", "list"});
    ASSERT_EQ(saved.status, 0);
    ASSERT_EQ(ctl({"rule", "flush"}).status, 0);
    const Outcome load = ctl({"rule", "load", "-"}, saved.out);
    ASSERT_EQ(load.status, 0) << load.out << load.err;
    EXPECT_EQ(load.out, "loaded 1, failed 0\n");
    const json rules = parsed(ctl({"-j", "rule", "list"}))["rules"];
    ASSERT_EQ(rules.size(), 1U);
    EXPECT_EQ(rules[0]["directions"], "rx");
    EXPECT_EQ(rules[0]["actions"], (json{"mark 9"}));
    EXPECT_EQ(rules[0]["match"][0]["value"], "192.168.1.0");
}

TEST_F(Sgnicctl, rule_load_draws_a_progress_bar_on_a_terminal) {
    const std::uint64_t m = matcher();
    std::ostringstream text;
    for (int i = 0; i < 2000; ++i) {
        text << "matcher " << m << " ipv4-dst 10." << i / 256 << "." << i % 256
             << ".0 action drop\n";
    }
    const auto file = std::filesystem::temp_directory_path() /
                      ("sgnic-progress-" + std::to_string(getpid()) + ".txt");
    std::ofstream(file) << text.str();
    int master = -1;
    int slave = -1;
    ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
    const std::string env = "DBUS_SYSTEM_BUS_ADDRESS=" + dbus_.address();
    std::vector<std::string> argv_s = {SGNICCTL, "rule", "load", file.string(), "chunk", "100"};
    std::vector<char*> argv = exec_argv(argv_s);
    const pid_t pid = fork();
    if (pid == 0) {
        const int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(slave, 2);
        putenv(const_cast<char*>(env.c_str()));  // NOLINT: the child execs at once
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(slave);
    std::string err;
    std::array<char, 4096> buf{};
    for (;;) {
        const ssize_t n = read(master, buf.data(), buf.size());
        if (n <= 0) {
            break;  // EIO once the child has closed the terminal
        }
        err.append(buf.data(), static_cast<std::size_t>(n));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    close(master);
    std::filesystem::remove(file);
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_NE(err.find("[##############################] 100%  2.0k/2.0k"), std::string::npos)
        << err;
    EXPECT_NE(err.find(" rules/s  ETA "), std::string::npos) << err;
    EXPECT_EQ(service_->desired().rules.size(), 2000U);
}

TEST_F(Sgnicctl, monitor_prints_one_line_per_event_until_sigterm) {
    std::array<int, 2> fds{};
    ASSERT_EQ(pipe(fds.data()), 0);
    const std::string env = "DBUS_SYSTEM_BUS_ADDRESS=" + dbus_.address();
    std::string bin = SGNICCTL;
    std::string j = "-j";
    std::string mon = "monitor";
    std::array<char*, 4> argv = {bin.data(), j.data(), mon.data(), nullptr};
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        putenv(const_cast<char*>(env.c_str()));  // NOLINT: the child execs at once
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(fds[1]);
    std::string buffer;
    auto next_line = [&]() -> std::string {
        for (;;) {
            if (const auto nl = buffer.find('\n'); nl != std::string::npos) {
                std::string line = buffer.substr(0, nl);
                buffer.erase(0, nl + 1);
                return line;
            }
            pollfd p{.fd = fds[0], .events = POLLIN, .revents = 0};
            if (poll(&p, 1, 10000) <= 0) {
                return "timeout";
            }
            std::array<char, 4096> chunk{};
            const ssize_t n = read(fds[0], chunk.data(), chunk.size());
            if (n <= 0) {
                return "eof";
            }
            buffer.append(chunk.data(), static_cast<std::size_t>(n));
        }
    };
    const json start = json::parse(next_line());
    EXPECT_EQ(start, (json{{"event", "start"}, {"version", proto::kVersion}}));

    const std::uint64_t m = matcher();
    std::vector<json> events;
    events.push_back(json::parse(next_line()));
    events.push_back(json::parse(next_line()));
    EXPECT_EQ(events[0], (json{{"event", "added"}, {"matcher", m}}));
    EXPECT_EQ(events[1]["event"], "changed");
    EXPECT_EQ(events[1]["port"], "sg0");
    EXPECT_EQ(events[1]["properties"]["Matchers"], 1);

    // Two RX rules cross 70 % of two rows: the load grows RX once, first.
    ASSERT_EQ(ctl({"rule", "load", "-"},
                  "matcher 1 dir rx ipv4-dst 10.0.1.0 action drop\n"
                  "matcher 1 dir rx ipv4-dst 10.0.2.0 action drop\n")
                  .status,
              0);
    bool rehashed = false;
    for (int i = 0; i < 6 && !rehashed; ++i) {
        const json ev = json::parse(next_line());
        if (ev["event"] == "rehashed") {
            rehashed = true;
            EXPECT_EQ(ev["matcher"], m);
            EXPECT_EQ(ev["rx"], (json{{"from", 1}, {"to", 2}}));
            EXPECT_EQ(ev["reason"], "presize");
        }
    }
    EXPECT_TRUE(rehashed);

    ASSERT_EQ(ctl({"matcher", "delete", std::to_string(m)}).status, 0);
    bool removed = false;
    for (int i = 0; i < 6 && !removed; ++i) {
        const json ev = json::parse(next_line());
        removed = ev == json{{"event", "removed"}, {"matcher", m}};
    }
    EXPECT_TRUE(removed);

    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    EXPECT_TRUE(WIFEXITED(status)) << "monitor ends on SIGTERM by itself";
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(Sgnicctl, version_names_both_sides) {
    const Outcome r = ctl({"version", "-j"});
    ASSERT_EQ(r.status, 0) << r.err;
    const std::string v = proto::kVersion;
    EXPECT_EQ(parsed(r), (json{{"sgnicctl", v}, {"sgnicd", v}}));
    EXPECT_EQ(ctl({"version"}).out, "sgnicctl " + v + "\nsgnicd " + v + "\n");
}

// No service on the bus, or no bus at all.
TEST(SgnicctlAlone, a_missing_daemon_is_one_clear_line_and_status_2) {
    const PrivateBus empty;
    ASSERT_FALSE(empty.address().empty());
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"port", "list"}, {"rule", "list"}, {"stats"}, {"monitor"}, {"rule", "load", "-"}}) {
        // stdin for `rule load -`: its rule is not reported as a failure,
        // the missing daemon is.
        const Outcome r = sgnicctl(empty.address(), args, "matcher 1 l4-dport 53 action drop\n");
        EXPECT_EQ(r.status, 2) << args[0];
        EXPECT_EQ(r.err,
                  "sgnicctl: sgnicd is not running (org.sgnic.Steering1 has no owner on the "
                  "system bus)\n")
            << args[0];
    }
    const Outcome nobus = sgnicctl("unix:path=/nonexistent/sgnic-test-bus", {"port", "list"});
    EXPECT_EQ(nobus.status, 2);
    EXPECT_NE(nobus.err.find("cannot connect to the system bus"), std::string::npos) << nobus.err;
    EXPECT_EQ(std::count(nobus.err.begin(), nobus.err.end(), '\n'), 1);
}

// Usage errors never reach a bus: they fail the same with none there.
TEST(SgnicctlAlone, usage_errors_are_status_1_before_any_connection) {
    const std::string nowhere = "unix:path=/nonexistent/sgnic-test-bus";
    struct Case {
        std::vector<std::string> args;
        std::string first_line;
    };
    const std::vector<Case> cases = {
        {{}, "sgnicctl: no object given"},
        {{"frobnicate"}, "sgnicctl: unknown object 'frobnicate'"},
        {{"rule", "add", "matcher", "1", "ipv4-dst", "10.0.0.300", "action", "drop"},
         "sgnicctl: ipv4-dst: "},
        {{"matcher", "create", "dev", "bad/name", "match", "ip-proto"},
         "sgnicctl: port name 'bad/name' is not a valid netdev name"},
        {{"rule", "load"}, "sgnicctl: rule load needs a FILE"},
        {{"rule", "load", "/nonexistent/rules.txt"},
         "sgnicctl: rule load: cannot read '/nonexistent/rules.txt'"},
        {{"--frob"}, "sgnicctl: unknown option '--frob'"},
    };
    for (const Case& c : cases) {
        const Outcome r = sgnicctl(nowhere, c.args);
        EXPECT_EQ(r.status, 1) << c.first_line << "\n" << r.err;
        EXPECT_TRUE(r.err.starts_with(c.first_line)) << r.err;
        EXPECT_NE(r.err.find("\nhint: "), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty());
    }
    const Outcome help = sgnicctl(nowhere, {"rule", "--help"});
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("sgnicctl rule load FILE"), std::string::npos);
}

}  // namespace
}  // namespace sgnic::cli
