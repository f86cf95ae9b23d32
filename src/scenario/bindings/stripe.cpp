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
    return {r.ok, r.summary, r.details};  // the evidence: run --json and shrink print it
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
    if (auto o = r.object("ledger",
                          "the single-leader ledger database and its standbys (Postgres-like)")) {
      auto& l = p.ledger;
      o->get("standbys", l.standbys, {.min = 0, .max = 4}, "standbys besides the leader, a count");
      o->get("synchronous", l.synchronous,
             "a commit is acknowledged only after sync_acks standbys hold it durably (Postgres "
             "synchronous_standby_names ANY n); false: asynchronous shipping");
      o->get("sync_acks", l.sync_acks, {.min = 0, .max = 4},
             "standbys that must acknowledge a synchronous commit, a count");
      o->get("txn_cpu", l.txn_cpu, {.min = Duration::zero()},
             "CPU time of one transaction on the serial executor (an assumption)");
      o->get("async_lag", l.async_lag, {.min = Duration::zero()},
             "asynchronous mode: how far a standby lags the leader (an assumption: tens to "
             "hundreds of ms)");
      o->get("replicate_timeout", l.replicate_timeout, {.min = Duration::nanos(1)},
             "time a replication message waits for its ack before it is resent");
      o->get("failover", l.failover,
             "a Patroni-like monitor promotes a standby when the leader fails its health checks");
      o->get("health_interval", l.health_interval, {.min = Duration::nanos(1)},
             "time between the monitor's health checks of the leader");
      o->get("health_timeout", l.health_timeout, {.min = Duration::nanos(1)},
             "time a health check waits for the leader's answer");
      o->get("failover_after", l.failover_after, {.min = 1, .max = 1000},
             "consecutive failed health checks before a standby is promoted, a count");
      o->finish();
    }
    if (auto o =
            r.object("processor", "the external payment processor (card network / acquirer)")) {
      auto& q = p.processor;
      o->get("latency_base", q.latency_base, {.min = Duration::zero()},
             "fixed part of the time to authorise and capture a charge (an assumption: a few "
             "hundred ms in all)");
      o->get("latency_exp_mean", q.latency_exp_mean, {.min = Duration::zero()},
             "mean of the exponential part of the processor's latency (an assumption)");
      o->get("decline_ratio", q.decline_ratio, {.min = 0, .max = 1},
             "fraction of charges the card network declines (a 402 the API stores and replays)");
      o->get("honours_keys", q.honours_keys,
             "the processor honours idempotency keys (Stripe's own API does)");
      o->finish();
    }
    if (auto o = r.object(
            "api",
            "the API servers: idempotency layer and charge endpoint (model-facts §6.1, §6.2)")) {
      auto& a = p.api;
      o->get("servers", a.servers, {.min = 1, .max = 100}, "API servers, a count");
      o->get("idempotency", a.idempotency,
             "the idempotency layer (§6.1); false: every request executes, keys or not");
      o->get("processor_keys", a.processor_keys,
             "pass a key derived from the idempotency key to the processor (Brandur Leach's atomic "
             "phases); false: a resumed request charges again");
      o->get("max_key_length", a.max_key_length, {.min = 1, .max = 100000},
             "longest idempotency key accepted, in characters (Stripe: 255)");
      o->get("lock_timeout", a.lock_timeout, {.min = Duration::nanos(1)},
             "a key locked longer than this may be taken over (Brandur Leach: 90 s)");
      o->get("rate_limit_per_s", a.rate_limit_per_s, {.min = 0},
             "per-user token bucket before the idempotency layer, in requests per second; 0: off "
             "(Stripe live mode: 100 per s)");
      o->get("rate_limit_burst", a.rate_limit_burst, {.min = 1},
             "token bucket size, in requests (an assumption)");
      o->get("processor_timeout", a.processor_timeout, {.min = Duration::nanos(1)},
             "time an API server waits for the processor");
      o->get("ledger_timeout", a.ledger_timeout, {.min = Duration::nanos(1)},
             "time an API server waits for the ledger");
      o->get("request_cpu", a.request_cpu, {.min = Duration::zero()},
             "CPU time per API request (an assumption)");
      o->get("read_timeout", a.read_timeout, {.min = Duration::nanos(1)},
             "time each copy of a charge read (GET, served by any ledger node up) waits");
      if (auto h = o->object("read_hedge",
                             "hedged charge reads to the next ledger node (Dean and Barroso, The "
                             "Tail at Scale, 2013)")) {
        auto& hp = a.read_hedge;
        h->get("enabled", hp.enabled, "send hedged reads");
        h->get("delay", hp.delay, {.min = Duration::zero()},
               "fixed delay before a hedge (Tail at Scale's BigTable benchmark: 10 ms)");
        h->get(
            "percentile", hp.percentile, {.min = 0, .max = 0.999},
            "0: fixed delay; else hedge after this quantile of observed read latency (e.g. 0.95)");
        h->get("min_samples", hp.min_samples, {.min = 0},
               "read latencies needed before the percentile is trusted, a count");
        h->get("max_hedges", hp.max_hedges, {.min = 1, .max = 4}, "extra copies per read");
        h->finish();
      }
      o->finish();
    }
    if (auto o = r.object("completer", "background process that finishes abandoned keys (§6.2)")) {
      auto& c = p.completer;
      o->get("enabled", c.enabled, "run the completer");
      o->get("interval", c.interval, {.min = Duration::nanos(1)}, "time between completer passes");
      o->get("abandoned_after", c.abandoned_after, {.min = Duration::zero()},
             "a key unfinished and unlocked (or lock expired) this long is abandoned");
      o->get("batch", c.batch, {.min = 1, .max = 100000},
             "keys a completer pass finishes at most, a count");
      o->finish();
    }
    if (auto o = r.object("reaper", "background process that deletes old keys (§6.2)")) {
      auto& rp = p.reaper;
      o->get("enabled", rp.enabled, "run the reaper");
      o->get("interval", rp.interval, {.min = Duration::nanos(1)}, "time between reaper passes");
      o->get("horizon", rp.horizon, {.min = Duration::nanos(1)},
             "keys older than this are deleted (Stripe: at least 24 h; Brandur Leach: 72 h)");
      o->finish();
    }
    if (auto o = r.object(
            "clients",
            "customers: each a loop that creates payment intents and retries with the same key")) {
      auto& c = p.clients;
      o->get("customers", c.customers, {.min = 1, .max = 100000}, "customer loops, a count");
      o->get("think_time", c.think_time, {.min = Duration::nanos(1)},
             "mean think time from one intent's end to the next (exponential)");
      o->get("stop_at", c.stop_at, {.min = Duration::zero(), .max = in.duration},
             "no new intents after this time, so retries settle; 0: until the end of the run");
      o->get("timeout", c.timeout, {.min = Duration::nanos(1)},
             "per-attempt timeout of a customer");
      o->get("send_keys", c.send_keys, "customers send an Idempotency-Key");
      o->get("double_click_ratio", c.double_click_ratio, {.min = 0, .max = 1},
             "probability an intent is also submitted from a second tab (a double click)");
      o->get("double_click_within", c.double_click_within, {.min = Duration::nanos(1)},
             "the second submission follows after U(0, this)");
      o->get("param_mismatch_ratio", c.param_mismatch_ratio, {.min = 0, .max = 1},
             "probability an attempt reuses its key with other parameters (a client bug; §6.1)");
      o->get("amount", c.amount, {.min = 1}, "amount of each charge, in cents");
      o->get("retrieve_ratio", c.retrieve_ratio, {.min = 0, .max = 1},
             "probability a customer reads its charge (GET) right after it succeeded; 0: no reads");
      if (auto rt = o->object("retry",
                              "attempts per intent and the backoff between them (§6.1: retry "
                              "network errors with the same key)")) {
        res::RetryParams& q = c.retry;
        rt->get("max_attempts", q.max_attempts, {.min = 1, .max = 100},
                "attempts per intent including the first; 1 disables retries");
        rt->get("base", q.base, {.min = Duration::zero()},
                "first backoff; doubles per attempt up to cap");
        rt->get("cap", q.cap, {.min = Duration::zero()}, "largest backoff");
        std::string jitter(res::to_string(q.jitter));
        rt->get_choice("jitter", jitter, {"none", "full", "equal", "decorrelated"},
                       "how the backoff is randomised (Brooker 2015)");
        q.jitter = *res::parse_jitter(jitter);
        rt->finish();
      }
      o->finish();
    }
    std::string events(st::to_string(p.events));
    r.get_choice("events", events, {"none", "outbox", "dual_write"},
                 "how charge events leave the ledger: none, a transactional outbox (§6.3), or "
                 "published after commit (lost when the log is down)");
    p.events = *st::parse_event_mode(events);
    if (auto o =
            r.object("log", "the partitioned, replicated log (Kafka-like) and its consumers")) {
      auto& l = p.log;
      o->get("brokers", l.brokers, {.min = 1, .max = 50}, "log brokers, a count");
      o->get("partitions", l.partitions, {.min = 1, .max = 1000}, "log partitions, a count");
      o->get("replication", l.replication, {.min = 1, .max = 50},
             "replicas per partition including the leader; acks=all waits for all");
      o->get("consumers", l.consumers, {.min = 1, .max = 1000}, "event consumers, a count");
      o->get("relay_interval", l.relay_interval, {.min = Duration::nanos(1)},
             "time between the outbox relay's polls");
      o->get("relay_batch", l.relay_batch, {.min = 1, .max = 100000},
             "events the relay sends per poll at most, a count");
      o->get("consumer_interval", l.consumer_interval, {.min = Duration::nanos(1)},
             "time between a consumer's polls");
      o->get("produce_timeout", l.produce_timeout, {.min = Duration::nanos(1)},
             "time a produce waits for acks=all");
      o->get("consumer_dedupe", l.consumer_dedupe,
             "consumers deduplicate by event id (§6.3: at-least-once delivery needs it)");
      o->finish();
    }
    r.finish();
  }
  bindings::validate_at(source, p);
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
