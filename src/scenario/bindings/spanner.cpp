// Binding of the Spanner model (sim/spanner): "model": {"name": "spanner"}. JSON keys are the
// field names of faultline::sim::spanner::SpannerParams (and WorkloadParams under "workload",
// a few TrueTimeParams under "truetime"), plus scenario levers: "master_outages" (time masters
// down for a while, the paper's April 13 event) and "leap_seconds" (inserted leap seconds, by
// the midnight after them).
#include "world_faults.hpp"

#include <faultline/check/result.hpp>
#include <faultline/scenario/registry.hpp>
#include <faultline/sim/spanner/cluster.hpp>
#include <faultline/sim/spanner/truetime_oracle.hpp>
#include <faultline/sim/services/service_graph.hpp>
#include <faultline/world/world.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace sp = faultline::sim::spanner;

struct MasterOutage {
  int zone = 0;  // index
  int index = 0;
  Duration at{};
  Duration length{};
};

struct SpannerScenario {
  sp::SpannerParams params;
  sp::TrueTimeParams truetime;
  std::vector<MasterOutage> outages;
  std::vector<UtcInstant> leap_seconds;
  /// Clock of every host the spanner model builds (its hosts smear in the leap story).
  world::ClockParams host_clock;
  /// A Linux service fleet beside the Spanner fleet (sim/services), for the leap-second story.
  std::optional<faultline::sim::services::ServiceGraphParams> linux_fleet;
};

namespace svc = faultline::sim::services;

/// "linux_fleet": one service tier "api" (threads that loop on short absolute timed waits) and
/// one open-loop client population "users", built as a sim/services graph.
svc::ServiceGraphParams read_linux_fleet(ObjectReader& r) {
  svc::ServiceGraphParams g;
  svc::TierParams api;
  api.name = "api";
  api.service_time.kind = svc::ServiceTime::Kind::fixed;
  api.service_time.mean = Duration::millis(4);
  api.timed_wait_threads = 12;
  api.timed_wait = Duration::millis(100);
  api.cpu_slice = Duration::millis(3);
  world::ClockParams clock;
  clock.ntp_enabled = false;
  r.get("instances", api.instances, {.min = 1, .max = 10000},
        "hosts of the Linux fleet's api tier");
  r.get("cores", api.cores, {.min = 1, .max = 1024}, "cores of each api host");
  r.get("service_time", api.service_time.mean, {.min = Duration::nanos(1)},
        "CPU time of one request on an api host (fixed)");
  bindings::read_timed_wait_threads(
      r, api.timed_wait_threads, api.timed_wait, api.cpu_slice, 100000,
      "threads per host that loop on short absolute timed waits (the 2012 futex livelock, "
      "model-facts)",
      "CPU a waiting thread whose wait returned at once burns before it waits again");
  if (auto c = r.object("clock", "clock of the Linux fleet's hosts (leap mode, NTP, smear)")) {
    bindings::read_clock(*c, clock);
  }
  api.clock = clock;
  svc::ClientParams users;
  users.name = "users";
  users.target = "api";
  users.policy.retry.max_attempts = 1;
  users.policy.timeout.timeout = Duration::seconds(1);
  r.get("rate_per_s", users.rate_per_s, {.min = 0.0, .max = 1e7},
        "Poisson requests per second of the fleet's users");  // the services client's
  r.get("timeout", users.policy.timeout.timeout, {.min = Duration::nanos(1)},
        "per-request timeout of the fleet's users");
  r.finish();
  g.tiers.push_back(api);
  g.clients.push_back(users);
  return g;
}

// The index of a zone name ("z1" → 0); a bad name is reported and `fallback` returned.
int zone_index(const ObjectReader& r, const Json& v, const std::string& pointer, int zones,
               int fallback = 0) {
  const Source& source = r.source();
  if (!v.is_string()) {
    r.report(source.error(pointer, "expected a zone name such as \"z1\""));
    return fallback;
  }
  std::string name = v.get<std::string>();
  for (int z = 0; z < zones; ++z) {
    if (name == fmt::format("z{}", z + 1)) {
      return z;
    }
  }
  r.report(source.error(pointer, fmt::format("unknown zone \"{}\"", name),
                        fmt::format("use z1 to z{} (the model names its zones z1, z2, ...)",
                                    zones)));
  return fallback;
}

