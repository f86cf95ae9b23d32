#include <faultline/sim/contention/occ_contention.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <string_view>

namespace faultline::sim::contention {

namespace res = faultline::resilience;

res::RetryParams ContentionParams::default_retry() {
  res::RetryParams r;
  r.max_attempts = 100;
  r.base = Duration::millis(5);
  r.cap = Duration::seconds(2);
  r.jitter = res::Jitter::full;
  return r;
}

void ContentionParams::validate() const {
  // "field: problem; fix", the shape the scenario layer turns into a JSON path.
  auto bad = [](std::string_view field, const std::string& what, std::string_view fix) {
    throw std::invalid_argument(fmt::format("{}: {}; {}", field, what, fix));
  };
  if (clients < 1 || clients > 10000) {
    bad("clients", fmt::format("must be in [1, 10000] (got {})", clients),
        "the blog used 10 to 50 contending clients");
  }
  if (trials < 1 || trials > 10000) {
    bad("trials", fmt::format("must be in [1, 10000] (got {})", trials),
        "the blog averaged 100 runs per point");
  }
  if (net_delay_mean < Duration::zero()) {
    bad("net_delay_mean", "must not be negative", "the blog's simulator used \"10ms\"");
  }
  if (net_delay_sd < Duration::zero()) {
    bad("net_delay_sd", "must not be negative", "the blog's simulator used \"2ms\"");
  }
  retry.validate();
}

const ContentionMetricNames& metric_names() {
  static const ContentionMetricNames names{
      "contention/requests",       "contention/successes",        "contention/failures",
      "contention/attempts",       "contention/reads",            "contention/latency",
      "contention/trials/requests", "contention/trials/successes", "contention/trials/failures",
      "contention/trials/latency", "contention/calls_per_client"};
  return names;
}

double ContentionResult::mean_calls_per_trial() const {
  return trial_calls.empty() ? 0.0
                             : static_cast<double>(calls) / static_cast<double>(trial_calls.size());
}

double ContentionResult::calls_per_client() const {
  return client_calls.empty()
             ? 0.0
             : static_cast<double>(calls) / static_cast<double>(client_calls.size());
}

Duration ContentionResult::completion_quantile(double q) const {
  if (trial_completion.empty()) {
    return Duration::zero();
  }
  std::vector<Duration> sorted = trial_completion;
  std::sort(sorted.begin(), sorted.end());
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size()));
  const std::size_t i = rank < 1.0 ? 0 : static_cast<std::size_t>(rank) - 1;
  return sorted[std::min(i, sorted.size() - 1)];
}

Duration ContentionResult::completion_max() const { return completion_quantile(1.0); }

Duration ContentionResult::completion_mean() const {
  if (trial_completion.empty()) {
    return Duration::zero();
  }
  std::int64_t sum = 0;
  for (Duration d : trial_completion) {
    sum += d.ns();
  }
  return Duration::nanos(sum / static_cast<std::int64_t>(trial_completion.size()));
}

bool ContentionResult::done() const {
  return succeeded + gave_up == client_calls.size() && !client_calls.empty();
}

struct OccContention::Impl {
  // One cache line: a 16x run holds 80,000 clients, and three of an attempt's four events read
  // one at random, so a client is one miss, not two. The retry params are shared
  // (Backoff's static delay); trial and index fit 16 bits (validate() caps both at 10,000).
  struct alignas(64) Client {
    Rng rng;
    Duration previous;  // decorrelated jitter's previous sleep
    std::uint16_t trial = 0;
    std::uint16_t index = 0;  // within its trial
    int failures = 0;
  };
  static_assert(sizeof(Client) == 64, "a client is meant to fill one cache line");
  struct Row {
    std::uint64_t version = 0;
    int pending = 0;  // clients not finished yet
    Rng net;
  };

  Simulation* sim = nullptr;
  const ContentionParams* params = nullptr;
  ContentionResult* result = nullptr;
  std::vector<Row> rows;
  std::vector<Client> clients;
  Counter* requests = nullptr;
  Counter* successes = nullptr;
  Counter* failures = nullptr;
  Counter* attempts = nullptr;
  Counter* reads = nullptr;
  Counter* trial_successes = nullptr;
  Counter* trial_failures = nullptr;
  Histogram* latency = nullptr;
  Histogram* trial_latency = nullptr;
  Histogram* calls_per_client = nullptr;
  std::int64_t pending = 0;

  // One message's one-way delay: |N(mean, sd)|, as the blog's simulator draws it.
  Duration delay(Row& row) {
    const double ns = std::abs(row.net.normal(static_cast<double>(params->net_delay_mean.ns()),
                                              static_cast<double>(params->net_delay_sd.ns())));
    return Duration::nanos(std::llround(ns));
  }

  std::size_t slot(const Client& c) const {  // in result.client_calls
    return static_cast<std::size_t>(c.trial) * static_cast<std::size_t>(params->clients) + c.index;
  }

