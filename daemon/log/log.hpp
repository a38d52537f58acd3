// sgnicd's logging: spdlog's default logger writes to the journal when
// systemd started us (JOURNAL_STREAM), to stderr otherwise.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace sgnic::log {

enum class Level { trace, debug, info, warning, error };

void setup(Level level);
void set_level(Level level);

// An error that may repeat (a failing reconcile, a device gone bad): logged
// at most a few times per interval per `key`, with a count of what was dropped.
void error_limited(const std::string& key, std::string_view message);

// Events operators watch for are journal entries of their own: a MESSAGE_ID
// (explained by the catalog systemd/sgnicd.catalog, `journalctl -x`) and
// fields to filter on (`journalctl -u sgnicd SGNIC_MATCHER=3`).  Field
// names are upper case, digits and '_'.  Without the journal the event is
// an ordinary log line.
struct Field {
    std::string_view name;
    std::string value;
};

void event(Level level, std::string_view message_id, std::string_view message,
           std::span<const Field> fields);

// The MESSAGE_IDs, one per kind of event (systemd-id128 new).
namespace msgid {
inline constexpr std::string_view adopted = "55715438c87545e99f640a8107f45f5f";
inline constexpr std::string_view rehashed = "c9fe8a06ba0d422ebfbce9100feb1e05";
inline constexpr std::string_view rehash_rolled_back = "7f0add3fac6b4ec7acccff51dfb79985";
inline constexpr std::string_view module_gone = "f765e10a619e4ea79fbdc52636175400";
inline constexpr std::string_view module_back = "eda7d2c50ab44027be54faddbceea6de";
inline constexpr std::string_view degraded = "176670d5c80843368824b5b47ff2da9e";
}  // namespace msgid

}  // namespace sgnic::log
