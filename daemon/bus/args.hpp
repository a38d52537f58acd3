// Reading the container arguments of org.sgnic.Steering1 calls, with limits
// so that a huge array is refused with a clear message instead of read.
// sd-bus has already checked the signature against the vtable.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "app/result.hpp"
#include "app/service.hpp"
#include "bus/sd.hpp"
#include "model/parse.hpp"

namespace sgnic::bus {

inline constexpr std::size_t kMaxFields = 16;  // more than there are fields: a bad call

// a(ss)
app::Result<std::vector<model::FieldText>> read_field_texts(sd_bus_message* m, const char* what,
                                                            std::size_t limit);
// as
app::Result<std::vector<std::string>> read_strings(sd_bus_message* m, const char* what,
                                                   std::size_t limit);
// a(osa(ss)as): matcher path, directions, match, actions
app::Result<std::vector<app::RuleRequest>> read_rules(sd_bus_message* m);
// at
app::Result<std::vector<model::RuleKey>> read_rule_ids(sd_bus_message* m);

// NULL-terminated, malloc'd string vector for sd-bus node enumerators
// (which free it).
char** to_strv(const std::vector<std::string>& items);

}  // namespace sgnic::bus
