#include <faultline/resilience/retry_budget.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::resilience;

TEST_CASE("retry quota: retries stop when the bucket is spent", "[resilience][budget]") {
  RetryQuota q(RetryQuotaParams{});
  CHECK(q.tokens() == 500);
  int retries = 0;
  while (q.try_acquire(false)) {
    ++retries;
  }
  CHECK(retries == 100);  // 500 tokens / 5 per retry
  CHECK(q.tokens() == 0);
  CHECK_FALSE(q.try_acquire(true).has_value());
}

TEST_CASE("retry quota: timeouts cost double and successes refill", "[resilience][budget]") {
  RetryQuota q(RetryQuotaParams{});
  CHECK(q.try_acquire(true) == 10);
  CHECK(q.tokens() == 490);
  q.on_success(10);  // the retried request succeeded: its cost comes back
  CHECK(q.tokens() == 500);
  while (q.try_acquire(false)) {
  }
  CHECK_FALSE(q.try_acquire(false).has_value());
  for (int i = 0; i < 5; ++i) {
    q.on_success(0);  // first-try successes refund 1 each
  }
  CHECK(q.tokens() == 5);
  CHECK(q.try_acquire(false) == 5);
  for (int i = 0; i < 1000; ++i) {
    q.on_success(0);
  }
  CHECK(q.tokens() == 500);  // never above capacity
}

TEST_CASE("adaptive throttle: rejects nothing while the backend accepts everything",
          "[resilience][budget][throttle]") {
  AdaptiveThrottle t(AdaptiveThrottleParams{});
  Rng rng(1);
  Time now{};
  for (int i = 0; i < 1000; ++i) {
    now += Duration::millis(10);
    REQUIRE(t.admit(now, rng));
    t.on_accepted(now);
  }
  CHECK(t.reject_probability(now) == 0.0);
}

TEST_CASE("adaptive throttle: with no accepts it rejects almost all, and recovers after the "
          "window", "[resilience][budget][throttle]") {
  AdaptiveThrottleParams p;
  p.window = Duration::seconds(10);
  p.buckets = 10;
  AdaptiveThrottle t(p);
  Rng rng(2);
  Time now{};
  int sent = 0;
  for (int i = 0; i < 1000; ++i) {
    now += Duration::millis(5);
    if (t.admit(now, rng)) {
      ++sent;  // the backend rejects every one
    }
  }
  CHECK(t.reject_probability(now) > 0.99);
  CHECK(sent < 60);
  // With K = 2 and half the requests accepted, requests - 2 * accepts <= 0: nothing rejected.
  now += Duration::seconds(11);
  CHECK(t.reject_probability(now) == 0.0);
  for (int i = 0; i < 1000; ++i) {
    now += Duration::millis(5);
    if (t.admit(now, rng) && i % 2 == 0) {
      t.on_accepted(now);
    }
  }
  CHECK(t.reject_probability(now) < 0.05);
}

TEST_CASE("retry ratio budget: retries capped near the ratio of requests",
          "[resilience][budget]") {
  RetryRatioParams p;
  p.min_retries = 0;
  RetryRatioBudget b(p);
  Time now{};
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) {
    now += Duration::millis(10);
    b.on_request(now);
    if (b.try_retry(now)) {
      ++allowed;
    }
  }
  CHECK(allowed >= 95);
  CHECK(allowed <= 100);
}

TEST_CASE("budget params: bad values name the field", "[resilience][budget][params]") {
  AdaptiveThrottleParams a;
  a.k = 0.5;
  CHECK_THROWS_WITH(a.validate(), Catch::Contains("adaptive_throttle.k"));
  RetryQuotaParams q;
  q.retry_cost = 0;
  CHECK_THROWS_WITH(RetryQuota(q), Catch::Contains("retry_quota.retry_cost"));
  RetryRatioParams r;
  r.window = Duration::zero();
  CHECK_THROWS_WITH(r.validate(), Catch::Contains("retry_ratio.window"));
}
