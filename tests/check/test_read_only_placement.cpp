// The strict-serializability checker with read-only transactions placed by their reads
// (TransactionCheckOptions::place_read_only): Spanner's read-only transactions read a snapshot
// at LastTS() or TT.now().latest without waiting for it to pass, so their timestamps repeat or
// run ahead of real time; the history is still strictly serializable when each can be placed
// where its reads were current and real time allows. Each broken history below must be rejected.
#include "reference.hpp"

#include <faultline/check/transactions.hpp>

#include <catch2/catch.hpp>

#include <chrono>

using namespace faultline;
using namespace faultline::check;

namespace {

using testing_support::Builder;
using testing_support::txn;

CheckResult placed(const History& h) {
  TransactionCheckOptions o;
  o.place_read_only = true;
  return check_strict_serializable(h, o);
}

constexpr const char* kNoPlace = "read-only transaction with no place in the serial order";

}  // namespace

TEST_CASE("serializability: read-only snapshots at repeated or early-running timestamps pass "
          "when placed, and only then",
          "[check][serializability][read-only]") {
  Builder b;
  txn(b, 1, 0, 1, 100, {MicroOp::write("x", 1)});
  // LastTS(): two read-only transactions in real-time order share timestamp 100.
  txn(b, 2, 2, 3, 100, {MicroOp::read("x", Value::of(1))});
  txn(b, 3, 4, 5, 100, {MicroOp::read("x", Value::of(1))});
  // TT.now().latest ran ahead: timestamp 500, then a write that began later commits at 300.
  txn(b, 2, 6, 7, 500, {MicroOp::read("x", Value::of(1)), MicroOp::read("y", Value::nil())});
  txn(b, 1, 8, 9, 300, {MicroOp::write("x", 2), MicroOp::write("y", 2)});
  txn(b, 3, 10, 11, 300, {MicroOp::read("x", Value::of(2)), MicroOp::read("y", Value::of(2))});
  History h = b.build();
  CheckResult ok = placed(h);
  INFO(ok.to_string());
  CHECK(ok.ok);
  CHECK_THAT(ok.summary, Catch::Contains("6 committed transactions on 2 keys"));
  // Pinned at their timestamps, the same history breaks the timestamp-order claim.
  CheckResult pinned = check_strict_serializable(h);
  INFO(pinned.to_string());
  CHECK_FALSE(pinned.ok);
}

TEST_CASE("serializability: a read-only transaction that misses a write completed before it "
          "began is rejected",
          "[check][serializability][read-only]") {
  Builder b;
  txn(b, 1, 0, 1, 100, {MicroOp::write("x", 1)});
  txn(b, 1, 2, 3, 200, {MicroOp::write("x", 2)});
  txn(b, 2, 4, 5, 900, {MicroOp::read("x", Value::of(1))});
  CheckResult r = placed(b.build());
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("1 " + std::string(kNoPlace)));
}

TEST_CASE("serializability: a fractured read-only snapshot is rejected",
          "[check][serializability][read-only]") {
  Builder b;
  txn(b, 1, 0, 1, 100, {MicroOp::write("x", 1), MicroOp::write("y", 1)});
  txn(b, 1, 2, 3, 200, {MicroOp::write("x", 2), MicroOp::write("y", 2)});
  // Concurrent with both writes, so real time allows any point, but no point has x=1, y=2.
  txn(b, 2, 0, 10, 150, {MicroOp::read("x", Value::of(1)), MicroOp::read("y", Value::of(2))});
  CheckResult r = placed(b.build());
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains(kNoPlace));
}

TEST_CASE("serializability: a read-only transaction must not un-see what an earlier one saw",
          "[check][serializability][read-only]") {
  Builder b;
  txn(b, 1, 0, 10, 100, {MicroOp::write("x", 1)});  // in flight throughout
  txn(b, 2, 2, 3, 100, {MicroOp::read("x", Value::of(1))});
  SECTION("alone, the later read of the old value is fine (the write is concurrent)") {
    Builder alone;
    txn(alone, 1, 0, 10, 100, {MicroOp::write("x", 1)});
    txn(alone, 3, 4, 5, 100, {MicroOp::read("x", Value::nil())});
    CheckResult r = placed(alone.build());
    INFO(r.to_string());
    CHECK(r.ok);
  }
  SECTION("after a read-only transaction that saw the write, it is rejected") {
    txn(b, 3, 4, 5, 100, {MicroOp::read("x", Value::nil())});
    CheckResult r = placed(b.build());
    INFO(r.to_string());
    REQUIRE_FALSE(r.ok);
    CHECK_THAT(r.summary, Catch::Contains("1 " + std::string(kNoPlace)));
  }
}

