// One server's item store (memory budget, LRU, TTL) and the Ketama ring.
#include <faultline/sim/evcache/ketama.hpp>
#include <faultline/sim/evcache/lru.hpp>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::sim::evcache;

namespace {
Time at(std::int64_t s) { return Time::from_ns(Duration::seconds(s).ns()); }
}  // namespace

TEST_CASE("a server evicts the least recently used item when its memory is full", "[evcache]") {
  // Room for exactly three 100-byte items (20 bytes overhead each).
  LruStore s(360, 20);
  const Time never = at(1000);
  s.set(1, 100, never);
  s.set(2, 100, never);
  s.set(3, 100, never);
  REQUIRE(s.items() == 3);
  CHECK(s.get(1, at(0)));  // 1 is now the most recently used; 2 the least
  s.set(4, 100, never);
  CHECK(s.evictions() == 1);
  CHECK_FALSE(s.contains(2));
  CHECK(s.contains(1));
  CHECK(s.contains(3));
  CHECK(s.contains(4));
  CHECK(s.used_bytes() == 360);
  // Replacing an item does not evict anything.
  s.set(4, 100, never);
  CHECK(s.evictions() == 1);
  // An item larger than the whole budget is not stored and evicts nothing.
  s.set(5, 1000, never);
  CHECK_FALSE(s.contains(5));
  CHECK(s.items() == 3);
}

TEST_CASE("an item expires at its TTL and is gone from then on", "[evcache]") {
  LruStore s(1 << 20, 50);
  s.set(7, 1024, at(10));
  CHECK(s.get(7, at(9)));
  CHECK_FALSE(s.get(7, at(10)));
  CHECK(s.expirations() == 1);
  CHECK_FALSE(s.contains(7));
  CHECK(s.used_bytes() == 0);
}

TEST_CASE("the Ketama ring spreads keys and moves only a removed server's keys", "[evcache]") {
  std::vector<std::string> names{"s0", "s1", "s2", "s3"};
  std::vector<std::string_view> four(names.begin(), names.end());
  std::vector<std::string_view> three(names.begin(), names.begin() + 3);
  KetamaRing r4(four, 160);
  KetamaRing r3(three, 160);
  std::map<int, int> per_server;
  int moved_other = 0;
  const int keys = 20000;
  for (std::uint64_t k = 0; k < keys; ++k) {
    const int a = r4.server_for(k);
    ++per_server[a];
    if (a != 3 && r3.server_for(k) != a) {
      ++moved_other;
    }
  }
  CHECK(moved_other == 0);
  for (const auto& [server, n] : per_server) {
    INFO("server " << server << " owns " << n);
    CHECK(n > keys / 4 * 7 / 10);
    CHECK(n < keys / 4 * 13 / 10);
  }
}
