// The names of org.sgnic.Steering1 (proto/org.sgnic.Steering1.xml): bus
// name, object paths, interfaces, error names.  sgnicd serves them, sgnicctl
// calls them.
#pragma once

#include <string>
#include <string_view>

#include "sgnic/proto/result.hpp"

namespace sgnic::proto::dbus {

inline constexpr const char* kServiceName = "org.sgnic.Steering1";
inline constexpr const char* kManagerPath = "/org/sgnic/Steering1";
// sd_bus_path_encode prefixes: <prefix>/<escaped port name>, <prefix>/<id>.
inline constexpr const char* kPortPrefix = "/org/sgnic/Steering1/port";
inline constexpr const char* kMatcherPrefix = "/org/sgnic/Steering1/matcher";
// LoadRules jobs (Manager and Port): <prefix>/<n>.
inline constexpr const char* kJobPrefix = "/org/sgnic/Steering1/job";
inline constexpr const char* kManagerInterface = "org.sgnic.Steering1.Manager";
inline constexpr const char* kPortInterface = "org.sgnic.Steering1.Port";
inline constexpr const char* kMatcherInterface = "org.sgnic.Steering1.Matcher";
inline constexpr const char* kJobInterface = "org.sgnic.Steering1.Job";

// "InvalidArgument", "NoSuchPort", ...: the last part of the error name.
std::string_view error_suffix(Errc code);
// "org.sgnic.Steering1.InvalidArgument", ...
std::string error_name(Errc code);

}  // namespace sgnic::proto::dbus
