// One thread that writes and commits a bulk load's batches, one after the
// other, while sgnicd's thread inserts the next batch.  A load of a million
// rules has ~250 batches: a thread started for each (std::async) cost its
// creation and fresh stack and heap pages each time.
//
// At most one write runs or waits at a time (the store takes one
// transaction at a time); its future must be waited for before the next is
// given, and before what the write reads goes away.
#pragma once

#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "sgnic/proto/result.hpp"

namespace sgnic::service {

class StoreWriter {
public:
    StoreWriter() = default;
    // Finishes the write given, if any, then stops the thread.
    ~StoreWriter();
    StoreWriter(const StoreWriter&) = delete;
    StoreWriter& operator=(const StoreWriter&) = delete;
    StoreWriter(StoreWriter&&) = delete;
    StoreWriter& operator=(StoreWriter&&) = delete;

    // Runs `write` on the thread (started by the first call); without a
    // thread (none could be started) the future runs it when waited for.
    std::future<Status> run(std::function<Status()> write);

private:
    void loop();

    std::mutex mu_;
    std::condition_variable cv_;
    // Under mu_: the write given and not yet taken; whether to stop.
    std::optional<std::packaged_task<Status()>> next_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace sgnic::service
