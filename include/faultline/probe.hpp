// Code probes: named points on the paths a test wants to know it reached (a Paxos leader change,
// a hinted handoff replayed), in the spirit of FoundationDB's CODE_PROBE. A sweep reports how
// many seeds reached each probe and which probes no seed reached: a recovery path that no seed
// exercises is a path the sweep does not test.
//
// A probe is defined once, at namespace scope in the model's .cpp, so every probe of the
// program is registered before any run (which is how a sweep knows the ones never reached):
//
//   namespace { const faultline::ProbePoint kLeaderChange("spanner/paxos/leader-change"); }
//   ...
//   FAULTLINE_PROBE(sim, kLeaderChange);   // on the path
//
// Names are "<model>/<what>" (the sweep lists a model's probes by the prefix). Reaching a probe
// adds one to the run's counter "probe/<name>" (Metrics): no trace record, no random draw, so
// trace hashes do not change; a probe never reached costs nothing at run time, and one reached
// costs a counter lookup, once per recovery event, not per message.
#pragma once

#include <faultline/simulation.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace faultline {

inline constexpr std::string_view kProbeMetricPrefix = "probe/";

class ProbePoint {
public:
  /// Registers the probe for the program's lifetime (define at namespace scope).
  explicit ProbePoint(std::string_view name);
  ProbePoint(const ProbePoint&) = delete;
  ProbePoint& operator=(const ProbePoint&) = delete;

  void hit(Simulation& sim) const { sim.metrics().counter(metric_).inc(); }
  const std::string& name() const { return name_; }

private:
  std::string name_;
  std::string metric_;
};

/// Every registered probe's name, sorted, each once.
std::vector<std::string> registered_probes();

}  // namespace faultline

/// Marks a probe reached in `sim` (a macro like FAULTLINE_ASSERT: it reads as an annotation of
/// the path, and is the one spelling `grep` finds).
#define FAULTLINE_PROBE(sim, point) (point).hit(sim)
