// The desired state: what callers asked for.  The store persists it, the
// service changes it, reconcile compares it with the kernel.
//
// A rule is held as the device takes it (RuleBody: its matcher template's
// bytes and its actions), parsed once when it arrives; its canonical text
// (sgnic/proto/codec.hpp) is made again only when someone reads it.  At
// millions of rules this table is most of sgnicd's memory: ~56 bytes a rule.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "policy/id_table.hpp"
#include "policy/types.hpp"
#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/load.hpp"

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

// A rule's match values (every template field, in template order, and which
// of them the caller gave) and its actions, packed into 32 bytes; a body
// that does not fit (long addresses, many actions) keeps its bytes on the heap.
class RuleBody {
public:
    RuleBody() = default;
    RuleBody(std::span<const std::uint8_t> match, std::uint32_t given,
             std::span<const policy::Action> actions);
    RuleBody(const RuleBody& other);
    RuleBody& operator=(const RuleBody& other);
    RuleBody(RuleBody&&) noexcept = default;
    RuleBody& operator=(RuleBody&&) noexcept = default;
    ~RuleBody() = default;

    std::span<const std::uint8_t> match() const { return {data(), match_len_}; }
    std::uint32_t given() const { return given_; }
    std::vector<policy::Action> actions() const;
    void actions(std::vector<policy::Action>& out) const;  // into out's memory
    policy::ActionTypes action_types() const;              // without the arguments

    // The stored form (the store's rule rows): given (2 bytes, little-endian),
    // the match length, the action count, the match bytes, then each action
    // as its type and its argument (4 bytes, little-endian).
    void append_stored(std::string& out) const;
    // Read back and checked under the rule's matcher template as parse_body()
    // checks texts: a damaged row is refused, naming what is wrong.
    static Expected<RuleBody> from_stored(const proto::MatchTemplate& tmpl,
                                          std::span<const std::uint8_t> stored);

    friend bool operator==(const RuleBody& a, const RuleBody& b);

private:
    static constexpr std::size_t kActionBytes = 5;  // type, then the argument
    static constexpr std::size_t kInline = 18;

    const std::uint8_t* data() const { return heap_ ? heap_.get() : inline_.data(); }
    std::size_t bytes() const { return match_len_ + actions_ * kActionBytes; }

    std::uint16_t given_ = 0;
    std::uint8_t match_len_ = 0;
    std::uint8_t actions_ = 0;
    std::array<std::uint8_t, kInline> inline_{};
    std::unique_ptr<std::uint8_t[]> heap_;  // when bytes() > kInline
};

struct DesiredRule {
    RuleKey id = 0;
    MatcherKey matcher = 0;
    std::uint32_t uid = 0;  // who asked for it
    policy::Directions directions;
    RuleBody body;
    friend bool operator==(const DesiredRule&, const DesiredRule&) = default;
};

using RuleTable = policy::IdTable<DesiredRule>;

// Looks rules up by key; keys asked in ascending order walk the table once
// instead of a binary search each (a start looks up a million rules).  A
// key below the previous one is searched.  The table must not change while
// this lives.
class RuleCursor {
public:
    explicit RuleCursor(const RuleTable& table) : table_(table), at_(table.begin()) {}
    const DesiredRule* find(RuleKey key) {
        if (key < last_) {
            return table_.find(key);
        }
        last_ = key;
        while (at_ != table_.end() && at_->id < key) {
            ++at_;
        }
        return at_ != table_.end() && at_->id == key ? &*at_ : nullptr;
    }

private:
    const RuleTable& table_;
    RuleTable::const_iterator at_;
    RuleKey last_ = 0;
};

struct DesiredState {
    std::map<MatcherKey, DesiredMatcher> matchers;
    RuleTable rules;
    MatcherKey next_matcher = 1;  // never reused, even after deletes
    RuleKey next_rule = 1;
    friend bool operator==(const DesiredState&, const DesiredState&) = default;
};

// A rule's texts parsed under its matcher's template (the store's rows,
// tests); errors name the field or action at fault.
Expected<RuleBody> parse_body(const proto::MatchTemplate& tmpl, std::span<const FieldText> match,
                              std::span<const std::string> actions);
// A rule request parsed whole under its matcher's template: its directions,
// values and actions, and whether the actions fit the directions, checked in
// that order.  Its id and uid stay 0: they are given when the rule is added.
Expected<DesiredRule> parse_rule(const proto::MatchTemplate& tmpl, const proto::RuleRequest& req);
// The canonical texts: the fields the caller gave, in template order.
std::vector<FieldText> match_texts(const proto::MatchTemplate& tmpl, const RuleBody& body);
std::vector<std::string> action_texts(const RuleBody& body);

// match_texts() of rules of many matchers (a page of `rule list`, a store
// batch): each matcher's template is parsed once, while this lives.
class MatchTexts {
public:
    explicit MatchTexts(const std::map<MatcherKey, DesiredMatcher>& matchers)
        : matchers_(matchers) {}
    // Errc::invalid_argument if the rule's matcher is unknown or its
    // template does not parse.
    Expected<std::vector<FieldText>> of(const DesiredRule& rule);

private:
    const std::map<MatcherKey, DesiredMatcher>& matchers_;
    std::map<MatcherKey, proto::MatchTemplate> templates_;
};

}  // namespace sgnic::model
