// Desired rules written as texts, for tests: parsed under their matcher's
// template as the service parses a caller's rules.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "model/desired.hpp"

namespace sgnic::model::testing {

inline DesiredRule text_rule(const DesiredMatcher& m, RuleKey id, policy::Directions directions,
                             const std::vector<FieldText>& match,
                             const std::vector<std::string>& actions, std::uint32_t uid = 0) {
    auto tmpl = proto::parse_template(m.fields);
    if (!tmpl) {
        throw std::invalid_argument("matcher " + std::to_string(m.id) + ": " +
                                    tmpl.error().message());
    }
    auto body = parse_body(tmpl->match, match, actions);
    if (!body) {
        throw std::invalid_argument("rule " + std::to_string(id) + ": " + body.error().message());
    }
    return {.id = id, .matcher = m.id, .uid = uid, .directions = directions, .body = *body};
}

// Adds it to `d`, under matcher `matcher` of `d`.
inline void add_text_rule(DesiredState& d, RuleKey id, MatcherKey matcher,
                          policy::Directions directions, const std::vector<FieldText>& match,
                          const std::vector<std::string>& actions, std::uint32_t uid = 0) {
    d.rules.insert(text_rule(d.matchers.at(matcher), id, directions, match, actions, uid));
}

}  // namespace sgnic::model::testing
