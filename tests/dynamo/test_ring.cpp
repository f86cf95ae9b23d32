#include <catch2/catch.hpp>

#include <faultline/sim/dynamo/arc_keys.hpp>
#include <faultline/sim/dynamo/ring.hpp>
#include <faultline/rng.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::sim::dynamo;

TEST_CASE("dynamo ring: preference lists hold N distinct physical nodes", "[dynamo][ring]") {
  const auto placement = GENERATE(Placement::kRandomTokens, Placement::kEqualPartitions);
  const int tokens = GENERATE(1, 8, 150);
  Rng rng(7);
  Ring ring(10, RingParams{.placement = placement, .tokens_per_node = tokens}, rng);
  REQUIRE(ring.tokens().size() == static_cast<std::size_t>(10 * tokens));
  for (int k = 0; k < 500; ++k) {
    const auto pos = key_position("key-" + std::to_string(k));
    auto pref = ring.preference_list(pos, 3);
    REQUIRE(pref.size() == 3);
    REQUIRE(std::set<std::uint32_t>(pref.begin(), pref.end()).size() == 3);
    // The walk is every node once, and starts with the preference list.
    auto walk = ring.walk(pos);
    REQUIRE(walk.size() == 10);
    REQUIRE(std::set<std::uint32_t>(walk.begin(), walk.end()).size() == 10);
    REQUIRE(std::equal(pref.begin(), pref.end(), walk.begin()));
    // The first node owns the token whose arc holds the key.
    REQUIRE(pref.front() == ring.tokens()[ring.arc_of(pos)].node);
  }
}

TEST_CASE("dynamo ring: vnodes of a node already chosen are skipped", "[dynamo][ring]") {
  // With 2 nodes and many random tokens, consecutive tokens of one node are common: the
  // preference list must still name both nodes, never one twice.
  Rng rng(3);
  Ring ring(2, RingParams{.placement = Placement::kRandomTokens, .tokens_per_node = 50}, rng);
  bool saw_adjacent_same = false;
  for (std::size_t i = 0; i + 1 < ring.tokens().size(); ++i) {
    saw_adjacent_same = saw_adjacent_same || ring.tokens()[i].node == ring.tokens()[i + 1].node;
  }
  REQUIRE(saw_adjacent_same);
  for (std::size_t a = 0; a < ring.tokens().size(); ++a) {
    auto pref = ring.preference_list_of_arc(a, 2);
    REQUIRE(pref.size() == 2);
    REQUIRE(pref[0] != pref[1]);
  }
}

TEST_CASE("dynamo ring: strategy 3 gives every node Q/S equal partitions", "[dynamo][ring]") {
  Rng rng(11);
  Ring ring(30, RingParams{.placement = Placement::kEqualPartitions, .partitions = 30 * 150},
            rng);
  auto share = ring.ownership();
  for (double s : share) {
    REQUIRE(s == Approx(1.0 / 30).epsilon(1e-6));
  }
}

TEST_CASE("dynamo ring: random tokens balance ownership better with more vnodes",
          "[dynamo][ring]") {
  auto spread = [](int tokens) {
    Rng rng(5);
    Ring ring(30, RingParams{.placement = Placement::kRandomTokens, .tokens_per_node = tokens},
              rng);
    auto share = ring.ownership();
    return *std::max_element(share.begin(), share.end()) * 30.0;  // max over mean
  };
  const double one = spread(1);
  const double many = spread(150);
  REQUIRE(one > 2.0);    // one random token per node: some node owns over twice its share
  REQUIRE(many < 1.3);   // 150 tokens: within the paper's imbalance band
}

TEST_CASE("dynamo ring: bad params are refused", "[dynamo][ring]") {
  Rng rng(1);
  REQUIRE_THROWS_AS(Ring(0, RingParams{}, rng), std::invalid_argument);
  REQUIRE_THROWS_AS(Ring(5, RingParams{.partitions = 3}, rng), std::invalid_argument);
}

TEST_CASE("dynamo arc keys: sorted() is the set of every key added, against std::set",
          "[dynamo][ring]") {
  // Random histories with many repeats (a key is added again when it moves from a node's
  // write buffer to its disk), with the trees' reads at random points between the adds.
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    Rng rng(seed);
    ArcKeys keys;
    std::set<std::string> naive;
    const std::uint64_t universe = 1 + rng.below(200);
    for (int step = 0; step < 400; ++step) {
      if (rng.below(10) == 0) {
        const auto& got = keys.sorted();
        REQUIRE(std::vector<std::string>(naive.begin(), naive.end()) == got);
        continue;
      }
      const std::string key = "cart-" + std::to_string(rng.below(universe));
      keys.add(key);
      naive.insert(key);
    }
    const auto& got = keys.sorted();
    REQUIRE(std::vector<std::string>(naive.begin(), naive.end()) == got);
  }
}
