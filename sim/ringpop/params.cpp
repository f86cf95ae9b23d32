#include <faultline/sim/ringpop/params.hpp>

#include <set>
#include <stdexcept>

namespace faultline::sim::ringpop {

namespace {
[[noreturn]] void bad(const std::string& field, const std::string& problem) {
  throw std::invalid_argument(field + ": " + problem);
}
void positive(const std::string& field, Duration d) {
  if (d <= Duration::zero()) {
    bad(field, "must be positive");
  }
}
}  // namespace

std::uint32_t ceil_log10_plus_one(std::uint64_t n) {
  // ceil(log10(n + 1)): the number of decimal digits of n (0 for n = 0).
  std::uint32_t digits = 0;
  for (std::uint64_t v = n; v > 0; v /= 10) {
    ++digits;
  }
  return digits;
}

std::uint32_t piggyback_limit(std::uint32_t factor, std::uint64_t pingable) {
  return factor * ceil_log10_plus_one(pingable);
}

void DampingParams::validate() const {
  if (!(penalty >= 0.0)) {
    bad("swim.damping.penalty", "must be >= 0");
  }
  if (!(reuse_limit > 0.0) || !(suppress_limit > reuse_limit)) {
    bad("swim.damping.suppress_limit", "must exceed reuse_limit, which must be positive");
  }
  positive("swim.damping.half_life", half_life);
  positive("swim.damping.damp_req_timeout", damp_req_timeout);
  if (damp_req_size < 1 || damp_req_size > 64) {
    bad("swim.damping.damp_req_size", "must be within [1, 64]");
  }
  if (damp_req_quorum < 1 || damp_req_quorum > damp_req_size) {
    bad("swim.damping.damp_req_quorum", "must be within [1, damp_req_size]");
  }
}

void LifeguardParams::validate() const {
  if (max_multiplier < 1 || max_multiplier > 64) {
    bad("swim.lifeguard.max_multiplier", "must be within [1, 64]");
  }
  if (suspicion_max_mult < 1 || suspicion_max_mult > 100) {
    bad("swim.lifeguard.suspicion_max_mult", "must be within [1, 100]");
  }
  if (confirmations < 1 || confirmations > 100) {
    bad("swim.lifeguard.confirmations", "must be within [1, 100]");
  }
}

SwimParams SwimParams::ringpop_defaults() { return SwimParams{}; }

SwimParams SwimParams::memberlist_lan() {
  SwimParams p;
  p.min_protocol_period = Duration::seconds(1);
  p.adaptive_period = false;
  p.ping_timeout = Duration::millis(500);
  // memberlist's indirect probes must answer within the rest of the probe interval.
  p.ping_request_timeout = Duration::millis(500);
  p.ping_request_size = 3;
  p.suspect_timeout = Duration::seconds(4);  // SuspicionMult 4 x ProbeInterval 1 s
  p.suspect_timeout_scales_with_log_n = true;
  p.piggyback_factor = 4;  // RetransmitMult
  p.inconclusive_without_helper_answers = false;
  p.lifeguard.enabled = true;
  return p;
}

void SwimParams::validate() const {
  positive("swim.min_protocol_period", min_protocol_period);
  positive("swim.ping_timeout", ping_timeout);
  positive("swim.ping_request_timeout", ping_request_timeout);
  positive("swim.suspect_timeout", suspect_timeout);
  positive("swim.heal_interval", heal_interval);
  positive("swim.join_timeout", join_timeout);
  if (ping_request_size > 64) {
    bad("swim.ping_request_size", "must be within [0, 64]");
  }
  if (piggyback_factor < 1 || piggyback_factor > 1000) {
    bad("swim.piggyback_factor", "must be within [1, 1000]");
  }
  if (join_size < 1 || join_size > 64) {
    bad("swim.join_size", "must be within [1, 64]");
  }
  if (max_reverse_full_sync_jobs > 1000) {
    bad("swim.max_reverse_full_sync_jobs", "must be within [0, 1000]");
  }
  if (message_cpu < Duration::zero()) {
    bad("swim.message_cpu", "must be >= 0");
  }
  lifeguard.validate();
  damping.validate();
}

void ForwardParams::validate() const {
  if (retry_schedule.size() > 20) {
    bad("forward.retry_schedule", "has more than 20 retries; give at most 20");
  }
  for (std::size_t i = 0; i < retry_schedule.size(); ++i) {
    if (retry_schedule[i] < Duration::zero()) {
      bad("forward.retry_schedule[" + std::to_string(i) + "]", "must be >= 0");
    }
  }
  positive("forward.timeout", timeout);
  if (handle_cpu < Duration::zero()) {
    bad("forward.handle_cpu", "must be >= 0");
  }
}

void RingParams::validate() const {
  if (replica_points < 1 || replica_points > 10000) {
    bad("ring.replica_points", "must be within [1, 10000]");
  }
}

void ClusterParams::validate() const {
  if (members < 1 || members > 100000) {
    bad("members", "must be within [1, 100000]");
  }
  if (zones.empty()) {
    bad("zones", "is empty; name at least one zone");
  }
  std::set<std::string> zone_set(zones.begin(), zones.end());
  if (zone_set.size() != zones.size()) {
    bad("zones", "names a zone twice; give each zone once");
  }
  if (seeds < 1 || seeds > members) {
    bad("seeds", "must be within [1, members]");
  }
  std::set<std::string> joiners;
  for (std::size_t i = 0; i < late_joins.size(); ++i) {
    const auto& j = late_joins[i];
    const std::string f = "late_joins[" + std::to_string(i) + "]";
    bool known = false;
    for (std::uint32_t m = seeds; m < members && !known; ++m) {
      known = j.member == "ringpop-" + std::to_string(m);
    }
    if (!known) {
      bad(f + ".member", "'" + j.member + "' is not a non-seed member; use ringpop-<i> with " +
                             std::to_string(seeds) + " <= i < members");
    }
    if (!joiners.insert(j.member).second) {
      bad(f + ".member", "joins twice; give each member once");
    }
    if (j.at < Duration::zero()) {
      bad(f + ".at", "must be >= 0");
    }
  }
  swim.validate();
  ring.validate();
  forward.validate();
}

}  // namespace faultline::sim::ringpop
