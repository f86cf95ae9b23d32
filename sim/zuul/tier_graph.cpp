// The stack's tiers (the API origins and the microservices) as tiers of a service graph
// (sim/services): what sim/zuul's params say, in the graph's terms.
//
// An instance holds at most max_in_flight requests and sheds beyond (no admission queue), runs
// an exponential `cpu` on its host, calls its `calls` in order (each a timeout, max_attempts
// attempts at once on the next instance that is not ejected, then a fallback or a failure),
// then runs the tier's hook (its EVCache reads, cache_reads.cpp). An origin that fails a
// request itself answers a 500 (server_error), which Zuul does not retry; a microservice
// answers a 503 (overloaded), which its caller retries on another instance.
#include "internal.hpp"

#include <algorithm>

namespace faultline::sim::zuul {

services::ServiceGraphParams graph_params(const StackParams& p, int region) {
  const RegionParams rp = p.region_list()[static_cast<std::size_t>(region)];
  auto named = [&](const std::string& tier) { return region_stem(tier, rp, region); };
  std::vector<std::string> origins;
  auto add_origin = [&](const RouteParams& r) {
    origins.push_back(r.origin);
    if (!r.failover_origin.empty()) {
      origins.push_back(r.failover_origin);
    }
  };
  for (const auto& r : p.zuul.routes) {
    add_origin(r);
  }
  for (const auto& c : p.zuul.route_changes) {
    add_origin(c.route);
  }
  services::ServiceGraphParams g;
  g.zones = rp.zones;  // the region's zones, shared with the stack's world by name
  g.sample_interval = Duration::zero();  // the stack measures its own; weeks-long runs
  for (const auto& t : p.tiers) {
    services::TierParams st;
    st.name = named(t.name);
    st.instances = t.instances;
    st.cores = t.cores;
    if (t.cpu > Duration::zero()) {
      st.service_time = {.kind = services::ServiceTime::Kind::exponential, .mean = t.cpu};
    } else {
      st.service_time = {.kind = services::ServiceTime::Kind::fixed, .mean = Duration::nanos(1)};
    }
    st.admission.max_concurrency = t.max_in_flight;
    st.queue_when_busy = false;
    const bool origin = std::find(origins.begin(), origins.end(), t.name) != origins.end();
    st.dependency_failure =
        origin ? resilience::Outcome::server_error : resilience::Outcome::overloaded;
    st.request_bytes = kRequestBytes;
    st.response_bytes = kReplyBytes;
    for (const auto& c : t.calls) {
      services::DependencyParams d;
      d.tier = named(c.tier);
      d.fallback = c.fallback;
      d.policy.timeout.timeout = c.timeout;
      d.policy.retry = {.max_attempts = c.max_attempts,
                        .base = Duration::zero(),
                        .jitter = resilience::Jitter::none};
      d.policy.eject_for = p.zuul.eject_for;
      st.dependencies.push_back(d);
    }
    g.tiers.push_back(st);
  }
  return g;
}

}  // namespace faultline::sim::zuul
