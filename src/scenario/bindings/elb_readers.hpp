// The elb binding's reader of an ELB control plane's params, for bindings that put sim/elb's
// ElbService in front of their own backends (sim/zuul's families' ELBs). The JSON keys are
// those of "model": {"name": "elb"}'s "control_plane" (docs/scenario.md).
#pragma once

#include <faultline/scenario/json_reader.hpp>
#include <faultline/sim/elb/params.hpp>

namespace faultline::scenario::bindings {

/// "control_plane": {"scale_ratio", "fail_static", "call_timeout", "retry_after"}.
void read_control_plane(ObjectReader& o, sim::elb::ControlPlaneParams& cp);

}  // namespace faultline::scenario::bindings
