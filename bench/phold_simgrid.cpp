// PHOLD on SimGrid 3.32 (Debian's libsimgrid-dev), one configuration per process (SimGrid's
// engine is a process-wide singleton). The `phold` driver runs this program and parses the
// RESULT line it prints, as it does for ns-3.
//
// Usage: phold_simgrid N M WARMUP_EVENTS TIMED_EVENTS
//
// Events are SimGrid kernel timers (simgrid::kernel::timer::Timer::set, kept in the engine's
// Boost Fibonacci heap): the engine's own discrete-event floor, the counterpart of ns-3's
// scheduler in phold_ns3. A SimGrid model would normally be written as actors exchanging
// messages through mailboxes on a simulated platform; those run on the same timer queue plus a
// context switch per actor step and the network model's solver, so they cost more per event:
// the timers are the fairest comparison for an event kernel.
//
// Draws come from the same faultline::Rng stream as the other implementations
// (phold_model.hpp). SimGrid orders timers by date only, so that ties between events at the
// same nanosecond go first-scheduled-first as in the other implementations (and the runs stay
// event-for-event identical), the date handed to SimGrid is the time in nanoseconds times 2^22
// plus a scheduling sequence number modulo 2^22: exact in a double while the simulated time
// stays under 2^31 ns (2.1 s; the longest configuration ends near 1.5 s). The date's unit is
// therefore not seconds; nothing here uses SimGrid's clock except to order the timers.
#include "phold_model.hpp"

#include <simgrid/kernel/Timer.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/NetZone.hpp>

#include <malloc.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {


constexpr int kBucketBits = 20;                         // ~1 ms of simulated time
constexpr std::int64_t kMaxDelayNs = std::int64_t{1} << 25;  // ~34 ms: 33 mean delays

// Heap bytes in use: small chunks plus mmap'ed large ones.
std::size_t heap_in_use() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

// SimGrid has no "stop the engine" for a loop of timers, and its clock cannot be wound back to
// re-arm events, so warm-up and timed events run in one engine.run(): the CPU clock is read
// inside the handler of the last warm-up event and of the last timed event, and the events
// still pending after that fire unhandled, outside the timed span, until the queue is empty.
struct State {
  faultline::Rng rng = phold::make_rng();
  std::uint32_t n = 0;
  std::uint64_t handled = 0;
  std::uint64_t warmup = 0;
  std::uint64_t total = 0;  // warm-up + timed
  std::uint64_t lp_sum = 0;  // over every handled event, as in the other implementations
  std::uint64_t seq = 0;          // schedulings so far
  int seq_bits = 0;               // low bits of the date that hold the tie-breaking rank
  std::int64_t max_time_ns = 0;   // times below this fit the date's high bits exactly
  std::vector<std::uint64_t> seq_at_bucket;  // `seq` when the clock entered each bucket
  std::int64_t now_ns = 0;
  double start_cpu = 0;
  double stop_cpu = 0;
  std::size_t heap_at_start = 0;
};
State* g_state = nullptr;

void schedule(std::int64_t at_ns, std::uint32_t lp);

void fire(std::int64_t at_ns, std::uint32_t lp) {
  State& s = *g_state;
  if (s.handled == s.total) {
    return;  // after the timed events: drain
  }
  s.now_ns = at_ns;
  const auto bucket = static_cast<std::size_t>(at_ns >> kBucketBits);
  while (s.seq_at_bucket.size() <= bucket) {
    s.seq_at_bucket.push_back(s.seq);
  }
  ++s.handled;
  s.lp_sum += lp;
  const phold::Hop hop = phold::next_hop(s.rng, lp, s.n);
  schedule(at_ns + hop.delay_ns, hop.target);
  if (s.handled == s.warmup) {
    s.heap_at_start = heap_in_use();
    s.start_cpu = phold::thread_cpu_seconds();
  } else if (s.handled == s.total) {
    s.stop_cpu = phold::thread_cpu_seconds();
  }
}

