// RAII for systemd's C handles, the one place sgnicd and sgnicctl own them:
// sd_bus, sd_bus_slot, sd_bus_message, sd_bus_creds, sd_bus_error, sd_event,
// sd_bus_track, sd_event_source, and the malloc'd strings sd-bus hands out.
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <cstdlib>
#include <memory>

namespace sgnic::sd {

template <typename T, auto Unref>
struct Unreffer {
    void operator()(T* p) const { Unref(p); }
};

using Bus = std::unique_ptr<sd_bus, Unreffer<sd_bus, sd_bus_flush_close_unref>>;
using Slot = std::unique_ptr<sd_bus_slot, Unreffer<sd_bus_slot, sd_bus_slot_unref>>;
using Message = std::unique_ptr<sd_bus_message, Unreffer<sd_bus_message, sd_bus_message_unref>>;
using Creds = std::unique_ptr<sd_bus_creds, Unreffer<sd_bus_creds, sd_bus_creds_unref>>;
using Track = std::unique_ptr<sd_bus_track, Unreffer<sd_bus_track, sd_bus_track_unref>>;
using Event = std::unique_ptr<sd_event, Unreffer<sd_event, sd_event_unref>>;
using EventSource =
    std::unique_ptr<sd_event_source, Unreffer<sd_event_source, sd_event_source_disable_unref>>;

struct Free {
    // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory): sd-bus malloc()s
    void operator()(char* p) const { std::free(p); }
};
using CString = std::unique_ptr<char, Free>;

// sd_bus_error on the stack, freed on scope exit.
class Error {
public:
    Error() = default;
    Error(const Error&) = delete;
    Error& operator=(const Error&) = delete;
    Error(Error&&) = delete;
    Error& operator=(Error&&) = delete;
    ~Error() { sd_bus_error_free(&e_); }

    sd_bus_error* get() { return &e_; }
    const char* name() const { return e_.name != nullptr ? e_.name : ""; }
    const char* message() const { return e_.message != nullptr ? e_.message : ""; }

private:
    sd_bus_error e_ = SD_BUS_ERROR_NULL;
};

}  // namespace sgnic::sd
