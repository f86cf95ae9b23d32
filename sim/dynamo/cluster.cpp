// The Dynamo cluster: building the ring and the processes in a world, the client API (get,
// put, the shopping cart's add and remove) and inspection. The storage node, the coordinator
// and the front end live in storage_node.cpp, coordinator.cpp and front_end.cpp.
#include <faultline/sim/dynamo/cluster.hpp>

#include "cluster_impl.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace faultline::sim::dynamo {

using detail::ClientAccess;
using detail::ClientGetReq;
using detail::ClientPutReq;
using detail::ClientReply;
using detail::start_read;
using detail::start_write;
using detail::StorageNodeAccess;
using world::Node;
using world::Payload;
using world::RpcResult;

MetricNames client_metric_names(std::string_view client) {
  const std::string p = "dynamo.client/" + std::string(client);
  return {p + ".requests", p + ".successes", p + ".failures", p + ".attempts", p + ".latency"};
}

MetricNames op_metric_names(std::string_view op) {
  const std::string p = "dynamo." + std::string(op);
  return {p + ".requests", p + ".successes", p + ".failures", p + ".attempts", p + ".latency"};
}

std::vector<Version> Cluster::Impl::local_data(std::uint32_t i, const std::string& key) const {
  std::vector<Version> out;
  auto it = disks[i].data.find(key);
  if (it != disks[i].data.end()) {
    out = it->second;
  }
  Node& n = world->node(storage_ids[i]);
  if (n.up() && n.program() != nullptr) {
    n.program_as<StorageNodeAccess>().add_buffered(key, out);
  }
  return out;
}

std::vector<Version> Cluster::Impl::all_versions(std::uint32_t i, const std::string& key) const {
  std::vector<Version> out = local_data(i, key);
  const detail::NodeDisk& d = disks[i];
  if (auto o = d.hint_owners.find(key); o != d.hint_owners.end()) {
    for (const std::uint32_t owner : o->second) {  // ascending, as the hints' own order
      apply_versions(out, d.hints.at({owner, key}), p.reconcile);
    }
  }
  return out;
}

Task<void> Cluster::Impl::load_windows() {
  while (true) {
    co_await sim->sleep(p.load_window);
    owner_last = owner_cur;
    replica_last = replica_cur;
    std::fill(owner_cur.begin(), owner_cur.end(), 0);
    std::fill(replica_cur.begin(), replica_cur.end(), 0);
    have_window = true;
  }
}

Cluster::Cluster(DynamoParams params) : impl_(std::make_unique<Impl>()) {
  params.validate();
  impl_->p = std::move(params);
}

Cluster::~Cluster() = default;

const DynamoParams& Cluster::params() const { return impl_->p; }
const Ring& Cluster::ring() const { return *impl_->ring; }
world::NodeId Cluster::storage_node(int i) const {
  return impl_->storage_ids.at(static_cast<std::size_t>(i));
}
std::vector<world::NodeId> Cluster::client_nodes(std::string_view client) const {
  auto it = impl_->client_ids.find(client);
  return it == impl_->client_ids.end() ? std::vector<world::NodeId>{} : it->second;
}

