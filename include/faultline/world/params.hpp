// Parameter structs of the simulated world: plain aggregates with defaults that a scenario
// file fills field by field, each with a validate() that throws std::invalid_argument naming
// the bad field and the fix.
//
// Defaults are calibrated from shared/reference/model-facts.md where it has a figure (cited
// beside the field) and are otherwise conservative assumptions, labelled as such; see
// docs/world.md for the table of defaults and sources.
#pragma once

#include <faultline/rng.hpp>
#include <faultline/world/ids.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::world {

/// A probability as an exact integer ratio num/den (no floating point in the decision).
struct Ratio {
  std::uint64_t num = 0;
  std::uint64_t den = 1;

  bool is_zero() const { return num == 0; }
  /// Throws unless den > 0 and num <= den.
  void validate(std::string_view field) const;
};

/// How the random part of a latency is distributed.
enum class JitterKind : std::uint8_t {
  kNone,         // always `base`
  kUniform,      // base + U[0, 2 * jitter_mean)
  kExponential,  // base + Exp(jitter_mean)
  kLognormal,    // base + lognormal with mean jitter_mean and log-space sigma `jitter_shape`
  kPareto,       // base + Pareto with mean jitter_mean and shape alpha `jitter_shape` (> 1)
};

/// One-way latency of a message: a fixed floor (propagation and stack) plus a random part.
/// Jitter is what reorders messages on a link: a later message may draw a smaller delay.
struct LatencyParams {
  Duration base = Duration::zero();
  JitterKind jitter = JitterKind::kExponential;
  Duration jitter_mean = Duration::zero();
  /// Lognormal: sigma of the underlying normal. Pareto: shape alpha (must be > 1).
  double jitter_shape = 1.0;

  /// One draw; never below `base`.
  Duration sample(Rng& rng) const;
  /// The mean of sample(): base + jitter_mean (kNone: base).
  Duration mean() const;
  void validate(std::string_view field) const;
};

/// Everything that characterises one class of link (or one overridden link).
struct LinkParams {
  LatencyParams latency;
  /// Each message is lost with this probability.
  Ratio drop;
  /// Each delivered message is delivered a second time (own latency draw) with this probability.
  Ratio duplicate;

  void validate(std::string_view field) const;
};

/// The network's defaults. One-way latencies; model-facts §4.4 (EVCache): "under 1 ms within
/// a zone, over 2 ms across zones" for a 1 KB round trip, hence 0.25 ms + Exp(0.1 ms) in a zone
/// and 1.2 ms + Exp(0.3 ms) across zones. Cross-region: "tens of ms" (Spanner §1.3 datacenters
/// up to 2200 km apart; light in fibre covers ~200 km/ms, so 2200 km is 11 ms and a US
/// coast-to-coast path of ~6000 km is ~30 ms) — an assumption of 30 ms + Exp(2 ms).
struct NetworkParams {
  LinkParams same_host{LatencyParams{Duration::micros(20), JitterKind::kExponential,
                                     Duration::micros(5), 1.0},
                       {}, {}};
  LinkParams same_zone{LatencyParams{Duration::micros(250), JitterKind::kExponential,
                                     Duration::micros(100), 1.0},
                       {}, {}};
  LinkParams cross_zone{LatencyParams{Duration::micros(1200), JitterKind::kExponential,
                                      Duration::micros(300), 1.0},
                        {}, {}};
  LinkParams cross_region{LatencyParams{Duration::millis(30), JitterKind::kExponential,
                                        Duration::millis(2), 1.0},
                          {}, {}};
  /// Per-host NIC bandwidth, each direction. 1 Gbps: the m4.xlarge of model-facts §4.4
  /// (EVCache). Transfer time is size * 8 / bandwidth, queued behind earlier messages.
  std::int64_t nic_bandwidth_bps = 1'000'000'000;
  /// Same-host messages skip the NIC (loopback) when true.
  bool loopback_bypasses_nic = true;
  /// A partition or clog that starts while a message is in flight applies to it on arrival.
  /// Per-fault override: FaultSpec::hits_in_flight.
  bool faults_hit_in_flight = true;
  /// A request that reaches a host whose process is down is refused (a TCP reset) and the
  /// caller learns it after one more one-way latency; otherwise it is silently dropped.
  bool refuse_when_process_down = true;
  /// Also record a trace entry for every send (deliveries, drops and duplicates always are).
  bool trace_sends = false;

  const LinkParams& for_class(LinkClass c) const;
  void validate() const;
};

/// How a host's clock handles an inserted leap second.
enum class LeapMode : std::uint8_t {
  kNone,        // ignores it: runs 1 s ahead of UTC until NTP notices and steps it back
  kStep,        // the kernel steps CLOCK_REALTIME back 1 s at 23:59:60: 23:59:59 repeats
  kSmear,       // the time source smears the second over SmearParams' window (its shape)
  kKernel2012,  // kStep, plus the 2012 hrtimer bug (model-facts §1.1): the step does not call
                // clock_was_set(), so absolute timed waits expire 1 s early until the clock is
                // set again; waits shorter than 1 s return at once
};

/// How the smear spreads the leap second over its window.
enum class SmearShape : std::uint8_t {
  kLinear,  // every smeared second equally long: Google since 2016, AWS (model-facts §1.2)
  kCosine,  // Google 2008-2011(2012): the lie grows as (1 - cos(pi t / w)) / 2 over the window
            // (C. Pascoe, 2011, model-facts §1.2): slow at both ends, fastest (pi/2 times the
            // linear rate) in the middle
};

