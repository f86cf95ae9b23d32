#include "generators.hpp"

#include <faultline/check/linearizability.hpp>
#include <faultline/check/transactions.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::check;
using testing_support::ms;

namespace {

using testing_support::Builder;
using testing_support::txn;

}  // namespace

TEST_CASE("serializability: timestamp order that respects real time passes",
          "[check][serializability]") {
  Builder b;
  txn(b, 1, 0, 2, 100, {MicroOp::write("x", 1), MicroOp::write("y", 1)});
  txn(b, 2, 1, 3, 90, {MicroOp::read("x", Value::nil())});  // concurrent: may order first
  txn(b, 3, 4, 5, 200, {MicroOp::read("x", Value::of(1)), MicroOp::write("x", 2),
                        MicroOp::read("x", Value::of(2))});
  txn(b, 1, 6, 7, 300, {MicroOp::read("x", Value::of(2)), MicroOp::read("y", Value::of(1))});
  CheckResult r = check_strict_serializable(b.build());
  INFO(r.to_string());
  CHECK(r.ok);
  CHECK(r.checker == "strict-serializability");
}

TEST_CASE("serializability: a real-time-order violation is rejected",
          "[check][serializability]") {
  Builder b;
  txn(b, 1, 0, 1, 100, {MicroOp::write("x", 1)});
  txn(b, 2, 5, 6, 50, {MicroOp::write("y", 1)});  // began after t1 ended, smaller ts
  CheckResult r = check_strict_serializable(b.build());
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("1 real-time-order violation"));
  CHECK_THAT(r.details, Catch::Contains("commit timestamp 50 is not greater than 100"));
}

TEST_CASE("serializability: a stale read at a later timestamp is rejected",
          "[check][serializability]") {
  Builder b;
  txn(b, 1, 0, 1, 100, {MicroOp::write("x", 1)});
  txn(b, 1, 2, 3, 200, {MicroOp::write("x", 2)});
  txn(b, 2, 4, 5, 300, {MicroOp::read("x", Value::of(1))});
  CheckResult r = check_strict_serializable(b.build());
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("1 stale read"));
  CHECK_THAT(r.details, Catch::Contains("latest committed version before it is 2"));
}

TEST_CASE("serializability: a read from the future is rejected", "[check][serializability]") {
  Builder b;
  txn(b, 2, 0, 10, 100, {MicroOp::read("x", Value::of(7))});
  txn(b, 1, 1, 9, 150, {MicroOp::write("x", 7)});
  CheckResult r = check_strict_serializable(b.build());
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("read from the future"));
}

TEST_CASE("serializability: reads of aborted and unknown writes", "[check][serializability]") {
  Builder b;
  b.op(1, 0, 1, Op::transaction({MicroOp::write("x", 1)}), EventType::kFail);
  b.op(3, 0, 1, Op::transaction({MicroOp::write("y", 5)}), EventType::kInfo);
  txn(b, 2, 2, 3, 100, {MicroOp::read("y", Value::of(5))});
  CHECK(check_strict_serializable(b.build()).ok);  // the in-doubt write may have committed
  txn(b, 2, 4, 5, 200, {MicroOp::read("x", Value::of(1))});
  CheckResult r = check_strict_serializable(b.build());
  INFO(r.to_string());
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("read of an aborted write"));
}

TEST_CASE("serializability: two writers of one key at one timestamp are rejected",
          "[check][serializability]") {
  Builder b;
  txn(b, 1, 0, 2, 100, {MicroOp::write("x", 1)});
  txn(b, 2, 0, 2, 100, {MicroOp::write("x", 2)});
  CheckResult r = check_strict_serializable(b.build());
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("timestamp collision"));
}

TEST_CASE("serializability: an ok transaction without a commit timestamp is bad input",
          "[check][serializability]") {
  History h;
  h.invoke(1, ms(0), Op::transaction({MicroOp::write("x", 1)}));
  h.ok(1, ms(1));
  CHECK_THROWS_WITH(check_strict_serializable(h), Catch::Contains("has no commit_ts"));
}

TEST_CASE("serializability: random correct histories pass and mutated ones fail",
          "[check][serializability][random]") {
  std::uint64_t seed = GENERATE(range(1, 21));
  testing_support::GenOptions o;
  o.clients = 5;
  o.ops = 200;
  o.keys = 4;
  o.transactions = true;
  History h = testing_support::generate(seed, o);
  CheckResult good = check_strict_serializable(h);
  INFO("seed " << seed << "\n" << good.to_string());
  REQUIRE(good.ok);
  // Mutation 1: swap the timestamps of two transactions that do not overlap in real time.
  std::vector<Operation> ops = h.operations();
  const Operation* a = nullptr;
  const Operation* b = nullptr;
  for (const Operation& x : ops) {
    for (const Operation& y : ops) {
      if (a == nullptr && x.ok() && y.ok() && x.complete_event < y.invoke_event) {
        a = &x;
        b = &y;
      }
    }
  }
  REQUIRE(a != nullptr);
  Event ea = h.events()[a->complete_event];
  Event eb = h.events()[b->complete_event];
  std::swap(ea.commit_ts, eb.commit_ts);
  History swapped = testing_support::with_event(
      testing_support::with_event(h, a->complete_event, ea), b->complete_event, eb);
  CHECK_FALSE(check_strict_serializable(swapped).ok);
  // Mutation 2: a read that returns a value nobody wrote.
  for (const Operation& x : ops) {
    if (!x.ok()) {
      continue;
    }
    Event e = h.events()[x.complete_event];
    auto it = std::find_if(e.op.txn.begin(), e.op.txn.end(),
                           [](const MicroOp& m) { return m.kind == OpKind::kRead; });
    if (it != e.op.txn.end()) {
      it->value = Value::of(-1);
      CheckResult r = check_strict_serializable(testing_support::with_event(h, x.complete_event, e));
      CHECK_FALSE(r.ok);
      CHECK_THAT(r.summary, Catch::Contains("never written"));
      break;
    }
  }
}