void read_workload(ObjectReader& r, sp::WorkloadParams& w, int zones) {
  r.get("clients_per_zone", w.clients_per_zone, {.min = 0, .max = 1000},
        "client processes per zone, each a closed loop: think, one transaction, repeat");
  r.get("think_time", w.think_time, {.min = Duration::zero()},
        "mean think time between a client's transactions (exponential); open_loop: mean gap "
        "between arrivals");
  r.get("open_loop", w.open_loop,
        "transactions arrive as a Poisson process and queue at the client (Figure 5's clients)");
  r.get("read_write_parts", w.read_write_parts, {.min = 0, .max = 1000},
        "share of read-write transactions in the mix, in parts");
  r.get("read_only_parts", w.read_only_parts, {.min = 0, .max = 1000},
        "share of read-only transactions in the mix, in parts");
  r.get("snapshot_parts", w.snapshot_parts, {.min = 0, .max = 1000},
        "share of snapshot reads at a stale timestamp (closest replica) in the mix, in parts");
  r.get("keys_per_txn", w.keys_per_txn, {.min = 1, .max = 1000}, "keys touched per transaction");
  r.get("groups_per_txn", w.groups_per_txn, {.min = 1, .max = 1000},
        "groups the keys are drawn from (1: single-group; more: two-phase commit)");
  r.get("snapshot_staleness", w.snapshot_staleness, {.min = Duration::zero()},
        "how far in the past snapshot reads read");
  r.get("txn_timeout", w.txn_timeout, {.min = Duration::nanos(1)},
        "a client gives up on a transaction after this long (a failure)");
  r.get("max_attempts", w.max_attempts, {.min = 1, .max = 100},
        "attempts per transaction (wound-wait and leader-change aborts are retried)");
  r.get("record_history", w.record_history, "record every transaction for the end-of-run checkers");
  if (const Json* zs = r.array("client_zones",
                               "zones whose clients run (\"z1\"...; empty: all zones)")) {
    for (std::size_t i = 0; i < zs->size(); ++i) {
      w.client_zones.push_back(
          zone_index(r, (*zs)[i], child_pointer(r.pointer("client_zones"), i), zones));
    }
  }
  r.finish();
}

void read_placement(ObjectReader& r, sp::PlacementParams& p) {
  r.get("directories_per_group", p.directories_per_group, {.min = 1, .max = 100000},
        "directories each group starts with (equal key ranges; Spanner §2.2)");
  r.get("empty_groups", p.empty_groups, {.min = 0, .max = 100000},
        "the last this-many groups start empty (added capacity the driver fills)");
  r.get("split_keys", p.split_keys, {.min = 0, .max = 10000000},
        "split a directory holding more than this many keys (0: never; the paper gives no figure)");
  r.get("merge_keys", p.merge_keys, {.min = 0, .max = 10000000},
        "merge adjacent directories of a group that both hold fewer keys (0: never)");
  r.get("rebalance_keys", p.rebalance_keys, {.min = 0, .max = 10000000},
        "move a directory when the fullest and emptiest groups differ by more keys (0: never)");
  r.get("balance_leaders", p.balance_leaders,
        "hand off leaders from a zone that leads more than its share of groups");
  r.get("interval", p.interval, {.min = Duration::millis(1)},
        "how often the placement driver looks at the directories");
  r.get("unsafe_move_without_copy", p.unsafe_move_without_copy,
        "deliberately broken movedir for tests: move a directory without copying its data");
  r.finish();
}

