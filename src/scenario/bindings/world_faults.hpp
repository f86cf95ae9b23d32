// JSON → world::FaultSpec / RandomFaultSpec for the "faults" section, shared by every model
// binding that runs on the world layer. Private to the scenario layer.
//
//   {"kind": "latency", "at": "20s", "for": "3s", "amount": "1s",
//    "target": "group:tier/metadata", "peer": "all", "one_way": false}
//   {"kind": "crash", "target": "group:tier/api", "pick": "node", "mean_interval": "10m",
//    "start": "0s", "end": "1h", "for": "30s"}            (random: has "mean_interval")
#pragma once

#include <faultline/scenario/json_reader.hpp>
#include <faultline/world/fault.hpp>
#include <faultline/world/params.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace faultline::scenario::bindings {

struct FaultPlan {
  std::vector<world::FaultSpec> scheduled;
  std::vector<world::RandomFaultSpec> random;
  std::vector<std::string> scheduled_pointers;  // where each fault is written
  std::vector<std::string> random_pointers;
  Source source;  // a copy: the plan outlives the parse
};

/// Parses /faults. `groups` are the node groups the model creates ("tier/api"), used to check
/// group targets with a did-you-mean; `duration` bounds fault times.
FaultPlan parse_faults(const Json* faults, const Source& source, Duration duration,
                       const std::vector<std::string>& groups);

/// Schedules the plan on a world's fault injector. A target the world does not know (a node
/// name that does not exist) becomes a ScenarioError at that fault's path.
void schedule_faults(world::FaultInjector& injector, const FaultPlan& plan);

/// Reads a host clock object into `out` (fields absent keep their value):
///   {"leap_mode": "kernel-2012", "drift_ppm": 5, "initial_offset": "0s", "ntp_enabled": true,
///    "ntp_poll_interval": "64s", "ntp_correction": "step-or-slew",
///    "smear": {"before": "12h", "after": "12h"}}
void read_clock(ObjectReader& r, world::ClockParams& out);
/// A leap-smear window: {"before": "12h", "after": "12h", "shape": "linear" | "cosine"}.
void read_smear(ObjectReader& r, world::SmearParams& out);

/// Reads the background timed-wait threads of a server process (world/timed_waits.hpp):
/// "timed_wait_threads" (at most `max_threads`), "timed_wait" and "cpu_slice"; the docs of the
/// first and the last (literals) say what they mean to the model that reads them.
void read_timed_wait_threads(ObjectReader& r, int& threads, Duration& wait, Duration& cpu_slice,
                             int max_threads, Doc threads_doc, Doc slice_doc);

/// Reads a list of inserted leap seconds, each named by the UTC midnight after it
/// (["2012-07-01T00:00:00Z"]), at `key` of `r`.
void read_leap_seconds(ObjectReader& r, std::string_view key, std::vector<UtcInstant>& out);

/// What one run may allocate, checked before it starts rather than discovered as bad_alloc
/// minutes into it. Each throws a ScenarioError at `key` of `r` naming the limit.
inline constexpr double kMaxRequestsPerClient = 1e8;
inline constexpr std::int64_t kMaxSamplesPerRun = 1'000'000;
inline constexpr std::int64_t kMaxRandomFaultsPerRun = 1'000'000;
/// A rate that would issue more than kMaxRequestsPerClient requests over the run.
void check_request_count(const ObjectReader& r, std::string_view key, double rate_per_s,
                         Duration run);
/// A sampling interval that would take more than kMaxSamplesPerRun samples over the run.
void check_sample_count(const ObjectReader& r, std::string_view key, Duration every,
                        Duration run);

/// Turns "tiers[1].dependencies[0].tier: problem; fix" from a params validate() into an
/// error at /<base>/tiers/1/dependencies/0/tier.
ScenarioError params_error(const std::string& message, const std::string& base_pointer,
                           const Source& source);

/// Runs each params struct's validate() in order; the first std::invalid_argument becomes a
/// params_error under /model/params. Every binding checks its params through this.
template <class... Params>
void validate_at(const Source& source, const Params&... params) {
  try {
    (params.validate(), ...);
  } catch (const std::invalid_argument& e) {
    throw params_error(e.what(), "/model/params", source);
  }
}

}  // namespace faultline::scenario::bindings
