// Binding of the ELB model (sim/elb): "model": {"name": "elb"}.
// JSON keys are the field names of faultline::sim::elb::ElbParams, one to one:
//   {"fleet": {"elbs", "nodes", "touch_mean"},
//    "families": [{"name", "rate_per_s", "state_deleted", "nodes", "touch_mean"}, ...],
//    "control_plane": {"scale_ratio", "fail_static", "call_timeout", "retry_after"},
//    "incident": {"enabled", "deleted_at", "change_managed", "deleted_fraction",
//                 "workflows_disabled_at", "restored_at", "merged_at", "reenable_over",
//                 "families_repaired_at"},
//    "failover": {"enabled", "mode", "check_interval", "error_threshold", "checks", "dns_ttl",
//                 "resolvers", "sticky_fraction", "sticky_extra", "extra_latency",
//                 "tunnel_latency"},
//    "client": {"timeout", "latency_base", "latency_mean"}}
// Times are from the start of the run. The incident's timeline is params (it is the control
// plane's own doing); world faults ("faults": crash, pause, partition... of hosts, zones, the
// groups "elb/<elb>", "device/<family>", "elb/control-plane" and "elb/state-store") act on the
// LB nodes, the devices, the control plane and its state store, which are world nodes on their
// own hosts.
//
// Measure scopes: each family's name (stream starts through its ELB; the default is the first
// family) and "control-plane" (workflow runs; failures are API errors on missing state).
// Probes: impacted_fraction (share of the region's ELBs with a misprogrammed node),
// impacted_elbs, broken_nodes/<family>, failed_over/<family>, other_region/<family> (share of
// the family's resolvers answering the other region), workflows_enabled.
#include "elb_readers.hpp"
#include "world_faults.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/elb/region.hpp>

#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace elb = faultline::sim::elb;

class ElbInstance : public ModelInstance {
public:
  ElbInstance(elb::ElbParams params, bindings::FaultPlan faults)
      : params_(std::move(params)), faults_(std::move(faults)) {}

  void start(Simulation& sim) override {
    region_ = std::make_unique<elb::ElbRegion>(sim, params_);
    bindings::schedule_faults(region_->world().faults(), faults_);
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
      p.push_back("other_region/" + f.name);
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
        const auto kind = name.substr(0, slash);
        if (kind == "other_region") {
          return r.other_region_share(static_cast<int>(f));
        }
        return kind == "failed_over"
                   ? (r.failed_over(static_cast<int>(f)) ? 1.0 : 0.0)
                   : static_cast<double>(r.broken_nodes(r.family_elb(static_cast<int>(f))));
      }
    }
    return 0.0;
  }

private:
  elb::ElbParams params_;
  bindings::FaultPlan faults_;
  std::unique_ptr<elb::ElbRegion> region_;
};

}  // namespace

void bindings::read_control_plane(ObjectReader& o, elb::ControlPlaneParams& cp) {
  o.get("scale_ratio", cp.scale_ratio, {.min = 0, .max = 1},
        "probability a workflow touch is a scale event (one node replaced and programmed from "
        "state); else a config push reprogramming every node (assumption)");
  o.get("fail_static", cp.fail_static,
        "a workflow finding the ELB's state missing keeps its last good configuration (the "
        "recipe's fix (b), model-facts §4.2)");
  o.get("call_timeout", cp.call_timeout, {.min = Duration::nanos(1)},
        "how long the control plane waits for the state store, and a replacement LB node for "
        "the control plane (assumption)");
  o.get("retry_after", cp.retry_after, {.min = Duration::nanos(1)},
        "a replacement LB node the control plane could not program asks again after this; so "
        "does a restore the control plane could not run (assumption)");
}

