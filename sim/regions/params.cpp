#include <faultline/sim/regions/params.hpp>

#include <fmt/format.h>

#include <set>
#include <stdexcept>

namespace faultline::sim::regions {

namespace {

void require(bool ok, std::string_view field, std::string_view problem, std::string_view fix) {
  if (!ok) {
    throw std::invalid_argument(fmt::format("{}: {}; {}", field, problem, fix));
  }
}
void positive(Duration d, std::string_view field) {
  require(d > Duration::zero(), field, "must be positive", "use e.g. \"1m\"");
}
void non_negative(Duration d, std::string_view field) {
  require(d >= Duration::zero(), field, "is negative", "use e.g. \"30m\"");
}
void probability(double p, std::string_view field) {
  require(p >= 0.0 && p <= 1.0, field, fmt::format("is {}, not a probability", p),
          "use a number in [0, 1]");
}

}  // namespace

std::string_view to_string(FailoverParams::Mode m) {
  return m == FailoverParams::Mode::kIsthmus ? "isthmus" : "active-active";
}

std::vector<RegionParams> RegionsParams::default_regions() {
  RegionParams east;
  east.name = "us-east-1";
  RegionParams west;
  west.name = "us-west-2";
  return {east, west};
}

std::vector<PopulationParams> RegionsParams::default_populations() {
  return {PopulationParams{"east-members", "us-east-1", 50.0},
          PopulationParams{"west-members", "us-west-2", 50.0}};
}

int RegionsParams::region_index(std::string_view name) const {
  for (std::size_t i = 0; i < regions.size(); ++i) {
    if (regions[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void RegionParams::validate(std::string_view field) const {
  require(!name.empty(), fmt::format("{}.name", field), "is empty", "name the region");
  require(min_servers >= 1 && min_servers <= max_servers, fmt::format("{}.min_servers", field),
          fmt::format("is {} with max_servers {}", min_servers, max_servers),
          "use 1 <= min_servers <= max_servers");
  require(max_servers <= 100000, fmt::format("{}.max_servers", field),
          fmt::format("is {}", max_servers), "use at most 100000");
  require(servers >= min_servers && servers <= max_servers, fmt::format("{}.servers", field),
          fmt::format("is {}, outside [{}, {}]", servers, min_servers, max_servers),
          "start within the autoscaler's bounds");
  require(server_rate_per_s > 0.0, fmt::format("{}.server_rate_per_s", field),
          fmt::format("is {}", server_rate_per_s), "use a positive rate");
  require(store_rate_per_s > 0.0, fmt::format("{}.store_rate_per_s", field),
          fmt::format("is {}", store_rate_per_s), "use a positive rate");
}

void PopulationParams::validate(std::string_view field) const {
  require(!name.empty(), fmt::format("{}.name", field), "is empty", "name the population");
  require(rate_per_s > 0.0 && rate_per_s <= 100000.0, fmt::format("{}.rate_per_s", field),
          fmt::format("is {}", rate_per_s), "use a rate in (0, 100000]");
}

void AutoscalingParams::validate() const {
  positive(interval, "autoscaling.interval");
  require(target_utilisation > 0.0 && target_utilisation <= 1.0,
          "autoscaling.target_utilisation", fmt::format("is {}", target_utilisation),
          "use a number in (0, 1]");
  non_negative(boot_time, "autoscaling.boot_time");
}

void CacheParams::validate() const {
  require(keys >= 1 && keys <= 10000000, "cache.keys", fmt::format("is {}", keys),
          "use 1 to 10000000");
  require(zipf_s >= 0.0 && zipf_s <= 5.0, "cache.zipf_s", fmt::format("is {}", zipf_s),
          "use 0 to 5");
  positive(item_ttl, "cache.item_ttl");
}

void FailoverParams::validate() const {
  positive(check_interval, "failover.check_interval");
  probability(error_threshold, "failover.error_threshold");
  require(checks >= 1 && checks <= 1000, "failover.checks", fmt::format("is {}", checks),
          "use 1 to 1000");
}

void EdgeFaultParams::validate(std::string_view field) const {
  non_negative(at, fmt::format("{}.at", field));
  positive(duration, fmt::format("{}.duration", field));
  probability(broken_fraction, fmt::format("{}.broken_fraction", field));
}

void EvacuationParams::validate() const {
  non_negative(start, "evacuation.start");
  non_negative(over, "evacuation.over");
  require(steps >= 1 && steps <= 10000, "evacuation.steps", fmt::format("is {}", steps),
          "use 1 to 10000");
  require(!enabled || region != to, "evacuation.to", "is the evacuated region",
          "name another region");
}

std::vector<EvacuationParams::Step> EvacuationParams::schedule() const {
  const int n = over == Duration::zero() ? 1 : steps;
  std::vector<Step> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 1; i <= n; ++i) {
    out.push_back({start + Duration::nanos(over.ns() / n * i), static_cast<double>(i) / n});
  }
  return out;
}

void ClientParams::validate() const {
  positive(timeout, "client.timeout");
  non_negative(latency_base, "client.latency_base");
  non_negative(latency_mean, "client.latency_mean");
  non_negative(cross_region_rtt, "client.cross_region_rtt");
  non_negative(store_latency, "client.store_latency");
}

void RegionsParams::validate() const {
  require(!regions.empty(), "regions", "is empty", "give at least one region");
  std::set<std::string> names;
  for (std::size_t i = 0; i < regions.size(); ++i) {
    regions[i].validate(fmt::format("regions[{}]", i));
    require(names.insert(regions[i].name).second, fmt::format("regions[{}].name", i),
            fmt::format("\"{}\" is used twice", regions[i].name), "give each region its own name");
  }
  require(!populations.empty(), "populations", "is empty", "give at least one population");
  std::set<std::string> pops;
  for (std::size_t i = 0; i < populations.size(); ++i) {
    const auto field = fmt::format("populations[{}]", i);
    populations[i].validate(field);
    require(pops.insert(populations[i].name).second, field + ".name",
            fmt::format("\"{}\" is used twice", populations[i].name),
            "give each population its own name");
    require(region_index(populations[i].home) >= 0, field + ".home",
            fmt::format("\"{}\" is not a region", populations[i].home), "name one of `regions`");
  }
  dns.validate("dns");
  autoscaling.validate();
  cache.validate();
  failover.validate();
  require(!failover.enabled || regions.size() >= 2, "failover.enabled", "needs two regions",
          "add a region or turn failover off");
  for (std::size_t i = 0; i < edge_faults.size(); ++i) {
    const auto field = fmt::format("edge_faults[{}]", i);
    edge_faults[i].validate(field);
    require(region_index(edge_faults[i].region) >= 0, field + ".region",
            fmt::format("\"{}\" is not a region", edge_faults[i].region),
            "name one of `regions`");
  }
  evacuation.validate();
  if (evacuation.enabled) {
    require(region_index(evacuation.region) >= 0, "evacuation.region",
            fmt::format("\"{}\" is not a region", evacuation.region), "name one of `regions`");
    require(region_index(evacuation.to) >= 0, "evacuation.to",
            fmt::format("\"{}\" is not a region", evacuation.to), "name one of `regions`");
  }
  client.validate();
}

}  // namespace faultline::sim::regions
