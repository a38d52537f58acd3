#include "app/daemon.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <malloc.h>
#include <sys/epoll.h>

#include <array>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "bus/server.hpp"
#include "log/log.hpp"
#include "service/service.hpp"
#include "sgnic/proto/sd.hpp"
#include "store/seal.hpp"

namespace sgnic::app {

using service::KernelWatch;
using service::ReconcileReport;
using service::Service;

namespace {

// How long news from the kernel may gather before one reconcile handles it
// all (a module load announces every port at once).
constexpr std::uint64_t kReconcileDelayUsec = 200'000;

// The start timeout asked for before the first reconcile: a start after a
// reboot finds empty tables and adds every stored rule, which takes time in
// proportion to them (systemd's TimeoutStartSec would end it otherwise).
constexpr std::uint64_t kStartBaseUsec = 90'000'000;
constexpr std::uint64_t kStartUsecPerRule = 1'000;
// Fewer than a rule's row takes in state.db (~35 bytes), so a file's size
// over this never counts too few rules.
constexpr std::uintmax_t kStoreBytesPerRule = 32;

struct Loop {
    Service& service;
    std::string status;
    std::uint64_t watchdog_usec = 0;
    KernelWatch* watch = nullptr;
    sd_event_source* reconcile_timer = nullptr;  // owned by the sd::EventSource in run_daemon
    sd_event_source* resize_steps = nullptr;     // likewise
    std::string reconcile_why;
};

void log_reconcile(const ReconcileReport& r, const std::string& why, std::size_t rules) {
    if (r.adoption) {
        const std::string text = fmt::format(
            "adopted ({}): {} matchers and {} rules taken over as the kernel holds them; {} "
            "resizes settled, {} rules replaced, {} rules and {} matchers deleted, {} matchers and "
            "{} rules added; {} matchers and {} rules of other owners left alone; {} matchers "
            "waiting for their port, {} failures{}{}",
            why, r.adopted_matchers, r.adopted_rules, r.settled_resizes, r.replaced_rules,
            r.deleted_rules, r.deleted_matchers, r.added_matchers, r.added_rules,
            r.foreign_matchers, r.foreign_rules, r.waiting, r.failed,
            r.policy_reset ? "; policy restarted" : "",
            r.sealed ? "; the rules as the last stop sealed them, none read" : "");
        const std::array fields = {
            log::Field{"SGNIC_REASON", why},
            log::Field{"SGNIC_SEALED", r.sealed ? "1" : "0"},
            log::Field{"SGNIC_RULES", std::to_string(rules)},
            log::Field{"SGNIC_ADOPTED_MATCHERS", std::to_string(r.adopted_matchers)},
            log::Field{"SGNIC_ADOPTED_RULES", std::to_string(r.adopted_rules)},
            log::Field{"SGNIC_SETTLED_RESIZES", std::to_string(r.settled_resizes)},
            log::Field{"SGNIC_REPLACED_RULES", std::to_string(r.replaced_rules)},
            log::Field{"SGNIC_DELETED_RULES", std::to_string(r.deleted_rules)},
            log::Field{"SGNIC_DELETED_MATCHERS", std::to_string(r.deleted_matchers)},
            log::Field{"SGNIC_ADDED_MATCHERS", std::to_string(r.added_matchers)},
            log::Field{"SGNIC_ADDED_RULES", std::to_string(r.added_rules)},
            log::Field{"SGNIC_FOREIGN_MATCHERS", std::to_string(r.foreign_matchers)},
            log::Field{"SGNIC_FOREIGN_RULES", std::to_string(r.foreign_rules)},
            log::Field{"SGNIC_FAILED", std::to_string(r.failed)},
        };
        log::event(r.failed == 0 ? log::Level::info : log::Level::warning, log::msgid::adopted,
                   text, fields);
        return;
    }
    spdlog::info(
        "reconciled ({}): {} stray rules and {} matchers deleted, {} matchers and {} rules "
        "added, {} matchers waiting for their port, {} failures{}",
        why, r.deleted_rules, r.deleted_matchers, r.added_matchers, r.added_rules, r.waiting,
        r.failed, r.policy_reset ? "; policy restarted" : "");
}

// A reconcile reads the kernel's whole state (a few hundred bytes a rule,
// for the time of the call).  glibc keeps what it frees mapped for reuse:
// without this, sgnicd's RSS after a start over 200k rules was 535 bytes a
// rule instead of the ~130 its tables hold.  malloc_trim() hands back every
// whole free page.
void release_free_memory() { (void)malloc_trim(0); }

int on_reconcile_timer(sd_event_source* /*source*/, std::uint64_t /*usec*/, void* userdata) {
    auto& loop = *static_cast<Loop*>(userdata);
    const std::string why = std::exchange(loop.reconcile_why, {});
    auto report = loop.service.reconcile();
    release_free_memory();
    if (report) {
        log_reconcile(*report, why, loop.service.desired().rules.size());
    } else {
        log::error_limited("reconcile", "reconcile (" + why + "): " + report.error().message());
    }
    return 0;
}

int on_kernel_news(sd_event_source* /*source*/, int /*fd*/, std::uint32_t /*revents*/,
                   void* userdata) {
    auto& loop = *static_cast<Loop*>(userdata);
    KernelWatch::News news;
    try {
        news = loop.watch->read();
    } catch (const std::exception& e) {
        log::error_limited("watch", std::string("kernel notifications: ") + e.what());
        return 0;
    }
    for (const KernelWatch::Health& h : news.health) {
        if (h.error) {
            spdlog::warn("health: {} reporter {}: error (errors {}, recoveries {})", h.handle,
                         h.reporter, h.errors, h.recoveries);
        } else {
            spdlog::info("health: {} reporter {}: healthy (errors {}, recoveries {})", h.handle,
                         h.reporter, h.errors, h.recoveries);
        }
    }
    if (!news.reconcile) {
        return 0;
    }
    const std::array fields = {
        log::Field{"SGNIC_RULES", std::to_string(loop.service.desired().rules.size())}};
    if (news.module_gone) {
        log::event(log::Level::warning, log::msgid::module_gone,
                   "sgnic.ko is gone: its steering tables went with it; sgnicd keeps the "
                   "desired state and puts it back when the module returns",
                   fields);
    }
    if (news.module_back) {
        log::event(log::Level::info, log::msgid::module_back,
                   "sgnic.ko is back: sgnicd puts the desired state into it", fields);
    }
    spdlog::info("kernel: {}", news.why);
    if (!loop.reconcile_why.empty()) {
        loop.reconcile_why += ", ";
    }
    loop.reconcile_why += news.why;
    int r = sd_event_source_set_time_relative(loop.reconcile_timer, kReconcileDelayUsec);
    if (r >= 0) {
        r = sd_event_source_set_enabled(loop.reconcile_timer, SD_EVENT_ONESHOT);
    }
    if (r < 0) {
        spdlog::error("schedule a reconcile: {}", strerror(-r));
    }
    return 0;
}

std::string status_line(const Service& s) {
    if (s.read_only()) {
        return "read-only: " + *s.read_only();
    }
    return std::to_string(s.ports().size()) + " ports, " +
           std::to_string(s.desired().matchers.size()) + " matchers, " +
           std::to_string(s.desired().rules.size()) + " rules";
}

// One step of a rehash per loop iteration, at idle priority: D-Bus calls,
// kernel news, signals and the watchdog all go first.
int on_resize_step(sd_event_source* source, void* userdata) {
    auto& loop = *static_cast<Loop*>(userdata);
    if (!loop.service.resize_step()) {
        return sd_event_source_set_enabled(source, SD_EVENT_OFF);
    }
    return 0;
}

// After every loop iteration (networkd's post hook): STATUS= when it
// changed; rehash steps on while one is in progress.
int on_post(sd_event_source* /*source*/, void* userdata) {
    auto& loop = *static_cast<Loop*>(userdata);
    if (loop.resize_steps != nullptr && loop.service.resizing()) {
        (void)sd_event_source_set_enabled(loop.resize_steps, SD_EVENT_ON);
    }
    std::string status = status_line(loop.service);
    if (status != loop.status) {
        loop.status = std::move(status);
        (void)sd_notifyf(0, "STATUS=%s", loop.status.c_str());
    }
    return 0;
}

int on_watchdog(sd_event_source* source, std::uint64_t /*usec*/, void* userdata) {
    const auto& loop = *static_cast<Loop*>(userdata);
    (void)sd_notify(0, "WATCHDOG=1");
    int r = sd_event_source_set_time_relative(source, loop.watchdog_usec / 2);
    if (r >= 0) {
        r = sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
    }
    return r;
}

Expected<sd::Bus> open_bus(const config::Options& options) {
    sd_bus* raw = nullptr;
    int r = 0;
    if (options.bus_address) {
        r = sd_bus_new(&raw);
        sd::Bus bus(raw);
        if (r >= 0) {
            r = sd_bus_set_address(bus.get(), options.bus_address->c_str());
        }
        if (r >= 0) {
            r = sd_bus_set_bus_client(bus.get(), 1);
        }
        if (r >= 0) {
            r = sd_bus_start(bus.get());
        }
        if (r < 0) {
            return Error(Errc::device, "connect to " + *options.bus_address + ": " + strerror(-r));
        }
        return bus;
    }
    r = options.bus == config::BusKind::system ? sd_bus_open_system(&raw) : sd_bus_open_user(&raw);
    sd::Bus bus(raw);
    if (r < 0) {
        return Error(Errc::device, std::string("connect to the bus: ") + strerror(-r));
    }
    return bus;
}

// The seal the last clean stop left, if any; it is used once, so it goes.
std::optional<model::Seal> take_seal(const std::filesystem::path& dir) {
    auto seal = store::read_seal(dir);
    if (auto removed = store::remove_seal(dir); !removed) {
        spdlog::warn("state: {}", removed.error().message());
    }
    if (!seal) {
        spdlog::warn("state: {}; the start reads every rule from the kernel",
                     seal.error().message());
        return std::nullopt;
    }
    return std::move(*seal);
}

// What the kernel holds now, for the next start: it need not read every
// rule back if nothing changes in between.
void leave_seal(Service& service, const std::filesystem::path& dir) {
    auto seal = service.seal();
    if (!seal) {
        spdlog::info("stopping: no seal ({}); the next start reads every rule",
                     seal.error().message());
        return;
    }
    if (auto written = store::write_seal(dir, *seal); !written) {
        spdlog::warn("stopping: {}", written.error().message());
        return;
    }
    spdlog::info("stopping: sealed {} rules on {} ports", seal->rules.size(), seal->ports.size());
}

}  // namespace

int run_daemon(const config::Options& options, const config::Config& config, Kernel kernel) {
    std::optional<store::Store> store;
    model::DesiredState desired;
    // A store that cannot be read (corrupt, a newer schema) must not look
    // like an empty one: that would empty the kernel's tables, and exiting
    // would make systemd restart sgnicd in a loop.  sgnicd serves read-only.
    std::optional<std::string> read_only;
    std::optional<model::Seal> seal;
    const std::filesystem::path dir =
        options.state_dir ? std::filesystem::path(*options.state_dir) : config.state_dir;
    if (config.persistence) {
        seal = take_seal(dir);
        // Opening may upgrade the schema, a rewrite of every row (~30 s for
        // 1M rules in a TCG guest), and reading takes seconds: time for as
        // many rules as the file could hold, before either.
        std::error_code ec;
        const std::uintmax_t bytes = std::filesystem::file_size(store::Store::file_in(dir), ec);
        const std::uint64_t extend =
            kStartBaseUsec + kStartUsecPerRule * (ec ? 0 : bytes / kStoreBytesPerRule);
        (void)sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=reading the state",
                         static_cast<unsigned long long>(extend));
        auto opened = store::Store::open(dir);
        auto loaded = opened ? opened->load() : Expected<model::DesiredState>(opened.error());
        if (loaded) {
            desired = std::move(*loaded);
            store.emplace(std::move(*opened));
            spdlog::info("state: {} matchers, {} rules from {}", desired.matchers.size(),
                         desired.rules.size(), dir.string());
        } else {
            read_only = "the state in " + dir.string() + " cannot be read (" +
                        loaded.error().message() + ")";
            const std::array fields = {log::Field{"SGNIC_STATE_DIRECTORY", dir.string()}};
            log::event(log::Level::error, log::msgid::degraded,
                       "state: " + loaded.error().message() +
                           "; sgnicd runs read-only and leaves the kernel's steering tables as "
                           "they are until the state is repaired or moved away",
                       fields);
        }
    }

