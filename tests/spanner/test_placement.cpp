// Directories and the placement driver (issue #7): splits of a growing directory, merges of
// small neighbours, movedir under concurrent transactions (judged by the strict-
// serializability checker and by reading every acknowledged write back), a deliberately broken
// move that both checks must reject, and the spread of replicas and leaders over zones.
#include "spanner_rig.hpp"

#include <faultline/check/transactions.hpp>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <functional>
#include <map>
#include <optional>
#include <set>

using namespace faultline;
using namespace faultline::literals;
using namespace faultline::sim::spanner;
using namespace faultline::sim::spanner::testing;

namespace {

SpannerParams base_params() {
  SpannerParams p = three_zone_params(60);
  p.placement.interval = 200_ms;
  return p;
}

/// Directories of the location table that lie in [lo, hi).
std::vector<Directory> dirs_in(const Cluster& c, int lo, int hi) {
  std::vector<Directory> out;
  for (const auto& d : c.directories()) {
    if (d.lo >= lo && d.hi <= hi) {
      out.push_back(d);
    }
  }
  return out;
}

/// Writes one fresh value to `key`; the committed value, if any.
Task<std::optional<std::int64_t>> put(Client& client, Cluster& c, std::string key) {
  std::int64_t v = c.next_value();
  // (g++ 12: no braced initializer lists inside a coroutine body.)
  Writes w;
  w.emplace_back(key, v);
  std::vector<std::string> keys;
  keys.push_back(key);
  std::function<Writes(const ReadValues&)> fn = [w](const ReadValues&) { return w; };
  TxnResult r = co_await client.read_write(keys, fn);
  co_return r.committed() ? std::optional<std::int64_t>(v) : std::nullopt;
}

/// Tracks what clients were told: per key the acknowledged writes (by commit timestamp) and
/// the values of writes whose outcome was never learned.
struct Acks {
  std::map<std::string, std::map<Timestamp, std::int64_t>> acked;
  std::map<std::string, std::set<std::int64_t>> unknown;
};

/// Reads every key back (read-only, recorded in the history) and counts keys whose value is
/// not the newest acknowledged write (nor a write of unknown outcome): lost writes.
Task<void> read_back(Client& client, const Acks& acks, int keys, int& lost, int& unread) {
  for (int k = 0; k < keys; ++k) {
    std::string key = Cluster::key_name(k);
    auto it = acks.acked.find(key);
    if (it == acks.acked.end()) {
      continue;
    }
    TxnResult r;
    for (int attempt = 0; attempt < 5 && !r.committed(); ++attempt) {
      r = co_await client.read_only(std::vector<std::string>(1, key));
    }
    if (!r.committed()) {
      ++unread;
      continue;
    }
    auto v = r.reads[key];
    bool ok = v.has_value() && (*v == it->second.rbegin()->second ||
                                (acks.unknown.contains(key) && acks.unknown.at(key).contains(*v)));
    lost += ok ? 0 : 1;
  }
}

struct MoveRun {
  int moves = 0;
  int lost = 0;
  int unread = 0;
  int acked = 0;
  int aborted = 0;
  int txns = 0;
  int ro_aborted = 0;
  int ro_txns = 0;
  check::CheckResult ser;
  check::CheckResult inv;
};

/// Three clients run two-key read-write transactions over all keys (single- and multi-group)
/// while a mover node moves a directory to another group every 250 ms; then every key is read
/// back.
MoveRun run_moves(std::uint64_t seed, bool unsafe, bool ro_reader = false) {
  SpannerParams p = base_params();
  p.placement.directories_per_group = 2;
  p.placement.unsafe_move_without_copy = unsafe;
  Rig rig(seed, p);
  Cluster& c = *rig.cluster;
  Acks acks;
  int txns = 0;
  int aborted = 0;
  bool stop = false;
  int finished = 0;
  for (int z = 0; z < 3; ++z) {
    rig.add_client(z, fmt::format("writer{}", z), [&, z](world::Node& node) -> Task<void> {
      Client client(c, node, 10 + z);
      Rng rng = node.sim().rng(fmt::format("writer/{}", z));
      while (!stop) {
        co_await node.sleep(Duration::millis(2 + static_cast<std::int64_t>(rng.below(8))));
        std::string a = Cluster::key_name(static_cast<int>(rng.below(60)));
        std::string b = Cluster::key_name(static_cast<int>(rng.below(60)));
        std::vector<std::string> keys{a};
        if (b != a) {
          keys.push_back(b);
        }
        std::map<std::string, std::int64_t> vals;
        for (const auto& k : keys) {
          vals[k] = c.next_value();
        }
        Writes w;
        for (const auto& [k, v] : vals) {
          w.emplace_back(k, v);
        }
        // (g++ 12: no temporaries with destructors inside the co_await expression.)
        std::function<Writes(const ReadValues&)> fn = [w](const ReadValues&) { return w; };
        TxnResult r = co_await client.read_write(keys, fn);
        ++txns;
        aborted += r.status == TxnResult::Status::kAborted ? 1 : 0;
        for (const auto& [k, v] : vals) {
          if (r.committed()) {
            acks.acked[k][r.ts] = v;
          } else if (r.status == TxnResult::Status::kUnknown) {
            acks.unknown[k].insert(v);
          }
        }
      }
      ++finished;
    });
  }
  // A reader runs lock-free read-only transactions over the same keys throughout: a read
  // that reaches a group after its directory left is redirected, never failed.
  int ro_aborted = 0;
  int ro_txns = 0;
  rig.add_client(1, "ro-reader", [&](world::Node& node) -> Task<void> {
    Client client(c, node, 40);
    Rng rng = node.sim().rng("ro-reader");
    while (ro_reader && !stop) {
      co_await node.sleep(Duration::millis(3 + static_cast<std::int64_t>(rng.below(5))));
      std::vector<std::string> keys{Cluster::key_name(static_cast<int>(rng.below(60))),
                                    Cluster::key_name(static_cast<int>(rng.below(60)))};
      TxnResult r = co_await client.read_only(keys);
      ++ro_txns;
      ro_aborted += r.committed() ? 0 : 1;
    }
  });
  rig.add_client(0, "mover", [&](world::Node& node) -> Task<void> {
    Rng rng = node.sim().rng("mover");
    co_await node.sleep(1_s);
    for (int i = 0; i < 16; ++i) {
      const auto& dirs = c.directories();
      const Directory d = dirs[rng.below(dirs.size())];
      int dest = (d.group + 1 + static_cast<int>(rng.below(2))) % 3;
      co_await c.move_directory(node, d.id, dest);
      co_await node.sleep(250_ms);
    }
    stop = true;
  });
  rig.run_for(8_s);
  REQUIRE(stop);
  MoveRun out;
  rig.add_client(1, "reader", [&](world::Node& node) -> Task<void> {
    Client client(c, node, 50);
    co_await read_back(client, acks, 60, out.lost, out.unread);
  });
  rig.run_for(5_s);
  out.moves = c.placement_stats().moves;
  out.txns = txns;
  out.aborted = aborted;
  out.ro_txns = ro_txns;
  out.ro_aborted = ro_aborted;
  for (const auto& [k, m] : acks.acked) {
    out.acked += static_cast<int>(m.size());
  }
  out.ser = c.check_serializable();
  out.inv = c.invariants().result();
  return out;
}

}  // namespace

