// PHOLD benchmark driver: faultline's Simulation against a minimal std::priority_queue loop
// (the floor), ns-3 3.37 and SimGrid 3.32 (run as child processes of the phold_ns3 and
// phold_simgrid programs, when built).
//
// Usage: phold [--reps R] [--scale X] [--no-ns3] [--no-simgrid] [--only N,M] [--impl NAME]
//   --reps R      measurements per implementation and configuration; the median is reported (3)
//   --scale X     multiplies the number of events of every configuration (1.0)
//   --no-ns3      skip ns-3 even when it was built
//   --no-simgrid  skip SimGrid even when it was built
// Each configuration runs a warm-up, then a fixed number of timed events; all implementations
// run the same events (phold_model.hpp) and the driver checks that they end in the same state.
#include "phold_model.hpp"

#include <faultline/event_queue.hpp>
#include <faultline/simulation.hpp>

#include <malloc.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Heap bytes in use: small chunks plus mmap'ed large ones (big vectors and slot chunks).
std::size_t heap_in_use() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

struct Config {
  std::uint32_t n;
  std::uint32_t m;
  std::uint64_t warmup_events;
  std::uint64_t timed_events;
  const char* label;
};

// ---------------------------------------------------------------------------------------------
// 1. faultline: Simulation::schedule_after with a lambda capturing the target LP.

struct FaultlinePhold {
  faultline::Simulation sim;
  faultline::Rng rng = phold::make_rng();
  std::uint32_t n = 0;
  std::uint64_t remaining = 0;
  std::uint64_t lp_sum = 0;

  void handle(std::uint32_t lp) {
    lp_sum += lp;
    if (--remaining == 0) {
      sim.stop();
    }
    const phold::Hop hop = phold::next_hop(rng, lp, n);
    sim.schedule_after(faultline::Duration::nanos(hop.delay_ns),
                       [this, target = hop.target] { handle(target); });
  }
};

phold::Result run_faultline(const Config& c) {
  const std::size_t heap_before = heap_in_use();
  FaultlinePhold p;
  p.n = c.n;
  for (std::uint32_t lp = 0; lp < c.n; ++lp) {
    for (std::uint32_t j = 0; j < c.m; ++j) {
      p.sim.schedule_at(faultline::Time::from_ns(phold::draw_delay_ns(p.rng)),
                        [&p, lp] { p.handle(lp); });
    }
  }
  if (c.warmup_events > 0) {
    p.remaining = c.warmup_events;
    p.sim.run();
  }
  p.remaining = c.timed_events;
  const double start = phold::thread_cpu_seconds();
  p.sim.run();
  const double stop = phold::thread_cpu_seconds();
  phold::Result r;
  r.seconds = stop - start;
  r.events = c.timed_events;
  r.bytes_per_pending = static_cast<double>(heap_in_use() - heap_before) /
                        static_cast<double>(p.sim.pending());
  r.final_time_ns = p.sim.now().ns();
  r.lp_sum = p.lp_sum;
  return r;
}

// ---------------------------------------------------------------------------------------------
// 1b. faultline's EventQueue alone (no Simulation around it): shows what the Simulation layer
// costs, and gives EventQueue::memory_bytes() of the very same queue state.

struct QueuePhold {
  faultline::EventQueue queue;
  faultline::Rng rng = phold::make_rng();
  faultline::Time now;
  std::uint32_t n = 0;
  std::uint64_t lp_sum = 0;

  void handle(std::uint32_t lp) {
    lp_sum += lp;
    const phold::Hop hop = phold::next_hop(rng, lp, n);
    queue.push(now + faultline::Duration::nanos(hop.delay_ns),
               [this, target = hop.target] { handle(target); });
  }
  void run(std::uint64_t events) {
    for (std::uint64_t i = 0; i < events; ++i) {
      queue.pop_and_run(faultline::Time::max(), [this](faultline::Time t) { now = t; });
    }
  }
};

phold::Result run_queue(const Config& c) {
  QueuePhold p;
  p.n = c.n;
  for (std::uint32_t lp = 0; lp < c.n; ++lp) {
    for (std::uint32_t j = 0; j < c.m; ++j) {
      p.queue.push(faultline::Time::from_ns(phold::draw_delay_ns(p.rng)),
                   [&p, lp] { p.handle(lp); });
    }
  }
  p.run(c.warmup_events);
  const double start = phold::thread_cpu_seconds();
  p.run(c.timed_events);
  const double stop = phold::thread_cpu_seconds();
  phold::Result r;
  r.seconds = stop - start;
  r.events = c.timed_events;
  r.bytes_per_pending =
      static_cast<double>(p.queue.memory_bytes()) / static_cast<double>(p.queue.size());
  r.final_time_ns = p.now.ns();
  r.lp_sum = p.lp_sum;
  return r;
}

// ---------------------------------------------------------------------------------------------
// 2. The floor: a hand-written loop over std::priority_queue of (time, seq, lp).

