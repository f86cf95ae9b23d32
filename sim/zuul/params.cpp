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

std::string_view to_string(Failover f) {
  switch (f) {
    case Failover::none:
      return "none";
    case Failover::active_active:
      return "active_active";
    case Failover::isthmus:
      return "isthmus";
  }
  return "none";
}
std::optional<Failover> parse_failover(std::string_view text) {
  for (const auto f : {Failover::none, Failover::active_active, Failover::isthmus}) {
    if (text == to_string(f)) {
      return f;
    }
  }
  return std::nullopt;
}

std::vector<RegionParams> StackParams::region_list() const {
  return multi_region.regions.empty() ? std::vector<RegionParams>{RegionParams{}}
                                      : multi_region.regions;
}

int StackParams::region_index(std::string_view name) const {
  if (multi_region.regions.empty()) {
    return name == RegionParams{}.name ? 0 : -1;  // the one default region
  }
  for (std::size_t i = 0; i < multi_region.regions.size(); ++i) {
    if (multi_region.regions[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

int StackParams::home_of(const FamilyParams& f) const {
  return f.home.empty() ? 0 : region_index(f.home);
}

namespace {

void validate_multi_region(const StackParams& p) {
  const auto& m = p.multi_region;
  std::set<std::string> names, zones;
  std::string list;
  for (std::size_t i = 0; i < m.regions.size(); ++i) {
    const auto& r = m.regions[i];
    const auto where = fmt::format("multi_region.regions[{}]", i);
    require(!r.name.empty() && r.name.find_first_of("@/: ") == std::string::npos,
            where + ".name", fmt::format("\"{}\" is not a region name", r.name),
            "use a name without '@', '/', ':' or spaces, e.g. \"us-west\"");
    require(r.name != "internet", where + ".name", "\"internet\" is where the devices are",
            "name the region after its place, e.g. \"us-west\"");
    require(names.insert(r.name).second, where + ".name",
            fmt::format("\"{}\" is used twice", r.name), "give each region its own name");
    require(r.zones.size() == 3, where + ".zones", fmt::format("has {} zones", r.zones.size()),
            "give three zone names (the stack runs in three zones per region)");
    for (const auto& z : r.zones) {
      require(!z.empty() && zones.insert(z).second, where + ".zones",
              fmt::format("zone \"{}\" is empty or used twice", z),
              "give every zone of every region its own name");
    }
    list += (list.empty() ? "" : ", ") + r.name;
  }
  if (list.empty()) {
    list = "us-east";
  }
  m.dns.validate("multi_region.dns");
  positive(m.check_interval, "multi_region.check_interval");
  require(m.error_threshold > 0 && m.error_threshold <= 1, "multi_region.error_threshold",
          fmt::format("is {}", m.error_threshold), "use a share in (0, 1], e.g. 0.25");
  require(m.checks >= 1 && m.checks <= 100, "multi_region.checks", fmt::format("is {}", m.checks),
          "use 1 to 100 (Route 53's failure threshold: 3)");
  for (std::size_t i = 0; i < p.families.size(); ++i) {
    const auto& f = p.families[i];
    require(f.home.empty() || p.region_index(f.home) >= 0, fmt::format("families[{}].home", i),
            fmt::format("\"{}\" is not a region", f.home), "name one of: " + list);
  }
  const auto& e = m.evacuation;
  if (e.enabled) {
    require(m.regions.size() >= 2, "multi_region.evacuation", "needs two regions or more",
            "list the regions in multi_region.regions");
    require(p.region_index(e.region) >= 0, "multi_region.evacuation.region",
            fmt::format("\"{}\" is not a region", e.region), "name one of: " + list);
    require(p.region_index(e.to) >= 0 && e.to != e.region, "multi_region.evacuation.to",
            fmt::format("\"{}\" is not another region", e.to), "name one of: " + list);
    nested("multi_region", [&] { e.validate(); });
  }
  if (m.failback) {
    require(m.regions.size() >= 2, "multi_region.failback", "needs two regions or more",
            "list the regions in multi_region.regions, or leave failback off");
    require(m.health_probes >= 1 && m.health_probes <= 1000, "multi_region.health_probes",
            fmt::format("is {}", m.health_probes), "use 1 to 1000 per region and interval");
    positive(m.probe_timeout, "multi_region.probe_timeout");
    require(m.failback_over >= Duration::zero(), "multi_region.failback_over", "is negative",
            "use e.g. \"10m\", or 0s to move a family home in one step");
    require(m.failback_steps >= 1 && m.failback_steps <= 1000, "multi_region.failback_steps",
            fmt::format("is {}", m.failback_steps), "use 1 to 1000 steps");
  }
  const auto& cr = m.cache_replication;
  if (cr.enabled) {
    require(m.regions.size() >= 2, "multi_region.cache_replication", "needs two regions or more",
            "list the regions in multi_region.regions, or leave replication off");
    require(cr.lag_base >= Duration::zero(), "multi_region.cache_replication.lag_base",
            "is negative", "use e.g. \"50ms\"");
    require(cr.lag_mean >= Duration::zero(), "multi_region.cache_replication.lag_mean",
            "is negative", "use e.g. \"100ms\"");
  }
}

void validate_elb(const StackParams& p) {
  const auto& e = p.elb;
  if (!e.enabled) {
    return;
  }
  require(e.nodes >= 1 && e.nodes <= 100, "elb.nodes", fmt::format("is {}", e.nodes),
          "use 1 to 100 LB nodes per family ELB");
  positive(e.touch_mean, "elb.touch_mean");
  nested("elb", [&] { e.control_plane.validate(); });
  const auto& l = e.state_loss;
  if (l.at == Duration::zero()) {
    return;
  }
  require(l.at > Duration::zero(), "elb.state_loss.at", "is negative", "use e.g. \"24m\"");
  require(l.region.empty() || p.region_index(l.region) >= 0, "elb.state_loss.region",
          fmt::format("\"{}\" is not a region", l.region),
          "name one of multi_region.regions[].name, or leave it empty for the first");
  require(!l.families.empty(), "elb.state_loss.families", "is empty",
          "name the families whose ELB state is deleted, e.g. [\"tv\"]");
  for (std::size_t i = 0; i < l.families.size(); ++i) {
    bool known = false;
    for (const auto& f : p.families) {
      known = known || f.name == l.families[i];
    }
    require(known, fmt::format("elb.state_loss.families[{}]", i),
            fmt::format("\"{}\" is not a family", l.families[i]), "name one of families[].name");
  }
  require(l.workflows_disabled_at == Duration::zero() || l.workflows_disabled_at >= l.at,
          "elb.state_loss.workflows_disabled_at", "is before the deletion",
          "disable the workflows after elb.state_loss.at, or 0s for never");
  require(l.restored_at == Duration::zero() || l.restored_at >= l.at, "elb.state_loss.restored_at",
          "is before the deletion", "restore after elb.state_loss.at, or 0s for never");
}

}  // namespace

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
  validate_multi_region(*this);
  validate_elb(*this);
}

}  // namespace faultline::sim::zuul
