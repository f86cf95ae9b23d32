// Spanner model tests: transactions, commit wait, leases, partitions, the checkers wired in,
// and determinism. Each test states a property of the paper's design and fails if the model
// loses it (several are run against deliberately broken configurations to show they can).
#include "spanner_rig.hpp"

#include <faultline/check/transactions.hpp>
#include <faultline/determinism.hpp>
#include <faultline/world/host.hpp>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <functional>
#include <map>
#include <optional>

using namespace faultline;
using namespace faultline::literals;
using namespace faultline::sim::spanner;
using namespace faultline::sim::spanner::testing;

namespace {

SpannerParams small_params() {
  SpannerParams p = three_zone_params(30);
  p.workload.clients_per_zone = 2;
  p.workload.think_time = 10_ms;
  p.workload.groups_per_txn = 2;
  p.workload.keys_per_txn = 2;
  return p;
}

std::int64_t counter(Simulation& sim, const std::string& name) {
  const auto* c = sim.metrics().find_counter(name);
  return c == nullptr ? 0 : c->value();
}

}  // namespace

TEST_CASE("spanner: a healthy cluster commits single- and multi-group transactions, strictly "
          "serializably",
          "[spanner]") {
  auto seed = GENERATE(1u, 2u);
  Rig rig(seed, small_params());
  rig.cluster->start_workload();
  rig.run_for(20_s);
  INFO("rw ok " << counter(rig.sim, "spanner.rw.successes") << " ro ok "
                << counter(rig.sim, "spanner.ro.successes"));
  REQUIRE(counter(rig.sim, "spanner.rw.successes") > 200);
  REQUIRE(counter(rig.sim, "spanner.ro.successes") > 200);
  // Nearly everything commits in a healthy run (wound-wait aborts are retried).
  REQUIRE(counter(rig.sim, "spanner.rw.failures") * 20 < counter(rig.sim, "spanner.rw.requests"));
  auto ser = rig.cluster->check_serializable();
  INFO(ser.summary << "\n" << ser.details);
  REQUIRE(ser.ok);
  auto inv = rig.cluster->invariants().result();
  INFO(inv.summary);
  REQUIRE(inv.ok);
}

TEST_CASE("spanner: commit wait lasts at least 2 epsilon of TrueTime", "[spanner][truetime]") {
  SpannerParams p = small_params();
  p.time_source = TimeSourceKind::kTrueTime;
  p.workload.groups_per_txn = 1;
  Rig rig(3, p, Oracle::kTrueTime);
  rig.cluster->start_workload();
  rig.run_for(40_s);
  const auto& cw = rig.cluster->commit_wait_stats();
  REQUIRE(cw.commits > 100);
  // Waiting out TT.after(s) with s >= TT.now().latest costs eps(at choice) + eps(at end) of
  // local time; true time differs from local time only by the oscillator drift (<= 200 ppm of
  // a few ms: well under 10 us).
  INFO("min margin over 2 eps: " << cw.min_margin.to_string() << ", min wait " << cw.min_wait.to_string());
  REQUIRE(cw.min_margin.ns() > (-10_us).ns());
  // TrueTime's epsilon is at least ~1 ms, so every wait is at least ~2 ms.
  REQUIRE(cw.min_wait.ns() >= (2_ms).ns());
  auto ser = rig.cluster->check_serializable();
  INFO(ser.summary << "\n" << ser.details);
  REQUIRE(ser.ok);
}