void read_truetime(ObjectReader& r, sp::TrueTimeParams& t) {
  r.get("gps_masters_per_zone", t.gps_masters_per_zone, {.min = 0, .max = 100},
        "GPS time masters per zone (the paper gives no count; 2 is an assumption)");
  r.get("armageddon_masters_per_zone", t.armageddon_masters_per_zone, {.min = 0, .max = 100},
        "Armageddon (atomic clock) time masters per zone (assumption: 1)");
  r.get("poll_interval", t.poll_interval, {.min = Duration::nanos(1)},
        "how often a host's time daemon polls the masters (Spanner §3: 30 s)");
  r.get("assumed_drift_ppm", t.assumed_drift_ppm, {.min = 0.0},
        "worst-case local clock drift the daemon assumes, µs per s (Spanner §3: 200)");
  r.get("nearby_gps_polled", t.nearby_gps_polled, {.min = 0, .max = 100},
        "GPS masters of the host's own zone polled per poll");
  r.get("farther_gps_polled", t.farther_gps_polled, {.min = 0, .max = 100},
        "GPS masters of other zones polled per poll");
  r.get("armageddon_polled", t.armageddon_polled, {.min = 0, .max = 100},
        "Armageddon masters polled per poll");
  r.get("tolerated_liars", t.tolerated_liars, {.min = 0, .max = 100},
        "lying masters Marzullo's algorithm tolerates per poll");
  r.get("nearby_rtt", t.nearby_rtt, {.min = Duration::zero()},
        "median round trip to a master in the own zone (chosen so epsilon after a poll is about "
        "1 ms)");
  r.get("farther_rtt", t.farther_rtt, {.min = Duration::zero()},
        "median round trip to a master in another zone (assumption)");
  if (auto s = r.object("smear", "the leap-smear window of TrueTime's time base")) {
    bindings::read_smear(*s, t.smear);
  }
  r.finish();
}

class SpannerInstance : public ModelInstance {
public:
  SpannerInstance(SpannerScenario s, bindings::FaultPlan faults)
      : s_(std::move(s)), faults_(std::move(faults)) {}
  ~SpannerInstance() override {
    graph_.reset();  // the models go before the world they live in
    cluster_.reset();
    world_.reset();
  }

