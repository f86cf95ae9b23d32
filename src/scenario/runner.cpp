#include <faultline/scenario/runner.hpp>

#include <faultline/probe.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include <fmt/format.h>

namespace faultline::scenario {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double num, double den, double if_empty) { return den > 0 ? num / den : if_empty; }

/// The counters behind one MeasureNames, resolved once so sampling is cheap.
struct Counters {
  const Counter* requests = nullptr;
  const Counter* successes = nullptr;
  const Counter* attempts = nullptr;
  const Counter* failures = nullptr;
  const Histogram* latency = nullptr;

  Counters(Metrics& m, const MeasureNames& n) {
    // Created here if the model has not yet touched them, so references stay valid.
    if (!n.requests.empty()) {
      requests = &m.counter(n.requests);
    }
    if (!n.successes.empty()) {
      successes = &m.counter(n.successes);
    }
    if (!n.attempts.empty()) {
      attempts = &m.counter(n.attempts);
    }
    if (!n.failures.empty()) {
      failures = &m.counter(n.failures);
    }
    if (!n.latency.empty()) {
      latency = &m.histogram(n.latency);
    }
  }
};

struct Snapshot {
  double requests = 0;
  double successes = 0;
  double attempts = 0;
  double failures = 0;
  bool has_failures = false;
  Histogram latency;

  /// The denominator of availability: completed requests when failures are counted, else
  /// requests issued.
  double outcomes() const { return has_failures ? successes + failures : requests; }

  static Snapshot take(const Counters& c) {
    Snapshot s;
    s.requests = c.requests ? static_cast<double>(c.requests->value()) : 0.0;
    s.successes = c.successes ? static_cast<double>(c.successes->value()) : 0.0;
    s.attempts = c.attempts ? static_cast<double>(c.attempts->value()) : 0.0;
    s.failures = c.failures ? static_cast<double>(c.failures->value()) : 0.0;
    s.has_failures = c.failures != nullptr;
    if (c.latency) {
      s.latency = *c.latency;
    }
    return s;
  }
};

/// Recovers (bucket value, count) pairs of a histogram from its public quantile function: the
/// r-th smallest sample lies in the bucket quantile((r - 0.5) / n) reports, so a binary search
/// over ranks finds where each bucket ends. Exact to the histogram's resolution.
std::vector<std::pair<std::int64_t, std::uint64_t>> buckets_of(const Histogram& h) {
  std::vector<std::pair<std::int64_t, std::uint64_t>> out;
  const std::uint64_t n = h.count();
  auto at = [&](std::uint64_t rank) {
    return h.quantile((static_cast<double>(rank) - 0.5) / static_cast<double>(n));
  };
  std::uint64_t r = 1;
  while (r <= n) {
    std::int64_t v = at(r);
    std::uint64_t lo = r;
    std::uint64_t hi = n;
    while (lo < hi) {
      std::uint64_t mid = lo + (hi - lo + 1) / 2;
      if (at(mid) == v) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    out.emplace_back(v, lo - r + 1);
    r = lo + 1;
  }
  return out;
}

/// The quantile of the samples recorded into `end` after the snapshot `start` was taken.
}  // namespace

std::optional<std::int64_t> quantile_between(const Histogram& start, const Histogram& end,
                                             double q) {
  if (start.count() == 0) {
    return end.count() ? std::optional(end.quantile(q)) : std::nullopt;
  }
  std::map<std::size_t, std::pair<std::int64_t, std::int64_t>> by_index;
  for (auto [v, c] : buckets_of(end)) {
    auto& slot = by_index[Histogram::index_of(v)];
    slot.first = v;
    slot.second += static_cast<std::int64_t>(c);
  }
  for (auto [v, c] : buckets_of(start)) {
    by_index[Histogram::index_of(v)].second -= static_cast<std::int64_t>(c);
  }
  std::int64_t total = 0;
  for (const auto& [i, vc] : by_index) {
    total += std::max<std::int64_t>(vc.second, 0);
  }
  if (total == 0) {
    return std::nullopt;
  }
  auto rank = static_cast<std::int64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::max<std::int64_t>(rank, 1);
  std::int64_t seen = 0;
  for (const auto& [i, vc] : by_index) {
    seen += std::max<std::int64_t>(vc.second, 0);
    if (seen >= rank) {
      return vc.first;
    }
  }
  return by_index.rbegin()->second.first;
}

