// Schemaless on simulated clusters, one mechanism per test. Each test also runs the model
// without its mechanism (or states the contrast) so it is shown able to fail: buffered writes
// off loses the acknowledged cell; volatile trigger offsets lose bills; a non-idempotent
// billing function bills twice; minion reads miss the client's own write. Confirmed by
// mutation too: with the replay in CheckBuffered replaced by a failure (buffered copies kept
// but never written to the promoted master), "buffered writes bring back a cell ..." fails
// (three assertions) and so does the binding's small failover scenario.
#include "world_script.hpp"

#include <faultline/check/exactly_once.hpp>
#include <faultline/sim/schemaless/cluster.hpp>
#include <faultline/world/fault.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace faultline;
using namespace faultline::sim::schemaless;
using world::Node;
using world::Payload;

namespace {

using testing::Script;

void add_script(SchemalessCluster& c, Script s) { testing::add_script(c.world(), "dc-1", std::move(s)); }

// Callers pass locals (g++ 12: no temporaries with destructors inside a co_await expression).
Task<PutStatus> put(Node& n, SchemalessCluster& c, const Cell& cell) {
  const Payload req = Payload::make<PutRequest>(PutRequest{cell});
  world::RpcResult r = co_await n.call(c.worker_node(0), req, 256, Duration::seconds(2));
  co_return r.ok() ? r.payload.as<PutResponse>().status : PutStatus::kUnavailable;
}

Task<GetResponse> get(Node& n, SchemalessCluster& c, const GetRequest& g) {
  const Payload req = Payload::make<GetRequest>(g);
  world::RpcResult r = co_await n.call(c.worker_node(0), req, 128, Duration::seconds(2));
  co_return r.ok() ? r.payload.as<GetResponse>() : GetResponse{};
}

/// A row key that lives on `cluster`.
std::string row_on(const SchemalessCluster& c, int cluster, int skip = 0) {
  for (int i = 0;; ++i) {
    std::string row = "trip-t" + std::to_string(i);
    if (c.cluster_of(row) == cluster && skip-- == 0) {
      return row;
    }
  }
}

void crash(SchemalessCluster& c, std::string node, Duration at, Duration for_) {
  c.world().faults().schedule({.at = at,
                               .kind = world::FaultKind::kCrash,
                               .target = {world::TargetKind::kNode, std::move(node)},
                               .peer = {},
                               .duration = for_});
}

}  // namespace

TEST_CASE("schemaless cluster: writes are idempotent by cell address and reads see them",
          "[schemaless][cluster]") {
  Simulation sim;
  SchemalessCluster c(sim, SchemalessParams{}, false);
  std::vector<PutStatus> puts;
  GetResponse latest, at2, row;
  const std::vector<Cell> cells{{{"trip-1", "STATUS", 1}, "one"},
                                {{"trip-1", "STATUS", 1}, "one"},    // a retry
                                {{"trip-1", "STATUS", 1}, "other"},  // cells are immutable
                                {{"trip-1", "STATUS", 3}, "three"},
                                {{"trip-1", "BASE", 1}, "base"},
                                {{"trip-1", "BAD", 1}, "tab\there"}};
  const std::vector<GetRequest> gets{{GetKind::kLatest, "trip-1", "STATUS", 0, {}},
                                     {GetKind::kAt, "trip-1", "STATUS", 2, {}},
                                     {GetKind::kRow, "trip-1", "", 0, {}}};
  add_script(c, [&](Node& n) -> Task<void> {
    co_await n.sleep(Duration::millis(100));
    for (const Cell& cell : cells) {
      puts.push_back(co_await put(n, c, cell));
    }
    latest = co_await get(n, c, gets[0]);
    at2 = co_await get(n, c, gets[1]);
    row = co_await get(n, c, gets[2]);
  });
  sim.run_until(Time::zero() + Duration::seconds(5));
  REQUIRE(puts.size() == 6);
  CHECK(puts[0] == PutStatus::kOk);
  CHECK(puts[1] == PutStatus::kOk);
  CHECK(puts[2] == PutStatus::kConflict);
  CHECK(puts[3] == PutStatus::kOk);
  CHECK(puts[4] == PutStatus::kOk);
  CHECK(puts[5] == PutStatus::kInvalid);
  REQUIRE(latest.cells.size() == 1);
  CHECK(latest.cells[0].body == "three");
  REQUIRE(at2.cells.size() == 1);
  CHECK(at2.cells[0].body == "one");
  CHECK(row.cells.size() == 2);
  const int cl = c.cluster_of("trip-1");
  CHECK(c.table(cl, 0)->size() == 3);  // the repeat wrote nothing
}

