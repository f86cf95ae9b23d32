#include <faultline/world/params.hpp>

#include <cmath>
#include <set>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace faultline::world {

namespace {

[[noreturn]] void bad(std::string_view field, std::string_view problem, std::string_view fix) {
  throw std::invalid_argument(fmt::format("{}: {}; {}", field, problem, fix));
}

void require_non_negative(Duration d, std::string_view field) {
  if (d < Duration::zero()) {
    bad(field, fmt::format("is negative ({})", d), "give a duration >= 0");
  }
}

std::string join(std::string_view a, std::string_view b) { return fmt::format("{}.{}", a, b); }

}  // namespace

void Ratio::validate(std::string_view field) const {
  if (den == 0) {
    bad(field, "has a zero denominator", "write the probability as num/den with den > 0");
  }
  if (num > den) {
    bad(field, fmt::format("is {}/{}, above 1", num, den), "use num <= den");
  }
}

Duration LatencyParams::sample(Rng& rng) const {
  const std::int64_t mean_ns = jitter_mean.ns();
  if (jitter == JitterKind::kNone || mean_ns <= 0) {
    return base;
  }
  double j = 0.0;
  switch (jitter) {
    case JitterKind::kNone:
      break;
    case JitterKind::kUniform:
      return base + Duration::nanos(static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(2 * mean_ns))));
    case JitterKind::kExponential:
      j = rng.exponential(static_cast<double>(mean_ns));
      break;
    case JitterKind::kLognormal: {
      const double mu = std::log(static_cast<double>(mean_ns)) - jitter_shape * jitter_shape / 2.0;
      j = rng.lognormal(mu, jitter_shape);
      break;
    }
    case JitterKind::kPareto: {
      const double x_min = static_cast<double>(mean_ns) * (jitter_shape - 1.0) / jitter_shape;
      j = rng.pareto(x_min, jitter_shape);
      break;
    }
  }
  // Cap absurd tail draws at an hour so time arithmetic cannot overflow.
  j = std::min(j, 3.6e12);
  return base + Duration::nanos(static_cast<std::int64_t>(std::llround(j)));
}

Duration LatencyParams::mean() const {
  return jitter == JitterKind::kNone ? base : base + jitter_mean;
}

void LatencyParams::validate(std::string_view field) const {
  require_non_negative(base, join(field, "base"));
  require_non_negative(jitter_mean, join(field, "jitter_mean"));
  if (jitter == JitterKind::kLognormal && !(jitter_shape > 0.0 && jitter_shape < 10.0)) {
    bad(join(field, "jitter_shape"), fmt::format("is {} for a lognormal", jitter_shape),
        "give the log-space sigma in (0, 10), e.g. 1.0");
  }
  if (jitter == JitterKind::kPareto && !(jitter_shape > 1.0)) {
    bad(join(field, "jitter_shape"), fmt::format("is {} for a Pareto", jitter_shape),
        "give an alpha > 1 so the mean exists, e.g. 1.5");
  }
}

void LinkParams::validate(std::string_view field) const {
  latency.validate(join(field, "latency"));
  drop.validate(join(field, "drop"));
  duplicate.validate(join(field, "duplicate"));
}

const LinkParams& NetworkParams::for_class(LinkClass c) const {
  switch (c) {
    case LinkClass::kSameHost:
      return same_host;
    case LinkClass::kSameZone:
      return same_zone;
    case LinkClass::kCrossZone:
      return cross_zone;
    case LinkClass::kCrossRegion:
      return cross_region;
  }
  return cross_region;
}

void NetworkParams::validate() const {
  same_host.validate("network.same_host");
  same_zone.validate("network.same_zone");
  cross_zone.validate("network.cross_zone");
  cross_region.validate("network.cross_region");
  if (nic_bandwidth_bps <= 0) {
    bad("network.nic_bandwidth_bps", fmt::format("is {}", nic_bandwidth_bps),
        "give a positive bandwidth in bits per second, e.g. 1000000000 for 1 Gbps");
  }
}

void SmearParams::validate(std::string_view field) const {
  require_non_negative(before, join(field, "before"));
  require_non_negative(after, join(field, "after"));
  if (before + after <= Duration::zero()) {
    bad(field, "has an empty window", "give before + after > 0, e.g. 12h and 12h");
  }
  if (before > Duration::hours(48) || after > Duration::hours(48)) {
    bad(field, "is longer than 48 h on one side", "use at most 48h before and after");
  }
}

void ClockParams::validate() const {
  if (!(std::abs(drift_ppm) <= 1e5)) {
    bad("clock.drift_ppm", fmt::format("is {}", drift_ppm),
        "give a drift within ±100000 ppm (real quartz is within ±100)");
  }
  if (ntp_enabled && ntp_poll_interval <= Duration::zero()) {
    bad("clock.ntp_poll_interval", "must be positive", "use e.g. 64s, or set ntp_enabled false");
  }
  require_non_negative(ntp_step_threshold, "clock.ntp_step_threshold");
  if (!(ntp_max_slew_ppm > 0.0 && ntp_max_slew_ppm <= 1e5)) {
    bad("clock.ntp_max_slew_ppm", fmt::format("is {}", ntp_max_slew_ppm),
        "give a positive rate, e.g. 500 (NTP's maximum)");
  }
  smear.validate("clock.smear");
  if (timed_wait_cost <= Duration::zero()) {
    bad("clock.timed_wait_cost", "must be positive (a spinning wait loop would never advance time)",
        "use e.g. 2us");
  }
}

