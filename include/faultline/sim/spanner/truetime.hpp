// TrueTime: Spanner's clock API with bounded uncertainty (OSDI 2012 §3; model-facts §1.3).
//
// Every zone (a datacenter) has time masters: most with GPS receivers, the rest "Armageddon"
// masters with atomic clocks. Every host has a time daemon that polls a few masters every 30 s
// (nearby GPS masters, a farther GPS master and an Armageddon master), rejects liars with
// Marzullo's algorithm and then advertises
//
//     TT.now() = [mid - ε, mid + ε],   ε = ε₀ + assumed_drift · (local time since the poll),
//
// the sawtooth of the paper: ε₀ ≈ 1 ms right after a poll (communication delay), growing at
// 200 µs/s to ≈ 7 ms before the next one.
//
// The daemon's Marzullo variant tolerates `tolerated_liars` (f) sources: it keeps the span of
// points covered by at least m − f of the m replies. True time lies in every correct reply, so
// it stays inside that span even if f masters lie, including liars that agree with the rest.
// The price is that the span is only as narrow as the (f+1)-th best source: when a
// datacenter's nearby masters go down (the paper's April 13 event), daemons fall back to
// farther masters and ε rises by itself.
//
// The oracle is correct while the model's failure assumptions hold: host oscillators drift
// less than the assumed bound and at most f polled masters are wrong. Break them
// (`set_oscillator_drift` beyond the bound with eviction off, or more than f lying masters)
// and TT.now() can miss true time; TimeDaemon::contains_true_time() tells.
//
// The time base is Unix time with leap seconds smeared (the paper: "analogous to UNIX time with
// leap-second smearing"); TrueTimeParams::smear sets the window.
#pragma once

#include <faultline/metrics.hpp>
#include <faultline/rng.hpp>
#include <faultline/simulation.hpp>
#include <faultline/task.hpp>
#include <faultline/time.hpp>
#include <faultline/world/clock.hpp>
#include <faultline/world/ids.hpp>
#include <faultline/world/params.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace faultline::world {
class World;
class Node;
}  // namespace faultline::world

namespace faultline::sim::spanner {

/// TT.now(): true time (in the smeared time base) is in [earliest, latest].
struct TTInterval {
  UtcInstant earliest;
  UtcInstant latest;
  /// Half the width.
  Duration epsilon() const { return (latest - earliest) / 2; }
  bool contains(UtcInstant t) const { return earliest <= t && t <= latest; }
};

struct TrueTimeParams {
  // --- masters, per zone ---------------------------------------------------------------------
  /// "The majority of masters have GPS receivers"; the rest are Armageddon masters. The paper
  /// gives no counts; 2 + 1 per datacenter is our assumption.
  int gps_masters_per_zone = 2;
  int armageddon_masters_per_zone = 1;
  /// Uncertainty a healthy GPS master advertises: "typically close to zero".
  Duration gps_uncertainty = Duration::micros(20);
  /// Uncertainty an Armageddon master advertises (worst-case atomic drift since its last
  /// cross-check; small next to communication delay, so held constant).
  Duration armageddon_uncertainty = Duration::micros(100);
  /// A GPS master that loses its antenna runs on its local oscillator and advertises
  /// uncertainty growing at this rate (µs per s, i.e. ppm).
  double gps_holdover_drift_ppm = 20.0;
  /// Masters cross-check each other this often and evict themselves when their time diverges
  /// from the others' by more than `master_evict_threshold`.
  Duration master_check_interval = Duration::seconds(30);
  Duration master_evict_threshold = Duration::millis(1);
  bool masters_self_evict = true;

