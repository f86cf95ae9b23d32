// The Spanner cluster builder, placement, invariants, the client library and the workload.
#include "server.hpp"

#include <faultline/check/transactions.hpp>
#include <faultline/world/host.hpp>
#include <faultline/world/world.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace faultline::sim::spanner {

using world::NodeId;
using world::Payload;
using world::RpcResult;

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) {
    throw std::invalid_argument(what);
  }
}

class HostClockOracle final : public TimeOracle {
public:
  HostClockOracle(world::World& world, Duration epsilon) : world_(&world), epsilon_(epsilon) {}
  TimeBounds now(world::HostId host) override {
    UtcInstant c = world_->host(host).clock().now();
    return {c - epsilon_, c + epsilon_};
  }

private:
  world::World* world_;
  Duration epsilon_;
};

}  // namespace

std::unique_ptr<TimeOracle> make_host_clock_oracle(world::World& world, Duration epsilon) {
  return std::make_unique<HostClockOracle>(world, epsilon);
}

// --- params -------------------------------------------------------------------------------------

std::string_view to_string(TimeSourceKind k) {
  return k == TimeSourceKind::kTrueTime ? "truetime" : "host_clock";
}

void WorkloadParams::validate() const {
  require(clients_per_zone >= 0, "workload.clients_per_zone: is negative; use 0 or more");
  require(think_time >= Duration::zero(), "workload.think_time: is negative; use 0s or more");
  require(read_write_parts >= 0 && read_only_parts >= 0 && snapshot_parts >= 0,
          "workload.*_parts: a part is negative; use 0 or more");
  require(clients_per_zone == 0 || read_write_parts + read_only_parts + snapshot_parts > 0,
          "workload: every part is 0; give read_write_parts, read_only_parts or snapshot_parts "
          "a positive weight");
  require(keys_per_txn >= 1, "workload.keys_per_txn: must be at least 1");
  require(groups_per_txn >= 1, "workload.groups_per_txn: must be at least 1");
  require(groups_per_txn <= keys_per_txn,
          "workload.groups_per_txn: exceeds keys_per_txn; each group needs a key");
  require(txn_timeout > Duration::zero(), "workload.txn_timeout: must be positive");
  require(max_attempts >= 1, "workload.max_attempts: must be at least 1");
  require(snapshot_staleness >= Duration::zero(),
          "workload.snapshot_staleness: is negative; use 0s or more");
}

void PlacementParams::validate() const {
  require(directories_per_group >= 1, "placement.directories_per_group: must be at least 1");
  require(empty_groups >= 0, "placement.empty_groups: is negative; use 0 or more");
  require(split_keys >= 0 && merge_keys >= 0 && rebalance_keys >= 0,
          "placement: split_keys, merge_keys and rebalance_keys must be 0 (off) or positive");
  require(split_keys == 0 || split_keys >= 2, "placement.split_keys: must be 0 (off) or at least 2");
  require(merge_keys == 0 || split_keys == 0 || merge_keys * 2 <= split_keys,
          "placement.merge_keys: two merged directories would exceed split_keys and split again; "
          "use merge_keys <= split_keys / 2");
  require(interval > Duration::zero(), "placement.interval: must be positive");
}

