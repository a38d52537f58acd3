// sgnicctl's output: aligned human tables and units, and the JSON documents
// of -j (cli/README.md describes them).  Pure: strings in, strings out.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace sgnic::cli {

using Json = nlohmann::json;

// Left-aligned columns, two blanks apart; numbers right-aligned.
std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows);

// 1536 -> "1.5 KiB"; below 1024 "N B".
std::string human_bytes(std::uint64_t bytes);
// 1500000 -> "1.5M"; below 1000 the number itself.
std::string human_count(std::uint64_t n);
// 1, "rule" -> "1 rule"; any other count takes the plural "N rules".
std::string counted(std::uint64_t n, std::string_view noun);
// Seconds as "4s", "2m05s", "1h02m".
std::string human_duration(double seconds);

// -j output: compact, or indented with -p; one line, newline-terminated.
std::string dump(const Json& doc, bool pretty);

// Human forms of the documents the daemon returns (Describe, Stats,
// DescribeRules) and of the CLI's own JSON.
std::string format_port_list(const Json& describe);
std::string format_port_show(const Json& port, const Json& stats_port);
std::string format_matcher_list(const Json& matchers);
std::string format_matcher_show(const Json& matcher);
std::string format_rule_list(const Json& rules);
std::string format_stats(const Json& stats);

// "[#####     ]  45%  45.0k/100.0k  12.3k rules/s  ETA 4s"
std::string progress_line(std::uint64_t done, std::uint64_t total, double elapsed_seconds,
                          std::size_t width);

}  // namespace sgnic::cli
