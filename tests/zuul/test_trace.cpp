// Shedding and failover are where a person looks for them in the Perfetto export: a slice
// "zuul shedding" and instants "zuul failover" / "zuul failback" on the Zuul instance's track.
#include "fixtures.hpp"

#include <faultline/report/perfetto.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>

using namespace zuul_test;

TEST_CASE("zuul: the Perfetto trace shows shedding as a slice and failover as instants on the "
          "instance's track",
          "[zuul][report]") {
  Simulation sim({.seed = 13});
  report::PerfettoTraceSink sink("zuul", 1);
  sim.trace().attach(&sink);
  auto p = two_origins(zu::Mode::thread_per_request);
  p.zuul.threads = 10;
  p.zuul.accept_queue = 10;
  p.zuul.eject_for = Duration::seconds(5);
  p.zuul.routes[0].failover_origin = "slow";
  zu::EdgeStack stack(sim, p);
  slow_down(stack.world(), "slow", Duration::seconds(5), Duration::seconds(20),
            Duration::seconds(1));
  crash(stack.world(), {world::TargetKind::kGroup, "tier/api"}, Duration::seconds(40),
        Duration::seconds(10));
  sim.run_until(Time::zero() + Duration::seconds(70));
  sim.trace().detach(&sink);
  std::ostringstream out;
  sink.write(out);
  const auto j = nlohmann::json::parse(out.str());
  std::map<std::string, int> tracks;  // tid → name
  for (const auto& e : j["traceEvents"]) {
    if (e["name"] == "thread_name") {
      tracks[e["args"]["name"].get<std::string>()] = e["tid"].get<int>();
    }
  }
  int shedding = 0, failover = 0, failback = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e.value("cat", "") != "zuul") {
      continue;
    }
    CHECK(e["tid"] == tracks["node/zuul-0"]);
    if (e["name"] == "zuul shedding" && e["ph"] == "X") {
      ++shedding;
      CHECK(e["args"]["reason"] == "threads");
      CHECK(e["args"]["count"].get<int>() > 0);
    }
    failover += e["name"] == "zuul failover" ? 1 : 0;
    failback += e["name"] == "zuul failback" ? 1 : 0;
  }
  CHECK(shedding >= 1);
  CHECK(failover == 1);  // one move per outage, not one per ejection expiry
  CHECK(failback == 1);
}