void SpannerParams::validate() const {
  require(stall_probability >= 0.0 && stall_probability <= 1.0,
          "stall_probability: must be between 0 and 1");
  require(stall_min > Duration::zero() && stall_max >= stall_min,
          "stall_min, stall_max: need 0 < stall_min <= stall_max");
  require(stall_alpha > 0.0, "stall_alpha: the Pareto shape must be positive");
  require(coordinator_cpu_per_participant >= Duration::zero() &&
              coordinator_cpu_per_participant_pair >= Duration::zero(),
          "coordinator_cpu_per_participant(_pair): is negative; use 0s or more");
  require(zones >= 1 && zones <= 64, "zones: must be 1 to 64");
  require(servers_per_zone >= 1, "servers_per_zone: must be at least 1");
  require(groups >= 1, "groups: must be at least 1");
  require(replicas >= 1 && replicas <= 15, "replicas: must be 1 to 15");
  require(replicas <= zones, "replicas: exceeds zones; each replica of a group needs its own zone");
  require(keys >= groups, "keys: fewer keys than groups; use keys >= groups");
  require(leader_zone >= -1 && leader_zone < zones, "leader_zone: must be -1 or a zone index below zones");
  require(lease > Duration::zero(), "lease: must be positive");
  require(lease_renew_interval > Duration::zero() && lease_renew_interval * 2 <= lease,
          "lease_renew_interval: must be positive and at most half the lease");
  require(election_backoff_max >= Duration::zero(), "election_backoff_max: is negative");
  require(election_check_interval > Duration::zero(), "election_check_interval: must be positive");
  require(rpc_timeout > Duration::zero(), "rpc_timeout: must be positive");
  require(in_doubt_timeout > Duration::zero(), "in_doubt_timeout: must be positive");
  require(log_fsync_latency >= Duration::zero(), "log_fsync_latency: is negative");
  require(op_cpu >= Duration::zero(), "op_cpu: is negative");
  require(timed_wait_threads >= 0 && timed_wait_threads <= 10'000,
          "timed_wait_threads: must be in [0, 10000]");
  require(timed_wait > Duration::zero(), "timed_wait: must be positive");
  require(cpu_slice >= Duration::zero(), "cpu_slice: is negative");
  require(host_clock_epsilon >= Duration::zero(), "host_clock_epsilon: is negative");
  require(version_gc_horizon >= Duration::zero(),
          "version_gc_horizon: is negative; use 0s (keep every version) or more");
  require(handoff_zone >= -1 && handoff_zone < zones,
          "handoff_zone: must be -1 or a zone index below zones");
  require(handoff_at >= Duration::zero(), "handoff_at: is negative");
  workload.validate();
  placement.validate();
  require(placement.empty_groups < groups,
          "placement.empty_groups: every group would start empty; leave at least one with data");
  require(placement.directories_per_group <= keys / groups,
          "placement.directories_per_group: more directories than keys per group; lower it or raise keys");
  for (int z : workload.client_zones) {
    require(z >= 0 && z < zones, "workload.client_zones: a zone index is out of range; use 0 to zones-1");
  }
}

// --- invariants ---------------------------------------------------------------------------------

void PaxosInvariants::leader_acted(int group, std::int64_t ballot, Time t) {
  auto [it, fresh] = intervals_.try_emplace({group, ballot}, Interval{ballot, t, t});
  if (!fresh) {
    it->second.last = std::max(it->second.last, t);
  }
}

void PaxosInvariants::chosen(int group, std::int64_t slot, std::uint64_t digest, Time t) {
  auto [it, fresh] = chosen_.try_emplace({group, slot}, digest);
  if (!fresh && it->second != digest && agreement_violations_.size() < 10) {
    agreement_violations_.push_back(
        fmt::format("group {} slot {}: two different values learned as chosen (second at {})",
                    group, slot, t));
  }
}

std::vector<PaxosInvariants::Interval> PaxosInvariants::intervals(int group) const {
  std::vector<Interval> out;
  for (const auto& [key, iv] : intervals_) {
    if (key.first == group) {
      out.push_back(iv);
    }
  }
  std::sort(out.begin(), out.end(), [](const Interval& a, const Interval& b) {
    return a.first < b.first || (a.first == b.first && a.ballot < b.ballot);
  });
  return out;
}

check::CheckResult PaxosInvariants::result() const {
  std::vector<std::string> bad = agreement_violations_;
  std::set<int> groups;
  for (const auto& [key, iv] : intervals_) {
    groups.insert(key.first);
  }
  for (int g : groups) {
    auto ivs = intervals(g);
    for (std::size_t i = 1; i < ivs.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (ivs[j].last >= ivs[i].first && bad.size() < 20) {
          bad.push_back(fmt::format(
              "group {}: leaders with ballots {} and {} both acted in [{}, {}] (lease "
              "disjointness)",
              g, ivs[j].ballot, ivs[i].ballot, ivs[i].first, std::min(ivs[j].last, ivs[i].last)));
        }
      }
    }
  }
  check::CheckResult r;
  r.checker = "invariants";
  r.ok = bad.empty();
  if (r.ok) {
    r.summary = fmt::format("one leader per lease interval in every group; {} slots agreed",
                            chosen_.size());
  } else {
    r.summary = fmt::format("{} Paxos invariant violation(s): {}", bad.size(), bad.front());
    for (const auto& b : bad) {
      r.details += b + "\n";
    }
  }
  return r;
}

// --- cluster ------------------------------------------------------------------------------------

