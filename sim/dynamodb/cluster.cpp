// The DynamoDB cluster: the layout (tables, partitions, placement on storage nodes), building
// the nodes in a world, the operator's levers and the probes. The programs live in
// metadata_program.hpp, storage_node.cpp and front_end.cpp.
#include <faultline/sim/dynamodb/cluster.hpp>

#include "cluster_state.hpp"
#include "metadata_program.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace faultline::sim::dynamodb {

using world::Node;
using world::NodeId;
using detail::ClientSpec;
using detail::MetadataProgram;
using State = DynamoDbCluster::State;

ClientMetricNames client_metric_names(std::string_view client) {
  const std::string p = fmt::format("dynamodb/client/{}/", client);
  return {p + "requests", p + "successes", p + "failures", p + "throttled", p + "latency"};
}

DynamoDbCluster::DynamoDbCluster(DynamoDbParams params)
    : params_(std::move(params)), state_(std::make_shared<State>()) {
  params_.validate();
  State& s = *state_;
  s.params = params_;
  const int zones = s.zones();
  const int per_zone = params_.storage.nodes_per_zone;
  const int n = s.storage_count();
  s.entries.assign(static_cast<std::size_t>(n), 0);
  s.serving.assign(static_cast<std::size_t>(n), 1);
  s.out_since.assign(static_cast<std::size_t>(n), Time::zero());
  s.stream_backlog.assign(static_cast<std::size_t>(n), 0);
  s.node_partitions.resize(static_cast<std::size_t>(n));
  s.catching_up.assign(static_cast<std::size_t>(n), 0);
  s.ready_count.assign(static_cast<std::size_t>(n), 0);
  s.cell_of.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    // Contiguous blocks of the zone-major fleet, so cells follow zones when cells == zones.
    s.cell_of[static_cast<std::size_t>(i)] =
        static_cast<int>(static_cast<std::int64_t>(i) * params_.metadata.cells / n);
  }
  // Placement: one replica per zone, the preferred leader's zone rotating with the partition;
  // within a zone, the node holding the fewest replicas so far (ties: a fixed shuffled order),
  // as a placement service balances partitions over its storage fleet. Balanced memberships
  // make every node's check-in cost the same, so whether a metadata host keeps up depends on
  // how many nodes call it at once, not on which node happens to hold more. The layout uses a
  // stream of its own, fixed by the seed-independent name "dynamodb/placement".
  Rng rng = Rng::derive(0x44594e414d4f4442ULL, "dynamodb/placement");
  s.assign_key.resize(static_cast<std::size_t>(n));
  for (auto& k : s.assign_key) {
    k = rng.next_u64();
  }
  // Each zone deals its nodes out in rounds, in a fresh shuffled order every round, so that
  // replica sets do not repeat (a fixed order would pair the same nodes of each zone forever).
  std::vector<std::vector<int>> zone_order(static_cast<std::size_t>(zones));
  std::vector<std::size_t> zone_cursor(static_cast<std::size_t>(zones), 0);
  for (int z = 0; z < zones; ++z) {
    for (int k = 0; k < per_zone; ++k) {
      zone_order[static_cast<std::size_t>(z)].push_back(z * per_zone + k);
    }
  }
  auto deal = [&](int zone) {
    auto& order = zone_order[static_cast<std::size_t>(zone)];
    auto& cursor = zone_cursor[static_cast<std::size_t>(zone)];
    if (cursor % order.size() == 0) {
      for (std::size_t k = order.size(); k > 1; --k) {  // Fisher-Yates with the layout stream
        std::swap(order[k - 1], order[rng.below(k)]);
      }
    }
    return order[cursor++ % order.size()];
  };
  s.spec_tables.resize(params_.tables.size());
  for (std::size_t spec = 0; spec < params_.tables.size(); ++spec) {
    const TableParams& tp = params_.tables[spec];
    for (int c = 0; c < tp.count; ++c) {
      TableInfo info;
      info.name = tp.count == 1 ? tp.name : fmt::format("{}-{}", tp.name, c);
      info.spec = tp.name;
      info.first_partition = static_cast<int>(s.partitions.size());
      info.partitions = tp.partitions_total();
      const int table_index = static_cast<int>(s.tables.size());
      s.spec_tables[spec].push_back(table_index);
      for (int p = 0; p < info.partitions; ++p) {
        PartitionInfo part;
        std::vector<int> slots;
        part.table = table_index;
        part.partition = p;
        for (int r = 0; r < params_.storage.replication; ++r) {
          const int zone = (static_cast<int>(s.partitions.size()) + r) % zones;
          const int node = deal(zone);  // least-loaded first: rounds of the zone's nodes
          part.replicas.push_back(node);
          ++s.entries[static_cast<std::size_t>(node)];
          auto& held = s.node_partitions[static_cast<std::size_t>(node)];
          slots.push_back(static_cast<int>(held.size()));
          held.push_back(static_cast<int>(s.partitions.size()));
        }
        s.partitions.push_back(std::move(part));
        s.slot.push_back(std::move(slots));
      }
      s.throughput.emplace_back(tp.throughput, info.partitions);
      s.tables.push_back(std::move(info));
    }
  }
  s.metadata_programs.assign(
      static_cast<std::size_t>(params_.metadata.instances + params_.metadata.added_instances),
      nullptr);
  s.active_instances = params_.metadata.instances;
}

