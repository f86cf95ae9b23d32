// Calibration runs for docs/stories/spanner.md: the model's figures beside the paper's Table 3
// (latency of writes, read-only transactions and snapshot reads for 1, 3 and 5 replicas, and
// writes without commit wait) and Table 4 (two-phase commit latency, mean and p99, for 1 to 200
// participants). Hidden from the default run; run with:
//   build/tests/spanner/spanner_tests "[.calibration]" -s
// The assertions hold the figures within the tolerance the doc states.
#include "spanner_rig.hpp"

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <numeric>
#include <cmath>

using namespace faultline;
using namespace faultline::literals;
using namespace faultline::sim::spanner;
using namespace faultline::sim::spanner::testing;

namespace {

struct Stats {
  double mean_ms = 0;
  double sd_ms = 0;
  double p99_ms = 0;
  std::size_t n = 0;
};

Stats stats(std::vector<Duration> v) {
  Stats s;
  s.n = v.size();
  if (v.empty()) {
    return s;
  }
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (auto d : v) {
    sum += d.to_millis();
  }
  s.mean_ms = sum / static_cast<double>(v.size());
  double sq = 0;
  for (auto d : v) {
    sq += (d.to_millis() - s.mean_ms) * (d.to_millis() - s.mean_ms);
  }
  s.sd_ms = std::sqrt(sq / static_cast<double>(v.size()));
  s.p99_ms = v[std::min(v.size() - 1, v.size() * 99 / 100)].to_millis();
  return s;
}

enum class Op { kWrite, kReadOnly, kSnapshot };

/// One client, one operation at a time, on single keys spread over the groups.
Stats table3(int replicas, Op op, bool commit_wait) {
  SpannerParams p;
  p.zones = std::max(replicas, 1);
  p.replicas = replicas;
  p.groups = 50;
  p.keys = 2500;
  p.commit_wait = commit_wait;
  p.workload.clients_per_zone = 0;
  p.leader_zone = 0;
  Rig rig(1, p, Oracle::kTrueTime);
  std::vector<Duration> lat;
  rig.add_client(0, "bench", [&](world::Node& node) -> Task<void> {
    Client client(*rig.cluster, node, -1);
    Cluster* cl = rig.cluster.get();
    co_await node.sleep(12_s);  // past elections and a snapshot staleness of 10 s
    for (int i = 0; i < 400; ++i) {
      std::string k = Cluster::key_name((i * 37) % 2500);
      std::vector<std::string> keys{k};
      Time t0 = node.sim().now();
      TxnResult r;
      if (op == Op::kWrite) {
        std::vector<std::string> none;
        std::function<Writes(const ReadValues&)> put = [k, cl](const ReadValues&) {
          return Writes{{k, cl->next_value()}};
        };
        r = co_await client.read_write(none, put);
      } else if (op == Op::kReadOnly) {
        r = co_await client.read_only(keys);
      } else {
        Timestamp ts = cl->tt_now(node.host().id()).latest.unix_ns() - (10_s).ns();
        r = co_await client.snapshot_read(keys, ts);
      }
      if (r.committed()) {
        lat.push_back(node.sim().now() - t0);
      }
      // Spread the operations over more than one 30 s epsilon sawtooth (the daemons start at
      // random points of it), so the means average over epsilon as the paper's do.
      co_await node.sleep(80_ms);
    }
  });
  rig.run_for(50_s);
  return stats(lat);
}

/// Transactions that write one key in each of `participants` groups (3 zones x 25 servers).
Stats table4(int participants, double stall_probability = 0.01, double stall_alpha = 3.0,
             Duration stall_min = 20_ms, Duration coord_cpu = 300_us,
             Duration coord_cpu_pair = 1500_ns) {
  SpannerParams p;
  p.zones = 3;
  p.servers_per_zone = 25;
  p.replicas = 3;
  p.groups = 200;
  p.keys = 2000;
  p.workload.clients_per_zone = 0;
  // Table 4's deployment is a shared, loaded one (its 1-participant p99 of 75 ms is 4x the
  // mean; Table 3's standard deviation of about 1 ms shows no such tail): stragglers and the
  // coordinator's per-participant work (params.hpp gives the assumptions).
  p.stall_probability = stall_probability;
  p.stall_min = stall_min;
  p.stall_alpha = stall_alpha;
  p.coordinator_cpu_per_participant = coord_cpu;
  p.coordinator_cpu_per_participant_pair = coord_cpu_pair;
  Rig rig(1, p, Oracle::kTrueTime);
  std::vector<Duration> lat;
  rig.add_client(0, "bench", [&](world::Node& node) -> Task<void> {
    Client client(*rig.cluster, node, -1);
    Cluster* cl = rig.cluster.get();
    co_await node.sleep(2_s);
    for (int i = 0; i < 100; ++i) {
      std::vector<std::string> none;
      int base = i * 7;
      std::function<Writes(const ReadValues&)> put = [&, base, cl](const ReadValues&) {
        Writes w;
        for (int g = 0; g < participants; ++g) {
          int group = (base + g) % 200;
          w.emplace_back(Cluster::key_name(group * 10 + i % 10), cl->next_value());
        }
        return w;
      };
      Time t0 = node.sim().now();
      TxnResult r = co_await client.read_write(none, put);
      if (r.committed()) {
        lat.push_back(node.sim().now() - t0);
      }
    }
  });
  rig.run_for(60_s);
  return stats(lat);
}

}  // namespace

