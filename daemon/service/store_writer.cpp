#include "service/store_writer.hpp"

#include <spdlog/spdlog.h>

#include <system_error>
#include <utility>

#include "service/bulk_thread.hpp"

namespace sgnic::service {

StoreWriter::~StoreWriter() {
    {
        const std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::future<Status> StoreWriter::run(std::function<Status()> write) {
    if (!thread_.joinable()) {
        try {
            thread_ = std::thread([this] {
                start_bulk_thread("sgnicd-store");
                loop();
            });
        } catch (const std::system_error& e) {
            spdlog::debug("store: no thread to write on ({}); written when collected", e.what());
            return std::async(std::launch::deferred, std::move(write));
        }
    }
    std::packaged_task<Status()> task(std::move(write));
    std::future<Status> done = task.get_future();
    {
        const std::lock_guard lock(mu_);
        next_.emplace(std::move(task));
    }
    cv_.notify_one();
    return done;
}

void StoreWriter::loop() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return stop_ || next_.has_value(); });
        if (!next_) {
            return;  // stopping, with nothing left to write
        }
        std::packaged_task<Status()> task = std::move(*next_);
        next_.reset();
        lock.unlock();
        task();
        lock.lock();
    }
}

}  // namespace sgnic::service
