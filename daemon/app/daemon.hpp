// sgnicd's main loop: one sd-event loop with the signals, the watchdog, the
// D-Bus connection and (from the netlink adapter) the kernel's sockets.
#pragma once

#include "config/config.hpp"
#include "config/options.hpp"
#include "policy/device.hpp"
#include "service/kernel.hpp"

namespace sgnic::app {

// The kernel-facing adapters; the netlink adapter provides all five.
struct Kernel {
    policy::Device& device;
    service::PortSource& ports;
    service::KernelState& state;
    service::KernelWatch* watch = nullptr;         // none: reconcile only at start
    service::DeferredInserts* deferred = nullptr;  // none: a load inserts on sgnicd's thread
};

// Runs until SIGTERM or SIGINT; returns the process exit code.
int run_daemon(const config::Options& options, const config::Config& config, Kernel kernel);

}  // namespace sgnic::app
