// sgnicd's logging: spdlog's default logger writes to the journal when
// systemd started us (JOURNAL_STREAM), to stderr otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "policy/policy.hpp"

namespace sgnic::log {

void setup(config::LogLevel level);
void set_level(config::LogLevel level);

// An error that may repeat (a failing reconcile, a device gone bad): logged
// at most a few times per interval per `key`, with a count of what was dropped.
void error_limited(const std::string& key, std::string_view message);

// "rehash matcher 3 on eth0 (threshold): rx size_log 1->2, tx 1->1,
//  5 rules moved in 120 us"
std::string format_rehash(const policy::RehashReport& r, std::uint64_t matcher,
                          std::string_view port);

}  // namespace sgnic::log