void Cluster::build(world::World& world) {
  Impl& c = *impl_;
  if (c.world != nullptr) {
    throw std::logic_error("dynamo: Cluster::build called twice");
  }
  c.world = &world;
  c.sim = &world.sim();
  const auto nodes = static_cast<std::uint32_t>(c.p.nodes);
  Rng ring_rng = c.sim->rng("dynamo/ring");
  c.ring = std::make_unique<Ring>(nodes, c.p.ring, ring_rng);
  c.disks.resize(nodes);
  c.owner_cur.assign(nodes, 0);
  c.replica_cur.assign(nodes, 0);
  c.owner_last.assign(nodes, 0);
  c.replica_last.assign(nodes, 0);
  c.arcs_of_node.resize(nodes);
  for (std::size_t a = 0; a < c.ring->tokens().size(); ++a) {
    c.replicas_of_arc.push_back(c.ring->preference_list_of_arc(a, static_cast<std::size_t>(c.p.n)));
    for (auto n : c.replicas_of_arc.back()) {
      c.arcs_of_node[n].push_back(a);
    }
  }
  auto region = world.add_region("dc");
  std::vector<world::ZoneId> zones;
  for (const auto& z : c.p.zones) {
    zones.push_back(world.add_zone(region, z));
  }
  for (std::uint32_t i = 0; i < nodes; ++i) {
    c.storage_rng.push_back(c.sim->rng("dynamo/node/" + std::to_string(i) + "/storage"));
    c.gossip_rng.push_back(c.sim->rng("dynamo/node/" + std::to_string(i) + "/gossip"));
  }
  world::HostParams node_host = world.params().host_defaults;
  node_host.cpu.cores = static_cast<std::uint32_t>(c.p.cpu.workers);
  for (std::uint32_t i = 0; i < nodes; ++i) {
    const std::string name = node_name(static_cast<int>(i));
    auto host = world.add_host(zones[i % zones.size()], name, node_host);
    Impl* cp = &c;
    c.storage_ids.push_back(world.add_node(host, name, std::string(kNodeGroup), [cp, i](Node&) {
      return detail::make_storage_program(*cp, i);
    }));
  }
  auto zone_of = [&c](const ClientParams& client) {
    std::size_t zone = 0;
    for (std::size_t z = 0; z < c.p.zones.size(); ++z) {
      if (c.p.zones[z] == client.zone) {
        zone = z;
      }
    }
    return zone;
  };
  // Load balancers, in each zone that has server-driven clients.
  for (const auto& client : c.p.clients) {
    const std::size_t zone = zone_of(client);
    auto& lbs = c.balancers_of_zone[c.p.zones[zone]];
    if (client.coordination != Coordination::kServer || !lbs.empty()) {
      continue;
    }
    for (int j = 0; j < c.p.load_balancers; ++j) {
      const std::string name = "lb-" + c.p.zones[zone] + "-" + std::to_string(j);
      auto host = world.add_host(zones[zone], name);
      Impl* cp = &c;
      lbs.push_back(world.add_node(host, name, std::string(kBalancerGroup), [cp, name](Node&) {
        return detail::make_balancer_program(*cp, name);
      }));
    }
  }
  std::uint32_t next_writer = 0;
  for (const auto& client : c.p.clients) {
    const std::size_t zone = zone_of(client);
    auto& ids = c.client_ids[client.name];
    for (int j = 0; j < client.processes; ++j) {
      const std::string name = client.name + "-" + std::to_string(j);
      auto host = world.add_host(zones[zone], name);
      const ClientParams* cl = &client;
      // Client-driven coordination writes clock entries under the client's own id, after the
      // storage nodes' ids (the paper's note that clocks grow with the number of coordinators,
      // hence truncation, applies).
      const auto writer_id = static_cast<std::uint32_t>(nodes + next_writer++);
      ids.push_back(world.add_node(host, name, client_group(client.name),
                                   [this, cl, j, writer_id](Node&) {
                                     return detail::make_client_program(*this, *impl_, *cl, j, writer_id);
                                   }));
    }
  }
  c.process = std::make_unique<Process>(*c.sim, "dynamo/load");
  c.process->spawn(c.load_windows());
}

// --- client API ---------------------------------------------------------------------------

namespace {
struct Measure {
  Simulation& sim;
  MetricNames names;
  Time started;
  Measure(Simulation& s, MetricNames n) : sim(s), names(std::move(n)), started(s.now()) {
    sim.metrics().counter(names.requests).inc();
  }
  void attempt() { sim.metrics().counter(names.attempts).inc(); }
  void done(bool ok) {
    if (ok) {
      sim.metrics().counter(names.successes).inc();
      sim.metrics().histogram(names.latency).record(sim.now() - started);
    } else {
      sim.metrics().counter(names.failures).inc();
    }
  }
};
}  // namespace

