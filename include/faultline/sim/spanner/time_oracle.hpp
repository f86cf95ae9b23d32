// Where the Spanner model reads TT.now(): an interface over the TrueTime oracle (truetime.hpp)
// and over a plain host clock with an assumed error bound.
//
// The model only ever asks "what is the interval [earliest, latest] that contains true time, as
// this host sees it?". Keeping that behind one small interface lets the same Paxos and
// transaction code run on the full TrueTime oracle (scenarios, calibration) and on a host clock
// with a fixed epsilon (tests that break the epsilon assumption on purpose, by skewing clocks
// beyond it, to show that the checker catches the consequence).
#pragma once

#include <faultline/time.hpp>
#include <faultline/world/ids.hpp>

#include <cstdint>
#include <memory>

namespace faultline::world {
class World;
}

namespace faultline::sim::spanner {

/// A TrueTime interval: true time lies in [earliest, latest] if the oracle's assumptions hold.
struct TimeBounds {
  UtcInstant earliest;
  UtcInstant latest;
  Duration epsilon() const { return (latest - earliest) / 2; }
};

class TimeOracle {
public:
  virtual ~TimeOracle() = default;
  /// TT.now() as seen from `host`.
  virtual TimeBounds now(world::HostId host) = 0;
};

/// TT.now() = host clock ± epsilon. Correct only while every host clock is within epsilon of
/// true time; a clock-jump fault beyond epsilon breaks it (on purpose, in tests).
std::unique_ptr<TimeOracle> make_host_clock_oracle(world::World& world, Duration epsilon);

}  // namespace faultline::sim::spanner
