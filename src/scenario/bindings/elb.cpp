// Binding of the ELB model (sim/elb): "model": {"name": "elb"}.
// JSON keys are the field names of faultline::sim::elb::ElbParams, one to one:
//   {"fleet": {"elbs", "nodes", "touch_mean"},
//    "families": [{"name", "rate_per_s", "state_deleted", "nodes", "touch_mean"}, ...],
//    "control_plane": {"scale_ratio", "fail_static"},
//    "incident": {"enabled", "deleted_at", "change_managed", "deleted_fraction",
//                 "workflows_disabled_at", "restored_at", "merged_at", "reenable_over",
//                 "families_repaired_at"},
//    "failover": {"enabled", "check_interval", "error_threshold", "checks", "dns_ttl",
//                 "extra_latency"},
//    "client": {"timeout", "latency_base", "latency_mean"}}
// Times are from the start of the run. The incident's timeline is params, not world faults:
// the model runs on the kernel, not on world hosts.
//
// Measure scopes: each family's name (stream starts through its ELB; the default is the first
// family) and "control-plane" (workflow runs; failures are API errors on missing state).
// Probes: impacted_fraction (share of the region's ELBs with a misprogrammed node),
// impacted_elbs, broken_nodes/<family>, failed_over/<family>, workflows_enabled.
#include "world_faults.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/elb/region.hpp>

#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace elb = faultline::sim::elb;

class ElbInstance : public ModelInstance {
public:
  explicit ElbInstance(elb::ElbParams params) : params_(std::move(params)) {}

  void start(Simulation& sim) override {
    region_ = std::make_unique<elb::ElbRegion>(sim, params_);
    region_->start();
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    const std::string scope = of.empty() ? params_.families.front().name : std::string(of);
    if (scope == "control-plane") {
      auto n = elb::control_plane_metric_names();
      return MeasureNames{n.requests, n.successes, n.failures, n.requests, {}};
    }
    for (const auto& f : params_.families) {
      if (f.name == scope) {
        auto n = elb::family_metric_names(scope);
        return MeasureNames{n.requests, n.successes, n.failures, n.requests, n.latency};
      }
    }
    return std::nullopt;
  }
  std::vector<std::string> measure_scopes() const override {
    std::vector<std::string> s{"control-plane"};
    for (const auto& f : params_.families) {
      s.push_back(f.name);
    }
    return s;
  }

  std::vector<std::string> probes() const override {
    std::vector<std::string> p;
    for (const auto& f : params_.families) {
      p.push_back("broken_nodes/" + f.name);
    }
    for (const auto& f : params_.families) {
      p.push_back("failed_over/" + f.name);
    }
    p.push_back("impacted_elbs");
    p.push_back("impacted_fraction");
    p.push_back("workflows_enabled");
    std::sort(p.begin(), p.end());
    return p;
  }
  double probe(std::string_view name) const override {
    const auto& r = *region_;
    if (name == "impacted_fraction") {
      return r.impacted_fraction();
    }
    if (name == "impacted_elbs") {
      return r.impacted();
    }
    if (name == "workflows_enabled") {
      return r.workflows_enabled() ? 1.0 : 0.0;
    }
    const auto slash = name.find('/');
    const auto family = name.substr(slash + 1);
    for (std::size_t f = 0; f < params_.families.size(); ++f) {
      if (params_.families[f].name == family) {
        return name.substr(0, slash) == "failed_over"
                   ? (r.failed_over(static_cast<int>(f)) ? 1.0 : 0.0)
                   : static_cast<double>(r.broken_nodes(r.family_elb(static_cast<int>(f))));
      }
    }
    return 0.0;
  }

private:
  elb::ElbParams params_;
  std::unique_ptr<elb::ElbRegion> region_;
};

