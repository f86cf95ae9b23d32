#include <faultline/sim/services/params.hpp>

#include <faultline/sim/services/leaf_profile.hpp>

#include <fmt/format.h>

#include <functional>
#include <map>
#include <set>
#include <stdexcept>

namespace faultline::sim::services {

namespace {
[[noreturn]] void bad(std::string_view where, std::string_view field, std::string_view problem,
                      std::string_view fix) {
  throw std::invalid_argument(fmt::format("{}.{}: {}; {}", where, field, problem, fix));
}
/// Runs a policy's own validate() and prefixes its message with where it sits.
template <class P>
void nested(std::string_view where, const P& p) {
  try {
    p.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{}.{}", where, e.what()));
  }
}
}  // namespace

std::string_view to_string(Balancer b) {
  switch (b) {
    case Balancer::round_robin: return "round_robin";
    case Balancer::random: return "random";
    case Balancer::least_outstanding: return "least_outstanding";
  }
  return "unknown";
}

std::optional<Balancer> parse_balancer(std::string_view text) {
  for (Balancer b : {Balancer::round_robin, Balancer::random, Balancer::least_outstanding}) {
    if (text == to_string(b)) {
      return b;
    }
  }
  return std::nullopt;
}

std::string_view to_string(Arrival a) {
  return a == Arrival::poisson ? "poisson" : "closed_loop";
}

std::optional<Arrival> parse_arrival(std::string_view text) {
  if (text == "poisson") {
    return Arrival::poisson;
  }
  if (text == "closed_loop") {
    return Arrival::closed_loop;
  }
  return std::nullopt;
}

std::string_view to_string(ServiceTime::Kind k) {
  switch (k) {
    case ServiceTime::Kind::fixed: return "fixed";
    case ServiceTime::Kind::exponential: return "exponential";
    case ServiceTime::Kind::lognormal: return "lognormal";
    case ServiceTime::Kind::tail_at_scale: return "tail-at-scale";
  }
  return "unknown";
}

std::optional<ServiceTime::Kind> parse_service_time_kind(std::string_view text) {
  for (auto k : {ServiceTime::Kind::fixed, ServiceTime::Kind::exponential,
                 ServiceTime::Kind::lognormal, ServiceTime::Kind::tail_at_scale}) {
    if (text == to_string(k)) {
      return k;
    }
  }
  return std::nullopt;
}

void CallPolicy::validate(std::string_view where) const {
  nested(where, timeout);
  nested(where, retry);
  if (retry_quota_enabled) {
    nested(where, retry_quota);
  }
  if (adaptive_throttle_enabled) {
    nested(where, adaptive_throttle);
  }
  if (circuit_breaker_enabled) {
    nested(where, circuit_breaker);
  }
  nested(where, hedge);
  if (eject_for < Duration::zero()) {
    bad(where, "eject_for", fmt::format("must not be negative (got {})", eject_for),
        "e.g. 30s, or 0 for no ejection");
  }
}

void ServiceTime::validate(std::string_view where) const {
  if (mean <= Duration::zero()) {
    bad(where, "service_time.mean", fmt::format("must be positive (got {})", mean),
        "give the CPU cost per request, such as \"10ms\"");
  }
  if (kind == Kind::lognormal && !(sigma > 0.0 && sigma < 10.0)) {
    bad(where, "service_time.sigma", fmt::format("must be in (0, 10) (got {})", sigma),
        "use about 1 for a moderately heavy tail");
  }
  if (kind == Kind::tail_at_scale && (table1_leaves < TailAtScaleProfile::kMinLeaves ||
                                      table1_leaves > TailAtScaleProfile::kMaxLeaves)) {
    bad(where, "service_time.table1_leaves",
        fmt::format("must be in [{}, {}] (got {})", TailAtScaleProfile::kMinLeaves,
                    TailAtScaleProfile::kMaxLeaves, table1_leaves),
        "with fewer leaves Table 1's all-leaves median would fall below its one-leaf p99; use "
        "the fan-out of the request, such as 100");
  }
}

void TierParams::validate(std::string_view where) const {
  if (name.empty()) {
    bad(where, "name", "is empty", "name every tier");
  }
  if (instances < 1 || instances > 10'000) {
    bad(where, "instances", fmt::format("must be in [1, 10000] (got {})", instances),
        "give the tier at least one instance");
  }
  if (cores < 1 || cores > 1024) {
    bad(where, "cores", fmt::format("must be in [1, 1024] (got {})", cores),
        "give each instance's host at least one core");
  }
  service_time.validate(where);
  nested(where, admission);
  if (dependency_failure != resilience::Outcome::overloaded &&
      dependency_failure != resilience::Outcome::server_error) {
    bad(where, "dependency_failure",
        fmt::format("must be overloaded or server_error (got {})",
                    resilience::to_string(dependency_failure)),
        "use overloaded (503, retried by callers) or server_error (500, not retried)");
  }
  if (timed_wait_threads < 0 || timed_wait_threads > 100'000) {
    bad(where, "timed_wait_threads",
        fmt::format("must be in [0, 100000] (got {})", timed_wait_threads),
        "threads per instance that loop on timed waits; 0 for none");
  }
  if (timed_wait <= Duration::zero()) {
    bad(where, "timed_wait", fmt::format("must be positive (got {})", timed_wait),
        "e.g. 100ms; the 2012 bug hits waits under 1s");
  }
  if (cpu_slice < Duration::zero()) {
    bad(where, "cpu_slice", fmt::format("must be >= 0 (got {})", cpu_slice),
        "e.g. 3ms (a CFS slice), or 0 to run request work to completion");
  }
  if (clock) {
    try {
      clock->validate();
    } catch (const std::invalid_argument& e) {
      bad(where, "clock", e.what(), "fix the clock parameters");
    }
  }
  for (std::size_t i = 0; i < dependencies.size(); ++i) {
    const auto& d = dependencies[i];
    const std::string w = fmt::format("{}.dependencies[{}]", where, i);
    if (d.calls < 1 || d.calls > 1000) {
      bad(w, "calls", fmt::format("must be in [1, 1000] (got {})", d.calls),
          "calls per request served, usually 1");
    }
    d.policy.validate(w + ".policy");
  }
}

void ClientParams::validate(std::string_view where) const {
  if (name.empty()) {
    bad(where, "name", "is empty", "name every client population");
  }
  if (!(rate_per_s >= 0.0 && rate_per_s <= 1e7)) {
    bad(where, "rate_per_s", fmt::format("must be in [0, 1e7] (got {})", rate_per_s),
        "give the population's request rate per second");
  }
  if (!(rate_after_change >= 0.0 && rate_after_change <= 1e7)) {
    bad(where, "rate_after_change", fmt::format("must be in [0, 1e7] (got {})", rate_after_change),
        "give the rate after the step change");
  }
  if (processes < 1 || processes > 100'000) {
    bad(where, "processes", fmt::format("must be in [1, 100000] (got {})", processes),
        "use at least one client process");
  }
  if (arrival == Arrival::closed_loop && (sessions < 1 || sessions > 1'000'000)) {
    bad(where, "sessions", fmt::format("must be in [1, 1000000] (got {})", sessions),
        "give the number of concurrent request loops per process");
  }
  if (arrival == Arrival::closed_loop && think_time <= Duration::zero()) {
    bad(where, "think_time", fmt::format("must be positive (got {})", think_time),
        "give the mean pause between a session's requests, such as \"1s\"");
  }
  if (max_outstanding < 0) {
    bad(where, "max_outstanding", "must not be negative", "use 0 for unlimited");
  }
  if (fanout < 1) {
    bad(where, "fanout", fmt::format("must be >= 1 (got {})", fanout), "use 1 for no fan-out");
  }
  if (start < Duration::zero() || stop < Duration::zero() ||
      (stop > Duration::zero() && stop <= start)) {
    bad(where, "start/stop", fmt::format("need 0 <= start < stop (got {} and {})", start, stop),
        "use stop 0 to run until the end");
  }
  if (rate_change_at < Duration::zero()) {
    bad(where, "rate_change_at", "must not be negative", "use 0 for no rate change");
  }
  policy.validate(std::string(where) + ".policy");
  malformed.validate(std::string(where) + ".malformed");
  if (malformed.until > Duration::zero() && arrival != Arrival::closed_loop) {
    bad(where, "malformed", "applies to closed-loop sessions only",
        "use arrival \"closed_loop\" or drop malformed");
  }
}

void MalformedPayload::validate(std::string_view where) const {
  if (until == Duration::zero()) {
    return;
  }
  if (from < Duration::zero() || until <= from) {
    bad(where, "from/until", fmt::format("need 0 <= from < until (got {} and {})", from, until),
        "give the push time and the rollback time, or until 0 for none");
  }
  if (relaunch <= Duration::zero()) {
    bad(where, "relaunch", fmt::format("must be positive (got {})", relaunch),
        "give the time from a crash to the app's relaunch, such as \"2s\"");
  }
}

const TierParams* ServiceGraphParams::find_tier(std::string_view name) const {
  for (const auto& t : tiers) {
    if (t.name == name) {
      return &t;
    }
  }
  return nullptr;
}

void ServiceGraphParams::validate() const {
  if (tiers.empty()) {
    bad("services", "tiers", "is empty", "describe at least one service tier");
  }
  if (zones.empty()) {
    bad("services", "zones", "is empty", "name at least one zone");
  }
  if (sample_interval < Duration::zero()) {
    bad("services", "sample_interval", "must not be negative", "use \"1s\", or 0 for no series");
  }
  std::set<std::string, std::less<>> names;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const std::string w = fmt::format("tiers[{}]", i);
    tiers[i].validate(w);
    if (!names.insert(tiers[i].name).second) {
      bad(w, "name", fmt::format("\"{}\" is used twice", tiers[i].name), "give each tier its own name");
    }
  }
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    for (std::size_t j = 0; j < tiers[i].dependencies.size(); ++j) {
      const auto& d = tiers[i].dependencies[j];
      if (!find_tier(d.tier)) {
        bad(fmt::format("tiers[{}].dependencies[{}]", i, j), "tier",
            fmt::format("names no tier (\"{}\")", d.tier), "use the name of a tier in tiers");
      }
    }
  }
  // A dependency cycle would make a request call itself for ever.
  std::map<std::string, int, std::less<>> colour;
  std::function<void(const TierParams&)> visit = [&](const TierParams& t) {
    colour[t.name] = 1;
    for (const auto& d : t.dependencies) {
      const int c = colour[d.tier];
      if (c == 1) {
        bad("tiers", "dependencies",
            fmt::format("form a cycle through \"{}\" and \"{}\"", t.name, d.tier),
            "dependencies must form a directed acyclic graph");
      }
      if (c == 0) {
        visit(*find_tier(d.tier));
      }
    }
    colour[t.name] = 2;
  };
  for (const auto& t : tiers) {
    if (colour[t.name] == 0) {
      visit(t);
    }
  }
  std::set<std::string, std::less<>> client_names;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const std::string w = fmt::format("clients[{}]", i);
    clients[i].validate(w);
    if (!client_names.insert(clients[i].name).second) {
      bad(w, "name", fmt::format("\"{}\" is used twice", clients[i].name),
          "give each client population its own name");
    }
    const TierParams* target = find_tier(clients[i].target);
    if (!target) {
      bad(w, "target", fmt::format("names no tier (\"{}\")", clients[i].target),
          "use the name of a tier in tiers");
    }
    if (clients[i].fanout > target->instances) {
      bad(w, "fanout",
          fmt::format("is {} but tier \"{}\" has {} instances", clients[i].fanout, target->name,
                      target->instances),
          "fan out to at most as many instances as the tier has");
    }
  }
}

}  // namespace faultline::sim::services