TEST_CASE("serializability: a read-only transaction that sees a write begun after it "
          "completed is rejected",
          "[check][serializability][read-only]") {
  Builder b;
  txn(b, 2, 0, 1, 500, {MicroOp::read("x", Value::of(7))});
  txn(b, 1, 2, 3, 50, {MicroOp::write("x", 7)});
  CheckResult r = placed(b.build());
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.details, Catch::Contains("began after it completed committed at 50"));
}

// --- Beyond timestamp order: the serialization graph ----------------------------------------

namespace {

History last_ts_history(bool b_reads_a) {
  Builder b;
  txn(b, 1, 0, 1, 10, {MicroOp::write("a", 1)});   // group A
  txn(b, 2, 2, 12, 20, {MicroOp::write("a", 2)});  // group A, in commit wait until 12
  // Group B commits at a higher timestamp and completes first.
  if (b_reads_a) {
    txn(b, 3, 3, 4, 30, {MicroOp::read("a", Value::of(2)), MicroOp::write("b", 1)});
  } else {
    txn(b, 3, 3, 4, 30, {MicroOp::write("b", 1)});
  }
  // A read at LastTS() of group A (10) begun after group B's commit completed.
  txn(b, 4, 5, 6, 10, {MicroOp::read("a", Value::of(1))});
  return b.build();
}

/// x is written 1, 2, 1: a read of x = 1 may have seen either 1. A commit on z completed
/// before the read-only transaction began puts it past timestamp 25, where no timestamp has
/// its reads current, so the graph decides. `also_reads_w`: it also saw w = 7, which only the
/// writer of x = 2 wrote, so it must follow that writer.
History repeated_value_history(bool also_reads_w) {
  Builder b;
  txn(b, 1, 0, 1, 10, {MicroOp::write("x", 1)});
  txn(b, 2, 2, 20, 20, {MicroOp::write("x", 2), MicroOp::write("w", 7)});
  txn(b, 3, 2, 20, 40, {MicroOp::write("x", 1), MicroOp::write("y", 5)});
  txn(b, 4, 2, 3, 25, {MicroOp::write("z", 1)});
  std::vector<MicroOp> reads{MicroOp::read("x", Value::of(1)), MicroOp::read("y", Value::nil())};
  if (also_reads_w) {
    reads.push_back(MicroOp::read("w", Value::of(7)));
  }
  txn(b, 5, 4, 5, 25, reads);
  return b.build();
}

}  // namespace

TEST_CASE("serializability: a LastTS read on one group passes after an unrelated commit "
          "with a higher timestamp on another group completed",
          "[check][serializability][read-only]") {
  // No timestamp has the read current (at 30, a is already 2), but the write of b does not
  // depend on the write of a = 2: the serial order a=1, b=1, read, a=2 respects real time.
  History h = last_ts_history(false);
  REQUIRE(reference::strictly_serializable_placed(h));
  REQUIRE_FALSE(reference::strictly_serializable_placed(h, true));
  CheckResult r = placed(h);
  INFO(r.to_string());
  CHECK(r.ok);
  SECTION("and when it also reads group B's commit") {
    Builder b;
    txn(b, 1, 0, 1, 10, {MicroOp::write("a", 1)});
    txn(b, 2, 2, 12, 20, {MicroOp::write("a", 2)});
    txn(b, 3, 3, 4, 30, {MicroOp::write("b", 1)});
    txn(b, 4, 5, 6, 30, {MicroOp::read("a", Value::of(1)), MicroOp::read("b", Value::of(1))});
    CheckResult both = placed(b.build());
    INFO(both.to_string());
    CHECK(both.ok);
  }
}

TEST_CASE("serializability: a LastTS read that misses a commit which an earlier-completed "
          "transaction read from is rejected",
          "[check][serializability][read-only]") {
  // Group B's transaction read a = 2, so the write of a = 2 precedes it, and it completed
  // before the read-only transaction began: missing a = 2 is a cycle.
  History h = last_ts_history(true);
  REQUIRE_FALSE(reference::strictly_serializable_placed(h));
  CheckResult r = placed(h);
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("1 " + std::string(kNoPlace)));
  CHECK_THAT(r.details, Catch::Contains("--rw \"a\"-->"));
  CHECK_THAT(r.details, Catch::Contains("--wr \"a\"-->"));
  CHECK_THAT(r.details, Catch::Contains("--rt-->"));
}