Cluster::Cluster(world::World& world, SpannerParams params, const OracleFactory& oracle)
    : world_(&world), params_(std::move(params)) {
  params_.validate();
  auto region = world.add_region("universe");
  world::HostParams server_host = world.params().host_defaults;
  server_host.disk.fsync_latency = params_.log_fsync_latency;
  std::vector<std::vector<world::HostId>> server_hosts(params_.zones);
  for (int z = 0; z < params_.zones; ++z) {
    auto zone = world.add_zone(region, zone_name(z));
    zones_.push_back(zone);
    for (int s = 0; s < params_.servers_per_zone; ++s) {
      server_hosts[z].push_back(world.add_host(zone, fmt::format("{}-s{}", zone_name(z), s), server_host));
    }
    client_hosts_.push_back(world.add_host(zone, fmt::format("{}-c", zone_name(z))));
  }
  oracle_ = oracle(world);
  // Spanserver nodes (one per host); they boot after placement is known.
  std::vector<std::vector<NodeId>> by_zone(params_.zones);
  for (int z = 0; z < params_.zones; ++z) {
    for (int s = 0; s < params_.servers_per_zone; ++s) {
      NodeId id = world.add_node(server_hosts[z][s], fmt::format("{}-s{}", zone_name(z), s),
                                 server_group(z), [this](world::Node& n) {
                                   return std::make_unique<Spanserver>(*this, n);
                                 });
      by_zone[z].push_back(id);
      servers_.push_back(id);
      server_zone_[id.value()] = z;
    }
  }
  // The placement driver's initial placement: each group's replicas in distinct zones,
  // chosen greedily as the zones holding the fewest replicas so far (so groups spread evenly
  // when zones > replicas), and within a zone the server holding the fewest. Replica 0, the
  // preferred leader, goes to leader_zone, else to the zone leading the fewest groups. Ties
  // break in round-robin order from g, which reproduces the old fixed round robin whenever
  // every group has a replica in every zone.
  std::vector<int> zone_replicas(params_.zones, 0);
  std::vector<int> zone_leaders(params_.zones, 0);
  std::vector<std::vector<int>> server_replicas(params_.zones, std::vector<int>(params_.servers_per_zone, 0));
  auto cyclic = [](int i, int from, int n) { return ((i - from) % n + n) % n; };
  for (int g = 0; g < params_.groups; ++g) {
    int start = g % params_.zones;
    int first = params_.leader_zone;
    if (first < 0) {
      first = start;
      for (int z = 0; z < params_.zones; ++z) {
        auto key = [&](int zz) { return std::make_tuple(zone_leaders[zz], zone_replicas[zz], cyclic(zz, start, params_.zones)); };
        if (key(z) < key(first)) {
          first = z;
        }
      }
    }
    std::vector<int> chosen{first};
    while (static_cast<int>(chosen.size()) < params_.replicas) {
      int best = -1;
      for (int z = 0; z < params_.zones; ++z) {
        if (std::find(chosen.begin(), chosen.end(), z) != chosen.end()) {
          continue;
        }
        auto key = [&](int zz) { return std::make_pair(zone_replicas[zz], cyclic(zz, first, params_.zones)); };
        if (best < 0 || key(z) < key(best)) {
          best = z;
        }
      }
      chosen.push_back(best);
    }
    std::vector<NodeId> reps;
    for (std::size_t j = 0; j < chosen.size(); ++j) {
      int z = chosen[j];
      int preferred = (g / params_.zones + static_cast<int>(j)) % params_.servers_per_zone;
      int srv = preferred;
      for (int s = 0; s < params_.servers_per_zone; ++s) {
        auto key = [&](int ss) { return std::make_pair(server_replicas[z][ss], cyclic(ss, preferred, params_.servers_per_zone)); };
        if (key(s) < key(srv)) {
          srv = s;
        }
      }
      ++server_replicas[z][srv];
      ++zone_replicas[z];
      reps.push_back(by_zone[z][srv]);
    }
    ++zone_leaders[first];
    placement_.push_back(std::move(reps));
  }
  // The location table: directories_per_group equal directories per group, cut so that with
  // one directory per group the ranges are the old static ones (key i in group i*G/K).
  const int dirs = (params_.groups - params_.placement.empty_groups) * params_.placement.directories_per_group;
  for (int i = 0; i < params_.keys; ++i) {
    int d = static_cast<int>(static_cast<std::int64_t>(i) * dirs / params_.keys);
    if (directories_.empty() || directories_.back().id != d) {
      directories_.push_back({d, i, i + 1, d / params_.placement.directories_per_group});
    } else {
      directories_.back().hi = i + 1;
    }
  }
  next_directory_id_ = dirs;
  initial_directories_ = directories_;
}

Cluster::~Cluster() = default;

std::string Cluster::key_name(int index) { return fmt::format("k{:04d}", index); }

