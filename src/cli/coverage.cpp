#include "coverage.hpp"

#include <faultline/probe.hpp>

#include <fmt/format.h>

#include <map>

namespace faultline::cli {
namespace {

// Long lists (random faults over hundreds of nodes) are cut here; --json has them all.
constexpr std::size_t kMaxListed = 12;

struct Tally {
  std::size_t seeds = 0;
  std::uint64_t times = 0;
};

std::map<std::string, Tally> tally(
    const std::vector<const scenario::RunResult*>& runs,
    std::vector<std::pair<std::string, std::uint64_t>> scenario::RunResult::*field) {
  std::map<std::string, Tally> out;
  for (const auto* run : runs) {
    for (const auto& [name, n] : run->*field) {
      auto& t = out[name];
      t.seeds += n > 0 ? 1 : 0;
      t.times += n;
    }
  }
  return out;
}

std::string listed(const std::map<std::string, Tally>& t, std::size_t runs) {
  std::string s;
  std::size_t shown = 0;
  for (const auto& [name, n] : t) {
    if (shown == kMaxListed) {
      s += fmt::format(", and {} more (see --json)", t.size() - kMaxListed);
      break;
    }
    s += fmt::format("{}{} ×{} in {}/{} seeds", shown ? ", " : "", name, n.times, n.seeds, runs);
    ++shown;
  }
  return s;
}

}  // namespace

std::string sweep_coverage(const std::vector<const scenario::RunResult*>& runs,
                           const std::string& model, bool quiet) {
  if (runs.empty()) {
    return {};
  }
  std::string out;
  const auto faults = tally(runs, &scenario::RunResult::faults_fired);
  const auto probes = tally(runs, &scenario::RunResult::probes);
  if (!quiet && !faults.empty()) {
    out += "  faults fired: " + listed(faults, runs.size()) + "\n";
  }
  if (!quiet && !probes.empty()) {
    out += "  probes reached: " + listed(probes, runs.size()) + "\n";
  }
  std::string unreached;
  const std::string prefix = model + "/";
  for (const auto& name : registered_probes()) {
    if (name.starts_with(prefix) && !probes.contains(name)) {
      unreached += (unreached.empty() ? "" : ", ") + name;
    }
  }
  if (!unreached.empty()) {
    out += "  probes no seed reached: " + unreached + "\n";
  }
  return out;
}

}  // namespace faultline::cli