TEST_CASE("schemaless cluster: a read of several rows fans out to their clusters and "
          "aggregates; it fails while one of them cannot answer",
          "[schemaless][cluster][fanout]") {
  Simulation sim;
  SchemalessParams p;
  p.storage.failover = false;  // cluster 2 stays without a master while store-2-0 is down
  SchemalessCluster c(sim, p, false);
  std::vector<Cell> cells;
  GetRequest g{GetKind::kRows, "", "", 0, {}};
  for (int cl = 0; cl < 3; ++cl) {
    const std::string row = row_on(c, cl);
    cells.push_back({{row, "BASE", 1}, "b" + std::to_string(cl)});
    cells.push_back({{row, "STATUS", 1}, "s1"});
    cells.push_back({{row, "STATUS", 2}, "s2"});
    g.rows.push_back(row);
  }
  GetResponse all, during;
  add_script(c, [&](Node& n) -> Task<void> {
    co_await n.sleep(Duration::millis(100));
    for (const Cell& cell : cells) {
      co_await put(n, c, cell);
    }
    all = co_await get(n, c, g);
    co_await n.sleep(Duration::seconds(2));
    during = co_await get(n, c, g);  // store-2-0 is down now
  });
  crash(c, "store-2-0", Duration::seconds(1), Duration::seconds(60));
  sim.run_until(Time::zero() + Duration::seconds(10));
  REQUIRE(all.ok);
  REQUIRE(all.cells.size() == 6);  // BASE and the latest STATUS of each of the three rows
  for (std::size_t i = 0; i < 6; i += 2) {
    CHECK(all.cells[i].address.column == "BASE");
    CHECK(all.cells[i + 1].body == "s2");  // the latest STATUS
  }
  CHECK_FALSE(during.ok);
}

TEST_CASE("schemaless cluster: minions receive the master's log asynchronously",
          "[schemaless][cluster][replication]") {
  Simulation sim;
  SchemalessParams p;
  p.storage.replication_interval = Duration::seconds(1);
  SchemalessCluster c(sim, p, false);
  const std::string row = row_on(c, 0);
  const Cell cell{{row, "STATUS", 1}, "s"};
  add_script(c, [&](Node& n) -> Task<void> {
    co_await n.sleep(Duration::millis(1100));
    co_await put(n, c, cell);
  });
  sim.run_until(Time::zero() + Duration::millis(1500));
  // Acknowledged by the master, not yet on a minion: the window buffered writes cover.
  CHECK(c.table(0, 0)->contains({row, "STATUS", 1}));
  CHECK_FALSE(c.table(0, 1)->contains({row, "STATUS", 1}));
  CHECK_FALSE(c.table(0, 2)->contains({row, "STATUS", 1}));
  sim.run_until(Time::zero() + Duration::millis(2200));
  CHECK(c.table(0, 1)->contains({row, "STATUS", 1}));
  CHECK(c.table(0, 2)->contains({row, "STATUS", 1}));
}

TEST_CASE("schemaless cluster: reads from a minion may miss the client's own write, from the "
          "master never",
          "[schemaless][cluster][reads]") {
  for (ReadFrom from : {ReadFrom::kMaster, ReadFrom::kMinion}) {
    Simulation sim;
    SchemalessParams p;
    p.worker.read_from = from;
    p.storage.replication_interval = Duration::seconds(1);
    SchemalessCluster c(sim, p, false);
    GetResponse seen;
    const Cell cell{{"trip-1", "STATUS", 1}, "s"};
    const GetRequest g{GetKind::kLatest, "trip-1", "STATUS", 0, {}};
    add_script(c, [&](Node& n) -> Task<void> {
      co_await n.sleep(Duration::millis(1100));
      co_await put(n, c, cell);
      seen = co_await get(n, c, g);
    });
    sim.run_until(Time::zero() + Duration::seconds(3));
    REQUIRE(seen.ok);
    std::vector<SessionRead> reads{
        {1, "trip-1/STATUS", seen.cells.empty() ? 0 : seen.cells[0].address.ref, 1, sim.now()}};
    CHECK(check_read_your_writes(reads).ok == (from == ReadFrom::kMaster));
  }
}

TEST_CASE("schemaless cluster: a dead master's minion is promoted; the old master comes back "
          "as a minion",
          "[schemaless][cluster][failover]") {
  Simulation sim;
  SchemalessCluster c(sim, SchemalessParams{}, false);
  const std::string row = row_on(c, 1);
  crash(c, "store-1-0", Duration::seconds(2), Duration::seconds(20));
  PutStatus after = PutStatus::kUnavailable;
  const Cell cell{{row, "STATUS", 1}, "after"};
  add_script(c, [&](Node& n) -> Task<void> {
    co_await n.sleep(Duration::seconds(10));
    after = co_await put(n, c, cell);
  });
  sim.run_until(Time::zero() + Duration::seconds(9));
  CHECK(c.master_of(1) != 0);
  CHECK(c.epoch_of(1) == 2);
  CHECK(c.failovers() == 1);
  sim.run_until(Time::zero() + Duration::seconds(30));
  CHECK(after == PutStatus::kOk);
  // The old master rejoined as a minion of the new one and has its writes.
  REQUIRE(c.table(1, 0) != nullptr);
  CHECK(c.table(1, 0)->contains({row, "STATUS", 1}));
}

