#include "toy_model.hpp"

#include <faultline/task.hpp>

#include <vector>

namespace faultline::scenario::testing {
namespace {

struct ToyParams {
  double rate_per_s = 100.0;
  Duration service_time = Duration::millis(10);
  bool jitter = true;  // exponential service times; false: every request takes service_time
  Duration timeout = Duration::millis(100);
  int max_attempts = 1;
  Duration backoff = Duration::zero();
};

struct Outage {
  Duration at;
  Duration length;
};

class ToyModel : public ModelInstance {
public:
  ToyModel(ToyParams params, std::vector<Outage> outages)
      : params_(params), outages_(std::move(outages)) {}

  void start(Simulation& sim) override {
    sim_ = &sim;
    rng_ = std::make_unique<Rng>(sim.rng("toy/arrivals"));
    service_rng_ = std::make_unique<Rng>(sim.rng("toy/service"));
    for (const auto& o : outages_) {
      sim.schedule_at(Time::zero() + o.at, [&sim, o] {
        sim.record("fault", "outage", {{"for_ns", o.length}});
      });
    }
    schedule_arrival();
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    if (of.empty() || of == "client") {
      return MeasureNames{"toy.requests", "toy.successes", "toy.failures", "toy.attempts",
                         "toy.latency"};
    }
    return std::nullopt;
  }
  std::vector<std::string> measure_scopes() const override { return {"client"}; }
  std::vector<std::string> probes() const override { return {"in_flight"}; }
  double probe(std::string_view) const override { return static_cast<double>(in_flight_); }
  std::vector<std::string> checkers() const override { return {"always_ok", "never_ok"}; }
  CheckVerdict check(std::string_view name, Simulation&) override {
    if (name == "never_ok") {
      // Twenty lines of evidence, more than the terminal shows.
      std::string details;
      for (int i = 1; i <= 20; ++i) {
        details += "witness op " + std::to_string(i) + "\n";
      }
      return {false, "planted failure", details};
    }
    return {true, "nothing to see"};
  }

private:
  bool down(Time t) const {
    for (const auto& o : outages_) {
      if (t >= Time::zero() + o.at && t < Time::zero() + o.at + o.length) {
        return true;
      }
    }
    return false;
  }

  void schedule_arrival() {
    Duration gap = Duration::from_seconds(rng_->exponential(1.0 / params_.rate_per_s));
    sim_->schedule_after(gap, [this] {
      sim_->metrics().counter("toy.requests").inc();
      attempt(sim_->now(), 1);
      schedule_arrival();
    });
  }

  void attempt(Time started, int n) {
    sim_->metrics().counter("toy.attempts").inc();
    ++in_flight_;
    Duration service = params_.jitter ? Duration::from_seconds(service_rng_->exponential(
                                            params_.service_time.to_seconds()))
                                      : params_.service_time;
    bool fails = down(sim_->now()) || service > params_.timeout;
    Duration wait = fails ? params_.timeout : service;
    sim_->schedule_after(wait, [this, started, n, fails] {
      --in_flight_;
      if (!fails) {
        sim_->metrics().counter("toy.successes").inc();
        sim_->metrics().histogram("toy.latency").record(sim_->now() - started);
        sim_->record("client", "request", {{"latency_ns", sim_->now() - started}});
        return;
      }
      if (n < params_.max_attempts) {
        sim_->schedule_after(params_.backoff, [this, started, n] { attempt(started, n + 1); });
      } else {
        sim_->metrics().counter("toy.failures").inc();
      }
    });
  }

  ToyParams params_;
  std::vector<Outage> outages_;
  Simulation* sim_ = nullptr;
  std::unique_ptr<Rng> rng_;
  std::unique_ptr<Rng> service_rng_;
  std::int64_t in_flight_ = 0;
};

std::unique_ptr<ModelInstance> prepare_toy(const ModelInput& in) {
  ToyParams p;
  ObjectReader r(*in.params, "/model/params", *in.source);
  r.get("rate_per_s", p.rate_per_s, {.min = 0.001, .max = 1e6});
  r.get("service_time", p.service_time, {.min = Duration::nanos(1)});
  r.get("jitter", p.jitter);
  r.get("timeout", p.timeout, {.min = Duration::nanos(1)});
  r.get("max_attempts", p.max_attempts, {.min = 1, .max = 100});
  r.get("backoff", p.backoff, {.min = Duration::zero()});
  r.finish();
  std::vector<Outage> outages;
  if (in.faults != nullptr) {
    if (!in.faults->is_array()) {
      throw in.source->error("/faults", "expected an array of faults");
    }
    for (std::size_t i = 0; i < in.faults->size(); ++i) {
      ObjectReader f((*in.faults)[i], child_pointer("/faults", i), *in.source);
      std::string kind = "outage";
      f.get_choice("kind", kind, {"outage"});
      Outage o{Duration::zero(), Duration::seconds(1)};
      f.get("at", o.at, {.min = Duration::zero(), .max = in.duration});
      f.get("for", o.length, {.min = Duration::nanos(1)});
      f.finish();
      outages.push_back(o);
    }
  }
  return std::make_unique<ToyModel>(p, std::move(outages));
}

class FlakyModel : public ModelInstance {
public:
  explicit FlakyModel(std::shared_ptr<int> runs) : runs_(std::move(runs)) {}
  void start(Simulation& sim) override {
    int run = ++*runs_;
    for (int i = 0; i < 10; ++i) {
      // The 6th record depends on how many runs came before: a planted nondeterminism.
      sim.schedule_at(Time::zero() + Duration::millis(i), [&sim, i, run] {
        sim.record("flaky", "tick", {{"i", i}, {"v", i == 5 ? run : 0}});
      });
    }
  }
  std::optional<MeasureNames> measures(std::string_view of) const override {
    if (of.empty()) {
      return MeasureNames{};
    }
    return std::nullopt;
  }

private:
  std::shared_ptr<int> runs_;
};

}  // namespace

void register_test_models(ModelRegistry& registry) {
  registry.add({"toy", "test model: a retrying client against one server with outages",
                {"faults"}, prepare_toy});
  auto runs = std::make_shared<int>(0);
  registry.add({"flaky", "test model: deliberately nondeterministic", {},
                [runs](const ModelInput& in) -> std::unique_ptr<ModelInstance> {
                  ObjectReader(*in.params, "/model/params", *in.source).finish();
                  return std::make_unique<FlakyModel>(runs);
                }});
}

}  // namespace faultline::scenario::testing