void CpuParams::validate() const {
  if (cores == 0) {
    bad("cpu.cores", "is 0", "give at least 1 core");
  }
  if (!(speed > 0.0 && speed <= 1e6)) {
    bad("cpu.speed", fmt::format("is {}", speed), "give a positive factor, 1.0 for nominal");
  }
  require_non_negative(sample_interval, "cpu.sample_interval");
}

void DiskParams::validate() const {
  require_non_negative(write_latency, "disk.write_latency");
  require_non_negative(fsync_latency, "disk.fsync_latency");
  if (bandwidth_bytes_per_s <= 0) {
    bad("disk.bandwidth_bytes_per_s", fmt::format("is {}", bandwidth_bytes_per_s),
        "give a positive rate, e.g. 500000000");
  }
  torn_write.validate("disk.torn_write");
  io_error.validate("disk.io_error");
}

void HostParams::validate() const {
  clock.validate();
  cpu.validate();
  disk.validate();
  if (nic_bandwidth_bps < 0) {
    bad("host.nic_bandwidth_bps", "is negative", "give 0 for the network default, or a positive rate");
  }
}

void TopologySpec::validate() const {
  std::set<std::string, std::less<>> regions_seen;
  std::set<std::string, std::less<>> zones_seen;
  std::set<std::string, std::less<>> hosts_seen;
  if (regions.empty()) {
    bad("topology.regions", "is empty", "list at least one region with one zone");
  }
  for (std::size_t r = 0; r < regions.size(); ++r) {
    const auto& region = regions[r];
    const std::string rf = fmt::format("topology.regions[{}]", r);
    if (region.name.empty()) {
      bad(rf + ".name", "is empty", "name every region");
    }
    if (!regions_seen.insert(region.name).second) {
      bad(rf + ".name", fmt::format("'{}' is used twice", region.name), "give regions unique names");
    }
    if (region.zones.empty()) {
      bad(rf + ".zones", "is empty", "give every region at least one zone");
    }
    for (std::size_t z = 0; z < region.zones.size(); ++z) {
      const auto& zone = region.zones[z];
      const std::string zf = fmt::format("{}.zones[{}]", rf, z);
      if (zone.name.empty()) {
        bad(zf + ".name", "is empty", "name every zone");
      }
      if (!zones_seen.insert(zone.name).second) {
        bad(zf + ".name", fmt::format("'{}' is used twice", zone.name), "give zones unique names");
      }
      if (!zone.hosts.empty() && zone.host_count != 0 && zone.host_count != zone.hosts.size()) {
        bad(zf + ".host_count", "disagrees with the host list", "give either hosts or host_count");
      }
      for (const auto& h : zone.hosts) {
        if (h.empty() || !hosts_seen.insert(h).second) {
          bad(zf + ".hosts", fmt::format("host name '{}' is empty or used twice", h),
              "give hosts unique, non-empty names");
        }
      }
    }
  }
}

std::string_view to_string(JitterKind k) {
  switch (k) {
    case JitterKind::kNone: return "none";
    case JitterKind::kUniform: return "uniform";
    case JitterKind::kExponential: return "exponential";
    case JitterKind::kLognormal: return "lognormal";
    case JitterKind::kPareto: return "pareto";
  }
  return "unknown";
}

std::optional<JitterKind> parse_jitter_kind(std::string_view text) {
  for (auto k : {JitterKind::kNone, JitterKind::kUniform, JitterKind::kExponential,
                 JitterKind::kLognormal, JitterKind::kPareto}) {
    if (to_string(k) == text) {
      return k;
    }
  }
  return std::nullopt;
}

std::string_view to_string(LeapMode m) {
  switch (m) {
    case LeapMode::kNone: return "none";
    case LeapMode::kStep: return "step";
    case LeapMode::kSmear: return "smear";
    case LeapMode::kKernel2012: return "kernel-2012";
  }
  return "unknown";
}

std::optional<LeapMode> parse_leap_mode(std::string_view text) {
  for (auto m : {LeapMode::kNone, LeapMode::kStep, LeapMode::kSmear, LeapMode::kKernel2012}) {
    if (to_string(m) == text) {
      return m;
    }
  }
  return std::nullopt;
}

std::string_view to_string(SmearShape s) {
  switch (s) {
    case SmearShape::kLinear: return "linear";
    case SmearShape::kCosine: return "cosine";
  }
  return "unknown";
}

std::optional<SmearShape> parse_smear_shape(std::string_view text) {
  for (auto s : {SmearShape::kLinear, SmearShape::kCosine}) {
    if (to_string(s) == text) {
      return s;
    }
  }
  return std::nullopt;
}

std::string_view to_string(NtpCorrection c) {
  switch (c) {
    case NtpCorrection::kStep: return "step";
    case NtpCorrection::kSlew: return "slew";
    case NtpCorrection::kStepOrSlew: return "step-or-slew";
  }
  return "unknown";
}

std::optional<NtpCorrection> parse_ntp_correction(std::string_view text) {
  for (auto c : {NtpCorrection::kStep, NtpCorrection::kSlew, NtpCorrection::kStepOrSlew}) {
    if (to_string(c) == text) {
      return c;
    }
  }
  return std::nullopt;
}

}  // namespace faultline::world