Task<GetResult> Cluster::get(world::Node& client, std::string key) {
  Impl& c = *impl_;
  auto& prog = client.program_as<ClientAccess>();
  const ClientParams& cp = prog.params();
  Measure m(*c.sim, op_metric_names("get"));
  GetResult out;
  for (int attempt = 0; attempt < cp.attempts && !out.ok; ++attempt) {
    m.attempt();
    if (cp.coordination == Coordination::kClient) {
      Completion<GetResult> done(*c.sim);
      start_read(c, client, prog.cpu(), prog.view(), key, [done](bool ok, std::vector<Version> vs) mutable {
        done.set(GetResult{ok, std::move(vs)});
      });
      std::optional<GetResult> r = co_await done.wait_for(cp.attempt_timeout);
      if (r && r->ok) {
        out = std::move(*r);
      }
    } else {
      auto req = Payload::make<ClientGetReq>(key, false);
      RpcResult r = co_await client.call(c.server_entry(prog.rng(), cp), req,
                                         static_cast<std::uint64_t>(cp.request_bytes),
                                         cp.attempt_timeout);
      const auto* rep = r.ok() ? r.payload.get<ClientReply>() : nullptr;
      if (rep != nullptr && rep->ok) {
        out.ok = true;
        out.versions = rep->versions;
      }
    }
  }
  m.done(out.ok);
  if (out.ok) {
    ++c.gets_ok;
    if (out.versions.size() > 1) {
      ++c.gets_divergent;
      c.sim->metrics().counter("dynamo.get.divergent").inc();
    }
  }
  co_return out;
}

Task<bool> Cluster::put(world::Node& client, std::string key, VectorClock context,
                        std::vector<std::string> items) {
  Impl& c = *impl_;
  auto& prog = client.program_as<ClientAccess>();
  const ClientParams& cp = prog.params();
  Measure m(*c.sim, op_metric_names("put"));
  bool ok = false;
  for (int attempt = 0; attempt < cp.attempts && !ok; ++attempt) {
    m.attempt();
    if (cp.coordination == Coordination::kClient) {
      Completion<bool> done(*c.sim);
      start_write(c, client, prog.cpu(), prog.view(), prog.writer(), key, context, items,
                  [done](bool success) mutable { done.set(success); });
      std::optional<bool> r = co_await done.wait_for(cp.attempt_timeout);
      ok = r.value_or(false);
    } else {
      auto req = Payload::make<ClientPutReq>(key, context, items, false);
      RpcResult r = co_await client.call(c.server_entry(prog.rng(), cp), req,
                                         static_cast<std::uint64_t>(cp.request_bytes),
                                         cp.attempt_timeout);
      const auto* rep = r.ok() ? r.payload.get<ClientReply>() : nullptr;
      ok = rep != nullptr && rep->ok;
    }
  }
  m.done(ok);
  co_return ok;
}

Task<bool> Cluster::cart_add(world::Node& client, std::string cart, std::string item) {
  return cart_update(client, CartOp::Kind::kAdd, std::move(cart), std::move(item));
}

Task<bool> Cluster::cart_remove(world::Node& client, std::string cart, std::string item) {
  return cart_update(client, CartOp::Kind::kRemove, std::move(cart), std::move(item));
}

Task<bool> Cluster::cart_update(world::Node& client, CartOp::Kind kind, std::string cart,
                                std::string item) {
  Impl& c = *impl_;
  const std::string& who = client.program_as<ClientAccess>().params().name;
  Measure m(*c.sim, client_metric_names(who));
  const std::size_t index = c.history.size();
  c.history.push_back({kind, cart, item, c.sim->now(), false});
  GetResult g = co_await get(client, cart);
  bool ok = false;
  if (g.ok) {
    Reconciled rec = reconcile(g.versions, c.p.reconcile);
    if (kind == CartOp::Kind::kAdd) {
      insert_item(rec.items, item);
    } else {
      erase_item(rec.items, item);
    }
    ok = co_await put(client, cart, rec.context, rec.items);
  }
  c.history[index].ok = ok;
  m.done(ok);
  c.sim->record("dynamo", kind == CartOp::Kind::kAdd ? "cart_add" : "cart_remove",
                {{"cart", cart}, {"item", item}, {"ok", ok}});
  co_return ok;
}

// --- inspection ---------------------------------------------------------------------------

std::vector<Version> Cluster::replica_versions(int i, const std::string& key) const {
  return impl_->all_versions(static_cast<std::uint32_t>(i), key);
}

std::size_t Cluster::hints_held(int i) const {
  return impl_->disks.at(static_cast<std::size_t>(i)).hints.size();
}

bool Cluster::believes_healthy(int observer, int peer) const {
  const Impl& c = *impl_;
  Node& n = c.world->node(c.storage_ids.at(static_cast<std::size_t>(observer)));
  if (!n.up() || n.program() == nullptr) {
    return false;
  }
  return n.program_as<StorageNodeAccess>().view().healthy(static_cast<std::uint32_t>(peer),
                                                        c.sim->now(), c.p.failure_timeout);
}

