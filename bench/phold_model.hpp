// The PHOLD workload shared by every implementation in the benchmark, so that they all do
// exactly the same work: the same random draws in the same order, the same delays rounded the
// same way, the same initial events. Each implementation reports the final simulated time and a
// sum of the handling processes; equal figures show that the runs were event-for-event identical.
//
// PHOLD: N logical processes (LPs), M initial events each. Handling an event at LP `lp` at time
// `now` schedules one new event at now + 0.1 + Exp(mean 1.0) time units, sent to a uniformly
// random LP with probability 1/2 and otherwise to `lp` itself. One time unit is 1 ms of
// simulated time (1'000'000 ns), so delays are 100 us plus an exponential with mean 1 ms.
#pragma once

#include <faultline/rng.hpp>

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace phold {

inline constexpr std::int64_t kNsPerUnit = 1'000'000;     // 1 time unit = 1 ms
inline constexpr std::int64_t kMinDelayNs = 100'000;      // 0.1 units
inline constexpr double kMeanExtraDelayNs = 1'000'000.0;  // Exp(mean 1.0 unit)
inline constexpr std::uint64_t kSeed = 20260101;

/// The one random stream every implementation draws from.
inline faultline::Rng make_rng() { return faultline::Rng::derive(kSeed, "phold"); }

/// The delay of a new event, in integer nanoseconds (truncated).
inline std::int64_t draw_delay_ns(faultline::Rng& rng) {
  return kMinDelayNs + static_cast<std::int64_t>(rng.exponential(kMeanExtraDelayNs));
}

struct Hop {
  std::int64_t delay_ns;
  std::uint32_t target;
};

/// What handling an event at `lp` schedules: the draws are delay, coin, then (if the coin says
/// remote) the target.
inline Hop next_hop(faultline::Rng& rng, std::uint32_t lp, std::uint32_t n) {
  const std::int64_t delay_ns = draw_delay_ns(rng);
  const bool remote = rng.bernoulli(1, 2);
  const auto target = remote ? static_cast<std::uint32_t>(rng.below(n)) : lp;
  return Hop{delay_ns, target};
}

/// CPU time of the calling thread. The benchmark times with it rather than the wall clock
/// because the machine is shared: time spent descheduled is not charged to the run.
inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// One measured run of one implementation on one configuration.
struct Result {
  double seconds = 0;          // thread CPU time of the timed events (warm-up excluded)
  std::uint64_t events = 0;    // timed events
  double bytes_per_pending = 0;
  std::int64_t final_time_ns = 0;  // simulated time after warm-up + timed events
  std::uint64_t lp_sum = 0;        // sum of the LP ids of every handled event
  double ns_per_event() const { return seconds * 1e9 / static_cast<double>(events); }
  double events_per_second() const { return static_cast<double>(events) / seconds; }
};

/// The line a child process prints and the parent parses.
inline std::string to_line(const Result& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "RESULT %.9f %llu %.3f %lld %llu", r.seconds,
                static_cast<unsigned long long>(r.events), r.bytes_per_pending,
                static_cast<long long>(r.final_time_ns),
                static_cast<unsigned long long>(r.lp_sum));
  return buf;
}

inline bool from_line(const std::string& line, Result& r) {
  unsigned long long events = 0, lp_sum = 0;
  long long final_ns = 0;
  if (std::sscanf(line.c_str(), "RESULT %lf %llu %lf %lld %llu", &r.seconds, &events,
                  &r.bytes_per_pending, &final_ns, &lp_sum) != 5) {
    return false;
  }
  r.events = events;
  r.final_time_ns = final_ns;
  r.lp_sum = lp_sum;
  return true;
}

}  // namespace phold
