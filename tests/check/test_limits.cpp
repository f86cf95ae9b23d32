// Bounded search: early exit on the first failing key, every key on request, and the
// configuration, memory and time limits that make a verdict inconclusive instead of unbounded.
#include "generators.hpp"

#include <faultline/check/linearizability.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::check;

namespace {

/// A linearizable history on `keys` keys with a future read injected on every key.
History failing_on_every_key(int keys) {
  History h = testing_support::generate(
      7, {.clients = 6, .ops = 60 * keys, .keys = keys, .read_pct = 50, .write_pct = 40});
  for (int k = 0; k < keys; ++k) {
    std::vector<Operation> ops = h.operations();
    std::string key = "k" + std::to_string(k);
    for (const Operation& r : ops) {
      if (!r.ok() || r.op.kind != OpKind::kRead || r.op.key != key) {
        continue;
      }
      Event e = h.events()[r.complete_event];
      e.op.value = Value::of(1'000'000 + k);  // never written: fails on this key
      h = testing_support::with_event(h, r.complete_event, e);
      break;
    }
  }
  return h;
}

}  // namespace

TEST_CASE("limits: the check stops at the first failing key unless all keys are asked for",
          "[check][linearizability][limits]") {
  History h = failing_on_every_key(4);
  CheckResult first = check_linearizable(h, Model::key_value());
  CHECK(first.verdict() == Verdict::kFail);
  CHECK_THAT(first.summary, Catch::Contains("not linearizable on 1 key(s)"));
  CHECK_THAT(first.summary, Catch::Contains("3 key(s) not checked"));
  LinearizabilityOptions all;
  all.all_keys = true;
  CheckResult every = check_linearizable(h, Model::key_value(), all);
  CHECK(every.verdict() == Verdict::kFail);
  CHECK_THAT(every.summary, Catch::Contains("not linearizable on 4 key(s)"));
  for (int k = 0; k < 4; ++k) {
    CHECK_THAT(every.details, Catch::Contains("key \"k" + std::to_string(k) + "\""));
  }
}

TEST_CASE("limits: an exhausted memory limit is inconclusive, never a pass or a fail",
          "[check][linearizability][limits]") {
  History h = testing_support::generate(9, {.clients = 8, .ops = 400, .keys = 1});
  REQUIRE(check_linearizable(h, Model::key_value()).verdict() == Verdict::kPass);
  LinearizabilityOptions tiny;
  tiny.memory_limit_bytes = 64 * 1024;  // the cache cannot grow past its first table
  CheckResult r = check_linearizable(h, Model::key_value(), tiny);
  CHECK(r.verdict() == Verdict::kInconclusive);
  CHECK_FALSE(r.ok);
  CHECK(r.inconclusive);
  CHECK_THAT(r.details, Catch::Contains("memory limit"));
  CHECK_THAT(r.to_string(), Catch::Contains("INCONCLUSIVE"));
}

TEST_CASE("limits: an exhausted time limit is inconclusive", "[check][linearizability][limits]") {
  // A list-append history on one key whose search is long (see bench/check_bench.cpp).
  History h;
  std::int64_t t = 0;
  for (int round = 0; round < 200; ++round) {
    for (int c = 0; c < 8; ++c) {
      h.invoke(c, testing_support::ms(t), Op::append("x", round % 3));
      ++t;
    }
    for (int c = 0; c < 8; ++c) {
      h.info(c, testing_support::ms(t));
    }
    ++t;
  }
  // Every appended value is read (so no in-doubt append can be pruned), and the list ends in a
  // value never appended: the search must try the subsets of 1,600 in-doubt appends.
  std::vector<std::int64_t> seen;
  for (int i = 0; i < 60; ++i) {
    seen.push_back(i % 3);
  }
  seen.push_back(9);
  h.invoke(0, testing_support::ms(t), Op::read("x"));
  h.ok(0, testing_support::ms(t + 1), Value::list(seen));
  LinearizabilityOptions quick;
  quick.time_limit = std::chrono::milliseconds(1);
  quick.max_configurations_per_key = std::uint64_t{1} << 40;
  CheckResult r = check_linearizable(h, Model::list_append(), quick);
  REQUIRE(r.verdict() == Verdict::kInconclusive);
  CHECK_THAT(r.details, Catch::Contains("time limit"));
}
