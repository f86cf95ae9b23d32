// Witnesses: the failing sub-history a linearizability failure prints keeps every operation
// the failure depends on, so that, checked alone, it fails for the same operation.
//
// Shown able to fail: with the shrinking accepting any failing trial (not only those whose
// shortest failing prefix ends at the culprit), this test reports witnesses that fail for a
// different operation (see the commit that added it).
#include "reference.hpp"

#include <faultline/check/linearizability.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::check;

namespace {

/// The witness alone: every event of its operations, nothing else.
History witness_history(const History& h, const CheckResult& r) {
  std::vector<Operation> ops = h.operations();
  std::vector<bool> keep(h.events().size(), false);
  for (std::size_t id : r.witness) {
    keep[ops[id].invoke_event] = true;
    if (ops[id].complete_event != static_cast<std::size_t>(-1)) {
      keep[ops[id].complete_event] = true;
    }
  }
  History out;
  out.set_initial(h.initial().value_or(Value::nil()));
  for (std::size_t i = 0; i < h.events().size(); ++i) {
    if (keep[i]) {
      out.add(h.events()[i]);
    }
  }
  return out;
}

/// Re-checks the witness of a failing result alone; returns false (with INFO) on a mismatch.
void require_witness_fails_alike(const History& h, const Model& model, const CheckResult& r) {
  REQUIRE(r.culprit.has_value());
  REQUIRE(std::find(r.witness.begin(), r.witness.end(), *r.culprit) != r.witness.end());
  History w = witness_history(h, r);
  CheckResult again = check_linearizable(w, model);
  INFO("original:\n" << r.to_string() << "\nwitness re-checked:\n" << again.to_string());
  REQUIRE(again.verdict() == Verdict::kFail);
  REQUIRE(again.culprit.has_value());
  const Operation a = h.operations()[*r.culprit];
  const Operation b = w.operations()[*again.culprit];
  CHECK(a.client == b.client);
  CHECK(a.invoke_time == b.invoke_time);
  CHECK(a.op == b.op);
}

}  // namespace

TEST_CASE("witness: each witness of a small failing history fails alone for the same operation",
          "[check][linearizability][witness]") {
  std::size_t failing = 0;
  for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
    for (reference::Shape shape : {reference::Shape::kRegister, reference::Shape::kListAppend}) {
      reference::SmallHistory s = reference::small_history(seed, shape, 12);
      Model model = Model::register_model(s.initial);
      CheckResult r = check_linearizable(s.history, model);
      if (r.verdict() != Verdict::kFail) {
        continue;
      }
      ++failing;
      INFO("seed " << seed);
      require_witness_fails_alike(s.history, model, r);
    }
  }
  CHECK(failing > 500);
}

TEST_CASE("witness: witnesses of large mutated histories fail alone for the same operation",
          "[check][linearizability][witness]") {
  std::uint64_t seed = GENERATE(range(1, 31));
  testing_support::GenOptions o;
  o.clients = 6;
  o.ops = 200;
  o.keys = 2;
  o.info_pct = 20;
  History h = testing_support::generate(seed, o);
  History stale = h;
  if (testing_support::make_stale_read(stale)) {
    CheckResult r = check_linearizable(stale, Model::key_value());
    REQUIRE(r.verdict() == Verdict::kFail);
    require_witness_fails_alike(stale, Model::key_value(), r);
  }
  REQUIRE(testing_support::make_future_read(h));
  CheckResult r = check_linearizable(h, Model::key_value());
  REQUIRE(r.verdict() == Verdict::kFail);
  require_witness_fails_alike(h, Model::key_value(), r);
}
