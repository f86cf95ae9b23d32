// The common verdict of every checker.
//
// Scenario expectations name a checker and read its verdict; unit tests assert on it through
// the Catch2 matchers in <faultline/testing/check_matchers.hpp>. One shape for all checkers
// keeps both of those generic: `ok`, which checker spoke, a one-line summary a person reads
// first, and details (a minimal failing sub-history, the offending records) for the bug report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::check {

/// kPass: the property holds. kFail: a violation was found (details show it). kInconclusive:
/// the checker ran out of its budget (time, memory, configurations) before deciding; nothing
/// is known either way, and `ok` is false so that an undecided check never passes silently.
enum class Verdict : std::uint8_t { kPass, kFail, kInconclusive };
/// "pass", "fail", "inconclusive".
std::string_view to_string(Verdict v);

struct CheckResult {
  bool ok = true;
  /// The checker's stable name, e.g. "linearizability", "exactly-once"; scenario files use it.
  std::string checker;
  /// One line: what was checked and the verdict ("history of 1200 ops on 40 keys is ...").
  std::string summary;
  /// Multi-line explanation of a failure (empty when ok): the evidence a person needs.
  std::string details;
  /// Set with ok == false when the checker could not decide (see Verdict::kInconclusive).
  /// A flag beside `ok` rather than a replacement, so code that sets only `ok` stays right.
  bool inconclusive = false;
  /// Linearizability failures: the operations (History::operations() ids) of the first
  /// failing key's witness sub-history, and the one among them that cannot take effect.
  /// Checked alone (all events of those operations), the witness fails for that operation.
  std::vector<std::size_t> witness = {};
  std::optional<std::size_t> culprit = std::nullopt;

  explicit operator bool() const { return ok; }
  Verdict verdict() const {
    return ok ? Verdict::kPass : inconclusive ? Verdict::kInconclusive : Verdict::kFail;
  }

  static CheckResult pass(std::string checker, std::string summary) {
    return CheckResult{true, std::move(checker), std::move(summary), {}};
  }
  static CheckResult fail(std::string checker, std::string summary, std::string details) {
    return CheckResult{false, std::move(checker), std::move(summary), std::move(details)};
  }
  static CheckResult undecided(std::string checker, std::string summary, std::string details) {
    return CheckResult{false, std::move(checker), std::move(summary), std::move(details), true};
  }
  /// "linearizability: ok: ...", "linearizability: FAILED: ...\n<details>" or
  /// "linearizability: INCONCLUSIVE: ...\n<details>".
  std::string to_string() const;
};

}  // namespace faultline::check
