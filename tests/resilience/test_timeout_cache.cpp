#include <faultline/resilience/cache.hpp>
#include <faultline/resilience/timeout.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace faultline;
using namespace faultline::resilience;

TEST_CASE("timeout: fixed until enough samples, then the observed percentile within bounds",
          "[resilience][timeout]") {
  TimeoutParams p;
  p.timeout = Duration::millis(500);
  p.percentile = 0.99;
  p.min_samples = 100;
  p.max_timeout = Duration::millis(80);
  TimeoutPolicy t(p);
  CHECK(t.current() == Duration::millis(500));
  for (int i = 1; i <= 100; ++i) {
    t.observe(Duration::millis(i % 50 + 1));
  }
  CHECK(t.current() > Duration::millis(45));
  CHECK(t.current() <= Duration::millis(51));
  for (int i = 0; i < 1000; ++i) {
    t.observe(Duration::seconds(1));
  }
  CHECK(t.current() == Duration::millis(80));  // clamped
  p.percentile = 1.0;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("timeout.percentile"));
}

TEST_CASE("cache: fresh within TTL, stale fallback until stale_ttl, then gone",
          "[resilience][cache]") {
  CacheParams p;
  p.ttl = Duration::seconds(10);
  p.stale_ttl = Duration::seconds(60);
  ClientCache<std::string, int> c(p);
  Time t0{};
  c.put(t0, "k", 7);
  CHECK(c.get_fresh(t0 + Duration::seconds(5), "k") == 7);
  CHECK_FALSE(c.get_fresh(t0 + Duration::seconds(11), "k").has_value());
  CHECK(c.get_stale(t0 + Duration::seconds(30), "k") == 7);
  CHECK_FALSE(c.get_stale(t0 + Duration::seconds(61), "k").has_value());
  CHECK(c.stale_served() == 1);
  CHECK(c.peek(t0 + Duration::seconds(30), "k") == CacheHit::stale);
}

TEST_CASE("cache: evicts the least recently used entry at capacity", "[resilience][cache]") {
  CacheParams p;
  p.capacity = 2;
  ClientCache<int, int> c(p);
  Time t{};
  c.put(t, 1, 1);
  c.put(t, 2, 2);
  CHECK(c.get_fresh(t, 1) == 1);  // 2 is now the least recently used
  c.put(t, 3, 3);
  CHECK(c.size() == 2);
  CHECK(c.peek(t, 2) == CacheHit::miss);
  CHECK(c.peek(t, 1) == CacheHit::fresh);
  p.stale_ttl = Duration::seconds(1);
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("cache.stale_ttl"));
}
