// Binding of the Ringpop model (sim/ringpop): "model": {"name": "ringpop"}. JSON keys are the
// field names of faultline::sim::ringpop::ClusterParams and the structs it holds; durations
// are strings. "swim.preset" ("ringpop" or "memberlist") picks the defaults the other swim
// keys then override.
#include "services_readers.hpp"
#include "world_faults.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/ringpop/checker.hpp>
#include <faultline/sim/ringpop/cluster.hpp>
#include <faultline/sim/ringpop/dispatch.hpp>
#include <faultline/sim/ringpop/params.hpp>
#include <faultline/sim/services/service_graph.hpp>
#include <faultline/world/world.hpp>

#include <algorithm>
#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace rp = faultline::sim::ringpop;
namespace svc = faultline::sim::services;

/// The maps service dispatch asks for ETAs: a service graph (its tiers and, for the storm, the
/// client populations that also call it) in the same World, and the edge dispatch's owners
/// call it through.
struct MapsSpec {
  bool enabled = false;
  svc::ServiceGraphParams graph;
  std::string target = "maps";
  svc::CallPolicy policy;
  /// The name dispatch's ETA calls are measured under (services/client/<name>/...).
  static constexpr std::string_view kEdge = "dispatch->maps";
};

void read_maps(ObjectReader& r, const Source& source, Duration duration,
               const std::vector<std::string>& ring_zones, MapsSpec& m,
               rp::DispatchParams& dispatch) {
  m.enabled = true;
  m.graph.zones = ring_zones;
  r.get_names("zones", m.graph.zones,
              "zones of the maps service (default: ringpop's); a zone ringpop also uses is "
              "shared, any other is made in a region \"services\" (30 ms away)");
  r.get("sample_interval", m.graph.sample_interval, {.min = Duration::nanos(1)},
        "interval of the maps service's own series");
  bindings::check_sample_count(r, "sample_interval", m.graph.sample_interval, duration);
  m.graph.tiers.clear();
  if (const Json* tiers = r.array("tiers", "the maps service's tiers, as in model services")) {
    for (std::size_t i = 0; i < tiers->size(); ++i) {
      ObjectReader t((*tiers)[i], child_pointer("/model/params/maps/tiers", i), source);
      m.graph.tiers.push_back(bindings::read_service_tier(t));
    }
  }
  if (const Json* clients = r.array("clients",
                                    "other callers of the maps service (rider apps), as in "
                                    "model services")) {
    for (std::size_t i = 0; i < clients->size(); ++i) {
      ObjectReader c((*clients)[i], child_pointer("/model/params/maps/clients", i), source);
      m.graph.clients.push_back(bindings::read_service_client(c));
      const auto& client = m.graph.clients.back();
      bindings::check_request_count(c, "rate_per_s",
                                    std::max(client.rate_per_s, client.rate_after_change),
                                    duration);
    }
  }
  r.get("target", m.target, "the tier dispatch asks for ETAs");
  if (auto pol = r.object("policy",
                          "timeout, retries, breaker of dispatch's ETA calls, each owner with its "
                          "own state, as a services dependency policy")) {
    bindings::read_call_policy(*pol, m.policy);
  }
  r.get("fallback", dispatch.eta_fallback,
        "a failed ETA call is answered with a degraded straight-line ETA and the match stands; "
        "false: the match fails");
  r.finish();
}

void get_u32(ObjectReader& r, std::string_view key, std::uint32_t& out, double min, double max,
             Doc doc) {
  double v = out;
  r.get(key, v, {.min = min, .max = max}, doc);
  out = static_cast<std::uint32_t>(v);
}

void read_lifeguard(ObjectReader& r, rp::LifeguardParams& p) {
  r.get("enabled", p.enabled,
        "Lifeguard on (local health, dynamic suspicion, nacks, buddy; Dadgar et al. 2017)");
  get_u32(r, "max_multiplier", p.max_multiplier, 1, 64,
          "local health saturates at this; probe interval and timeouts stretch up to this many "
          "times (memberlist AwarenessMaxMultiplier: 8)");
  get_u32(r, "suspicion_max_mult", p.suspicion_max_mult, 1, 100,
          "a lone suspicion waits this many times the base suspect timeout (memberlist "
          "SuspicionMaxTimeoutMult: 6)");
  get_u32(r, "confirmations", p.confirmations, 1, 100,
          "independent suspicions of a member that shrink its suspect timeout to the base, a "
          "count");
  r.get("nacks", p.nacks,
        "ping-req helpers that cannot reach the target answer with a nack; missed nacks count "
        "against the requester's local health");
  r.get("buddy", p.buddy,
        "a ping to a suspected member carries the suspicion, so the member refutes at once");
  r.finish();
}

