// /org/sgnic/Steering1/job/<n>, org.sgnic.Steering1.Job: one object per
// LoadRules job (Port or Manager).  Each job runs in the bus's sd-event
// loop, one step (a batch call) per iteration from a defer source at idle
// priority, so calls, the watchdog and rehash steps are served between its
// chunks.
//
// Lifetime: the object appears with the call (InterfacesAdded), announces
// its end with Finished, and goes (InterfacesRemoved) 30 s after Finished.
// A job whose caller leaves the bus while it runs is cancelled.  When
// sgnicd stops, a running job ends at once with "sgnicd is stopping".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "service/load_job.hpp"
#include "sgnic/proto/result.hpp"
#include "sgnic/proto/sd.hpp"
#include "sgnic/proto/unique_fd.hpp"

namespace sgnic::bus {

class Server;

class Jobs {
public:
    // How long a finished job's object stays for its caller to read.
    static constexpr std::chrono::seconds kLinger{30};
    // PropertiesChanged of a running job at most this often.
    static constexpr std::chrono::milliseconds kProgressEvery{100};

    explicit Jobs(Server& server);
    // Ends the running jobs ("sgnicd is stopping"), each with its Finished.
    ~Jobs();
    Jobs(const Jobs&) = delete;
    Jobs& operator=(const Jobs&) = delete;
    Jobs(Jobs&&) = delete;
    Jobs& operator=(Jobs&&) = delete;

    // A job reading `fd` into `port` for the caller of `call`; its path.
    Expected<std::string> start(sd_bus_message* call, const std::string& port, UniqueFd fd,
                                service::LoadJob::Options options);

    struct Job;
    Job* find(const char* path);
    std::vector<std::string> paths() const;
    Server& server() { return server_; }

    // Called by a job's event sources.
    void stepped(Job& job);
    void expire(Job& job);

private:
    void finished(Job& job);
    void emit_progress(Job& job);

    Server& server_;
    std::map<std::uint64_t, std::unique_ptr<Job>> jobs_;
    std::uint64_t next_id_ = 1;
};

// Port.LoadRules (`port`) and Manager.LoadRules (port ""): checks the
// caller and the (h fd, a{sv} options) arguments, starts the job, replies
// with its path.
int start_load_job(Server& server, sd_bus_message* m, const std::string& port, sd_bus_error* error);

// The job object's vtable, in job.cpp like the other object kinds.
int add_job_objects(sd_bus* bus, Jobs& jobs, std::vector<sd::Slot>& slots);

}  // namespace sgnic::bus
