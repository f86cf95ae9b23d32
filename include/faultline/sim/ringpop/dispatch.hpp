// Dispatch on Ringpop (issue #16): a city split into geo cells, each cell owned through the
// hash ring by one member; drivers report their locations to the owner of their cell, which
// holds them in memory; a rider request goes to the owner of its cell and is matched there
// against the drivers that owner holds. A membership change moves cells (their owners change
// in the members' rings) and, with `handoff`, the old owner sends the cell's drivers to the
// new one.
//
// Drivers and riders are outside the cluster: each report or request enters at a random
// member that is up (a load balancer in front of dispatch) and goes through that member's
// handle-or-forward path (SwimMember::request) keyed by the cell. The owner that handled it
// (RequestOutcome::handled_by) is where the driver is stored or the rider matched. A member's
// drivers are its memory: a crash loses them, and they come back only when the drivers next
// report (or through a handoff). Matching scans the drivers of the rider's cell; its CPU is
// counted into the match latency, not scheduled on the host (the scan is microseconds).
//
// ETA (set_eta): with an ETA service set, the owner that found drivers for a rider asks it for
// the pickup ETA (in a scenario, the maps tier of a service graph in the same World, called
// from the owner's node through the edge's timeout, retries and breaker); the match stands
// only when the ETA comes back, or, with `eta_fallback`, with a degraded straight-line ETA
// when the call fails.
//
// Metrics: counters ringpop.dispatch.{reports,reports_failed,riders,matched,no_driver,
// rider_failed,eta_failed,eta_degraded,rider_timeout,unmatched (no_driver + rider_failed +
// eta_failed + rider_timeout),handoffs,drivers_handed_off}; histogram ringpop.dispatch.match_latency (ns, matched riders,
// from the request entering dispatch to the match, the ETA call included).
#pragma once

#include <faultline/sim/ringpop/membership.hpp>
#include <faultline/rng.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string_view>
#include <vector>

namespace faultline::sim::ringpop {

class RingpopCluster;
class SwimMember;

struct DispatchParams {
  bool enabled = false;
  /// The city: a grid of cells_x x cells_y geo cells (H3 cells in Uber's stack; a grid here).
  std::uint32_t cells_x = 8;
  std::uint32_t cells_y = 8;
  std::uint32_t drivers = 400;
  /// Each driver app reports its location this often (an assumption: a few seconds).
  Duration report_interval = Duration::seconds(4);
  /// Per report, the chance the driver has moved to a neighbouring cell (percent).
  std::uint32_t move_percent = 10;
  /// An owner forgets a driver it has not heard from for this long.
  Duration driver_ttl = Duration::seconds(12);
  /// Mean time between rider requests, city-wide (exponential).
  Duration rider_interval = Duration::millis(20);
  /// CPU to compare a rider with one driver of its cell (an assumption).
  Duration match_cpu_per_driver = Duration::micros(2);
  /// A member whose ring changed sends the drivers of cells it no longer owns to the new owner.
  bool handoff = true;
  /// How often a member checks whether its ring changed (ringpop emits a ring-changed event;
  /// a dispatch service reacts within its own loop).
  Duration handoff_check = Duration::millis(500);
  /// With an ETA service: a failed ETA call is answered with a degraded local ETA (straight
  /// line over the grid) and the match stands; false: the match fails.
  bool eta_fallback = false;
  /// The rider app gives up on a request dispatch has not answered in this long and counts it
  /// failed (`rider_timeout`): the answer of an owner or entry member that crashed while it
  /// held the request never comes. An assumption, longer than the slowest answer dispatch
  /// gives at the defaults (four forward attempts and their retry delays, then the ETA call).
  Duration rider_timeout = Duration::seconds(15);

  void validate() const;
};

class Dispatch {
public:
  /// `cluster` must be built; the dispatch starts its drivers and riders at once.
  Dispatch(DispatchParams params, RingpopCluster& cluster);
  Dispatch(const Dispatch&) = delete;
  Dispatch& operator=(const Dispatch&) = delete;

  const DispatchParams& params() const { return params_; }
  std::uint32_t cells() const { return params_.cells_x * params_.cells_y; }
  static std::uint64_t cell_key(std::uint32_t cell);

  /// The drivers `m` holds for `cell` now (fresh or not), and in all.
  std::size_t drivers_held(MemberId m, std::uint32_t cell) const;
  std::size_t drivers_held(MemberId m) const;
  /// Sends one rider request for `cell` now; `done(matched)` when dispatch answers.
  void rider(std::uint32_t cell, std::function<void(bool matched)> done);

  /// The ETA service: called by the owner `owner` for each rider it found drivers for;
  /// `done(ok)` when the ETA call ends (never, if the owner's node crashes first: the rider's
  /// `rider_timeout` answers it then).
  using EtaCall = std::function<void(MemberId owner, std::function<void(bool ok)> done)>;
  void set_eta(EtaCall eta) { eta_ = std::move(eta); }

private:
  struct Shard {
    const SwimMember* holder = nullptr;  // the member now, if up
    std::uint64_t incarnation = 0;       // the node incarnation whose memory this is (0: none)
    std::uint64_t ring_checksum = 0;
    std::map<std::uint32_t, std::map<std::uint32_t, Time>> cells;  // cell -> driver -> last report
  };
  Shard& shard(MemberId m);
  SwimMember* entry_member();
  void driver_report(std::uint32_t driver);
  void next_rider();
  void handoff_tick(MemberId m);
  void store(MemberId owner, std::uint32_t cell, std::uint32_t driver);
  /// One rider request in flight: answered once, by dispatch or by the rider's timeout.
  struct RiderCall {
    bool answered = false;
    std::function<void(bool)> done;
  };
  /// Answers `call` unless it was answered already; counts `what` (and `unmatched` when not
  /// matched). Returns false for a late answer, which counts nothing.
  bool answer(RiderCall& call, bool matched, std::string_view what);
  void matched(Duration latency, RiderCall& call);

  DispatchParams params_;
  RingpopCluster* cluster_;
  std::vector<Shard> shards_;
  std::vector<std::uint32_t> driver_cell_;
  Rng rng_;
  EtaCall eta_;
};

}  // namespace faultline::sim::ringpop
