#include "policy/types.hpp"

#include <algorithm>
#include <iterator>

#include "policy/expected.hpp"

namespace sgnic::policy {

ActionTypes RuleSpec::action_types() const {
    ActionTypes types;
    types.reserve(actions.size());
    std::transform(actions.begin(), actions.end(), std::back_inserter(types),
                   [](const Action& a) { return a.type; });
    return types;
}

std::string_view to_string(Errc code) {
    switch (code) {
        case Errc::collision:
            return "collision";
        case Errc::busy:
            return "busy";
        case Errc::timeout:
            return "timeout";
        case Errc::no_space:
            return "no space";
        case Errc::not_found:
            return "not found";
        case Errc::invalid_argument:
            return "invalid argument";
        case Errc::degraded:
            return "degraded";
        case Errc::device:
            return "device error";
    }
    return "unknown error";
}

}  // namespace sgnic::policy
