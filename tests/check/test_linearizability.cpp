#include "generators.hpp"

#include <faultline/check/linearizability.hpp>

#include <catch2/catch.hpp>
#include <sstream>

using namespace faultline;
using namespace faultline::check;
using testing_support::ms;

namespace {

/// A sequential history: each op invoked and completed before the next.
struct Seq {
  History h;
  std::int64_t t = 0;
  void write(std::int64_t client, const std::string& k, std::int64_t v) {
    h.invoke(client, ms(t), Op::write(k, v));
    h.ok(client, ms(t + 1));
    t += 2;
  }
  void read(std::int64_t client, const std::string& k, Value v) {
    h.invoke(client, ms(t), Op::read(k));
    h.ok(client, ms(t + 1), std::move(v));
    t += 2;
  }
};

}  // namespace

TEST_CASE("linearizability: a sequential history that reads its writes passes",
          "[check][linearizability]") {
  Seq s;
  s.read(1, "x", Value::nil());
  s.write(1, "x", 1);
  s.read(2, "x", Value::of(1));
  s.write(2, "y", 7);
  s.read(1, "y", Value::of(7));
  s.read(1, "x", Value::of(1));
  CheckResult r = check_linearizable(s.h, Model::key_value());
  INFO(r.to_string());
  CHECK(r.ok);
  CHECK(r.checker == "linearizability");
}

TEST_CASE("linearizability: a read concurrent with a write may see either value",
          "[check][linearizability]") {
  for (std::int64_t seen : {0, 1}) {
    History h;
    h.invoke(1, ms(0), Op::write("x", 0));
    h.ok(1, ms(1));
    h.invoke(1, ms(2), Op::write("x", 1));
    h.invoke(2, ms(3), Op::read("x"));
    h.ok(2, ms(4), Value::of(seen));
    h.ok(1, ms(5));
    CHECK(check_linearizable(h, Model::key_value()).ok);
  }
}

TEST_CASE("linearizability: a stale read is rejected with a minimal explanation",
          "[check][linearizability]") {
  Seq s;
  s.write(1, "x", 1);
  s.write(1, "x", 2);
  s.read(2, "x", Value::of(1));
  CheckResult r = check_linearizable(s.h, Model::key_value());
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("not linearizable on 1 key"));
  CHECK_THAT(r.details, Catch::Contains("key \"x\""));
  CHECK_THAT(r.details, Catch::Contains("read x -> 1 -> ok   <== cannot take effect"));
  CHECK_THAT(r.details, Catch::Contains("could only hold: 2"));
}

TEST_CASE("linearizability: a read from the future is rejected", "[check][linearizability]") {
  History h;
  h.invoke(2, ms(0), Op::read("x"));
  h.ok(2, ms(1), Value::of(5));
  h.invoke(1, ms(2), Op::write("x", 5));
  h.ok(1, ms(3));
  CheckResult r = check_linearizable(h, Model::key_value());
  INFO(r.to_string());
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.details, Catch::Contains("could only hold: nil"));
}

TEST_CASE("linearizability: the failing sub-history drops unrelated operations",
          "[check][linearizability]") {
  Seq s;
  for (int i = 0; i < 20; ++i) {
    s.write(i % 3, "x", 100 + i);
    s.read((i + 1) % 3, "x", Value::of(100 + i));
    s.write(i % 3, "y", i);
  }
  s.write(4, "x", 1);
  s.write(4, "x", 2);
  s.read(5, "x", Value::of(1));  // stale
  for (int i = 0; i < 10; ++i) {
    s.write(i % 3, "x", 200 + i);
  }
  CheckResult r = check_linearizable(s.h, Model::key_value());
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.details, Catch::Contains("(3 of 53 operations on this key"));
}

TEST_CASE("linearizability: an info write may take effect late, or never",
          "[check][linearizability]") {
  SECTION("late: seen after an older value") {
    History h;
    h.invoke(1, ms(0), Op::write("x", 1));
    h.ok(1, ms(1));
    h.invoke(1, ms(2), Op::write("x", 2));
    h.info(1, ms(3));
    h.invoke(2, ms(10), Op::read("x"));
    h.ok(2, ms(11), Value::of(1));
    h.invoke(2, ms(20), Op::read("x"));
    h.ok(2, ms(21), Value::of(2));
    CHECK(check_linearizable(h, Model::key_value()).ok);
  }
  SECTION("never") {
    History h;
    h.invoke(1, ms(0), Op::write("x", 2));
    h.info(1, ms(1));
    h.invoke(2, ms(10), Op::read("x"));
    h.ok(2, ms(11), Value::nil());
    CHECK(check_linearizable(h, Model::key_value()).ok);
  }
  SECTION("but not undone once seen") {
    History h;
    h.invoke(1, ms(0), Op::write("x", 1));
    h.ok(1, ms(1));
    h.invoke(1, ms(2), Op::write("x", 2));
    h.info(1, ms(3));
    h.invoke(2, ms(10), Op::read("x"));
    h.ok(2, ms(11), Value::of(2));
    h.invoke(2, ms(20), Op::read("x"));
    h.ok(2, ms(21), Value::of(1));
    CHECK_FALSE(check_linearizable(h, Model::key_value()).ok);
  }
}