namespace {

std::unique_ptr<ModelInstance> prepare_elb(const ModelInput& in) {
  const Source& source = *in.source;
  elb::ElbParams p;
  const DurationBounds run_time{.min = Duration::zero(), .max = in.duration};
  if (in.params != nullptr) {
    ObjectReader r(*in.params, "/model/params", source);
    if (auto o = r.object("fleet",
                          "the region's other ELBs: state and workflows, no traffic (so the "
                          "share misprogrammed can be measured)")) {
      o->get("elbs", p.fleet.elbs, {.min = 0, .max = 100000},
             "running ELBs besides the device families' (assumption: a region's fleet, scaled "
             "down)");
      o->get("nodes", p.fleet.nodes, {.min = 1, .max = 100},
             "LB nodes per fleet ELB (assumption: one per zone in three zones)");
      o->get("touch_mean", p.fleet.touch_mean, {.min = Duration::nanos(1)},
             "mean time between workflows touching one fleet ELB, exponential (assumption, "
             "calibrated with deleted_fraction on the record's 6.8 % peak, model-facts §4.1)");
      o->finish();
    }
    if (const Json* families = r.array("families",
                                       "device families, each reaching the API through its own "
                                       "ELB (model-facts §4.2)")) {
      p.families.clear();
      for (std::size_t i = 0; i < families->size(); ++i) {
        ObjectReader o((*families)[i], child_pointer("/model/params/families", i), source);
        elb::FamilyParams f;
        o.require("name", "\"tv\"", "family name, used as the `of` of observations");
        o.get("name", f.name, "family name, used as the `of` of observations");
        o.get("rate_per_s", f.rate_per_s, {.min = 1e-9, .max = 10000},
              "Poisson stream-start requests per second through the family's ELB (scaled "
              "down; assumption)");
        bindings::check_request_count(o, "rate_per_s", f.rate_per_s, in.duration);
        o.get("state_deleted", f.state_deleted,
              "whether the deletion takes this ELB's state (model-facts §4.2: TV devices' ELBs "
              "failed, the website's and PC's did not; which records went is not in the record)");
        o.get("nodes", f.nodes, {.min = 1, .max = 100}, "LB nodes of the family's ELB");
        o.get("touch_mean", f.touch_mean, {.min = Duration::nanos(1)},
              "mean time between workflows touching the family's ELB, exponential (assumption: "
              "Netflix's ELBs scale often at the evening peak)");
        o.finish();
        p.families.push_back(std::move(f));
      }
    }
    if (auto o = r.object("control_plane", "what a control-plane workflow does to a running ELB")) {
      bindings::read_control_plane(*o, p.control_plane);
      o->finish();
    }
    if (auto o = r.object("incident",
                          "the 2012-12-24 state deletion and its recovery, times from the start "
                          "of the run (model-facts §4.1)")) {
      auto& i = p.incident;
      o->get("enabled", i.enabled, "run the state deletion at all");
      o->get("deleted_at", i.deleted_at, run_time,
             "when the maintenance process deletes the state (record: 12:24 PM PST)");
      o->get("change_managed", i.change_managed,
             "change management on production state refuses the deletion (AWS's fix, the "
             "recipe's fix (a))");
      o->get("deleted_fraction", i.deleted_fraction, {.min = 0, .max = 1},
             "fraction of the fleet's ELBs whose state is deleted (assumption: set with "
             "touch_mean so the peak matches the record's 6.8 %)");
      o->get("workflows_disabled_at", i.workflows_disabled_at, {.min = Duration::zero()},
             "root cause found and workflows disabled (record: ~5 PM PST, T0 + 4.6 h)");
      o->get("restored_at", i.restored_at, {.min = Duration::zero()},
             "snapshot restored by an alternate process, a trace mark (record: 2:45 AM PST, T0 "
             "+ 14.4 h)");
      o->get("merged_at", i.merged_at, {.min = Duration::zero()},
             "restored state merged into live state (record: 5:40 AM PST, T0 + 17.3 h)");
      o->get("reenable_over", i.reenable_over, {.min = Duration::zero()},
             "misprogrammed ELBs are reprogrammed at uniform times within this after merged_at "
             "(record: almost all back by 10:30 AM PST)");
      o->get("families_repaired_at", i.families_repaired_at, run_time,
             "hand repair of the device families' ELBs (assumption for the record's \"late on "
             "Christmas Eve\"; 0s: none)");
      o->finish();
    }
    if (auto o = r.object("failover",
                          "DNS steering of a family to a second region (Isthmus or "
                          "active-active, the recipe's fix (d), model-facts §4.2)")) {
      auto& f = p.failover;
      o->get("enabled", f.enabled, "health-check each family's ELB and fail over by DNS");
      std::string mode = std::string(elb::to_string(f.mode));
      o->get_choice("mode", mode, {"active-active", "isthmus"},
                    "active-active: the other region serves; isthmus: its ELB and Zuul tunnel to "
                    "this region's Zuul, bypassing the broken ELB (model-facts §4.2)");
      f.mode = mode == "isthmus" ? elb::FailoverParams::Mode::kIsthmus
                                 : elb::FailoverParams::Mode::kActiveActive;
      o->get("check_interval", f.check_interval, {.min = Duration::nanos(1)},
             "interval of the health checks; each looks at the interval's error rate");
      o->get("error_threshold", f.error_threshold, {.min = 0, .max = 1},
             "error rate (fraction) above which a check fails");
      o->get("checks", f.checks, {.min = 1, .max = 1000},
             "consecutive failing checks before DNS is switched (assumption)");
      o->get("dns_ttl", f.dns_ttl, {.min = Duration::zero()},
             "TTL of the family's DNS record; clients move as their resolvers' cached answers "
             "expire (assumption: 60 s)");
      o->get("resolvers", f.resolvers, {.min = 1, .max = 100000},
             "resolver caches per family; the devices behind one share its answer");
      o->get("sticky_fraction", f.sticky_fraction, {.min = 0, .max = 1},
             "share of resolvers or devices keeping an answer beyond its TTL (assumption)");
      o->get("sticky_extra", f.sticky_extra, {.min = Duration::zero()},
             "how much longer a sticky resolver keeps an answer");
      o->get("extra_latency", f.extra_latency, {.min = Duration::zero()},
             "how much farther (a round trip) the devices are from the other region than from this one: the internet <-> us-west world link is 30 ms + half of this each way");
      o->get("tunnel_latency", f.tunnel_latency, {.min = Duration::zero()},
             "round trip between the regions (the us-east <-> us-west world link: half of this each way), which Isthmus's tunnel crosses");
      o->finish();
    }
    if (auto o = r.object("client", "the devices starting streams")) {
      auto& c = p.client;
      o->get("timeout", c.timeout, {.min = Duration::nanos(1)},
             "a request black-holed by a node with no backends is given up after this");
      o->get("latency_base", c.latency_base, {.min = Duration::zero()},
             "fixed part of a served stream start's latency (assumption)");
      o->get("latency_mean", c.latency_mean, {.min = Duration::zero()},
             "mean of the exponential part of a served stream start's latency (assumption)");
      o->finish();
    }
    r.finish();
  }
  bindings::validate_at(source, p);
  auto faults = bindings::parse_faults(in.faults, source, in.duration, elb::ElbRegion::groups(p));
  return std::make_unique<ElbInstance>(std::move(p), std::move(faults));
}

}  // namespace

void register_elb_model(ModelRegistry& registry) {
  registry.add({"elb",
                "one region's Elastic Load Balancers: LB nodes routing by the backend list they "
                "were programmed with, control-plane workflows reprogramming them from a state "
                "store, the 2012 Christmas Eve state deletion and its recovery, device families "
                "with their own ELBs, DNS failover to another region; LB nodes and devices on "
                "world hosts (sim/elb)",
                {"faults"},
                prepare_elb});
}

}  // namespace faultline::scenario