DynamoDbCluster::~DynamoDbCluster() = default;

namespace {

int serving_count(const State& s) {
  int count = 0;
  for (int i = 0; i < s.storage_count(); ++i) {
    count += s.node_serving(i) ? 1 : 0;
  }
  return count;
}

double unavailable_fraction(const State& s) {
  // Which storage nodes are up, read once: every node holds replicas of many partitions, and
  // reading a world node per replica was 5 % of a 16x fleet's run (bench/growth.py).
  std::vector<std::uint8_t> node_up(s.storage_ids.size());
  for (std::size_t i = 0; i < node_up.size(); ++i) {
    node_up[i] = s.world->node(s.storage_ids[i]).up() ? 1 : 0;
  }
  std::size_t down = 0;
  for (const auto& p : s.partitions) {
    std::size_t up = 0;
    const int index = static_cast<int>(&p - s.partitions.data());
    for (std::size_t k = 0; k < p.replicas.size(); ++k) {
      const auto node = static_cast<std::size_t>(p.replicas[k]);
      up += node_up[node] != 0 && s.replica_serving_if_up(index, k, node) ? 1 : 0;
    }
    down += up * 2 <= p.replicas.size() ? 1 : 0;
  }
  return s.partitions.empty() ? 0.0 : static_cast<double>(down) / static_cast<double>(s.partitions.size());
}

double metadata_busy_fraction(const State& s) {
  int busy = 0;
  for (int j = 0; j < s.active_instances; ++j) {
    if (const auto* m = s.metadata_programs[static_cast<std::size_t>(j)]) {
      busy += m->busy();
    }
  }
  return static_cast<double>(busy) / (s.active_instances * s.params.metadata.cores);
}

}  // namespace

void DynamoDbCluster::build(world::World& w) {
  State& s = *state_;
  if (s.world != nullptr) {
    throw std::logic_error("DynamoDbCluster::build: already built");
  }
  s.world = &w;
  s.sim = &w.sim();
  Simulation& sim = w.sim();
  const auto region = w.add_region(params_.region);
  std::vector<world::ZoneId> zones;
  for (const auto& z : params_.zones) {
    zones.push_back(w.add_zone(region, z));
  }
  auto zone_at = [&](int i) { return zones[static_cast<std::size_t>(i) % zones.size()]; };

  world::HostParams meta_host = w.params().host_defaults;
  meta_host.cpu.cores = static_cast<std::uint32_t>(params_.metadata.cores);
  meta_host.cpu.sample_interval = Duration::zero();
  meta_host.nic_bandwidth_bps = params_.metadata.nic_bandwidth_bps;
  const int meta_total = params_.metadata.instances + params_.metadata.added_instances;
  for (int j = 0; j < meta_total; ++j) {
    auto h = w.add_host(zone_at(j), fmt::format("metadata-{}", j), meta_host);
    s.metadata_ids.push_back(w.add_node(h, fmt::format("metadata-{}", j),
                                        std::string(metadata_group()), [st = state_, j](Node&) {
                                          return std::make_unique<MetadataProgram>(st, j);
                                        }));
  }

  world::HostParams small_host = w.params().host_defaults;
  small_host.cpu.sample_interval = Duration::zero();
  world::HostParams storage_host = small_host;
  storage_host.cpu.cores = static_cast<std::uint32_t>(params_.storage.cores);
  const int per_zone = params_.storage.nodes_per_zone;
  for (int i = 0; i < s.storage_count(); ++i) {
    const int z = i / per_zone;
    auto h = w.add_host(zones[static_cast<std::size_t>(z)], fmt::format("storage-{}", i), storage_host);
    s.storage_ids.push_back(w.add_node(
        h, fmt::format("storage-{}", i), storage_group(params_.zones[static_cast<std::size_t>(z)]),
        [st = state_, i](Node&) { return detail::make_storage_program(st, i); }));
  }
  for (int i = 0; i < params_.routers; ++i) {
    auto h = w.add_host(zone_at(i), fmt::format("router-{}", i), small_host);
    s.router_ids.push_back(w.add_node(h, fmt::format("router-{}", i), std::string(router_group()),
                                      [st = state_](Node&) { return detail::make_router_program(st); }));
  }
  auto& specs = s.clients;
  specs.clear();
  auto tables_of = [&](const std::string& spec_name) {
    for (std::size_t i = 0; i < params_.tables.size(); ++i) {
      if (params_.tables[i].name == spec_name) {
        return s.spec_tables[i];
      }
    }
    return s.spec_tables.front();
  };
  for (const auto& c : params_.customers) {
    specs.push_back(ClientSpec{c.name, c.rate_per_s / c.processes, tables_of(c.table),
                               c.hot_fraction, c.timeout, c.start, false, c.processes});
  }
  if (params_.queue.enabled) {
    const auto& q = params_.queue;
    for (int i = 0; i < q.instances; ++i) {
      auto h = w.add_host(zone_at(i), fmt::format("{}-{}", q.name, i), small_host);
      s.queue_ids.push_back(w.add_node(h, fmt::format("{}-{}", q.name, i), q.name,
                                       [st = state_, i](Node&) { return detail::make_queue_program(st, i); }));
    }
    specs.push_back(ClientSpec{q.name + "-clients", q.rate_per_s / q.processes, tables_of(q.table),
                               0.0, q.timeout, Duration::zero(), true, q.processes});
  }
  // specs no longer grows: references into it stay valid.
  for (const auto& spec : specs) {
    for (int p = 0; p < spec.processes; ++p) {
      auto h = w.add_host(zone_at(p), fmt::format("{}-{}", spec.name, p), small_host);
      const ClientSpec* sp = &spec;
      w.add_node(h, fmt::format("{}-{}", spec.name, p), client_group(spec.name),
                 [st = state_, sp, p](Node&) { return detail::make_client_program(st, *sp, p); });
    }
  }

  // The operator's levers, as scheduled control-plane actions.
  const auto& mp = params_.metadata;
  if (mp.admit_limit_at > Duration::zero()) {
    sim.schedule_at(Time::zero() + mp.admit_limit_at, [st = state_] {
      st->admit_limited = true;
      st->sim->record("dynamodb", "admission-limit", {});
    });
  }
  if (mp.pause_at > Duration::zero()) {
    sim.schedule_at(Time::zero() + mp.pause_at, [st = state_] {
      st->paused = true;
      for (auto* m : st->metadata_programs) {
        if (m != nullptr) {
          m->drop_queue();
        }
      }
      st->sim->record("dynamodb", "pause", {});
    });
    sim.schedule_at(Time::zero() + mp.pause_at + mp.pause_for, [st = state_] {
      st->paused = false;
      st->active_instances = st->params.metadata.instances + st->params.metadata.added_instances;
      st->admit_limited = st->params.metadata.admit_rate_per_s > 0.0;
      st->sim->record("dynamodb", "unpause", {});
    });
  }

  // The model's own series, for C++ users and the story's plots.
  // The lambdas hold the shared state, not the cluster, which may be destroyed first.
  sim.sample_every("dynamodb/storage/in_service", params_.sample_interval, [st = state_] {
    return static_cast<double>(serving_count(*st)) / st->storage_count();
  });
  sim.sample_every("dynamodb/partitions/unavailable", params_.sample_interval,
                   [st = state_] { return unavailable_fraction(*st); });
  sim.sample_every("dynamodb/metadata/utilisation", params_.sample_interval,
                   [st = state_] { return metadata_busy_fraction(*st); });
}

