// The payment path on simulated nodes: the API's idempotency rules as a customer sees them,
// standby promotion, the completer, relay restarts, and exactly-once under faults (with the
// broken variants the checkers must catch).
#include "world_script.hpp"

#include <faultline/check/exactly_once.hpp>
#include <faultline/sim/stripe/cluster.hpp>
#include <faultline/world/fault.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace faultline;
using namespace faultline::sim::stripe;
using world::Node;
using world::Payload;

namespace {

/// A cluster whose own customers stay idle, so a test's scripted client is alone.
StripeParams quiet() {
  StripeParams p;
  p.clients.customers = 1;
  p.clients.think_time = Duration::hours(1000);
  return p;
}

using testing::Script;

void add_script(StripeCluster& c, Script s) { testing::add_script(c.world(), "us-east-1a", std::move(s)); }

ChargeRequest charge(std::string key, std::int64_t amount = 2000) {
  ChargeRequest r;
  r.user = "cus_t";
  r.idempotency_key = std::move(key);
  r.amount = amount;
  r.intent = "pi_t";
  return r;
}

/// Sends one request to api-`server` and returns the response (status 0 if no answer).
Task<ChargeResponse> send(Node& n, StripeCluster& c, ChargeRequest r, int server = 0) {
  Payload req = Payload::make<ChargeRequest>(std::move(r));
  world::RpcResult res = co_await n.call(c.api_node(server), req, 512, Duration::seconds(5));
  const auto* resp = res.ok() ? res.payload.get<ChargeResponse>() : nullptr;
  co_return resp != nullptr ? *resp : ChargeResponse{};
}

/// A coroutine with parameters, not a capturing lambda: the lambda object would be gone before
/// its coroutine resumes.
Task<void> send_later(Node& n, StripeCluster& c, ChargeRequest r, int server, Duration after,
                      ChargeResponse& out) {
  co_await n.sleep(after);
  out = co_await send(n, c, std::move(r), server);
}

world::FaultSpec crash(std::string node, Duration at, Duration down) {
  world::FaultSpec f;
  f.at = at;
  f.kind = world::FaultKind::kCrash;
  f.target = {world::TargetKind::kNode, std::move(node)};
  f.duration = down;
  return f;
}

}  // namespace

TEST_CASE("stripe api: a replay returns the first response with Idempotent-Replayed, a "
          "concurrent request gets 409, other parameters 400, a key over 255 characters 400",
          "[stripe][api]") {
  Simulation sim({.seed = 3});
  StripeCluster c(sim, quiet());
  ChargeResponse first, concurrent, replay, mismatch, too_long;
  add_script(c, [&](Node& n) -> Task<void> {
    co_await n.sleep(Duration::seconds(1));
    // Two tabs: the second starts while the first waits for the processor.
    n.spawn(send_later(n, c, charge("k1"), 1, Duration::millis(50), concurrent));
    first = co_await send(n, c, charge("k1"));
    replay = co_await send(n, c, charge("k1"), 2);
    mismatch = co_await send(n, c, charge("k1", 2001));
    too_long = co_await send(n, c, charge(std::string(256, 'x')));
  });
  sim.run_until(Time::zero() + Duration::seconds(30));
  CHECK(first.status == 200);
  CHECK_FALSE(first.replayed);
  CHECK(concurrent.status == 409);
  CHECK(concurrent.error_code == "idempotency_key_in_use");
  CHECK(replay.status == 200);
  CHECK(replay.replayed);
  CHECK(replay.charge_id == first.charge_id);
  CHECK(mismatch.status == 400);
  CHECK(mismatch.error_code == "idempotency_error");
  CHECK(too_long.status == 400);
  CHECK(c.processor_charges().size() == 1);
}

