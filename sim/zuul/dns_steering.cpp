// DNS steering over the stack's regions: per family a weighted record with its resolver
// caches (sim/regions' DNS mechanism, shared with sim/regions and sim/elb), per region the
// edge's health check over the devices' attempts (with ELBs, per family: each family's name
// points at its own ELB and has its own check), failover of a family's weight off an
// unhealthy region, and Chaos Kong's gradual evacuation.
//
// Failover takes detection (checks x check_interval) + the TTL + resolver stickiness, as it
// does in sim/regions. With failback on, a health checker in the internet probes every
// region's Zuul each interval (a region DNS has left gets no device traffic to judge it by),
// and a region whose edge turns healthy again gets its families back. What a region does
// with a family homed elsewhere is Zuul's (zuul.cpp): serve it with its own API
// (active-active), or tunnel it to the home region's API (Isthmus).
#include "internal.hpp"

#include <faultline/probe.hpp>

#include <fmt/format.h>

namespace faultline::sim::zuul {

namespace {
const ProbePoint kProbeDnsFailover("zuul/dns/failover");
const ProbePoint kProbeDnsFailback("zuul/dns/failback");

using world::Node;
using world::Payload;

constexpr std::uint64_t kWeight = 1000;  // a record's total weight

const std::string& region_name(const EdgeStack::State& s, int r) {
  return s.regions[static_cast<std::size_t>(r)].params.name;
}

/// The health domain of a family: the region's edge (0), or with ELBs the family's own ELB.
std::size_t domain_of(const EdgeStack::State& s, std::size_t family) {
  return s.elb ? family : 0;
}

/// The families of `domain` leave the unhealthy `region`.
void fail_over(EdgeStack::State& s, std::size_t domain, int region) {
  auto& st = *s.steering;
  for (std::size_t f = 0; f < st.records.size(); ++f) {
    if (domain_of(s, f) != domain) {
      continue;
    }
    const int to = regions::failover_target(region, s.home[f], st.health[domain]);
    if (to < 0 || !regions::move_weight(st.records[f], region, to)) {
      continue;  // nowhere healthy to go, or no weight here
    }
    ++st.moves[f];
    FAULTLINE_PROBE(*s.sim, kProbeDnsFailover);
    s.sim->record("zuul", "dns-failover",
                  {{"node", "dns/" + s.p.families[f].name},
                   {"from", region_name(s, region)},
                   {"to", region_name(s, to)},
                   {"mode", std::string(to_string(s.p.multi_region.failover))},
                   {"ttl_s", s.p.multi_region.dns.ttl.to_seconds()}});
  }
}

/// Step `k` of `n` of a gradual failback of family `f` to `home`, from the weights `from` it had
/// when the failback began; nothing if its record moved since (`move`).
void failback_step(EdgeStack::State& s, std::size_t f, const std::vector<std::uint64_t>& from,
                   std::uint64_t k, std::uint64_t n, std::uint64_t move, int home) {
  auto& st = *s.steering;
  if (st.moves[f] != move) {
    return;  // a failover or a drill moved the family since
  }
  std::vector<std::uint64_t> w(from.size(), 0);
  std::uint64_t away = 0;
  for (std::size_t r = 0; r < from.size(); ++r) {
    if (static_cast<int>(r) != home) {
      w[r] = from[r] * (n - k) / n;
      away += w[r];
    }
  }
  w[static_cast<std::size_t>(home)] = kWeight - away;
  st.records[f].set_weights(std::move(w));
  s.sim->record("zuul", "failback-step",
                {{"node", "dns/" + s.p.families[f].name},
                 {"to", region_name(s, home)},
                 {"share_home", static_cast<double>(kWeight - away) / kWeight}});
}

/// The families of `domain` homed in `region` go back to it: their records answer it alone again.
void fail_back(EdgeStack::State& s, std::size_t domain, int region) {
  auto& st = *s.steering;
  for (std::size_t f = 0; f < st.records.size(); ++f) {
    if (s.home[f] != region || domain_of(s, f) != domain) {
      continue;
    }
    std::vector<std::uint64_t> w(s.regions.size(), 0);
    w[static_cast<std::size_t>(region)] = kWeight;
    if (w == st.records[f].weights()) {
      continue;  // never left
    }
    const auto& m = s.p.multi_region;
    FAULTLINE_PROBE(*s.sim, kProbeDnsFailback);
    if (m.failback_over <= Duration::zero()) {
      st.records[f].set_weights(std::move(w));
      s.sim->record("zuul", "dns-failback",
                    {{"node", "dns/" + s.p.families[f].name},
                     {"to", region_name(s, region)},
                     {"ttl_s", m.dns.ttl.to_seconds()}});
      continue;
    }
    s.sim->record("zuul", "dns-failback",
                  {{"node", "dns/" + s.p.families[f].name},
                   {"to", region_name(s, region)},
                   {"ttl_s", m.dns.ttl.to_seconds()},
                   {"over_s", m.failback_over.to_seconds()},
                   {"steps", m.failback_steps}});
    // Step k of n leaves (n - k) / n of every other region's weight where it is now, and the
    // rest at home.
    const auto from = st.records[f].weights();
    const auto move = ++st.moves[f];
    const auto n = static_cast<std::uint64_t>(m.failback_steps);
    for (std::uint64_t k = 1; k <= n; ++k) {
      EdgeStack::State* sp = &s;
      s.sim->schedule_after(m.failback_over * static_cast<std::int64_t>(k) /
                                static_cast<std::int64_t>(n),
                            [sp, f, from, k, n, move, region] {
                              failback_step(*sp, f, from, k, n, move, region);
                            });
    }
  }
}

/// Route 53's health checkers: each interval, `health_probes` requests to every region's edge
/// (round robin over its Zuul instances or, with ELBs, over each family's LB nodes there); one
/// not answered OK within `probe_timeout` is a failure.
class CheckerProgram final : public world::Program {
public:
  explicit CheckerProgram(EdgeStack::State& s)
      : s_(s), cursor_(s.steering->health.size() * s.regions.size(), 0) {}

