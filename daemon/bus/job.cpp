#include "bus/job.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <utility>

#include "bus/args.hpp"
#include "bus/server.hpp"

namespace sgnic::bus {

struct Jobs::Job {
    Job(Jobs& owner, std::uint64_t id, std::string port, UniqueFd fd,
        service::LoadJob::Options options, std::uint32_t uid);

    Jobs& owner;
    std::uint64_t id;
    std::string path;
    std::string port;  // "" for Manager.LoadRules: each rule to its matcher's
    UniqueFd fd;       // before `load`, whose reads use it
    service::LoadJob load;
    sd::EventSource step;
    sd::EventSource linger;
    sd::Track creator;
    std::chrono::steady_clock::time_point emitted_at;
    std::pair<std::uint64_t, std::uint64_t> emitted{};
};

namespace {

Expected<std::size_t> read_at(int fd, std::span<char> buf, std::uint64_t offset) {
    for (;;) {
        const ssize_t n = pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            return Error(Errc::device,
                         "read at byte " + std::to_string(offset) + ": " + strerror(errno));
        }
    }
}

std::string job_path(std::uint64_t id) {
    return std::string(kJobPrefix) + "/" + std::to_string(id);
}

std::optional<std::uint64_t> job_from_path(const char* path) {
    const std::string_view p(path);
    const std::string prefix = std::string(kJobPrefix) + "/";
    if (!p.starts_with(prefix)) {
        return std::nullopt;
    }
    const std::string_view digits = p.substr(prefix.size());
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
        return std::nullopt;
    }
    return id;
}

int on_step(sd_event_source* /*source*/, void* userdata) {
    auto& job = *static_cast<Jobs::Job*>(userdata);
    job.owner.stepped(job);
    return 0;
}

int on_linger_over(sd_event_source* /*source*/, std::uint64_t /*usec*/, void* userdata) {
    auto& job = *static_cast<Jobs::Job*>(userdata);
    job.owner.expire(job);  // destroys the job, this source with it
    return 0;
}

// The caller left the bus: nobody waits for the rest.  The track goes
// too: sd-bus calls the handler again for as long as an empty track lives.
int on_creator_gone(sd_bus_track* /*track*/, void* userdata) {
    auto& job = *static_cast<Jobs::Job*>(userdata);
    if (!job.load.finished()) {
        spdlog::info("load job {}: its caller left the bus; cancelled after the current chunk",
                     job.id);
        job.load.cancel();
    }
    job.creator.reset();  // sd-bus holds its own reference while this runs
    return 0;
}

// What the descriptor is, for a refusal: "a pipe", "a socket", ...
std::string file_kind(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFIFO:
            return "a pipe";
        case S_IFSOCK:
            return "a socket";
        case S_IFCHR:
            return "a character device";
        case S_IFBLK:
            return "a block device";
        case S_IFDIR:
            return "a directory";
        default:
            return "not a regular file";
    }
}

// The caller's descriptor checked and duplicated: the message's copy goes
// with the message, the job reads at its own pace.
Expected<UniqueFd> own_rule_file(int fd) {
    struct stat st {};
    if (fstat(fd, &st) < 0) {
        return Error(Errc::invalid_argument, std::string("fd: fstat: ") + strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return Error(Errc::invalid_argument,
                     "fd is " + file_kind(st.st_mode) +
                         ": LoadRules reads a regular file or a memfd, at offsets of its own");
    }
    const int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_ACCMODE) == O_WRONLY) {
        return Error(Errc::invalid_argument, "fd is open for writing only");
    }
    UniqueFd own(fcntl(fd, F_DUPFD_CLOEXEC, 3));
    if (!own) {
        return Error(Errc::device, std::string("fd: duplicate: ") + strerror(errno));
    }
    return own;
}

