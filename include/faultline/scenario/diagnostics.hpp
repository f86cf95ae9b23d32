// Errors in scenario input, and the helpers that make them actionable.
//
// Every problem with a scenario file (unknown key, wrong type, bad duration, impossible value,
// missing file) becomes a ScenarioError that names the file, the JSON pointer of the offending
// value and how to fix it: "scenarios/x.json: /model/params/timeout: "25 0ms" is not a
// duration; use e.g. "250ms"". The CLI prints what() and exits with code 2.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::scenario {

class ScenarioError : public std::runtime_error {
public:
  /// `file` may be empty (input not from a file); `pointer` is an RFC 6901 JSON pointer ("" is
  /// the document root); `problem` says what is wrong and `fix` what to do instead.
  ScenarioError(std::string file, std::string pointer, std::string problem, std::string fix = {});

  const std::string& file() const { return file_; }
  const std::string& pointer() const { return pointer_; }
  const std::string& problem() const { return problem_; }
  const std::string& fix() const { return fix_; }

private:
  std::string file_;
  std::string pointer_;
  std::string problem_;
  std::string fix_;
};

/// Several independent errors of one input, reported together (as a compiler does): the
/// first one's file, pointer, problem and fix are this error's own; what() lists every one,
/// one per line.
class ScenarioErrors : public ScenarioError {
public:
  /// `errors` must not be empty; nested ScenarioErrors are flattened, duplicates dropped.
  explicit ScenarioErrors(const std::vector<ScenarioError>& errors);
  const char* what() const noexcept override { return all_.c_str(); }
  const std::vector<ScenarioError>& errors() const { return errors_; }

private:
  std::vector<ScenarioError> errors_;
  std::string all_;
};

/// Every error of a ScenarioError (one, or each of a ScenarioErrors).
std::vector<ScenarioError> each_error(const ScenarioError& e);

/// Gathers the errors of independent parts of an input so that all are reported at once.
class ErrorList {
public:
  /// Runs `part`; a ScenarioError it throws is recorded instead. True when it succeeded.
  template <typename F>
  bool attempt(F&& part) {
    try {
      part();
      return true;
    } catch (const ScenarioError& e) {
      add(e);
      return false;
    }
  }
  void add(const ScenarioError& e);
  bool empty() const { return errors_.empty(); }
  std::size_t size() const { return errors_.size(); }
  void clear() { errors_.clear(); }
  /// Throws the one error as it is, or a ScenarioErrors of all of them.
  void throw_if_any() const;

private:
  std::vector<ScenarioError> errors_;
};

/// Levenshtein distance (insert, delete, substitute all cost 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` by edit distance if it is close enough to be a plausible
/// typo (distance <= max(2, |word| / 3)), else empty.
std::string closest_match(std::string_view word, std::span<const std::string> candidates);

/// " (did you mean "x"?)" or, when nothing is close, " (expected one of: a, b, c)".
std::string suggestion(std::string_view word, std::span<const std::string> candidates);

}  // namespace faultline::scenario