TEST_CASE("weak store: a linearizable register history has no anomalies",
          "[check][weak-store]") {
  std::uint64_t seed = GENERATE(range(1, 21));
  History h = testing_support::generate(seed, {.clients = 6, .ops = 200, .keys = 3});
  CheckResult r = check_stale_reads_and_lost_updates(h);
  INFO("seed " << seed << "\n" << r.to_string());
  REQUIRE(r.ok);
  History stale = h;
  if (testing_support::make_stale_read(stale)) {
    CheckResult s = check_stale_reads_and_lost_updates(stale);
    CHECK_FALSE(s.ok);
    CHECK_THAT(s.summary, Catch::Contains("stale read"));
  }
  History future = h;
  REQUIRE(testing_support::make_future_read(future));
  CHECK_THAT(check_stale_reads_and_lost_updates(future).summary,
             Catch::Contains("read from the future"));
}

TEST_CASE("weak store: stale reads and lost writes are named", "[check][weak-store]") {
  History h;
  h.invoke(1, ms(0), Op::write("cart", 1));
  h.ok(1, ms(1));
  h.invoke(1, ms(2), Op::write("cart", 2));
  h.ok(1, ms(3));
  h.invoke(2, ms(4), Op::read("cart"));
  h.ok(2, ms(5), Value::of(1));
  h.invoke(2, ms(6), Op::read("cart"));
  h.ok(2, ms(7), Value::of(1));
  CheckResult r = check_stale_reads_and_lost_updates(h);
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("2 stale read"));
  CHECK_THAT(r.summary, Catch::Contains("1 lost update"));
  CHECK_THAT(r.details, Catch::Contains("write cart 2 -> ok\n    was acknowledged"));
}

TEST_CASE("weak store: a read of nil after an acknowledged write is stale",
          "[check][weak-store]") {
  History h;
  h.invoke(1, ms(0), Op::write("x", 1));
  h.ok(1, ms(1));
  h.invoke(2, ms(2), Op::read("x"));
  h.ok(2, ms(3), Value::nil());
  CHECK_THAT(check_stale_reads_and_lost_updates(h).summary, Catch::Contains("stale read"));
}

TEST_CASE("weak store: two compare-and-sets from one value lose an update",
          "[check][weak-store]") {
  History h;
  h.invoke(1, ms(0), Op::write("n", 10));
  h.ok(1, ms(1));
  h.invoke(1, ms(2), Op::cas("n", Value::of(10), 11));
  h.invoke(2, ms(2), Op::cas("n", Value::of(10), 12));
  h.ok(1, ms(3));
  h.ok(2, ms(3));
  CheckResult r = check_stale_reads_and_lost_updates(h);
  INFO(r.to_string());
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("lost update"));
}

TEST_CASE("weak store: appends must stay visible and appear once", "[check][weak-store]") {
  History h;
  h.invoke(1, ms(0), Op::append("l", 1));
  h.ok(1, ms(1));
  h.invoke(1, ms(2), Op::append("l", 2));
  h.ok(1, ms(3));
  h.invoke(2, ms(4), Op::read("l"));
  h.ok(2, ms(5), Value::list({1, 2}));
  CHECK(check_stale_reads_and_lost_updates(h).ok);
  SECTION("an acknowledged append missing from a later read is lost") {
    h.invoke(2, ms(6), Op::read("l"));
    h.ok(2, ms(7), Value::list({2}));
    CHECK_THAT(check_stale_reads_and_lost_updates(h).summary, Catch::Contains("lost update"));
  }
  SECTION("an append that appears twice took effect twice") {
    h.invoke(2, ms(6), Op::read("l"));
    h.ok(2, ms(7), Value::list({1, 2, 2}));
    CHECK_THAT(check_stale_reads_and_lost_updates(h).summary,
               Catch::Contains("duplicate effect"));
  }
}

TEST_CASE("weak store: values written twice to one key are bad input", "[check][weak-store]") {
  History h;
  h.invoke(1, ms(0), Op::write("x", 1));
  h.ok(1, ms(1));
  h.invoke(1, ms(2), Op::write("x", 1));
  h.ok(1, ms(3));
  CHECK_THROWS_WITH(check_stale_reads_and_lost_updates(h), Catch::Contains("make written values"));
}
