#include "service/read_ahead.hpp"

#include <spdlog/spdlog.h>

#include <system_error>
#include <utility>

#include "service/bulk_thread.hpp"

namespace sgnic::service {

namespace load = proto::load;

ReadAhead::ReadAhead(load::RecordReader::ReadAt read, bool lines,
                     std::shared_ptr<const MatcherIndex> matchers, std::string port)
    : reader_(std::move(read)),
      lines_(lines),
      matchers_(std::move(matchers)),
      port_(std::move(port)) {
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
        free_.push_back(b);
    }
    try {
        thread_ = std::thread([this] {
            start_bulk_thread("sgnicd-read");
            run();
        });
    } catch (const std::system_error& e) {
        spdlog::debug("load: no thread to read ahead ({}); each block read when reached", e.what());
    }
}

ReadAhead::~ReadAhead() { stop(); }

void ReadAhead::stop() {
    if (!thread_.joinable()) {
        return;
    }
    {
        const std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void ReadAhead::run() {
    for (;;) {
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stop_ || free_.size() >= kRefillBlocks; });
        }
        for (;;) {
            std::size_t b = 0;
            {
                const std::lock_guard lock(mu_);
                if (stop_) {
                    return;
                }
                if (free_.empty()) {
                    break;
                }
                b = free_.front();
                free_.pop_front();
            }
            fill(blocks_[b]);
            const bool last = blocks_[b].last;
            {
                const std::lock_guard lock(mu_);
                ready_.push_back(b);
            }
            cv_.notify_all();
            if (last) {
                return;
            }
        }
    }
}

void ReadAhead::fill(Block& block) {
    block.used = 0;
    block.last = false;
    block.error.clear();
    while (block.used < kBlockRecords) {
        auto r = reader_.next();
        if (!r || !*r) {
            block.error = r ? std::string() : r.error().message();
            block.last = true;
            return;
        }
        const load::RecordReader::Record& rec = **r;
        if (block.items.size() == block.used) {
            block.items.emplace_back();
        }
        Item& item = block.items[block.used++];
        item.index = rec.index;
        item.counts = !lines_ || load::holds_rule(rec.text);
        item.kind = Item::Kind::failed;
        if (!item.counts) {
            item.kind = Item::Kind::no_rule;  // blank, or a comment (of any length)
            continue;
        }
        if (rec.too_long) {
            item.reason =
                "the record is longer than " + std::to_string(load::kMaxRecordBytes) + " bytes";
        } else if (!lines_) {
            auto rule = load::parse_record(rec.text);
            if (rule) {
                item.kind = Item::Kind::rule;
                item.line.port.clear();
                item.line.rule = std::move(*rule);
            } else {
                item.reason = rule.error().message();
            }
        } else if (quick_parse(rec.text, item)) {
            item.kind = Item::Kind::rule;
            continue;
        } else if (auto parsed = load::parse_rule_line(rec.text, item.line); !parsed) {
            item.reason = parsed.error().message();
        } else {
            item.kind = *parsed ? Item::Kind::rule : Item::Kind::no_rule;
        }
        if (item.kind == Item::Kind::rule) {
            if (auto ok = parse(item); !ok) {
                item.kind = Item::Kind::failed;
                item.reason = ok.error().message();
            }
        }
        if (item.kind == Item::Kind::failed) {
            item.text.assign(rec.text);  // quoted in the failure
        }
    }
}

const MatcherIndex::Entry* ReadAhead::matcher(std::uint64_t key) {
    if (last_matcher_ == nullptr || last_key_ != key) {
        last_matcher_ = matchers_->find(key);
        last_key_ = key;
    }
    return last_matcher_.get();
}

bool ReadAhead::quick_parse(std::string_view line, Item& item) {
    if (!quick_.scan(line)) {
        return false;
    }
    const MatcherIndex::Entry* m = matcher(quick_.matcher());
    if (m == nullptr || (!quick_.port().empty() && quick_.port() != m->port) ||
        !quick_.parse(m->match_template, item.rule)) {
        return false;  // the full parse says why
    }
    item.line.port.assign(quick_.port());
    return true;
}

Status ReadAhead::parse(Item& item) {
    const std::uint64_t key = item.line.rule.matcher;
    const MatcherIndex::Entry* m = matcher(key);
    if (!lines_ && (m == nullptr || m->port != port_)) {
        return MatcherIndex::none_on(key, port_);
    }
    if (m == nullptr) {
        return MatcherIndex::no_matcher(key);
    }
    if (!item.line.port.empty() && item.line.port != m->port) {
        return MatcherIndex::elsewhere(key, m->port, item.line.port);
    }
    auto rule = model::parse_rule(m->match_template.tmpl(), item.line.rule);
    if (!rule) {
        return rule.error();
    }
    item.rule = std::move(*rule);
    return {};
}

ReadAhead::Item* ReadAhead::next() {
    for (;;) {
        if (done_) {
            return nullptr;
        }
        if (current_) {
            Block& block = blocks_[*current_];
            if (at_ < block.used) {
                return &block.items[at_++];
            }
            if (block.last) {
                done_ = true;
                error_ = block.error;
                return nullptr;
            }
            {
                const std::lock_guard lock(mu_);
                free_.push_back(*current_);
            }
            cv_.notify_all();
            current_.reset();
        }
        if (!thread_.joinable()) {  // no thread: this one reads
            const std::size_t b = free_.front();
            free_.pop_front();
            fill(blocks_[b]);
            ready_.push_back(b);
        }
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !ready_.empty(); });
        current_ = ready_.front();
        ready_.pop_front();
        at_ = 0;
    }
}

std::optional<std::uint64_t> ReadAhead::count_rest() {
    stop();
    std::uint64_t rest = 0;
    bool last = false;
    auto count = [&](const Block& block, std::size_t from) {
        for (std::size_t i = from; i < block.used; ++i) {
            rest += block.items[i].counts ? 1 : 0;
        }
        last = block.last;
        return block.error.empty();
    };
    if (current_ && !count(blocks_[*current_], at_)) {
        return std::nullopt;
    }
    for (const std::size_t b : ready_) {
        if (!count(blocks_[b], 0)) {
            return std::nullopt;
        }
    }
    ready_.clear();
    current_.reset();
    done_ = true;
    if (last) {
        return rest;
    }
    auto more = reader_.count_rest(lines_ ? load::holds_rule : nullptr);
    if (!more) {
        return std::nullopt;
    }
    return rest + *more;
}

}  // namespace sgnic::service