  // A read travels to the server, which answers with the version it holds now.
  void send_read(Client& c, Duration extra) {
    Row& row = rows[static_cast<std::size_t>(c.trial)];
    reads->inc();
    ++result->reads;
    sim->schedule_after(extra + delay(row), [this, &c, &row] {
      const std::uint64_t seen = row.version;
      sim->schedule_after(delay(row), [this, &c, seen] { send_write(c, seen); });
    });
  }

  // The write is applied only if nobody wrote since the client's read.
  void send_write(Client& c, std::uint64_t seen) {
    Row& row = rows[static_cast<std::size_t>(c.trial)];
    attempts->inc();
    ++result->calls;
    ++result->trial_calls[static_cast<std::size_t>(c.trial)];
    // Three pointers' worth, so the event stays inline in the queue's slot (24 bytes).
    sim->schedule_after(delay(row), [this, &c, seen] {
      Row& server = rows[c.trial];
      const bool ok = seen == server.version;
      if (ok) {
        ++server.version;
      }
      sim->record("contention", "write",
                  {{"trial", int{c.trial}}, {"client", int{c.index}}, {"ok", ok},
                   {"attempt", c.failures + 1}});
      sim->schedule_after(delay(server), [this, &c, ok] { on_reply(c, ok); });
    });
  }

  void on_reply(Client& c, bool ok) {
    if (ok) {
      successes->inc();
      ++result->succeeded;
      latency->record(sim->now().since_start());
      finish(c, true);
      return;
    }
    ++c.failures;
    if (c.failures >= params->retry.max_attempts) {
      failures->inc();
      ++result->gave_up;
      finish(c, false);
      return;
    }
    // The blog's client sleeps, then its next read goes out on the network.
    send_read(c, res::Backoff::delay(params->retry, c.failures, c.rng, c.previous));
  }

  // A client's writes: one per attempt, the last one included whether it landed or not.
  void finish(Client& c, bool landed) {
    const int calls = landed ? c.failures + 1 : c.failures;
    result->client_calls[slot(c)] = calls;
    calls_per_client->record(calls);
    --pending;
    Row& row = rows[static_cast<std::size_t>(c.trial)];
    if (--row.pending == 0) {
      const Duration took = sim->now().since_start();
      result->trial_completion[static_cast<std::size_t>(c.trial)] = took;
      trial_latency->record(took);
      // A trial succeeds when every one of its clients wrote the row.
      if (row.version == static_cast<std::uint64_t>(params->clients)) {
        trial_successes->inc();
      } else {
        trial_failures->inc();
      }
      sim->record("contention", "trial done",
                  {{"trial", int{c.trial}}, {"latency_ns", took}, {"version", row.version}});
    }
  }
};

OccContention::OccContention(ContentionParams params) : params_(params) { params_.validate(); }

OccContention::~OccContention() = default;

void OccContention::start(Simulation& sim) {
  if (impl_) {
    throw std::logic_error("OccContention::start called twice");
  }
  impl_ = std::make_unique<Impl>();
  Impl& m = *impl_;
  m.sim = &sim;
  m.params = &params_;
  m.result = &result_;
  const auto& n = metric_names();
  Metrics& mx = sim.metrics();
  m.requests = &mx.counter(n.requests);
  m.successes = &mx.counter(n.successes);
  m.failures = &mx.counter(n.failures);
  m.attempts = &mx.counter(n.attempts);
  m.reads = &mx.counter(n.reads);
  m.trial_successes = &mx.counter(n.trial_successes);
  m.trial_failures = &mx.counter(n.trial_failures);
  m.latency = &mx.histogram(n.latency);
  m.trial_latency = &mx.histogram(n.trial_latency);
  m.calls_per_client = &mx.histogram(n.calls_per_client);

  const auto trials = static_cast<std::size_t>(params_.trials);
  const auto per_trial = static_cast<std::size_t>(params_.clients);
  result_.trial_completion.assign(trials, Duration::zero());
  result_.trial_calls.assign(trials, 0);
  result_.client_calls.assign(trials * per_trial, 0);
  m.rows.reserve(trials);
  m.clients.reserve(trials * per_trial);  // clients are captured by reference: never reallocate
  for (std::size_t t = 0; t < trials; ++t) {
    const std::string prefix = fmt::format("contention/trial/{}", t);
    m.rows.push_back(Impl::Row{0, params_.clients, sim.rng(prefix + "/net")});
    for (std::size_t i = 0; i < per_trial; ++i) {
      m.clients.push_back(Impl::Client{sim.rng(fmt::format("{}/client/{}", prefix, i)),
                                       params_.retry.base, static_cast<std::uint16_t>(t),
                                       static_cast<std::uint16_t>(i), 0});
    }
  }
  mx.counter(n.trial_requests).inc(trials);
  m.requests->inc(trials * per_trial);
  m.pending = static_cast<std::int64_t>(trials * per_trial);
  for (auto& c : m.clients) {
    m.send_read(c, Duration::zero());
  }
}

std::int64_t OccContention::clients_pending() const { return impl_ ? impl_->pending : 0; }

ContentionResult run_contention(const ContentionParams& params, std::uint64_t seed) {
  Simulation sim(Simulation::Options{.seed = seed});
  OccContention model(params);
  model.start(sim);
  sim.run();
  return model.result();
}

}  // namespace faultline::sim::contention