  void start(Simulation& sim) override {
    world::WorldParams wp;
    wp.leap_seconds = s_.leap_seconds;
    wp.host_defaults.clock = s_.host_clock;
    world_ = std::make_unique<world::World>(sim, wp);
    const bool use_tt = s_.params.time_source == sp::TimeSourceKind::kTrueTime;
    cluster_ = std::make_unique<sp::Cluster>(
        *world_, s_.params, [&](world::World& w) -> std::unique_ptr<sp::TimeOracle> {
          if (use_tt) {
            auto o = std::make_unique<sp::TrueTimeOracle>(w, s_.truetime);
            truetime_ = &o->truetime();
            return o;
          }
          return sp::make_host_clock_oracle(w, s_.params.host_clock_epsilon);
        });
    cluster_->start_workload();
    if (s_.linux_fleet) {
      graph_ = std::make_unique<svc::ServiceGraph>(*s_.linux_fleet);
      graph_->build(*world_);
    }
    bindings::schedule_faults(world_->faults(), faults_);
    for (const auto& o : s_.outages) {
      world::ZoneId zone = cluster_->zones().at(o.zone);
      int index = o.index;
      sp::TrueTime* tt = truetime_;
      sim.schedule_at(Time::zero() + o.at, [tt, zone, index] { tt->set_master_up(zone, index, false); });
      if (o.length > Duration::zero()) {
        sim.schedule_at(Time::zero() + o.at + o.length,
                        [tt, zone, index] { tt->set_master_up(zone, index, true); });
      }
    }
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    if (s_.linux_fleet && of == "users") {
      auto n = svc::client_metric_names("users");
      return MeasureNames{n.requests, n.successes, n.failures, n.attempts, n.latency};
    }
    std::string scope = of.empty() ? "txn" : std::string(of);
    auto scopes = measure_scopes();
    if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
      return std::nullopt;
    }
    std::string base = "spanner." + scope;
    return MeasureNames{base + ".requests", base + ".successes", base + ".failures", "",
                        base + ".latency"};
  }

  std::vector<std::string> measure_scopes() const override {
    std::vector<std::string> out{"txn", "rw", "ro", "snapshot"};
    for (int z = 0; z < s_.params.zones; ++z) {
      out.push_back(fmt::format("rw/z{}", z + 1));
    }
    if (s_.linux_fleet) {
      out.push_back("users");
    }
    return out;
  }

  std::vector<std::string> probes() const override {
    std::vector<std::string> out;
    for (int z = 0; z < s_.params.zones; ++z) {
      out.push_back(fmt::format("leaders/z{}", z + 1));
      if (s_.params.time_source == sp::TimeSourceKind::kTrueTime) {
        out.push_back(fmt::format("epsilon_ms/z{}", z + 1));
      }
    }
    if (s_.linux_fleet) {
      out.push_back("cpu_utilisation/api");
    }
    out.push_back("directories");
    out.push_back("directory_moves");
    out.push_back("group_keys_spread");
    std::sort(out.begin(), out.end());
    return out;
  }

  double probe(std::string_view name) const override {
    if (name == "cpu_utilisation/api") {
      return graph_->cpu_busy_fraction("api");
    }
    // The placement driver's work: directories in the location table, directory moves so far.
    if (name == "directories") {
      return static_cast<double>(cluster_->directories().size());
    }
    if (name == "directory_moves") {
      return cluster_->placement_stats().moves;
    }
    if (name == "group_keys_spread") {
      // Keys with data in the fullest group minus the emptiest (what the driver evens out).
      std::vector<int> load(static_cast<std::size_t>(s_.params.groups), 0);
      for (const auto& d : cluster_->directories()) {
        load[static_cast<std::size_t>(d.group)] += cluster_->populated_keys(d.group, d.lo, d.hi);
      }
      auto [mn, mx] = std::minmax_element(load.begin(), load.end());
      return *mx - *mn;
    }
    auto slash = name.find('/');
    std::string_view kind = name.substr(0, slash);
    int z = std::stoi(std::string(name.substr(slash + 2))) - 1;
    if (kind == "leaders") {
      return cluster_->leaders_in_zone(z);
    }
    return truetime_->mean_epsilon(cluster_->zones().at(z)).to_millis();
  }

  std::vector<std::string> checkers() const override {
    return {"invariants", "strict-serializability"};
  }

  CheckVerdict check(std::string_view name, Simulation&) override {
    check::CheckResult r = name == "invariants" ? cluster_->invariants().result()
                                                : cluster_->check_serializable();
    return {r.ok, r.summary, r.details};
  }

private:
  SpannerScenario s_;
  bindings::FaultPlan faults_;
  std::unique_ptr<world::World> world_;
  std::unique_ptr<sp::Cluster> cluster_;
  sp::TrueTime* truetime_ = nullptr;
  std::unique_ptr<svc::ServiceGraph> graph_;
};