TEST_CASE("serializability: a long fork (two read-only transactions see two independent "
          "writes in opposite orders) is rejected",
          "[check][serializability][read-only]") {
  Builder b;
  txn(b, 1, 0, 10, 10, {MicroOp::write("x", 1)});
  txn(b, 2, 0, 10, 20, {MicroOp::write("y", 1)});
  txn(b, 3, 1, 9, 10, {MicroOp::read("x", Value::of(1)), MicroOp::read("y", Value::nil())});
  txn(b, 4, 1, 9, 20, {MicroOp::read("x", Value::nil()), MicroOp::read("y", Value::of(1))});
  History h = b.build();
  REQUIRE_FALSE(reference::strictly_serializable_placed(h));
  CheckResult r = placed(h);
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("1 " + std::string(kNoPlace)));
  CHECK_THAT(r.details, Catch::Contains("(2 read-only)"));
}

TEST_CASE("serializability: a read-only transaction that real time puts after a write but "
          "that read the version before it is rejected",
          "[check][serializability][read-only]") {
  Builder b;
  txn(b, 1, 0, 2, 10, {MicroOp::write("x", 1)});
  txn(b, 2, 3, 4, 20, {MicroOp::write("y", 1)});
  txn(b, 3, 5, 6, 20, {MicroOp::read("y", Value::of(1)), MicroOp::read("x", Value::nil())});
  History h = b.build();
  REQUIRE_FALSE(reference::strictly_serializable_placed(h));
  CheckResult r = placed(h);
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.details, Catch::Contains("--rw \"x\"-->"));
  CHECK_THAT(r.details, Catch::Contains("--rt-->"));
}

TEST_CASE("serializability: with repeated values, a read-only transaction passes when one of "
          "the versions it may have seen leaves no cycle, and fails when none does",
          "[check][serializability][read-only]") {
  SECTION("the earlier x = 1 fits (the later one was written with y = 5, and it read y = nil)") {
    History h = repeated_value_history(false);
    REQUIRE(reference::strictly_serializable_placed(h));
    REQUIRE_FALSE(reference::strictly_serializable_placed(h, true));
    CheckResult r = placed(h);
    INFO(r.to_string());
    CHECK(r.ok);
  }
  SECTION("reading w = 7 too rules out the earlier one, and the later one still does not fit") {
    History h = repeated_value_history(true);
    REQUIRE_FALSE(reference::strictly_serializable_placed(h));
    CheckResult r = placed(h);
    INFO(r.to_string());
    REQUIRE_FALSE(r.ok);
    CHECK(r.verdict() == Verdict::kFail);
    CHECK_THAT(r.summary, Catch::Contains("1 " + std::string(kNoPlace)));
  }
  SECTION("a search with no budget does not pass it silently") {
    TransactionCheckOptions o;
    o.place_read_only = true;
    o.placement_search_budget = 0;
    CheckResult r = check_strict_serializable(repeated_value_history(false), o);
    INFO(r.to_string());
    CHECK(r.verdict() == Verdict::kInconclusive);
    CHECK_THAT(r.summary, Catch::Contains("not placed within the budget"));
  }
}

TEST_CASE("serializability: a read of a key a transaction of the same timestamp wrote, "
          "that either order explains, takes the order that leaves no cycle",
          "[check][serializability][read-only]") {
  // T and U commit at 10; U rewrites x = 5, so T's read of x = 5 fits before or after U. A
  // read-only transaction saw U's z = 1 but not T's y = 1: U, then it, then T; so T read x
  // after U (T first, the first guess, is a cycle T -> U -> the reader -> T).
  Builder b;
  txn(b, 1, 0, 1, 5, {MicroOp::write("x", 5)});
  txn(b, 2, 2, 12, 10, {MicroOp::read("x", Value::of(5)), MicroOp::write("y", 1)});
  txn(b, 3, 2, 12, 10, {MicroOp::write("x", 5), MicroOp::write("z", 1)});
  txn(b, 4, 3, 11, 10, {MicroOp::read("z", Value::of(1)), MicroOp::read("y", Value::nil())});
  History h = b.build();
  REQUIRE(reference::strictly_serializable_placed(h));
  CheckResult r = placed(h);
  INFO(r.to_string());
  CHECK(r.ok);
}

TEST_CASE("serializability: a read-only transaction that saw a state inside another "
          "transaction is rejected",
          "[check][serializability][read-only]") {
  // x = 1 held only between the two writes of one transaction: no version ever had it.
  Builder b;
  txn(b, 1, 0, 10, 10, {MicroOp::write("x", 1), MicroOp::write("x", 2)});
  txn(b, 2, 1, 9, 10, {MicroOp::read("x", Value::of(1))});
  History h = b.build();
  REQUIRE_FALSE(reference::strictly_serializable_placed(h));
  CheckResult r = placed(h);
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.details, Catch::Contains("is no version of the key"));
}

