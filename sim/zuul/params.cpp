#include <faultline/sim/zuul/params.hpp>

#include <fmt/format.h>

#include <set>
#include <stdexcept>

namespace faultline::sim::zuul {

namespace {

void require(bool ok, const std::string& field, std::string_view problem, std::string_view fix) {
  if (!ok) {
    throw std::invalid_argument(fmt::format("{}: {}; {}", field, problem, fix));
  }
}
void positive(Duration d, const std::string& field) {
  require(d > Duration::zero(), field, "must be positive", "use e.g. \"1s\"");
}
/// Re-throws a nested params error with `prefix.` in front of its field.
template <typename F>
void nested(const std::string& prefix, F&& check) {
  try {
    check();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(prefix + "." + e.what());
  }
}

}  // namespace

std::string_view to_string(Mode m) {
  return m == Mode::thread_per_request ? "thread_per_request" : "event_loop";
}
std::optional<Mode> parse_mode(std::string_view text) {
  if (text == "thread_per_request") {
    return Mode::thread_per_request;
  }
  if (text == "event_loop") {
    return Mode::event_loop;
  }
  return std::nullopt;
}

void ZuulParams::validate() const {
  require(instances >= 1 && instances <= 10000, "zuul.instances", fmt::format("is {}", instances),
          "use 1 to 10000");
  require(cores >= 1 && cores <= 256, "zuul.cores", fmt::format("is {}", cores), "use 1 to 256");
  require(filter_cpu >= Duration::zero(), "zuul.filter_cpu", "is negative", "use e.g. \"200us\"");
  require(threads >= 1, "zuul.threads", fmt::format("is {}", threads),
          "use at least 1 (Tomcat's default maxThreads: 200)");
  require(accept_queue >= 0, "zuul.accept_queue", "is negative", "use 0 or more (Tomcat: 100)");
  require(thread_memory_bytes >= 0 && connection_memory_bytes >= 0, "zuul.thread_memory_bytes",
          "or connection_memory_bytes is negative", "use byte counts >= 0");
  require(max_connections >= 1, "zuul.max_connections", fmt::format("is {}", max_connections),
          "use at least 1");
  require(origin_max_concurrency >= 0, "zuul.origin_max_concurrency", "is negative",
          "use 0 (no limit) or more");
  positive(origin_timeout, "zuul.origin_timeout");
  nested("zuul", [&] { retry.validate(); });
  nested("zuul", [&] { retry_budget.validate(); });
  positive(eject_for, "zuul.eject_for");
  std::set<std::string> routed;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& r = routes[i];
    require(routed.insert(r.family).second, fmt::format("zuul.routes[{}].family", i),
            fmt::format("\"{}\" is routed twice", r.family), "give each family one route");
  }
  std::set<std::string> throttled;
  for (std::size_t i = 0; i < throttles.size(); ++i) {
    const auto& t = throttles[i];
    const auto where = fmt::format("zuul.throttles[{}]", i);
    require(throttled.insert(t.family).second, where + ".family",
            fmt::format("\"{}\" is throttled twice", t.family), "give each family one throttle");
    require(t.rate_per_s > 0, where + ".rate_per_s", "must be positive", "use e.g. 100");
    require(t.burst >= 1, where + ".burst", "must be at least 1", "use e.g. 20");
  }
  for (std::size_t i = 0; i < route_changes.size(); ++i) {
    require(route_changes[i].at >= Duration::zero(), fmt::format("zuul.route_changes[{}].at", i),
            "is negative", "give a time from the start of the run");
  }
}

const TierParams* StackParams::find_tier(std::string_view name) const {
  for (const auto& t : tiers) {
    if (t.name == name) {
      return &t;
    }
  }
  return nullptr;
}

