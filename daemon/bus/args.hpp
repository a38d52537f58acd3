// Reading the container arguments of org.sgnic.Steering1 calls, with limits
// so that a huge array is refused with a clear message instead of read.
// sd-bus has already checked the signature against the vtable.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "service/load_job.hpp"
#include "service/service.hpp"
#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/limits.hpp"
#include "sgnic/proto/result.hpp"
#include "sgnic/proto/sd.hpp"

namespace sgnic::bus {

inline constexpr std::size_t kMaxFields = 16;  // more than there are fields: a bad call
// LoadRules' "matchers" entries at most: more than any port set holds.
inline constexpr std::size_t kMaxLoadMatchers = 65536;

// a(ss)
Expected<std::vector<proto::FieldText>> read_field_texts(sd_bus_message* m, const char* what,
                                                         std::size_t limit);
// as
Expected<std::vector<std::string>> read_strings(sd_bus_message* m, const char* what,
                                                std::size_t limit);
// a(osa(ss)as): matcher path, directions, match, actions
Expected<std::vector<service::RuleRequest>> read_rules(sd_bus_message* m);
// at
Expected<std::vector<model::RuleKey>> read_rule_ids(sd_bus_message* m);
// a{sv} of LoadRules (Port and Manager): "rules" (t), "chunk" (u, 1..65536),
// "matchers" (a(ttt), each matcher once, with "rules", counts within it); any
// other key or type is refused, naming the key.
Expected<service::LoadJob::Options> read_load_options(sd_bus_message* m);

// NULL-terminated, malloc'd string vector for sd-bus node enumerators
// (which free it).
char** to_strv(const std::vector<std::string>& items);

}  // namespace sgnic::bus