const std::vector<TableInfo>& DynamoDbCluster::tables() const { return state_->tables; }
const std::vector<PartitionInfo>& DynamoDbCluster::partitions() const { return state_->partitions; }
int DynamoDbCluster::storage_nodes() const { return state_->storage_count(); }
int DynamoDbCluster::membership_entries(int node) const {
  return state_->entries.at(static_cast<std::size_t>(node));
}
std::uint64_t DynamoDbCluster::membership_bytes(int node) const { return state_->bytes(node); }
Duration DynamoDbCluster::checkin_cpu(int node) const { return state_->cpu(node); }
Duration DynamoDbCluster::checkin_timeout(int node) const { return state_->timeout(node); }
const std::vector<NodeId>& DynamoDbCluster::storage_node_ids() const { return state_->storage_ids; }

bool DynamoDbCluster::in_service(int node) const { return state_->node_serving(node); }

int DynamoDbCluster::storage_in_service() const { return serving_count(*state_); }

double DynamoDbCluster::storage_in_service_fraction() const {
  return static_cast<double>(serving_count(*state_)) / state_->storage_count();
}

double DynamoDbCluster::partitions_unavailable_fraction() const {
  return unavailable_fraction(*state_);
}

double DynamoDbCluster::metadata_utilisation() const { return metadata_busy_fraction(*state_); }

std::size_t DynamoDbCluster::metadata_queue_length() const {
  std::size_t q = 0;
  for (const auto* m : state_->metadata_programs) {
    q += m != nullptr ? m->queued() : 0;
  }
  return q;
}

std::vector<std::string> DynamoDbCluster::groups() const {
  std::vector<std::string> out{std::string(metadata_group()), std::string(router_group())};
  for (const auto& z : params_.zones) {
    out.push_back(storage_group(z));
  }
  for (const auto& c : params_.customers) {
    out.push_back(client_group(c.name));
  }
  if (params_.queue.enabled) {
    out.push_back(params_.queue.name);
    out.push_back(client_group(params_.queue.name + "-clients"));
  }
  return out;
}

}  // namespace faultline::sim::dynamodb