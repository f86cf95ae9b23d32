// World benchmark: 10,000 hosts in 2 regions x 3 zones exchanging messages and RPCs, measured
// against a PHOLD event of the same kernel in the same process (issue 3: the cost per delivered
// message should stay within 3x of a PHOLD event).
//
// Modes (each reports thread-CPU nanoseconds per delivered message):
//   oneway    each node keeps K one-way messages in flight to random peers (re-sending on
//             receipt): pure network path (latency draw, NIC queues, trace, delivery)
//   rpc-cb    each node keeps K callback RPCs outstanding (request + reply, a 1 s timeout per
//             call, a trace record per finished call)
//   rpc-co    the same with coroutines: `co_await node.call(...)` in a loop per node
// and two PHOLD references on faultline::Simulation (bench/phold_model.hpp, the workload of
// bench/phold.cpp): (1e6, 1), cache-miss bound like the world runs, and (1e4, 1), in cache.
// Every measurement is repeated --reps times, interleaved, and the median is reported, so load
// from other processes hits the world runs and the PHOLD runs alike.
//
// Usage: world_bench [--reps R] [--seconds S] [--only MODE[,MODE...]] [--no-phold]
// CPU time is read here, outside any simulation, only to measure the simulator.
#include "phold_model.hpp"

#include <faultline/world/world.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::world;
using namespace faultline::literals;

