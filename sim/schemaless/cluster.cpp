// SchemalessCluster: builds the nodes in a World and answers the probes' and checkers'
// questions.
#include <faultline/world/layout.hpp>
#include "internal.hpp"

#include <fmt/format.h>

namespace faultline::sim::schemaless {

using world::NodeId;

const SchemalessMetricNames& metric_names() {
  static const SchemalessMetricNames names{
      "schemaless/writes/requests", "schemaless/writes/successes", "schemaless/writes/failures",
      "schemaless/writes/attempts", "schemaless/writes/latency",   "schemaless/reads/requests",
      "schemaless/reads/successes", "schemaless/reads/failures",   "schemaless/reads/attempts",
      "schemaless/reads/latency"};
  return names;
}

std::vector<std::string> SchemalessCluster::groups() {
  return {"billing", "clients", "monitor", "storage", "triggers", "workers"};
}

SchemalessCluster::SchemalessCluster(Simulation& sim, SchemalessParams params, bool with_riders)
    : s_(std::make_unique<State>()) {
  params.validate();
  State& s = *s_;
  s.sim = &sim;
  s.p = std::move(params);
  s.world = std::make_unique<world::World>(sim);
  world::World& w = *s.world;
  // Three datacenters as zones of one region (an assumption: Uber's were separate sites; the
  // cross-zone link class, 1-2 ms one way, stands in for them).
  const auto zones = world::add_region_with_zones(w, "uber", {"dc-1", "dc-2", "dc-3"});
  auto zone = [&](int i) { return world::round_robin(zones, i); };
  auto add = [&](world::ZoneId z, const std::string& name, const std::string& group,
                 world::ProgramFactory f) {
    return world::add_node_on_own_host(w, z, name, group, std::move(f));
  };
  const int clusters = s.p.storage.clusters;
  s.dir.assign(static_cast<std::size_t>(clusters), {});
  s.storage_ids.resize(static_cast<std::size_t>(clusters));
  s.stores.assign(static_cast<std::size_t>(clusters),
                  std::vector<detail::StorageProgram*>(static_cast<std::size_t>(s.replicas()),
                                                       nullptr));
  for (int c = 0; c < clusters; ++c) {
    // Masters spread over the zones; each minion in another zone than its master.
    for (int r = 0; r < s.replicas(); ++r) {
      s.storage_ids[static_cast<std::size_t>(c)].push_back(
          add(zone(c + r), fmt::format("store-{}-{}", c, r), "storage",
              detail::storage_factory(s, c, r)));
    }
  }
  s.monitor_id = add(zone(0), "monitor", "monitor", detail::monitor_factory(s));
  for (int i = 0; i < s.p.worker.workers; ++i) {
    s.worker_ids.push_back(
        add(zone(i), fmt::format("worker-{}", i), "workers", detail::worker_factory(s, i)));
  }
  if (s.p.triggers.enabled) {
    for (int i = 0; i < s.p.triggers.workers; ++i) {
      s.trigger_ids.push_back(add(zone(i + 1), fmt::format("trigger-{}", i), "triggers",
                                  detail::trigger_factory(s, i)));
    }
  }
  s.billing_id = add(zone(1), "billing", "billing", detail::billing_factory(s));
  if (with_riders) {
    s.riders_id = add(zone(2), "riders", "clients", detail::riders_factory(s));
  }
}

SchemalessCluster::~SchemalessCluster() { s_->world.reset(); }

world::World& SchemalessCluster::world() { return *s_->world; }
const SchemalessParams& SchemalessCluster::params() const { return s_->p; }
NodeId SchemalessCluster::worker_node(int i) const {
  return s_->worker_ids.at(static_cast<std::size_t>(i));
}
NodeId SchemalessCluster::storage_node(int cluster, int replica) const {
  return s_->storage_ids.at(static_cast<std::size_t>(cluster))
      .at(static_cast<std::size_t>(replica));
}
int SchemalessCluster::cluster_of(const std::string& row) const { return s_->cluster_of(row); }
int SchemalessCluster::master_of(int cluster) const {
  return s_->dir.at(static_cast<std::size_t>(cluster)).master;
}
std::uint64_t SchemalessCluster::epoch_of(int cluster) const {
  return s_->dir.at(static_cast<std::size_t>(cluster)).epoch;
}

const CellTable* SchemalessCluster::table(int cluster, int replica) const {
  const auto* p =
      s_->stores.at(static_cast<std::size_t>(cluster)).at(static_cast<std::size_t>(replica));
  return p == nullptr ? nullptr : &detail::table_of(*p);
}

std::size_t SchemalessCluster::buffered(int cluster, int replica) const {
  const auto* p =
      s_->stores.at(static_cast<std::size_t>(cluster)).at(static_cast<std::size_t>(replica));
  return p == nullptr ? 0 : detail::buffered_of(*p);
}

std::map<CellAddress, std::string> SchemalessCluster::stored_cells() const {
  std::map<CellAddress, std::string> out;
  for (int c = 0; c < s_->p.storage.clusters; ++c) {
    if (const CellTable* t = table(c, master_of(c))) {
      for (const auto& [a, cell] : t->cells()) {
        if (s_->cluster_of(a.row) == c) {
          out.emplace(a, cell.body);
        }
      }
    }
  }
  return out;
}

const std::vector<AckedWrite>& SchemalessCluster::acked_writes() const { return s_->acked; }
const std::vector<SessionRead>& SchemalessCluster::session_reads() const { return s_->reads; }
const check::History& SchemalessCluster::base_history() const { return s_->base_history; }
const std::vector<check::Effect>& SchemalessCluster::bills() const { return s_->bills; }

std::uint64_t SchemalessCluster::lost_cells() const {
  // Which tables the masters are: a new master (or a rebuilt one) means checking all again.
  std::vector<std::size_t> key;
  for (int c = 0; c < s_->p.storage.clusters; ++c) {
    key.push_back(static_cast<std::size_t>(master_of(c)));
    key.push_back(reinterpret_cast<std::uintptr_t>(table(c, master_of(c))));
  }
  auto& cache = s_->lost_cache;
  if (cache.key != key) {
    cache = {std::move(key), 0, {}};
  }
  auto missing = [&](std::size_t i) {
    const CellAddress& a = s_->acked[i].cell.address;
    const int c = s_->cluster_of(a.row);
    const CellTable* t = table(c, master_of(c));
    return t == nullptr || !t->contains(a);
  };
  std::vector<std::size_t> still;
  for (std::size_t i : cache.missing) {
    if (missing(i)) {
      still.push_back(i);
    }
  }
  for (; cache.checked < s_->acked.size(); ++cache.checked) {
    if (missing(cache.checked)) {
      still.push_back(cache.checked);
    }
  }
  cache.missing = std::move(still);
  return cache.missing.size();
}

std::uint64_t SchemalessCluster::buffered_cells() const {
  std::uint64_t n = 0;
  for (int c = 0; c < s_->p.storage.clusters; ++c) {
    n += buffered(c, master_of(c));
  }
  return n;
}

std::uint64_t SchemalessCluster::unbilled_trips() const {
  return s_->acked_trips.size() - s_->trips_acked_and_billed;
}

std::uint64_t SchemalessCluster::double_bills() const { return s_->extra_bills; }

std::uint64_t SchemalessCluster::failovers() const {
  const Counter* c = s_->sim->metrics().find_counter("schemaless/failovers");
  return c == nullptr ? 0 : c->value();
}

}  // namespace faultline::sim::schemaless
