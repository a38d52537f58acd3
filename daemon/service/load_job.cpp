#include "service/load_job.hpp"

#include <charconv>

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

// A rule the device refused, quoted as its record: the record's columns
// written again are the record, so a chunk keeps no text per rule.
std::string quoted_record(const RuleRequest& rule) {
    std::string record;
    if (!load::append_record(record, rule)) {
        return {};  // cannot happen: the rule was read from a record
    }
    record.pop_back();  // its newline
    return load::excerpt(record);
}

}  // namespace

LoadJob::LoadJob(load::RecordReader::ReadAt read, Options options, Add add, Reserve reserve)
    : options_(options), add_(std::move(add)), reserve_(std::move(reserve)), reader_(read) {
    if (options_.expected && *options_.expected > 0) {
        scan_.emplace(std::move(read));
    }
}

bool LoadJob::step() {
    if (finished_) {
        return false;
    }
    if (scan_) {
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
    for (std::size_t n = 0; n < kScanRecordsPerStep; ++n) {
        auto r = scan_->next();
        if (!r || !*r) {
            break;  // a read error is met again, and reported, by the load
        }
        if (const auto md = matcher_and_directions((*r)->text)) {
            auto& [rx, tx] = incoming_[md->first];
            rx += md->second.rx ? 1 : 0;
            tx += md->second.tx ? 1 : 0;
        }
        if (n + 1 == kScanRecordsPerStep) {
            return;  // more next time
        }
    }
    // Each matcher grows once, to what all its rules need, before the
    // first chunk: one resize instead of one per chunk.
    for (const auto& [matcher, more] : incoming_) {
        reserve_(matcher, more.first, more.second);
    }
    incoming_.clear();
    scan_.reset();
}

void LoadJob::fail(std::uint64_t index, std::string text, std::string reason) {
    failures_.push_back({.index = index, .text = std::move(text), .reason = std::move(reason)});
}

void LoadJob::read_chunk() {
    rules_.clear();
    indices_.clear();
    for (std::size_t n = 0; n < options_.chunk && failures_.size() < kMaxFailures; ++n) {
        auto r = reader_.next();
        if (!r) {
            finish("read the records: " + r.error().message(), rules_.size());
            return;
        }
        if (!*r) {
            end_of_file_ = true;
            break;
        }
        const load::RecordReader::Record& rec = **r;
        if (rec.too_long) {
            fail(rec.index, load::excerpt(rec.text),
                 "the record is longer than " + std::to_string(load::kMaxRecordBytes) + " bytes");
            continue;
        }
        auto rule = load::parse_record(rec.text);
        if (!rule) {
            fail(rec.index, load::excerpt(rec.text), rule.error().message());
            continue;
        }
        rules_.push_back(std::move(*rule));
        indices_.push_back(rec.index);
    }
    if (!rules_.empty()) {
        retry_.emplace(rules_.size());
    }
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
        if (end_of_file_) {
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
    std::vector<RuleRequest> gathered;
    std::span<const RuleRequest> batch = rules_;
    if (pending.size() != rules_.size()) {
        gathered.reserve(pending.size());
        for (const std::size_t at : pending) {
            gathered.push_back(rules_[at]);
        }
        batch = gathered;
    }
    load::BatchResult result;
    if (auto added = add_(batch)) {
        result.ok = true;
    } else {
        std::string rest;
        result.index = load::failing_index(added.error().message(), &rest);
        result.message = result.index ? rest : added.error().message();
        result.fatal = ends_the_load(added.error().code());
    }
    const load::ChunkRetry::Settled settled = retry_->settle(result);
    loaded_ += settled.loaded;
    if (settled.fatal) {
        // The chunk's pending rules stay unlisted: not loaded, as the rest.
        finish(settled.reason, settled.failed.size());
        return;
    }
    for (const std::size_t at : settled.failed) {
        fail(indices_[at], quoted_record(rules_[at]), settled.reason);
    }
    if (retry_->done()) {
        retry_.reset();
        rules_.clear();
        indices_.clear();
    } else if (failures_.size() >= kMaxFailures) {
        finish("more than " + std::to_string(kMaxFailures) + " records failed",
               retry_->pending().size());
    }
}

void LoadJob::finish(std::string error, std::uint64_t pending) {
    finished_ = true;
    error_ = std::move(error);
    retry_.reset();
    rules_.clear();
    indices_.clear();
    scan_.reset();
    if (error_.empty()) {
        return;
    }
    unloaded_ = pending;
    // The records after the chunk were not loaded either; a read error
    // leaves them uncounted.
    if (auto rest = reader_.count_rest()) {
        unloaded_ += *rest;
    }
}

}  // namespace sgnic::service