    sd_event* raw_event = nullptr;
    int r = sd_event_default(&raw_event);
    const sd::Event event(raw_event);
    if (r < 0) {
        spdlog::error("sd_event_default: {}", strerror(-r));
        return 1;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    // A NULL handler makes sd-event leave the loop on the signal.
    for (const int sig : {SIGTERM, SIGINT}) {
        r = sd_event_add_signal(event.get(), nullptr, sig, nullptr, nullptr);
        if (r < 0) {
            spdlog::error("signal {}: {}", sig, strerror(-r));
            return 1;
        }
    }

    Service service(kernel.device, kernel.ports, kernel.state, std::move(store), std::move(desired),
                    config.policy);
    service.set_manage_foreign(config.manage_foreign);
    service.set_deferred_inserts(kernel.deferred);
    if (read_only) {
        service.set_read_only(*read_only);
    }
    if (seal) {
        service.set_seal(std::move(*seal));
    }
    const std::uint64_t extend =
        kStartBaseUsec + kStartUsecPerRule * service.desired().rules.size();
    (void)sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=adopting the kernel's state",
                     static_cast<unsigned long long>(extend));
    auto report = service.reconcile();
    release_free_memory();
    if (!report) {
        spdlog::error("first reconcile: {}", report.error().message());
        return 1;
    }
    if (!read_only) {
        log_reconcile(*report, "start", service.desired().rules.size());
    }