namespace {

constexpr std::uint32_t kHosts = 10'000;
constexpr int kInFlight = 4;

WorldParams bench_params() {
  WorldParams p;
  p.host_defaults.clock.ntp_enabled = false;
  p.host_defaults.cpu.sample_interval = Duration::zero();
  return p;
}

void build(World& w) {
  TopologySpec spec;
  const std::uint32_t per_zone = kHosts / 6;
  const std::uint32_t last = kHosts - per_zone * 5;
  spec.regions.push_back({"us-east", {{"use-a", {}, per_zone}, {"use-b", {}, per_zone},
                                      {"use-c", {}, per_zone}}});
  spec.regions.push_back({"us-west", {{"usw-a", {}, per_zone}, {"usw-b", {}, per_zone},
                                      {"usw-c", {}, last}}});
  w.build(spec);
}

struct OneWay : Program {
  explicit OneWay(Node& n) : rng(n.sim().rng("bench/" + n.name())) {}
  void start(Node& n) override {
    n.on_message([this, &n](const Message&) { fire(n); });
    for (int i = 0; i < kInFlight; ++i) {
      fire(n);
    }
  }
  void fire(Node& n) {
    const NodeId dst{static_cast<std::uint32_t>(rng.below(kHosts))};
    n.send(dst, Payload{}, 256);
  }
  Rng rng;
};

struct RpcCallback : Program {
  explicit RpcCallback(Node& n) : rng(n.sim().rng("bench/" + n.name())) {}
  void start(Node& n) override {
    n.on_request([](const Message&, Responder r) { r.reply(Payload{}, 512); });
    for (int i = 0; i < kInFlight; ++i) {
      fire(n);
    }
  }
  void fire(Node& n) {
    const NodeId dst{static_cast<std::uint32_t>(rng.below(kHosts))};
    n.call(dst, Payload{}, 256, 1_s, [this, &n](RpcResult) { fire(n); });
  }
  Rng rng;
};

struct RpcCoroutine : Program {
  void start(Node& n) override {
    n.on_request([](const Message&, Responder r) { r.reply(Payload{}, 512); });
    for (int i = 0; i < kInFlight; ++i) {
      n.spawn(loop(n, i));
    }
  }
  static Task<void> loop(Node& n, int i) {
    Rng rng = n.sim().rng("bench/" + n.name() + "/" + std::to_string(i));
    for (;;) {
      const NodeId dst{static_cast<std::uint32_t>(rng.below(kHosts))};
      RpcResult r = co_await n.call(dst, Payload{}, 256, 1_s);
      (void)r;
    }
  }
};

struct Sample {
  double ns_per_unit = 0;  // per delivered message (world) or per event (PHOLD)
  std::uint64_t units = 0;
  double events_per_unit = 0;
  std::uint64_t trace_hash = 0;
};

template <class P>
Sample run_world(Duration sim_time) {
  Simulation sim(Simulation::Options{1, UtcInstant::from_civil(2024, 1, 1)});
  World world(sim, bench_params());
  build(world);
  for (std::uint32_t i = 0; i < kHosts; ++i) {
    world.add_node(HostId{i}, "n" + std::to_string(i), "bench", [](Node& n) {
      if constexpr (std::is_constructible_v<P, Node&>) {
        return std::unique_ptr<Program>(std::make_unique<P>(n));
      } else {
        (void)n;
        return std::unique_ptr<Program>(std::make_unique<P>());
      }
    });
  }
  sim.run_for(100_ms);  // boot and warm up: every node's calls are in flight
  const std::uint64_t delivered0 = world.network().delivered();
  const std::uint64_t events0 = sim.events_run();
  const double c0 = phold::thread_cpu_seconds();
  sim.run_for(sim_time);
  const double c1 = phold::thread_cpu_seconds();
  Sample s;
  s.units = world.network().delivered() - delivered0;
  s.ns_per_unit = (c1 - c0) * 1e9 / static_cast<double>(s.units);
  s.events_per_unit =
      static_cast<double>(sim.events_run() - events0) / static_cast<double>(s.units);
  s.trace_hash = sim.trace().hash();
  return s;
}

// PHOLD on faultline::Simulation, as bench/phold.cpp's "faultline Simulation" row.
struct Phold {
  Simulation sim;
  Rng rng = phold::make_rng();
  std::uint32_t n = 0;
  std::uint64_t remaining = 0;
  void handle(std::uint32_t lp) {
    if (--remaining == 0) {
      sim.stop();
    }
    const phold::Hop hop = phold::next_hop(rng, lp, n);
    sim.schedule_after(Duration::nanos(hop.delay_ns), [this, t = hop.target] { handle(t); });
  }
};

Sample run_phold(std::uint32_t n, std::uint64_t warmup, std::uint64_t timed) {
  auto p = std::make_unique<Phold>();
  p->n = n;
  for (std::uint32_t lp = 0; lp < n; ++lp) {
    p->sim.schedule_at(Time::from_ns(phold::draw_delay_ns(p->rng)), [q = p.get(), lp] {
      q->handle(lp);
    });
  }
  p->remaining = warmup;
  p->sim.run();
  p->remaining = timed;
  const double c0 = phold::thread_cpu_seconds();
  p->sim.run();
  const double c1 = phold::thread_cpu_seconds();
  Sample s;
  s.units = timed;
  s.ns_per_unit = (c1 - c0) * 1e9 / static_cast<double>(timed);
  s.events_per_unit = 1;
  return s;
}

struct Row {
  const char* name;
  bool world;
  Sample (*run)(Duration);
  std::vector<Sample> samples;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

bool selected(const std::string& only, const char* name) {
  if (only.empty()) {
    return true;
  }
  std::size_t pos = 0;
  while (pos <= only.size()) {
    const std::size_t end = std::min(only.find(',', pos), only.size());
    if (only.compare(pos, end - pos, name) == 0) {
      return true;
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 3;
  double seconds = 1.0;
  std::string only;
  bool with_phold = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--no-phold") {
      with_phold = false;
    } else {
      std::fprintf(stderr,
                   "usage: world_bench [--reps R] [--seconds S] [--only oneway,rpc-cb,rpc-co,"
                   "phold-1e6,phold-1e4] [--no-phold]\n");
      return 2;
    }
  }
  const Duration t = Duration::nanos(static_cast<std::int64_t>(std::max(0.01, seconds) * 1e9));
  std::vector<Row> rows = {
      {"oneway", true, [](Duration d) { return run_world<OneWay>(d); }, {}},
      {"rpc-cb", true, [](Duration d) { return run_world<RpcCallback>(d); }, {}},
      {"rpc-co", true, [](Duration d) { return run_world<RpcCoroutine>(d); }, {}},
      {"phold-1e6", false, [](Duration) { return run_phold(1'000'000, 1'500'000, 3'000'000); }, {}},
      {"phold-1e4", false, [](Duration) { return run_phold(10'000, 1'000'000, 6'000'000); }, {}},
  };
  for (auto& r : rows) {
    if (!r.world && !with_phold) {
      r.run = nullptr;
    }
    if (!selected(only, r.name)) {
      r.run = nullptr;
    }
  }
  for (int rep = 0; rep < reps; ++rep) {
    for (auto& r : rows) {
      if (r.run != nullptr) {
        r.samples.push_back(r.run(t));
      }
    }
  }
  std::printf("hosts=%u in_flight/node=%d simulated=%s per world run, reps=%d (median, thread "
              "CPU time)\n\n",
              kHosts, kInFlight, t.to_string().c_str(), reps);
  std::printf("%-10s %12s %10s %12s %18s\n", "run", "units", "ns/unit", "events/unit",
              "trace hash");
  double phold_1e6 = 0;
  double phold_1e4 = 0;
  for (const auto& r : rows) {
    if (r.samples.empty()) {
      continue;
    }
    std::vector<double> ns;
    for (const auto& s : r.samples) {
      ns.push_back(s.ns_per_unit);
    }
    const double m = median(ns);
    if (std::strcmp(r.name, "phold-1e6") == 0) {
      phold_1e6 = m;
    } else if (std::strcmp(r.name, "phold-1e4") == 0) {
      phold_1e4 = m;
    }
    std::printf("%-10s %12llu %10.1f %12.2f %18llx   (runs:", r.name,
                static_cast<unsigned long long>(r.samples[0].units), m,
                r.samples[0].events_per_unit,
                static_cast<unsigned long long>(r.samples[0].trace_hash));
    for (double x : ns) {
      std::printf(" %.1f", x);
    }
    std::printf(")\n");
  }
  if (phold_1e6 > 0 || phold_1e4 > 0) {
    std::printf("\nns per delivered message / ns per PHOLD event (target: <= 3.0 against "
                "(1e6, 1)):\n");
    std::printf("ratio of medians, and median of the per-repetition ratios (each world run\n"
                "against the PHOLD run of the same repetition, seconds apart, so load that\n"
                "changes during the benchmark cancels better)\n");
    std::printf("%-10s %14s %14s %16s\n", "run", "vs (1e6, 1)", "vs (1e4, 1)",
                "per-rep (1e6, 1)");
    for (const auto& r : rows) {
      if (!r.world || r.samples.empty()) {
        continue;
      }
      std::vector<double> ns;
      for (const auto& s : r.samples) {
        ns.push_back(s.ns_per_unit);
      }
      const double m = median(ns);
      std::vector<double> per_rep;
      for (const auto& p : rows) {
        if (std::strcmp(p.name, "phold-1e6") == 0 && p.samples.size() == r.samples.size()) {
          for (std::size_t i = 0; i < r.samples.size(); ++i) {
            per_rep.push_back(r.samples[i].ns_per_unit / p.samples[i].ns_per_unit);
          }
        }
      }
      std::printf("%-10s %13.2fx %13.2fx %15.2fx   (per rep:", r.name,
                  phold_1e6 > 0 ? m / phold_1e6 : 0.0, phold_1e4 > 0 ? m / phold_1e4 : 0.0,
                  median(per_rep));
      for (double x : per_rep) {
        std::printf(" %.2f", x);
      }
      std::printf(")\n");
    }
  }
  return 0;
}
