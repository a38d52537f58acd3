#include "log/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "log/rate_limit.hpp"

namespace sgnic::log {

namespace {

constexpr std::chrono::seconds kErrorInterval{30};
constexpr std::size_t kErrorBurst = 5;

spdlog::level::level_enum to_spdlog(Level level) {
    switch (level) {
        case Level::trace:
            return spdlog::level::trace;
        case Level::debug:
            return spdlog::level::debug;
        case Level::info:
            return spdlog::level::info;
        case Level::warning:
            return spdlog::level::warn;
        case Level::error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

int to_syslog(Level level) {
    switch (level) {
        case Level::trace:
        case Level::debug:
            return LOG_DEBUG;
        case Level::info:
            return LOG_INFO;
        case Level::warning:
            return LOG_WARNING;
        case Level::error:
            return LOG_ERR;
    }
    return LOG_INFO;
}

bool to_journal = false;  // set once by setup(), before any event

RateLimiter& error_limiter() {
    static RateLimiter limiter(kErrorInterval, kErrorBurst);
    return limiter;
}

}  // namespace

void setup(Level level) {
    std::shared_ptr<spdlog::logger> logger;
    if (std::getenv("JOURNAL_STREAM") != nullptr) {  // NOLINT(concurrency-mt-unsafe): at start
        logger = std::make_shared<spdlog::logger>(
            "sgnicd", std::make_shared<spdlog::sinks::systemd_sink_mt>("sgnicd"));
        logger->set_pattern("%v");  // the journal stamps time and priority itself
        to_journal = true;
    } else {
        logger = std::make_shared<spdlog::logger>(
            "sgnicd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        logger->set_pattern("sgnicd: %l: %v");
    }
    spdlog::set_default_logger(logger);
    set_level(level);
}

void set_level(Level level) { spdlog::set_level(to_spdlog(level)); }

void event(Level level, std::string_view message_id, std::string_view message,
           std::span<const Field> fields) {
    if (!spdlog::should_log(to_spdlog(level))) {
        return;
    }
    if (!to_journal) {
        spdlog::log(to_spdlog(level), "{}", message);
        return;
    }
    std::vector<std::string> items = {
        "MESSAGE=" + std::string(message),
        "PRIORITY=" + std::to_string(to_syslog(level)),
        "MESSAGE_ID=" + std::string(message_id),
        "SYSLOG_IDENTIFIER=sgnicd",
    };
    for (const Field& f : fields) {
        items.push_back(std::string(f.name) + "=" + f.value);
    }
    std::vector<iovec> iov;
    iov.reserve(items.size());
    for (std::string& item : items) {
        iov.push_back({.iov_base = item.data(), .iov_len = item.size()});
    }
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0) {
        spdlog::log(to_spdlog(level), "{}", message);  // the journal is gone: the stream stays
    }
}

void error_limited(const std::string& key, std::string_view message) {
    const auto v = error_limiter().check(key, RateLimiter::Clock::now());
    if (v.suppressed_before > 0) {
        spdlog::warn("{} similar messages ({}) suppressed", v.suppressed_before, key);
    }
    if (v.allow) {
        spdlog::error("{}", message);
    }
}

}  // namespace sgnic::log