TEST_CASE("spanner placement: a growing directory splits, a half moves, and both halves serve "
          "reads and writes",
          "[spanner][placement]") {
  SpannerParams p = base_params();
  p.placement.split_keys = 6;
  p.placement.rebalance_keys = 4;
  Rig rig(1, p);
  Cluster& c = *rig.cluster;
  c.start_placement_driver();
  REQUIRE(dirs_in(c, 0, 20).size() == 1);
  std::map<std::string, std::int64_t> written;
  bool done = false;
  rig.add_client(0, "grower", [&](world::Node& node) -> Task<void> {
    Client client(c, node, 1);
    // The key range of group 0 fills up one key every 100 ms.
    for (int k = 0; k < 20; ++k) {
      std::string key = Cluster::key_name(k);
      for (int attempt = 0; attempt < 5 && !written.contains(key); ++attempt) {
        if (auto v = co_await put(client, c, key)) {
          written[key] = *v;
        }
      }
      co_await node.sleep(100_ms);
    }
    done = true;
  });
  rig.run_for(6_s);
  REQUIRE(done);
  REQUIRE(written.size() == 20);
  auto dirs = dirs_in(c, 0, 20);
  INFO("directories of k0000..k0019: " << dirs.size() << ", splits " << c.placement_stats().splits
                                       << ", moves " << c.placement_stats().moves);
  // 20 keys with a threshold of 6: at least 3 splits; each directory is within the threshold.
  REQUIRE(c.placement_stats().splits >= 3);
  REQUIRE(dirs.size() >= 4);
  for (const auto& d : dirs) {
    REQUIRE(c.populated_keys(d.group, d.lo, d.hi) <= 6);
  }
  // The driver moved some of group 0's directories to the empty groups.
  REQUIRE(c.placement_stats().moves >= 1);
  REQUIRE(std::any_of(dirs.begin(), dirs.end(), [](const Directory& d) { return d.group != 0; }));
  // Every key reads back its value wherever it now lives, and takes a new write.
  int read_ok = 0;
  int rewritten = 0;
  rig.add_client(1, "checker", [&](world::Node& node) -> Task<void> {
    Client client(c, node, 2);
    for (const auto& [key, v] : written) {
      TxnResult r = co_await client.read_only(std::vector<std::string>(1, key));
      read_ok += r.committed() && r.reads[key] == v ? 1 : 0;
      rewritten += (co_await put(client, c, key)).has_value() ? 1 : 0;
    }
  });
  rig.run_for(5_s);
  REQUIRE(read_ok == 20);
  REQUIRE(rewritten == 20);
  auto ser = c.check_serializable();
  INFO(ser.summary << "\n" << ser.details);
  REQUIRE(ser.ok);
}

