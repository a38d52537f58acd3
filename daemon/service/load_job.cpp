#include "service/load_job.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <iterator>
#include <utility>

#include "sgnic/proto/codec.hpp"

namespace sgnic::service {

namespace load = proto::load;

namespace {

// Errors after which no later batch can succeed: the store (or a read-only
// sgnicd) refuses every change, or the port is gone.
bool ends_the_load(Errc code) { return code == Errc::store || code == Errc::no_such_port; }

// The matcher and directions of a record, read without parsing the rest:
// the presize scan only counts.
std::optional<std::pair<model::MatcherKey, proto::Directions>> matcher_and_directions(
    std::string_view record) {
    const std::size_t tab1 = record.find(load::kColumnSeparator);
    if (tab1 == std::string_view::npos) {
        return std::nullopt;
    }
    const std::size_t tab2 = record.find(load::kColumnSeparator, tab1 + 1);
    if (tab2 == std::string_view::npos) {
        return std::nullopt;
    }
    model::MatcherKey matcher = 0;
    const auto [end, ec] = std::from_chars(record.data(), record.data() + tab1, matcher);
    if (ec != std::errc() || end != record.data() + tab1) {
        return std::nullopt;
    }
    auto dirs = proto::parse_directions(record.substr(tab1 + 1, tab2 - tab1 - 1));
    if (!dirs) {
        return std::nullopt;
    }
    return std::pair{matcher, *dirs};
}

}  // namespace

LoadJob::LoadJob(load::RecordReader::ReadAt read, Options options,
                 std::shared_ptr<const MatcherIndex> matchers, std::string port, Add add,
                 Collect collect, Reserve reserve)
    : options_(std::move(options)),
      matchers_(std::move(matchers)),
      port_(std::move(port)),
      add_([add = std::move(add)](const std::string& /*port*/, Rules rules, Ticket after,
                                  const Meanwhile& meanwhile) {
          return add(rules, after, meanwhile);
      }),
      collect_(std::move(collect)),
      reserve_(std::move(reserve)),
      total_(options_.expected.value_or(0)),
      read_(read) {
    if (options_.expected && *options_.expected > 0 && !options_.incoming) {
        scan_.emplace(std::move(read));
    }
}

LoadJob::LoadJob(load::RecordReader::ReadAt read, Options options,
                 std::shared_ptr<const MatcherIndex> matchers, Route route, AddTo add,
                 Collect collect, Reserve reserve)
    : options_(std::move(options)),
      matchers_(std::move(matchers)),
      route_(std::move(route)),
      add_(std::move(add)),
      collect_(std::move(collect)),
      reserve_(std::move(reserve)),
      total_(options_.expected.value_or(0)),
      read_(read) {
    // Lines are counted, per matcher to presize, and the total for
    // progress when the caller gave none, unless the caller counted them.
    if (!options_.incoming) {
        scan_.emplace(std::move(read));
    }
}

bool LoadJob::step() {
    if (finished_) {
        return false;
    }
    if (options_.incoming) {
        // The caller's counts, in a step of their own as the scan's.
        reserve_(*options_.incoming);
        options_.incoming.reset();
    } else if (scan_) {
        scan_step();
    } else {
        load_step();
    }
    return !finished_;
}

void LoadJob::abandon(const std::string& why) {
    if (finished_) {
        return;
    }
    finish(why, retry_ ? retry_->pending().size() : 0);
}

void LoadJob::scan_step() {
    for (std::size_t n = 0;; ++n) {
        if (n == kScanRecordsPerStep) {
            return;  // more next time
        }
        auto r = scan_->next();
        if (!r || !*r) {
            break;  // a read error is met again, and reported, by the load
        }
        const std::string_view text = (*r)->text;
        if (route_ && !load::holds_rule(text)) {
            continue;
        }
        ++scanned_;
        if (const auto md = route_ ? scan_targets_(text) : matcher_and_directions(text)) {
            load::count_rule(incoming_, md->first, md->second);
        }
    }
    // Each matcher grows once, to what all its rules need, before the
    // first chunk: one resize instead of one per chunk.
    reserve_(incoming_);
    incoming_.clear();
    scan_.reset();
    if (!options_.expected) {
        total_ = scanned_;
    }
}

void LoadJob::fail(std::uint64_t index, std::string text, std::string reason) {
    failures_.push_back({.index = index, .text = std::move(text), .reason = std::move(reason)});
}

bool LoadJob::take(ReadAhead::Item& item, std::vector<LoadFailure>& failures) {
    auto failed = [&](std::string reason) {
        failures.push_back(
            {.index = item.index, .text = load::excerpt(item.text), .reason = std::move(reason)});
    };
    switch (item.kind) {
        case ReadAhead::Item::Kind::no_rule:
            return false;
        case ReadAhead::Item::Kind::failed:
            failed(std::move(item.reason));
            return false;
        case ReadAhead::Item::Kind::rule:
            break;
    }
    // The reader checked the matcher as it was; it may have changed since.
    // A matcher's port never changes: a rule of the same matcher and port
    // word as the rule before goes where that one went (if the matcher is
    // gone meanwhile, the service refuses the rule).
    if (route_ &&
        (!routed_ || item.rule.matcher != routed_matcher_ || item.line.port != routed_named_)) {
        routed_ = false;
        auto port = route_(item.line.port, item.rule.matcher);
        if (!port) {
            failed(port.error().message());
            return false;
        }
        rule_port_ = std::move(*port);
        routed_matcher_ = item.rule.matcher;
        routed_named_ = item.line.port;
        routed_ = true;
    }  // else rule_port_ stays "": the job's one port
    rule_index_ = item.index;
    rule_ = std::move(item.rule);
    return true;
}

void LoadJob::keep_rule(Chunk& chunk) {
    chunk.rules.push_back(std::move(rule_));
    chunk.indices.push_back(rule_index_);
}

std::string LoadJob::quoted(const std::string& port, const model::DesiredRule& rule) const {
    // Its canonical words: the job keeps no text per rule.
    proto::RuleRequest request{.matcher = rule.matcher,
                               .directions = proto::format_directions(rule.directions),
                               .match = {},
                               .actions = model::action_texts(rule.body)};
    if (const auto entry = matchers_->find(rule.matcher)) {
        request.match = model::match_texts(entry->match_template.tmpl(), rule.body);
    }
    std::string text;
    const Status written =
        route_ ? load::append_rule_line(text, port, request.matcher, request.directions,
                                        request.match, request.actions)
               : load::append_record(text, request);
    if (!written) {
        return {};  // cannot happen: the rule was read from such a text
    }
    text.pop_back();  // its newline
    return load::excerpt(text);
}

void LoadJob::read_into(Chunk& chunk) {
    if (holding_) {
        holding_ = false;
        chunk.port = rule_port_;
        keep_rule(chunk);
    }
    // A chunk counts rules and failures; lines without a rule are read on,
    // up to a bound on one step's reading.
    const std::size_t size = std::exchange(chunk_size_, std::min(chunk_size_ * 4, options_.chunk));
    chunk.rules.reserve(size);
    chunk.indices.reserve(size);
    for (std::size_t read = 0;
         chunk.rules.size() + chunk.failures.size() < size && read < size + kScanRecordsPerStep &&
         failures_.size() + chunk.failures.size() < kMaxFailures;
         ++read) {
        ReadAhead::Item* item = ahead_->next();
        if (item == nullptr) {
            chunk.read_error = ahead_->error();
            chunk.end_of_file = chunk.read_error.empty();
            return;
        }
        if (!take(*item, chunk.failures)) {
            continue;
        }
        if (!chunk.rules.empty() && rule_port_ != chunk.port) {
            holding_ = true;  // the next chunk's first rule
            return;
        }
        if (chunk.rules.empty()) {
            chunk.port = rule_port_;
        }
        keep_rule(chunk);
    }
}

void LoadJob::read_chunk() {
    chunk_.rules.clear();
    chunk_.indices.clear();
    if (next_ && failures_.size() + next_->failures.size() >= kMaxFailures) {
        // Its failures listed (up to the bound), its rules not sent.
        finish("more than " + std::to_string(kMaxFailures) + " records failed", 0);
        return;
    }
    if (next_) {
        // The chunk before keeps its lists' memory for the one after next.
        std::swap(chunk_, *next_);
        spare_ = std::move(*next_);
        next_.reset();
    } else {
        read_into(chunk_);
    }
    std::move(chunk_.failures.begin(), chunk_.failures.end(), std::back_inserter(failures_));
    chunk_.failures.clear();
    if (!chunk_.read_error.empty()) {
        finish("read the records: " + std::exchange(chunk_.read_error, {}), chunk_.rules.size());
        return;
    }
    end_of_file_ = end_of_file_ || chunk_.end_of_file;
    if (!chunk_.rules.empty()) {
        retry_.emplace(chunk_.rules.size());
    }
}

void LoadJob::read_next_chunk() {
    // Once per chunk; nothing when the chunk in progress is the last.
    if (next_ || finished_ || cancel_ || (end_of_file_ && !holding_) ||
        failures_.size() >= kMaxFailures) {
        return;
    }
    Chunk& next = next_.emplace(std::move(spare_));
    next.rules.clear();
    next.indices.clear();
    next.port.clear();
    next.failures.clear();
    next.read_error.clear();
    next.end_of_file = false;
    read_into(next);
}

void LoadJob::load_step() {
    if (!retry_) {
        if (cancel_) {
            finish("cancelled", 0);
            return;
        }
        if (failures_.size() >= kMaxFailures) {
            finish("more than " + std::to_string(kMaxFailures) + " records failed", 0);
            return;
        }
        if (end_of_file_ && !holding_) {
            finish("", 0);
            return;
        }
        read_chunk();
        if (!retry_) {
            return;  // malformed records only, or the end: settled next step
        }
    }
    // One batch call per step.  The first send of a chunk is the chunk
    // itself; a resend gathers the rules still pending.
    const std::vector<std::size_t>& pending = retry_->pending();
    std::vector<model::DesiredRule> gathered;
    Rules batch = chunk_.rules;
    if (pending.size() != chunk_.rules.size()) {
        gathered.reserve(pending.size());
        for (const std::size_t at : pending) {
            gathered.push_back(chunk_.rules[at]);
        }
        batch = gathered;
    }
    load::BatchResult result;
    Ticket ticket = 0;
    if (auto added = add_(chunk_.port, batch, in_flight_ ? in_flight_->ticket : 0,
                          [this] { read_next_chunk(); })) {
        result.ok = true;
        ticket = *added;
    } else {
        std::string rest;
        result.index = load::failing_index(added.error().message(), &rest);
        result.message = result.index ? rest : added.error().message();
        result.fatal = ends_the_load(added.error().code());
    }
    const load::ChunkRetry::Settled settled = retry_->settle(result);
    if (result.ok) {
        // The chunk before was stored while this one went to the device
        // (else this one had failed too).
        if (auto not_stored = land()) {
            in_flight_ = InFlight{.ticket = ticket, .rules = settled.loaded};
            finish(std::move(*not_stored), 0);
            return;
        }
        in_flight_ = InFlight{.ticket = ticket, .rules = settled.loaded};
    }
    if (settled.fatal) {
        // The chunk's pending rules stay unlisted: not loaded, as the rest.
        finish(settled.reason, settled.failed.size());
        return;
    }
    for (const std::size_t at : settled.failed) {
        fail(chunk_.indices[at], quoted(chunk_.port, chunk_.rules[at]), settled.reason);
    }
    if (retry_->done()) {
        retry_.reset();
        chunk_.rules.clear();
        chunk_.indices.clear();
    } else if (failures_.size() >= kMaxFailures) {
        finish("more than " + std::to_string(kMaxFailures) + " records failed",
               retry_->pending().size());
    }
}

std::optional<std::string> LoadJob::land() {
    if (!in_flight_) {
        return std::nullopt;
    }
    const InFlight flight = *in_flight_;
    in_flight_.reset();
    if (auto stored = collect_(flight.ticket); !stored) {
        unloaded_ += flight.rules;
        return stored.error().message();
    }
    loaded_ += flight.rules;
    return std::nullopt;
}

void LoadJob::finish(std::string error, std::uint64_t pending) {
    finished_ = true;
    // The chunk in flight settles first: its rules come before the rest.
    if (auto not_stored = land(); not_stored && error.empty()) {
        error = std::move(*not_stored);
    }
    error_ = std::move(error);
    retry_.reset();
    chunk_.rules.clear();
    chunk_.indices.clear();
    scan_.reset();
    if (error_.empty()) {
        ahead_.reset();  // its blocks' memory, while the job lingers for its result
        return;
    }
    unloaded_ += pending + (holding_ ? 1 : 0);
    holding_ = false;
    // The chunk read ahead: its failures stand (those the list has room for;
    // the rest count as not loaded), its rules were not loaded.
    if (next_) {
        const std::size_t room =
            failures_.size() < kMaxFailures ? kMaxFailures - failures_.size() : 0;
        const std::size_t kept = std::min(room, next_->failures.size());
        const auto first = next_->failures.begin();
        std::move(first, first + static_cast<std::ptrdiff_t>(kept), std::back_inserter(failures_));
        unloaded_ += next_->rules.size() + (next_->failures.size() - kept);
        next_.reset();
    }
    // The rules after the chunk were not loaded either; a read error
    // leaves them uncounted.
    unloaded_ += ahead_->count_rest().value_or(0);
    ahead_.reset();
}

}  // namespace sgnic::service
