// DNS traffic steering with a TTL (sim/regions): an authoritative weighted record per name, the
// resolver caches of the clients that use it, and the health check that decides a failover.
// A record change reaches a client only when its resolver's cached answer expires, so a
// failover takes detection (checks × interval) + the TTL + client stickiness (resolvers or
// devices that keep an answer longer than the TTL). Also used by sim/elb's DNS failover.
#pragma once

#include <faultline/rng.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::regions {

struct DnsParams {
  /// TTL of the steering record (assumption: 60 s).
  Duration ttl = Duration::seconds(60);
  /// Resolver caches per name: the clients behind one resolver share its answer.
  int resolvers = 200;
  /// Share of resolvers (or devices) that keep an answer `sticky_extra` beyond its TTL
  /// (assumption: some resolvers and client runtimes cache longer than the TTL).
  double sticky_fraction = 0.0;
  Duration sticky_extra = Duration::minutes(10);
  void validate(std::string_view field) const;
};

/// An authoritative record: integer weights over targets (region or edge indexes). An answer
/// is one target, drawn by weight, as weighted routing does it.
class DnsRecord {
public:
  DnsRecord(std::string name, std::vector<std::uint64_t> weights);
  const std::string& name() const { return name_; }
  /// Replaces the weights; at least one must be positive. Bumps the serial.
  void set_weights(std::vector<std::uint64_t> weights);
  const std::vector<std::uint64_t>& weights() const { return weights_; }
  std::uint64_t serial() const { return serial_; }
  int answer(Rng& rng) const;

private:
  std::string name_;
  std::vector<std::uint64_t> weights_;
  std::uint64_t total_ = 0;
  std::uint64_t serial_ = 1;
};

/// The resolver caches behind one name. A client request picks a resolver at random; its
/// cached answer is used until it expires, then the record is asked again.
class ResolverPool {
public:
  ResolverPool(const DnsParams& params, Rng rng);
  /// Fills every cache from the record with a random age in [0, TTL), as in a steady state.
  void prime(Time now, const DnsRecord& record);
  /// The target a client uses now. Counts a fresh lookup in lookups().
  int resolve(Time now, const DnsRecord& record);
  /// Share of resolvers whose cached answer is `target`.
  double share(int target) const;
  std::uint64_t lookups() const { return lookups_; }

private:
  struct Cache {
    int target = -1;
    Time expires = Time::zero();
    bool sticky = false;
  };
  void fill(Cache& c, Time now, const DnsRecord& record, Duration age);

  DnsParams params_;
  Rng rng_;
  std::vector<Cache> caches_;
  std::uint64_t lookups_ = 0;
};

/// Health checks of one target: each interval, the interval's error rate; `checks` failing
/// intervals in a row make it unhealthy, as many passing ones make it healthy again.
class HealthCheck {
public:
  HealthCheck(double error_threshold, int checks);
  void sent() { ++sent_; }
  void failed() { ++failed_; }
  /// Closes the interval. Returns true when the verdict changed (see healthy()).
  bool close_interval();
  bool healthy() const { return healthy_; }
  double last_error_rate() const { return last_error_rate_; }

private:
  double threshold_;
  int checks_;
  std::uint64_t sent_ = 0, failed_ = 0;
  int streak_ = 0;
  bool healthy_ = true;
  double last_error_rate_ = 0.0;
};

/// Where DNS moves the weight of a region whose edge turned unhealthy: the name's home region
/// if it is another one and healthy, else the first other healthy region; -1 when none is.
/// (Shared by sim/regions and sim/zuul, so that both fail over alike.)
int failover_target(int from, int home, const std::vector<HealthCheck>& health);

/// Failover's move: all of `from`'s weight in `record` goes to `to`. Returns false (and leaves
/// the record alone) when `from` had none.
bool move_weight(DnsRecord& record, int from, int to);

/// Chaos Kong's step: a record's weights over `regions` regions with `share` of `total` moved
/// from `from` to `to` (the rest stays on `from`).
std::vector<std::uint64_t> evacuation_weights(std::size_t regions, int from, int to, double share,
                                              std::uint64_t total);

}  // namespace faultline::sim::regions