void StackParams::validate() const {
  zuul.validate();
  nested("evcache", [&] { evcache.validate(); });
  require(evcache.zones == 3, "evcache.zones", fmt::format("is {}", evcache.zones),
          "the stack runs in three zones; use 3");
  require(!tiers.empty(), "tiers", "is empty", "give at least one origin tier (the API)");
  require(!families.empty(), "families", "is empty", "give at least one device family");
  std::set<std::string> names;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const auto& t = tiers[i];
    const auto where = fmt::format("tiers[{}]", i);
    require(!t.name.empty(), where + ".name", "is empty", "name the tier, e.g. \"api\"");
    require(names.insert(t.name).second, where + ".name",
            fmt::format("\"{}\" is used twice", t.name), "give each tier its own name");
    require(t.instances >= 1 && t.instances <= 10000, where + ".instances",
            fmt::format("is {}", t.instances), "use 1 to 10000");
    require(t.cores >= 1 && t.cores <= 256, where + ".cores", fmt::format("is {}", t.cores),
            "use 1 to 256");
    require(t.cpu >= Duration::zero(), where + ".cpu", "is negative", "use e.g. \"2ms\"");
    require(t.max_in_flight >= 1, where + ".max_in_flight", "must be at least 1", "use e.g. 200");
    require(t.cache_reads >= 0 && t.cache_reads <= 100, where + ".cache_reads",
            fmt::format("is {}", t.cache_reads), "use 0 to 100");
    for (std::size_t j = 0; j < t.calls.size(); ++j) {
      const auto& c = t.calls[j];
      const auto cw = fmt::format("{}.calls[{}]", where, j);
      // Calls may only go to tiers listed after this one: the graph has no cycle.
      bool later = false;
      for (std::size_t k = i + 1; k < tiers.size(); ++k) {
        later = later || tiers[k].name == c.tier;
      }
      require(later, cw + ".tier", fmt::format("\"{}\" is not a tier listed after \"{}\"", c.tier,
                                               t.name),
              "list called tiers after their callers (no cycles)");
      positive(c.timeout, cw + ".timeout");
      require(c.max_attempts >= 1 && c.max_attempts <= 10, cw + ".max_attempts",
              fmt::format("is {}", c.max_attempts), "use 1 to 10");
    }
  }
  std::set<std::string> fams;
  for (std::size_t i = 0; i < families.size(); ++i) {
    const auto& f = families[i];
    const auto where = fmt::format("families[{}]", i);
    require(!f.name.empty(), where + ".name", "is empty", "name the family, e.g. \"tv\"");
    require(fams.insert(f.name).second, where + ".name",
            fmt::format("\"{}\" is used twice", f.name), "give each family its own name");
    require(f.rate_per_s > 0 && f.rate_per_s <= 1e6, where + ".rate_per_s",
            fmt::format("is {}", f.rate_per_s), "use a rate in (0, 1e6]");
    require(f.rate_after >= 0 && f.rate_after <= 1e6, where + ".rate_after",
            fmt::format("is {}", f.rate_after), "use a rate in [0, 1e6]");
    positive(f.timeout, where + ".timeout");
    require(f.max_attempts >= 1 && f.max_attempts <= 10, where + ".max_attempts",
            fmt::format("is {}", f.max_attempts), "use 1 to 10");
    positive(f.edge_eject_for, where + ".edge_eject_for");
    bool routed = false;
    for (const auto& r : zuul.routes) {
      routed = routed || r.family == f.name;
    }
    require(routed, where + ".name", fmt::format("\"{}\" has no route in zuul.routes", f.name),
            "add {\"family\": \"" + f.name + "\", \"origin\": \"<tier>\"} to zuul.routes");
  }
  auto check_route = [&](const RouteParams& r, const std::string& where) {
    require(fams.count(r.family) != 0, where + ".family",
            fmt::format("\"{}\" is not a family", r.family), "name one of families[].name");
    require(find_tier(r.origin) != nullptr, where + ".origin",
            fmt::format("\"{}\" is not a tier", r.origin), "name one of tiers[].name");
    require(r.failover_origin.empty() || find_tier(r.failover_origin) != nullptr,
            where + ".failover_origin", fmt::format("\"{}\" is not a tier", r.failover_origin),
            "name one of tiers[].name, or leave it empty");
  };
  for (std::size_t i = 0; i < zuul.routes.size(); ++i) {
    check_route(zuul.routes[i], fmt::format("zuul.routes[{}]", i));
  }
  for (std::size_t i = 0; i < zuul.route_changes.size(); ++i) {
    check_route(zuul.route_changes[i].route, fmt::format("zuul.route_changes[{}]", i));
  }
  for (std::size_t i = 0; i < zuul.throttles.size(); ++i) {
    require(fams.count(zuul.throttles[i].family) != 0,
            fmt::format("zuul.throttles[{}].family", i),
            fmt::format("\"{}\" is not a family", zuul.throttles[i].family),
            "name one of families[].name");
  }
  if (chaos_monkey_enabled) {
    chaos_monkey.validate();  // its messages name "chaos_monkey.<field>" already
  }
}

}  // namespace faultline::sim::zuul
