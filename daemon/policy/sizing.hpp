// Per-direction matcher sizing: when a hash table must grow and how far it
// may.  The numbers are upstream mlx5 HWS BWC's (DESIGN §3).
#pragma once

#include <cstdint>

#include "policy/types.hpp"

namespace sgnic::policy {

struct PolicyConfig {
    int init_size_log = 1;              // every direction of a new matcher
    int size_log_step = 1;              // growth per rehash
    int rehash_percent_threshold = 70;  // grow when rules fill this much of 2^size_log
    int assured_main_table_depth = 2;   // log2 of the entries a row always holds
    int action_templates_initial = 8;   // capacity of a new matcher's template list
    int action_templates_max = 128;     // capacity never doubles past this
    // Rules one resize step moves.  0: a resize runs to its end in the call
    // that starts it; otherwise, when it has more than one step's worth of
    // rules to move, the caller drives it with Policy::step() (sgnicd
    // between D-Bus calls, so that no client waits behind a rehash).
    int resize_step_rules = 1024;
};

// The state one direction (RX or TX hash table) of a matcher keeps.  A
// matcher holds two; every helper takes the one it works on.
struct DirectionSize {
    int size_log = 0;
    std::uint64_t rules = 0;
    bool rehash_required = false;
};

class Sizing {
public:
    Sizing(const PolicyConfig& config, const Caps& caps) : config_(config), caps_(caps) {}

    // Another step would make the table deeper than the device can allocate.
    bool maxed_out(int size_log) const;
    // The rule count has reached the threshold and the table can still grow.
    bool needs_growth(const DirectionSize& size) const;
    // The next size: one step up, never past the cap.
    int grown(int size_log) const;
    int cap() const;
    // The size rule-by-rule growth reaches once `more` rules are added.
    int grown_for(const DirectionSize& size, std::uint64_t more) const;
    // The rules a table of `size_log` takes before it stops growing: the
    // threshold of the largest size growth reaches from there.
    std::uint64_t capacity(int size_log) const;

private:
    const PolicyConfig& config_;
    Caps caps_;
};

}  // namespace sgnic::policy