namespace {

struct ExpectationState {
  const Expectation* spec = nullptr;
  std::unique_ptr<Counters> counters;
  Snapshot at_from;
  Snapshot at_to;
  bool have_to = false;
  double probe_sum = 0;
  std::uint64_t probe_n = 0;
};

std::string format_value(double v, bool duration) {
  if (std::isnan(v)) {
    return "n/a";
  }
  if (std::isinf(v)) {
    return duration ? "never" : "inf";
  }
  if (duration) {
    return short_duration(Duration::from_seconds(v));
  }
  return fmt::format("{:.6g}", v);
}

std::string bound_text(const Expectation& e) {
  bool d = e.duration_valued();
  if (e.min && e.max) {
    return "in [" + format_value(*e.min, d) + ", " + format_value(*e.max, d) + "]";
  }
  if (e.min) {
    return ">= " + format_value(*e.min, d);
  }
  if (e.max) {
    return "<= " + format_value(*e.max, d);
  }
  return "ok";  // a checker expectation has no numeric bound
}

class Execution {
public:
  Execution(Simulation& sim, const ScenarioSpec& spec, const ModelRegistry& registry)
      : sim_(sim), spec_(spec), model_(spec.prepare_model(registry)) {}

  RunResult run(const RunOptions& options) {
    start_model(*model_, sim_, spec_);
    setup_observations();
    setup_expectations();
    const Time end = Time::zero() + spec_.duration;
    if (options.progress) {
      // Chunks change nothing about the run: run_until executes the same events in order.
      const Duration chunk = std::max(spec_.duration / 200, Duration::nanos(1));
      while (sim_.now() < end && !sim_.stopped()) {
        sim_.run_until(std::min(end, sim_.now() + chunk));
        options.progress(sim_.now(), end);
      }
    } else {
      sim_.run_until(end);
    }
    return collect();
  }

private:
  void setup_observations() {
    for (const auto& o : spec_.observations) {
      TimeSeries* series = &sim_.metrics().series("observe/" + o.name);
      series_.push_back({o.name, series});
      std::shared_ptr<Counters> c;
      if (o.kind != Observation::Kind::kProbe) {
        c = std::make_shared<Counters>(sim_.metrics(), *model_->measures(o.of));
      }
      auto last = std::make_shared<Snapshot>();
      const Observation* obs = &o;
      auto sample = [this, obs, c, last, series]() {
        double value = kNaN;
        if (obs->kind == Observation::Kind::kProbe) {
          value = model_->probe(obs->probe);
        } else {
          Snapshot now = Snapshot::take(*c);
          double dr = now.requests - last->requests;
          double ds = now.successes - last->successes;
          double da = now.attempts - last->attempts;
          double dout = now.outcomes() - last->outcomes();
          double secs = obs->every.to_seconds();
          switch (obs->kind) {
            case Observation::Kind::kAvailability: value = ratio(ds, dout, kNaN); break;
            case Observation::Kind::kErrorRate:
              value = dout > 0 ? 1.0 - ds / dout : kNaN;
              break;
            case Observation::Kind::kThroughput: value = ds / secs; break;
            case Observation::Kind::kRequestRate: value = dr / secs; break;
            case Observation::Kind::kRetryAmplification: value = ratio(da, dr, kNaN); break;
            case Observation::Kind::kProbe: break;
          }
          last->requests = now.requests;
          last->successes = now.successes;
          last->attempts = now.attempts;
          last->failures = now.failures;
          last->has_failures = now.has_failures;
        }
        series->add(sim_.now(), value);
      };
      for (Duration t = o.every; t <= spec_.duration; t += o.every) {
        sim_.schedule_at(Time::zero() + t, sample);
      }
    }
  }

  void setup_expectations() {
    states_.reserve(spec_.expectations.size());
    for (const auto& e : spec_.expectations) {
      auto& st = states_.emplace_back();
      st.spec = &e;
      using K = Expectation::Kind;
      if (e.kind == K::kChecker || e.kind == K::kSeriesMean || e.kind == K::kTimeToRecover) {
        continue;
      }
      const Duration to = e.to.value_or(spec_.duration);
      if (e.kind == K::kProbeMean) {
        // Sampled at 200 evenly spaced instants of the window.
        const Duration step = std::max((to - e.from) / 200, Duration::nanos(1));
        ExpectationState* p = &st;
        for (Duration t = e.from; t < to; t += step) {
          sim_.schedule_at(Time::zero() + t, [this, p] {
            p->probe_sum += model_->probe(p->spec->probe);
            ++p->probe_n;
          });
        }
        continue;
      }
      st.counters = std::make_unique<Counters>(sim_.metrics(), *model_->measures(e.of));
      ExpectationState* p = &st;
      if (e.from > Duration::zero()) {
        sim_.schedule_at(Time::zero() + e.from,
                         [p] { p->at_from = Snapshot::take(*p->counters); });
      }
      if (to < spec_.duration) {
        sim_.schedule_at(Time::zero() + to, [p] {
          p->at_to = Snapshot::take(*p->counters);
          p->have_to = true;
        });
      }
    }
  }