struct MinimalEvent {
  std::int64_t time_ns;
  std::uint64_t seq;
  std::uint32_t lp;
};
struct Later {
  bool operator()(const MinimalEvent& a, const MinimalEvent& b) const {
    // Written like ns-3's EventKey comparison: as a ?: chain GCC compiles the heap's child
    // choice to cmov, which serialises the cache misses of a large heap (2x slower at 1e6).
    return a.time_ns > b.time_ns || (a.time_ns == b.time_ns && a.seq > b.seq);
  }
};

phold::Result run_minimal(const Config& c) {
  const std::size_t heap_before = heap_in_use();
  faultline::Rng rng = phold::make_rng();
  std::priority_queue<MinimalEvent, std::vector<MinimalEvent>, Later> pq;
  std::uint64_t seq = 0;
  for (std::uint32_t lp = 0; lp < c.n; ++lp) {
    for (std::uint32_t j = 0; j < c.m; ++j) {
      pq.push(MinimalEvent{phold::draw_delay_ns(rng), seq++, lp});
    }
  }
  std::int64_t now_ns = 0;
  std::uint64_t lp_sum = 0;
  auto run = [&](std::uint64_t events) {
    for (std::uint64_t i = 0; i < events; ++i) {
      const MinimalEvent e = pq.top();
      pq.pop();
      now_ns = e.time_ns;
      lp_sum += e.lp;
      const phold::Hop hop = phold::next_hop(rng, e.lp, c.n);
      pq.push(MinimalEvent{now_ns + hop.delay_ns, seq++, hop.target});
    }
  };
  run(c.warmup_events);
  const double start = phold::thread_cpu_seconds();
  run(c.timed_events);
  const double stop = phold::thread_cpu_seconds();
  phold::Result r;
  r.seconds = stop - start;
  r.events = c.timed_events;
  r.bytes_per_pending =
      static_cast<double>(heap_in_use() - heap_before) / static_cast<double>(pq.size());
  r.final_time_ns = now_ns;
  r.lp_sum = lp_sum;
  return r;
}

// ---------------------------------------------------------------------------------------------
// 3. ns-3 and SimGrid, through the phold_ns3 and phold_simgrid programs (`mode` is ns-3's
// scheduler, empty for SimGrid).