// --- How long the graph takes on a history the size of a long Spanner run ---------------------

namespace {

/// A Spanner-like history of `n` transactions from 200 clients on `groups` groups (one key
/// each): 60% single-group read-only transactions reading at LastTS() (the latest version
/// visible when they read, with commit wait delaying visibility past later-timestamp commits
/// elsewhere), the rest blind writes of one or two keys. Strictly serializable by
/// construction. `values`: how many distinct values are written (few make them repeat);
/// `lag`: whether commit wait delays visibility (without it the timestamp sweep places every
/// read and the graph never runs).
History spanner_like(std::size_t n, std::uint64_t groups, std::int64_t values, bool lag) {
  Rng rng(7);
  constexpr std::size_t kClients = 200;
  struct G {
    std::int64_t client, from, point, to, visible;
    bool read_only;
    std::vector<MicroOp> steps;
  };
  std::vector<G> gen;
  std::vector<std::int64_t> free_at(kClients, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = i % kClients;
    G g{};
    g.client = static_cast<std::int64_t>(c);
    g.from = free_at[c] + rng.uniform_int(0, 50);
    g.point = g.from + rng.uniform_int(1, 20);
    g.to = g.point + rng.uniform_int(1, 30);
    g.visible = lag ? rng.uniform_int(g.point, g.to) : g.point;
    free_at[c] = g.to + 1;
    g.read_only = rng.below(10) < 6;
    const std::string key = "g" + std::to_string(rng.below(groups));
    if (g.read_only) {
      g.steps.push_back(MicroOp::read(key));
    } else {
      g.steps.push_back(MicroOp::write(key, rng.uniform_int(0, values - 1)));
      const std::string other = "g" + std::to_string(rng.below(groups));
      if (rng.below(2) == 0 && other != key) {
        // Two groups: visible on both at once (a lagging commit on one group whose other
        // group's write a later commit overwrote would be a real anomaly).
        g.steps.push_back(MicroOp::write(other, rng.uniform_int(0, values - 1)));
        g.visible = g.point;
      }
    }
    gen.push_back(std::move(g));
  }
  // Timestamps: the point, made unique (ties on one key would be collisions).
  auto ts_of = [&](std::size_t i) {
    return gen[i].point * 1000 + static_cast<std::int64_t>(i % 1000);
  };
  struct Version {
    std::int64_t ts, visible;
    Value value;
  };
  std::map<std::string, std::vector<Version>> versions;
  for (std::size_t i = 0; i < n; ++i) {
    for (const MicroOp& m : gen[i].read_only ? std::vector<MicroOp>{} : gen[i].steps) {
      versions[m.key].push_back({ts_of(i), gen[i].visible, m.value});
    }
  }
  for (auto& [key, vs] : versions) {
    std::sort(vs.begin(), vs.end(), [](const Version& a, const Version& b) { return a.ts < b.ts; });
  }
  Builder b;
  for (std::size_t i = 0; i < n; ++i) {
    G& g = gen[i];
    std::int64_t ts = ts_of(i);
    if (g.read_only) {
      MicroOp& m = g.steps[0];
      ts = 0;
      // A later-timestamp version of the same group that is visible shadows earlier ones.
      for (const Version& v : versions[m.key]) {
        if (v.visible <= g.point) {
          m.value = v.value;
          ts = v.ts;
        }
      }
    }
    txn(b, g.client, g.from, g.to, ts, g.steps);
  }
  return b.build();
}

}  // namespace

TEST_CASE("serializability: placing 36,000 transactions by the serialization graph is fast",
          "[check][serializability][read-only][.bench]") {
  struct Case {
    std::uint64_t groups;
    std::int64_t values;
    bool lag;
  };
  // Without lag the sweep places every read; with it the graph decides; with few values many
  // reads match several versions, and on 4 groups the first guess has cycles to search away.
  for (const Case& c : {Case{64, 1'000'000, false}, Case{64, 1'000'000, true}, Case{64, 10, true},
                        Case{64, 3, true}, Case{4, 3, true}}) {
    History h = spanner_like(36'000, c.groups, c.values, c.lag);
    auto start = std::chrono::steady_clock::now();
    CheckResult r = placed(h);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    WARN(c.groups << " groups, " << c.values << " values, "
                  << (c.lag ? "with" : "without") << " commit-wait lag: " << ms << " ms, "
                  << r.summary);
    INFO(r.details);
    CHECK(r.ok);
  }
}