std::unique_ptr<ModelInstance> prepare_elb(const ModelInput& in) {
  const Source& source = *in.source;
  elb::ElbParams p;
  const DurationBounds run_time{.min = Duration::zero(), .max = in.duration};
  if (in.params != nullptr) {
    ObjectReader r(*in.params, "/model/params", source);
    if (auto o = r.object("fleet")) {
      o->get("elbs", p.fleet.elbs, {.min = 0, .max = 100000});
      o->get("nodes", p.fleet.nodes, {.min = 1, .max = 100});
      o->get("touch_mean", p.fleet.touch_mean, {.min = Duration::nanos(1)});
      o->finish();
    }
    if (const Json* families = r.array("families")) {
      p.families.clear();
      for (std::size_t i = 0; i < families->size(); ++i) {
        ObjectReader o((*families)[i], child_pointer("/model/params/families", i), source);
        elb::FamilyParams f;
        o.require("name", "\"tv\"");
        o.get("name", f.name);
        o.get("rate_per_s", f.rate_per_s, {.min = 1e-9, .max = 10000});
        bindings::check_request_count(o, "rate_per_s", f.rate_per_s, in.duration);
        o.get("state_deleted", f.state_deleted);
        o.get("nodes", f.nodes, {.min = 1, .max = 100});
        o.get("touch_mean", f.touch_mean, {.min = Duration::nanos(1)});
        o.finish();
        p.families.push_back(std::move(f));
      }
    }
    if (auto o = r.object("control_plane")) {
      o->get("scale_ratio", p.control_plane.scale_ratio, {.min = 0, .max = 1});
      o->get("fail_static", p.control_plane.fail_static);
      o->finish();
    }
    if (auto o = r.object("incident")) {
      auto& i = p.incident;
      o->get("enabled", i.enabled);
      o->get("deleted_at", i.deleted_at, run_time);
      o->get("change_managed", i.change_managed);
      o->get("deleted_fraction", i.deleted_fraction, {.min = 0, .max = 1});
      o->get("workflows_disabled_at", i.workflows_disabled_at, {.min = Duration::zero()});
      o->get("restored_at", i.restored_at, {.min = Duration::zero()});
      o->get("merged_at", i.merged_at, {.min = Duration::zero()});
      o->get("reenable_over", i.reenable_over, {.min = Duration::zero()});
      o->get("families_repaired_at", i.families_repaired_at, run_time);
      o->finish();
    }
    if (auto o = r.object("failover")) {
      auto& f = p.failover;
      o->get("enabled", f.enabled);
      o->get("check_interval", f.check_interval, {.min = Duration::nanos(1)});
      o->get("error_threshold", f.error_threshold, {.min = 0, .max = 1});
      o->get("checks", f.checks, {.min = 1, .max = 1000});
      o->get("dns_ttl", f.dns_ttl, {.min = Duration::zero()});
      o->get("extra_latency", f.extra_latency, {.min = Duration::zero()});
      o->finish();
    }
    if (auto o = r.object("client")) {
      auto& c = p.client;
      o->get("timeout", c.timeout, {.min = Duration::nanos(1)});
      o->get("latency_base", c.latency_base, {.min = Duration::zero()});
      o->get("latency_mean", c.latency_mean, {.min = Duration::zero()});
      o->finish();
    }
    r.finish();
  }
  try {
    p.validate();
  } catch (const std::invalid_argument& e) {
    throw bindings::params_error(e.what(), "/model/params", source);
  }
  return std::make_unique<ElbInstance>(std::move(p));
}

}  // namespace

void register_elb_model(ModelRegistry& registry) {
  registry.add({"elb",
                "one region's Elastic Load Balancers: LB nodes routing by the backend list they "
                "were programmed with, control-plane workflows reprogramming them from a state "
                "store, the 2012 Christmas Eve state deletion and its recovery, device families "
                "with their own ELBs, DNS failover to another region (sim/elb)",
                {},
                prepare_elb});
}

}  // namespace faultline::scenario
