#include <faultline/simulation.hpp>

namespace faultline {

Simulation::Simulation(Options options) : options_(options) {}

Simulation::~Simulation() = default;

void Simulation::fail(std::exception_ptr e) {
  if (!failure_) {
    failure_ = std::move(e);
  }
  stopped_ = true;
}

void Simulation::rethrow_failure() {
  if (failure_) {
    std::rethrow_exception(std::exchange(failure_, nullptr));
  }
}

bool Simulation::step() {
  if (!queue_.pop_and_run(Time::max(), [this](Time t) { now_ = t; })) {
    return false;
  }
  ++events_run_;
  rethrow_failure();
  return true;
}

std::uint64_t Simulation::run() {
  stopped_ = false;
  const std::uint64_t start = events_run_;
  while (!stopped_ && queue_.pop_and_run(Time::max(), [this](Time t) { now_ = t; })) {
    ++events_run_;
  }
  rethrow_failure();
  return events_run_ - start;
}

std::uint64_t Simulation::run_until(Time t) {
  FAULTLINE_ASSERT(t >= now_, "run_until a time in the past");
  stopped_ = false;
  const std::uint64_t start = events_run_;
  while (!stopped_ && queue_.pop_and_run(t, [this](Time at) { now_ = at; })) {
    ++events_run_;
  }
  if (!stopped_) {
    now_ = t;
  }
  rethrow_failure();
  return events_run_ - start;
}

TimeSeries& Simulation::sample_every(std::string_view series, Duration interval,
                                     std::function<double()> probe) {
  FAULTLINE_ASSERT(interval > Duration::zero(), "sampling interval must be positive");
  TimeSeries& ts = metrics_.series(series);
  samplers_.push_back(std::make_unique<Sampler>(Sampler{&ts, interval, std::move(probe)}));
  Sampler* s = samplers_.back().get();
  schedule_at(now_, [this, s] { sample(s); });
  return ts;
}

void Simulation::sample(Sampler* s) {
  s->series->add(now_, s->probe());
  schedule_after(s->interval, [this, s] { sample(s); });
}

}  // namespace faultline
