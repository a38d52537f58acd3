// The contract's limits, named once: what sgnicd accepts per call and what
// sgnicctl sends by default.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sgnic::proto {

// Rules (or ids) per AddRules, DeleteRules and DescribeRules page: the most
// the daemon takes in one D-Bus call (org.sgnic.Steering1.xml).
inline constexpr std::size_t kMaxRulesPerCall = 65536;
// Rules per batch of a load job (and per AddRules call of `sgnicctl rule
// load` without LoadRules) unless `chunk N` says otherwise.  Large: between
// two batches the device's insert thread runs dry (sgnicd settles one batch
// before it sends the next), so fewer batches load faster, up to where a
// batch's memory in flight outweighs it.
inline constexpr std::size_t kDefaultLoadChunk = 16384;
// Actions in one rule.
inline constexpr std::size_t kMaxActions = 16;
// Bytes of one device page (proto/sgnic.yaml, "table"; kmod/sgnic_steer_geom.h).
inline constexpr std::uint64_t kDevicePageBytes = 4096;

}  // namespace sgnic::proto
