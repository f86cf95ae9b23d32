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

TEST_CASE("limits: keys searched on several threads give the same verdict, witness and text",
          "[check][linearizability][limits]") {
  // Correct histories, histories failing on one key somewhere, and failing on every key:
  // the parallel search must judge keys in key order exactly as the sequential one does.
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    History h = testing_support::generate(
        seed, {.clients = 6, .ops = 240, .keys = 8, .read_pct = 50, .write_pct = 40});
    if (seed % 3 == 1) {
      h = failing_on_every_key(8);
    } else if (seed % 3 == 2) {
      testing_support::make_stale_read(h);
    }
    for (bool all_keys : {false, true}) {
      LinearizabilityOptions one;
      one.all_keys = all_keys;
      LinearizabilityOptions many = one;
      many.threads = 4;
      CheckResult a = check_linearizable(h, Model::key_value(), one);
      CheckResult b = check_linearizable(h, Model::key_value(), many);
      INFO("seed " << seed << (all_keys ? ", all keys" : ", first failure"));
      CHECK(a.verdict() == b.verdict());
      CHECK(a.summary == b.summary);
      CHECK(a.details == b.details);
      CHECK(a.witness == b.witness);
      CHECK(a.culprit == b.culprit);
    }
  }
}

TEST_CASE("limits: with several threads the memory limit is shared between the searches",
          "[check][linearizability][limits]") {
  // Two searches at once under a limit of 2L behave as one search under L: the verdict is
  // what the sequential check gives with half the memory. The limits span the point where
  // the sequential check turns from inconclusive to pass, so sharing is actually tested.
  History h = testing_support::generate(9, {.clients = 8, .ops = 800, .keys = 2});
  bool saw_pass = false;
  bool saw_inconclusive = false;
  for (std::size_t kib : {32, 64, 128, 256, 512, 1024, 2048, 4096}) {
    LinearizabilityOptions one;
    one.memory_limit_bytes = kib * 1024;
    LinearizabilityOptions two;
    two.threads = 2;
    two.memory_limit_bytes = 2 * kib * 1024;
    const Verdict sequential = check_linearizable(h, Model::key_value(), one).verdict();
    CheckResult shared = check_linearizable(h, Model::key_value(), two);
    INFO(kib << " KiB per search");
    CHECK(shared.verdict() == sequential);
    saw_pass = saw_pass || sequential == Verdict::kPass;
    saw_inconclusive = saw_inconclusive || sequential == Verdict::kInconclusive;
    if (shared.verdict() == Verdict::kInconclusive) {
      CHECK_THAT(shared.details, Catch::Contains("for each of 2 keys searched at once"));
    }
  }
  CHECK(saw_pass);
  CHECK(saw_inconclusive);
}
