// One server's item store (memory budget, LRU, TTL) and the Ketama ring.
#include <faultline/sim/evcache/ketama.hpp>
#include <faultline/rng.hpp>
#include <faultline/sim/evcache/lru.hpp>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
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

TEST_CASE("the store agrees with a naive list-and-map LRU on long random histories",
          "[evcache]") {
  // The reference: a vector ordered most recently used first, searched linearly. Every
  // operation's answer and every counter must match, including re-sets, expiries, items
  // too big to store and evictions of several items for one large set.
  struct Ref {
    struct It {
      std::uint64_t key;
      std::int64_t bytes;
      Time exp;
    };
    std::int64_t budget, overhead, used = 0;
    std::uint64_t evictions = 0, expirations = 0;
    std::vector<It> order;  // front: most recently used
    std::ptrdiff_t at(std::uint64_t k) const {
      for (std::size_t i = 0; i < order.size(); ++i) {
        if (order[i].key == k) {
          return static_cast<std::ptrdiff_t>(i);
        }
      }
      return -1;
    }
    void drop(std::ptrdiff_t i) {
      used -= order[static_cast<std::size_t>(i)].bytes;
      order.erase(order.begin() + i);
    }
    bool get(std::uint64_t k, Time now) {
      const auto i = at(k);
      if (i < 0) {
        return false;
      }
      if (order[static_cast<std::size_t>(i)].exp <= now) {
        ++expirations;
        drop(i);
        return false;
      }
      const It it = order[static_cast<std::size_t>(i)];
      order.erase(order.begin() + i);
      order.insert(order.begin(), it);
      return true;
    }
    void set(std::uint64_t k, std::int64_t value, Time exp) {
      const std::int64_t bytes = value + overhead;
      if (const auto i = at(k); i >= 0) {
        drop(i);
      }
      if (bytes > budget) {
        return;
      }
      while (used + bytes > budget && !order.empty()) {
        ++evictions;
        drop(static_cast<std::ptrdiff_t>(order.size()) - 1);
      }
      order.insert(order.begin(), It{k, bytes, exp});
      used += bytes;
    }
  };
  for (const std::uint64_t seed : {1, 2, 3, 4}) {
    Rng rng(seed);
    const std::int64_t budget = 4000 + static_cast<std::int64_t>(rng.below(8000));
    LruStore s(budget, 20);
    Ref ref{budget, 20, 0, 0, 0, {}};
    // Few keys (many re-sets and hits) or many (evictions), small or clustered key values.
    const std::uint64_t keys = seed % 2 == 0 ? 40 : 400;
    const std::uint64_t stride = seed <= 2 ? 1 : (std::uint64_t{1} << 40) + 3;
    std::int64_t now = 0;
    for (int op = 0; op < 30'000; ++op) {
      now += static_cast<std::int64_t>(rng.below(3));
      const std::uint64_t key = rng.below(keys) * stride;
      INFO("seed " << seed << " op " << op << " key " << key);
      if (rng.below(3) == 0) {
        const auto value = static_cast<std::int64_t>(rng.below(10) == 0 ? budget : rng.below(400));
        const Time exp = at(now + 1 + static_cast<std::int64_t>(rng.below(60)));
        s.set(key, value, exp);
        ref.set(key, value, exp);
      } else {
        REQUIRE(s.get(key, at(now)) == ref.get(key, at(now)));
      }
      REQUIRE(s.contains(key) == (ref.at(key) >= 0));
      REQUIRE(s.items() == ref.order.size());
      REQUIRE(s.used_bytes() == ref.used);
      REQUIRE(s.evictions() == ref.evictions);
      REQUIRE(s.expirations() == ref.expirations);
    }
    // At the end every key's presence agrees; then a cleared store is empty and usable.
    for (std::uint64_t k = 0; k < keys; ++k) {
      REQUIRE(s.contains(k * stride) == (ref.at(k * stride) >= 0));
    }
    s.clear();
    CHECK(s.items() == 0);
    CHECK(s.used_bytes() == 0);
    CHECK_FALSE(s.contains(0));
    s.set(5, 10, at(now + 100));
    CHECK(s.get(5, at(now)));
  }
}

TEST_CASE("the Ketama ring's bucketed lookup finds the first point at or after the key's hash",
          "[evcache]") {
  // The reference walks every point of every server, as the ring's definition reads.
  for (const int servers : {1, 3, 64}) {
    for (const int points : {1, 7, 160}) {
      std::vector<std::string> names;
      for (int s = 0; s < servers; ++s) {
        names.push_back(fmt::format("evcache-a-{}", s));
      }
      std::vector<std::pair<std::uint64_t, int>> all;
      for (int s = 0; s < servers; ++s) {
        for (int i = 0; i < points; ++i) {
          const auto& name = names[static_cast<std::size_t>(s)];
          all.emplace_back(hash_bytes(fmt::format("{}-{}", name, i)), s);
        }
      }
      std::vector<std::string_view> views(names.begin(), names.end());
      KetamaRing ring(views, points);
      for (std::uint64_t key = 0; key < 3000; ++key) {
        const std::uint64_t h = hash_key(key);
        std::pair<std::uint64_t, int> best{~std::uint64_t{0}, -1};
        std::pair<std::uint64_t, int> lowest{~std::uint64_t{0}, -1};
        for (const auto& p : all) {
          if (p.first >= h && p < best) {
            best = p;
          }
          lowest = std::min(lowest, p);
        }
        const int want = best.second >= 0 ? best.second : lowest.second;
        INFO(servers << " servers, " << points << " points, key " << key);
        REQUIRE(ring.server_for(key) == want);
      }
    }
  }
}
