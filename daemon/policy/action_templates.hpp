// The distinct action-type sequences a matcher's rules use.  The device
// needs a template per sequence before a rule with it can be inserted; the
// list's capacity starts small and doubles up to a limit, as upstream's.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "policy/types.hpp"
#include "sgnic/proto/result.hpp"

namespace sgnic::policy {

class ActionTemplateSet {
public:
    ActionTemplateSet(std::size_t initial_capacity, std::size_t limit);

    std::optional<ActionTemplateIndex> find(const ActionTypes& types) const;

    // Makes room for one more template, doubling the capacity when full.
    // Returns the capacity before, for rollback with restore_capacity().
    Expected<std::size_t> reserve_one();
    void restore_capacity(std::size_t capacity) { capacity_ = capacity; }
    ActionTemplateIndex append(ActionTypes types);

    const std::vector<ActionTypes>& templates() const { return templates_; }
    std::size_t size() const { return templates_.size(); }
    std::size_t capacity() const { return capacity_; }
    std::size_t limit() const { return limit_; }

private:
    std::vector<ActionTypes> templates_;
    std::size_t capacity_;
    std::size_t limit_;
};

}  // namespace sgnic::policy
