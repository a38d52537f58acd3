#include "adapter/rule_sender.hpp"

#include <pthread.h>

#include <system_error>
#include <utility>

#include "adapter/netlink_kernel.hpp"

namespace sgnic::adapter {

RuleSender::RuleSender() = default;

RuleSender::~RuleSender() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_one();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void RuleSender::send(nl::Message request, std::size_t rules, std::string context) {
    Request r{.message = std::move(request), .rules = rules, .context = std::move(context)};
    if (!thread_.joinable()) {
        try {
            thread_ = std::thread([this] {
                pthread_setname_np(pthread_self(), "sgnicd-insert");  // in top, perf and ps -L
                run();
            });
        } catch (const std::system_error&) {
            transact(r);  // no thread: this one sends, as a plain insert would
            return;
        }
    }
    {
        const std::lock_guard lock(mutex_);
        queue_.push_back(std::move(r));
    }
    work_.notify_one();
}

void RuleSender::drain() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

RuleSender::Outcome RuleSender::settle() {
    drain();
    const std::lock_guard lock(mutex_);
    return std::exchange(outcome_, Outcome{});
}

void RuleSender::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) {
            return;  // stopping, with nothing left to send
        }
        const Request request = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        lock.unlock();
        transact(request);
        lock.lock();
        busy_ = false;
        if (queue_.empty()) {
            idle_.notify_all();
        }
    }
}

void RuleSender::transact(const Request& request) {
    nl::BulkReply reply;
    std::optional<Error> failed;
    try {
        sock_.transact(request.message,
                       [&](const nlmsghdr* nlh) { reply = nl::parse_bulk_reply(nlh); });
    } catch (const nl::Error& e) {
        failed = to_policy_error(e, request.context);
    }
    const std::lock_guard lock(mutex_);
    if (failed) {
        outcome_.refused += request.rules;
        if (!outcome_.first) {
            outcome_.first = std::move(*failed);
        }
        return;
    }
    outcome_.refused += reply.results.size();
    if (!reply.results.empty() && !outcome_.first) {
        outcome_.first = bulk_error(reply.results.front(), request.context);
    }
}

}  // namespace sgnic::adapter