// The job's work: the file's records to `port`, or (port "") its rule
// lines each to its matcher's port.
service::LoadJob make_load(service::Service& svc, std::uint64_t id, const std::string& port, int fd,
                           service::LoadJob::Options options, std::uint32_t uid) {
    auto read = [fd](std::span<char> buf, std::uint64_t offset) {
        return read_at(fd, buf, offset);
    };
    // A chunk's commit runs while the next chunk goes to the device.
    auto add_to = [&svc, uid](const std::string& p, service::LoadJob::Rules rules,
                              service::LoadJob::Ticket after,
                              const service::LoadJob::Meanwhile& meanwhile) {
        return svc.begin_add_rules(p, rules, uid, after, meanwhile);
    };
    auto collect = [&svc](service::LoadJob::Ticket ticket) -> Expected<void> {
        auto keys = svc.collect_add_rules(ticket);
        if (!keys) {
            return keys.error();
        }
        return {};
    };
    auto reserve = [&svc, port, id](const service::LoadJob::Incoming& incoming) {
        std::uint64_t rules = 0;  // at least: a rule goes one way or both
        for (const auto& [matcher, more] : incoming) {
            const auto& matchers = svc.desired().matchers;
            const auto it = matchers.find(matcher);
            if (it == matchers.end() || (!port.empty() && it->second.port != port)) {
                continue;  // its rules fail with the reason when they are added
            }
            // Only what fits the device: a count is bounded by its tables.
            if (auto grown = svc.reserve_rules(matcher, more.first, more.second); !grown) {
                spdlog::debug("load job {}: presize matcher {}: {}", id, matcher,
                              grown.error().message());
            } else {
                rules += std::max(more.first, more.second);
            }
        }
        svc.expect_rules(rules);
    };
    if (!port.empty()) {
        return {read,
                std::move(options),
                svc.matcher_index(),
                port,
                [add_to, port](service::LoadJob::Rules rules, service::LoadJob::Ticket after,
                               const service::LoadJob::Meanwhile& meanwhile) {
                    return add_to(port, rules, after, meanwhile);
                },
                collect,
                reserve};
    }
    auto route = [&svc](std::string_view named,
                        model::MatcherKey matcher) -> Expected<std::string> {
        const auto& matchers = svc.desired().matchers;
        const auto it = matchers.find(matcher);
        if (it == matchers.end()) {
            return service::MatcherIndex::no_matcher(matcher);
        }
        if (!named.empty() && named != it->second.port) {
            return service::MatcherIndex::elsewhere(matcher, it->second.port, named);
        }
        return it->second.port;
    };
    return {read, std::move(options), svc.matcher_index(), route, add_to, collect, reserve};
}

}  // namespace

Jobs::Job::Job(Jobs& owner_, std::uint64_t id_, std::string port_, UniqueFd fd_,
               service::LoadJob::Options options, std::uint32_t uid)
    : owner(owner_),
      id(id_),
      path(job_path(id_)),
      port(std::move(port_)),
      fd(std::move(fd_)),
      load(make_load(owner_.server().service(), id_, port, fd.get(), std::move(options), uid)),
      emitted_at(std::chrono::steady_clock::now()) {}

namespace {

int emit_finished(sd_bus* bus, const Jobs::Job& job) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_signal(bus, &raw, job.path.c_str(), kJobInterface, "Finished");
    const sd::Message m(raw);
    if (r >= 0) {
        r = sd_bus_message_append(m.get(), "t", job.load.loaded());
    }
    if (r >= 0) {
        r = sd_bus_message_open_container(m.get(), 'a', "(tss)");
    }
    for (const service::LoadFailure& f : job.load.failures()) {
        if (r >= 0) {
            r = sd_bus_message_append(m.get(), "(tss)", f.index, f.text.c_str(), f.reason.c_str());
        }
    }
    if (r >= 0) {
        r = sd_bus_message_close_container(m.get());
    }
    if (r >= 0) {
        r = sd_bus_message_append(m.get(), "s", job.load.error().c_str());
    }
    if (r >= 0) {
        r = sd_bus_send(bus, m.get(), nullptr);
    }
    return r;
}

}  // namespace

Jobs::Jobs(Server& server) : server_(server) {}

Jobs::~Jobs() {
    for (auto& [id, job] : jobs_) {
        if (!job->load.finished()) {
            job->load.abandon("sgnicd is stopping");
            spdlog::info("load job {}: stopped with {} rules loaded", id, job->load.loaded());
            if (const int r = emit_finished(server_.bus(), *job); r < 0) {
                spdlog::warn("load job {}: Finished: {}", id, strerror(-r));
            }
        }
    }
}