std::unique_ptr<ModelInstance> prepare_spanner(const ModelInput& in) {
  const Source& source = *in.source;
  SpannerScenario s;
  auto& p = s.params;
  ObjectReader r(*in.params, "/model/params", source);
  r.get("zones", p.zones, {.min = 1, .max = 64},
        "zones of the universe (one region); a group's replicas go to distinct zones");
  r.get("servers_per_zone", p.servers_per_zone, {.min = 1, .max = 1000}, "spanservers per zone");
  r.get("groups", p.groups, {.min = 1, .max = 100000}, "Paxos groups (one per tablet)");
  r.get("replicas", p.replicas, {.min = 1, .max = 15}, "replicas per group (3 or 5 in the paper)");
  r.get("keys", p.keys, {.min = 1, .max = 10000000},
        "keys in the key space, range-partitioned over the groups");
  if (const Json* lz = r.raw("leader_zone", "zone of every group's first leader, \"z1\" to \"zN\"", "zone name")) {
    p.leader_zone = zone_index(r, *lz, r.pointer("leader_zone"), p.zones, p.leader_zone);
  }
  r.get("lease", p.lease, {.min = Duration::nanos(1)},
        "leader lease length (Spanner §4.1.2: 10 s by default)");
  r.get("lease_renew_interval", p.lease_renew_interval, {.min = Duration::nanos(1)},
        "how often a leader renews its lease (assumption: a few times per lease)");
  r.get("election_backoff_max", p.election_backoff_max, {.min = Duration::zero()},
        "replicas of a lapsed lease campaign after a random backoff up to this");
  r.get("election_check_interval", p.election_check_interval, {.min = Duration::nanos(1)},
        "how often a replica checks whether it should campaign");
  r.get("rpc_timeout", p.rpc_timeout, {.min = Duration::nanos(1)},
        "timeout of RPCs between spanservers and from clients");
  r.get("in_doubt_timeout", p.in_doubt_timeout, {.min = Duration::nanos(1)},
        "a participant prepared this long asks the coordinator what happened");
  r.get("log_fsync_latency", p.log_fsync_latency, {.min = Duration::zero()},
        "Paxos log fsync latency (assumption: a 3-replica write takes about 9 ms, Table 3)");
  r.get("op_cpu", p.op_cpu, {.min = Duration::zero()},
        "CPU per request at a spanserver (assumption)");
  bindings::read_timed_wait_threads(
      r, p.timed_wait_threads, p.timed_wait, p.cpu_slice, 10000,
      "background threads per spanserver looping on absolute timed waits on the host clock "
      "(0: none; they spin on a kernel-2012 host after a leap second)",
      "CPU a waiting thread whose wait returned at once burns before it waits again");
  r.get("stall_probability", p.stall_probability, {.min = 0.0, .max = 1.0},
        "chance a request is held up by background work (0: off; Table 4 calibration 1 %, an "
        "assumption)");
  r.get("stall_min", p.stall_min, {.min = Duration::nanos(1)},
        "least length of such a stall (Pareto; Table 4 calibration 20 ms)");
  r.get("stall_alpha", p.stall_alpha, {.min = 0.01, .max = 100.0},
        "Pareto shape of stall lengths (Table 4 calibration 3.0)");
  r.get("stall_max", p.stall_max, {.min = Duration::nanos(1)},
        "cap on a stall's length (Table 4 calibration 1 s)");
  r.get("coordinator_cpu_per_participant", p.coordinator_cpu_per_participant, {.min = Duration::zero()},
        "2PC coordinator CPU per participant (fitted to Table 4: 0.3 ms; default 0)");
  r.get("coordinator_cpu_per_participant_pair", p.coordinator_cpu_per_participant_pair,
        {.min = Duration::zero()},
        "2PC coordinator CPU per participant pair (fitted to Table 4: 1.5 us; default 0)");
  r.get("version_gc_horizon", p.version_gc_horizon, {.min = Duration::zero()},
        "how long a replica keeps superseded versions; older reads are refused as snapshot too "
        "old (Cloud Spanner's default retention: 1 h; 0s keeps every version)");
  r.get("commit_wait", p.commit_wait,
        "commit wait on (the paper's rule); false is the deliberately broken variant");
  std::string source_kind(sp::to_string(p.time_source));
  r.get_choice("time_source", source_kind, {"truetime", "host_clock"},
               "where TT.now() comes from: the TrueTime oracle or the host clock +/- "
               "host_clock_epsilon");
  p.time_source = source_kind == "truetime" ? sp::TimeSourceKind::kTrueTime
                                            : sp::TimeSourceKind::kHostClock;
  r.get("host_clock_epsilon", p.host_clock_epsilon, {.min = Duration::zero()},
        "host_clock only: the clock uncertainty the model assumes");
  if (const Json* hz = r.raw("handoff_zone", "soft kill: the zone whose leaders hand their groups away at handoff_at (\"z1\" to \"zN\")", "zone name")) {
    p.handoff_zone = zone_index(r, *hz, r.pointer("handoff_zone"), p.zones, p.handoff_zone);
  }
  r.get("handoff_at", p.handoff_at, {.min = Duration::zero(), .max = in.duration},
        "soft kill (Figure 5): when the leaders of handoff_zone hand their groups away");
  if (auto w = r.object("workload", "the clients and their transaction mix")) {
    read_workload(*w, p.workload, p.zones);
  }
  if (auto pl = r.object("placement",
                         "directories and the placement driver (Spanner §2.2); thresholds of 0 "
                         "turn actions off")) {
    read_placement(*pl, p.placement);
  }
  if (auto t = r.object("truetime",
                        "the TrueTime oracle: time masters and each host's time daemon "
                        "(Spanner §3)")) {
    read_truetime(*t, s.truetime);
  }
  if (const Json* outs = r.array("master_outages", "time masters taken down during the run")) {
    if (p.time_source != sp::TimeSourceKind::kTrueTime && !outs->empty()) {
      r.report(r.error("master_outages", "time masters exist only with the TrueTime oracle",
                       "set \"time_source\": \"truetime\" or remove master_outages"));
    }
    for (std::size_t i = 0; i < outs->size(); ++i) {
      std::string ptr = child_pointer(r.pointer("master_outages"), i);
      ObjectReader o((*outs)[i], ptr, source);
      MasterOutage m;
      m.zone = zone_index(o, o.require("zone", "\"z1\"",
                                       "zone of the master "
                                       "(\"z1\"...)"), o.pointer("zone"), p.zones);
      o.get("index", m.index,
            {.min = 0, .max = static_cast<double>(s.truetime.gps_masters_per_zone +
                                                  s.truetime.armageddon_masters_per_zone - 1)},
                                                  "which master of the zone (GPS ones first, "
                                                  "then Armageddon)");
      m.at = parse_duration(o.require("at", "\"10m\"",
                                      "when the master goes down"), o.pointer("at"), source);
      o.get("for", m.length, {.min = Duration::zero()}, "how long it stays down");
      o.finish();
      if (m.at > in.duration) {
        o.report(source.error(o.pointer("at"), "is after the end of the run",
                              "use a time within the scenario's duration"));
      }
      s.outages.push_back(m);
    }
  }
  if (const Json* leaps = r.array("leap_seconds",
                                  "inserted leap seconds, each named by the UTC midnight after "
                                  "it (\"2012-07-01T00:00:00Z\")")) {
    for (std::size_t i = 0; i < leaps->size(); ++i) {
      std::string ptr = child_pointer(r.pointer("leap_seconds"), i);
      const Json& v = (*leaps)[i];
      std::optional<UtcInstant> at;
      if (v.is_string()) {
        at = UtcInstant::parse(v.get<std::string>());
      }
      if (!at) {
        r.report(source.error(ptr, "expected a UTC midnight such as \"2012-07-01T00:00:00Z\"",
                              "name each leap second by the midnight right after it"));
        continue;
      }
      s.leap_seconds.push_back(*at);
    }
  }
  if (auto c = r.object("host_clock", "clock of every spanner host (leap mode, smear, NTP)")) {
    bindings::read_clock(*c, s.host_clock);
  }
  if (auto f = r.object("linux_fleet",
                        "a Linux service fleet beside Spanner (sim/services), for the 2012 "
                        "leap-second story")) {
    s.linux_fleet = read_linux_fleet(*f);
  }
  r.finish();
  bindings::validate_at(source, p, s.truetime);
  if (s.linux_fleet) {
    bindings::validate_at(source, *s.linux_fleet);
  }
  std::vector<std::string> groups;
  for (int z = 0; z < p.zones; ++z) {
    groups.push_back(sp::Cluster::server_group(z));
    groups.push_back(fmt::format("client/z{}", z + 1));
  }
  if (s.linux_fleet) {
    groups.push_back(svc::ServiceGraph::tier_group("api"));
    groups.push_back(svc::ServiceGraph::client_group("users"));
  }
  auto faults = bindings::parse_faults(in.faults, source, in.duration, groups);
  return std::make_unique<SpannerInstance>(std::move(s), std::move(faults));
}

}  // namespace

void register_spanner_model(ModelRegistry& registry) {
  registry.add({"spanner",
                "Spanner (OSDI 2012): Multi-Paxos groups with leader leases, 2PC, TrueTime "
                "commit wait, lock-free reads (sim/spanner)",
                {"faults"},
                prepare_spanner});
}

}  // namespace faultline::scenario
