#include "service/matcher_index.hpp"

#include <utility>

namespace sgnic::service {

void MatcherIndex::put(std::uint64_t matcher, std::string port,
                       proto::MatchTemplate match_template) {
    auto entry = std::make_shared<const Entry>(
        Entry{.port = std::move(port),
              .match_template = model::QuickTemplate(std::move(match_template))});
    const std::lock_guard lock(mu_);
    entries_.insert_or_assign(matcher, std::move(entry));
}

void MatcherIndex::erase(std::uint64_t matcher) {
    const std::lock_guard lock(mu_);
    entries_.erase(matcher);
}

std::shared_ptr<const MatcherIndex::Entry> MatcherIndex::find(std::uint64_t matcher) const {
    const std::lock_guard lock(mu_);
    const auto it = entries_.find(matcher);
    return it == entries_.end() ? nullptr : it->second;
}

Error MatcherIndex::no_matcher(std::uint64_t matcher) {
    return {Errc::invalid_argument, "no matcher " + std::to_string(matcher)};
}

Error MatcherIndex::none_on(std::uint64_t matcher, const std::string& port) {
    return {Errc::no_such_matcher,
            "no matcher " + std::to_string(matcher) + " on port '" + port + "'"};
}

Error MatcherIndex::elsewhere(std::uint64_t matcher, const std::string& port,
                              std::string_view named) {
    return {Errc::invalid_argument, "matcher " + std::to_string(matcher) + " is on port '" + port +
                                        "', not '" + std::string(named) + "'"};
}

}  // namespace sgnic::service