  void start(Node& node) override { round(node); }

private:
  void round(Node& node) {
    const auto& m = s_.p.multi_region;
    const auto domains = s_.steering->health.size();
    for (std::size_t d = 0; d < domains; ++d) {
      for (std::size_t r = 0; r < s_.regions.size(); ++r) {
        // The domain's family (its ELB), or any family's edge: the region's Zuul instances.
        const auto& targets = edge_targets(s_, static_cast<int>(r), static_cast<int>(d));
        auto& cursor = cursor_[d * s_.regions.size() + r];
        for (int k = 0; k < m.health_probes; ++k) {
          const auto target = targets[cursor++ % targets.size()];
          node.call(target, Payload::make<HealthProbe>(), kProbeBytes, m.probe_timeout,
                    [this, d, r](world::RpcResult res) {
                      const bool ok =
                          res.ok() && res.payload.as<EdgeReply>().status == EdgeStatus::kOk;
                      edge_outcome(s_, static_cast<int>(r), static_cast<int>(d), !ok);
                    });
        }
      }
    }
    node.after(m.check_interval, [this, &node] { round(node); });
  }

  EdgeStack::State& s_;
  std::vector<std::size_t> cursor_;  // per domain and region
};

void health_check(EdgeStack::State& s) {
  auto& st = *s.steering;
  for (std::size_t d = 0; d < st.health.size(); ++d) {
    for (std::size_t r = 0; r < st.health[d].size(); ++r) {
      auto& h = st.health[d][r];
      if (!h.close_interval()) {
        continue;
      }
      // "edge/<region>", or with ELBs "edge/<region>/<family>".
      std::string node = "edge/" + region_name(s, static_cast<int>(r));
      if (s.elb) {
        node += "/" + s.p.families[d].name;
      }
      if (h.healthy()) {
        s.sim->record("zuul", "edge-healthy", {{"node", node}});
        if (s.p.multi_region.failback) {
          fail_back(s, d, static_cast<int>(r));
        }
        continue;
      }
      s.sim->record("zuul", "edge-unhealthy",
                    {{"node", node}, {"error_rate", h.last_error_rate()}});
      if (s.p.multi_region.failover != Failover::none) {
        fail_over(s, d, static_cast<int>(r));
      }
    }
  }
  s.sim->schedule_after(s.p.multi_region.check_interval, [&s] { health_check(s); });
}

void evacuation_step(EdgeStack::State& s, int from, int to, double share) {
  auto& st = *s.steering;
  for (std::size_t f = 0; f < st.records.size(); ++f) {
    if (s.home[f] != from) {
      continue;
    }
    st.records[f].set_weights(
        regions::evacuation_weights(s.regions.size(), from, to, share, kWeight));
    ++st.moves[f];
    s.sim->record("zuul", "evacuation-step",
                  {{"node", "dns/" + s.p.families[f].name},
                   {"from", region_name(s, from)},
                   {"to", region_name(s, to)},
                   {"share_moved", share}});
  }
}

}  // namespace

void start_steering(EdgeStack::State& s, const AddNode& add, world::ZoneId internet) {
  const auto& m = s.p.multi_region;
  s.steering = std::make_unique<Steering>();
  auto& st = *s.steering;
  for (std::size_t f = 0; f < s.p.families.size(); ++f) {
    std::vector<std::uint64_t> w(s.regions.size(), 0);
    w[static_cast<std::size_t>(s.home[f])] = kWeight;
    st.records.emplace_back(s.p.families[f].name, std::move(w));
    st.resolvers.emplace_back(m.dns, s.sim->rng("zuul/dns/" + s.p.families[f].name));
    st.resolvers.back().prime(s.sim->now(), st.records.back());
  }
  st.moves.assign(s.p.families.size(), 0);
  st.health.resize(s.elb ? s.p.families.size() : 1);
  for (auto& domain : st.health) {
    for (std::size_t r = 0; r < s.regions.size(); ++r) {
      domain.emplace_back(m.error_threshold, m.checks);
    }
  }
  EdgeStack::State* sp = &s;
  s.sim->schedule_after(m.check_interval, [sp] { health_check(*sp); });
  if (m.failback) {
    add(internet, 0, 4, "health-checker", "health-checker",
        [sp](Node&) -> std::unique_ptr<world::Program> {
          return std::make_unique<CheckerProgram>(*sp);
        });
  }
  const auto& ev = m.evacuation;
  if (ev.enabled) {
    const int from = s.p.region_index(ev.region);
    const int to = s.p.region_index(ev.to);
    for (const auto& step : ev.schedule()) {
      s.sim->schedule_at(Time::zero() + step.when, [sp, from, to, share = step.share] {
        evacuation_step(*sp, from, to, share);
      });
    }
  }
}

int resolve_region(EdgeStack::State& s, int family) {
  if (!s.steering) {
    return 0;
  }
  const auto f = static_cast<std::size_t>(family);
  return s.steering->resolvers[f].resolve(s.sim->now(), s.steering->records[f]);
}

void edge_outcome(EdgeStack::State& s, int region, int family, bool failed) {
  if (!s.steering) {
    return;
  }
  auto& h = s.steering->health[domain_of(s, static_cast<std::size_t>(family))]
                              [static_cast<std::size_t>(region)];
  h.sent();
  if (failed) {
    h.failed();
  }
}

}  // namespace faultline::sim::zuul