  // --- daemons, per host ---------------------------------------------------------------------
  /// The paper's poll interval.
  Duration poll_interval = Duration::seconds(30);
  /// The worst-case local drift the daemon assumes: 200 µs/s.
  double assumed_drift_ppm = 200.0;
  /// Sources per poll: nearby GPS masters (own zone), farther GPS masters (other zones) and
  /// Armageddon masters (own zone first). A missing nearby master is replaced by a farther one.
  int nearby_gps_polled = 2;
  int farther_gps_polled = 1;
  int armageddon_polled = 1;
  /// Marzullo's fault tolerance f: up to f lying masters cannot corrupt the interval.
  int tolerated_liars = 1;
  /// Round trip to a master in the host's own zone and to one in another zone (median;
  /// lognormal with `rtt_sigma`). The nearby figure is chosen so that ε right after a poll is
  /// ≈ 1 ms, which the paper attributes to communication delay; the farther one is an
  /// assumption for datacenters a few hundred km apart.
  Duration nearby_rtt = Duration::micros(1800);
  Duration farther_rtt = Duration::millis(6);
  double rtt_sigma = 0.15;
  /// Evict a host whose measured frequency excursion exceeds the assumed bound ("machines that
  /// exhibit frequency excursions larger than the worst-case bound are evicted").
  bool evict_bad_clocks = true;

  /// The leap-smear window of the time base.
  world::SmearParams smear = world::SmearParams::noon_to_noon();

  /// Throws std::invalid_argument naming the field and the fix.
  void validate() const;
};

enum class MasterKind : std::uint8_t { kGps, kArmageddon };

/// One time master. Its reading is the time base plus an error (offset + drift·elapsed) that
/// a fault sets; its advertised uncertainty depends on kind and GPS lock.
struct MasterState {
  MasterKind kind = MasterKind::kGps;
  world::ZoneId zone;
  int index = 0;  // within the zone
  bool up = true;
  bool evicted = false;  // took itself out after a failed cross-check
  bool gps_lost = false;
  Time gps_lost_at;
  Duration error_offset;  // reading − time base at error_since
  double error_drift_ppm = 0.0;
  Time error_since;
};

class TrueTime;

/// The time daemon of one host: TT.now(), TT.after(), TT.before().
class TimeDaemon {
public:
  TimeDaemon(TrueTime& tt, world::HostId host);
  TimeDaemon(const TimeDaemon&) = delete;
  TimeDaemon& operator=(const TimeDaemon&) = delete;
  ~TimeDaemon();

  /// TT.now().
  TTInterval now() const;
  /// TT.after(t): t has definitely passed.
  bool after(UtcInstant t) const { return now().earliest > t; }
  /// TT.before(t): t has definitely not arrived.
  bool before(UtcInstant t) const { return now().latest < t; }
  Duration epsilon() const { return now().epsilon(); }
  /// Commit wait: returns once after(t) holds. Sleeps through `node` when given (so a paused
  /// process waits longer, and a crash destroys the wait), else on the simulation.
  Task<void> wait_until_after(UtcInstant t, world::Node* node = nullptr);

  world::HostId host() const { return host_; }
  /// ε right after the last successful poll.
  Duration epsilon_after_poll() const { return eps0_; }
  /// The daemon measured a frequency excursion beyond the bound and took the host out.
  bool evicted() const { return evicted_; }
  /// Whether TT.now() holds true time right now: the oracle's correctness, for tests.
  bool contains_true_time() const;
  /// The local oscillator's drift from now on (a bad crystal: "bad CPUs are 6 times more
  /// likely than bad clocks"). Beyond assumed_drift_ppm the oracle's assumption is broken.
  void set_oscillator_drift(double ppm);
  double oscillator_drift_ppm() const { return drift_ppm_; }
  /// Polls that found fewer than m − f agreeing replies (the daemon kept its old reference).
  std::uint64_t failed_polls() const { return failed_polls_; }

private:
  friend class TrueTime;
  struct Reply {
    int master = -1;  // index in TrueTime::masters()
    Duration rtt;     // true round trip
    UtcInstant stamp;
    Duration uncertainty;
    Time received;
  };
  Duration local_at(Time t) const;
  Time true_time_at_local(Duration local) const;
  void poll();
  void finish_poll(std::vector<Reply> replies);
  void schedule_poll(Duration delay);
  void sync_now(Duration ago);

