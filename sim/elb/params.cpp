#include <faultline/sim/elb/params.hpp>

#include <fmt/format.h>

#include <set>
#include <stdexcept>

namespace faultline::sim::elb {

namespace {

void require(bool ok, std::string_view field, std::string_view problem, std::string_view fix) {
  if (!ok) {
    throw std::invalid_argument(fmt::format("{}: {}; {}", field, problem, fix));
  }
}
void positive(Duration d, std::string_view field) {
  require(d > Duration::zero(), field, "must be positive", "use e.g. \"10m\"");
}
void probability(double p, std::string_view field) {
  require(p >= 0.0 && p <= 1.0, field, fmt::format("is {}, not a probability", p),
          "use a number in [0, 1]");
}

}  // namespace

std::vector<FamilyParams> ElbParams::default_families() {
  // §4.2: TV-connected devices hit; the website and Mac/PC streaming stayed up.
  return {FamilyParams{"tv", 3.0, true, 6, Duration::minutes(10)},
          FamilyParams{"website", 2.0, false, 6, Duration::minutes(10)},
          FamilyParams{"pc", 2.0, false, 6, Duration::minutes(10)}};
}

void FleetParams::validate() const {
  require(elbs >= 0 && elbs <= 100000, "fleet.elbs", fmt::format("is {}", elbs),
          "use 0 to 100000");
  require(nodes >= 1 && nodes <= 100, "fleet.nodes", fmt::format("is {}", nodes), "use 1 to 100");
  positive(touch_mean, "fleet.touch_mean");
}

void FamilyParams::validate(std::string_view field) const {
  require(!name.empty(), fmt::format("{}.name", field), "is empty", "name the device family");
  require(rate_per_s > 0.0 && rate_per_s <= 10000.0, fmt::format("{}.rate_per_s", field),
          fmt::format("is {}", rate_per_s), "use a rate in (0, 10000]");
  require(nodes >= 1 && nodes <= 100, fmt::format("{}.nodes", field),
          fmt::format("is {}", nodes), "use 1 to 100");
  positive(touch_mean, fmt::format("{}.touch_mean", field));
}

void ControlPlaneParams::validate() const {
  probability(scale_ratio, "control_plane.scale_ratio");
  require(call_timeout > Duration::zero(), "control_plane.call_timeout", "must be positive",
          "use e.g. \"5s\"");
  require(retry_after > Duration::zero(), "control_plane.retry_after", "must be positive",
          "use e.g. \"30s\"");
}

void IncidentParams::validate() const {
  probability(deleted_fraction, "incident.deleted_fraction");
  require(deleted_at >= Duration::zero(), "incident.deleted_at", "is negative", "use e.g. \"24m\"");
  require(workflows_disabled_at >= deleted_at, "incident.workflows_disabled_at",
          "is before the deletion", "the workflows are disabled after the damage starts");
  require(restored_at >= workflows_disabled_at, "incident.restored_at",
          "is before the workflows are disabled", "restore after incident.workflows_disabled_at");
  require(merged_at >= restored_at, "incident.merged_at", "is before the snapshot is restored",
          "merge after incident.restored_at");
  require(reenable_over >= Duration::zero(), "incident.reenable_over", "is negative",
          "use e.g. \"4h50m\"");
  require(families_repaired_at >= Duration::zero(), "incident.families_repaired_at",
          "is negative", "use e.g. \"10h\", or 0 for no hand repair");
}

void FailoverParams::validate() const {
  positive(check_interval, "failover.check_interval");
  probability(error_threshold, "failover.error_threshold");
  require(checks >= 1 && checks <= 1000, "failover.checks", fmt::format("is {}", checks),
          "use 1 to 1000");
  require(dns_ttl >= Duration::zero(), "failover.dns_ttl", "is negative", "use e.g. \"60s\"");
  require(extra_latency >= Duration::zero(), "failover.extra_latency", "is negative",
          "use e.g. \"60ms\"");
  require(tunnel_latency >= Duration::zero(), "failover.tunnel_latency", "is negative",
          "use e.g. \"60ms\"");
  require(resolvers >= 1 && resolvers <= 100000, "failover.resolvers",
          fmt::format("is {}", resolvers), "use 1 to 100000");
  probability(sticky_fraction, "failover.sticky_fraction");
  require(sticky_extra >= Duration::zero(), "failover.sticky_extra", "is negative",
          "use e.g. \"10m\"");
}

std::string_view to_string(FailoverParams::Mode m) {
  return m == FailoverParams::Mode::kIsthmus ? "isthmus" : "active-active";
}

void ClientParams::validate() const {
  positive(timeout, "client.timeout");
  require(latency_base >= Duration::zero(), "client.latency_base", "is negative",
          "use e.g. \"40ms\"");
  require(latency_mean >= Duration::zero(), "client.latency_mean", "is negative",
          "use e.g. \"20ms\"");
}

void ElbParams::validate() const {
  fleet.validate();
  require(!families.empty(), "families", "is empty", "give at least one device family");
  std::set<std::string> names;
  for (std::size_t i = 0; i < families.size(); ++i) {
    families[i].validate(fmt::format("families[{}]", i));
    require(names.insert(families[i].name).second, fmt::format("families[{}].name", i),
            fmt::format("\"{}\" is used twice", families[i].name), "give each family its own name");
  }
  control_plane.validate();
  incident.validate();
  failover.validate();
  client.validate();
}

}  // namespace faultline::sim::elb
