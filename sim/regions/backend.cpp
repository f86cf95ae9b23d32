#include <faultline/sim/regions/backend.hpp>

#include <faultline/probe.hpp>

#include <algorithm>
#include <cmath>

namespace faultline::sim::regions {

namespace {
const ProbePoint kProbeScaleOut("regions/autoscaling/scale-out");
}  // namespace

bool Backend::Bucket::take(Time now, double rate) {
  // Refill at `rate` tokens per second up to one second's worth.
  const double dt = static_cast<double>((now - at).ns()) * 1e-9;
  tokens = std::min(rate, tokens + rate * dt);
  at = now;
  if (tokens < 1.0) {
    return false;
  }
  tokens -= 1.0;
  return true;
}

Backend::Backend(Simulation& sim, const RegionParams& region, const AutoscalingParams& scaling,
                 const CacheParams& cache, int populations)
    : sim_(sim),
      region_(region),
      scaling_(scaling),
      cache_(cache),
      servers_(region.servers),
      expires_(static_cast<std::size_t>(populations),
               std::vector<Time>(static_cast<std::size_t>(cache.keys), Time::zero())) {
  server_bucket_.tokens = capacity_per_s();
  store_bucket_.tokens = region_.store_rate_per_s;
}

void Backend::warm(int population, Rng& rng) {
  const auto ttl = static_cast<std::uint64_t>(cache_.item_ttl.ns());
  const Time now = sim_.now();
  for (auto& e : expires_[static_cast<std::size_t>(population)]) {
    e = now + Duration::nanos(static_cast<std::int64_t>(rng.below(ttl)) + 1);
  }
}

void Backend::start() {
  // The interval's statistics are kept with autoscaling off too; only the scaling is skipped.
  sim_.schedule_after(scaling_.interval, [this] { scale(); });
}

Backend::Outcome Backend::serve(int population, std::uint64_t key) {
  const Time now = sim_.now();
  ++arrivals_;
  if (!server_bucket_.take(now, capacity_per_s())) {
    return Outcome::kShed;
  }
  ++reads_;
  Time& expiry = expires_[static_cast<std::size_t>(population)][key];
  if (now < expiry) {
    ++hits_;
    return Outcome::kHit;
  }
  ++store_reads_;
  if (!store_bucket_.take(now, region_.store_rate_per_s)) {
    return Outcome::kStoreOverloaded;
  }
  expiry = now + cache_.item_ttl;
  return Outcome::kMiss;
}

void Backend::scale() {
  const double secs = static_cast<double>(scaling_.interval.ns()) * 1e-9;
  const double rate = static_cast<double>(arrivals_) / secs;
  hit_rate_ = reads_ > 0 ? static_cast<double>(hits_) / static_cast<double>(reads_) : 1.0;
  store_rate_ = static_cast<double>(store_reads_) / secs;
  arrivals_ = hits_ = reads_ = store_reads_ = 0;
  sim_.schedule_after(scaling_.interval, [this] { scale(); });
  if (!scaling_.enabled) {
    return;
  }
  const int desired = std::clamp(
      static_cast<int>(std::ceil(rate / (region_.server_rate_per_s * scaling_.target_utilisation))),
      region_.min_servers, region_.max_servers);
  const std::string node = "region/" + region_.name;
  if (desired > servers_ + booting_) {
    const int more = desired - servers_ - booting_;
    booting_ += more;
    FAULTLINE_PROBE(sim_, kProbeScaleOut);
    sim_.record("regions", "scale-out",
                {{"node", node}, {"servers", servers_}, {"booting", more},
                 {"arrival_rate", rate}});
    sim_.schedule_after(scaling_.boot_time, [this, more, node] {
      booting_ -= more;
      servers_ = std::min(servers_ + more, region_.max_servers);
      sim_.record("regions", "servers-joined", {{"node", node}, {"servers", servers_}});
    });
  } else if (desired < servers_ && booting_ == 0) {
    servers_ = desired;
    sim_.record("regions", "scale-in", {{"node", node}, {"servers", servers_}});
  }
}

}  // namespace faultline::sim::regions
