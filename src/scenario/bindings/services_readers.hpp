// The service-graph binding's readers of tiers, client populations and call policies, for
// bindings that put a service graph beside their own model in one World (ringpop's maps tier).
// The JSON keys are those of "model": {"name": "services"} (docs/scenario.md).
#pragma once

#include <faultline/scenario/json_reader.hpp>
#include <faultline/sim/services/params.hpp>

namespace faultline::scenario::bindings {

sim::services::TierParams read_service_tier(ObjectReader& r);
sim::services::ClientParams read_service_client(ObjectReader& r);
void read_call_policy(ObjectReader& r, sim::services::CallPolicy& p);

}  // namespace faultline::scenario::bindings