TEST_CASE("linearizability: a failed write must never be seen", "[check][linearizability]") {
  History h;
  h.invoke(1, ms(0), Op::write("x", 3));
  h.fail(1, ms(1));
  h.invoke(2, ms(2), Op::read("x"));
  h.ok(2, ms(3), Value::of(3));
  CHECK_FALSE(check_linearizable(h, Model::key_value()).ok);
}

TEST_CASE("linearizability: compare-and-set succeeds only from the expected value",
          "[check][linearizability]") {
  History h;
  h.invoke(1, ms(0), Op::write("x", 1));
  h.ok(1, ms(1));
  h.invoke(1, ms(2), Op::cas("x", Value::of(1), 2));
  h.ok(1, ms(3));
  CHECK(check_linearizable(h, Model::key_value()).ok);
  h.invoke(2, ms(4), Op::cas("x", Value::of(1), 3));  // 1 is gone: a lost update
  h.ok(2, ms(5));
  CHECK_FALSE(check_linearizable(h, Model::key_value()).ok);
}

TEST_CASE("linearizability: appends build a list that reads must match",
          "[check][linearizability]") {
  History h;
  h.invoke(1, ms(0), Op::append("l", 1));
  h.invoke(2, ms(0), Op::append("l", 2));
  h.ok(1, ms(2));
  h.ok(2, ms(2));
  h.invoke(3, ms(3), Op::read("l"));
  h.ok(3, ms(4), Value::list({2, 1}));
  CHECK(check_linearizable(h, Model::key_value()).ok);
  SECTION("an append that appears twice is rejected") {
    h.invoke(3, ms(5), Op::read("l"));
    h.ok(3, ms(6), Value::list({2, 1, 1}));
    CHECK_FALSE(check_linearizable(h, Model::key_value()).ok);
  }
  SECTION("a later read in the other order is rejected") {
    h.invoke(3, ms(5), Op::read("l"));
    h.ok(3, ms(6), Value::list({1, 2}));
    CHECK_FALSE(check_linearizable(h, Model::key_value()).ok);
  }
}

TEST_CASE("linearizability: the register model is one object across keys",
          "[check][linearizability]") {
  Seq s;
  s.write(1, "a", 1);
  s.read(2, "b", Value::of(1));
  CHECK(check_linearizable(s.h, Model::register_model()).ok);
  CHECK_FALSE(check_linearizable(s.h, Model::key_value()).ok);
}

TEST_CASE("linearizability: a custom model plugs in through its step function",
          "[check][linearizability]") {
  // A counter: "write v" adds v, a read returns the sum.
  Model counter{"counter", false, Value::of(0), [](const Value& s, const Op& op) {
                  if (op.kind == OpKind::kWrite) {
                    return std::optional<Value>(Value::of(s.as_int() + op.value.as_int()));
                  }
                  return op.value == s ? std::optional<Value>(s) : std::nullopt;
                }};
  History h;
  h.invoke(1, ms(0), Op::write("c", 2));
  h.invoke(2, ms(0), Op::write("c", 3));
  h.ok(1, ms(1));
  h.ok(2, ms(1));
  h.invoke(1, ms(2), Op::read("c"));
  h.ok(1, ms(3), Value::of(5));
  CHECK(check_linearizable(h, counter).ok);
  h.invoke(1, ms(4), Op::read("c"));
  h.ok(1, ms(5), Value::of(3));
  CHECK_FALSE(check_linearizable(h, counter).ok);
}

TEST_CASE("linearizability: bad input and exhausted budgets do not pass silently",
          "[check][linearizability]") {
  History txn;
  txn.invoke(1, ms(0), Op::transaction({MicroOp::write("x", 1)}));
  txn.ok(1, ms(1));
  CHECK_THROWS_WITH(check_linearizable(txn, Model::key_value()),
                    Catch::Contains("check_strict_serializable"));
  History h = testing_support::generate(9, {.clients = 8, .ops = 300, .keys = 1});
  LinearizabilityOptions tiny;
  tiny.max_configurations_per_key = 5;
  CheckResult r = check_linearizable(h, Model::key_value(), tiny);
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("inconclusive"));
}

TEST_CASE("linearizability: random correct histories pass and mutated ones fail",
          "[check][linearizability][random]") {
  std::uint64_t seed = GENERATE(range(1, 61));
  testing_support::GenOptions o;
  o.clients = 6;
  o.ops = 150;
  o.keys = 1 + static_cast<int>(seed % 4);
  o.info_pct = 20;  // in-doubt writes and cas chains exercise the unknown-outcome pruning
  History h = testing_support::generate(seed, o);
  CheckResult good = check_linearizable(h, Model::key_value());
  INFO("seed " << seed << "\n" << good.to_string());
  REQUIRE(good.ok);
  History stale = h;
  if (testing_support::make_stale_read(stale)) {
    CheckResult r = check_linearizable(stale, Model::key_value());
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.details, Catch::Contains("<== cannot take effect"));
  }
  History future = h;
  REQUIRE(testing_support::make_future_read(future));
  CHECK_FALSE(check_linearizable(future, Model::key_value()).ok);
}

