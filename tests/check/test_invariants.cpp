#include <faultline/check/invariants.hpp>
#include <faultline/simulation.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::check;

TEST_CASE("invariants: a periodic check records the first violation with its time",
          "[check][invariants]") {
  Simulation sim;
  int leaders = 1;
  sim.schedule_at(Time::zero() + 25_ms, [&] { leaders = 2; });  // split brain
  sim.schedule_at(Time::zero() + 45_ms, [&] { leaders = 1; });
  InvariantMonitor monitor(sim);
  monitor.add("at most one leader", [&]() -> std::optional<std::string> {
    if (leaders <= 1) {
      return std::nullopt;
    }
    return fmt::format("{} leaders", leaders);
  });
  monitor.add_condition("some leader", [&] { return leaders >= 1; });
  monitor.check_every(10_ms);
  sim.run_until(Time::zero() + 100_ms);
  REQUIRE_FALSE(monitor.ok());
  REQUIRE(monitor.first_violation());
  CHECK(monitor.first_violation()->time == Time::zero() + 30_ms);
  CHECK(monitor.first_violation()->invariant == "at most one leader");
  CHECK(monitor.first_violation()->message == "2 leaders");
  CHECK(monitor.violations().size() == 1);  // 40ms violated again, kept once
  CHECK(monitor.evaluations() == 10);
  CheckResult r = monitor.result();
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("at most one leader at T+30ms: 2 leaders"));
}

TEST_CASE("invariants: checks on every call pass while the invariant holds",
          "[check][invariants]") {
  Simulation sim;
  int balance = 100;
  InvariantMonitor monitor(sim);
  monitor.add_condition("balance never negative", [&] { return balance >= 0; });
  for (int i = 0; i < 5; ++i) {
    balance -= 20;
    CHECK(monitor.check());
  }
  CHECK(monitor.result().ok);
  balance -= 1;
  CHECK_FALSE(monitor.check());
  CHECK(monitor.first_violation()->message == "condition is false");
}

TEST_CASE("invariants: stop_on_violation stops the run; stop_periodic empties the queue",
          "[check][invariants]") {
  Simulation sim;
  bool broken = false;
  sim.schedule_at(Time::zero() + 15_ms, [&] { broken = true; });
  InvariantMonitor monitor(sim);
  monitor.add_condition("intact", [&] { return !broken; });
  monitor.stop_on_violation(true);
  monitor.check_every(10_ms);
  sim.run();
  CHECK(sim.now() == Time::zero() + 20_ms);
  monitor.stop_periodic();
  CHECK(sim.pending() == 0);
}

TEST_CASE("invariants: bad registrations are rejected", "[check][invariants]") {
  Simulation sim;
  InvariantMonitor monitor(sim);
  monitor.add_condition("x", [] { return true; });
  CHECK_THROWS_WITH(monitor.add_condition("x", [] { return true; }),
                    Catch::Contains("already registered"));
  CHECK_THROWS_WITH(monitor.add("", [] { return std::optional<std::string>(); }),
                    Catch::Contains("name"));
  CHECK_THROWS_WITH(monitor.check_every(Duration::zero()), Catch::Contains("positive"));
}

TEST_CASE("liveness: recovery within the bound after a heal passes", "[check][liveness]") {
  Simulation sim;
  bool healthy = false;
  sim.schedule_at(Time::zero() + 1_s, [&] { healthy = false; });
  sim.schedule_at(Time::zero() + 3500_ms, [&] { healthy = true; });
  LivenessCheck live(sim, "replicas caught up", [&] { return healthy; }, 5_s, 100_ms);
  live.healed_at(Time::zero() + 2_s);
  sim.run_until(Time::zero() + 10_s);
  CheckResult r = live.result();
  INFO(r.to_string());
  CHECK(r.ok);
  CHECK(r.checker == "liveness/replicas caught up");
  REQUIRE(live.recovery_times().size() == 1);
  CHECK(live.recovery_times()[0] == 1500_ms);
}

TEST_CASE("liveness: a condition that stays false past the bound fails", "[check][liveness]") {
  Simulation sim;
  bool healthy = false;
  sim.schedule_at(Time::zero() + 9_s, [&] { healthy = true; });
  LivenessCheck live(sim, "leader elected", [&] { return healthy; }, 5_s, 100_ms);
  live.healed_at(Time::zero() + 1_s);
  SECTION("missed") {
    sim.run_until(Time::zero() + 20_s);
    CheckResult r = live.result();
    INFO(r.to_string());
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.summary, Catch::Contains("1 of 1 recoveries missed the bound of 5s"));
    CHECK_THAT(r.details, Catch::Contains("still false at T+6s"));
  }
  SECTION("undecided when the run is too short") {
    sim.run_until(Time::zero() + 3_s);
    CHECK_THAT(live.result().summary, Catch::Contains("undecided"));
    CHECK_THROWS_AS(live.healed_at(Time::zero() + 4_s), std::logic_error);
  }
}

TEST_CASE("liveness: offline over a sampled series", "[check][liveness]") {
  TimeSeries availability;
  for (int s = 0; s <= 20; ++s) {
    availability.add(Time::zero() + Duration::seconds(s), s < 12 ? 0.4 : 0.999);
  }
  auto good = [](double v) { return v > 0.99; };
  CHECK(check_recovers_within(availability, Time::zero() + 10_s, 5_s, good, "available").ok);
  CheckResult late = check_recovers_within(availability, Time::zero() + 5_s, 5_s, good,
                                           "available");
  CHECK_FALSE(late.ok);
  CHECK_THAT(late.summary, Catch::Contains("did not hold again within 5s"));
  CHECK_THAT(check_recovers_within(availability, Time::zero() + 18_s, 10_s,
                                   [](double) { return false; }, "x")
                 .summary,
             Catch::Contains("undecided"));
}
