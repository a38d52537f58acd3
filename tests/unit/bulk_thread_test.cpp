// A bulk load's side threads run below sgnicd's own thread.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string>
#include <thread>

#include "service/bulk_thread.hpp"

namespace sgnic::service {
namespace {

int thread_nice() { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())); }

TEST(BulkThread, runs_below_the_thread_that_started_it_and_is_named) {
    const int mine = thread_nice();
    int theirs = 0;
    std::string name;
    std::thread bulk([&] {
        start_bulk_thread("sgnic-test-bulk");
        theirs = thread_nice();
        std::array<char, 16> buf{};
        pthread_getname_np(pthread_self(), buf.data(), buf.size());
        name = buf.data();
    });
    bulk.join();
    EXPECT_EQ(theirs, std::min(mine + kBulkThreadNiceStep, kLowestNice));
    EXPECT_EQ(name, "sgnic-test-bulk");
    EXPECT_EQ(thread_nice(), mine);  // the starter's own is its own
}

}  // namespace
}  // namespace sgnic::service
