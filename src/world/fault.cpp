#include <faultline/world/fault.hpp>
#include <faultline/world/world.hpp>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace faultline::world {

namespace {

constexpr std::int64_t kDayNs = 86'400'000'000'000;

[[noreturn]] void bad(std::string_view field, std::string_view problem, std::string_view fix) {
  throw std::invalid_argument(fmt::format("{}: {}; {}", field, problem, fix));
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    --q;
  }
  return q;
}

constexpr FaultKind kAllKinds[] = {
    FaultKind::kCrash,      FaultKind::kRestart,    FaultKind::kPause,     FaultKind::kResume,
    FaultKind::kPartition,  FaultKind::kHeal,       FaultKind::kClog,      FaultKind::kUnclog,
    FaultKind::kLatency,    FaultKind::kPacketLoss, FaultKind::kClockJump, FaultKind::kClockSet,
    FaultKind::kClockDrift, FaultKind::kDiskFaults, FaultKind::kCpuStall};

bool is_link_fault(FaultKind k) {
  return k == FaultKind::kPartition || k == FaultKind::kClog || k == FaultKind::kLatency ||
         k == FaultKind::kPacketLoss;
}

}  // namespace

std::string_view to_string(FaultKind k) {
  switch (k) {
    case FaultKind::kCrash: return "crash";
    case FaultKind::kRestart: return "restart";
    case FaultKind::kPause: return "pause";
    case FaultKind::kResume: return "resume";
    case FaultKind::kPartition: return "partition";
    case FaultKind::kHeal: return "heal";
    case FaultKind::kClog: return "clog";
    case FaultKind::kUnclog: return "unclog";
    case FaultKind::kLatency: return "latency";
    case FaultKind::kPacketLoss: return "packet-loss";
    case FaultKind::kClockJump: return "clock-jump";
    case FaultKind::kClockSet: return "clock-set";
    case FaultKind::kClockDrift: return "clock-drift";
    case FaultKind::kDiskFaults: return "disk-faults";
    case FaultKind::kCpuStall: return "cpu-stall";
  }
  return "unknown";
}

std::optional<FaultKind> parse_fault_kind(std::string_view text) {
  for (FaultKind k : kAllKinds) {
    if (to_string(k) == text) {
      return k;
    }
  }
  return std::nullopt;
}

std::string_view to_string(TargetKind k) {
  switch (k) {
    case TargetKind::kNode: return "node";
    case TargetKind::kGroup: return "group";
    case TargetKind::kHost: return "host";
    case TargetKind::kZone: return "zone";
    case TargetKind::kRegion: return "region";
    case TargetKind::kAll: return "all";
  }
  return "unknown";
}

std::optional<TargetKind> parse_target_kind(std::string_view text) {
  for (TargetKind k : {TargetKind::kNode, TargetKind::kGroup, TargetKind::kHost, TargetKind::kZone,
                       TargetKind::kRegion, TargetKind::kAll}) {
    if (to_string(k) == text) {
      return k;
    }
  }
  return std::nullopt;
}

std::string Target::to_string() const {
  if (kind == TargetKind::kAll) {
    return "all";
  }
  return fmt::format("{}:{}", world::to_string(kind), name);
}

void FaultSpec::validate() const {
  if (at < Duration::zero()) {
    bad("fault.at", "is negative", "give a time since the start, e.g. 10s");
  }
  if (duration < Duration::zero()) {
    bad("fault.duration", "is negative", "give 0 (until undone) or a positive duration");
  }
  if (target.kind != TargetKind::kAll && target.name.empty()) {
    bad("fault.target.name", fmt::format("is empty for a {} target", world::to_string(target.kind)),
        "name the target, or use kind 'all'");
  }
  if (peer.kind != TargetKind::kAll && peer.name.empty()) {
    bad("fault.peer.name", "is empty", "name the peer, or use kind 'all' (everyone else)");
  }
  if (kind == FaultKind::kLatency && amount <= Duration::zero()) {
    bad("fault.amount", "must be positive for a latency fault", "give the added delay, e.g. 500ms");
  }
  if (kind == FaultKind::kCpuStall && amount <= Duration::zero()) {
    bad("fault.amount", "must be positive for a cpu-stall", "give the stall length, e.g. 2s");
  }
  ratio.validate("fault.ratio");
  torn.validate("fault.torn");
  if (kind == FaultKind::kPacketLoss && ratio.is_zero()) {
    bad("fault.ratio", "is zero for a packet-loss fault", "give e.g. 1/10");
  }
}

