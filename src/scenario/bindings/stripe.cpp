// Binding of the Stripe payment-path model (sim/stripe): "model": {"name": "stripe"}.
// JSON keys are the field names of faultline::sim::stripe::StripeParams, one to one:
//   {"ledger": {...}, "processor": {...}, "api": {...}, "completer": {...}, "reaper": {...},
//    "clients": {..., "retry": {"max_attempts", "base", "cap", "jitter"}},
//    "events": "none" | "outbox" | "dual_write", "log": {...}}
// Fault targets: node:<name> or group:<api|ledger|processor|log|relay|consumers|worker|...>.
//
// Probes: double_charges, unrecorded_charges, lost_acknowledged_charges, events_missing,
// events_applied_twice, ledger_leader. Checkers: "exactly-once" (customers' history against the
// processor's charges: money moved), "ledger-exactly-once" (against the ledger's charge rows:
// the books) and "outbox" (committed events against events consumers applied).
#include "world_faults.hpp"

#include <faultline/check/exactly_once.hpp>
#include <faultline/scenario/registry.hpp>
#include <faultline/sim/stripe/cluster.hpp>

#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace st = faultline::sim::stripe;
namespace res = faultline::resilience;

class StripeInstance : public ModelInstance {
public:
  StripeInstance(st::StripeParams params, bindings::FaultPlan faults)
      : params_(std::move(params)), faults_(std::move(faults)) {}

  void start(Simulation& sim) override {
    cluster_ = std::make_unique<st::StripeCluster>(sim, params_);
    bindings::schedule_faults(cluster_->world().faults(), faults_);
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    const auto& n = st::metric_names();
    if (of == "retrievals") {
      return MeasureNames{n.read_requests, n.read_successes, n.read_failures, n.read_attempts,
                          n.read_latency};
    }
    if (!of.empty() && of != "customers") {
      return std::nullopt;
    }
    return MeasureNames{n.requests, n.successes, n.failures, n.attempts, n.latency};
  }
  std::vector<std::string> measure_scopes() const override {
    return {"customers", "retrievals"};
  }

  std::vector<std::string> probes() const override {
    return {"double_charges",       "events_applied_twice", "events_missing",
            "ledger_leader",        "lost_acknowledged_charges", "unrecorded_charges"};
  }
  double probe(std::string_view name) const override {
    const auto& c = *cluster_;
    if (name == "double_charges") {
      return static_cast<double>(c.double_charges());
    }
    if (name == "unrecorded_charges") {
      return static_cast<double>(c.unrecorded_charges());
    }
    if (name == "lost_acknowledged_charges") {
      return static_cast<double>(c.lost_acknowledged_charges());
    }
    if (name == "events_missing") {
      return static_cast<double>(c.events_missing());
    }
    if (name == "events_applied_twice") {
      return static_cast<double>(c.events_applied_twice());
    }
    return static_cast<double>(c.leader());
  }

  std::vector<std::string> checkers() const override {
    return {"exactly-once", "ledger-exactly-once", "outbox"};
  }
  CheckVerdict check(std::string_view name, Simulation& /*sim*/) override {
    check::CheckResult r;
    if (name == "exactly-once") {
      r = check::check_exactly_once(cluster_->history(), cluster_->processor_charges());
    } else if (name == "ledger-exactly-once") {
      auto books = cluster_->ledger_charges();
      r = check::check_exactly_once(cluster_->history(), books);
    } else {
      r = check::check_outbox(cluster_->events_committed(), cluster_->events_applied());
    }
    return {r.ok, r.summary};
  }

private:
  st::StripeParams params_;
  bindings::FaultPlan faults_;
  std::unique_ptr<st::StripeCluster> cluster_;
};

