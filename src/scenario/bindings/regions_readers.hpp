// The regions binding's readers of DNS steering and Chaos Kong, for bindings that steer their
// own regions with sim/regions' mechanism (sim/zuul's multi-region stack). The JSON keys are
// those of "model": {"name": "regions"} (docs/scenario.md).
#pragma once

#include <faultline/scenario/json_reader.hpp>
#include <faultline/sim/regions/dns.hpp>
#include <faultline/sim/regions/params.hpp>

namespace faultline::scenario::bindings {

/// "dns": {"ttl", "resolvers", "sticky_fraction", "sticky_extra"}.
void read_dns(ObjectReader& o, sim::regions::DnsParams& dns);
/// "evacuation": {"enabled", "region", "to", "start", "over", "steps"}; start within the run.
void read_evacuation(ObjectReader& o, sim::regions::EvacuationParams& e, Duration run);

}  // namespace faultline::scenario::bindings