TEST_CASE("stripe api: the rate limiter answers 429 before the idempotency layer, so the key "
          "is still free afterwards",
          "[stripe][api]") {
  Simulation sim({.seed = 4});
  StripeParams p = quiet();
  p.api.rate_limit_per_s = 1;
  p.api.rate_limit_burst = 1;
  StripeCluster c(sim, p);
  ChargeResponse a, limited, later;
  add_script(c, [&](Node& n) -> Task<void> {
    a = co_await send(n, c, charge("other"));
    limited = co_await send(n, c, charge("k2"));
    co_await n.sleep(Duration::seconds(5));
    later = co_await send(n, c, charge("k2"));
  });
  sim.run_until(Time::zero() + Duration::seconds(30));
  CHECK(a.status == 200);
  CHECK(limited.status == 429);
  CHECK(later.status == 200);
  CHECK_FALSE(later.replayed);  // the 429 stored nothing under k2
}

TEST_CASE("stripe: an API server crash between the processor call and the commit is finished "
          "by the completer, with one charge",
          "[stripe][completer]") {
  for (bool completer : {true, false}) {
    Simulation sim({.seed = 5});
    StripeParams p = quiet();
    p.completer.enabled = completer;
    StripeCluster c(sim, p);
    add_script(c, [&](Node& n) -> Task<void> { co_await send(n, c, charge("k3")); });
    // The request reaches api-0 at ~0.4 ms and waits ~250 ms for the processor.
    c.world().faults().schedule(crash("api-0", Duration::millis(100), Duration::seconds(1)));
    sim.run_until(Time::zero() + Duration::minutes(5));
    INFO("completer " << completer);
    CHECK(c.processor_charges().size() == 1);
    CHECK(c.unrecorded_charges() == (completer ? 0u : 1u));
    const auto* key = c.ledger_state(c.leader())->find_key("cus_t", "k3");
    REQUIRE(key != nullptr);
    CHECK(key->recovery_point == (completer ? RecoveryPoint::kFinished : RecoveryPoint::kStarted));
  }
}

TEST_CASE("stripe ledger: the monitor promotes a standby when the leader dies; the old leader "
          "returns as a standby with the new leader's WAL",
          "[stripe][failover]") {
  Simulation sim({.seed = 6});
  StripeParams p;
  p.clients.customers = 20;
  p.clients.stop_at = Duration::seconds(100);
  p.completer.enabled = false;
  StripeCluster c(sim, p);
  c.world().faults().schedule(crash("ledger-0", Duration::seconds(30), Duration::seconds(20)));
  sim.run_until(Time::zero() + Duration::seconds(40));
  const int promoted = c.leader();
  CHECK((promoted == 1 || promoted == 2));
  sim.run_until(Time::zero() + Duration::seconds(150));
  CHECK(c.leader() == promoted);
  REQUIRE(c.ledger_state(0) != nullptr);
  CHECK(c.ledger_state(0)->lsn() == c.ledger_state(promoted)->lsn());
  CHECK(c.ledger_state(0)->charges() == c.ledger_state(promoted)->charges());
  CHECK(c.lost_acknowledged_charges() == 0);
  auto books = c.ledger_charges();
  CHECK(check::check_exactly_once(c.history(), books).ok);
}

