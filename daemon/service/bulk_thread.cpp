#include "service/bulk_thread.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sgnic::service {

void start_bulk_thread(const char* name) {
    pthread_setname_np(pthread_self(), name);
    // On Linux a thread's nice is its own: PRIO_PROCESS with its tid.
    const auto tid = static_cast<id_t>(::gettid());
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, tid);
    if (nice == -1 && errno != 0) {
        spdlog::debug("{}: read its priority: {}", name, std::strerror(errno));
        return;
    }
    if (::setpriority(PRIO_PROCESS, tid, std::min(nice + kBulkThreadNiceStep, kLowestNice)) != 0) {
        spdlog::debug("{}: lower its priority: {}", name, std::strerror(errno));
    }
}

}  // namespace sgnic::service