TEST_CASE("spanner: a read-only transaction never sees a partial transaction", "[spanner]") {
  // Bank transfers between an account in group 0 and one in group 2 (two-phase commit);
  // read-only transactions read both and must always see the same total. Values carry a
  // unique tag below 1,000,000 so the history checker can tell writes apart.
  auto seed = GENERATE(1u, 2u, 3u);
  SpannerParams p = small_params();
  p.workload.clients_per_zone = 0;
  Rig rig(seed, p);
  const std::string a = Cluster::key_name(0);   // group 0
  const std::string b = Cluster::key_name(25);  // group 2
  REQUIRE(rig.cluster->group_of(a) != rig.cluster->group_of(b));
  constexpr std::int64_t kTag = 1'000'000;
  // Floor division, so a negative balance decodes correctly.
  auto balance = [](const std::optional<std::int64_t>& v) -> std::int64_t {
    if (!v) {
      return 100;
    }
    std::int64_t q = *v / kTag;
    return (*v % kTag != 0 && *v < 0) ? q - 1 : q;
  };
  int transfers = 0;
  int reads = 0;
  int partial = 0;
  for (int c = 0; c < 3; ++c) {
    rig.add_client(c, fmt::format("bank{}", c), [&, c](world::Node& node) -> Task<void> {
      Client client(*rig.cluster, node, 100 + c);
      Rng rng = node.sim().rng(fmt::format("bank/{}", c));
      for (;;) {
        co_await node.sleep(Duration::millis(1 + static_cast<std::int64_t>(rng.below(10))));
        if (rng.below(2) == 0) {
          std::int64_t amount = 1 + static_cast<std::int64_t>(rng.below(20));
          Cluster* cl = rig.cluster.get();
          std::vector<std::string> keys{a, b};
          std::function<Writes(const ReadValues&)> transfer = [&, amount, cl](const ReadValues& v) {
            std::int64_t from = balance(v.at(a));
            std::int64_t to = balance(v.at(b));
            return Writes{{a, (from - amount) * kTag + cl->next_value() % kTag},
                          {b, (to + amount) * kTag + cl->next_value() % kTag}};
          };
          TxnResult r = co_await client.read_write(keys, transfer);
          transfers += r.committed() ? 1 : 0;
        } else {
          std::vector<std::string> keys{a, b};
          TxnResult r = co_await client.read_only(keys);
          if (r.committed()) {
            ++reads;
            if (balance(r.reads.at(a)) + balance(r.reads.at(b)) != 200) {
              ++partial;
            }
          }
        }
      }
    });
  }
  rig.run_for(15_s);
  INFO("transfers " << transfers << ", reads " << reads);
  REQUIRE(transfers > 50);
  REQUIRE(reads > 50);
  REQUIRE(partial == 0);
  auto ser = rig.cluster->check_serializable();
  INFO(ser.summary << "\n" << ser.details);
  REQUIRE(ser.ok);
}

TEST_CASE("spanner: a minority partition cannot commit, and the majority recovers after the "
          "lease",
          "[spanner][paxos]") {
  auto seed = GENERATE(1u, 2u);
  SpannerParams p = small_params();
  p.leader_zone = 0;  // every leader in z1, which is then cut off
  p.workload.clients_per_zone = 0;
  Rig rig(seed, p);
  int committed_minority_after = 0;
  int committed_majority_after = 0;
  const Time cut = Time::zero() + 5_s;
  for (int z : {0, 1}) {
    rig.add_client(z, fmt::format("writer{}", z), [&, z](world::Node& node) -> Task<void> {
      Client client(*rig.cluster, node, 200 + z);
      Rng rng = node.sim().rng(fmt::format("writer/{}", z));
      Cluster* cl = rig.cluster.get();
      for (;;) {
        co_await node.sleep(5_ms);
        std::string k = Cluster::key_name(static_cast<int>(rng.below(30)));
        std::vector<std::string> none;
        std::function<Writes(const ReadValues&)> put = [k, cl](const ReadValues&) {
          return Writes{{k, cl->next_value()}};
        };
        TxnResult r = co_await client.read_write(none, put);
        // Writes whose timestamps were picked before the cut may finish just after it.
        if (r.committed() && node.sim().now() > cut + 100_ms) {
          (z == 0 ? committed_minority_after : committed_majority_after) += 1;
        }
      }
    });
  }
  rig.world->faults().schedule({.at = 5_s,
                                .kind = world::FaultKind::kPartition,
                                .target = {world::TargetKind::kZone, "z1"},
                                .peer = {world::TargetKind::kAll, ""},
                                .duration = 30_s});
  rig.run_for(30_s);
  REQUIRE(committed_minority_after == 0);
  REQUIRE(committed_majority_after > 100);
  REQUIRE(rig.cluster->leaders_in_zone(0) == 0);
  auto ser = rig.cluster->check_serializable();
  INFO(ser.summary << "\n" << ser.details);
  REQUIRE(ser.ok);
  REQUIRE(rig.cluster->invariants().result().ok);
}

