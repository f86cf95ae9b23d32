// The strict-serializability checker with read-only transactions placed by their reads
// (TransactionCheckOptions::place_read_only): Spanner's read-only transactions read a snapshot
// at LastTS() or TT.now().latest without waiting for it to pass, so their timestamps repeat or
// run ahead of real time; the history is still strictly serializable when each can be placed
// where its reads were current and real time allows. Each broken history below must be rejected.
#include "generators.hpp"

#include <faultline/check/transactions.hpp>

#include <catch2/catch.hpp>

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
