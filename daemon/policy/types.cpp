#include "policy/types.hpp"

#include <algorithm>
#include <iterator>

namespace sgnic::policy {

ActionTypes RuleSpec::action_types() const {
    ActionTypes types;
    types.reserve(actions.size());
    std::transform(actions.begin(), actions.end(), std::back_inserter(types),
                   [](const Action& a) { return a.type; });
    return types;
}

}  // namespace sgnic::policy
