// The common verdict of every checker.
//
// Scenario expectations name a checker and read its verdict; unit tests assert on it through
// the Catch2 matchers in <faultline/testing/check_matchers.hpp>. One shape for all checkers
// keeps both of those generic: `ok`, which checker spoke, a one-line summary a person reads
// first, and details (a minimal failing sub-history, the offending records) for the bug report.
#pragma once

#include <string>
#include <utility>

namespace faultline::check {

struct CheckResult {
  bool ok = true;
  /// The checker's stable name, e.g. "linearizability", "exactly-once"; scenario files use it.
  std::string checker;
  /// One line: what was checked and the verdict ("history of 1200 ops on 40 keys is ...").
  std::string summary;
  /// Multi-line explanation of a failure (empty when ok): the evidence a person needs.
  std::string details;

  explicit operator bool() const { return ok; }

  static CheckResult pass(std::string checker, std::string summary) {
    return CheckResult{true, std::move(checker), std::move(summary), {}};
  }
  static CheckResult fail(std::string checker, std::string summary, std::string details) {
    return CheckResult{false, std::move(checker), std::move(summary), std::move(details)};
  }
  /// "linearizability: ok: ..." or "linearizability: FAILED: ...\n<details>".
  std::string to_string() const;
};

}  // namespace faultline::check
