#include <faultline/scenario/diagnostics.hpp>

#include <algorithm>
#include <vector>

namespace faultline::scenario {
namespace {

std::string compose(const std::string& file, const std::string& pointer,
                    const std::string& problem, const std::string& fix) {
  std::string out;
  if (!file.empty()) {
    out += file + ": ";
  }
  out += (pointer.empty() ? std::string("/") : pointer) + ": " + problem;
  if (!fix.empty()) {
    out += "; " + fix;
  }
  return out;
}

}  // namespace

ScenarioError::ScenarioError(std::string file, std::string pointer, std::string problem,
                             std::string fix)
    : std::runtime_error(compose(file, pointer, problem, fix)),
      file_(std::move(file)),
      pointer_(std::move(pointer)),
      problem_(std::move(problem)),
      fix_(std::move(fix)) {}

std::vector<ScenarioError> each_error(const ScenarioError& e) {
  if (const auto* many = dynamic_cast<const ScenarioErrors*>(&e)) {
    return many->errors();
  }
  return {e};
}

ScenarioErrors::ScenarioErrors(const std::vector<ScenarioError>& errors)
    : ScenarioError(errors.at(0).file(), errors.at(0).pointer(), errors.at(0).problem(),
                    errors.at(0).fix()) {
  for (const auto& e : errors) {
    for (auto& one : each_error(e)) {
      const bool seen = std::any_of(errors_.begin(), errors_.end(), [&](const ScenarioError& x) {
        return std::string_view(x.what()) == one.what();
      });
      if (!seen) {
        all_ += (all_.empty() ? "" : "\n") + std::string(one.what());
        errors_.push_back(std::move(one));
      }
    }
  }
}

void ErrorList::add(const ScenarioError& e) {
  for (auto& one : each_error(e)) {
    errors_.push_back(std::move(one));
  }
}

void ErrorList::throw_if_any() const {
  if (errors_.size() == 1) {
    throw errors_.front();
  }
  if (!errors_.empty()) {
    throw ScenarioErrors(errors_);
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1);
  std::vector<std::size_t> cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(std::string_view word, std::span<const std::string> candidates) {
  std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string suggestion(std::string_view word, std::span<const std::string> candidates) {
  std::string best = closest_match(word, candidates);
  if (!best.empty()) {
    return "did you mean \"" + best + "\"?";
  }
  if (candidates.empty()) {
    return {};
  }
  std::string out = "expected one of: ";
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    out += (i ? ", " : "") + candidates[i];
  }
  return out;
}

}  // namespace faultline::scenario
