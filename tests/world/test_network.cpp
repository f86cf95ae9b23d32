#include "world_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::world;
using namespace faultline::world::testing;
using namespace faultline::literals;

namespace {

/// Counts trace records by (source, kind) and remembers drop reasons.
struct CountingSink : TraceSink {
  std::vector<std::string> kinds;
  std::vector<std::string> drop_reasons;
  void on_record(const TraceRecordView& r) override {
    kinds.push_back(std::string(r.source) + "/" + std::string(r.kind));
    if (r.source == "net" && r.kind == "drop") {
      for (const auto& f : r.fields) {
        if (f.key == "reason") {
          drop_reasons.emplace_back(f.value.as_string());
        }
      }
    }
  }
  std::size_t count(std::string_view k) const {
    return static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), k));
  }
};

struct Pair {
  Simulation sim;
  World world;
  std::vector<Message> at_a, at_b;
  NodeId a, b;
  explicit Pair(WorldParams p = quiet_params()) : world(sim, p) {
    two_regions(world, 2);
    a = world.add_node(host(world, "z1-h0"), "a", "g", recorder(&at_a));
    b = world.add_node(host(world, "z1-h1"), "b", "g", recorder(&at_b));
    sim.run_for(1_ms);
  }
  void exchange() {
    world.node(a).send(b, Payload::make<int>(1), 100);
    world.node(b).send(a, Payload::make<int>(2), 100);
    sim.run_for(100_ms);
  }
};

}  // namespace

TEST_CASE("network: a one-way partition drops only one direction", "[world][network]") {
  Pair p;
  FaultSpec f;
  f.kind = FaultKind::kPartition;
  f.target = Target{TargetKind::kHost, "z1-h0"};
  f.peer = Target{TargetKind::kHost, "z1-h1"};
  f.one_way = true;
  p.world.faults().apply(f);
  p.exchange();
  CHECK(p.at_b.empty());        // a → b is cut
  REQUIRE(p.at_a.size() == 1);  // b → a still flows
  CHECK(p.at_a[0].payload.as<int>() == 2);
}

TEST_CASE("network: a two-way partition drops both directions until healed", "[world][network]") {
  Pair p;
  FaultSpec f;
  f.kind = FaultKind::kPartition;
  f.target = Target{TargetKind::kHost, "z1-h0"};
  f.peer = Target{TargetKind::kAll, ""};
  p.world.faults().apply(f);
  p.exchange();
  CHECK(p.at_a.empty());
  CHECK(p.at_b.empty());
  CHECK(p.world.network().dropped() == 2);
  FaultSpec heal;
  heal.kind = FaultKind::kHeal;
  p.world.faults().apply(heal);
  p.exchange();
  CHECK(p.at_a.size() == 1);
  CHECK(p.at_b.size() == 1);
}

TEST_CASE("network: a partition that starts mid-flight drops the message when so configured",
          "[world][network]") {
  const bool hits = GENERATE(true, false);
  Simulation sim;
  World world(sim, quiet_params());
  two_regions(world, 1);
  CountingSink sink;
  sim.trace().attach(&sink);
  std::vector<Message> got;
  NodeId a = world.add_node(host(world, "z1-h0"), "a", "g", idle());
  NodeId b = world.add_node(host(world, "z3-h0"), "b", "g", recorder(&got));
  sim.run_for(1_ms);
  world.node(a).send(b, Payload::make<int>(7), 64);  // cross-region: 30 ms on the wire
  FaultSpec f;
  f.at = 11_ms;
  f.kind = FaultKind::kPartition;
  f.target = Target{TargetKind::kRegion, "r1"};
  f.peer = Target{TargetKind::kRegion, "r2"};
  f.hits_in_flight = hits;
  world.faults().schedule(f);
  sim.run_for(100_ms);
  if (hits) {
    CHECK(got.empty());
    REQUIRE(sink.drop_reasons.size() == 1);
    CHECK(sink.drop_reasons[0] == "partition_in_flight");
  } else {
    CHECK(got.size() == 1);
    CHECK(sink.drop_reasons.empty());
  }
  // A message sent after the partition began is dropped either way.
  world.node(a).send(b, Payload::make<int>(8), 64);
  sim.run_for(100_ms);
  CHECK(got.size() == (hits ? 0u : 1u));
  sim.trace().detach(&sink);
}

