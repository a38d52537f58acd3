// Device pages one direction's table needs, as the module accounts them
// (proto/sgnic.yaml, "table"; kmod/sgnic_steer_geom.h).  For properties only:
// the module is the authority and reports its own numbers in dumps.
#pragma once

#include <cstdint>

namespace sgnic::model {

std::uint64_t table_pages(int size_log);

}  // namespace sgnic::model