TEST_CASE("schemaless cluster: buffered writes bring back a cell the dead master acknowledged "
          "and never shipped; without them it is lost",
          "[schemaless][cluster][buffer]") {
  for (bool buffered : {true, false}) {
    Simulation sim;
    SchemalessParams p;
    p.buffer.enabled = buffered;
    p.storage.replication_interval = Duration::seconds(1);
    SchemalessCluster c(sim, p, false);
    const std::string row = row_on(c, 2);
    PutStatus acked = PutStatus::kUnavailable;
    const Cell cell{{row, "BASE", 1}, "fare"};
    add_script(c, [&](Node& n) -> Task<void> {
      co_await n.sleep(Duration::millis(1100));  // just after a shipping round
      acked = co_await put(n, c, cell);
    });
    // The master dies before its next shipping round, and stays down past the promotion.
    crash(c, "store-2-0", Duration::millis(1300), Duration::seconds(30));
    sim.run_until(Time::zero() + Duration::millis(1250));
    REQUIRE(acked == PutStatus::kOk);
    CHECK(c.buffered_cells() == (buffered ? 1U : 0U));
    sim.run_until(Time::zero() + Duration::seconds(60));
    const int m = c.master_of(2);
    REQUIRE(m != 0);
    INFO("buffered writes " << buffered);
    CHECK(c.table(2, m)->contains({row, "BASE", 1}) == buffered);
    // The rejoined old master copied the new master's log: without the buffer the cell is
    // gone everywhere.
    REQUIRE(c.table(2, 0) != nullptr);
    CHECK(c.table(2, 0)->contains({row, "BASE", 1}) == buffered);
    // Once the cell is on a minion the buffered copy is deleted.
    CHECK(c.buffered_cells() == 0);
  }
}

namespace {

struct TripRun {
  std::uint64_t acked_trips = 0, unbilled = 0, double_bills = 0, lost = 0;
  bool exactly_once = false;
  std::string summary;
};

TripRun run_trips(SchemalessParams p, bool crash_triggers, std::uint64_t seed = 1) {
  Simulation sim({.seed = seed});
  p.clients.trips_per_s = 10;
  p.clients.stop_at = Duration::seconds(60);
  p.clients.step_time = Duration::millis(500);
  SchemalessCluster c(sim, p);
  if (crash_triggers) {
    crash(c, "trigger-0", Duration::seconds(20), Duration::seconds(5));
    crash(c, "trigger-1", Duration::seconds(35), Duration::seconds(5));
    crash(c, "trigger-0", Duration::seconds(50), Duration::seconds(2));
  }
  sim.run_until(Time::zero() + Duration::seconds(120));
  TripRun r;
  for (const auto& op : c.base_history().operations()) {
    r.acked_trips += op.ok() ? 1 : 0;
  }
  r.unbilled = c.unbilled_trips();
  r.double_bills = c.double_bills();
  r.lost = c.lost_cells();
  auto check = check::check_exactly_once(c.base_history(), c.bills());
  r.exactly_once = check.ok;
  r.summary = check.summary;
  return r;
}

}  // namespace

TEST_CASE("schemaless triggers: every acknowledged trip is billed exactly once through trigger "
          "worker crashes",
          "[schemaless][triggers]") {
  SchemalessParams p;
  p.billing.failure_ratio = 0.2;  // retried until they succeed
  const TripRun r = run_trips(p, true);
  INFO(r.summary);
  CHECK(r.acked_trips > 400);
  CHECK(r.unbilled == 0);
  CHECK(r.double_bills == 0);
  CHECK(r.exactly_once);
}

TEST_CASE("schemaless triggers: offsets kept only in memory lose the bills of a crashed worker",
          "[schemaless][triggers]") {
  SchemalessParams p;
  p.triggers.durable_offsets = false;
  const TripRun r = run_trips(p, true);
  INFO(r.summary);
  CHECK(r.unbilled > 0);
  CHECK_FALSE(r.exactly_once);
}

TEST_CASE("schemaless triggers: a non-idempotent function bills twice when a batch is retried",
          "[schemaless][triggers]") {
  SchemalessParams p;
  p.billing.idempotent = false;
  p.billing.failure_ratio = 0.3;  // long batches: a crash lands between a bill and the offset
  const TripRun r = run_trips(p, true);
  INFO(r.summary);
  CHECK(r.double_bills > 0);
  CHECK_FALSE(r.exactly_once);
}

TEST_CASE("schemaless triggers: calls run in order per row key, retried until they succeed",
          "[schemaless][triggers]") {
  Simulation sim;
  SchemalessParams p;
  p.billing.failure_ratio = 0.4;
  SchemalessCluster c(sim, p, false);
  std::vector<Cell> cells;
  for (int ref = 1; ref <= 6; ++ref) {
    cells.push_back({{"trip-7", "BASE", ref}, "v" + std::to_string(ref)});
  }
  add_script(c, [&](Node& n) -> Task<void> {
    for (const Cell& cell : cells) {
      co_await put(n, c, cell);
    }
  });
  sim.run_until(Time::zero() + Duration::seconds(60));
  REQUIRE(c.bills().size() == 6);
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(c.bills()[i].what == "billed trip-7/BASE/" + std::to_string(i + 1));
  }
  CHECK(sim.metrics().find_counter("schemaless/triggers/retries")->value() > 0);
}
