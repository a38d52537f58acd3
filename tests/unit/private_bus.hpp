// A dbus-daemon of the test's own on a private address, and a client
// connection to it: the bus tests and sgnicctl's end-to-end tests share it.
#pragma once

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <future>
#include <string>
#include <thread>

#include "bus/server.hpp"
#include "service/service.hpp"
#include "sgnic/proto/sd.hpp"

namespace sgnic::bus::testing {

// dbus-daemon --session on a private address, stopped by the test.
class PrivateBus {
public:
    PrivateBus() {
        std::array<int, 2> fds{};
        if (pipe(fds.data()) != 0) {
            return;
        }
        pid_ = fork();
        if (pid_ == 0) {
            // Gone with the test even when it crashes: an orphan would hold
            // ctest's output pipe open and hang the whole run.
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            close(fds[0]);
            const std::string print = "--print-address=" + std::to_string(fds[1]);
            execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", "--nopidfile",
                   print.c_str(), nullptr);
            _exit(127);
        }
        close(fds[1]);
        std::string line;
        char c = 0;
        while (read(fds[0], &c, 1) == 1 && c != '\n') {
            line += c;
        }
        close(fds[0]);
        address_ = line;
    }
    ~PrivateBus() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
        }
    }
    PrivateBus(const PrivateBus&) = delete;
    PrivateBus& operator=(const PrivateBus&) = delete;
    PrivateBus(PrivateBus&&) = delete;
    PrivateBus& operator=(PrivateBus&&) = delete;

    const std::string& address() const { return address_; }

private:
    pid_t pid_ = -1;
    std::string address_;
};

inline sd::Bus connect(const std::string& address) {
    sd_bus* raw = nullptr;
    EXPECT_GE(sd_bus_new(&raw), 0);
    sd::Bus bus(raw);
    EXPECT_GE(sd_bus_set_address(bus.get(), address.c_str()), 0);
    EXPECT_GE(sd_bus_set_bus_client(bus.get(), 1), 0);
    EXPECT_GE(sd_bus_start(bus.get()), 0);
    return bus;
}

// The service on a bus, served from a thread of the test as sgnicd serves
// it (an sd-event loop, which LoadRules jobs step in), with the test's
// authorizer; stopped and joined on destruction.
class ServiceThread {
public:
    ServiceThread(const std::string& address, service::Service& service, Authorizer authorizer) {
        std::promise<bool> ready;
        auto started = ready.get_future();
        thread_ = std::thread([&, this] {
            sd::Bus bus = connect(address);
            sd_event* raw = nullptr;
            EXPECT_GE(sd_event_new(&raw), 0);
            const sd::Event event(raw);
            EXPECT_GE(sd_bus_attach_event(bus.get(), event.get(), SD_EVENT_PRIORITY_NORMAL), 0);
            auto server = Server::start(bus.get(), service, std::move(authorizer));
            ready.set_value(static_cast<bool>(server));
            while (server && !stop_) {
                sd_event_run(event.get(), 20000);
            }
            // A job still running ends ("sgnicd is stopping") while the
            // bus is attached.
            server = Error(Errc::device, "stopped");
            (void)sd_bus_flush(bus.get());
            (void)sd_bus_detach_event(bus.get());
        });
        started_ = started.get();
    }
    ~ServiceThread() {
        stop_ = true;
        thread_.join();
    }
    ServiceThread(const ServiceThread&) = delete;
    ServiceThread& operator=(const ServiceThread&) = delete;
    ServiceThread(ServiceThread&&) = delete;
    ServiceThread& operator=(ServiceThread&&) = delete;

    bool started() const { return started_; }

private:
    std::atomic<bool> stop_{false};
    bool started_ = false;
    std::thread thread_;
};

}  // namespace sgnic::bus::testing