bool BusinessHours::contains(UtcInstant t) const {
  const std::int64_t local = t.unix_ns() + utc_offset.ns();
  const std::int64_t day = floor_div(local, kDayNs);
  const std::int64_t weekday = ((day + 4) % 7 + 7) % 7;  // 1970-01-01 was a Thursday; 0 = Sunday
  if (weekdays_only && (weekday == 0 || weekday == 6)) {
    return false;
  }
  const std::int64_t hour = (local - day * kDayNs) / 3'600'000'000'000;
  return hour >= start_hour && hour < end_hour;
}

void BusinessHours::validate(std::string_view field) const {
  if (start_hour < 0 || end_hour > 24 || start_hour >= end_hour) {
    bad(field, fmt::format("hours {}..{} are not a window within a day", start_hour, end_hour),
        "give 0 <= start_hour < end_hour <= 24, e.g. 9 and 17");
  }
  if (utc_offset < -Duration::hours(14) || utc_offset > Duration::hours(14)) {
    bad(field, "utc_offset is beyond ±14 h", "give a time-zone offset such as -8h");
  }
}

void RandomFaultSpec::validate() const {
  if (mean_interval <= Duration::zero()) {
    bad("random_fault.mean_interval", "must be positive", "give e.g. 1h");
  }
  if (end <= start) {
    bad("random_fault.end", "is not after start", "give end > start");
  }
  if (pick == TargetKind::kAll || pick == TargetKind::kGroup) {
    bad("random_fault.pick", "must be node, host, zone or region", "pick one victim kind");
  }
  FaultSpec s = shape;
  s.kind = kind;
  s.target = scope;
  s.validate();
  if (hours) {
    hours->validate("random_fault.hours");
  }
}

void ChaosMonkeyParams::validate() const {
  if (groups.empty()) {
    bad("chaos_monkey.groups", "is empty", "list the node groups Chaos Monkey may terminate in");
  }
  if (!(mean_workdays >= 1.0)) {
    bad("chaos_monkey.mean_workdays", fmt::format("is {}", mean_workdays),
        "give at least 1 (one kill per work day at most); Netflix's default is 2");
  }
  if (min_between < Duration::zero() || restart_after < Duration::zero()) {
    bad("chaos_monkey.min_between", "or restart_after is negative", "give durations >= 0");
  }
  if (end <= start) {
    bad("chaos_monkey.end", "is not after start", "give end > start");
  }
  hours.validate("chaos_monkey.hours");
}

void LatencyMonkeyParams::validate() const {
  if (group.empty()) {
    bad("latency_monkey.group", "is empty", "name the node group whose links get slower");
  }
  if (delay <= Duration::zero() || duration < Duration::zero() || at < Duration::zero()) {
    bad("latency_monkey.delay", "must be positive (and at, duration >= 0)", "give e.g. 1s");
  }
}

void ChaosKongParams::validate() const {
  if (region.empty()) {
    bad("chaos_kong.region", "is empty", "name the region to take down");
  }
  if (duration < Duration::zero() || at < Duration::zero()) {
    bad("chaos_kong.duration", "or at is negative", "give durations >= 0");
  }
}

// --- FaultInjector --------------------------------------------------------------------------

FaultInjector::FaultInjector(World& world) : world_(&world) {}

FaultInjector::~FaultInjector() {
  for (EventId e : events_) {
    world_->sim().cancel(e);
  }
}

void FaultInjector::track(EventId e) {
  if (events_.size() >= 256) {
    std::erase_if(events_, [this](EventId x) { return !world_->sim().is_pending(x); });
  }
  events_.push_back(e);
}