void read_damping(ObjectReader& r, rp::DampingParams& p) {
  r.get("enabled", p.enabled,
        "flap damping on (ringpop-node, model-facts §5.2; the figures below are assumptions after "
        "BGP route-flap damping, RFC 2439)");
  r.get("penalty", p.penalty, {.min = 0.0, .max = 1e9},
        "score added to a member's flap penalty per status change applied about it, in points");
  r.get("suppress_limit", p.suppress_limit, {.min = 0.0, .max = 1e9},
        "flap penalty above which a member asks others (damp-req) whether to evict the flapper, "
        "in points");
  r.get("reuse_limit", p.reuse_limit, {.min = 0.0, .max = 1e9},
        "a damped member's news of being reachable is ignored until its penalty decays below "
        "this, in points");
  r.get("half_life", p.half_life, {.min = Duration::nanos(1)},
        "time for a flap penalty to halve");
  get_u32(r, "damp_req_size", p.damp_req_size, 1, 64,
          "members asked (damp-req) for their penalty of a flapper, a count");
  get_u32(r, "damp_req_quorum", p.damp_req_quorum, 1, 64,
          "damp-req answers above the suppress limit needed to evict the flapper, a count");
  r.get("damp_req_timeout", p.damp_req_timeout, {.min = Duration::nanos(1)},
        "time a member waits for damp-req answers");
  r.finish();
}

void read_swim(ObjectReader& r, rp::SwimParams& p) {
  std::string preset = "ringpop";
  r.get_choice("preset", preset, {"ringpop", "memberlist"},
               "defaults the other swim keys override: ringpop-go swim/node.go, or HashiCorp "
               "memberlist DefaultLANConfig with Lifeguard on (model-facts §5.1, §5.2)");
  p = preset == "memberlist" ? rp::SwimParams::memberlist_lan() : rp::SwimParams::ringpop_defaults();
  const DurationBounds positive{.min = Duration::nanos(1)};
  r.get("min_protocol_period", p.min_protocol_period, positive,
        "least time from one protocol period (one probe) to the next (ringpop-go "
        "MinProtocolPeriod: 200 ms; memberlist ProbeInterval: 1 s)");
  r.get("adaptive_period", p.adaptive_period,
        "the period stretches to 2x the median recent probe time when longer (ringpop-go "
        "AdjustProtocolRate); false: fixed, as memberlist");
  r.get("ping_timeout", p.ping_timeout, positive,
        "time to wait for a ping's ack (ringpop-go PingTimeout: 1500 ms; memberlist "
        "ProbeTimeout: 500 ms)");
  r.get("ping_request_timeout", p.ping_request_timeout, positive,
        "time to wait for ping-req helpers' answers (ringpop-go PingRequestTimeout: 5000 ms)");
  get_u32(r, "ping_request_size", p.ping_request_size, 0, 64,
          "k: members asked to ping an unresponsive target (ringpop-go PingRequestSize and "
          "memberlist IndirectChecks: 3)");
  r.get("suspect_timeout", p.suspect_timeout, positive,
        "time from suspect to faulty (ringpop-go: 5 s; memberlist: SuspicionMult 4 x 1 s)");
  r.get("suspect_timeout_scales_with_log_n", p.suspect_timeout_scales_with_log_n,
        "the suspect timeout is multiplied by max(1, log10 n), as memberlist does");
  get_u32(r, "piggyback_factor", p.piggyback_factor, 1, 1000,
          "each change is piggybacked this many x ceil(log10(pingable + 1)) times (ringpop-go "
          "defaultPFactor: 15; memberlist RetransmitMult: 4)");
  r.get("inconclusive_without_helper_answers", p.inconclusive_without_helper_answers,
        "a probe whose ping-req helpers all fail to answer raises no suspicion (ringpop-go); "
        "false: suspect anyway (memberlist)");
  r.get("full_sync", p.full_sync,
        "a ping that shows differing checksums with no changes to send starts a full sync and a "
        "reverse full sync (ringpop-go)");
  get_u32(r, "max_reverse_full_sync_jobs", p.max_reverse_full_sync_jobs, 0, 1000,
          "reverse full syncs a member runs at once (ringpop-go MaxReverseFullSyncJobs: 5)");
  r.get("heal", p.heal,
        "partition healing: members contact members they hold as faulty and merge (ringpop-go)");
  r.get("heal_interval", p.heal_interval, positive,
        "time between heal attempts (ringpop-go: 30 s)");
  get_u32(r, "heal_probability_numerator", p.heal_probability_numerator, 0, 1000000,
          "each heal interval a member tries a heal with probability this / N (ringpop-go: 3)");
  get_u32(r, "join_size", p.join_size, 1, 64,
          "seed members a starting member asks for their membership, a count (ringpop-go: 3)");
  r.get("join_timeout", p.join_timeout, positive,
        "time a joiner waits for a seed's answer (ringpop-go JoinTimeout: 1000 ms)");
  r.get("message_cpu", p.message_cpu, {.min = Duration::zero()},
        "host CPU time to process one inbound message (an assumption: tens of microseconds "
        "for a Go or Node.js handler); 0: at once");
  if (auto lg = r.object("lifeguard",
                         "Lifeguard switches and numbers (Dadgar et al. 2017; memberlist "
                         "DefaultLANConfig)")) {
    read_lifeguard(*lg, p.lifeguard);
  }
  if (auto d = r.object("damping", "ringpop-node flap damping (off by default)")) {
    read_damping(*d, p.damping);
  }
  r.finish();
}

