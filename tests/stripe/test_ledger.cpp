// The idempotency rules as the ledger's transactions decide them, and the WAL that makes them
// durable. Each test fails if its rule is removed (e.g. dropping the params comparison in
// kBegin turns the 400 test red; dropping the lock check turns the 409 test red).
#include <faultline/sim/stripe/ledger.hpp>

#include <catch2/catch.hpp>

using namespace faultline::sim::stripe;

namespace {

TxnRequest begin(std::string key, std::string params = "amount=2000&currency=usd") {
  TxnRequest t;
  t.kind = TxnKind::kBegin;
  t.user = "cus_1";
  t.key = std::move(key);
  t.params = std::move(params);
  t.intent = "pi_1";
  t.lock_timeout_ns = 90'000'000'000;
  return t;
}

TxnReply run(LedgerState& s, const TxnRequest& t, std::int64_t now) {
  std::vector<RowWrite> w;
  return s.execute(t, now, w);
}

}  // namespace

TEST_CASE("stripe ledger: a concurrent request with the same key gets in_use (409) until the "
          "lock times out, then resumes",
          "[stripe][idempotency]") {
  LedgerState s;
  CHECK(run(s, begin("k"), 1).begin == BeginOutcome::kNew);
  CHECK(run(s, begin("k"), 2).begin == BeginOutcome::kInUse);
  auto r = run(s, begin("k"), 1 + 90'000'000'000);
  CHECK(r.begin == BeginOutcome::kResume);
  CHECK(r.key.recovery_point == RecoveryPoint::kStarted);
}

TEST_CASE("stripe ledger: the same key with other parameters is a mismatch (400)",
          "[stripe][idempotency]") {
  LedgerState s;
  run(s, begin("k"), 1);
  CHECK(run(s, begin("k", "amount=2001&currency=usd"), 2).begin == BeginOutcome::kMismatch);
}

TEST_CASE("stripe ledger: a finished key replays its stored response, failures included",
          "[stripe][idempotency]") {
  LedgerState s;
  auto b = run(s, begin("k"), 1);
  TxnRequest fin;
  fin.kind = TxnKind::kFinish;
  fin.user = "cus_1";
  fin.key = "k";
  fin.owner = b.key.lock_owner;
  fin.response_code = 402;
  fin.response_body = "card_declined";
  REQUIRE(run(s, fin, 2).ok);
  auto r = run(s, begin("k"), 3);
  CHECK(r.begin == BeginOutcome::kReplay);
  CHECK(r.key.response_code == 402);
}

TEST_CASE("stripe ledger: recovery from charge_created keeps one charge; the lost lock aborts",
          "[stripe][recovery]") {
  LedgerState s;
  auto b = run(s, begin("k"), 1);
  TxnRequest rec;
  rec.kind = TxnKind::kRecordCharge;
  rec.user = "cus_1";
  rec.key = "k";
  rec.owner = b.key.lock_owner;
  rec.intent = "pi_1";
  rec.processor_charge = "py_1";
  rec.amount = 2000;
  REQUIRE(run(s, rec, 2).ok);
  // A crash here; after the lock times out a retry resumes at charge_created.
  auto r = run(s, begin("k"), 2 + 90'000'000'000);
  REQUIRE(r.begin == BeginOutcome::kResume);
  CHECK(r.key.recovery_point == RecoveryPoint::kChargeCreated);
  CHECK(!run(s, rec, 3).ok);  // the old owner lost its lock
  TxnRequest fin;
  fin.kind = TxnKind::kFinish;
  fin.user = "cus_1";
  fin.key = "k";
  fin.owner = r.key.lock_owner;
  fin.response_code = 200;
  auto done = run(s, fin, 4);
  CHECK(done.key.response_body == "ch_1");
  CHECK(s.charges().size() == 1);
}

TEST_CASE("stripe ledger: the completer lists abandoned keys and the reaper prunes old ones",
          "[stripe][completer][reaper]") {
  LedgerState s;
  run(s, begin("k"), 1);
  TxnRequest list;
  list.kind = TxnKind::kListAbandoned;
  list.lock_timeout_ns = 90'000'000'000;
  list.older_than_ns = 120'000'000'000;
  list.take_locks = true;
  CHECK(run(s, list, 60'000'000'000).keys.empty());  // still locked by its request
  CHECK(run(s, list, 200'000'000'000).keys.size() == 1);
  TxnRequest reap;
  reap.kind = TxnKind::kReap;
  reap.older_than_ns = 24LL * 3600 * 1'000'000'000;
  CHECK(run(s, reap, 3600'000'000'000).affected == 0);
  CHECK(run(s, reap, 1 + 24LL * 3600 * 1'000'000'000).affected == 1);
  CHECK(run(s, begin("k"), 2 + 24LL * 3600 * 1'000'000'000).begin == BeginOutcome::kNew);
}

TEST_CASE("stripe ledger: replaying the WAL rebuilds the tables; a torn tail is dropped",
          "[stripe][wal]") {
  LedgerState s;
  std::string wal;
  for (int i = 0; i < 3; ++i) {
    std::vector<RowWrite> w;
    s.execute(begin("k" + std::to_string(i)), i + 1, w);
    s.set_lsn(s.lsn() + 1);
    wal += encode_record(s.lsn(), w);
  }
  LedgerState r;
  CHECK(replay_wal(wal, r) == wal.size());
  CHECK(r.keys() == s.keys());
  LedgerState t;
  replay_wal(wal.substr(0, wal.size() - 5), t);
  CHECK(t.keys().size() == 2);
}
