// Binding of the contending-clients model (sim/contention): "model": {"name": "contention"}.
// JSON keys are the field names of faultline::sim::contention::ContentionParams, one to one;
// "retry" holds faultline::resilience::RetryParams' backoff fields; durations are strings.
//
// Measure scopes: "clients" (the default; one request per client, attempts = its conditional
// writes, latency = time until its write landed) and "trials" (one request per row, attempts =
// all writes to it, so retry_amplification of "trials" is the blog's calls per run, and
// latency = time until the row's last client finished, the blog's time per run).
#include "world_faults.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/contention/occ_contention.hpp>

#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace cnt = faultline::sim::contention;
namespace res = faultline::resilience;

class ContentionInstance : public ModelInstance {
public:
  explicit ContentionInstance(cnt::ContentionParams params) : model_(params) {}

  void start(Simulation& sim) override { model_.start(sim); }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    const auto& n = cnt::metric_names();
    if (of.empty() || of == "clients") {
      return MeasureNames{n.requests, n.successes, n.failures, n.attempts, n.latency};
    }
    if (of == "trials") {
      return MeasureNames{n.trial_requests, n.trial_successes, n.trial_failures, n.attempts,
                          n.trial_latency};
    }
    return std::nullopt;
  }

  std::vector<std::string> measure_scopes() const override { return {"clients", "trials"}; }

  std::vector<std::string> probes() const override { return {"clients_pending"}; }

  double probe(std::string_view /*name*/) const override {
    return static_cast<double>(model_.clients_pending());
  }

private:
  cnt::OccContention model_;
};

std::unique_ptr<ModelInstance> prepare_contention(const ModelInput& in) {
  const Source& source = *in.source;
  cnt::ContentionParams params;
  ObjectReader r(*in.params, "/model/params", source);
  r.get("clients", params.clients, {.min = 1, .max = 10000},
        "clients contending for each row (Brooker 2015: 10 to 50)");
  r.get("trials", params.trials, {.min = 1, .max = 10000},
        "independent rows run side by side (Brooker 2015: 100 runs per point)");
  r.get("net_delay_mean", params.net_delay_mean, {.min = Duration::zero()},
        "mean of the one-way message delay |N(mean, sd)| (Brooker 2015's simulator: 10 ms)");
  r.get("net_delay_sd", params.net_delay_sd, {.min = Duration::zero()},
        "standard deviation of the one-way message delay (Brooker 2015's simulator: 2 ms)");
  if (auto rt = r.object("retry", "backoff between a failed write and the next read")) {
    res::RetryParams& p = params.retry;
    rt->get("max_attempts", p.max_attempts, {.min = 1, .max = 100},
            "writes a client may send; one that runs out counts as a failure (the blog's "
            "clients never give up)");
    rt->get("base", p.base, {.min = Duration::zero()},
            "first backoff; doubles per attempt up to cap (Brooker 2015: 5 ms)");
    rt->get("cap", p.cap, {.min = Duration::zero()},
            "largest backoff (Brooker 2015: 2 s)");
    std::string jitter(res::to_string(p.jitter));
    rt->get_choice("jitter", jitter, {"none", "full", "equal", "decorrelated"},
                   "how the backoff is randomised (Brooker 2015's four variants)");
    p.jitter = *res::parse_jitter(jitter);
    rt->finish();
  }
  r.finish();
  bindings::validate_at(source, params);
  return std::make_unique<ContentionInstance>(params);
}

}  // namespace

void register_contention_model(ModelRegistry& registry) {
  registry.add({"contention",
                "clients contending for one optimistic-concurrency row, retrying with capped "
                "exponential backoff and jitter (Brooker 2015; sim/contention)",
                {},
                prepare_contention});
}

}  // namespace faultline::scenario
