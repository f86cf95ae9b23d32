// The idempotency rules as the ledger's transactions decide them, and the WAL that makes them
// durable. Each test fails if its rule is removed (e.g. dropping the params comparison in
// kBegin turns the 400 test red; dropping the lock check turns the 409 test red).
#include <faultline/rng.hpp>
#include <faultline/sim/stripe/ledger.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

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

namespace {

// A naive reference for the completer's and the reaper's queries: a scan of every key row,
// as the ledger did before it kept indexes.
std::vector<std::pair<std::string, std::string>> naive_abandoned(const LedgerState& s,
                                                                 const TxnRequest& q,
                                                                 std::int64_t now) {
  std::vector<const KeyRow*> found;
  for (const auto& [id, k] : s.keys()) {
    const bool lock_free = k.locked_at_ns == 0 || now - k.locked_at_ns >= q.lock_timeout_ns;
    if (k.recovery_point != RecoveryPoint::kFinished && lock_free &&
        now - k.last_run_ns >= q.older_than_ns) {
      found.push_back(&k);
    }
  }
  std::sort(found.begin(), found.end(), [](const KeyRow* a, const KeyRow* b) {
    return std::tuple(a->last_run_ns, a->id, a->user, a->key) <
           std::tuple(b->last_run_ns, b->id, b->user, b->key);
  });
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < found.size() && i < static_cast<std::size_t>(q.limit); ++i) {
    out.emplace_back(found[i]->user, found[i]->key);
  }
  return out;
}

}  // namespace

TEST_CASE("stripe ledger: the completer's and the reaper's indexed queries return what a scan "
          "of every key row returns",
          "[stripe][idempotency]") {
  // Random rows put, rewritten (last run, lock, recovery point move) and deleted, with ids
  // that sometimes collide and times that often tie; after each step both queries are
  // compared with the naive scan. A stale index entry (say, not removing the old last_run
  // on a rewrite) returns a key twice or one already finished, and fails here.
  std::uint64_t rng = 20261203;
  LedgerState s;
  for (int step = 0; step < 4000; ++step) {
    const auto r = faultline::splitmix64(rng);
    RowWrite w;
    w.key.user = "cus_" + std::to_string(r % 3);
    w.key.key = "k" + std::to_string((r >> 8) % 40);
    if ((r >> 16) % 6 == 0) {
      w.kind = RowWrite::Kind::kDeleteKey;
    } else {
      w.kind = RowWrite::Kind::kPutKey;
      w.key.id = static_cast<std::int64_t>((r >> 20) % 50);
      w.key.created_at_ns = static_cast<std::int64_t>((r >> 28) % 20);
      w.key.last_run_ns = static_cast<std::int64_t>((r >> 33) % 20);
      w.key.locked_at_ns = (r >> 38) % 3 == 0 ? 0 : static_cast<std::int64_t>((r >> 40) % 20);
      w.key.recovery_point = static_cast<RecoveryPoint>((r >> 45) % 3);
    }
    s.apply(w);

    const std::int64_t now = 20;
    TxnRequest list;
    list.kind = TxnKind::kListAbandoned;
    list.lock_timeout_ns = static_cast<std::int64_t>((r >> 48) % 8);
    list.older_than_ns = static_cast<std::int64_t>((r >> 51) % 12);
    list.limit = 1 + static_cast<int>((r >> 55) % 12);
    std::vector<RowWrite> writes;
    const TxnReply got = s.execute(list, now, writes);
    std::vector<std::pair<std::string, std::string>> got_keys;
    for (const KeyRow& k : got.keys) {
      got_keys.emplace_back(k.user, k.key);
    }
    REQUIRE(got_keys == naive_abandoned(s, list, now));

    if (step % 97 == 0) {  // reap now and then, so the table empties and refills
      std::vector<std::pair<std::string, std::string>> expect;
      for (const auto& [id, k] : s.keys()) {
        if (now - k.created_at_ns >= 15) {
          expect.push_back(id);
        }
      }
      TxnRequest reap;
      reap.kind = TxnKind::kReap;
      reap.older_than_ns = 15;
      std::vector<RowWrite> deleted;
      const TxnReply done = s.execute(reap, now, deleted);
      std::vector<std::pair<std::string, std::string>> deleted_keys;
      for (const RowWrite& d : deleted) {
        deleted_keys.emplace_back(d.key.user, d.key.key);
      }
      REQUIRE(deleted_keys == expect);
      REQUIRE(done.affected == static_cast<int>(expect.size()));
      for (const auto& [id, k] : s.keys()) {
        REQUIRE(now - k.created_at_ns < 15);
      }
    }
  }
}