Expected<std::string> Jobs::start(sd_bus_message* call, const std::string& port, UniqueFd fd,
                                  service::LoadJob::Options options) {
    sd_event* event = sd_bus_get_event(server_.bus());
    if (event == nullptr) {
        return Error(Errc::device, "LoadRules: sgnicd's bus has no event loop to run jobs in");
    }
    const std::uint64_t id = next_id_++;
    auto job =
        std::make_unique<Job>(*this, id, port, std::move(fd), options, Server::sender_uid(call));
    sd_event_source* raw = nullptr;
    int r = sd_event_add_defer(event, &raw, on_step, job.get());
    job->step.reset(raw);
    if (r >= 0) {
        // Calls, kernel news, signals and the watchdog go first.
        r = sd_event_source_set_priority(raw, SD_EVENT_PRIORITY_IDLE);
    }
    if (r >= 0) {
        r = sd_event_source_set_enabled(raw, SD_EVENT_ON);  // a defer source fires once by default
    }
    if (r < 0) {
        return Error(Errc::device, std::string("LoadRules: schedule the job: ") + strerror(-r));
    }
    sd_bus_track* track = nullptr;
    r = sd_bus_track_new(server_.bus(), &track, on_creator_gone, job.get());
    job->creator.reset(track);
    if (r >= 0) {
        r = sd_bus_track_add_sender(track, call);
    }
    if (r < 0) {
        // The job runs on; only a caller that leaves does not cancel it.
        spdlog::debug("load job {}: track its caller: {}", id, strerror(-r));
    }
    const std::string path = job->path;
    spdlog::info(
        "load job {}: {}, chunk {}{}", id,
        port.empty() ? std::string("rule lines to their matchers' ports") : "port '" + port + "'",
        options.chunk,
        options.expected ? ", " + std::to_string(*options.expected) + " rules expected"
                         : std::string());
    jobs_.emplace(id, std::move(job));
    r = sd_bus_emit_interfaces_added(server_.bus(), path.c_str(), kJobInterface, nullptr);
    if (r < 0) {
        spdlog::debug("InterfacesAdded on {}: {}", path, strerror(-r));
    }
    return path;
}