std::size_t Cluster::hints_pending() const {
  std::size_t n = 0;
  for (const auto& d : impl_->disks) {
    n += d.hints.size();
  }
  return n;
}

std::vector<std::string> Cluster::keys() const {
  // Every copy of every key, then sorted and deduplicated: the order does not depend on the
  // disks' hash maps (and a sort is cheaper than a tree insert per copy).
  std::vector<std::string> all;
  for (const auto& d : impl_->disks) {
    for (const auto& [key, vs] : d.data) {
      all.push_back(key);
    }
    for (const auto& [hk, vs] : d.hints) {
      all.push_back(hk.second);
    }
  }
  const Impl& c = *impl_;
  for (std::uint32_t i = 0; i < c.storage_ids.size(); ++i) {
    Node& n = c.world->node(c.storage_ids[i]);
    if (n.up() && n.program() != nullptr) {
      n.program_as<StorageNodeAccess>().buffered_keys(all);
    }
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

std::size_t Cluster::divergent_keys() const {
  const Impl& c = *impl_;
  std::size_t n = 0;
  for (const auto& key : keys()) {
    auto natural = c.ring->preference_list(key_position(key), static_cast<std::size_t>(c.p.n));
    std::set<std::uint64_t> digests;
    for (auto r : natural) {
      if (c.live(r)) {
        digests.insert(versions_digest(c.local_data(r, key)));
      }
    }
    n += digests.size() > 1 ? 1 : 0;
  }
  return n;
}

std::map<std::string, std::vector<std::string>> Cluster::final_carts() const {
  const Impl& c = *impl_;
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& key : keys()) {
    std::vector<Version> merged;
    for (std::uint32_t i = 0; i < c.storage_ids.size(); ++i) {
      apply_versions(merged, c.all_versions(i, key), c.p.reconcile);
    }
    out[key] = reconcile(merged, c.p.reconcile).items;
  }
  return out;
}

const std::vector<CartOp>& Cluster::cart_history() const { return impl_->history; }

CartAudit Cluster::audit() const { return audit_carts(impl_->history, final_carts()); }

check::CheckResult Cluster::check_cart_adds_kept() const {
  return dynamo::check_cart_adds_kept(impl_->history, final_carts());
}

std::vector<std::uint64_t> Cluster::owner_load() const { return impl_->owner_last; }
std::vector<std::uint64_t> Cluster::replica_load() const { return impl_->replica_last; }

namespace {
double max_ratio(const Cluster::Impl& c, const std::vector<std::uint64_t>& load) {
  double sum = 0;
  double max = 0;
  std::size_t live = 0;
  for (std::uint32_t i = 0; i < load.size(); ++i) {
    if (!c.live(i)) {
      continue;
    }
    ++live;
    sum += static_cast<double>(load[i]);
    max = std::max(max, static_cast<double>(load[i]));
  }
  if (!c.have_window || live == 0 || sum == 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return max / (sum / static_cast<double>(live));
}
}  // namespace

double Cluster::max_owner_load_ratio() const { return max_ratio(*impl_, impl_->owner_last); }
double Cluster::max_replica_load_ratio() const { return max_ratio(*impl_, impl_->replica_last); }

double Cluster::out_of_balance_fraction() const {
  const Impl& c = *impl_;
  double sum = 0;
  std::size_t live = 0;
  for (std::uint32_t i = 0; i < c.owner_last.size(); ++i) {
    if (c.live(i)) {
      ++live;
      sum += static_cast<double>(c.owner_last[i]);
    }
  }
  if (!c.have_window || live == 0 || sum == 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double mean = sum / static_cast<double>(live);
  std::size_t out = 0;
  for (std::uint32_t i = 0; i < c.owner_last.size(); ++i) {
    if (c.live(i) && std::abs(static_cast<double>(c.owner_last[i]) - mean) > 0.15 * mean) {
      ++out;
    }
  }
  return static_cast<double>(out) / static_cast<double>(live);
}

double Cluster::divergent_read_fraction() const {
  const Impl& c = *impl_;
  return c.gets_ok == 0 ? 0.0
                        : static_cast<double>(c.gets_divergent) / static_cast<double>(c.gets_ok);
}

}  // namespace faultline::sim::dynamo
