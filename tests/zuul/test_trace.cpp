// Shedding and failover are where a person looks for them in the Perfetto export: a slice
// "zuul shedding" and instants "zuul failover" / "zuul failback" on the Zuul instance's track.
#include "fixtures.hpp"

#include <faultline/report/perfetto.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <sstream>

using namespace zuul_test;

namespace {

/// The sink's Perfetto JSON, and its tracks: track name → tid.
struct Exported {
  nlohmann::json j;
  std::map<std::string, int> tracks;
};
Exported exported(report::PerfettoTraceSink& sink) {
  std::ostringstream out;
  sink.write(out);
  Exported e{nlohmann::json::parse(out.str()), {}};
  for (const auto& ev : e.j["traceEvents"]) {
    if (ev["name"] == "thread_name") {
      e.tracks[ev["args"]["name"].get<std::string>()] = ev["tid"].get<int>();
    }
  }
  return e;
}

}  // namespace

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
  auto [j, tracks] = exported(sink);
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

TEST_CASE("zuul: with the families' ELBs the Perfetto trace shows tv's ELB reprogrammed from "
          "missing state on its own track, and the state loss and restore as marks",
          "[zuul][report][elb]") {
  Simulation sim({.seed = 14});
  report::PerfettoTraceSink sink("zuul", 1);
  sim.trace().attach(&sink);
  auto p = two_origins(zu::Mode::event_loop);
  p.elb.enabled = true;
  p.elb.touch_mean = Duration::seconds(10);
  p.elb.control_plane.scale_ratio = 0.0;
  p.elb.state_loss = {.at = Duration::seconds(5),
                      .families = {"tv"},
                      .restored_at = Duration::seconds(60)};
  zu::EdgeStack stack(sim, p);
  sim.run_until(Time::zero() + Duration::seconds(70));
  sim.trace().detach(&sink);
  const auto [j, tracks] = exported(sink);
  std::map<int, std::string> names;  // tid → track name
  for (const auto& [name, tid] : tracks) {
    names[tid] = name;
  }
  int broken_tv = 0, web_ok = 0, deleted = 0, restored = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e.value("cat", "") != "elb" || !e.contains("tid")) {
      continue;
    }
    const std::string track = names[e["tid"].get<int>()];
    const auto& args = e["args"];
    if (e["name"] == "elb reprogram") {
      const bool missing = args.value("from_missing_state", false);
      broken_tv += track == "node/api-tv" && missing ? 1 : 0;
      web_ok += track == "node/api-web" && !missing ? 1 : 0;
      CHECK_FALSE((track == "node/api-web" && missing));  // web's state was never deleted
    }
    deleted += e["name"] == "elb state-deleted" ? 1 : 0;
    restored += e["name"] == "elb state-restored" ? 1 : 0;
  }
  CHECK(broken_tv >= 1);
  CHECK(web_ok >= 1);
  CHECK(deleted == 1);
  CHECK(restored == 1);
}
