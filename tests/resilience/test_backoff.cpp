#include <faultline/resilience/backoff.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace faultline;
using namespace faultline::resilience;

namespace {
RetryParams params(Jitter j) {
  RetryParams p;
  p.max_attempts = 10;
  p.base = Duration::millis(5);
  p.cap = Duration::millis(2000);
  p.jitter = j;
  return p;
}
}  // namespace

TEST_CASE("backoff: the ceiling doubles from base and stops at the cap", "[resilience][backoff]") {
  Backoff b(params(Jitter::none));
  CHECK(b.ceiling(1) == Duration::millis(10));
  CHECK(b.ceiling(2) == Duration::millis(20));
  CHECK(b.ceiling(8) == Duration::millis(1280));
  CHECK(b.ceiling(9) == Duration::millis(2000));
  CHECK(b.ceiling(60) == Duration::millis(2000));  // no overflow far past the cap
  Rng rng(1);
  CHECK(b.delay(3, rng) == Duration::millis(40));
}

TEST_CASE("backoff: every jittered delay stays within its algorithm's bounds and the cap",
          "[resilience][backoff]") {
  Rng rng(7);
  for (int n = 1; n <= 12; ++n) {
    Backoff none(params(Jitter::none));
    Backoff full(params(Jitter::full));
    Backoff equal(params(Jitter::equal));
    const Duration expo = none.ceiling(n);
    Duration full_max = Duration::zero();
    for (int i = 0; i < 2000; ++i) {
      const Duration f = full.delay(n, rng);
      REQUIRE(f >= Duration::zero());
      REQUIRE(f <= expo);
      full_max = std::max(full_max, f);
      const Duration e = equal.delay(n, rng);
      REQUIRE(e >= expo / 2);
      REQUIRE(e <= expo);
    }
    // Full jitter really spreads over the range rather than sitting at one end.
    CHECK(full_max > expo * 9 / 10);
  }
}

TEST_CASE("backoff: decorrelated jitter stays in [base, min(cap, 3 x previous)]",
          "[resilience][backoff]") {
  Backoff d(params(Jitter::decorrelated));
  Rng rng(3);
  Duration previous = Duration::millis(5);
  bool reached_cap = false;
  for (int i = 1; i <= 5000; ++i) {
    const Duration s = d.delay(i, rng);
    REQUIRE(s >= Duration::millis(5));
    REQUIRE(s <= std::min(Duration::millis(2000), previous * 3));
    reached_cap = reached_cap || s == Duration::millis(2000);
    previous = s;
  }
  CHECK(reached_cap);
  d.reset();
  CHECK(d.delay(1, rng) <= Duration::millis(15));
}

TEST_CASE("backoff: same seed gives the same delays", "[resilience][backoff][determinism]") {
  Backoff a(params(Jitter::full));
  Backoff b(params(Jitter::full));
  Rng ra(99);
  Rng rb(99);
  for (int i = 1; i < 50; ++i) {
    REQUIRE(a.delay(i % 10 + 1, ra) == b.delay(i % 10 + 1, rb));
  }
}

TEST_CASE("retry policy: retries only retryable outcomes and only up to max_attempts",
          "[resilience][retry]") {
  RetryParams p;
  p.max_attempts = 3;
  RetryPolicy r(p);
  CHECK(r.should_retry(1, Outcome::timeout));
  CHECK(r.should_retry(2, Outcome::overloaded));
  CHECK(r.should_retry(1, Outcome::unavailable));
  CHECK_FALSE(r.should_retry(3, Outcome::timeout));
  CHECK_FALSE(r.should_retry(1, Outcome::ok));
  CHECK_FALSE(r.should_retry(1, Outcome::bad_request));
  CHECK_FALSE(r.should_retry(1, Outcome::rejected_local));
  p.retry_on_timeout = false;
  CHECK_FALSE(RetryPolicy(p).should_retry(1, Outcome::timeout));
}

TEST_CASE("retry params: impossible values are rejected with the field named",
          "[resilience][retry][params]") {
  RetryParams p;
  p.max_attempts = 0;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("retry.max_attempts"));
  p = RetryParams{};
  p.cap = Duration::millis(1);
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("retry.cap"));
  p = RetryParams{};
  p.base = Duration::millis(-1);
  CHECK_THROWS_AS(Backoff(p), std::invalid_argument);
  CHECK(parse_jitter("decorrelated") == Jitter::decorrelated);
  CHECK_FALSE(parse_jitter("fully").has_value());
}
