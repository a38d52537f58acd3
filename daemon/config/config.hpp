// sgnicd's configuration file, /etc/sgnic/sgnicd.json:
//
//   {
//     "log-level": "info",                 trace|debug|info|warning|error
//     "state-directory": "/var/lib/sgnic", absolute
//     "persistence": true,
//     "manage-foreign": false,             also delete other owners' matchers
//                                          and rules (default: leave them)
//     "policy": {                          defaults: policy::PolicyConfig
//       "init-size-log": 1, "size-log-step": 1, "rehash-percent-threshold": 70,
//       "assured-main-table-depth": 2, "action-templates-initial": 8,
//       "action-templates-max": 128,
//       "resize-step-rules": 1024          rules one step of a rehash moves
//     }                                    between D-Bus calls (0: all at once)
//   }
//
// Every key is optional.  An unknown key or a wrong type is an error that
// names the key's path ("policy.size-log-step: expected an integer").
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "log/log.hpp"
#include "policy/sizing.hpp"
#include "sgnic/proto/result.hpp"

namespace sgnic::config {

using LogLevel = log::Level;

std::string_view to_string(LogLevel level);

inline constexpr std::string_view kDefaultConfigPath = "/etc/sgnic/sgnicd.json";
inline constexpr std::string_view kDefaultStateDir = "/var/lib/sgnic";

struct Config {
    LogLevel log_level = LogLevel::info;
    std::filesystem::path state_dir{kDefaultStateDir};
    bool persistence = true;
    bool manage_foreign = false;
    policy::PolicyConfig policy;
};

Expected<Config> parse_config(std::string_view json_text);
// A missing file at the default path is not an error (all defaults); a
// missing file named on the command line is.
Expected<Config> load_config(const std::filesystem::path& path, bool must_exist);

}  // namespace sgnic::config
