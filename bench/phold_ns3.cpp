// PHOLD on ns-3 3.37, one configuration per process (ns-3's Simulator is a process-wide
// singleton). The `phold` driver runs this program and parses the RESULT line it prints.
//
// Usage: phold_ns3 map|pq N M WARMUP_EVENTS TIMED_EVENTS
//   map: ns-3's default scheduler (ns3::MapScheduler, a std::map keyed on (time, uid))
//   pq:  ns3::PriorityQueueScheduler (a std::priority_queue), ns-3's fastest in its own tests
// Time is ns-3's default integer nanoseconds. Draws come from the same faultline::Rng stream
// as the other implementations (phold_model.hpp), not from ns-3's RNG, so the work is the same.
// Only the individual ns-3 headers are included: ns3/core-module.h does not build as C++20.
#include "phold_model.hpp"

#include <ns3/event-id.h>
#include <ns3/nstime.h>
#include <ns3/object-factory.h>
#include <ns3/simulator.h>

#include <malloc.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct State {
  faultline::Rng rng = phold::make_rng();
  std::uint32_t n = 0;
  std::uint64_t remaining = 0;
  std::uint64_t lp_sum = 0;
};
State* g_state = nullptr;

void handle(std::uint32_t lp) {
  State& s = *g_state;
  s.lp_sum += lp;
  if (--s.remaining == 0) {
    ns3::Simulator::Stop();
  }
  const phold::Hop hop = phold::next_hop(s.rng, lp, s.n);
  ns3::Simulator::Schedule(ns3::NanoSeconds(hop.delay_ns), &handle, hop.target);
}

// Heap bytes in use: small chunks plus mmap'ed large ones (the priority queue's vector).
std::size_t heap_in_use() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s map|pq N M WARMUP_EVENTS TIMED_EVENTS\n", argv[0]);
    return 2;
  }
  const std::string scheduler = argv[1];
  const auto n = static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 10));
  const auto m = static_cast<std::uint32_t>(std::strtoul(argv[3], nullptr, 10));
  const std::uint64_t warmup = std::strtoull(argv[4], nullptr, 10);
  const std::uint64_t timed = std::strtoull(argv[5], nullptr, 10);
  if (n == 0 || m == 0 || timed == 0 || (scheduler != "map" && scheduler != "pq")) {
    std::fprintf(stderr, "phold_ns3: scheduler must be map or pq; N, M, TIMED_EVENTS > 0\n");
    return 2;
  }

  ns3::ObjectFactory factory;
  factory.SetTypeId(scheduler == "map" ? "ns3::MapScheduler" : "ns3::PriorityQueueScheduler");
  ns3::Simulator::SetScheduler(factory);

  State state;
  state.n = n;
  g_state = &state;
  // Heap in use before the initial events: the simulator implementation exists by now, so the
  // difference at the end is what the pending events hold (event objects plus scheduler nodes,
  // with malloc's per-chunk overhead).
  const std::size_t heap_before = heap_in_use();
  for (std::uint32_t lp = 0; lp < n; ++lp) {
    for (std::uint32_t j = 0; j < m; ++j) {
      ns3::Simulator::Schedule(ns3::NanoSeconds(phold::draw_delay_ns(state.rng)), &handle, lp);
    }
  }

  if (warmup > 0) {
    state.remaining = warmup;
    ns3::Simulator::Run();
  }
  state.remaining = timed;
  const double start = phold::thread_cpu_seconds();
  ns3::Simulator::Run();
  const double stop = phold::thread_cpu_seconds();

  phold::Result r;
  r.seconds = stop - start;
  r.events = timed;
  const double pending = static_cast<double>(n) * m;
  r.bytes_per_pending = static_cast<double>(heap_in_use() - heap_before) / pending;
  r.final_time_ns = ns3::Simulator::Now().GetNanoSeconds();
  r.lp_sum = state.lp_sum;
  std::printf("%s\n", phold::to_line(r).c_str());
  ns3::Simulator::Destroy();
  return 0;
}