    // Connected only now: the first reconcile runs before the loop does, for
    // as long as the rules take (tens of seconds at 1M), and a connection
    // left unserved that long is dropped by dbus-daemon (its auth_timeout)
    // before sgnicd could take its name.
    auto bus = open_bus(options);
    if (!bus) {
        spdlog::error("{}", bus.error().message());
        return 1;
    }
    r = sd_bus_attach_event(bus->get(), event.get(), SD_EVENT_PRIORITY_NORMAL);
    if (r < 0) {
        spdlog::error("attach the bus: {}", strerror(-r));
        return 1;
    }
    auto server = bus::Server::start(bus->get(), service);
    if (!server) {
        spdlog::error("{}", server.error().message());
        return 1;
    }

    Loop loop{.service = service,
              .status = {},
              .watchdog_usec = 0,
              .watch = kernel.watch,
              .reconcile_timer = nullptr,
              .resize_steps = nullptr,
              .reconcile_why = {}};
    sd::EventSource reconcile_timer;
    sd::EventSource kernel_news;
    if (kernel.watch != nullptr) {
        sd_event_source* raw = nullptr;
        r = sd_event_add_time_relative(event.get(), &raw, CLOCK_MONOTONIC, kReconcileDelayUsec, 0,
                                       on_reconcile_timer, &loop);
        reconcile_timer.reset(raw);
        if (r >= 0) {
            loop.reconcile_timer = raw;
            r = sd_event_source_set_enabled(raw, SD_EVENT_OFF);
        }
        if (r >= 0) {
            raw = nullptr;
            r = sd_event_add_io(event.get(), &raw, kernel.watch->fd(), EPOLLIN, on_kernel_news,
                                &loop);
            kernel_news.reset(raw);
        }
        if (r < 0) {
            spdlog::error("kernel notifications: {}", strerror(-r));
            return 1;
        }
    }
    sd_event_source* raw_source = nullptr;
    r = sd_event_add_defer(event.get(), &raw_source, on_resize_step, &loop);
    const sd::EventSource resize_steps(raw_source);
    if (r >= 0) {
        r = sd_event_source_set_priority(raw_source, SD_EVENT_PRIORITY_IDLE);
    }
    if (r >= 0) {
        r = sd_event_source_set_enabled(raw_source, SD_EVENT_OFF);
    }
    if (r < 0) {
        spdlog::error("rehash steps: {}", strerror(-r));
        return 1;
    }
    loop.resize_steps = raw_source;
    raw_source = nullptr;
    r = sd_event_add_post(event.get(), &raw_source, on_post, &loop);
    const sd::EventSource post(raw_source);
    if (r < 0) {
        spdlog::error("post hook: {}", strerror(-r));
        return 1;
    }
    sd::EventSource watchdog;
    if (sd_watchdog_enabled(0, &loop.watchdog_usec) > 0 && loop.watchdog_usec > 0) {
        raw_source = nullptr;
        r = sd_event_add_time_relative(event.get(), &raw_source, CLOCK_MONOTONIC,
                                       loop.watchdog_usec / 2, 0, on_watchdog, &loop);
        watchdog.reset(raw_source);
        if (r < 0) {
            spdlog::error("watchdog timer: {}", strerror(-r));
            return 1;
        }
    }

    loop.status = status_line(service);
    (void)sd_notifyf(0, "READY=1\nSTATUS=%s", loop.status.c_str());
    spdlog::info("serving {} ({})", bus::kServiceName, loop.status);
    r = sd_event_loop(event.get());
    (void)sd_notify(0, "STOPPING=1");
    if (service.resizing()) {
        // The next start would settle it, with rule moves a restart in
        // which nothing changed should not need: end it now.
        spdlog::info("stopping: finishing the rehashes in progress first");
        (void)sd_notify(0, "STATUS=finishing the rehashes in progress");
        service.finish_resizes();
    }
    if (r < 0) {
        spdlog::error("event loop: {}", strerror(-r));
        return 1;
    }
    if (config.persistence) {
        leave_seal(service, dir);
    }
    spdlog::info("stopping");
    return 0;
}

}  // namespace sgnic::app
