#include "policy/action_templates.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace sgnic::policy {

ActionTemplateSet::ActionTemplateSet(std::size_t initial_capacity, std::size_t limit)
    : capacity_(std::min(initial_capacity, limit)), limit_(limit) {}

std::optional<ActionTemplateIndex> ActionTemplateSet::find(const ActionTypes& types) const {
    const auto it = std::find(templates_.begin(), templates_.end(), types);
    if (it == templates_.end()) {
        return std::nullopt;
    }
    return static_cast<ActionTemplateIndex>(it - templates_.begin());
}

Expected<std::size_t> ActionTemplateSet::reserve_one() {
    const std::size_t before = capacity_;
    if (templates_.size() < capacity_) {
        return before;
    }
    if (capacity_ >= limit_) {
        return Error(Errc::no_space, "all " + std::to_string(limit_) +
                                         " action templates of the matcher are in use");
    }
    capacity_ = std::min(std::max<std::size_t>(capacity_ * 2, 1), limit_);
    return before;
}

ActionTemplateIndex ActionTemplateSet::append(ActionTypes types) {
    templates_.push_back(std::move(types));
    return static_cast<ActionTemplateIndex>(templates_.size() - 1);
}

}  // namespace sgnic::policy