TEST_CASE("spanner placement: small adjacent directories of a group merge", "[spanner][placement]") {
  SpannerParams p = base_params();
  p.placement.directories_per_group = 4;  // 12 directories of 5 keys
  p.placement.merge_keys = 3;
  Rig rig(2, p);
  Cluster& c = *rig.cluster;
  REQUIRE(dirs_in(c, 0, 20).size() == 4);
  // Directory k0000..k0004 gets 4 keys (not small); the other three of group 0 stay empty.
  bool done = false;
  rig.add_client(0, "writer", [&](world::Node& node) -> Task<void> {
    Client client(c, node, 1);
    for (int k = 0; k < 4; ++k) {
      co_await put(client, c, Cluster::key_name(k));
    }
    done = true;
  });
  rig.run_for(2_s);
  REQUIRE(done);
  c.start_placement_driver();
  rig.run_for(2_s);
  auto dirs = dirs_in(c, 0, 20);
  REQUIRE(dirs.size() == 2);
  REQUIRE(dirs[0].lo == 0);
  REQUIRE(dirs[0].hi == 5);
  REQUIRE(dirs[1].lo == 5);
  REQUIRE(dirs[1].hi == 20);
  // Merges never cross groups: every group keeps its own directories.
  for (int g = 0; g < 3; ++g) {
    REQUIRE(std::count_if(c.directories().begin(), c.directories().end(),
                          [g](const Directory& d) { return d.group == g; }) >= 1);
  }
  // The merged directory still serves writes and reads.
  std::optional<std::int64_t> v;
  TxnResult r;
  rig.add_client(1, "after", [&](world::Node& node) -> Task<void> {
    Client client(c, node, 2);
    v = co_await put(client, c, Cluster::key_name(12));
    r = co_await client.read_only(std::vector<std::string>(1, Cluster::key_name(12)));
  });
  rig.run_for(1_s);
  REQUIRE(v.has_value());
  REQUIRE(r.committed());
  REQUIRE(r.reads[Cluster::key_name(12)] == v);
}