std::unique_ptr<ModelInstance> prepare_stripe(const ModelInput& in) {
  const Source& source = *in.source;
  st::StripeParams p;
  if (in.params != nullptr) {
    ObjectReader r(*in.params, "/model/params", source);
    if (auto o = r.object("ledger")) {
      auto& l = p.ledger;
      o->get("standbys", l.standbys, {.min = 0, .max = 4});
      o->get("synchronous", l.synchronous);
      o->get("sync_acks", l.sync_acks, {.min = 0, .max = 4});
      o->get("txn_cpu", l.txn_cpu, {.min = Duration::zero()});
      o->get("async_lag", l.async_lag, {.min = Duration::zero()});
      o->get("replicate_timeout", l.replicate_timeout, {.min = Duration::nanos(1)});
      o->get("failover", l.failover);
      o->get("health_interval", l.health_interval, {.min = Duration::nanos(1)});
      o->get("health_timeout", l.health_timeout, {.min = Duration::nanos(1)});
      o->get("failover_after", l.failover_after, {.min = 1, .max = 1000});
      o->finish();
    }
    if (auto o = r.object("processor")) {
      auto& q = p.processor;
      o->get("latency_base", q.latency_base, {.min = Duration::zero()});
      o->get("latency_exp_mean", q.latency_exp_mean, {.min = Duration::zero()});
      o->get("decline_ratio", q.decline_ratio, {.min = 0, .max = 1});
      o->get("honours_keys", q.honours_keys);
      o->finish();
    }
    if (auto o = r.object("api")) {
      auto& a = p.api;
      o->get("servers", a.servers, {.min = 1, .max = 100});
      o->get("idempotency", a.idempotency);
      o->get("processor_keys", a.processor_keys);
      o->get("max_key_length", a.max_key_length, {.min = 1, .max = 100000});
      o->get("lock_timeout", a.lock_timeout, {.min = Duration::nanos(1)});
      o->get("rate_limit_per_s", a.rate_limit_per_s, {.min = 0});
      o->get("rate_limit_burst", a.rate_limit_burst, {.min = 1});
      o->get("processor_timeout", a.processor_timeout, {.min = Duration::nanos(1)});
      o->get("ledger_timeout", a.ledger_timeout, {.min = Duration::nanos(1)});
      o->get("request_cpu", a.request_cpu, {.min = Duration::zero()});
      o->get("read_timeout", a.read_timeout, {.min = Duration::nanos(1)});
      if (auto h = o->object("read_hedge")) {
        auto& hp = a.read_hedge;
        h->get("enabled", hp.enabled);
        h->get("delay", hp.delay, {.min = Duration::zero()});
        h->get("percentile", hp.percentile, {.min = 0, .max = 0.999});
        h->get("min_samples", hp.min_samples, {.min = 0});
        h->get("max_hedges", hp.max_hedges, {.min = 1, .max = 4});
        h->finish();
      }
      o->finish();
    }
    if (auto o = r.object("completer")) {
      auto& c = p.completer;
      o->get("enabled", c.enabled);
      o->get("interval", c.interval, {.min = Duration::nanos(1)});
      o->get("abandoned_after", c.abandoned_after, {.min = Duration::zero()});
      o->get("batch", c.batch, {.min = 1, .max = 100000});
      o->finish();
    }
    if (auto o = r.object("reaper")) {
      auto& rp = p.reaper;
      o->get("enabled", rp.enabled);
      o->get("interval", rp.interval, {.min = Duration::nanos(1)});
      o->get("horizon", rp.horizon, {.min = Duration::nanos(1)});
      o->finish();
    }
    if (auto o = r.object("clients")) {
      auto& c = p.clients;
      o->get("customers", c.customers, {.min = 1, .max = 100000});
      o->get("think_time", c.think_time, {.min = Duration::nanos(1)});
      o->get("stop_at", c.stop_at, {.min = Duration::zero(), .max = in.duration});
      o->get("timeout", c.timeout, {.min = Duration::nanos(1)});
      o->get("send_keys", c.send_keys);
      o->get("double_click_ratio", c.double_click_ratio, {.min = 0, .max = 1});
      o->get("double_click_within", c.double_click_within, {.min = Duration::nanos(1)});
      o->get("param_mismatch_ratio", c.param_mismatch_ratio, {.min = 0, .max = 1});
      o->get("amount", c.amount, {.min = 1});
      o->get("retrieve_ratio", c.retrieve_ratio, {.min = 0, .max = 1});
      if (auto rt = o->object("retry")) {
        res::RetryParams& q = c.retry;
        rt->get("max_attempts", q.max_attempts, {.min = 1, .max = 100});
        rt->get("base", q.base, {.min = Duration::zero()});
        rt->get("cap", q.cap, {.min = Duration::zero()});
        std::string jitter(res::to_string(q.jitter));
        rt->get_choice("jitter", jitter, {"none", "full", "equal", "decorrelated"});
        q.jitter = *res::parse_jitter(jitter);
        rt->finish();
      }
      o->finish();
    }
    std::string events(st::to_string(p.events));
    r.get_choice("events", events, {"none", "outbox", "dual_write"});
    p.events = *st::parse_event_mode(events);
    if (auto o = r.object("log")) {
      auto& l = p.log;
      o->get("brokers", l.brokers, {.min = 1, .max = 50});
      o->get("partitions", l.partitions, {.min = 1, .max = 1000});
      o->get("replication", l.replication, {.min = 1, .max = 50});
      o->get("consumers", l.consumers, {.min = 1, .max = 1000});
      o->get("relay_interval", l.relay_interval, {.min = Duration::nanos(1)});
      o->get("relay_batch", l.relay_batch, {.min = 1, .max = 100000});
      o->get("consumer_interval", l.consumer_interval, {.min = Duration::nanos(1)});
      o->get("produce_timeout", l.produce_timeout, {.min = Duration::nanos(1)});
      o->get("consumer_dedupe", l.consumer_dedupe);
      o->finish();
    }
    r.finish();
  }
  try {
    p.validate();
  } catch (const std::invalid_argument& e) {
    throw bindings::params_error(e.what(), "/model/params", source);
  }
  auto faults = bindings::parse_faults(in.faults, source, in.duration, st::StripeCluster::groups());
  return std::make_unique<StripeInstance>(std::move(p), std::move(faults));
}

}  // namespace

void register_stripe_model(ModelRegistry& registry) {
  registry.add({"stripe",
                "Stripe's payment path: API servers with idempotency keys in atomic phases with "
                "recovery points, a single-leader ledger with standbys and failover, an "
                "external processor, completer and reaper, the transactional outbox "
                "(sim/stripe)",
                {"faults"},
                prepare_stripe});
}

}  // namespace faultline::scenario