std::uint64_t FaultInjector::fired_count(FaultKind k) const {
  auto it = counts_.find(k);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<HostId> FaultInjector::resolve_hosts(const Target& t) const {
  const Topology& topo = world_->topology();
  std::vector<HostId> out;
  auto unknown = [&t]() {
    bad("fault target", fmt::format("'{}' names nothing in this world", t.to_string()),
        "check the spelling, or add it to the topology first");
  };
  switch (t.kind) {
    case TargetKind::kNode:
    case TargetKind::kGroup: {
      for (NodeId n : resolve_nodes(t)) {
        out.push_back(world_->node(n).host().id());
      }
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    }
    case TargetKind::kHost: {
      auto h = topo.find_host(t.name);
      if (!h) {
        unknown();
      }
      return {*h};
    }
    case TargetKind::kZone: {
      auto z = topo.find_zone(t.name);
      if (!z) {
        unknown();
      }
      return topo.hosts_in(*z);
    }
    case TargetKind::kRegion: {
      auto r = topo.find_region(t.name);
      if (!r) {
        unknown();
      }
      return topo.hosts_in(*r);
    }
    case TargetKind::kAll:
      for (std::uint32_t i = 0; i < world_->host_count(); ++i) {
        out.push_back(HostId{i});
      }
      return out;
  }
  return out;
}

std::vector<NodeId> FaultInjector::resolve_nodes(const Target& t) const {
  std::vector<NodeId> out;
  switch (t.kind) {
    case TargetKind::kNode: {
      Node* n = world_->find_node(t.name);
      if (n == nullptr) {
        bad("fault target", fmt::format("'{}' names no node", t.to_string()),
            "check the node name");
      }
      return {n->id()};
    }
    case TargetKind::kGroup:
      out = world_->group(t.name);
      if (out.empty()) {
        bad("fault target", fmt::format("'{}' names an empty or unknown group", t.to_string()),
            "check the group name given to World::add_node");
      }
      return out;
    case TargetKind::kAll:
      for (std::uint32_t i = 0; i < world_->node_count(); ++i) {
        out.push_back(NodeId{i});
      }
      return out;
    default:
      for (HostId h : resolve_hosts(t)) {
        for (Node* n : world_->host(h).nodes()) {
          out.push_back(n->id());
        }
      }
      return out;
  }
}

void FaultInjector::note(FaultKind kind, const Target& target, std::string_view origin) {
  Simulation& sim = world_->sim();
  const std::string who = target.to_string();
  fired_.push_back(FiredFault{sim.now(), kind, who, std::string(origin)});
  ++counts_[kind];
  sim.metrics().counter("faults.fired").inc();
  sim.metrics().counter(fmt::format("faults.fired/{}", to_string(kind))).inc();
  // Per kind and target, for the run's fault coverage (RunResult::faults_fired); an undo
  // (restart, heal, latency back to normal) is the end of a fault, not another one.
  if (origin != "undo") {
    sim.metrics().counter(fmt::format("faults.target/{} {}", to_string(kind), who)).inc();
  }
  sim.record("fault", to_string(kind), {{"target", who}, {"origin", origin}});
}

void FaultInjector::schedule(FaultSpec spec) { schedule_as(std::move(spec), "scheduled"); }

void FaultInjector::schedule(std::span<const FaultSpec> specs) {
  for (const auto& s : specs) {
    schedule(s);
  }
}

void FaultInjector::schedule_as(FaultSpec spec, std::string origin) {
  spec.validate();
  // Resolve now so that a misspelt name fails when the scenario is loaded, not mid-run.
  (void)resolve_hosts(spec.target);
  if (is_link_fault(spec.kind)) {
    (void)resolve_hosts(spec.peer);
  }
  Simulation& sim = world_->sim();
  const Time at = Time::zero() + spec.at;
  if (at < sim.now()) {
    bad("fault.at", fmt::format("{} is in the past (now is {})", spec.at, sim.now()),
        "schedule faults at or after the current time");
  }
  track(sim.schedule_at(at, [this, spec = std::move(spec), origin = std::move(origin)] {
    fire(spec, origin);
  }));
}

void FaultInjector::after(Duration d, std::function<void()> fn) {
  track(world_->sim().schedule_after(d, std::move(fn)));
}

void FaultInjector::fire(const FaultSpec& spec, std::string_view origin) {
  Simulation& sim = world_->sim();
  const bool host_level = spec.target.kind == TargetKind::kHost ||
                          spec.target.kind == TargetKind::kZone ||
                          spec.target.kind == TargetKind::kRegion ||
                          spec.target.kind == TargetKind::kAll;
  const Target target = spec.target;
  note(spec.kind, target, origin);
  switch (spec.kind) {
    case FaultKind::kCrash:
    case FaultKind::kRestart:
    case FaultKind::kPause:
    case FaultKind::kResume: {
      const FaultKind k = spec.kind;
      if (host_level) {
        for (HostId h : resolve_hosts(target)) {
          Host& host = world_->host(h);
          if (k == FaultKind::kCrash) {
            host.crash();
          } else if (k == FaultKind::kRestart) {
            host.restart();
          } else if (k == FaultKind::kPause) {
            host.pause();
          } else {
            host.resume();
          }
        }
      } else {
        for (NodeId n : resolve_nodes(target)) {
          Node& node = world_->node(n);
          if (k == FaultKind::kCrash) {
            node.crash();
          } else if (k == FaultKind::kRestart) {
            node.restart();
          } else if (k == FaultKind::kPause) {
            node.pause();
          } else {
            node.resume();
          }
        }
      }
      if (spec.duration > Duration::zero() &&
          (k == FaultKind::kCrash || k == FaultKind::kPause)) {
        FaultSpec undo = spec;
        undo.kind = k == FaultKind::kCrash ? FaultKind::kRestart : FaultKind::kResume;
        undo.duration = Duration::zero();
        after(spec.duration, [this, undo] { fire(undo, "undo"); });
      }
      return;
    }
    case FaultKind::kPartition:
    case FaultKind::kClog:
    case FaultKind::kLatency:
    case FaultKind::kPacketLoss: {
      LinkRule rule;
      rule.from = resolve_hosts(target);
      if (spec.peer.kind == TargetKind::kAll) {
        std::vector<std::uint8_t> in(world_->host_count(), 0);
        for (HostId h : rule.from) {
          in[h.value()] = 1;
        }
        for (std::uint32_t i = 0; i < world_->host_count(); ++i) {
          if (in[i] == 0) {
            rule.to.push_back(HostId{i});
          }
        }
      } else {
        rule.to = resolve_hosts(spec.peer);
      }
      rule.both_ways = !spec.one_way;
      rule.effect = spec.kind == FaultKind::kPartition ? LinkEffect::kBlock
                    : spec.kind == FaultKind::kClog    ? LinkEffect::kHold
                    : spec.kind == FaultKind::kLatency ? LinkEffect::kDelay
                                                       : LinkEffect::kLoss;
      rule.delay = spec.amount;
      rule.ratio = spec.ratio;
      rule.hits_in_flight =
          spec.hits_in_flight.value_or(world_->network().params().faults_hit_in_flight);
      const RuleId id = world_->network().rules().add(std::move(rule));
      if (spec.duration > Duration::zero()) {
        const FaultKind undo_kind =
            spec.kind == FaultKind::kPartition ? FaultKind::kHeal
            : spec.kind == FaultKind::kClog    ? FaultKind::kUnclog
                                               : spec.kind;
        after(spec.duration, [this, id, target, undo_kind] {
          if (world_->network().rules().remove(id)) {
            note(undo_kind, target, "undo");
          }
        });
      }
      return;
    }
    case FaultKind::kHeal:
      world_->network().rules().remove_all(LinkEffect::kBlock);
      return;
    case FaultKind::kUnclog:
      world_->network().rules().remove_all(LinkEffect::kHold);
      return;
    case FaultKind::kClockJump:
      for (HostId h : resolve_hosts(target)) {
        world_->host(h).clock().jump(spec.amount);
      }
      return;
    case FaultKind::kClockSet:
      for (HostId h : resolve_hosts(target)) {
        world_->host(h).clock().set_time(world_->true_utc(sim.now()) + spec.amount);
      }
      return;
    case FaultKind::kClockDrift: {
      std::vector<std::pair<HostId, double>> before;
      for (HostId h : resolve_hosts(target)) {
        Clock& c = world_->host(h).clock();
        before.emplace_back(h, c.params().drift_ppm);
        c.set_drift_ppm(spec.ppm);
      }
      if (spec.duration > Duration::zero()) {
        after(spec.duration, [this, before, target] {
          for (const auto& [h, ppm] : before) {
            world_->host(h).clock().set_drift_ppm(ppm);
          }
          note(FaultKind::kClockDrift, target, "undo");
        });
      }
      return;
    }
    case FaultKind::kDiskFaults: {
      std::vector<std::pair<HostId, std::pair<Ratio, Ratio>>> before;
      for (HostId h : resolve_hosts(target)) {
        Disk& d = world_->host(h).disk();
        before.push_back({h, {d.params().io_error, d.params().torn_write}});
        d.set_faults(spec.ratio, spec.torn);
      }
      if (spec.duration > Duration::zero()) {
        after(spec.duration, [this, before, target] {
          for (const auto& [h, r] : before) {
            world_->host(h).disk().set_faults(r.first, r.second);
          }
          note(FaultKind::kDiskFaults, target, "undo");
        });
      }
      return;
    }
    case FaultKind::kCpuStall:
      for (HostId h : resolve_hosts(target)) {
        world_->host(h).cpu().stall(spec.amount);
      }
      return;
  }
}

// --- random faults --------------------------------------------------------------------------

void FaultInjector::add_random(RandomFaultSpec spec) {
  spec.validate();
  (void)resolve_hosts(spec.scope);
  const std::size_t index = random_.size();
  random_.push_back(std::move(spec));
  random_rng_.push_back(world_->sim().rng(fmt::format("faults/random/{}", index)));
  const RandomFaultSpec& s = random_[index];
  const Time first = std::max(world_->sim().now(), Time::zero() + s.start);
  const auto gap = Duration::from_seconds(random_rng_[index].exponential(s.mean_interval.to_seconds()));
  track(world_->sim().schedule_at(first + gap, [this, index] { random_next(index); }));
}

void FaultInjector::random_next(std::size_t index) {
  Simulation& sim = world_->sim();
  const RandomFaultSpec& s = random_[index];
  Rng& rng = random_rng_[index];
  if (sim.now() >= Time::zero() + s.end) {
    return;
  }
  if (!s.hours || s.hours->contains(sim.utc(sim.now()))) {
    FaultSpec f = s.shape;
    f.kind = s.kind;
    f.at = sim.now().since_start();
    if (s.pick == TargetKind::kNode) {
      const auto nodes = resolve_nodes(s.scope);
      if (!nodes.empty()) {
        f.target = Target{TargetKind::kNode, world_->node(nodes[rng.below(nodes.size())]).name()};
        fire(f, "random");
      }
    } else {
      const auto hosts = resolve_hosts(s.scope);
      if (!hosts.empty()) {
        const HostId h = hosts[rng.below(hosts.size())];
        const Topology& topo = world_->topology();
        if (s.pick == TargetKind::kHost) {
          f.target = Target{TargetKind::kHost, topo.name(h)};
        } else if (s.pick == TargetKind::kZone) {
          f.target = Target{TargetKind::kZone, topo.name(topo.zone_of(h))};
        } else {
          f.target = Target{TargetKind::kRegion, topo.name(topo.region_of(h))};
        }
        fire(f, "random");
      }
    }
  }
  const auto gap = Duration::from_seconds(rng.exponential(s.mean_interval.to_seconds()));
  track(sim.schedule_after(std::max(gap, Duration::nanos(1)), [this, index] { random_next(index); }));
}

// --- presets --------------------------------------------------------------------------------

void FaultInjector::chaos_monkey(ChaosMonkeyParams params) {
  params.validate();
  Simulation& sim = world_->sim();
  for (const auto& g : params.groups) {
    (void)resolve_nodes(Target{TargetKind::kGroup, g});
  }
  for (const auto& g : params.groups) {
    const std::size_t index = monkeys_.size();
    monkeys_.push_back(Monkey{params, g, sim.rng("faults/chaos-monkey/" + g), std::nullopt});
    // The first local midnight at or before the start: its work day is considered whole.
    const Time start = std::max(sim.now(), Time::zero() + params.start);
    const std::int64_t local = sim.utc(start).unix_ns() + params.hours.utc_offset.ns();
    const std::int64_t day = floor_div(local, kDayNs);
    const UtcInstant midnight_utc =
        UtcInstant::from_unix_ns(day * kDayNs - params.hours.utc_offset.ns());
    track(sim.schedule_at(start, [this, index, midnight_utc] { monkey_day(index, midnight_utc); }));
  }
}

void FaultInjector::monkey_day(std::size_t index, UtcInstant day) {
  Simulation& sim = world_->sim();
  Monkey& m = monkeys_[index];
  const ChaosMonkeyParams& p = m.params;
  if (sim.now() >= Time::zero() + p.end) {
    return;
  }
  // Chaos Monkey 2.x: once per work day, per group, a biased coin decides whether one
  // instance dies at a random time within business hours (model-facts §4.3).
  // `day` is a local midnight, so its opening hour is in business hours iff it is a work day.
  const bool workday = p.hours.contains(day + Duration::hours(p.hours.start_hour));
  if (workday && m.rng.uniform01() * p.mean_workdays < 1.0) {
    const Duration open = Duration::hours(p.hours.start_hour);
    const Duration window = Duration::hours(p.hours.end_hour - p.hours.start_hour);
    const auto offset = Duration::nanos(
        static_cast<std::int64_t>(m.rng.below(static_cast<std::uint64_t>(window.ns()))));
    const Time kill_at = sim.at_utc(day + open + offset);
    if (kill_at >= sim.now() && kill_at < Time::zero() + p.end) {
      track(sim.schedule_at(kill_at, [this, index] {
        Monkey& mk = monkeys_[index];
        Simulation& s = world_->sim();
        if (mk.last_kill && s.now() - *mk.last_kill < mk.params.min_between) {
          return;
        }
        std::vector<NodeId> alive;
        for (NodeId n : world_->group(mk.group)) {
          if (world_->node(n).up()) {
            alive.push_back(n);
          }
        }
        if (alive.empty()) {
          return;
        }
        Node& victim = world_->node(alive[mk.rng.below(alive.size())]);
        mk.last_kill = s.now();
        FaultSpec f;
        f.kind = FaultKind::kCrash;
        f.target = Target{TargetKind::kNode, victim.name()};
        f.duration = mk.params.restart_after;
        fire(f, "chaos-monkey");
      }));
    }
  }
  const UtcInstant next = day + Duration::hours(24);
  const Time next_at = std::max(sim.now(), sim.at_utc(next));
  track(sim.schedule_at(next_at, [this, index, next] { monkey_day(index, next); }));
}

void FaultInjector::latency_monkey(LatencyMonkeyParams params) {
  params.validate();
  FaultSpec f;
  f.at = params.at;
  f.kind = FaultKind::kLatency;
  f.target = Target{TargetKind::kGroup, params.group};
  f.peer = Target{TargetKind::kAll, ""};
  f.duration = params.duration;
  f.amount = params.delay;
  schedule_as(std::move(f), "latency-monkey");
}

void FaultInjector::chaos_kong(ChaosKongParams params) {
  params.validate();
  FaultSpec f;
  f.at = params.at;
  f.kind = FaultKind::kCrash;
  f.target = Target{TargetKind::kRegion, params.region};
  f.duration = params.duration;
  schedule_as(std::move(f), "chaos-kong");
}

}  // namespace faultline::world
