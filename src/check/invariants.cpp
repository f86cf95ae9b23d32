// Invariant monitor and liveness checks.
#include <faultline/check/invariants.hpp>

#include <fmt/format.h>
#include <stdexcept>

namespace faultline::check {

std::string Violation::to_string() const {
  return fmt::format("{} at {}: {}", invariant, time.to_string(), message);
}

InvariantMonitor::~InvariantMonitor() { stop_periodic(); }

void InvariantMonitor::add(std::string name, Predicate predicate) {
  if (name.empty()) {
    throw std::invalid_argument("InvariantMonitor::add: give the invariant a name");
  }
  if (!predicate) {
    throw std::invalid_argument(
        fmt::format("InvariantMonitor::add: invariant \"{}\" has no predicate", name));
  }
  for (const Invariant& i : invariants_) {
    if (i.name == name) {
      throw std::invalid_argument(fmt::format(
          "InvariantMonitor::add: invariant \"{}\" is already registered; names must be unique",
          name));
    }
  }
  invariants_.push_back({std::move(name), std::move(predicate), false});
}

void InvariantMonitor::add_condition(std::string name, std::function<bool()> holds) {
  if (!holds) {
    throw std::invalid_argument(
        fmt::format("InvariantMonitor::add_condition: invariant \"{}\" has no condition", name));
  }
  add(std::move(name), [holds = std::move(holds)]() -> std::optional<std::string> {
    if (holds()) {
      return std::nullopt;
    }
    return std::string("condition is false");
  });
}

bool InvariantMonitor::check() {
  ++evaluations_;
  bool all = true;
  for (Invariant& inv : invariants_) {
    std::optional<std::string> wrong = inv.predicate();
    if (!wrong) {
      continue;
    }
    all = false;
    if (inv.violated) {
      continue;  // keep the first violation of each invariant
    }
    inv.violated = true;
    Violation v{sim_.now(), inv.name, std::move(*wrong)};
    if (!first_) {
      first_ = v;
    }
    sim_.record("check", "invariant_violated",
                {{"invariant", v.invariant}, {"message", v.message}});
    violations_.push_back(std::move(v));
  }
  if (!all && stop_on_violation_) {
    sim_.stop();
  }
  return all;
}

void InvariantMonitor::check_every(Duration interval) {
  if (interval <= Duration::zero()) {
    throw std::invalid_argument(fmt::format(
        "InvariantMonitor::check_every: interval must be positive, got {}", interval));
  }
  stop_periodic();
  interval_ = interval;
  periodic_ = sim_.schedule_after(interval_, [this] { tick(); });
}

void InvariantMonitor::tick() {
  check();
  periodic_ = sim_.schedule_after(interval_, [this] { tick(); });
}

void InvariantMonitor::stop_periodic() {
  if (periodic_.valid()) {
    sim_.cancel(periodic_);
    periodic_ = EventId{};
  }
}

CheckResult InvariantMonitor::result() const {
  std::string scope = fmt::format("{} invariants, {} evaluations", invariants_.size(),
                                  evaluations_);
  if (violations_.empty()) {
    return CheckResult::pass("invariants", scope + ": all held");
  }
  std::string details;
  for (const Violation& v : violations_) {
    details += v.to_string() + "\n";
  }
  return CheckResult::fail(
      "invariants",
      fmt::format("{}: {} violated, first {}", scope, violations_.size(), first_->to_string()),
      details);
}

LivenessCheck::LivenessCheck(Simulation& sim, std::string name, std::function<bool()> condition,
                             Duration bound, Duration poll)
    : sim_(sim), name_(std::move(name)), condition_(std::move(condition)), bound_(bound),
      poll_(poll) {
  if (!condition_) {
    throw std::invalid_argument(fmt::format("LivenessCheck \"{}\": no condition given", name_));
  }
  if (bound_ < Duration::zero()) {
    throw std::invalid_argument(
        fmt::format("LivenessCheck \"{}\": bound must be >= 0, got {}", name_, bound_));
  }
  if (poll_ <= Duration::zero()) {
    throw std::invalid_argument(
        fmt::format("LivenessCheck \"{}\": poll interval must be positive, got {}", name_, poll_));
  }
}

LivenessCheck::~LivenessCheck() {
  if (next_.valid()) {
    sim_.cancel(next_);
  }
}

void LivenessCheck::healed_at(Time t) {
  if (open_since_) {
    throw std::logic_error(fmt::format(
        "LivenessCheck \"{}\": a window opened at {} is still undecided; heal again later",
        name_, open_since_->to_string()));
  }
  if (t < sim_.now()) {
    throw std::invalid_argument(fmt::format(
        "LivenessCheck \"{}\": heal time {} is in the past (now {})", name_, t.to_string(),
        sim_.now().to_string()));
  }
  open_since_ = t;
  healed_.push_back(t);
  next_ = sim_.schedule_at(t, [this] { poll(); });
}

void LivenessCheck::poll() {
  next_ = EventId{};
  const Time since = *open_since_;
  if (condition_()) {
    recovered_after_.push_back(sim_.now() - since);
    open_since_.reset();
    return;
  }
  if (sim_.now() >= since + bound_) {
    recovered_after_.push_back(Duration::max());
    open_since_.reset();
    return;
  }
  Time at = std::min(sim_.now() + poll_, since + bound_);
  next_ = sim_.schedule_at(at, [this] { poll(); });
}

CheckResult LivenessCheck::result() const {
  const std::string checker = "liveness/" + name_;
  std::string details;
  std::size_t missed = 0;
  for (std::size_t i = 0; i < recovered_after_.size(); ++i) {
    if (recovered_after_[i] == Duration::max()) {
      ++missed;
      details += fmt::format("healed at {}: \"{}\" still false at {} (bound {})\n",
                             healed_[i].to_string(), name_, (healed_[i] + bound_).to_string(),
                             bound_);
    } else {
      details += fmt::format("healed at {}: held again after {}\n", healed_[i].to_string(),
                             recovered_after_[i]);
    }
  }
  if (healed_.empty()) {
    return CheckResult::fail(checker, "never armed: call healed_at(t) when the faults heal",
                             {});
  }
  if (open_since_) {
    return CheckResult::fail(
        checker,
        fmt::format("undecided: the run ended at {} before \"{}\" held again or the bound {} "
                    "after the heal at {} passed; run longer",
                    sim_.now().to_string(), name_, bound_, open_since_->to_string()),
        details);
  }
  if (missed > 0) {
    return CheckResult::fail(
        checker, fmt::format("{} of {} recoveries missed the bound of {}", missed,
                             recovered_after_.size(), bound_),
        details);
  }
  return CheckResult::pass(checker,
                           fmt::format("recovered within {} after each of {} heals", bound_,
                                       recovered_after_.size()));
}

CheckResult check_recovers_within(const TimeSeries& series, Time healed, Duration bound,
                                  const std::function<bool(double)>& good,
                                  const std::string& name) {
  const std::string checker = "liveness/" + name;
  const Time deadline = healed + bound;
  bool saw_deadline = false;
  for (const TimeSeries::Sample& s : series.samples()) {
    if (s.time < healed) {
      continue;
    }
    if (s.time > deadline) {
      saw_deadline = true;
      break;
    }
    if (good(s.value)) {
      return CheckResult::pass(checker, fmt::format("held again {} after the heal at {} "
                                                    "(bound {})",
                                                    s.time - healed, healed.to_string(), bound));
    }
    saw_deadline = saw_deadline || s.time == deadline;
  }
  if (!saw_deadline) {
    return CheckResult::fail(
        checker,
        fmt::format("undecided: no sample reaches {} (heal at {} + bound {}); sample longer",
                    deadline.to_string(), healed.to_string(), bound),
        {});
  }
  return CheckResult::fail(checker,
                           fmt::format("did not hold again within {} of the heal at {}", bound,
                                       healed.to_string()),
                           {});
}

}  // namespace faultline::check