TEST_CASE("calibration: Table 3 latencies", "[.calibration][spanner]") {
  std::cout << "replicas | write ms (no commit wait) | write ms | RO txn ms | snapshot ms\n";
  for (int replicas : {1, 3, 5}) {
    Stats nw = table3(replicas, Op::kWrite, false);
    Stats w = table3(replicas, Op::kWrite, true);
    Stats ro = table3(replicas, Op::kReadOnly, true);
    Stats sn = table3(replicas, Op::kSnapshot, true);
    std::cout << fmt::format("{} | {:.1f}±{:.1f} | {:.1f}±{:.1f} | {:.1f}±{:.1f} | {:.1f}±{:.1f}\n",
                             replicas, nw.mean_ms, nw.sd_ms, w.mean_ms, w.sd_ms, ro.mean_ms,
                             ro.sd_ms, sn.mean_ms, sn.sd_ms);
    REQUIRE(w.n > 300);
    // The tolerance docs/stories/spanner.md states: writes within a factor of two of the
    // paper's 13.9-14.4 ms, never faster with commit wait than without; read-only
    // transactions and snapshot reads within a factor of two of 1.2-1.4 ms.
    CHECK(w.mean_ms > 7.0);
    CHECK(w.mean_ms < 28.8);
    CHECK(w.mean_ms >= nw.mean_ms);
    CHECK(ro.mean_ms < 2.8);
    CHECK(sn.mean_ms > 0.6);
    CHECK(sn.mean_ms < 2.8);
  }
}

TEST_CASE("calibration: Table 4 two-phase commit", "[.calibration][spanner]") {
  std::cout << "participants | mean ms | p99 ms\n";
  double previous = 0;
  // The paper's Table 4 (model-facts §2): mean and p99 in ms.
  const std::map<int, std::pair<double, double>> paper{
      {1, {17.0, 75.0}},  {2, {24.5, 87.6}},  {5, {31.5, 104.5}}, {10, {30.0, 95.6}},
      {25, {35.5, 100.4}}, {50, {42.7, 93.7}}, {100, {71.4, 131.2}}, {200, {150.5, 320.3}}};
  for (int n : {1, 2, 5, 10, 25, 50, 100, 200}) {
    Stats s = table4(n);
    std::cout << fmt::format("{} | {:.1f} | {:.1f}  (n={})\n", n, s.mean_ms, s.p99_ms, s.n);
    REQUIRE(s.n > 50);
    // More participants never make two-phase commit faster (the paper's trend).
    CHECK(s.mean_ms >= previous - 0.5);
    previous = s.mean_ms;
    // The tolerance docs/stories/spanner.md states: every mean within 40 % of the paper's,
    // every p99 within a factor of two.
    const auto [mean, p99] = paper.at(n);
    CHECK(s.mean_ms > mean * 0.6);
    CHECK(s.mean_ms < mean * 1.4);
    CHECK(s.p99_ms > p99 / 2);
    CHECK(s.p99_ms < p99 * 2);
  }
  // Without the stragglers and the coordinator's work the model is the idle one: far too fast
  // at 200 participants (the mechanism, not the harness, closes the gap).
  Stats idle = table4(200, 0.0, 3.0, 20_ms, Duration::zero(), Duration::zero());
  std::cout << fmt::format("200, idle servers | {:.1f} | {:.1f}\n", idle.mean_ms, idle.p99_ms);
  CHECK(idle.mean_ms < 150.5 * 0.6);
}