Jobs::Job* Jobs::find(const char* path) {
    const auto id = job_from_path(path);
    if (!id) {
        return nullptr;
    }
    const auto it = jobs_.find(*id);
    return it == jobs_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Jobs::paths() const {
    std::vector<std::string> out;
    out.reserve(jobs_.size());
    for (const auto& [id, job] : jobs_) {
        out.push_back(job->path);
    }
    return out;
}

void Jobs::stepped(Job& job) {
    if (!job.load.step()) {
        finished(job);
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - job.emitted_at >= kProgressEvery && job.load.progress() != job.emitted) {
        emit_progress(job);
    }
}

void Jobs::emit_progress(Job& job) {
    job.emitted_at = std::chrono::steady_clock::now();
    job.emitted = job.load.progress();
    const int r = sd_bus_emit_properties_changed(server_.bus(), job.path.c_str(), kJobInterface,
                                                 "Progress", "Loaded", "Failed", nullptr);
    if (r < 0) {
        spdlog::debug("PropertiesChanged on {}: {}", job.path, strerror(-r));
    }
}

// Finished is the job's last word: its numbers are the properties' final
// values, so no PropertiesChanged follows it.
void Jobs::finished(Job& job) {
    (void)sd_event_source_set_enabled(job.step.get(), SD_EVENT_OFF);
    const service::LoadJob& load = job.load;
    spdlog::info("load job {}: {} rules loaded, {} failed{}", job.id, load.loaded(), load.failed(),
                 load.error().empty() ? "" : " (" + load.error() + ")");
    if (const int r = emit_finished(server_.bus(), job); r < 0) {
        spdlog::warn("load job {}: Finished: {}", job.id, strerror(-r));
    }
    sd_event_source* raw = nullptr;
    const auto linger = std::chrono::duration_cast<std::chrono::microseconds>(kLinger).count();
    const int r =
        sd_event_add_time_relative(sd_bus_get_event(server_.bus()), &raw, CLOCK_MONOTONIC,
                                   static_cast<std::uint64_t>(linger), 0, on_linger_over, &job);
    job.linger.reset(raw);
    if (r < 0) {
        spdlog::warn("load job {}: cannot time its removal ({}); it goes now", job.id,
                     strerror(-r));
        expire(job);
    }
}

void Jobs::expire(Job& job) {
    const std::string path = job.path;
    jobs_.erase(job.id);
    // Named explicitly: the object is gone already.
    const int r =
        sd_bus_emit_interfaces_removed(server_.bus(), path.c_str(), kJobInterface, nullptr);
    if (r < 0) {
        spdlog::debug("InterfacesRemoved on {}: {}", path, strerror(-r));
    }
}

namespace {

Jobs::Job* job_of(Jobs& jobs, const char* path) { return jobs.find(path); }

int find_job(sd_bus* /*bus*/, const char* path, const char* /*interface*/, void* userdata,
             void** found, sd_bus_error* /*error*/) {
    Jobs::Job* job = job_of(*static_cast<Jobs*>(userdata), path);
    if (job == nullptr) {
        return 0;
    }
    *found = userdata;
    return 1;
}

int enumerate_jobs(sd_bus* /*bus*/, const char* /*prefix*/, void* userdata, char*** nodes,
                   sd_bus_error* /*error*/) {
    *nodes = to_strv(static_cast<Jobs*>(userdata)->paths());
    return *nodes == nullptr ? -ENOMEM : 0;
}

int method_cancel(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    auto& jobs = *static_cast<Jobs*>(userdata);
    if (const int r = jobs.server().authorize(m, error); r < 0) {
        return r;
    }
    Jobs::Job* job = job_of(jobs, sd_bus_message_get_path(m));
    if (job == nullptr) {
        return sd_bus_error_set(error, "org.freedesktop.DBus.Error.UnknownObject", "no such job");
    }
    job->load.cancel();  // a finished job stays as it ended
    return sd_bus_reply_method_return(m, "");
}

int property_get(sd_bus* /*bus*/, const char* path, const char* /*interface*/, const char* property,
                 sd_bus_message* reply, void* userdata, sd_bus_error* /*error*/) {
    Jobs::Job* job = job_of(*static_cast<Jobs*>(userdata), path);
    if (job == nullptr) {
        return -ENOENT;
    }
    const std::string_view p(property);
    if (p == "Port") {
        return sd_bus_message_append(reply, "s", job->port.c_str());
    }
    if (p == "Progress") {
        const auto [settled, total] = job->load.progress();
        return sd_bus_message_append(reply, "(tt)", settled, total);
    }
    if (p == "Loaded") {
        return sd_bus_message_append(reply, "t", job->load.loaded());
    }
    return sd_bus_message_append(reply, "t", job->load.failed());  // Failed
}

constexpr auto kChange = SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;

const sd_bus_vtable kJobVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Port", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Progress", "(tt)", property_get, 0, kChange),
    SD_BUS_PROPERTY("Loaded", "t", property_get, 0, kChange),
    SD_BUS_PROPERTY("Failed", "t", property_get, 0, kChange),
    SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_cancel,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_ARGS("Finished", SD_BUS_ARGS("t", loaded, "a(tss)", failures, "s", error),
                            0),
    SD_BUS_VTABLE_END,
};

}  // namespace

int start_load_job(Server& server, sd_bus_message* m, const std::string& port,
                   sd_bus_error* error) {
    if (const int r = server.authorize(m, error); r < 0) {
        return r;
    }
    if (const auto& why = server.service().read_only()) {
        return reply_error(error, Error(Errc::store, "sgnicd is read-only: " + *why));
    }
    int fd = -1;
    if (const int r = sd_bus_message_read(m, "h", &fd); r < 0) {
        return r;
    }
    auto options = read_load_options(m);
    if (!options) {
        return reply_error(error, options.error());
    }
    auto file = own_rule_file(fd);
    if (!file) {
        return reply_error(error, file.error());
    }
    auto job = server.jobs().start(m, port, std::move(*file), *options);
    if (!job) {
        return reply_error(error, job.error());
    }
    return sd_bus_reply_method_return(m, "o", job->c_str());
}

int add_job_objects(sd_bus* bus, Jobs& jobs, std::vector<sd::Slot>& slots) {
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_fallback_vtable(bus, &slot, kJobPrefix, kJobInterface, kJobVtable, find_job,
                                       &jobs);
    slots.emplace_back(slot);
    if (r < 0) {
        return r;
    }
    slot = nullptr;
    r = sd_bus_add_node_enumerator(bus, &slot, kJobPrefix, enumerate_jobs, &jobs);
    slots.emplace_back(slot);
    return r;
}

}  // namespace sgnic::bus