namespace {

/// Pauses ledger node `paused` 200 times for 50 ms under load and counts the pauses during
/// which it made progress anyway: `commits` answered (the leader) or WAL records applied (a
/// standby's lsn). Also returns the progress made between the pauses, so the test knows the
/// load was there.
struct PauseProgress {
  int moved_while_paused = 0;
  std::uint64_t commits = 0;
  std::uint64_t standby_lsn = 0;
};

PauseProgress pause_ledger_repeatedly(bool synchronous, int paused) {
  Simulation sim({.seed = 8});
  StripeParams p;
  p.clients.customers = 40;
  p.ledger.synchronous = synchronous;
  p.ledger.failover = false;  // the pauses are short; no promotion should muddle the count
  StripeCluster c(sim, p);
  Node& node = c.world().node(c.ledger_node(paused));
  const Counter& commits = sim.metrics().counter("stripe/ledger/commits");
  PauseProgress out;
  Time t = Time::zero() + Duration::seconds(10);
  for (int i = 0; i < 200; ++i) {
    sim.run_until(t);
    node.pause();
    const std::uint64_t commits_before = commits.value();
    const std::uint64_t lsn_before = c.ledger_state(paused)->lsn();
    sim.run_until(t + Duration::millis(50));
    const bool moved = paused == 0 ? commits.value() != commits_before
                                   : c.ledger_state(paused)->lsn() != lsn_before;
    out.moved_while_paused += moved ? 1 : 0;
    node.resume();
    t += Duration::millis(150);
  }
  out.commits = commits.value();
  out.standby_lsn = c.ledger_state(1)->lsn();
  return out;
}

}  // namespace

// A paused process runs nothing: the leader's group commit must not finish an fsync and
// answer while SIGSTOPped, nor a standby apply a shipped batch. Before the ledger's disk I/O
// and internal wake-ups passed the node's pause gate, the leader answered commits during 10
// of the 200 pauses here and the standby applied WAL during 8 (confirmed by building the test
// against the previous sim/stripe: both `moved_while_paused == 0` CHECKs failed).
TEST_CASE("stripe ledger: a paused ledger node makes no progress until it resumes",
          "[stripe][pause]") {
  SECTION("the leader answers no commit while paused (asynchronous: nothing else holds it)") {
    auto r = pause_ledger_repeatedly(false, 0);
    CHECK(r.moved_while_paused == 0);
    CHECK(r.commits > 1000);
  }
  SECTION("a synchronous standby applies no WAL while paused") {
    auto r = pause_ledger_repeatedly(true, 1);
    CHECK(r.moved_while_paused == 0);
    CHECK(r.standby_lsn > 1000);
  }
}

namespace {

struct Retrieved {
  ChargeResponse paid;
  RetrieveResponse got;
  Duration took{};
};

Task<void> thaw_later(Node& n, Node& frozen, Duration after) {
  co_await n.sleep(after);
  frozen.resume();
}

/// Pays through api-0, waits `settle`, then freezes ledger-0 (the node api-0's first read goes
/// to) for 500 ms and retrieves the charge through api-0.
Retrieved retrieve_around_freeze(bool hedge, bool synchronous, Duration settle) {
  Simulation sim({.seed = 9});
  StripeParams p = quiet();
  p.ledger.failover = false;
  p.ledger.synchronous = synchronous;
  p.api.read_hedge.enabled = hedge;  // after 10 ms, one copy to the next ledger node
  StripeCluster c(sim, p);
  Retrieved out;
  add_script(c, [&](Node& n) -> Task<void> {
    co_await n.sleep(Duration::seconds(1));
    out.paid = co_await send(n, c, charge("k-read"));
    if (settle > Duration::zero()) {
      co_await n.sleep(settle);
    }
    Node& frozen = c.world().node(c.ledger_node(0));
    frozen.pause();
    n.spawn(thaw_later(n, frozen, Duration::millis(500)));
    const Time began = n.sim().now();
    Payload req = Payload::make<RetrieveRequest>(RetrieveRequest{"pi_t"});
    world::RpcResult r = co_await n.call(c.api_node(0), req, 512, Duration::seconds(5));
    out.took = n.sim().now() - began;
    if (const auto* g = r.ok() ? r.payload.get<RetrieveResponse>() : nullptr) {
      out.got = *g;
    }
  });
  sim.run_until(Time::zero() + Duration::seconds(10));
  return out;
}

}  // namespace

