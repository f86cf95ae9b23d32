// What every model benchmark measures about itself: process CPU time, peak memory, and the
// median of repeated runs by CPU. Read here, outside any simulation, only to measure the
// simulator (a run's own time is simulated time).
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <vector>

namespace faultline::bench {

/// CPU seconds of this process so far (user + system, every thread).
inline double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Peak resident memory of this process so far, MiB.
inline double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

/// Runs `once(seed)` for seeds 1..reps and returns the run whose `.cpu` is the median.
template <typename Run, typename F>
Run median_by_cpu(int reps, F&& once) {
  std::vector<Run> runs;
  for (int k = 0; k < reps; ++k) {
    runs.push_back(once(static_cast<std::uint64_t>(k + 1)));
  }
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.cpu < b.cpu; });
  return runs[runs.size() / 2];
}

}  // namespace faultline::bench
