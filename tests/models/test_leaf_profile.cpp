// The leaf profile of The Tail at Scale's Table 1 (sim/services leaf_profile.hpp), measured
// against the table by sampling: one leaf's p50/p95/p99 must be 1/5/10 ms and the slowest of
// 100 independent leaves' p50/p95/p99 must be 40/87/140 ms, each within 5 % over 4 million leaf
// draws (40,000 requests). The largest sampling error is the one-leaf p99's, about 2 % (one
// standard error): it sits at the foot of a flat shelf, where 0.3 % of the draws spread over
// 10-40 ms, so a small error in the count moves the quantile far; seed 1 measures 10.38 ms.
// Confirmed able to fail: a profile fitted to 400 leaves instead of 100 measures 13/57/92 ms
// for the slowest of 100 and fails all three all-leaves checks.
#include <faultline/sim/services/leaf_profile.hpp>
#include <faultline/sim/services/params.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <vector>

using namespace faultline;
using faultline::sim::services::ServiceTime;
using faultline::sim::services::TailAtScaleProfile;
using faultline::sim::services::TailAtScaleTable1;

namespace {

// The q-quantile of v (nearest rank), in ms; reorders v.
double quantile_ms(std::vector<double>& v, double q) {
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double ms(Duration d) { return d.to_seconds() * 1e3; }

}  // namespace

TEST_CASE("tail-at-scale leaf profile: one leaf and the slowest of 100 leaves match Table 1",
          "[models][services][leaf_profile]") {
  const TailAtScaleProfile profile(100);
  Rng rng = Rng::derive(1, "leaf-profile-test");
  constexpr int kRequests = 40'000;
  constexpr int kLeaves = 100;
  std::vector<double> one;       // every leaf draw: a random leaf
  std::vector<double> slowest;   // per request: the last of its 100 leaves
  std::vector<double> ninety_five;  // per request: when 95 of its 100 leaves have finished
  one.reserve(static_cast<std::size_t>(kRequests) * kLeaves);
  std::vector<double> req(kLeaves);
  for (int r = 0; r < kRequests; ++r) {
    for (int l = 0; l < kLeaves; ++l) {
      req[static_cast<std::size_t>(l)] = ms(profile.sample(rng));
      one.push_back(req[static_cast<std::size_t>(l)]);
    }
    std::sort(req.begin(), req.end());
    slowest.push_back(req.back());
    ninety_five.push_back(req[94]);
  }
  for (int i = 0; i < 3; ++i) {
    const double q = TailAtScaleTable1::kPercentiles[i];
    const double got_one = quantile_ms(one, q);
    const double got_all = quantile_ms(slowest, q);
    const double got_95 = quantile_ms(ninety_five, q);
    WARN("p" << q * 100 << ": one leaf " << got_one << " ms (Table 1: "
             << TailAtScaleTable1::kOneLeafMs[i] << "), 95 % of leaves " << got_95
             << " ms (Table 1: " << TailAtScaleTable1::kNinetyFivePercentMs[i]
             << "), all 100 leaves " << got_all << " ms (Table 1: "
             << TailAtScaleTable1::kAllLeavesMs[i] << ")");
    CHECK(got_one == Approx(TailAtScaleTable1::kOneLeafMs[i]).epsilon(0.05));
    CHECK(got_all == Approx(TailAtScaleTable1::kAllLeavesMs[i]).epsilon(0.05));
    // Row 2 is not reproducible with row 1's single leaf (see leaf_profile.hpp): independent
    // leaves finish 95 % of the work well before the table's 95 % row, and here is the
    // measured proof that the profile does not pretend otherwise.
    CHECK(got_95 < TailAtScaleTable1::kNinetyFivePercentMs[i]);
  }
  // The amplification the story rests on: the slowest of 100 leaves' p99 is 14x one leaf's.
  CHECK(quantile_ms(slowest, 0.99) > 10.0 * quantile_ms(one, 0.99));
}

TEST_CASE("tail-at-scale leaf profile: monotone knots from a floor below 1 ms to a capped tail",
          "[models][services][leaf_profile]") {
  const TailAtScaleProfile profile(100);
  const auto k = profile.knots();
  REQUIRE(k.size() == 8);
  CHECK(k.front().survival == 1.0);
  CHECK(k.front().ms > 0.5);
  CHECK(k.front().ms < 1.0);
  CHECK(k.back().survival == TailAtScaleProfile::kTailCapSurvival);
  CHECK(k.back().ms > 140.0);
  CHECK(k.back().ms < 1000.0);
  Duration prev = Duration::zero();
  for (int i = 0; i <= 1000; ++i) {
    const Duration d = profile.quantile(std::min(0.999999999, i / 1000.0));
    CHECK(d >= prev);
    prev = d;
  }
  CHECK(profile.quantile(0.0) == Duration::from_seconds(k.front().ms * 1e-3));
  CHECK(profile.quantile(1.0 - 1e-9) == Duration::from_seconds(k.back().ms * 1e-3));
  // The same stream gives the same draws.
  Rng a = Rng::derive(7, "leaf");
  Rng b = Rng::derive(7, "leaf");
  for (int i = 0; i < 100; ++i) {
    CHECK(profile.sample(a) == profile.sample(b));
  }
}

TEST_CASE("tail-at-scale leaf profile: a fan-out too small for Table 1 is rejected",
          "[models][services][leaf_profile]") {
  CHECK_THROWS_WITH(TailAtScaleProfile(68), Catch::Contains("[69, 100000]"));
  CHECK_NOTHROW(TailAtScaleProfile(69));
  ServiceTime st;
  st.kind = ServiceTime::Kind::tail_at_scale;
  st.table1_leaves = 10;
  CHECK_THROWS_WITH(st.validate("tiers[0]"),
                    Catch::Contains("tiers[0].service_time.table1_leaves") &&
                        Catch::Contains("(got 10)"));
  st.table1_leaves = 100;
  CHECK_NOTHROW(st.validate("tiers[0]"));
}
