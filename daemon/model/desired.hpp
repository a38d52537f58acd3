// The desired state: what callers asked for, as plain values.  The store
// persists it, the service changes it, reconcile compares it with the
// kernel.  Texts are canonical (sgnic/proto/codec.hpp), so they round-trip.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policy/types.hpp"
#include "sgnic/proto/codec.hpp"

namespace sgnic::model {

using proto::FieldText;

using MatcherKey = std::uint64_t;  // stable across restarts: D-Bus paths use it
using RuleKey = std::uint64_t;     // stable across restarts: returned by AddRules

struct DesiredMatcher {
    MatcherKey id = 0;
    std::string port;  // netdev name: ifindexes change when the module reloads
    std::uint32_t priority = 0;
    std::vector<FieldText> fields;  // field, mask
    friend bool operator==(const DesiredMatcher&, const DesiredMatcher&) = default;
};

struct DesiredRule {
    RuleKey id = 0;
    MatcherKey matcher = 0;
    policy::Directions directions;
    std::vector<FieldText> match;      // field, value
    std::vector<std::string> actions;  // canonical action texts
    std::uint32_t uid = 0;             // who asked for it
    friend bool operator==(const DesiredRule&, const DesiredRule&) = default;
};

struct DesiredState {
    std::map<MatcherKey, DesiredMatcher> matchers;
    std::map<RuleKey, DesiredRule> rules;
    MatcherKey next_matcher = 1;  // never reused, even after deletes
    RuleKey next_rule = 1;
    friend bool operator==(const DesiredState&, const DesiredState&) = default;
};

}  // namespace sgnic::model
