#include <faultline/sim/regions/dns.hpp>

#include <fmt/format.h>

#include <cmath>
#include <numeric>
#include <stdexcept>

namespace faultline::sim::regions {

void DnsParams::validate(std::string_view field) const {
  auto bad = [&](std::string_view key, std::string_view problem, std::string_view fix) {
    throw std::invalid_argument(fmt::format("{}.{}: {}; {}", field, key, problem, fix));
  };
  if (ttl < Duration::zero()) {
    bad("ttl", "is negative", "use e.g. \"60s\"");
  }
  if (resolvers < 1 || resolvers > 100000) {
    bad("resolvers", fmt::format("is {}", resolvers), "use 1 to 100000");
  }
  if (!(sticky_fraction >= 0.0 && sticky_fraction <= 1.0)) {
    bad("sticky_fraction", fmt::format("is {}, not a probability", sticky_fraction),
        "use a number in [0, 1]");
  }
  if (sticky_extra < Duration::zero()) {
    bad("sticky_extra", "is negative", "use e.g. \"10m\"");
  }
}

DnsRecord::DnsRecord(std::string name, std::vector<std::uint64_t> weights)
    : name_(std::move(name)) {
  set_weights(std::move(weights));
  serial_ = 1;
}

void DnsRecord::set_weights(std::vector<std::uint64_t> weights) {
  const auto total = std::accumulate(weights.begin(), weights.end(), std::uint64_t{0});
  if (total == 0) {
    throw std::invalid_argument(fmt::format("DNS record {}: every weight is zero", name_));
  }
  weights_ = std::move(weights);
  total_ = total;
  ++serial_;
}

int DnsRecord::answer(Rng& rng) const {
  std::uint64_t x = rng.below(total_);
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    if (x < weights_[i]) {
      return static_cast<int>(i);
    }
    x -= weights_[i];
  }
  return static_cast<int>(weights_.size()) - 1;  // unreachable: x < total_
}

ResolverPool::ResolverPool(const DnsParams& params, Rng rng) : params_(params), rng_(rng) {
  caches_.resize(static_cast<std::size_t>(params_.resolvers));
  // Which resolvers are sticky is fixed for the run (a property of the resolver or device).
  for (auto& c : caches_) {
    c.sticky = rng_.uniform01() < params_.sticky_fraction;
  }
}

void ResolverPool::fill(Cache& c, Time now, const DnsRecord& record, Duration age) {
  c.target = record.answer(rng_);
  c.expires = now + params_.ttl + (c.sticky ? params_.sticky_extra : Duration::zero()) - age;
}

void ResolverPool::prime(Time now, const DnsRecord& record) {
  for (auto& c : caches_) {
    const Duration life = params_.ttl + (c.sticky ? params_.sticky_extra : Duration::zero());
    const auto age = life.ns() > 0 ? Duration::nanos(static_cast<std::int64_t>(
                                         rng_.below(static_cast<std::uint64_t>(life.ns()))))
                                   : Duration::zero();
    fill(c, now, record, age);
  }
}

int ResolverPool::resolve(Time now, const DnsRecord& record) {
  Cache& c = caches_[rng_.below(caches_.size())];
  if (c.target < 0 || now >= c.expires) {
    fill(c, now, record, Duration::zero());
    ++lookups_;
  }
  return c.target;
}

double ResolverPool::share(int target) const {
  std::size_t n = 0;
  for (const auto& c : caches_) {
    n += c.target == target ? 1 : 0;
  }
  return static_cast<double>(n) / static_cast<double>(caches_.size());
}

HealthCheck::HealthCheck(double error_threshold, int checks)
    : threshold_(error_threshold), checks_(checks) {}

bool HealthCheck::close_interval() {
  if (sent_ == 0) {
    return false;  // no evidence either way: the verdict and the streak stand
  }
  last_error_rate_ = static_cast<double>(failed_) / static_cast<double>(sent_);
  sent_ = failed_ = 0;
  const bool failing = last_error_rate_ > threshold_;
  if (failing == !healthy_) {
    streak_ = 0;  // agrees with the verdict
    return false;
  }
  if (++streak_ < checks_) {
    return false;
  }
  streak_ = 0;
  healthy_ = !failing;
  return true;
}

int failover_target(int from, int home, const std::vector<HealthCheck>& health) {
  const auto healthy = [&](int r) { return health[static_cast<std::size_t>(r)].healthy(); };
  if (home != from && healthy(home)) {
    return home;
  }
  for (int o = 0; o < static_cast<int>(health.size()); ++o) {
    if (o != from && healthy(o)) {
      return o;
    }
  }
  return -1;
}

bool move_weight(DnsRecord& record, int from, int to) {
  auto w = record.weights();
  const auto f = static_cast<std::size_t>(from);
  if (w[f] == 0) {
    return false;
  }
  w[static_cast<std::size_t>(to)] += w[f];
  w[f] = 0;
  record.set_weights(std::move(w));
  return true;
}

std::vector<std::uint64_t> evacuation_weights(std::size_t regions, int from, int to, double share,
                                              std::uint64_t total) {
  const auto moved = static_cast<std::uint64_t>(std::llround(share * static_cast<double>(total)));
  std::vector<std::uint64_t> w(regions, 0);
  w[static_cast<std::size_t>(from)] = total - moved;
  w[static_cast<std::size_t>(to)] += moved;
  return w;
}

}  // namespace faultline::sim::regions
