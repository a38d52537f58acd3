// sgnicd's logging: spdlog's default logger writes to the journal when
// systemd started us (JOURNAL_STREAM), to stderr otherwise.
#pragma once

#include <string>
#include <string_view>

namespace sgnic::log {

enum class Level { trace, debug, info, warning, error };

void setup(Level level);
void set_level(Level level);

// An error that may repeat (a failing reconcile, a device gone bad): logged
// at most a few times per interval per `key`, with a count of what was dropped.
void error_limited(const std::string& key, std::string_view message);

}  // namespace sgnic::log