void read_dispatch(ObjectReader& r, rp::DispatchParams& p) {
  p.enabled = true;  // an object "dispatch" turns it on; "enabled": false keeps it off
  r.get("enabled", p.enabled, "run the dispatch service on the ring");
  get_u32(r, "cells_x", p.cells_x, 1, 1000,
          "the city is a grid of cells_x x cells_y geo cells (H3 cells at Uber; a grid here)");
  get_u32(r, "cells_y", p.cells_y, 1, 1000, "rows of the city's grid of geo cells");
  get_u32(r, "drivers", p.drivers, 0, 1000000, "driver apps reporting their locations, a count");
  r.get("report_interval", p.report_interval, {.min = Duration::nanos(1)},
        "time between a driver app's location reports (an assumption: a few seconds)");
  get_u32(r, "move_percent", p.move_percent, 0, 100,
          "chance per report that the driver has moved to a neighbouring cell, in percent");
  r.get("driver_ttl", p.driver_ttl, {.min = Duration::nanos(1)},
        "an owner forgets a driver it has not heard from for this long");
  r.get("rider_interval", p.rider_interval, {.min = Duration::nanos(1)},
        "mean time between rider requests city-wide (exponential)");
  r.get("match_cpu_per_driver", p.match_cpu_per_driver, {.min = Duration::zero()},
        "CPU to compare a rider with one driver of its cell (an assumption)");
  r.get("handoff", p.handoff,
        "a member whose ring changed sends the drivers of cells it no longer owns to the new "
        "owner; false: they are found again only when the drivers next report");
  r.get("handoff_check", p.handoff_check, {.min = Duration::nanos(1)},
        "how often a member checks whether its ring changed");
  r.get("rider_timeout", p.rider_timeout, {.min = Duration::nanos(1)},
        "a rider app gives up on a request dispatch has not answered in this long (an "
        "assumption; it answers the riders of an owner that crashed holding them)");
  r.finish();
}

class RingpopInstance : public ModelInstance {
public:
  RingpopInstance(rp::ClusterParams params, rp::DispatchParams dispatch, MapsSpec maps,
                  bindings::FaultPlan faults)
      : params_(std::move(params)), dispatch_params_(dispatch), maps_(std::move(maps)),
        faults_(std::move(faults)) {}
  ~RingpopInstance() override {
    dispatch_.reset();  // its timers and callbacks refer to the cluster
    graph_.reset();     // the maps graph goes before the world it lives in
    world_.reset();  // the members refer to the cluster's shared state: the world goes first
    cluster_.reset();
  }

  void start(Simulation& sim) override {
    world_ = std::make_unique<world::World>(sim);
    cluster_ = std::make_unique<rp::RingpopCluster>(params_);
    cluster_->build(*world_);
    if (dispatch_params_.enabled) {
      dispatch_ = std::make_unique<rp::Dispatch>(dispatch_params_, *cluster_);
    }
    if (maps_.enabled) {
      graph_ = std::make_unique<svc::ServiceGraph>(maps_.graph);
      graph_->build(*world_);
      const std::size_t edge =
          graph_->add_external_caller(std::string(MapsSpec::kEdge), maps_.target, maps_.policy);
      dispatch_->set_eta([this, edge](rp::MemberId owner, std::function<void(bool)> done) {
        graph_->call(edge, cluster_->shared().node_of(owner), std::move(done));
      });
    }
    bindings::schedule_faults(world_->faults(), faults_);
  }

