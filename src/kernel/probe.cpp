#include <faultline/probe.hpp>

#include <algorithm>

namespace faultline {
namespace {

// Filled during static initialisation (probes are namespace-scope objects), read afterwards;
// a function-local static so that it exists before the first probe of any translation unit.
std::vector<std::string>& registry() {
  static std::vector<std::string> names;
  return names;
}

}  // namespace

ProbePoint::ProbePoint(std::string_view name)
    : name_(name), metric_(std::string(kProbeMetricPrefix) + std::string(name)) {
  registry().push_back(name_);
}

std::vector<std::string> registered_probes() {
  auto names = registry();
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace faultline
