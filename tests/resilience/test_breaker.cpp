#include <faultline/resilience/circuit_breaker.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::resilience;

namespace {
CircuitBreakerParams ratio_params() {
  CircuitBreakerParams p;
  p.min_requests = 10;
  p.failure_ratio = 0.5;
  p.window = Duration::seconds(10);
  p.open_duration = Duration::seconds(5);
  return p;
}
}  // namespace

TEST_CASE("breaker: stays closed below the volume threshold even when every call fails",
          "[resilience][breaker]") {
  CircuitBreaker b(ratio_params());
  Time now{};
  for (int i = 0; i < 9; ++i) {
    REQUIRE(b.allow(now));
    b.record(now, false);
  }
  CHECK(b.state(now) == BreakerState::closed);
  REQUIRE(b.allow(now));
  b.record(now, false);  // the tenth failure meets min_requests
  CHECK(b.state(now) == BreakerState::open);
}

TEST_CASE("breaker: opens on the failure ratio, rejects while open, half-opens after the wait "
          "and closes on a successful probe", "[resilience][breaker]") {
  CircuitBreaker b(ratio_params());
  Time now{};
  for (int i = 0; i < 10; ++i) {
    now += Duration::millis(100);
    REQUIRE(b.allow(now));
    b.record(now, i % 2 == 0);  // alternating: the tenth call makes the ratio 0.5
  }
  REQUIRE(b.state(now) == BreakerState::open);
  const Time opened = now;
  now += Duration::seconds(4);
  CHECK_FALSE(b.allow(now));
  CHECK(b.rejected() == 1);
  now = opened + Duration::seconds(5);
  CHECK(b.state(now) == BreakerState::half_open);
  CHECK(b.allow(now));        // the one probe
  CHECK_FALSE(b.allow(now));  // no second probe while the first is out
  b.record(now, true);
  CHECK(b.state(now) == BreakerState::closed);
  const auto& tr = b.transitions();
  REQUIRE(tr.size() == 3);
  CHECK(tr[0].to == BreakerState::open);
  CHECK(tr[1].to == BreakerState::half_open);
  CHECK(tr[2].to == BreakerState::closed);
  CHECK(tr[1].time == opened + Duration::seconds(5));
}

TEST_CASE("breaker: a failed probe reopens it for another full wait", "[resilience][breaker]") {
  CircuitBreakerParams p = ratio_params();
  p.trip = BreakerTrip::consecutive_failures;
  p.consecutive_failures = 3;
  CircuitBreaker b(p);
  Time now{};
  b.allow(now);
  b.record(now, false);
  b.allow(now);
  b.record(now, true);  // the run of failures is broken
  for (int i = 0; i < 2; ++i) {
    b.allow(now);
    b.record(now, false);
  }
  CHECK(b.state(now) == BreakerState::closed);
  b.allow(now);
  b.record(now, false);
  REQUIRE(b.state(now) == BreakerState::open);
  now += Duration::seconds(5);
  REQUIRE(b.allow(now));
  b.record(now, false);
  CHECK(b.state(now) == BreakerState::open);
  now += Duration::seconds(4);
  CHECK_FALSE(b.allow(now));
  now += Duration::seconds(1);
  CHECK(b.allow(now));
}

TEST_CASE("breaker: failures older than the window do not count", "[resilience][breaker]") {
  CircuitBreaker b(ratio_params());
  Time now{};
  for (int i = 0; i < 9; ++i) {
    b.allow(now);
    b.record(now, false);
  }
  now += Duration::seconds(11);
  b.allow(now);
  b.record(now, false);
  CHECK(b.state(now) == BreakerState::closed);
}

TEST_CASE("breaker: a slow reply from before it opened cannot close it when half-open",
          "[resilience][breaker]") {
  CircuitBreakerParams p = ratio_params();
  p.trip = BreakerTrip::consecutive_failures;
  p.consecutive_failures = 1;
  CircuitBreaker b(p);
  Time now{};
  REQUIRE(b.allow(now));
  const std::uint64_t slow_call = b.generation();  // sent while closed, answers late
  REQUIRE(b.allow(now));
  b.record(now, false, b.generation());
  REQUIRE(b.state(now) == BreakerState::open);
  now += Duration::seconds(6);
  REQUIRE(b.state(now) == BreakerState::half_open);
  b.record(now, true, slow_call);  // the late success is ignored
  CHECK(b.state(now) == BreakerState::half_open);
  const std::uint64_t probe = b.generation();
  REQUIRE(b.allow(now));
  b.record(now, true, probe);
  CHECK(b.state(now) == BreakerState::closed);
}

TEST_CASE("breaker params: bad values name the field", "[resilience][breaker][params]") {
  CircuitBreakerParams p;
  p.failure_ratio = 1.5;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("circuit_breaker.failure_ratio"));
  p = {};
  p.half_open_probes = 0;
  CHECK_THROWS_WITH(CircuitBreaker(p), Catch::Contains("half_open_probes"));
}