  /// "riders" (the default scope with dispatch on): rider requests, matched ones as successes,
  /// the match latency of matched ones. Without dispatch a membership protocol has no requests.
  std::optional<MeasureNames> measures(std::string_view of) const override {
    if (maps_.enabled && !of.empty() && of != "riders") {
      // The maps service's callers: its client populations and dispatch's ETA edge.
      for (const auto& name : maps_callers()) {
        if (name == of) {
          auto n = svc::client_metric_names(name);
          return MeasureNames{n.requests, n.successes, n.failures, n.attempts, n.latency};
        }
      }
    }
    if (!dispatch_params_.enabled || (!of.empty() && of != "riders")) {
      return std::nullopt;
    }
    return MeasureNames{"ringpop.dispatch.riders", "ringpop.dispatch.matched",
                        "ringpop.dispatch.unmatched",
                        "ringpop.dispatch.riders", "ringpop.dispatch.match_latency"};
  }
  std::vector<std::string> measure_scopes() const override {
    if (!dispatch_params_.enabled) {
      return {};
    }
    std::vector<std::string> out{"riders"};
    for (auto& name : maps_callers()) {
      out.push_back(std::move(name));
    }
    return out;
  }

  std::vector<std::string> maps_callers() const {
    std::vector<std::string> out;
    if (maps_.enabled) {
      for (const auto& c : maps_.graph.clients) {
        out.push_back(c.name);
      }
      out.emplace_back(MapsSpec::kEdge);
    }
    return out;
  }

  std::vector<std::string> probes() const override {
    std::vector<std::string> out{"damped",
            "dispatch.eta_degraded",
            "dispatch.eta_failed",
            "dispatch.handoffs",
            "dispatch.no_driver",
            "dispatch.rider_failed",
            "dispatch.rider_timeout",
            "dissemination_s_mean",
            "distinct_checksums",
            "false_positives",
            "faulty_declarations",
            "first_detection_s_mean",
            "full_syncs",
            "heals",
            "healthy_marked_faulty",
            "members_with_wrong_view",
            "messages_per_member_per_s",
            "owners_per_key",
            "refutations",
            "suspicions"};
    for (const auto& t : maps_.graph.tiers) {
      if (maps_.enabled) {
        out.push_back("cpu_utilisation/" + t.name);
        out.push_back("queue_length/" + t.name);
      }
    }
    // The fraction of each maps caller's live processes whose breaker is not closed: the
    // rider apps' populations, and dispatch's owners on the edge "dispatch->maps".
    for (const auto& name : maps_callers()) {
      out.push_back("breaker_open/" + name);
    }
    return out;
  }

  double probe(std::string_view name) const override {
    if (name.starts_with("cpu_utilisation/")) {
      return graph_->cpu_busy_fraction(name.substr(name.find('/') + 1));
    }
    if (name.starts_with("queue_length/")) {
      return graph_->queue_length(name.substr(name.find('/') + 1));
    }
    if (name.starts_with("breaker_open/")) {
      return graph_->breaker_open_fraction(name.substr(name.find('/') + 1));
    }
    const auto& s = cluster_->shared();
    if (name == "distinct_checksums") {
      return static_cast<double>(cluster_->distinct_checksums());
    }
    if (name == "members_with_wrong_view") {
      return static_cast<double>(cluster_->members_with_wrong_view());
    }
    if (name == "owners_per_key") {
      return cluster_->owners_per_key(16);
    }
    if (name == "false_positives") {
      return static_cast<double>(s.false_positives());
    }
    if (name == "healthy_marked_faulty") {
      return static_cast<double>(s.healthy_marked_faulty());
    }
    if (name == "faulty_declarations") {
      return static_cast<double>(s.faulty_declarations());
    }
    if (name == "messages_per_member_per_s") {
      const double secs = world_->sim().now().since_start().to_seconds();
      return secs > 0 ? static_cast<double>(s.messages_sent()) / params_.members / secs : 0.0;
    }
    if (name == "first_detection_s_mean" || name == "dissemination_s_mean") {
      double sum = 0;
      int n = 0;
      for (const auto& d : s.detections()) {
        const auto& t = name == "first_detection_s_mean" ? d.first_suspect : d.all_faulty;
        if (t) {
          sum += (*t - d.crashed_at).to_seconds();
          ++n;
        }
      }
      return n > 0 ? sum / n : 0.0;
    }
    const auto* c = world_->sim().metrics().find_counter("ringpop." + std::string(name));
    return c == nullptr ? 0.0 : static_cast<double>(c->value());
  }

  std::vector<std::string> checkers() const override { return {"membership"}; }