  const TimeSeries* find_series(const std::string& name) const {
    for (const auto& [n, s] : series_) {
      if (n == name) {
        return s;
      }
    }
    return nullptr;
  }

  ExpectationResult evaluate(ExpectationState& st) {
    const Expectation& e = *st.spec;
    using K = Expectation::Kind;
    ExpectationResult r;
    r.name = e.name;
    r.description = e.describe();
    r.bound = bound_text(e);
    double value = kNaN;
    const Duration to = e.to.value_or(spec_.duration);
    switch (e.kind) {
      case K::kChecker: {
        CheckVerdict v = model_->check(e.checker, sim_);
        r.bound = e.expect_violation ? "violated" : "ok";
        r.ok = e.expect_violation ? !v.ok : v.ok;
        r.value = v.ok ? 1.0 : 0.0;
        r.measured = (v.ok ? "ok" : "violated") + (v.summary.empty() ? "" : ": " + v.summary);
        r.evidence = v.ok ? std::string() : v.details;
        return r;
      }
      case K::kProbeMean:
        value = st.probe_n ? st.probe_sum / static_cast<double>(st.probe_n) : kNaN;
        break;
      case K::kSeriesMean: {
        double sum = 0;
        std::uint64_t n = 0;
        for (const auto& s : find_series(e.series)->samples()) {
          if (s.time > Time::zero() + e.from && s.time <= Time::zero() + to &&
              !std::isnan(s.value)) {
            sum += s.value;
            ++n;
          }
        }
        value = n ? sum / static_cast<double>(n) : kNaN;
        break;
      }
      case K::kTimeToRecover: {
        const auto& samples = find_series(e.series)->samples();
        std::optional<Time> recovered;
        for (const auto& s : samples) {
          if (s.time <= Time::zero() + e.after || std::isnan(s.value)) {
            continue;
          }
          if (s.value >= e.threshold) {
            if (!recovered) {
              recovered = s.time;
            }
          } else {
            recovered.reset();
          }
        }
        value = recovered ? (*recovered - (Time::zero() + e.after)).to_seconds()
                          : std::numeric_limits<double>::infinity();
        break;
      }
      default: {
        Snapshot end = st.have_to ? st.at_to : Snapshot::take(*st.counters);
        const Snapshot& start = st.at_from;
        double dr = end.requests - start.requests;
        double ds = end.successes - start.successes;
        double da = end.attempts - start.attempts;
        double dout = end.outcomes() - start.outcomes();
        switch (e.kind) {
          case K::kAvailability: value = ratio(ds, dout, kNaN); break;
          case K::kErrorRate: value = dout > 0 ? 1.0 - ds / dout : kNaN; break;
          case K::kThroughput: value = ds / (to - e.from).to_seconds(); break;
          case K::kRetryAmplification: value = ratio(da, dr, kNaN); break;
          case K::kLatency: {
            auto q = quantile_between(start.latency, end.latency, e.quantile);
            value = q ? Duration::nanos(*q).to_seconds() : kNaN;
            break;
          }
          default: break;
        }
        if ((e.kind == K::kAvailability || e.kind == K::kErrorRate) && dout == 0) {
          r.measured = "n/a (no request completed in the window)";
        } else if (dr == 0 && e.kind != K::kThroughput) {
          r.measured = "n/a (no requests in the window)";
        }
        break;
      }
    }
    r.value = value;
    if (r.measured.empty()) {
      r.measured = format_value(value, e.duration_valued());
    }
    r.ok = !std::isnan(value) && (!e.min || value >= *e.min) && (!e.max || value <= *e.max);
    if (!std::isnan(value)) {
      r.miss = e.min && value < *e.min ? -1 : (e.max && value > *e.max ? 1 : 0);
    }
    return r;
  }