TEST_CASE("spanner: a deposed leader stops serving when its lease ends, before a new leader "
          "starts",
          "[spanner][paxos]") {
  SpannerParams p = small_params();
  p.leader_zone = 0;
  p.workload.clients_per_zone = 0;
  Rig rig(4, p);
  // A reader beside the old leaders keeps asking them (single-group read-only transactions
  // are served by the leader at LastTS(), which needs the lease).
  rig.add_client(0, "reader", [&](world::Node& node) -> Task<void> {
    Client client(*rig.cluster, node, -1);
    for (int i = 0;; ++i) {
      co_await node.sleep(5_ms);
      std::vector<std::string> keys{Cluster::key_name(i % 30)};
      co_await client.read_only(keys);
    }
  });
  rig.add_client(1, "writer", [&](world::Node& node) -> Task<void> {
    Client client(*rig.cluster, node, -1);
    Cluster* cl = rig.cluster.get();
    for (int i = 0;; ++i) {
      co_await node.sleep(5_ms);
      std::string k = Cluster::key_name(i % 30);
      std::vector<std::string> none;
      std::function<Writes(const ReadValues&)> put = [k, cl](const ReadValues&) {
        return Writes{{k, cl->next_value()}};
      };
      co_await client.read_write(none, put);
    }
  });
  const Time cut = Time::zero() + 5_s;
  rig.world->faults().schedule({.at = 5_s,
                                .kind = world::FaultKind::kPartition,
                                .target = {world::TargetKind::kZone, "z1"},
                                .peer = {world::TargetKind::kAll, ""},
                                .duration = 40_s});
  rig.run_for(30_s);
  for (int g = 0; g < p.groups; ++g) {
    auto ivs = rig.cluster->invariants().intervals(g);
    REQUIRE(ivs.size() >= 2);
    const auto& old_leader = ivs[ivs.size() - 2];
    const auto& new_leader = ivs.back();
    INFO("group " << g << ": old " << old_leader.first.to_string() << ".."
                  << old_leader.last.to_string() << ", new " << new_leader.first.to_string());
    // The old leader kept serving reads in its minority, but never past its lease.
    REQUIRE((old_leader.last > cut));
    REQUIRE((old_leader.last <= cut + p.lease));
    REQUIRE((new_leader.first > old_leader.last));
  }
  REQUIRE(rig.cluster->invariants().result().ok);
}

TEST_CASE("spanner: the invariant checker rejects overlapping leases and disagreeing slots",
          "[spanner][checker]") {
  PaxosInvariants inv;
  inv.leader_acted(0, 16, Time::zero() + 1_s);
  inv.leader_acted(0, 16, Time::zero() + 3_s);
  inv.leader_acted(0, 33, Time::zero() + 4_s);
  REQUIRE(inv.result().ok);
  inv.leader_acted(0, 33, Time::zero() + 5_s);
  inv.leader_acted(0, 16, Time::zero() + 4500_ms);  // the old leader acts inside the new lease
  REQUIRE_FALSE(inv.result().ok);
  PaxosInvariants agree;
  agree.chosen(1, 7, 111, Time::zero());
  agree.chosen(1, 7, 111, Time::zero() + 1_ms);
  REQUIRE(agree.result().ok);
  agree.chosen(1, 7, 222, Time::zero() + 2_ms);
  REQUIRE_FALSE(agree.result().ok);
}

namespace {

/// One client alternates single-key writes between a group led from a fast clock and a group
/// led from a slow one, then reads both. Returns the checker's verdict.
check::CheckResult skewed_run(bool commit_wait, Duration skew, Duration epsilon) {
  SpannerParams p = small_params();
  p.workload.clients_per_zone = 0;
  p.commit_wait = commit_wait;
  p.host_clock_epsilon = epsilon;
  p.leader_zone = -1;  // group g led from zone g
  world::WorldParams wp;
  wp.host_defaults.clock.ntp_enabled = false;  // the skew stays
  Rig rig(5, p, Oracle::kHostClock, wp);
  rig.add_client(2, "alternator", [&](world::Node& node) -> Task<void> {
    Client client(*rig.cluster, node, 1);
    Cluster* cl = rig.cluster.get();
    co_await node.sleep(2_s);
    for (int i = 0;; ++i) {
      std::string k = Cluster::key_name(i % 2 == 0 ? 0 : 10);  // group 0, then group 1
      std::vector<std::string> none;
      std::function<Writes(const ReadValues&)> put = [k, cl](const ReadValues&) {
        return Writes{{k, cl->next_value()}};
      };
      co_await client.read_write(none, put);
      std::vector<std::string> both{Cluster::key_name(0), Cluster::key_name(10)};
      co_await client.read_only(both);
    }
  });
  // Group 0's leader (zone z1) runs ahead, group 1's (z2) behind.
  world::FaultSpec ahead;
  ahead.at = 1_s;
  ahead.kind = world::FaultKind::kClockJump;
  ahead.target = {world::TargetKind::kHost, "z1-s0"};
  ahead.amount = skew;
  world::FaultSpec behind = ahead;
  behind.target = {world::TargetKind::kHost, "z2-s0"};
  behind.amount = -skew;
  rig.world->faults().schedule(ahead);
  rig.world->faults().schedule(behind);
  rig.run_for(8_s);
  REQUIRE(rig.cluster->history().size() > 60);
  return rig.cluster->check_serializable();
}

}  // namespace