  TrueTime* tt_;
  world::HostId host_;
  world::ZoneId zone_;
  // Local oscillator: local(t) = anchor_local_ + (t − anchor_true_)·(1 + drift_ppm_·1e-6).
  Time anchor_true_;
  Duration anchor_local_;
  double drift_ppm_ = 0.0;
  // Reference from the last good poll.
  Duration ref_local_;
  UtcInstant ref_mid_;
  Duration eps0_;
  bool synced_ = false;
  bool evicted_ = false;
  std::uint64_t failed_polls_ = 0;
  EventId poll_event_;
  EventId finish_event_;
  Rng rng_;
};

/// The oracle: every zone's masters and every host's daemon.
class TrueTime {
public:
  /// Creates the masters of every zone that exists in `world` now; zones added later get
  /// masters on first use. Throws std::invalid_argument for bad params.
  TrueTime(world::World& world, TrueTimeParams params = {});
  TrueTime(const TrueTime&) = delete;
  TrueTime& operator=(const TrueTime&) = delete;
  ~TrueTime();

  /// The daemon of `host`, created on first use as if the fleet had been running: its last
  /// poll a random fraction of an interval ago, so ε starts anywhere on its sawtooth.
  TimeDaemon& daemon(world::HostId host);
  const TrueTimeParams& params() const { return params_; }
  world::World& world() const { return *world_; }
  Simulation& sim() const;

  /// The time base at true time t (smeared UTC): what a perfect TrueTime would return.
  UtcInstant true_time(Time t) const;
  UtcInstant true_time() const;

  // --- fault levers (scenarios and tests) ---------------------------------------------------
  /// Takes a master down or brings it back (maintenance, power); index within the zone:
  /// GPS masters first, then Armageddon masters.
  void set_master_up(world::ZoneId zone, int index, bool up);
  /// The master's antenna is lost (or back): it runs on holdover and its uncertainty grows.
  void set_gps_lost(world::ZoneId zone, int index, bool lost);
  /// The master's reading gains `offset` now and drifts by `drift_ppm` from now on (a bad
  /// receiver, atomic drift). Self-evicting masters take themselves out at the next
  /// cross-check once the error exceeds master_evict_threshold.
  void set_master_error(world::ZoneId zone, int index, Duration offset, double drift_ppm = 0.0);
  /// Extra round-trip delay to the masters of `zone` (congested links or machines).
  void set_congestion(world::ZoneId zone, Duration extra_rtt);

  // --- observation --------------------------------------------------------------------------
  const std::vector<MasterState>& masters() const { return masters_; }
  /// Masters of `zone` that are up and not evicted.
  int masters_serving(world::ZoneId zone) const;
  /// Mean current ε over the daemons of `zone` (zero when it has none).
  Duration mean_epsilon(world::ZoneId zone) const;
  /// Metric names: histogram of ε right after each poll (ns), for one zone or all.
  static std::string epsilon_metric(std::string_view zone_name);
  static constexpr const char* kEpsilonMetricAll = "truetime/epsilon_after_poll";

private:
  friend class TimeDaemon;
  void ensure_zone(world::ZoneId zone);
  int master_index(world::ZoneId zone, int index) const;
  UtcInstant master_reading(const MasterState& m, Time t) const;
  Duration master_uncertainty(const MasterState& m, Time t) const;
  bool master_serving(const MasterState& m) const { return m.up && !m.evicted; }
  void cross_check();
  Duration congestion(world::ZoneId zone) const;

  world::World* world_;
  TrueTimeParams params_;
  world::Clock time_base_;  // a perfect clock that smears: the reference
  std::vector<MasterState> masters_;
  std::map<std::uint32_t, int> zone_first_master_;  // zone id → first index in masters_
  std::map<std::uint32_t, Duration> congestion_;
  std::map<std::uint32_t, std::unique_ptr<TimeDaemon>> daemons_;  // by host id
  EventId check_event_;
};

}  // namespace faultline::sim::spanner