int Cluster::key_index(std::string_view key) {
  int idx = 0;
  for (char c : key.substr(1)) {
    idx = idx * 10 + (c - '0');
  }
  return idx;
}

int Cluster::group_of(std::string_view key) const {
  int idx = key_index(key);
  auto it = std::upper_bound(directories_.begin(), directories_.end(), idx,
                             [](int i, const Directory& d) { return i < d.lo; });
  FAULTLINE_ASSERT(it != directories_.begin(), "the location table covers every key");
  return std::prev(it)->group;
}

std::vector<std::pair<int, int>> Cluster::initial_ranges(int group) const {
  std::vector<std::pair<int, int>> out;
  for (const auto& d : initial_directories_) {
    if (d.group == group) {
      out.emplace_back(d.lo, d.hi);
    }
  }
  return out;
}

world::ZoneId Cluster::zone_of(NodeId node) const { return world_->node(node).host().zone(); }

Spanserver* Cluster::server(NodeId node) const {
  world::Node& n = world_->node(node);
  if (!n.up() || n.program() == nullptr) {
    return nullptr;
  }
  return dynamic_cast<Spanserver*>(n.program());
}

int Cluster::replica_index(int group, NodeId node) const {
  const auto& reps = placement_.at(group);
  for (std::size_t i = 0; i < reps.size(); ++i) {
    if (reps[i] == node) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

std::optional<NodeId> Cluster::leader_of(int group) const {
  for (NodeId n : placement_.at(group)) {
    Spanserver* s = server(n);
    if (s == nullptr) {
      continue;
    }
    Replica* r = s->replica(group);
    if (r != nullptr && s->has_lease(*r)) {
      return n;
    }
  }
  return std::nullopt;
}

int Cluster::leaders_in_zone(int zone_index) const {
  int count = 0;
  for (int g = 0; g < params_.groups; ++g) {
    auto l = leader_of(g);
    if (l && zone_of(*l) == zones_.at(zone_index)) {
      ++count;
    }
  }
  return count;
}

void Cluster::hand_off_leaders_in_zone(int zone_index) {
  for (int g = 0; g < params_.groups; ++g) {
    auto l = leader_of(g);
    if (l && zone_of(*l) == zones_.at(zone_index)) {
      server(*l)->hand_off(g);
    }
  }
}

check::CheckResult Cluster::check_serializable() const {
  // Read-only transactions do not wait for TT.after(s_read), so their timestamps may repeat
  // (LastTS) or run ahead of real time: the checker places them by what they read.
  check::TransactionCheckOptions options;
  options.place_read_only = true;
  return check::check_strict_serializable(history_, options);
}

void Cluster::note_commit_wait(Duration waited, Duration two_epsilon) {
  ++commit_wait_.commits;
  commit_wait_.min_margin = std::min(commit_wait_.min_margin, waited - two_epsilon);
  commit_wait_.min_wait = std::min(commit_wait_.min_wait, waited);
}

// --- client library -----------------------------------------------------------------------------

Client::Client(Cluster& cluster, world::Node& node, std::int64_t history_id)
    : cluster_(&cluster), node_(&node), history_id_(history_id) {}

void Client::record_invoke(check::Op op) {
  if (history_id_ >= 0) {
    cluster_->history().invoke(history_id_, node_->sim().now(), std::move(op));
  }
}

void Client::record_end(const TxnResult& r, check::Op op) {
  if (history_id_ < 0) {
    return;
  }
  auto& h = cluster_->history();
  Time now = node_->sim().now();
  switch (r.status) {
    case TxnResult::Status::kCommitted:
      h.ok(history_id_, now, std::move(op), r.ts);
      break;
    case TxnResult::Status::kAborted:
      h.fail(history_id_, now);
      break;
    case TxnResult::Status::kUnknown:
      h.info(history_id_, now);
      break;
  }
}

Task<RpcResult> Client::call_leader(int group, Payload request, std::uint64_t bytes,
                                    bool idempotent) {
  const auto& reps = cluster_->replicas(group);
  const auto& p = cluster_->params();
  auto suspect = [&](NodeId n) {
    auto it = suspect_until_.find(n.value());
    return it != suspect_until_.end() && it->second > node_->sim().now();
  };
  // Start at the cached leader, else the first replica not recently unresponsive.
  NodeId target = reps.front();
  if (auto it = leader_cache_.find(group); it != leader_cache_.end() && !suspect(it->second)) {
    target = it->second;
  } else {
    for (NodeId n : reps) {
      if (!suspect(n)) {
        target = n;
        break;
      }
    }
  }
  RpcResult last;
  std::size_t next = 0;
  int tries = static_cast<int>(reps.size()) * 2;
  for (int i = 0; i < tries; ++i) {
    RpcResult res = co_await node_->call(target, request, bytes, p.rpc_timeout);
    last_leader_ = target;
    const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
    if (resp != nullptr && resp->st != St::kNotLeader) {
      leader_cache_[group] = target;
      co_return res;
    }
    last = std::move(res);
    if (!last.ok()) {
      // Down or cut off: skip it for a while (a client would mark the connection broken).
      suspect_until_[target.value()] = node_->sim().now() + p.rpc_timeout * 4;
      leader_cache_.erase(group);
    }
    if (last.status == world::RpcStatus::kTimeout && !idempotent) {
      co_return last;  // unknown outcome: never resend a commit
    }
    if (resp != nullptr && resp->hint.valid() && resp->hint != target && !suspect(resp->hint)) {
      target = resp->hint;
      continue;
    }
    // Nobody leads yet (an election after a lease lapsed) or the hint is stale: try the next
    // responsive replica after a short pause.
    NodeId candidate = target;
    for (std::size_t k = 0; k < reps.size(); ++k) {
      NodeId n = reps[next++ % reps.size()];
      if (n != target && !suspect(n)) {
        candidate = n;
        break;
      }
    }
    target = candidate;
    co_await node_->sleep(p.rpc_timeout / 10);
  }
  co_return last;
}

Task<void> Client::abort_everywhere(std::int64_t txn, const std::vector<int>& groups) {
  for (int g : groups) {
    for (NodeId n : cluster_->replicas(g)) {
      node_->call(n, Payload::make<AbortReq>(AbortReq{g, txn, false}), 128,
                  cluster_->params().rpc_timeout, [](RpcResult) {});
    }
  }
  co_return;
}

namespace {

/// How a commit reply reads: committed, certainly not, or unknown.
TxnResult::Status commit_outcome(const RpcResult& res) {
  const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
  if (resp == nullptr) {
    // Refused everywhere (processes down): never proposed. Timed out: unknown.
    return res.status == world::RpcStatus::kUnreachable ? TxnResult::Status::kAborted
                                                        : TxnResult::Status::kUnknown;
  }
  switch (resp->st) {
    case St::kOk:
      return TxnResult::Status::kCommitted;
    case St::kAborted:
    case St::kNotLeader:
    case St::kMoved:
    case St::kRetry:
      return TxnResult::Status::kAborted;
    case St::kPending:
      return TxnResult::Status::kUnknown;
  }
  return TxnResult::Status::kUnknown;
}

}  // namespace

Task<TxnResult> Client::rw_attempt(const std::vector<std::string>& read_keys,
                                   const std::function<Writes(const ReadValues&)>& writes,
                                   std::int64_t txn, Timestamp priority, Writes& written) {
  TxnResult result;
  std::map<int, std::vector<std::string>> reads_by_group;
  for (const auto& k : read_keys) {
    reads_by_group[cluster_->group_of(k)].push_back(k);
  }
  std::vector<int> touched;
  for (const auto& [g, keys] : reads_by_group) {
    touched.push_back(g);
    ReadLockReq lock_req{g, txn, priority, keys};
    Payload lock_payload = Payload::make<ReadLockReq>(std::move(lock_req));
    RpcResult res = co_await call_leader(g, lock_payload, 128, true);
    const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
    moved_ = moved_ || (resp != nullptr && resp->st == St::kMoved);
    if (resp == nullptr || resp->st != St::kOk || resp->values.size() != keys.size()) {
      co_await abort_everywhere(txn, touched);
      result.status = TxnResult::Status::kAborted;
      co_return result;
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      result.reads[keys[i]] = resp->values[i];
    }
  }
  written = writes(result.reads);
  std::map<int, Writes> writes_by_group;
  for (const auto& w : written) {
    writes_by_group[cluster_->group_of(w.first)].push_back(w);
  }
  std::set<int> part_set(touched.begin(), touched.end());
  for (const auto& [g, w] : writes_by_group) {
    part_set.insert(g);
  }
  std::vector<int> parts(part_set.begin(), part_set.end());

  std::vector<check::MicroOp> invoked;
  std::vector<check::MicroOp> done;
  for (const auto& k : read_keys) {
    invoked.push_back(check::MicroOp::read(k));
    const auto& v = result.reads[k];
    done.push_back(check::MicroOp::read(k, v ? check::Value::of(*v) : check::Value::nil()));
  }
  for (const auto& [k, v] : written) {
    invoked.push_back(check::MicroOp::write(k, v));
    done.push_back(check::MicroOp::write(k, v));
  }
  record_invoke(check::Op::transaction(invoked));

  Timestamp min_ts = 0;
  int coordinator = parts.front();
  std::vector<int> others(parts.begin() + 1, parts.end());
  // Prepares go to every participant at once (the paper's participants prepare in parallel).
  struct Prepares {
    std::size_t pending;
    bool failed;
    Timestamp max_ts;
    Completion<bool> done;
  };
  auto prepares = std::make_shared<Prepares>(Prepares{others.size(), false, 0, Completion<bool>(node_->sim())});
  for (int g : others) {
    CommitReq prep{g, txn, priority, writes_by_group[g], reads_by_group[g], true, coordinator, {}, 0};
    std::uint64_t prep_bytes = 128 + 4096 * writes_by_group[g].size();
    Payload prep_payload = Payload::make<CommitReq>(std::move(prep));
    node_->spawn([](Client* self, int group, Payload payload, std::uint64_t bytes,
                    std::shared_ptr<Prepares> st) -> Task<void> {
      RpcResult res = co_await self->call_leader(group, payload, bytes, false);
      const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
      self->moved_ = self->moved_ || (resp != nullptr && resp->st == St::kMoved);
      if (resp == nullptr || resp->st != St::kOk) {
        st->failed = true;
      } else {
        st->max_ts = std::max(st->max_ts, resp->ts);
      }
      if (--st->pending == 0) {
        st->done.set(true);
      }
    }(this, g, prep_payload, prep_bytes, prepares));
  }
  if (!others.empty()) {
    co_await prepares->done.wait();
  }
  if (prepares->failed) {
    // The coordinator was never asked to commit, so it never will: a definite abort.
    co_await abort_everywhere(txn, parts);
    result.status = TxnResult::Status::kAborted;
    record_end(result, check::Op::transaction(done));
    co_return result;
  }
  min_ts = prepares->max_ts;
  CommitReq commit{coordinator, txn,    priority, writes_by_group[coordinator],
                   reads_by_group[coordinator], false, coordinator, others, min_ts};
  std::uint64_t commit_bytes = 128 + 4096 * writes_by_group[coordinator].size();
  Payload commit_payload = Payload::make<CommitReq>(std::move(commit));
  RpcResult res = co_await call_leader(coordinator, commit_payload, commit_bytes, false);
  result.status = commit_outcome(res);
  if (const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr) {
    result.ts = resp->ts;
    moved_ = moved_ || resp->st == St::kMoved;
  }
  if (result.status == TxnResult::Status::kAborted) {
    co_await abort_everywhere(txn, parts);
  }
  record_end(result, check::Op::transaction(done));
  co_return result;
}

Task<TxnResult> Client::read_write(std::vector<std::string> read_keys,
                                   std::function<Writes(const ReadValues&)> writes) {
  const auto& wp = cluster_->params().workload;
  Timestamp priority = cluster_->tt_now(node_->host().id()).latest.unix_ns();
  TxnResult result;
  int redirects = 0;
  for (int attempt = 1; attempt <= wp.max_attempts; ++attempt) {
    std::int64_t txn = cluster_->next_txn_id();
    Writes written;
    moved_ = false;
    result = co_await rw_attempt(read_keys, writes, txn, priority, written);
    result.attempts = attempt;
    if (result.status != TxnResult::Status::kAborted) {
      break;
    }
    // A group said a key has moved (or not yet arrived): the aborted attempt does not count,
    // and the next one looks the location up again once the move has had time to finish.
    if (moved_ && redirects < kMaxRedirects) {
      ++redirects;
      --attempt;
      co_await node_->sleep(Duration::millis(5));
      continue;
    }
    co_await node_->sleep(Duration::millis(2) * attempt);
  }
  co_return result;
}

Task<TxnResult> Client::read_only(std::vector<std::string> keys) {
  TxnResult result;
  result.attempts = 1;
  std::vector<check::MicroOp> invoked;
  for (const auto& k : keys) {
    invoked.push_back(check::MicroOp::read(k));
  }
  record_invoke(check::Op::transaction(invoked));
  Timestamp ts = 0;
  // A group that says a key has moved (or not yet arrived) sends the whole read back to the
  // location table, as for read-write transactions; the retry takes a fresh s_read.
  for (int redirects = 0;; ++redirects) {
    std::map<int, std::vector<std::string>> by_group;
    for (const auto& k : keys) {
      by_group[cluster_->group_of(k)].push_back(k);
    }
    // The paper's rule (§4.1.4, §4.2.2): one group reads at its leader's LastTS() (ts 0 asks
    // the leader for it), several at s_read = TT.now().latest; each leader serves once its
    // safe time reaches s_read. Nobody waits for TT.after(s_read).
    ts = by_group.size() == 1 ? 0 : cluster_->tt_now(node_->host().id()).latest.unix_ns();
    bool moved = false;
    result.reads.clear();
    for (const auto& [g, ks] : by_group) {
      ReadAtReq read_req{g, ks, ts, false};
      Payload read_payload = Payload::make<ReadAtReq>(std::move(read_req));
      RpcResult res = co_await call_leader(g, read_payload, 128, true);
      const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
      if (resp != nullptr && resp->st == St::kMoved && redirects < kMaxRedirects) {
        moved = true;
        break;
      }
      if (resp == nullptr || resp->st != St::kOk || resp->values.size() != ks.size()) {
        result.status = TxnResult::Status::kAborted;
        record_end(result, {});
        co_return result;
      }
      result.ts = resp->ts;
      for (std::size_t i = 0; i < ks.size(); ++i) {
        result.reads[ks[i]] = resp->values[i];
      }
    }
    if (!moved) {
      break;
    }
    co_await node_->sleep(Duration::millis(5));
  }
  result.status = TxnResult::Status::kCommitted;
  std::vector<check::MicroOp> done;
  for (const auto& k : keys) {
    const auto& v = result.reads[k];
    done.push_back(check::MicroOp::read(k, v ? check::Value::of(*v) : check::Value::nil()));
  }
  record_end(result, check::Op::transaction(done));
  co_return result;
}

Task<TxnResult> Client::snapshot_read(std::vector<std::string> keys, Timestamp ts) {
  TxnResult result;
  result.attempts = 1;
  result.ts = ts;
  world::ZoneId here = node_->host().zone();
  for (int redirects = 0;; ++redirects) {
    std::map<int, std::vector<std::string>> by_group;
    for (const auto& k : keys) {
      by_group[cluster_->group_of(k)].push_back(k);
    }
    bool moved = false;
    result.reads.clear();
    for (const auto& [g, ks] : by_group) {
      // The closest replica: one in this zone if the group has one, else the leader.
      std::optional<NodeId> local;
      for (NodeId n : cluster_->replicas(g)) {
        if (cluster_->zone_of(n) == here) {
          local = n;
        }
      }
      auto req = Payload::make<ReadAtReq>(ReadAtReq{g, ks, ts, true});
      RpcResult res;
      if (local) {
        res = co_await node_->call(*local, req, 128, cluster_->params().rpc_timeout);
      }
      const Resp* resp = res.ok() ? res.payload.get<Resp>() : nullptr;
      if (resp == nullptr || resp->st != St::kOk) {
        res = co_await call_leader(g, req, 128, true);
        resp = res.ok() ? res.payload.get<Resp>() : nullptr;
      }
      // The directory moved: look its location up again (the versions moved with it).
      if (resp != nullptr && resp->st == St::kMoved && redirects < kMaxRedirects) {
        moved = true;
        break;
      }
      if (resp == nullptr || resp->st != St::kOk || resp->values.size() != ks.size()) {
        result.status = TxnResult::Status::kAborted;
        co_return result;
      }
      for (std::size_t i = 0; i < ks.size(); ++i) {
        result.reads[ks[i]] = resp->values[i];
      }
    }
    if (!moved) {
      break;
    }
    co_await node_->sleep(Duration::millis(5));
  }
  result.status = TxnResult::Status::kCommitted;
  co_return result;
}

// --- workload -----------------------------------------------------------------------------------

namespace {

class WorkloadClient final : public world::Program {
public:
  WorkloadClient(Cluster& cluster, world::Node& node, std::int64_t history_id)
      : cluster_(&cluster),
        node_(&node),
        client_(cluster, node, history_id),
        rng_(node.sim().rng(fmt::format("spanner/client/{}/{}", node.name(), node.incarnation()))) {}

  void start(world::Node& node) override { node.spawn(loop()); }

private:
  void count(const std::string& scope, const TxnResult& r, Duration latency) {
    auto& m = node_->sim().metrics();
    m.counter("spanner." + scope + ".requests").inc();
    if (r.committed()) {
      m.counter("spanner." + scope + ".successes").inc();
      m.histogram("spanner." + scope + ".latency").record(latency);
    } else {
      m.counter("spanner." + scope + ".failures").inc();
    }
  }

  Task<void> loop() {
    const auto& p = cluster_->params();
    const auto& w = p.workload;
    std::uint64_t total = static_cast<std::uint64_t>(w.read_write_parts + w.read_only_parts + w.snapshot_parts);
    Time next_arrival = node_->sim().now();
    for (;;) {
      Duration gap = Duration::from_seconds(rng_.exponential(w.think_time.to_seconds()));
      Time start;
      if (w.open_loop) {
        // Arrivals keep their own clock: one due while the previous transaction ran waits in
        // the queue and starts at once; its latency counts from its arrival.
        next_arrival = next_arrival + gap;
        if (node_->sim().now() < next_arrival) {
          co_await node_->sleep(next_arrival - node_->sim().now());
        }
        start = next_arrival;
      } else {
        co_await node_->sleep(gap);
        start = node_->sim().now();
      }
      // Groups first (distinct), then keys spread over them.
      std::vector<int> groups;
      int want = std::min(w.groups_per_txn, p.groups);
      while (static_cast<int>(groups.size()) < want) {
        int g = static_cast<int>(rng_.below(static_cast<std::uint64_t>(p.groups)));
        if (std::find(groups.begin(), groups.end(), g) == groups.end()) {
          groups.push_back(g);
        }
      }
      std::vector<std::string> keys;
      for (int i = 0; i < w.keys_per_txn; ++i) {
        int g = groups[static_cast<std::size_t>(i) % groups.size()];
        std::int64_t lo = (static_cast<std::int64_t>(g) * p.keys + p.groups - 1) / p.groups;
        std::int64_t hi = (static_cast<std::int64_t>(g + 1) * p.keys + p.groups - 1) / p.groups - 1;
        std::string k = Cluster::key_name(static_cast<int>(rng_.uniform_int(lo, hi)));
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
          keys.push_back(k);
        }
      }
      std::uint64_t pick = rng_.below(total);
      if (pick < static_cast<std::uint64_t>(w.read_write_parts)) {
        Cluster* c = cluster_;
        std::function<Writes(const ReadValues&)> fresh = [c](const ReadValues& reads) {
          Writes out;
          for (const auto& [k, v] : reads) {
            out.emplace_back(k, c->next_value());
          }
          return out;
        };
        TxnResult r = co_await client_.read_write(keys, fresh);
        Duration lat = node_->sim().now() - start;
        count("rw", r, lat);
        count("txn", r, lat);
        if (client_.last_leader().valid()) {
          world::ZoneId z = cluster_->zone_of(client_.last_leader());
          count("rw/" + cluster_->world().topology().name(z), r, lat);
        }
      } else if (pick < static_cast<std::uint64_t>(w.read_write_parts + w.read_only_parts)) {
        TxnResult r = co_await client_.read_only(keys);
        Duration lat = node_->sim().now() - start;
        count("ro", r, lat);
        count("txn", r, lat);
      } else {
        Timestamp ts = cluster_->tt_now(node_->host().id()).latest.unix_ns() -
                       w.snapshot_staleness.ns();
        TxnResult r = co_await client_.snapshot_read(keys, ts);
        Duration lat = node_->sim().now() - start;
        count("snapshot", r, lat);
        count("txn", r, lat);
      }
    }
  }

  Cluster* cluster_;
  world::Node* node_;
  Client client_;
  Rng rng_;
};

}  // namespace

void Cluster::start_workload() {
  const auto& w = params_.workload;
  std::vector<int> zones = w.client_zones;
  if (zones.empty()) {
    for (int z = 0; z < params_.zones; ++z) {
      zones.push_back(z);
    }
  }
  for (int z : zones) {
    for (int c = 0; c < w.clients_per_zone; ++c) {
      world_->add_node(client_hosts_.at(z), fmt::format("{}-client{}", zone_name(z), c),
                       "client/" + zone_name(z), [this](world::Node& n) {
                         // Each incarnation is a new history client: an operation the crashed
                         // one left in flight stays pending (unknown outcome).
                         std::int64_t id = client_seq_++;
                         return std::make_unique<WorkloadClient>(
                             *this, n, params_.workload.record_history ? id : -1);
                       });
    }
  }
  start_placement_driver();
  if (params_.handoff_zone >= 0) {
    world_->sim().schedule_at(Time::zero() + params_.handoff_at,
                              [this] { hand_off_leaders_in_zone(params_.handoff_zone); });
  }
}

}  // namespace faultline::sim::spanner