  RunResult collect() {
    RunResult result;
    result.file = spec_.file;
    result.scenario = spec_.name;
    result.variant = spec_.variant;
    result.seed = sim_.seed();
    result.config_hash = spec_.config_hash;
    result.duration = spec_.duration;
    result.key_series = spec_.key_series;
    if (auto names = model_->measures("")) {
      Counters c(sim_.metrics(), *names);
      Snapshot s = Snapshot::take(c);
      KeyMetrics& k = result.key;
      k.requests = static_cast<std::uint64_t>(s.requests);
      k.successes = static_cast<std::uint64_t>(s.successes);
      k.attempts = static_cast<std::uint64_t>(s.attempts);
      k.availability = ratio(s.successes, s.outcomes(), 1.0);
      k.retry_amplification = names->attempts.empty() ? kNaN : ratio(s.attempts, s.requests, 0.0);
      k.throughput_per_s = s.successes / spec_.duration.to_seconds();
      k.latency_p50 = Duration::nanos(s.latency.p50());
      k.latency_p99 = Duration::nanos(s.latency.p99());
      // Which scope the headline figures are of, and every scope's own availability, so that a
      // population at 0 % never hides behind another at 100 %.
      constexpr std::size_t kMaxPopulations = 16;
      for (const auto& scope : model_->measure_scopes()) {
        auto m = model_->measures(scope);
        if (!m) {
          continue;
        }
        if (k.population.empty() && m->requests == names->requests &&
            m->successes == names->successes) {
          k.population = scope;
        }
        if (k.populations.size() < kMaxPopulations) {
          Snapshot p = Snapshot::take(Counters(sim_.metrics(), *m));
          k.populations.push_back({scope, static_cast<std::uint64_t>(p.requests),
                                   ratio(p.successes, p.outcomes(), 1.0)});
        }
      }
    }
    for (auto& st : states_) {
      result.expectations.push_back(evaluate(st));
    }
    for (const auto& [name, series] : series_) {
      result.series.push_back({name, series->samples()});
    }
    // Read last: checkers above may record into the trace.
    result.trace_hash = sim_.trace().hash();
    result.trace_records = sim_.trace().count();
    result.events = sim_.events_run();
    return result;
  }

  Simulation& sim_;
  const ScenarioSpec& spec_;
  std::unique_ptr<ModelInstance> model_;
  std::vector<std::pair<std::string, TimeSeries*>> series_;
  std::vector<ExpectationState> states_;
};

}  // namespace

bool RunResult::ok() const {
  return std::all_of(expectations.begin(), expectations.end(),
                     [](const ExpectationResult& e) { return e.ok; });
}

RunResult run_scenario(const ScenarioSpec& spec, const ModelRegistry& registry,
                       const RunOptions& options) {
  Simulation sim({.seed = options.seed.value_or(spec.seed), .epoch = spec.epoch});
  for (TraceSink* sink : options.sinks) {
    sim.trace().attach(sink);
  }
  Execution execution(sim, spec, registry);
  RunResult result = execution.run(options);
  for (TraceSink* sink : options.sinks) {
    sim.trace().detach(sink);
  }
  // Coverage from the run's counters (the fault injector's and the probes'), in name order.
  constexpr std::string_view kFaultPrefix = "faults.target/";
  for (const auto& [name, counter] : sim.metrics().counters()) {
    if (name.starts_with(kFaultPrefix)) {
      result.faults_fired.emplace_back(name.substr(kFaultPrefix.size()), counter.value());
    } else if (name.starts_with(kProbeMetricPrefix)) {
      result.probes.emplace_back(name.substr(kProbeMetricPrefix.size()), counter.value());
    }
  }
  return result;
}

DeterminismReport check_scenario_determinism(const ScenarioSpec& spec,
                                             const ModelRegistry& registry,
                                             std::optional<std::uint64_t> seed) {
  Simulation::Options options{.seed = seed.value_or(spec.seed), .epoch = spec.epoch};
  return check_determinism(options, [&](Simulation& sim) {
    Execution execution(sim, spec, registry);
    (void)execution.run({});
  });
}

std::string short_duration(Duration d) {
  const double ns = static_cast<double>(d.ns());
  const double a = ns < 0 ? -ns : ns;
  if (a < 1e3) {
    return fmt::format("{}ns", d.ns());
  }
  if (a < 1e6) {
    return fmt::format("{:.3g}us", ns / 1e3);
  }
  if (a < 1e9) {
    return fmt::format("{:.3g}ms", ns / 1e6);
  }
  if (a < 60e9) {
    return fmt::format("{:.3g}s", ns / 1e9);
  }
  return Duration::seconds(static_cast<std::int64_t>(std::llround(ns / 1e9))).to_string();
}

std::string reproduce_command(const std::string& file, const std::string& variant,
                              std::uint64_t seed, const std::vector<std::string>& sets) {
  std::string out = "faultline run " + file + " --variant " + variant;
  out += " --seed " + std::to_string(seed);
  for (const auto& s : sets) {
    out += " --set '" + s + "'";
  }
  return out;
}

}  // namespace faultline::scenario
