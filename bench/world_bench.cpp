// World benchmark: 10,000 hosts in 2 regions x 3 zones exchanging messages and RPCs.
//
// Reports wall-clock nanoseconds per delivered message (the figure to compare with a PHOLD
// event, ~100-200 ns), for three ways of driving the network:
//   oneway    each node keeps K one-way messages in flight to random peers (re-sending on
//             receipt): pure network path (latency draw, NIC queues, trace, delivery)
//   rpc-cb    each node keeps K callback RPCs outstanding (request + reply, a timeout timer
//             armed and cancelled per call)
//   rpc-co    the same with coroutines: `co_await node.call(...)` in a loop per node
// Wall-clock time is read here, outside any simulation, only to measure the simulator.
#include <faultline/world/world.hpp>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

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

template <class P>
void run(const char* name, Duration sim_time) {
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
  sim.run_for(1_ms);  // boot
  const std::uint64_t delivered0 = world.network().delivered();
  const std::uint64_t events0 = sim.events_run();
  const std::clock_t c0 = std::clock();
  const auto t0 = std::chrono::steady_clock::now();
  sim.run_for(sim_time);
  const auto t1 = std::chrono::steady_clock::now();
  const std::clock_t c1 = std::clock();
  // Process CPU time as well: on a shared machine it is the steadier of the two.
  const double cpu_ns = static_cast<double>(c1 - c0) * 1e9 / CLOCKS_PER_SEC;
  const auto delivered = world.network().delivered() - delivered0;
  const auto events = sim.events_run() - events0;
  const double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  std::printf("%-8s hosts=%u in_flight/node=%d sim=%s delivered=%llu events=%llu "
              "events/msg=%.2f ns/msg=%.1f cpu_ns/msg=%.1f ns/event=%.1f msgs/s=%.2fM\n",
              name, kHosts, kInFlight, sim_time.to_string().c_str(),
              static_cast<unsigned long long>(delivered), static_cast<unsigned long long>(events),
              static_cast<double>(events) / static_cast<double>(delivered),
              ns / static_cast<double>(delivered), cpu_ns / static_cast<double>(delivered),
              ns / static_cast<double>(events),
              static_cast<double>(delivered) / ns * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  // Optional argument: simulated seconds per run (default 1).
  const std::int64_t seconds = argc > 1 ? std::atoll(argv[1]) : 1;
  const Duration t = Duration::seconds(seconds > 0 ? seconds : 1);
  run<OneWay>("oneway", t);
  run<RpcCallback>("rpc-cb", t);
  run<RpcCoroutine>("rpc-co", t);
  return 0;
}