void schedule(std::int64_t at_ns, std::uint32_t lp) {
  State& s = *g_state;
  if (at_ns >= s.max_time_ns) {
    std::fprintf(stderr, "phold_simgrid: simulated time passed %lld ns; dates are no longer exact\n",
                 static_cast<long long>(s.max_time_ns));
    std::exit(1);
  }
  // The rank among events at the same time: schedulings since the clock entered the bucket
  // kMaxDelayNs before this one. Every event that can land at `at_ns` was scheduled after that,
  // so the rank grows with the scheduling order among them, whatever the run's length.
  const std::int64_t delay_ns = at_ns - s.now_ns;
  if (delay_ns > kMaxDelayNs) {
    std::fprintf(stderr, "phold_simgrid: a delay above %lld ns\n", static_cast<long long>(kMaxDelayNs));
    std::exit(1);
  }
  const std::int64_t from_ns = at_ns - kMaxDelayNs - (std::int64_t{1} << kBucketBits);
  const std::uint64_t base =
      from_ns < 0 ? 0 : s.seq_at_bucket[static_cast<std::size_t>(from_ns >> kBucketBits)];
  const std::uint64_t tie = s.seq++ - base;
  if (tie >> s.seq_bits != 0) {
    std::fprintf(stderr, "phold_simgrid: too many events within %lld ns to rank ties exactly\n",
                 static_cast<long long>(kMaxDelayNs));
    std::exit(1);
  }
  const double date = static_cast<double>((static_cast<std::uint64_t>(at_ns) << s.seq_bits) | tie);
  simgrid::kernel::timer::Timer::set(date, [at_ns, lp] { fire(at_ns, lp); });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s N M WARMUP_EVENTS TIMED_EVENTS\n", argv[0]);
    return 2;
  }
  const auto n = static_cast<std::uint32_t>(std::strtoul(argv[1], nullptr, 10));
  const auto m = static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 10));
  const std::uint64_t warmup = std::strtoull(argv[3], nullptr, 10);
  const std::uint64_t timed = std::strtoull(argv[4], nullptr, 10);
  if (n == 0 || m == 0 || timed == 0) {
    std::fprintf(stderr, "phold_simgrid: N, M and TIMED_EVENTS must be positive\n");
    return 2;
  }

  int sg_argc = 2;
  char arg0[] = "phold_simgrid";
  char quiet[] = "--log=root.thresh:critical";
  char* sg_argv[] = {arg0, quiet, nullptr};
  simgrid::s4u::Engine engine(&sg_argc, sg_argv);
  // The engine refuses to run without a platform; timers need nothing more than one host.
  simgrid::s4u::NetZone* zone = simgrid::s4u::create_full_zone("phold");
  zone->create_host("lp-host", 1e9);
  zone->seal();

  State state;
  state.n = n;
  state.warmup = warmup;
  state.total = warmup + timed;
  // Each LP advances by ~1.1 ms per event it handles; four times the expected end time is a
  // safe bound. The rest of the double's 53 bits go to the sequence, so that it does not wrap
  // (which could reorder a tie) in any configuration the driver runs.
  const double expected_ns = static_cast<double>(state.total) / (static_cast<double>(n) * m) *
                             (phold::kMinDelayNs + phold::kMeanExtraDelayNs);
  int time_bits = 1;
  while (static_cast<double>(std::int64_t{1} << time_bits) < 4 * expected_ns + 1e7) {
    ++time_bits;
  }
  state.seq_bits = 53 - time_bits;
  state.max_time_ns = std::int64_t{1} << time_bits;
  g_state = &state;
  const std::size_t heap_before = heap_in_use();
  for (std::uint32_t lp = 0; lp < n; ++lp) {
    for (std::uint32_t j = 0; j < m; ++j) {
      schedule(phold::draw_delay_ns(state.rng), lp);
    }
  }
  if (warmup == 0) {
    state.heap_at_start = heap_in_use();
    state.start_cpu = phold::thread_cpu_seconds();
  }
  engine.run();
  if (state.handled != state.total) {
    std::fprintf(stderr, "phold_simgrid: the engine stopped before the timed events ran\n");
    return 1;
  }

  phold::Result r;
  r.seconds = state.stop_cpu - state.start_cpu;
  r.events = timed;
  const double pending = static_cast<double>(n) * m;
  r.bytes_per_pending = static_cast<double>(state.heap_at_start - heap_before) / pending;
  r.final_time_ns = state.now_ns;
  r.lp_sum = state.lp_sum;
  std::printf("%s\n", phold::to_line(r).c_str());
  return 0;
}