/// A smear window around the leap second, in UTC labels: it starts `before` ahead of the
/// midnight that follows 23:59:60 and ends `after` past it. Linear: each smeared second lasts
/// (before + after + 1 s) / (before + after) true seconds. Cosine: the clock is behind true
/// time by (1 - cos(pi e / (W + 1 s))) / 2 seconds at e true seconds into the window (W =
/// before + after), so it starts and ends at the true rate.
struct SmearParams {
  Duration before = Duration::hours(12);
  Duration after = Duration::hours(12);
  SmearShape shape = SmearShape::kLinear;

  /// Google's proposed standard: 24 h noon to noon, ~11.6 ppm (model-facts §1.2).
  static SmearParams noon_to_noon() { return {Duration::hours(12), Duration::hours(12)}; }
  /// Google's 2016 smear: 20 h, 14:00 to 10:00 UTC, ~13.9 µs per second (model-facts §0, §1.2).
  static SmearParams google_2016() { return {Duration::hours(10), Duration::hours(10)}; }
  /// Google's 2011 description (used for 2008 and, as far as is known, 2012): a cosine lie
  /// over a window `w` that ends at midnight. Google did not publish w (model-facts §1.2).
  static SmearParams google_cosine(Duration w) {
    return {w, Duration::zero(), SmearShape::kCosine};
  }
  void validate(std::string_view field) const;
};

/// How NTP corrects a measured offset.
enum class NtpCorrection : std::uint8_t {
  kStep,          // always set the clock (settimeofday; calls clock_was_set)
  kSlew,          // always slew at up to max_slew_ppm (adjtime; no clock_was_set)
  kStepOrSlew,    // ntpd: step if the error exceeds step_threshold, else slew
};

struct ClockParams {
  /// Local reading minus true UTC at time zero.
  Duration initial_offset = Duration::zero();
  /// Oscillator error: the clock gains drift_ppm µs per second. TrueTime assumes a worst case
  /// of 200 µs/s (model-facts §1.3); real quartz is typically within tens of ppm.
  double drift_ppm = 0.0;
  bool ntp_enabled = true;
  /// ntpd's minpoll of 64 s (TrueTime polls every 30 s, model-facts §1.3).
  Duration ntp_poll_interval = Duration::seconds(64);
  NtpCorrection ntp_correction = NtpCorrection::kStepOrSlew;
  /// ntpd's default step threshold, 128 ms.
  Duration ntp_step_threshold = Duration::millis(128);
  /// NTP's maximum slew rate, 500 ppm (model-facts §1.2, §7).
  double ntp_max_slew_ppm = 500.0;
  LeapMode leap_mode = LeapMode::kStep;
  SmearParams smear = SmearParams::noon_to_noon();
  /// CPU time that an absolute timed wait costs when it returns at once (the futex syscall):
  /// this is what a spinning wait loop burns per iteration. An assumption, ~2 µs.
  Duration timed_wait_cost = Duration::micros(2);

  void validate() const;
};

struct CpuParams {
  std::uint32_t cores = 4;
  /// Work items take service_time / speed.
  double speed = 1.0;
  /// Utilisation is sampled into the series "cpu.util/<host>" this often; zero turns it off.
  Duration sample_interval = Duration::seconds(1);

  void validate() const;
};

struct DiskParams {
  /// Latency of a write into the page cache (assumption).
  Duration write_latency = Duration::micros(20);
  /// Latency of an fsync (assumption: a datacenter SSD with power-loss protection, ~1 ms).
  Duration fsync_latency = Duration::millis(1);
  /// Sequential bandwidth, bytes per second, charged on top of the fixed latencies.
  std::int64_t bandwidth_bytes_per_s = 500'000'000;
  /// On a crash, each lost (unsynced) write is, with this probability, partly persisted: a
  /// random prefix of it reaches the durable image (a torn write).
  Ratio torn_write;
  /// Each write or fsync fails with kError with this probability.
  Ratio io_error;
  /// When only the process crashes (not the host), unsynced writes are lost too, as in a
  /// power cut (FoundationDB's simulator does the same). False keeps the page cache.
  bool lose_unsynced_on_process_crash = true;

  void validate() const;
};

/// Everything per host; World::add_host takes one (or the world's defaults).
struct HostParams {
  ClockParams clock;
  CpuParams cpu;
  DiskParams disk;
  /// Zero: NetworkParams::nic_bandwidth_bps.
  std::int64_t nic_bandwidth_bps = 0;

  void validate() const;
};

/// A topology as data: regions of zones of hosts, for scenario files and tests.
struct TopologySpec {
  struct Zone {
    std::string name;
    /// Host names; if empty, `host_count` hosts named "<zone>-h<i>" are made.
    std::vector<std::string> hosts;
    std::uint32_t host_count = 0;
  };
  struct Region {
    std::string name;
    std::vector<Zone> zones;
  };
  std::vector<Region> regions;

  /// Throws on empty or duplicate names.
  void validate() const;
};

std::string_view to_string(JitterKind k);
std::optional<JitterKind> parse_jitter_kind(std::string_view text);
std::string_view to_string(LeapMode m);
std::optional<LeapMode> parse_leap_mode(std::string_view text);
std::string_view to_string(SmearShape s);
std::optional<SmearShape> parse_smear_shape(std::string_view text);
std::string_view to_string(NtpCorrection c);
std::optional<NtpCorrection> parse_ntp_correction(std::string_view text);

}  // namespace faultline::world