TEST_CASE("spanner placement: directory moves under concurrent transactions keep the history "
          "strictly serializable and lose no acknowledged write",
          "[spanner][placement]") {
  auto seed = GENERATE(1u, 2u);
  MoveRun run = run_moves(seed, false, /*ro_reader=*/true);
  INFO("moves " << run.moves << ", acked writes " << run.acked << ", lost " << run.lost
                << ", unread " << run.unread << ", aborted " << run.aborted << " of " << run.txns);
  REQUIRE(run.moves >= 12);
  REQUIRE(run.acked > 500);
  REQUIRE(run.lost == 0);
  REQUIRE(run.unread == 0);
  // Clients are redirected: a transaction refused because its directory moved is retried at
  // the new location and does not count as an attempt, so none gives up.
  REQUIRE(run.aborted == 0);
  INFO("read-only: " << run.ro_aborted << " failed of " << run.ro_txns);
  REQUIRE(run.ro_txns > 200);
  REQUIRE(run.ro_aborted == 0);
  INFO(run.ser.summary << "\n" << run.ser.details);
  REQUIRE(run.ser.ok);
  INFO(run.inv.summary);
  REQUIRE(run.inv.ok);
}

TEST_CASE("spanner placement: a move that switches the location before copying the data is "
          "caught",
          "[spanner][placement]") {
  MoveRun run = run_moves(1, true);
  INFO("moves " << run.moves << ", lost " << run.lost);
  REQUIRE(run.moves >= 12);
  // Acknowledged writes vanish, and the checker reports reads that miss them.
  REQUIRE(run.lost > 0);
  REQUIRE_FALSE(run.ser.ok);
}

TEST_CASE("spanner placement: replicas of a group never share a zone, and groups spread evenly",
          "[spanner][placement]") {
  SpannerParams p = base_params();
  p.zones = 5;
  p.servers_per_zone = 2;
  p.groups = 10;
  p.replicas = 3;
  p.keys = 100;
  SECTION("leaders spread") {
    Rig rig(1, p);
    Cluster& c = *rig.cluster;
    std::vector<int> leaders(5, 0);
    std::map<std::uint32_t, int> per_server;
    for (int g = 0; g < 10; ++g) {
      std::set<world::ZoneId> zs;
      for (auto n : c.replicas(g)) {
        zs.insert(c.zone_of(n));
        ++per_server[n.value()];
      }
      REQUIRE(zs.size() == 3);
      for (int z = 0; z < 5; ++z) {
        leaders[static_cast<std::size_t>(z)] += c.zone_of(c.replicas(g).front()) == c.zones()[static_cast<std::size_t>(z)] ? 1 : 0;
      }
    }
    // 30 replicas over 5 zones, 10 servers; 10 preferred leaders over 5 zones.
    REQUIRE(c.replicas_per_zone() == std::vector<int>{6, 6, 6, 6, 6});
    REQUIRE(leaders == std::vector<int>{2, 2, 2, 2, 2});
    REQUIRE(per_server.size() == 10);
    for (const auto& [n, count] : per_server) {
      REQUIRE(count == 3);
    }
  }
  SECTION("leaders pinned to one zone, the other replicas spread over the rest") {
    p.leader_zone = 0;
    Rig rig(1, p);
    REQUIRE(rig.cluster->replicas_per_zone() == std::vector<int>{10, 5, 5, 5, 5});
  }
}

TEST_CASE("spanner placement: the driver moves leaders out of a zone that leads too many groups",
          "[spanner][placement]") {
  SpannerParams p = base_params();
  p.groups = 6;
  p.leader_zone = 0;
  p.placement.balance_leaders = true;
  p.placement.interval = 500_ms;
  Rig rig(3, p);
  Cluster& c = *rig.cluster;
  rig.run_for(3_s);
  REQUIRE(c.leaders_in_zone(0) == 6);  // the driver is not running yet
  c.start_placement_driver();
  rig.run_for(10_s);
  INFO("leaders per zone: " << c.leaders_in_zone(0) << " " << c.leaders_in_zone(1) << " "
                            << c.leaders_in_zone(2));
  REQUIRE(c.leaders_in_zone(0) <= 2);
  REQUIRE(c.leaders_in_zone(0) + c.leaders_in_zone(1) + c.leaders_in_zone(2) == 6);
  REQUIRE(c.invariants().result().ok);
}

