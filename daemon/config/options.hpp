// sgnicd's command line.  Pure: parse_options() only reads argv.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "sgnic/proto/result.hpp"

namespace sgnic::config {

enum class BusKind { system, session };

struct Options {
    enum class Mode { run, help, version, check_config } mode = Mode::run;
    std::string config_path;  // empty: the default path, which may be absent
    std::optional<std::string> state_dir;
    BusKind bus = BusKind::system;
    std::optional<std::string> bus_address;  // overrides --bus
};

Expected<Options> parse_options(std::span<const char* const> args);
std::string usage();

}  // namespace sgnic::config
