// Binding of the Cadence-style workflow model (sim/cadence): "model": {"name": "cadence"}.
// JSON keys are the field names of faultline::sim::cadence::CadenceParams, one to one:
//   {"history": {...}, "workers": {...},
//    "trip": {..., "find_driver" | "payment" | "rating": {"start_to_close", "heartbeat_timeout",
//             "retry": {"max_attempts", "base", "cap", "jitter"}}},
//    "riders": {...}, "payment": {...}}
// Fault targets: node:<name> or group:<history|workers|payment|apps|riders>.
//
// Probes: open_workflows, lost_workflows, double_charges, overdue_timers (due more than a
// minute ago, neither fired nor canceled), nondeterminism. Checkers: "workflows-end" (every
// acknowledged start ended), "timers-fire" (every due timer fired, none early) and
// "exactly-once" (the payment activity's attempts against the charges made).
#include "world_faults.hpp"

#include <faultline/check/exactly_once.hpp>
#include <faultline/scenario/registry.hpp>
#include <faultline/sim/cadence/checkers.hpp>
#include <faultline/sim/cadence/cluster.hpp>

#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace cd = faultline::sim::cadence;
namespace res = faultline::resilience;

/// Timers due more than this long ago and not fired count as lost (a host that restarts fires
/// what came due while it was down within seconds).
constexpr Duration kTimerLateness = Duration::minutes(1);

class CadenceInstance : public ModelInstance {
public:
  CadenceInstance(cd::CadenceParams params, bindings::FaultPlan faults)
      : params_(std::move(params)), faults_(std::move(faults)) {}

  void start(Simulation& sim) override {
    cluster_ = std::make_unique<cd::CadenceCluster>(sim, params_);
    bindings::schedule_faults(cluster_->world().faults(), faults_);
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    if (!of.empty() && of != "trips") {
      return std::nullopt;
    }
    const auto& n = cd::metric_names();
    return MeasureNames{n.requests, n.successes, n.failures, n.attempts, n.latency};
  }
  std::vector<std::string> measure_scopes() const override { return {"trips"}; }

  std::vector<std::string> probes() const override {
    return {"double_charges", "lost_workflows", "nondeterminism", "open_workflows",
            "overdue_timers"};
  }
  double probe(std::string_view name) const override {
    const auto& c = *cluster_;
    if (name == "double_charges") {
      return static_cast<double>(c.double_charges());
    }
    if (name == "lost_workflows") {
      return static_cast<double>(c.lost_workflows());
    }
    if (name == "nondeterminism") {
      return static_cast<double>(c.nondeterminism());
    }
    if (name == "open_workflows") {
      return static_cast<double>(c.open_workflows());
    }
    return static_cast<double>(c.overdue_timers(kTimerLateness));
  }

  std::vector<std::string> checkers() const override {
    return {"exactly-once", "timers-fire", "workflows-end"};
  }
  CheckVerdict check(std::string_view name, Simulation& sim) override {
    check::CheckResult r;
    if (name == "exactly-once") {
      r = check::check_exactly_once(cluster_->payment_requests(), cluster_->payment_charges());
    } else if (name == "timers-fire") {
      r = cd::check_timers_fire(cluster_->histories(), sim.now(), kTimerLateness);
    } else {
      r = cd::check_workflows_end(cluster_->acknowledged_starts(), cluster_->histories());
    }
    return {r.ok, r.summary};
  }

private:
  cd::CadenceParams params_;
  bindings::FaultPlan faults_;
  std::unique_ptr<cd::CadenceCluster> cluster_;
};

void read_activity(ObjectReader& o, cd::ActivityOptions& a) {
  o.get("start_to_close", a.start_to_close, {.min = Duration::nanos(1)},
        "an attempt not completed this long after a worker took it has failed (and is retried)");
  o.get("heartbeat_timeout", a.heartbeat_timeout, {.min = Duration::zero()},
        "an attempt whose worker has not heartbeated for this long has failed; 0: no heartbeats");
  if (auto rt = o.object("retry", "the history service's retry policy for failed attempts")) {
    res::RetryParams& q = a.retry;
    rt->get("max_attempts", q.max_attempts, {.min = 1, .max = 100},
            "attempts including the first; 1 disables retries");
    rt->get("base", q.base, {.min = Duration::zero()},
            "first backoff; doubles per attempt up to cap");
    rt->get("cap", q.cap, {.min = Duration::zero()}, "largest backoff");
    std::string jitter(res::to_string(q.jitter));
    rt->get_choice("jitter", jitter, {"none", "full", "equal", "decorrelated"},
                   "how the backoff is randomised (Brooker 2015)");
    q.jitter = *res::parse_jitter(jitter);
    rt->finish();
  }
  o.finish();
}

