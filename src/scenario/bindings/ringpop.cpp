// Binding of the Ringpop model (sim/ringpop): "model": {"name": "ringpop"}. JSON keys are the
// field names of faultline::sim::ringpop::ClusterParams and the structs it holds; durations
// are strings. "swim.preset" ("ringpop" or "memberlist") picks the defaults the other swim
// keys then override.
#include "world_faults.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/ringpop/checker.hpp>
#include <faultline/sim/ringpop/cluster.hpp>
#include <faultline/sim/ringpop/params.hpp>
#include <faultline/world/world.hpp>

#include <algorithm>
#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace rp = faultline::sim::ringpop;

void get_u32(ObjectReader& r, std::string_view key, std::uint32_t& out, double min, double max) {
  double v = out;
  r.get(key, v, {.min = min, .max = max});
  out = static_cast<std::uint32_t>(v);
}

void read_lifeguard(ObjectReader& r, rp::LifeguardParams& p) {
  r.get("enabled", p.enabled);
  get_u32(r, "max_multiplier", p.max_multiplier, 1, 64);
  get_u32(r, "suspicion_max_mult", p.suspicion_max_mult, 1, 100);
  get_u32(r, "confirmations", p.confirmations, 1, 100);
  r.get("nacks", p.nacks);
  r.get("buddy", p.buddy);
  r.finish();
}

void read_damping(ObjectReader& r, rp::DampingParams& p) {
  r.get("enabled", p.enabled);
  r.get("penalty", p.penalty, {.min = 0.0, .max = 1e9});
  r.get("suppress_limit", p.suppress_limit, {.min = 0.0, .max = 1e9});
  r.get("reuse_limit", p.reuse_limit, {.min = 0.0, .max = 1e9});
  r.get("half_life", p.half_life, {.min = Duration::nanos(1)});
  get_u32(r, "damp_req_size", p.damp_req_size, 1, 64);
  get_u32(r, "damp_req_quorum", p.damp_req_quorum, 1, 64);
  r.get("damp_req_timeout", p.damp_req_timeout, {.min = Duration::nanos(1)});
  r.finish();
}

void read_swim(ObjectReader& r, rp::SwimParams& p) {
  std::string preset = "ringpop";
  r.get_choice("preset", preset, {"ringpop", "memberlist"});
  p = preset == "memberlist" ? rp::SwimParams::memberlist_lan() : rp::SwimParams::ringpop_defaults();
  const DurationBounds positive{.min = Duration::nanos(1)};
  r.get("min_protocol_period", p.min_protocol_period, positive);
  r.get("adaptive_period", p.adaptive_period);
  r.get("ping_timeout", p.ping_timeout, positive);
  r.get("ping_request_timeout", p.ping_request_timeout, positive);
  get_u32(r, "ping_request_size", p.ping_request_size, 0, 64);
  r.get("suspect_timeout", p.suspect_timeout, positive);
  r.get("suspect_timeout_scales_with_log_n", p.suspect_timeout_scales_with_log_n);
  get_u32(r, "piggyback_factor", p.piggyback_factor, 1, 1000);
  r.get("inconclusive_without_helper_answers", p.inconclusive_without_helper_answers);
  r.get("full_sync", p.full_sync);
  get_u32(r, "max_reverse_full_sync_jobs", p.max_reverse_full_sync_jobs, 0, 1000);
  r.get("heal", p.heal);
  r.get("heal_interval", p.heal_interval, positive);
  get_u32(r, "heal_probability_numerator", p.heal_probability_numerator, 0, 1000000);
  get_u32(r, "join_size", p.join_size, 1, 64);
  r.get("join_timeout", p.join_timeout, positive);
  r.get("message_cpu", p.message_cpu, {.min = Duration::zero()});
  if (auto lg = r.object("lifeguard")) {
    read_lifeguard(*lg, p.lifeguard);
  }
  if (auto d = r.object("damping")) {
    read_damping(*d, p.damping);
  }
  r.finish();
}

class RingpopInstance : public ModelInstance {
public:
  RingpopInstance(rp::ClusterParams params, bindings::FaultPlan faults)
      : params_(std::move(params)), faults_(std::move(faults)) {}
  ~RingpopInstance() override {
    world_.reset();  // the members refer to the cluster's shared state: the world goes first
    cluster_.reset();
  }

  void start(Simulation& sim) override {
    world_ = std::make_unique<world::World>(sim);
    cluster_ = std::make_unique<rp::RingpopCluster>(params_);
    cluster_->build(*world_);
    bindings::schedule_faults(world_->faults(), faults_);
  }

  std::optional<MeasureNames> measures(std::string_view /*of*/) const override {
    return std::nullopt;  // a membership protocol has no client requests
  }

  std::vector<std::string> probes() const override {
    return {"damped",
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
  }

  double probe(std::string_view name) const override {
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
    for (const auto& e : v.violations) {
      summary += "; " + e;
    }
    return {v.ok, summary};
  }

private:
  rp::ClusterParams params_;
  bindings::FaultPlan faults_;
  std::unique_ptr<world::World> world_;
  std::unique_ptr<rp::RingpopCluster> cluster_;
};

std::unique_ptr<ModelInstance> prepare_ringpop(const ModelInput& in) {
  const Source& source = *in.source;
  rp::ClusterParams params;
  ObjectReader r(*in.params, "/model/params", source);
  get_u32(r, "members", params.members, 1, 100000);
  r.get("zones", params.zones);
  r.get("start_converged", params.start_converged);
  get_u32(r, "seeds", params.seeds, 1, 100000);
  if (const Json* joins = r.array("late_joins")) {
    for (std::size_t i = 0; i < joins->size(); ++i) {
      ObjectReader j((*joins)[i], child_pointer("/model/params/late_joins", i), source);
      rp::JoinSpec spec;
      j.get("member", spec.member);
      j.get("at", spec.at, {.min = Duration::zero()});
      j.finish();
      params.late_joins.push_back(spec);
    }
  }
  if (auto s = r.object("swim")) {
    read_swim(*s, params.swim);
  }
  if (auto ring = r.object("ring")) {
    get_u32(*ring, "replica_points", params.ring.replica_points, 1, 10000);
    ring->finish();
  }
  r.finish();
  try {
    params.validate();
  } catch (const std::invalid_argument& e) {
    throw bindings::params_error(e.what(), "/model/params", source);
  }
  rp::RingpopCluster layout(params);
  auto faults = bindings::parse_faults(in.faults, source, in.duration, layout.groups());
  return std::make_unique<RingpopInstance>(std::move(params), std::move(faults));
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
