// The threads that do a bulk load's side work: reading and parsing ahead
// (ReadAhead) and writing the store (StoreWriter).  They run below sgnicd's
// thread and the device's insert thread, which is the load's critical path:
// on two cores, at the same priority, they took its CPU from it (a 1M-rule
// load in the TCG guest: 6.69-6.82 s, with these at nice +10 6.29-6.41 s).
// Only under contention does the priority change anything.
#pragma once

namespace sgnic::service {

// Nice levels below the process's own, down to Linux's lowest priority.
inline constexpr int kBulkThreadNiceStep = 10;
inline constexpr int kLowestNice = 19;

// Names the calling thread (in top, perf and ps -L) and lowers its
// priority by kBulkThreadNiceStep (at most to kLowestNice); a failure only
// logs.
void start_bulk_thread(const char* name);

}  // namespace sgnic::service