  CheckVerdict check(std::string_view /*name*/, Simulation& /*sim*/) override {
    const auto v = rp::check_membership(rp::record_history(*cluster_));
    std::string summary = v.summary;
    std::string evidence;  // one violation per line, for run --json and shrink
    for (const auto& e : v.violations) {
      summary += "; " + e;
      evidence += e + "\n";
    }
    return {v.ok, summary, evidence};
  }

private:
  rp::ClusterParams params_;
  rp::DispatchParams dispatch_params_;
  MapsSpec maps_;
  bindings::FaultPlan faults_;
  std::unique_ptr<world::World> world_;
  std::unique_ptr<rp::RingpopCluster> cluster_;
  std::unique_ptr<rp::Dispatch> dispatch_;
  std::unique_ptr<svc::ServiceGraph> graph_;
};

std::unique_ptr<ModelInstance> prepare_ringpop(const ModelInput& in) {
  const Source& source = *in.source;
  rp::ClusterParams params;
  ObjectReader r(*in.params, "/model/params", source);
  get_u32(r, "members", params.members, 1, 100000,
          "ringpop members, one per host, named ringpop-<i> (no public Uber figure for "
          "production sizes, model-facts §5.2)");
  r.get("zones", params.zones, "zone names; members are spread over them round-robin");
  r.get("start_converged", params.start_converged,
        "every member knows everyone at time zero; false: each starts alone and joins through "
        "the seeds");
  get_u32(r, "seeds", params.seeds, 1, 100000,
          "the first this-many members form the seed list joiners contact, a count");
  if (const Json* joins = r.array("late_joins",
                                  "members that do not start at time zero but join later")) {
    for (std::size_t i = 0; i < joins->size(); ++i) {
      ObjectReader j((*joins)[i], child_pointer("/model/params/late_joins", i), source);
      rp::JoinSpec spec;
      j.get("member", spec.member, "the member that joins late, \"ringpop-<i>\"");
      j.get("at", spec.at, {.min = Duration::zero()}, "time from the start of the run it starts");
      j.finish();
      params.late_joins.push_back(spec);
    }
  }
  if (auto s = r.object("swim", "the SWIM membership protocol as ringpop-go runs it")) {
    read_swim(*s, params.swim);
  }
  if (auto ring = r.object("ring", "the consistent-hash ring")) {
    get_u32(*ring, "replica_points", params.ring.replica_points, 1, 10000,
            "points on the ring per member (ringpop-go ReplicaPoints: 100)");
    ring->finish();
  }
  rp::DispatchParams dispatch;
  if (auto d = r.object("dispatch",
                        "Uber's dispatch on the ring: geo cells owned by members, drivers held "
                        "in the owners' memory, riders matched at the owner")) {
    read_dispatch(*d, dispatch);
  }
  MapsSpec maps;
  if (auto m = r.object("maps",
                        "the maps service dispatch asks for each match's ETA (a service graph "
                        "in the same World; needs dispatch)")) {
    read_maps(*m, source, in.duration, params.zones, maps, dispatch);
  }
  r.finish();
  bindings::validate_at(source, params, dispatch);
  if (maps.enabled) {
    const auto maps_error = [&](const std::string& what) {
      return bindings::params_error(what, "/model/params/maps", source);
    };
    if (!dispatch.enabled) {
      throw bindings::params_error(
          "maps: the ETA service needs \"dispatch\" on; add a \"dispatch\" object",
          "/model/params", source);
    }
    try {
      maps.graph.validate();
      maps.policy.validate("policy");
    } catch (const std::invalid_argument& e) {
      throw maps_error(e.what());
    }
    if (maps.graph.find_tier(maps.target) == nullptr) {
      throw maps_error("target: no tier named \"" + maps.target +
                       "\" in maps.tiers; name one of them");
    }
  }
  rp::RingpopCluster layout(params);
  std::vector<std::string> groups = layout.groups();
  for (const auto& t : maps.graph.tiers) {
    groups.push_back(svc::ServiceGraph::tier_group(t.name));
  }
  for (const auto& c : maps.graph.clients) {
    groups.push_back(svc::ServiceGraph::client_group(c.name));
  }
  auto faults = bindings::parse_faults(in.faults, source, in.duration, groups);
  return std::make_unique<RingpopInstance>(std::move(params), dispatch, std::move(maps),
                                           std::move(faults));
}

}  // namespace

void register_ringpop_model(ModelRegistry& registry) {
  registry.add({"ringpop",
                "Uber Ringpop: SWIM membership (ping, ping-req, suspicion, incarnations, "
                "piggybacked dissemination, full sync, heal), Lifeguard as a switch, and the "
                "consistent-hash ring (sim/ringpop)",
                {"faults"},
                prepare_ringpop});
}

}  // namespace faultline::scenario