namespace {

/// The longest time (sampled every 50 ms) that some group of the placement scenario's
/// cluster (six groups, two of them empty, every leader in zone 0 at first, clients writing
/// across groups) had no leader over 30 s while the driver handed leaders out of zone 0.
Duration longest_leaderless(std::uint64_t seed) {
  SpannerParams p = three_zone_params(60);
  p.groups = 6;
  p.leader_zone = 0;
  p.placement.empty_groups = 2;
  p.placement.split_keys = 6;
  p.placement.rebalance_keys = 3;
  p.placement.balance_leaders = true;
  p.placement.interval = 1_s;
  p.workload.clients_per_zone = 2;
  p.workload.groups_per_txn = 2;
  Rig rig(seed, p);
  Cluster& c = *rig.cluster;
  c.start_workload();
  std::vector<Time> since(static_cast<std::size_t>(p.groups), rig.sim.now());
  Duration worst = Duration::zero();
  for (int step = 0; step < 600; ++step) {
    rig.run_for(50_ms);
    for (int g = 0; g < p.groups; ++g) {
      if (c.leader_of(g)) {
        since[static_cast<std::size_t>(g)] = rig.sim.now();
      } else {
        worst = std::max(worst, rig.sim.now() - since[static_cast<std::size_t>(g)]);
      }
    }
  }
  return worst;
}

}  // namespace

// Spanner section 4.1.1: a leader abdicates by releasing its replicas from their lease votes.
// Its last accepts, sent before it stepped down, are larger than the release and can arrive
// after it; if they renewed the vote, the nominee was refused for a whole 10 s lease
// (spanner-placement-driver seeds 6 and 38 lost ~10 % of their read-write transactions).
TEST_CASE("spanner placement: a leader hand-off under load leaves no group leaderless for long",
          "[spanner][placement]") {
  for (std::uint64_t seed : {1, 2, 3, 4, 5, 6}) {
    Duration worst = longest_leaderless(seed);
    INFO("seed " << seed << ": longest time without a leader " << worst.ns() / 1'000'000 << " ms");
    CHECK(worst < 2_s);
  }
}

TEST_CASE("spanner placement: directory moves under load, more seeds", "[.slow][spanner][placement]") {
  for (std::uint64_t seed = 3; seed <= 12; ++seed) {
    MoveRun run = run_moves(seed, false);
    INFO("seed " << seed << ": moves " << run.moves << ", lost " << run.lost << ", unread "
                 << run.unread << ", aborted " << run.aborted << " of " << run.txns << "; "
                 << run.ser.summary);
    CHECK(run.moves >= 12);
    CHECK(run.lost == 0);
    CHECK(run.unread == 0);
    CHECK(run.aborted * 100 <= run.txns);
    CHECK(run.ser.ok);
    CHECK(run.inv.ok);
    MoveRun broken = run_moves(seed, true);
    CHECK(broken.lost > 0);
    CHECK_FALSE(broken.ser.ok);
  }
}

TEST_CASE("spanner placement: bad placement parameters are rejected with the field named",
          "[spanner][placement]") {
  SpannerParams p = base_params();
  p.placement.split_keys = 6;
  p.placement.merge_keys = 4;
  REQUIRE_THROWS_WITH(p.validate(), Catch::Contains("placement.merge_keys"));
  p = base_params();
  p.placement.empty_groups = 3;
  REQUIRE_THROWS_WITH(p.validate(), Catch::Contains("placement.empty_groups"));
  p = base_params();
  p.placement.directories_per_group = 21;  // 60 keys / 3 groups = 20 keys per group
  REQUIRE_THROWS_WITH(p.validate(), Catch::Contains("placement.directories_per_group"));
  p = base_params();
  p.stall_alpha = 0;
  REQUIRE_THROWS_WITH(p.validate(), Catch::Contains("stall_alpha"));
}
