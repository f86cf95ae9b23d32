// DNS steering pieces of sim/regions on their own: weighted answers, resolver caches that keep
// an answer for the TTL (and longer when sticky), and health checks that need a streak.
#include <faultline/sim/regions/dns.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::regions;

TEST_CASE("dns: a record answers by weight, and a zero weight is never answered",
          "[regions][dns]") {
  Rng rng(7);
  DnsRecord r("api", {3, 1, 0});
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 40000; ++i) {
    ++counts[r.answer(rng)];
  }
  CHECK(counts[2] == 0);
  CHECK(counts[0] == Approx(30000).margin(600));
  CHECK(counts[1] == Approx(10000).margin(600));
  const auto serial = r.serial();
  r.set_weights({0, 0, 1});
  CHECK(r.serial() == serial + 1);
  CHECK(r.answer(rng) == 2);
  CHECK_THROWS_AS(r.set_weights({0, 0, 0}), std::invalid_argument);
}

TEST_CASE("dns: a resolver keeps its answer until the TTL expires, then asks the record again",
          "[regions][dns]") {
  DnsParams p;
  p.ttl = Duration::seconds(60);
  p.resolvers = 1;
  ResolverPool pool(p, Rng(1));
  DnsRecord rec("api", {1, 0});
  const Time t0 = Time::zero();
  CHECK(pool.resolve(t0, rec) == 0);
  rec.set_weights({0, 1});
  CHECK(pool.resolve(t0 + Duration::seconds(59), rec) == 0);  // cached: the change is unseen
  CHECK(pool.resolve(t0 + Duration::seconds(60), rec) == 1);  // expired: a fresh lookup
  CHECK(pool.lookups() == 2);
}

TEST_CASE("dns: a primed pool's answers expire spread over the TTL, not all at once",
          "[regions][dns]") {
  DnsParams p;
  p.ttl = Duration::seconds(60);
  p.resolvers = 1000;
  ResolverPool pool(p, Rng(3));
  DnsRecord rec("api", {1, 0});
  pool.prime(Time::zero(), rec);
  rec.set_weights({0, 1});
  // Ask every resolver (many random picks) at 30 s: about half have expired and moved.
  for (int i = 0; i < 20000; ++i) {
    pool.resolve(Time::zero() + Duration::seconds(30), rec);
  }
  CHECK(pool.share(1) == Approx(0.5).margin(0.06));
  for (int i = 0; i < 20000; ++i) {
    pool.resolve(Time::zero() + Duration::seconds(61), rec);
  }
  CHECK(pool.share(1) > 0.999);
}

TEST_CASE("dns: sticky resolvers keep the old answer beyond the TTL", "[regions][dns]") {
  DnsParams p;
  p.ttl = Duration::seconds(60);
  p.resolvers = 1000;
  p.sticky_fraction = GENERATE(0.0, 0.3);
  p.sticky_extra = Duration::minutes(10);
  ResolverPool pool(p, Rng(5));
  DnsRecord rec("api", {1, 0});
  pool.prime(Time::zero(), rec);
  rec.set_weights({0, 1});
  auto ask_all = [&](Duration at) {
    for (int i = 0; i < 20000; ++i) {
      pool.resolve(Time::zero() + at, rec);
    }
  };
  ask_all(Duration::seconds(61));
  INFO("sticky_fraction " << p.sticky_fraction);
  if (p.sticky_fraction == 0.0) {
    CHECK(pool.share(1) > 0.999);
  } else {
    // A TTL later the sticky ones (most of them: their answers live 11 min) are still old.
    CHECK(pool.share(0) == Approx(0.3 * (1.0 - 61.0 / 660.0)).margin(0.05));
    ask_all(Duration::seconds(661));
    CHECK(pool.share(1) > 0.999);
  }
}

TEST_CASE("dns: a health check needs a streak of failing intervals, and intervals without "
          "traffic change nothing",
          "[regions][dns]") {
  HealthCheck h(0.2, 3);
  auto interval = [&](int sent, int failed) {
    for (int i = 0; i < sent; ++i) {
      h.sent();
    }
    for (int i = 0; i < failed; ++i) {
      h.failed();
    }
    return h.close_interval();
  };
  CHECK_FALSE(interval(10, 5));
  CHECK_FALSE(interval(10, 5));
  CHECK_FALSE(interval(10, 1));  // a passing interval breaks the streak
  CHECK_FALSE(interval(10, 5));
  CHECK_FALSE(interval(10, 5));
  CHECK_FALSE(interval(0, 0));  // no evidence
  CHECK(h.healthy());
  CHECK(interval(10, 5));  // the third failing interval in a row
  CHECK_FALSE(h.healthy());
  CHECK(h.last_error_rate() == Approx(0.5));
}
