// The Spanner model's TT.now() from the TrueTime oracle (truetime.hpp): time masters per zone
// and a daemon per host. The cluster owns it through the TimeOracle interface; scenarios reach
// the TrueTime object through truetime() to pull their levers (masters down, congestion).
#pragma once

#include <faultline/sim/spanner/time_oracle.hpp>
#include <faultline/sim/spanner/truetime.hpp>

namespace faultline::sim::spanner {

class TrueTimeOracle final : public TimeOracle {
public:
  /// Creates the masters of every zone of `world` (build the zones first).
  TrueTimeOracle(world::World& world, TrueTimeParams params) : truetime_(world, std::move(params)) {}
  TimeBounds now(world::HostId host) override {
    TTInterval i = truetime_.daemon(host).now();
    return {i.earliest, i.latest};
  }
  TrueTime& truetime() { return truetime_; }

private:
  TrueTime truetime_;
};

}  // namespace faultline::sim::spanner