std::unique_ptr<ModelInstance> prepare_cadence(const ModelInput& in) {
  const Source& source = *in.source;
  cd::CadenceParams p;
  if (in.params != nullptr) {
    ObjectReader r(*in.params, "/model/params", source);
    if (auto o = r.object("history",
                          "the history service: each workflow's event history on the hosts' "
                          "disks, task lists, retries, timeouts, durable timers")) {
      auto& h = p.history;
      o->get("hosts", h.hosts, {.min = 1, .max = 64},
             "history hosts, a count; a workflow lives on hash(id) % hosts");
      std::string persistence(cd::to_string(h.persistence));
      o->get_choice("persistence", persistence, {"fsync", "ack_then_sync", "memory"},
                    "fsync: events durable before any ack; ack_then_sync: acked first, fsynced "
                    "by a background flush; memory: no disk at all");
      h.persistence = *cd::parse_persistence(persistence);
      o->get("flush_interval", h.flush_interval, {.min = Duration::nanos(1)},
             "ack_then_sync: time between background fsyncs (an assumption)");
      o->get("decision_timeout", h.decision_timeout, {.min = Duration::nanos(1)},
             "a decision task not completed this long after a worker took it is rescheduled "
             "(Cadence's default: 10 s)");
      o->get("poll_timeout", h.poll_timeout, {.min = Duration::nanos(1)},
             "a long poll with no task for it is answered empty after this");
      o->get("request_cpu", h.request_cpu, {.min = Duration::zero()},
             "CPU time per request on a history host (an assumption)");
      o->finish();
    }
    if (auto o = r.object("workers", "the workers that poll for decision and activity tasks")) {
      auto& w = p.workers;
      o->get("workers", w.workers, {.min = 1, .max = 1000}, "worker processes, a count");
      o->get("decision_pollers", w.decision_pollers, {.min = 1, .max = 256},
             "concurrent decision-task long polls per worker, a count");
      o->get("activity_pollers", w.activity_pollers, {.min = 1, .max = 4096},
             "activity slots per worker: each polls for a task and runs it, a count");
      o->get("decision_cpu", w.decision_cpu, {.min = Duration::zero()},
             "CPU time to replay a history and decide (an assumption)");
      o->get("rpc_timeout", w.rpc_timeout, {.min = Duration::nanos(1)},
             "timeout of a worker's calls to a history host (polls add poll_timeout)");
      o->finish();
    }
    if (auto o = r.object("trip", "the seed's trip workflow and its activities")) {
      auto& t = p.trip;
      o->get("arrival_timeout", t.arrival_timeout, {.min = Duration::nanos(1)},
             "how long the workflow waits for \"driver_arrived\" (the seed: 30 min)");
      o->get("completion_timeout", t.completion_timeout, {.min = Duration::nanos(1)},
             "how long it waits for \"trip_completed\" (the seed: 8 h)");
      if (auto a = o->object("find_driver", "options of the find_driver activity")) {
        read_activity(*a, t.find_driver);
      }
      if (auto a = o->object("payment", "options of the process_payment activity")) {
        read_activity(*a, t.payment);
      }
      if (auto a = o->object("rating", "options of the send_rating_request activity")) {
        read_activity(*a, t.rating);
      }
      o->get("payment_key", t.payment_key,
             "the payment activity sends an idempotency key derived from (trip, activity); "
             "false: a retried attempt may charge again");
      o->get("match_poll", t.match_poll, {.min = Duration::nanos(1)},
             "find_driver asks dispatch this often, heartbeating each time (an assumption)");
      o->get("call_timeout", t.call_timeout, {.min = Duration::nanos(1)},
             "timeout of an activity's call to dispatch or the payment service");
      o->get("amount_cents", t.amount_cents, {.min = 1}, "fare of each trip, in cents");
      o->finish();
    }
    if (auto o = r.object("riders", "riders who request trips and the drivers' apps")) {
      auto& rd = p.riders;
      o->get("trips_per_s", rd.trips_per_s, {.min = 1e-6, .max = 10000},
             "trip requests per second (Poisson)");
      o->get("stop_at", rd.stop_at, {.min = Duration::zero(), .max = in.duration},
             "no new trips after this time, so the last ones can end; 0: until the end");
      o->get("match_mean", rd.match_mean, {.min = Duration::zero()},
             "mean time to match a driver, uniform over [0, 2 x mean] (an assumption)");
      o->get("pickup_mean", rd.pickup_mean, {.min = Duration::zero()},
             "mean time for the driver to reach the rider, uniform over [0, 2 x mean] (an "
             "assumption)");
      o->get("no_show_ratio", rd.no_show_ratio, {.min = 0, .max = 1},
             "fraction of matched drivers who never arrive");
      o->get("trip_mean", rd.trip_mean, {.min = Duration::nanos(1)},
             "mean trip length, uniform over [0.5, 1.5] x mean (an assumption)");
      o->get("call_timeout", rd.call_timeout, {.min = Duration::nanos(1)},
             "timeout of a trip start or a signal call");
      o->get("retry_every", rd.retry_every, {.min = Duration::nanos(1)},
             "starts and signals are retried this often until acknowledged");
      bindings::check_request_count(*o, "trips_per_s", rd.trips_per_s,
                                    rd.stop_at > Duration::zero() ? rd.stop_at : in.duration);
      if (rd.stop_at > Duration::zero() &&
          rd.stop_at + p.trip.arrival_timeout + rd.trip_mean * 2 > in.duration) {
        o->report(o->error("stop_at",
                           "leaves too little time for the last trips to end before the run does",
                           "end new trips at least arrival_timeout + 2 x trip_mean before the "
                           "end of the run"));
      }
      o->finish();
    }
    if (auto o = r.object("payment", "the payment service (a card processor)")) {
      o->get("latency", p.payment.latency, {.min = Duration::zero()},
             "time to charge a card (an assumption: a few hundred ms)");
      o->finish();
    }
    r.finish();
  }
  bindings::validate_at(source, p);
  auto faults =
      bindings::parse_faults(in.faults, source, in.duration, cd::CadenceCluster::groups());
  return std::make_unique<CadenceInstance>(std::move(p), std::move(faults));
}

}  // namespace

void register_cadence_model(ModelRegistry& registry) {
  registry.add({"cadence",
                "Cadence-style durable workflows (Uber): a history service keeping each "
                "workflow's events fsynced on disk, workers that replay workflow code from "
                "history, activity retries and timeouts, durable timers, signals; the trip "
                "workflow with a payment service (sim/cadence)",
                {"faults"},
                prepare_cadence});
}

}  // namespace faultline::scenario