TEST_CASE("spanner: without commit wait, clocks skewed within epsilon break external consistency, "
          "and the checker catches it",
          "[spanner][checker]") {
  // Skew within epsilon (45 ms against an assumed 50 ms): TrueTime's promise holds, so commit
  // wait keeps order...
  auto with_wait = skewed_run(true, 45_ms, 50_ms);
  INFO(with_wait.summary << "\n" << with_wait.details);
  REQUIRE(with_wait.ok);
  // ... and removing commit wait lets a later transaction take a smaller timestamp.
  auto without_wait = skewed_run(false, 45_ms, 50_ms);
  INFO(without_wait.summary);
  REQUIRE_FALSE(without_wait.ok);
}

TEST_CASE("spanner: clocks skewed beyond epsilon break external consistency even with commit "
          "wait",
          "[spanner][checker]") {
  // TrueTime's bound is an assumption: a clock 40 ms off with an assumed epsilon of 2 ms
  // defeats commit wait, and the checker sees it.
  auto r = skewed_run(true, 40_ms, 2_ms);
  INFO(r.summary);
  REQUIRE_FALSE(r.ok);
}

namespace {

void chaos_run(Simulation& sim, bool with_checks) {
  SpannerParams p = small_params();
  p.lease = 3_s;
  p.lease_renew_interval = 500_ms;
  p.workload.clients_per_zone = 1;
  world::World world(sim);
  {
    Cluster cluster(world, p, [&](world::World& w) { return make_host_clock_oracle(w, 4_ms); });
    cluster.start_workload();
    world::RandomFaultSpec crashes;
    crashes.kind = world::FaultKind::kCrash;
    crashes.scope = {world::TargetKind::kAll, ""};
    crashes.pick = world::TargetKind::kHost;
    crashes.mean_interval = 4_s;
    crashes.start = 2_s;
    crashes.end = 40_s;
    crashes.shape.duration = 3_s;
    world.faults().add_random(crashes);
    world::RandomFaultSpec cuts;
    cuts.kind = world::FaultKind::kPartition;
    cuts.scope = {world::TargetKind::kAll, ""};
    cuts.pick = world::TargetKind::kZone;
    cuts.mean_interval = 6_s;
    cuts.start = 2_s;
    cuts.end = 40_s;
    cuts.shape.duration = 4_s;
    cuts.shape.peer = {world::TargetKind::kAll, ""};
    world.faults().add_random(cuts);
    world::RandomFaultSpec jumps;  // clock noise within the assumed epsilon
    jumps.kind = world::FaultKind::kClockJump;
    jumps.scope = {world::TargetKind::kAll, ""};
    jumps.pick = world::TargetKind::kHost;
    jumps.mean_interval = 5_s;
    jumps.start = 2_s;
    jumps.end = 40_s;
    jumps.shape.amount = 1_ms;
    world.faults().add_random(jumps);
    sim.run_until(Time::zero() + 50_s);
    if (with_checks) {
      auto inv = cluster.invariants().result();
      INFO(inv.summary << "\n" << inv.details);
      REQUIRE(inv.ok);
      auto ser = cluster.check_serializable();
      INFO(ser.summary << "\n" << ser.details);
      REQUIRE(ser.ok);
      REQUIRE(sim.metrics().find_counter("spanner.rw.successes")->value() > 100);
    }
  }
}

}  // namespace

TEST_CASE("spanner: Paxos invariants and serializability hold under random crashes, partitions "
          "and clock jumps",
          "[spanner][paxos]") {
  auto seed = GENERATE(1u, 2u, 3u);
  Simulation sim({.seed = seed});
  chaos_run(sim, true);
}

TEST_CASE("spanner: seed sweep under random faults", "[spanner][paxos][.slow]") {
  auto seed = GENERATE(range(10u, 40u));
  Simulation sim({.seed = seed});
  chaos_run(sim, true);
}

TEST_CASE("spanner: the same seed gives the same trace hash", "[spanner][determinism]") {
  auto report = check_determinism({.seed = 9}, [](Simulation& sim) { chaos_run(sim, false); });
  INFO(report.describe());
  REQUIRE(report.deterministic);
  auto other = check_determinism({.seed = 10}, [](Simulation& sim) { chaos_run(sim, false); });
  REQUIRE(other.hash_first != report.hash_first);
}

