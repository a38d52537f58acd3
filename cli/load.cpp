#include "cli/load.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

namespace sgnic::cli {

namespace {

using Json = nlohmann::json;

std::string usage_reason(const UsageError& e) {
    return e.hint.empty() ? e.message : e.message + " (" + e.hint + ")";
}

// A JSON rule becomes the words of `rule add`, so both forms are checked by
// the same grammar.
std::variant<std::vector<std::string>, std::string> json_words(const Json& r) {
    if (!r.is_object()) {
        return std::string("a rule must be a JSON object");
    }
    std::vector<std::string> w;
    auto text = [&](const char* key) -> std::optional<std::string> {
        const auto it = r.find(key);
        if (it == r.end()) {
            return std::nullopt;
        }
        return it->is_string() ? it->get<std::string>() : it->dump();
    };
    if (auto port = text("dev") ? text("dev") : text("port")) {
        w.insert(w.end(), {"dev", *port});
    }
    const auto m = r.find("matcher");
    if (m == r.end()) {
        return std::string("a rule needs \"matcher\"");
    }
    if (!m->is_number_unsigned()) {
        return "\"matcher\" must be a number above 0, not " + m->dump();
    }
    w.insert(w.end(), {"matcher", std::to_string(m->get<std::uint64_t>())});
    if (auto dir = text("dir") ? text("dir") : text("directions")) {
        w.insert(w.end(), {"dir", *dir});
    }
    const auto match = r.find("match");
    if (match != r.end()) {
        if (match->is_object()) {
            for (const auto& [field, value] : match->items()) {
                w.push_back(field);
                w.push_back(value.is_string() ? value.get<std::string>() : value.dump());
            }
        } else if (match->is_array()) {
            for (const Json& f : *match) {
                if (!f.is_object() || !f.contains("field") || !f.contains("value") ||
                    !f["field"].is_string()) {
                    return std::string(R"("match" entries must be {"field": ..., "value": ...})");
                }
                w.push_back(f["field"].get<std::string>());
                w.push_back(f["value"].is_string() ? f["value"].get<std::string>()
                                                   : f["value"].dump());
            }
        } else {
            return std::string("\"match\" must be an object or an array");
        }
    }
    const auto actions = r.find("actions");
    if (actions == r.end()) {
        return std::string("a rule needs \"actions\"");
    }
    w.emplace_back("action");
    if (actions->is_string()) {
        for (auto& word : split_words(actions->get<std::string>())) {
            w.push_back(std::move(word));
        }
    } else if (actions->is_array()) {
        for (const Json& a : *actions) {
            if (!a.is_string()) {
                return "\"actions\" must hold strings, not " + a.dump();
            }
            for (auto& word : split_words(a.get<std::string>())) {
                w.push_back(std::move(word));
            }
        }
    } else {
        return std::string("\"actions\" must be a string or an array of strings");
    }
    return w;
}

using OnRule = std::function<void(LoadItem&&)>;
using OnFailure = std::function<void(LoadFailure&&)>;

void add_rule(const OnRule& on_rule, const OnFailure& on_failure, std::string where,
              std::size_t position, std::span<const std::string> words) {
    auto r = parse_rule_words(words);
    if (auto* e = std::get_if<UsageError>(&r)) {
        on_failure({std::move(where), usage_reason(*e), position});
        return;
    }
    on_rule({std::move(where), std::get<RuleText>(std::move(r)), position});
}

constexpr std::string_view kJsonBlanks = " \t\r\n";

// A file that starts with '[' or '{' is a JSON rule file.
bool json_form(std::string_view content) {
    const std::size_t first = content.find_first_not_of(kJsonBlanks);
    return first != std::string_view::npos && (content[first] == '[' || content[first] == '{');
}

// Calls on_rule(its 1-based number, the line) for each line that holds a
// rule.
template <typename OnRule>
void each_rule_line(std::string_view content, OnRule&& on_rule) {
    std::size_t line_no = 0;
    for (std::size_t start = 0; start < content.size();) {
        const std::size_t nl = content.find('\n', start);
        const std::size_t end = nl == std::string_view::npos ? content.size() : nl;
        ++line_no;
        const std::string_view line = content.substr(start, end - start);
        if (proto::load::holds_rule(line)) {
            on_rule(line_no, line);
        }
        start = end + 1;
    }
}

// The rule lines of part of a file, and their rules per matcher.
struct Counted {
    std::uint64_t rules = 0;
    RuleCounts per_matcher;
    proto::load::RuleLineTargets targets;  // the lines before, for the next
};

void count_lines(std::string_view part, Counted& out) {
    // Rules come in runs of a matcher: its counts are looked up once a run.
    std::uint64_t last = 0;
    std::pair<std::uint64_t, std::uint64_t>* counts = nullptr;
    for (std::size_t start = 0; start < part.size();) {
        const std::size_t nl = part.find('\n', start);
        const std::size_t end = nl == std::string_view::npos ? part.size() : nl;
        const std::string_view line = part.substr(start, end - start);
        start = end + 1;
        // A line with no target counts only in the total; sgnicd refuses it.
        const auto target = out.targets(line);
        if (!target) {
            out.rules += proto::load::holds_rule(line) ? 1 : 0;
            continue;
        }
        ++out.rules;
        if (counts == nullptr || target->first != last) {
            counts = &out.per_matcher[target->first];
            last = target->first;
        }
        counts->first += target->second.rx ? 1 : 0;
        counts->second += target->second.tx ? 1 : 0;
    }
}

Counted count_lines(std::string_view part) {
    Counted out;
    count_lines(part, out);
    return out;
}

}  // namespace

void RuleLineCount::add(std::string_view piece) {
    bytes_ += piece.size();
    if (!started_) {
        // Blank pieces before the first word hold no rule either way.
        if (piece.find_first_not_of(kJsonBlanks) == std::string_view::npos) {
            return;
        }
        started_ = true;
        json_ = json_form(piece);
    }
    if (json_) {
        return;
    }
    Counted counted{.rules = rules_, .per_matcher = std::move(per_matcher_), .targets = targets_};
    count_lines(piece, counted);
    rules_ = counted.rules;
    per_matcher_ = std::move(counted.per_matcher);
    targets_ = counted.targets;
}

RuleLines rule_lines(std::string_view content, const RuleLineCount* counted) {
    RuleLines out;
    if (json_form(content)) {
        each_rule(
            content,
            [&](LoadItem&& item) {
                const RuleText& r = item.rule;
                if (auto st = proto::load::append_rule_line(
                        out.text, r.port.value_or(""), r.matcher, r.directions, r.match, r.actions);
                    !st) {
                    out.refused.push_back(
                        {std::move(item.where), st.error().message(), item.position});
                    return;
                }
                if (const auto dirs = proto::parse_directions(r.directions)) {
                    proto::load::count_rule(out.per_matcher, r.matcher, *dirs);
                }
                out.sent.push_back({std::move(item.where), item.position});
            },
            [&](LoadFailure&& failure) { out.refused.push_back(std::move(failure)); });
        out.rules = out.sent.size();
        return out;
    }
    out.verbatim = true;
    if (counted != nullptr && counted->bytes() == content.size()) {
        out.rules = counted->rules_;
        out.per_matcher = counted->per_matcher_;
        return out;
    }
    // A large file is counted in two halves at once (sgnicd waits for the
    // counts, and has nothing else to do meanwhile).
    constexpr std::size_t kSplitBytes = std::size_t{1} << 20;
    std::size_t half = content.size() / 2;
    half = content.size() < kSplitBytes ? content.size() : content.find('\n', half);
    half = half == std::string_view::npos ? content.size() : half;
    Counted second;
    std::thread other;
    if (half < content.size()) {
        try {
            other = std::thread([&] { second = count_lines(content.substr(half + 1)); });
        } catch (const std::system_error&) {
            half = content.size();  // no thread: this one counts it all
        }
    }
    const Counted first = count_lines(content.substr(0, half));
    if (other.joinable()) {
        other.join();
    }
    out.rules = first.rules + second.rules;
    out.per_matcher = first.per_matcher;
    for (const auto& [matcher, counts] : second.per_matcher) {
        auto& [rx, tx] = out.per_matcher[matcher];
        rx += counts.first;
        tx += counts.second;
    }
    return out;
}

std::vector<RuleName> rule_line_names(std::string_view content) {
    std::vector<RuleName> names;
    each_rule_line(content, [&](std::size_t line_no, std::string_view /*line*/) {
        names.push_back({"line " + std::to_string(line_no), line_no});
    });
    return names;
}

JobOutcome ranked(JobOutcome job, std::span<const RuleName> names) {
    for (auto& [index, reason] : job.failures) {
        const auto it = std::lower_bound(
            names.begin(), names.end(), index,
            [](const RuleName& n, std::uint64_t line) { return n.position < line; });
        index = it != names.end() && it->position == index
                    ? static_cast<std::uint64_t>(it - names.begin()) + 1
                    : 0;  // not a rule line: add_job_outcome names nothing
    }
    return job;
}

void each_rule(std::string_view content, const OnRule& on_rule, const OnFailure& on_failure) {
    if (json_form(content)) {
        Json doc;
        try {
            doc = Json::parse(content);
        } catch (const Json::parse_error& e) {
            on_failure({"file", std::string("not valid JSON: ") + e.what(), 0});
            return;
        }
        const Json* rules = &doc;
        if (doc.is_object()) {
            const auto it = doc.find("rules");
            if (it == doc.end() || !it->is_array()) {
                on_failure({"file",
                            "a JSON rule file is an array of rules or an object with "
                            "\"rules\": [...]",
                            0});
                return;
            }
            rules = &*it;
        }
        std::size_t index = 0;
        for (const Json& r : *rules) {
            std::string where = "rule " + std::to_string(++index);
            auto words = json_words(r);
            if (auto* reason = std::get_if<std::string>(&words)) {
                on_failure({std::move(where), *reason, index});
                continue;
            }
            add_rule(on_rule, on_failure, std::move(where), index,
                     std::get<std::vector<std::string>>(words));
        }
        return;
    }
    std::vector<std::string> words;
    std::size_t line_no = 0;
    std::size_t start = 0;
    while (start <= content.size()) {
        const std::size_t nl = content.find('\n', start);
        const std::string_view line = content.substr(
            start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        ++line_no;
        split_words(line, words);
        if (!words.empty()) {
            add_rule(on_rule, on_failure, "line " + std::to_string(line_no), line_no, words);
        }
        if (nl == std::string_view::npos) {
            break;
        }
        start = nl + 1;
    }
}

LoadReport send_in_chunks(std::span<const LoadItem> items, std::size_t chunk, const SendBatch& send,
                          const std::function<void(std::uint64_t)>& progress) {
    LoadReport report;
    std::uint64_t settled = 0;
    for (std::size_t start = 0; start < items.size(); start += chunk) {
        const std::span<const LoadItem> part =
            items.subspan(start, std::min(chunk, items.size() - start));
        proto::load::ChunkRetry retry(part.size());
        while (!retry.done()) {
            std::vector<LoadItem> batch;
            batch.reserve(retry.pending().size());
            for (const std::size_t at : retry.pending()) {
                batch.push_back(part[at]);
            }
            const auto s = retry.settle(send(batch));
            report.loaded += s.loaded;
            settled += s.loaded + s.failed.size();
            for (const std::size_t at : s.failed) {
                report.failures.push_back({part[at].where, s.reason, part[at].position});
            }
            if (s.fatal) {
                // Everything not yet loaded fails with the same reason.
                for (const LoadItem& it : items.subspan(start + part.size())) {
                    report.failures.push_back({it.where, s.reason, it.position});
                }
                report.aborted = true;
                progress(items.size());
                return report;
            }
            if (!s.failed.empty() && !retry.done()) {
                progress(settled);
            }
        }
        progress(settled);
    }
    return report;
}

void Records::add(const LoadItem& item) {
    const RuleText& rule = item.rule;
    if (auto st = proto::load::append_record(text, rule.matcher, rule.directions, rule.match,
                                             rule.actions);
        !st) {
        refused.push_back({item.where, st.error().message(), item.position});
        return;
    }
    sent.push_back({item.where, item.position});
}

std::vector<LoadItem> rules_at(std::string_view content, std::span<const RuleName> names) {
    std::vector<LoadItem> out;
    out.reserve(names.size());
    std::size_t next = 0;
    each_rule(
        content,
        [&](LoadItem&& item) {
            if (next < names.size() && names[next].position == item.position) {
                out.push_back(std::move(item));
                ++next;
            }
        },
        [](LoadFailure&&) {});
    return out;
}

void add_job_outcome(LoadReport& report, std::span<const RuleName> sent, const JobOutcome& job) {
    std::vector<bool> named(sent.size(), false);
    for (const auto& [index, reason] : job.failures) {
        if (index == 0 || index > sent.size()) {
            continue;  // not one of ours: nothing to name
        }
        const RuleName& it = sent[index - 1];
        named[index - 1] = true;
        report.failures.push_back({it.where, reason, it.position});
    }
    report.loaded += job.loaded;
    if (job.error.empty()) {
        return;
    }
    std::uint64_t loaded = 0;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        if (named[i]) {
            continue;
        }
        if (loaded < job.loaded) {
            ++loaded;
            continue;
        }
        report.failures.push_back({sent[i].where, job.error, sent[i].position});
    }
    report.aborted = true;
}

void sort_failures(LoadReport& report) {
    std::stable_sort(
        report.failures.begin(), report.failures.end(),
        [](const LoadFailure& a, const LoadFailure& b) { return a.position < b.position; });
}

std::string load_summary(const LoadReport& report, std::size_t shown) {
    std::string out = "loaded " + std::to_string(report.loaded) + ", failed " +
                      std::to_string(report.failures.size()) + "\n";
    for (std::size_t i = 0; i < report.failures.size() && i < shown; ++i) {
        out += "  " + report.failures[i].where + ": " + report.failures[i].reason + "\n";
    }
    if (report.failures.size() > shown) {
        out += "  ... and " + std::to_string(report.failures.size() - shown) + " more\n";
    }
    return out;
}

}  // namespace sgnic::cli
