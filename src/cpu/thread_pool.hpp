// A persistent pool of worker threads: created once, reused by every call, so a MaxSim call
// pays a wake-up, not a thread creation.
#pragma once

#include <cstdint>
#include <functional>

namespace colmax::detail::cpu {

// Runs body(item, slot) for every item in [0, items) on up to `threads` threads: the calling
// thread (slot 0) and pool workers (slots 1 .. threads - 1). Items are handed out one at a
// time in increasing order; which slot runs which item varies from run to run, so callers
// make every result depend on the item alone. Returns when every item is done; rethrows the
// first exception a body threw. Calls from several user threads are served one at a time.
void parallel_for(int threads, int64_t items, const std::function<void(int64_t, int)>& body);

}  // namespace colmax::detail::cpu
