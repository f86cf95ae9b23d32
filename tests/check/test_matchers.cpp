#include "generators.hpp"

#include <faultline/testing/check_matchers.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::check;
using faultline::testing::HasNoStaleReadsOrLostUpdates;
using faultline::testing::IsExactlyOnce;
using faultline::testing::IsLinearizable;
using faultline::testing::IsStrictlySerializable;
using faultline::testing::Passes;
using testing_support::ms;

TEST_CASE("matchers: a correct history satisfies the history matchers", "[check][matchers]") {
  History h = testing_support::generate(5, {});
  REQUIRE_THAT(h, IsLinearizable(Model::key_value()));
  REQUIRE_THAT(h, HasNoStaleReadsOrLostUpdates());
  History t = testing_support::generate(5, {.transactions = true});
  REQUIRE_THAT(t, IsStrictlySerializable());
}

TEST_CASE("matchers: a broken history fails the matcher and describes why",
          "[check][matchers]") {
  History h;
  h.invoke(1, ms(0), Op::write("x", 1));
  h.ok(1, ms(1));
  h.invoke(1, ms(2), Op::write("x", 2));
  h.ok(1, ms(3));
  h.invoke(2, ms(4), Op::read("x"));
  h.ok(2, ms(5), Value::of(1));
  auto m = IsLinearizable(Model::key_value());
  CHECK_FALSE(m.match(h));
  CHECK_THAT(m.describe(), Catch::Contains("is linearizable (key-value model)"));
  CHECK_THAT(m.describe(), Catch::Contains("<== cannot take effect"));
  REQUIRE_THAT(h, !IsLinearizable(Model::key_value()));
  REQUIRE_THAT(h, !HasNoStaleReadsOrLostUpdates());
}

TEST_CASE("matchers: exactly-once and generic verdicts", "[check][matchers]") {
  History h;
  h.invoke(1, ms(0), Op::request("ik_1"));
  h.ok(1, ms(1));
  REQUIRE_THAT(h, IsExactlyOnce({{"ik_1", ms(0), "charged"}}));
  REQUIRE_THAT(h, !IsExactlyOnce({{"ik_1", ms(0), "charged"}, {"ik_1", ms(1), "charged"}}));
  REQUIRE_THAT(CheckResult::pass("x", "fine"), Passes());
  REQUIRE_THAT(CheckResult::fail("x", "broken", "why"), !Passes());
}