// Removing the hedge (read_hedge.enabled = false) is the first SECTION: the same read then
// waits for the frozen node, so the hedged SECTION's `took < 100ms` is what hedging buys.
TEST_CASE("stripe api: a hedged read goes around a frozen ledger node; an unhedged one waits "
          "for it; a hedge to an asynchronous standby can answer stale",
          "[stripe][hedge]") {
  SECTION("unhedged: the read waits until the node thaws") {
    auto r = retrieve_around_freeze(false, true, Duration::seconds(1));
    REQUIRE(r.paid.status == 200);
    CHECK(r.got.status == 200);
    CHECK(r.got.charge_id == r.paid.charge_id);
    CHECK(r.took >= Duration::millis(400));
  }
  SECTION("hedged after 10 ms: the next ledger node answers") {
    auto r = retrieve_around_freeze(true, true, Duration::seconds(1));
    REQUIRE(r.paid.status == 200);
    CHECK(r.got.status == 200);
    CHECK(r.got.charge_id == r.paid.charge_id);
    CHECK(r.took < Duration::millis(100));
  }
  SECTION("hedged to an asynchronous standby right after the payment: fast and stale") {
    auto r = retrieve_around_freeze(true, false, Duration::zero());
    REQUIRE(r.paid.status == 200);
    CHECK(r.got.status == 404);
    CHECK(r.took < Duration::millis(100));
  }
}

Task<void> pause_for(Node& n, Node& target, Duration after, Duration length) {
  co_await n.sleep(after);
  target.pause();
  co_await n.sleep(length);
  target.resume();
}

std::uint64_t hedges_sent(Simulation& sim) {
  const auto* c = sim.metrics().find_counter("stripe/reads/hedges_sent");
  return c != nullptr ? c->value() : 0;
}

// The hedge timer is the API server's own (Node::after): arming it on the simulation's queue
// instead (HedgedRequest without hooks.arm) makes the paused server send its hedge at 10 ms,
// and `during_pause` is 1.
TEST_CASE("stripe api: a paused API server sends no hedge until it resumes", "[stripe][hedge]") {
  Simulation sim({.seed = 9});
  StripeParams p = quiet();
  p.ledger.failover = false;
  p.api.read_hedge.enabled = true;  // after 10 ms, one copy to the next ledger node
  StripeCluster c(sim, p);
  ChargeResponse paid;
  RetrieveResponse got;
  Duration took{};
  std::uint64_t during_pause = 99;
  add_script(c, [&](Node& n) -> Task<void> {
    co_await n.sleep(Duration::seconds(1));
    paid = co_await send(n, c, charge("k-pause"));
    co_await n.sleep(Duration::seconds(1));
    Node& frozen = c.world().node(c.ledger_node(0));
    frozen.pause();  // the primary copy hangs, so only a hedge can answer before 500 ms
    n.spawn(thaw_later(n, frozen, Duration::millis(500)));
    // The API server stops 2 ms into the read, before its hedge is due, for 200 ms.
    n.spawn(pause_for(n, c.world().node(c.api_node(0)), Duration::millis(2), Duration::millis(200)));
    n.spawn([](Node& m, Simulation& s, std::uint64_t& out) -> Task<void> {
      co_await m.sleep(Duration::millis(100));
      out = hedges_sent(s);
    }(n, sim, during_pause));
    const Time began = n.sim().now();
    Payload req = Payload::make<RetrieveRequest>(RetrieveRequest{"pi_t"});
    world::RpcResult r = co_await n.call(c.api_node(0), req, 512, Duration::seconds(5));
    took = n.sim().now() - began;
    if (const auto* g = r.ok() ? r.payload.get<RetrieveResponse>() : nullptr) {
      got = *g;
    }
  });
  sim.run_until(Time::zero() + Duration::seconds(10));
  REQUIRE(paid.status == 200);
  CHECK(during_pause == 0);
  CHECK(hedges_sent(sim) == 1);
  CHECK(got.status == 200);
  // Answered by the hedge soon after the resume at 202 ms, not by the primary at 500 ms.
  CHECK(took >= Duration::millis(202));
  CHECK(took < Duration::millis(300));
}