std::optional<phold::Result> run_child(const std::string& program, const char* mode,
                                       const Config& c) {
  const std::string cmd = program + " " + mode + (*mode != 0 ? " " : "") + std::to_string(c.n) +
                          " " + std::to_string(c.m) + " " + std::to_string(c.warmup_events) +
                          " " + std::to_string(c.timed_events);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    return std::nullopt;
  }
  std::optional<phold::Result> result;
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    phold::Result r;
    if (phold::from_line(line, r)) {
      result = r;
    }
  }
  if (pclose(pipe) != 0) {
    return std::nullopt;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------

struct Impl {
  const char* name;
  std::vector<phold::Result> runs;
  bool available = true;

  // The run whose time is the median.
  const phold::Result& median() {
    std::sort(runs.begin(), runs.end(),
              [](const phold::Result& a, const phold::Result& b) { return a.seconds < b.seconds; });
    return runs[runs.size() / 2];
  }
};

void usage_error(const char* what) {
  std::fprintf(stderr,
               "phold: %s\nusage: phold [--reps R] [--scale X] [--no-ns3] [--no-simgrid] "
               "[--only N,M] [--impl NAME]\n",
               what);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 3;
  double scale = 1.0;
  bool use_ns3 = true;
  bool use_simgrid = true;
  std::string only;
  std::string impl_filter;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (arg == "--scale" && i + 1 < argc) {
      scale = std::atof(argv[++i]);
    } else if (arg == "--no-ns3") {
      use_ns3 = false;
    } else if (arg == "--no-simgrid") {
      use_simgrid = false;
    } else if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (arg == "--impl" && i + 1 < argc) {
      impl_filter = argv[++i];
    } else {
      usage_error("unknown argument");
    }
  }
  if (reps < 1) {
    usage_error("--reps must be at least 1");
  }
  if (!(scale > 0)) {
    usage_error("--scale must be positive");
  }
#ifdef FAULTLINE_PHOLD_NS3
  const std::string ns3_program = FAULTLINE_PHOLD_NS3;
#else
  const std::string ns3_program;
  use_ns3 = false;
#endif
#ifdef FAULTLINE_PHOLD_SIMGRID
  const std::string simgrid_program = FAULTLINE_PHOLD_SIMGRID;
#else
  const std::string simgrid_program;
  use_simgrid = false;
#endif

  const auto scaled = [scale](std::uint64_t events) {
    return static_cast<std::uint64_t>(std::llround(static_cast<double>(events) * scale));
  };
  const std::array<Config, 3> configs{{
      {10'000, 1, 1'000'000, scaled(12'000'000), "1e4,1"},
      {10'000, 16, 1'000'000, scaled(6'000'000), "1e4,16"},
      {1'000'000, 1, 1'500'000, scaled(3'000'000), "1e6,1"},
  }};

  std::printf("PHOLD: 1 time unit = 1 ms; delay = 0.1 + Exp(mean 1.0) units; remote with p = 0.5\n");
  std::printf("median of %d runs per implementation; ns/event over the timed events only\n\n",
              reps);
  std::printf("%-8s %-22s %11s %9s %11s %10s  %s\n", "N,M", "implementation", "events",
              "ns/event", "Mevents/s", "B/pending", "end state");

  struct Ratio {
    const char* label;
    double vs_minimal, vs_map, vs_pq, vs_simgrid;
  };
  std::vector<Ratio> ratios;
  bool all_identical = true;
  for (const Config& c : configs) {
    if (!only.empty() && only != c.label) {
      continue;
    }
    std::array<Impl, 6> impls{{{"faultline Simulation", {}},
                               {"faultline EventQueue", {}},
                               {"minimal priority_queue", {}},
                               {"ns-3 MapScheduler", {}},
                               {"ns-3 PriorityQueue", {}},
                               {"SimGrid timers", {}}}};
    for (int rep = 0; rep < reps; ++rep) {
      const auto wanted = [&](const Impl& impl) {
        return impl_filter.empty() || std::string_view(impl.name).find(impl_filter) !=
                                          std::string_view::npos;
      };
      for (std::size_t k = 0; k < impls.size(); ++k) {
        impls[k].available = impls[k].available && wanted(impls[k]);
      }
      if (impls[0].available) {
        impls[0].runs.push_back(run_faultline(c));
      }
      if (impls[1].available) {
        impls[1].runs.push_back(run_queue(c));
      }
      if (impls[2].available) {
        impls[2].runs.push_back(run_minimal(c));
      }
      const char* schedulers[2] = {"map", "pq"};
      for (int k = 0; k < 2; ++k) {
        Impl& impl = impls[3 + k];
        if (!use_ns3 || !impl.available) {
          impl.available = false;
          continue;
        }
        if (auto r = run_child(ns3_program, schedulers[k], c)) {
          impl.runs.push_back(*r);
        } else {
          std::fprintf(stderr, "phold: %s failed; leaving it out\n", impl.name);
          impl.available = false;
        }
      }
      Impl& simgrid = impls[5];
      if (!use_simgrid || !simgrid.available) {
        simgrid.available = false;
      } else if (auto r = run_child(simgrid_program, "", c)) {
        simgrid.runs.push_back(*r);
      } else {
        std::fprintf(stderr, "phold: %s failed; leaving it out\n", simgrid.name);
        simgrid.available = false;
      }
    }
    phold::Result reference;
    for (Impl& impl : impls) {
      if (impl.available && !impl.runs.empty()) {
        reference = impl.median();
        break;
      }
    }
    double ns[6] = {0, 0, 0, 0, 0, 0};
    for (std::size_t k = 0; k < impls.size(); ++k) {
      Impl& impl = impls[k];
      if (!impl.available || impl.runs.empty()) {
        std::printf("%-8s %-22s %11s\n", c.label, impl.name, "n/a");
        continue;
      }
      const phold::Result& r = impl.median();
      const bool identical =
          r.final_time_ns == reference.final_time_ns && r.lp_sum == reference.lp_sum;
      all_identical = all_identical && identical;
      ns[k] = r.ns_per_event();
      std::printf("%-8s %-22s %11llu %9.1f %11.2f %10.1f  %s\n", c.label, impl.name,
                  static_cast<unsigned long long>(r.events), r.ns_per_event(),
                  r.events_per_second() / 1e6, r.bytes_per_pending,
                  identical ? "same" : "DIFFERENT");
    }
    const auto ratio = [&ns](int k) { return ns[k] > 0 && ns[0] > 0 ? ns[k] / ns[0] : 0.0; };
    ratios.push_back({c.label, ratio(2), ratio(3), ratio(4), ratio(5)});
  }

  std::printf("\nspeed ratios (events/s of faultline Simulation / events/s of the other):\n");
  std::printf("%-8s %16s %16s %16s %16s\n", "N,M", "vs minimal loop", "vs ns-3 default",
              "vs ns-3 PQ", "vs SimGrid");
  for (const Ratio& r : ratios) {
    std::printf("%-8s", r.label);
    for (double v : {r.vs_minimal, r.vs_map, r.vs_pq, r.vs_simgrid}) {
      if (v > 0) {
        std::printf(" %15.2fx", v);
      } else {
        std::printf(" %16s", "n/a");
      }
    }
    std::printf("\n");
  }
  std::printf("\nall implementations ran identical events: %s\n", all_identical ? "yes" : "NO");
  return all_identical ? 0 : 1;
}
