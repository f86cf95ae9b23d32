// Catch2 v2 matchers over the check layer, for users' unit tests:
//
//   REQUIRE_THAT(history, faultline::testing::IsLinearizable(Model::key_value()));
//   REQUIRE_THAT(history, faultline::testing::IsStrictlySerializable());
//   REQUIRE_THAT(history, faultline::testing::HasNoStaleReadsOrLostUpdates());
//   REQUIRE_THAT(history, faultline::testing::IsExactlyOnce(effects));
//   REQUIRE_THAT(monitor.result(), faultline::testing::Passes());
//
// On failure Catch prints the checker's summary and details (the minimal failing sub-history).
// Header-only; include it only from code that already has Catch2 (<catch2/catch.hpp>).
#pragma once

#include <faultline/check/check.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace Catch {
template <>
struct StringMaker<faultline::check::History> {
  static std::string convert(const faultline::check::History& h) {
    return "a history of " + std::to_string(h.size()) + " events";
  }
};
template <>
struct StringMaker<faultline::check::CheckResult> {
  static std::string convert(const faultline::check::CheckResult& r) { return r.to_string(); }
};
}  // namespace Catch

namespace faultline::testing {

/// A matcher that runs a checker on the argument and reports its verdict. `match` is const in
/// Catch2, and describe() is called after it, so the last verdict is kept as mutable state.
template <typename T>
class CheckerMatcher : public Catch::MatcherBase<T> {
public:
  CheckerMatcher(std::string what, std::function<check::CheckResult(const T&)> run)
      : what_(std::move(what)), run_(std::move(run)) {}

  bool match(const T& arg) const override {
    last_ = run_(arg);
    return last_.ok;
  }
  std::string describe() const override {
    std::string s = what_;
    if (!last_.summary.empty()) {
      s += "\n  " + last_.checker + ": " + last_.summary;
    }
    if (!last_.details.empty()) {
      s += "\n" + last_.details;
    }
    return s;
  }

private:
  std::string what_;
  std::function<check::CheckResult(const T&)> run_;
  mutable check::CheckResult last_;
};

inline CheckerMatcher<check::History> IsLinearizable(check::Model model,
                                                     check::LinearizabilityOptions options = {}) {
  std::string what = "is linearizable (" + model.name + " model)";
  return {std::move(what), [model = std::move(model), options](const check::History& h) {
            return check::check_linearizable(h, model, options);
          }};
}

inline CheckerMatcher<check::History> IsStrictlySerializable() {
  return {"is strictly serializable (commit timestamps)", [](const check::History& h) {
            return check::check_strict_serializable(h);
          }};
}

inline CheckerMatcher<check::History> HasNoStaleReadsOrLostUpdates() {
  return {"has no stale reads or lost updates", [](const check::History& h) {
            return check::check_stale_reads_and_lost_updates(h);
          }};
}

/// Matches a history of requests against the effects the server applied.
inline CheckerMatcher<check::History> IsExactlyOnce(std::vector<check::Effect> effects) {
  return {"had each request take effect exactly once",
          [effects = std::move(effects)](const check::History& h) {
            return check::check_exactly_once(h, effects);
          }};
}

/// Matches any CheckResult (an invariant monitor's, a liveness check's, an outbox check's).
inline CheckerMatcher<check::CheckResult> Passes() {
  return {"passes its check", [](const check::CheckResult& r) { return r; }};
}

}  // namespace faultline::testing