TEST_CASE("network: bandwidth makes a 10 MB reply slower than a 1 KB one by size / rate",
          "[world][network][rpc]") {
  Simulation sim;
  World world(sim, quiet_params());  // 1 Gbps NICs, 250 µs in-zone, no jitter
  two_regions(world, 2);
  struct Server : Program {
    void start(Node& n) override {
      n.on_request([&n](const Message& m, Responder r) {
        (void)n;
        r.reply(Payload::make<int>(0), static_cast<std::uint64_t>(m.payload.as<int>()));
      });
    }
  };
  NodeId client = world.add_node(host(world, "z1-h0"), "client", "c", idle());
  NodeId server = world.add_node(host(world, "z1-h1"), "server", "s",
                                 [](Node&) { return std::make_unique<Server>(); });
  sim.run_for(1_ms);
  std::vector<Duration> latency;
  for (int size : {1'000, 10'000'000}) {
    world.node(client).call(server, Payload::make<int>(size), 100, 10_s, [&](RpcResult r) {
      REQUIRE(r.ok());
      latency.push_back(r.latency);
    });
    sim.run_for(1_s);
  }
  REQUIRE(latency.size() == 2);
  // 8 bits per byte at 1e9 bit/s: (10,000,000 - 1,000) * 8 ns.
  CHECK((latency[1] - latency[0]).ns() == (10'000'000 - 1'000) * 8);
  // And the small call is two one-way latencies plus the two transfers.
  CHECK(latency[0].ns() == 2 * 250'000 + 100 * 8 + 1'000 * 8);
}

TEST_CASE("network: a clogged link holds messages and delivers them when unclogged",
          "[world][network]") {
  Pair p;
  FaultSpec f;
  f.kind = FaultKind::kClog;
  f.target = Target{TargetKind::kHost, "z1-h0"};
  f.peer = Target{TargetKind::kHost, "z1-h1"};
  f.duration = 1_s;
  p.world.faults().apply(f);
  p.exchange();
  CHECK(p.at_a.empty());
  CHECK(p.at_b.empty());
  CHECK(p.world.network().held() == 2);
  p.sim.run_for(1_s);
  CHECK(p.at_a.size() == 1);
  CHECK(p.at_b.size() == 1);
  CHECK(p.world.network().dropped() == 0);
}

TEST_CASE("network: duplication delivers twice and each copy is a trace record",
          "[world][network]") {
  WorldParams wp = quiet_params();
  wp.network.same_zone.duplicate = Ratio{1, 1};
  Simulation sim;
  World world(sim, wp);
  two_regions(world, 2);
  CountingSink sink;
  sim.trace().attach(&sink);
  std::vector<Message> got;
  NodeId a = world.add_node(host(world, "z1-h0"), "a", "g", idle());
  NodeId b = world.add_node(host(world, "z1-h1"), "b", "g", recorder(&got));
  sim.run_for(1_ms);
  world.node(a).send(b, Payload::make<std::string>("hi"), 10);
  sim.run_for(10_ms);
  CHECK(got.size() == 2);
  CHECK(sink.count("net/duplicate") == 1);
  CHECK(sink.count("net/deliver") == 2);
  sim.trace().detach(&sink);
}

TEST_CASE("network: loss follows the configured integer ratio", "[world][network]") {
  WorldParams wp = quiet_params();
  wp.network.same_zone.drop = Ratio{1, 4};
  Simulation sim;
  World world(sim, wp);
  two_regions(world, 2);
  std::vector<Message> got;
  NodeId a = world.add_node(host(world, "z1-h0"), "a", "g", idle());
  NodeId b = world.add_node(host(world, "z1-h1"), "b", "g", recorder(&got));
  sim.run_for(1_ms);
  for (int i = 0; i < 4000; ++i) {
    world.node(a).send(b, Payload{}, 10);
  }
  sim.run_for(1_s);
  CHECK(got.size() == Approx(3000).margin(120));
  CHECK(world.network().dropped() + got.size() == 4000);
}

TEST_CASE("network: jitter reorders messages on a link", "[world][network]") {
  WorldParams wp = quiet_params();
  wp.network.same_zone.latency.jitter = JitterKind::kExponential;
  Simulation sim;
  World world(sim, wp);
  two_regions(world, 2);
  std::vector<Message> got;
  NodeId a = world.add_node(host(world, "z1-h0"), "a", "g", idle());
  NodeId b = world.add_node(host(world, "z1-h1"), "b", "g", recorder(&got));
  sim.run_for(1_ms);
  for (int i = 0; i < 50; ++i) {
    world.node(a).send(b, Payload::make<int>(i), 10);
  }
  sim.run_for(1_s);
  REQUIRE(got.size() == 50);
  int inversions = 0;
  for (std::size_t i = 1; i < got.size(); ++i) {
    inversions += got[i].payload.as<int>() < got[i - 1].payload.as<int>() ? 1 : 0;
  }
  CHECK(inversions > 0);
}

TEST_CASE("payload: a mismatched type is a nullptr or a clear error", "[world][network]") {
  Payload p = Payload::make<std::string>("x");
  CHECK(p.get<int>() == nullptr);
  REQUIRE(p.get<std::string>() != nullptr);
  CHECK(*p.get<std::string>() == "x");
  CHECK_THROWS_AS(p.as<int>(), std::logic_error);
}