TEST_CASE("linearizability: a 10,000-operation history on 200 keys is checked",
          "[check][linearizability][.slow]") {
  History h = testing_support::generate(
      42, {.clients = 10, .ops = 10'000, .keys = 200, .read_pct = 50, .write_pct = 40});
  CHECK(check_linearizable(h, Model::key_value()).ok);
  REQUIRE(testing_support::make_future_read(h));
  CHECK_FALSE(check_linearizable(h, Model::key_value()).ok);
}

namespace {

/// Reference decision by enumeration: every subset of the unknown-outcome operations, every
/// order of the chosen ones that respects real time, run through the model.
bool brute_force_linearizable(const History& h, const Model& model) {
  std::vector<Operation> all = h.operations();
  std::vector<Operation> ops;
  for (const Operation& op : all) {
    if (op.outcome != Outcome::kFail && !(op.unknown() && op.op.kind == OpKind::kRead)) {
      ops.push_back(op);
    }
  }
  std::vector<std::size_t> unknown;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].unknown()) {
      unknown.push_back(i);
    }
  }
  for (std::uint32_t mask = 0; mask < (1u << unknown.size()); ++mask) {
    std::vector<std::size_t> chosen;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      auto u = std::find(unknown.begin(), unknown.end(), i);
      if (u == unknown.end() || (mask >> (u - unknown.begin())) & 1u) {
        chosen.push_back(i);
      }
    }
    std::sort(chosen.begin(), chosen.end());
    do {
      bool valid = true;
      for (std::size_t a = 0; a < chosen.size() && valid; ++a) {
        for (std::size_t b = a + 1; b < chosen.size() && valid; ++b) {
          // b is placed after a: a must not have been invoked after b returned.
          const Operation& x = ops[chosen[a]];
          const Operation& y = ops[chosen[b]];
          valid = !(y.ok() && y.complete_event < x.invoke_event);
        }
      }
      Value state = model.initial;
      for (std::size_t k = 0; k < chosen.size() && valid; ++k) {
        std::optional<Value> next = model.step(state, ops[chosen[k]].op);
        valid = next.has_value();
        if (valid) {
          state = *next;
        }
      }
      if (valid) {
        return true;
      }
    } while (std::next_permutation(chosen.begin(), chosen.end()));
  }
  return false;
}

}  // namespace

TEST_CASE("linearizability: agrees with brute force on small random histories",
          "[check][linearizability][random]") {
  std::uint64_t seed = GENERATE(range(1, 1201));
  Rng rng(seed);
  // Up to 6 operations on one register from 3 clients, with arbitrary (often wrong) results.
  testing_support::Builder b;
  std::vector<std::int64_t> free_at(3, 0);
  std::int64_t next_value = 1;
  auto n = rng.uniform_int(2, 6);
  for (std::int64_t i = 0; i < n; ++i) {
    auto c = static_cast<std::size_t>(rng.below(3));
    std::int64_t from = free_at[c] + rng.uniform_int(0, 3);
    std::int64_t to = from + rng.uniform_int(1, 6);
    free_at[c] = to + 1;
    auto pick_value = [&]() {
      auto r = rng.below(4);
      return r == 0 ? Value::nil()
                    : Value::of(r == 3 ? 99 : rng.uniform_int(1, std::max<std::int64_t>(
                                                                     1, next_value)));
    };
    Op op;
    auto kind = rng.below(3);
    if (kind == 0) {
      op = Op::write("x", next_value++);
    } else if (kind == 1) {
      op = Op::cas("x", pick_value(), next_value++);
    } else {
      op = Op::read("x");
    }
    auto outcome = rng.below(10);
    EventType end = outcome < 6   ? EventType::kOk
                    : outcome < 9 ? EventType::kInfo
                                  : EventType::kFail;
    Op result = op;
    if (op.kind == OpKind::kRead) {
      result.value = pick_value();
    }
    b.op(static_cast<std::int64_t>(c), from, to, op, end, result);
  }
  History h = b.build();
  bool expected = brute_force_linearizable(h, Model::key_value());
  CheckResult r = check_linearizable(h, Model::key_value());
  INFO("seed " << seed << "\n" << r.to_string());
  CHECK(r.ok == expected);
  if (!r.ok) {
    CHECK_THAT(r.details, Catch::Contains("<== cannot take effect"));
  }
}

TEST_CASE("linearizability: a history saved as JSON lines gets the same verdict offline",
          "[check][linearizability][json]") {
  History h = testing_support::generate(11, {.clients = 6, .ops = 200, .keys = 2});
  REQUIRE(testing_support::make_future_read(h));
  std::stringstream file;
  h.save_jsonl(file);
  History loaded = History::load_jsonl(file, "bug.jsonl");
  CheckResult before = check_linearizable(h, Model::key_value());
  CheckResult after = check_linearizable(loaded, Model::key_value());
  CHECK_FALSE(after.ok);
  CHECK(after.summary == before.summary);
  CHECK(after.details == before.details);
}