TEST_CASE("stripe outbox: relay restarts re-send, consumers deduplicate, nothing is lost",
          "[stripe][outbox]") {
  Simulation sim({.seed = 7});
  StripeParams p;
  p.events = EventMode::kOutbox;
  p.clients.customers = 10;
  p.clients.stop_at = Duration::seconds(100);
  StripeCluster c(sim, p);
  for (int i = 1; i <= 5; ++i) {
    c.world().faults().schedule(crash("relay", Duration::seconds(15 * i), Duration::seconds(1)));
  }
  c.world().faults().schedule({.at = Duration::zero(), .kind = world::FaultKind::kPacketLoss,
                               .target = {world::TargetKind::kGroup, "log"},
                               .peer = {world::TargetKind::kGroup, "relay"},
                               .one_way = true, .ratio = {1, 20}});
  sim.run_until(Time::zero() + Duration::seconds(150));
  CHECK(c.events_committed().size() > 100);
  CHECK(c.events_missing() == 0);
  CHECK(c.events_applied_twice() == 0);
  CHECK(check::check_outbox(c.events_committed(), c.events_applied()).ok);
  CHECK(sim.metrics().counter("stripe/events/duplicates_skipped").value() > 0);
}

namespace {

/// The stripe-double-charge story, shortened: reply loss from the processor, API crashes,
/// double clicks.
StripeParams faulty(bool keys, bool processor_keys) {
  StripeParams p;
  p.clients.customers = 20;
  p.clients.stop_at = Duration::seconds(120);
  p.clients.send_keys = keys;
  p.api.processor_keys = processor_keys;
  p.api.processor_timeout = Duration::seconds(1);
  p.processor.decline_ratio = 0.02;
  return p;
}

check::CheckResult run_faulty(std::uint64_t seed, bool keys, bool processor_keys) {
  Simulation sim({.seed = seed});
  StripeCluster c(sim, faulty(keys, processor_keys));
  auto& f = c.world().faults();
  f.schedule({.at = Duration::zero(), .kind = world::FaultKind::kPacketLoss,
              .target = {world::TargetKind::kGroup, "processor"},
              .peer = {world::TargetKind::kGroup, "api"}, .one_way = true, .ratio = {1, 20}});
  world::RandomFaultSpec crashes;
  crashes.kind = world::FaultKind::kCrash;
  crashes.scope = {world::TargetKind::kGroup, "api"};
  crashes.shape.duration = Duration::seconds(5);
  crashes.mean_interval = Duration::seconds(20);
  crashes.start = Duration::seconds(5);
  crashes.end = Duration::seconds(120);
  f.add_random(crashes);
  sim.run_until(Time::zero() + Duration::minutes(6));
  return check::check_exactly_once(c.history(), c.processor_charges());
}

}  // namespace

TEST_CASE("stripe: without keys the exactly-once checker finds double charges; with keys, "
          "recovery points and the completer it passes",
          "[stripe][exactly-once]") {
  auto broken = run_faulty(1, false, true);
  CHECK_FALSE(broken.ok);
  CHECK_THAT(broken.summary, Catch::Contains("duplicate effect"));
  auto fixed = run_faulty(1, true, true);
  INFO(fixed.to_string());
  CHECK(fixed.ok);
}

TEST_CASE("stripe: exactly-once over seeds 1-500; the broken variant (no processor key) is "
          "caught on some seed",
          "[stripe][exactly-once][.slow]") {
  int caught = 0;
  for (std::uint64_t seed = 1; seed <= 500; ++seed) {
    auto r = run_faulty(seed, true, true);
    INFO("seed " << seed << ": " << r.to_string());
    REQUIRE(r.ok);
    if (seed <= 20 && !run_faulty(seed, true, false).ok) {
      ++caught;
    }
  }
  CHECK(caught > 0);
}