TEST_CASE("spanner: committed writes survive a power loss of every replica (the Paxos log is "
          "fsynced before any acknowledgement)",
          "[spanner][paxos]") {
  auto seed = GENERATE(1u, 2u);
  SpannerParams p = small_params();
  p.workload.clients_per_zone = 0;
  Rig rig(seed, p);
  std::map<std::string, std::int64_t> acknowledged;
  rig.add_client(0, "writer", [&](world::Node& node) -> Task<void> {
    Client client(*rig.cluster, node, 1);
    Cluster* cl = rig.cluster.get();
    for (int i = 0;; ++i) {
      co_await node.sleep(3_ms);
      std::string k = Cluster::key_name(i % 30);
      std::int64_t v = cl->next_value();
      std::vector<std::string> none;
      std::function<Writes(const ReadValues&)> put = [k, v](const ReadValues&) {
        return Writes{{k, v}};
      };
      TxnResult r = co_await client.read_write(none, put);
      if (r.committed()) {
        acknowledged[k] = v;
      }
      if (node.sim().now() > Time::zero() + 5_s) {
        co_return;  // stop writing just before the power loss
      }
    }
  });
  std::map<std::string, std::optional<std::int64_t>> seen;
  rig.add_client(1, "reader", [&](world::Node& node) -> Task<void> {
    Client client(*rig.cluster, node, 2);
    co_await node.sleep(25_s);  // after the restart and a full lease of refusing to vote
    for (int i = 0; i < 30; ++i) {
      std::string k = Cluster::key_name(i);
      std::vector<std::string> keys{k};
      TxnResult r = co_await client.read_only(keys);
      if (r.committed()) {
        seen[k] = r.reads[k];
      }
    }
  });
  for (const char* host : {"z1-s0", "z2-s0", "z3-s0"}) {
    world::FaultSpec f;
    f.at = 5_s + 1_ms;
    f.kind = world::FaultKind::kCrash;
    f.target = {world::TargetKind::kHost, host};
    f.duration = 2_s;
    rig.world->faults().schedule(f);
  }
  rig.run_for(40_s);
  REQUIRE(acknowledged.size() == 30);
  REQUIRE(seen.size() == 30);
  for (const auto& [k, v] : acknowledged) {
    INFO(k);
    REQUIRE(seen.at(k) == std::optional<std::int64_t>(v));
  }
  auto ser = rig.cluster->check_serializable();
  INFO(ser.summary << "\n" << ser.details);
  REQUIRE(ser.ok);
  REQUIRE(rig.cluster->invariants().result().ok);
}

namespace {

/// Figure 5's cluster (five zones, ten groups of five replicas, every leader in zone 0, open-
/// loop clients in the other zones) with zone 0 crashed at 5 s: how long after the kill the
/// last group got a leader again, sampled every 50 ms over 25 s.
Duration slowest_reelection(std::uint64_t seed) {
  SpannerParams p = three_zone_params(100);
  p.zones = 5;
  p.groups = 10;
  p.replicas = 5;
  p.leader_zone = 0;
  p.workload.clients_per_zone = 3;
  p.workload.client_zones = {1, 2, 3, 4};
  p.workload.open_loop = true;
  p.workload.think_time = 10_ms;
  p.workload.read_only_parts = 19;
  p.workload.keys_per_txn = 1;
  Rig rig(seed, p);
  rig.cluster->start_workload();
  world::FaultSpec zone_kill;
  zone_kill.at = 5_s;
  zone_kill.kind = world::FaultKind::kCrash;
  zone_kill.target = {world::TargetKind::kZone, "z1"};
  rig.world->faults().schedule(zone_kill);
  rig.run_for(5_s);
  const Time kill = rig.sim.now();
  for (int step = 0; step < 500; ++step) {
    rig.run_for(50_ms);
    bool all = true;
    for (int g = 0; g < p.groups; ++g) {
      all = all && rig.cluster->leader_of(g).has_value();
    }
    if (all && rig.sim.now() - kill > p.lease) {
      return rig.sim.now() - kill;
    }
  }
  return rig.sim.now() - kill;
}

}  // namespace

// After a hard kill every group elects once the dead leaders' leases lapse. Two candidates
// can then run phase 1 at once: the loser's higher ballot makes the winner step down at its
// first accept, while the lease votes granted to the winner still keep every other candidate
// out. A leader that steps down this way releases its votes (release_votes); without that,
// a group stayed leaderless for another whole lease (spanner-leader-hard-kill seed 4: reads
// back after 21 s instead of 11 s).
TEST_CASE("spanner: after a hard kill every group has a leader again within a lease and a few "
          "seconds",
          "[spanner][paxos]") {
  for (std::uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8}) {
    Duration took = slowest_reelection(seed);
    INFO("seed " << seed << ": last group led again " << took.ns() / 1'000'000 << " ms after the kill");
    CHECK(took < 13_s);
  }
}
