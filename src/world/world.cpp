#include <faultline/world/world.hpp>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace faultline::world {

void WorldParams::validate() const {
  network.validate();
  host_defaults.validate();
}

namespace {
const WorldParams& validated(const WorldParams& p) {
  p.validate();
  return p;
}
}  // namespace

World::World(Simulation& sim, WorldParams params)
    : sim_(&sim),
      params_(validated(params)),
      leaps_(sim, params_.leap_seconds),
      topology_(params_.network),
      network_(std::make_unique<Network>(sim, topology_)),
      faults_(std::make_unique<FaultInjector>(*this)) {}

World::~World() {
  for (EventId e : boot_events_) {
    sim_->cancel(e);
  }
  faults_.reset();
  // Nodes (and their coroutine frames) go before the hosts whose CPUs and clocks they use.
  nodes_.clear();
  hosts_.clear();
}

HostId World::add_host(ZoneId z, std::string name, HostParams params) {
  params.validate();
  const HostId id = topology_.add_host(z, name);
  const std::int64_t bps = params.nic_bandwidth_bps;
  hosts_.push_back(std::make_unique<Host>(*this, id, std::move(name), std::move(params)));
  if (bps > 0) {
    network_->set_nic_bandwidth(id, bps);
  }
  return id;
}

void World::build(const TopologySpec& spec) {
  topology_.build(spec);
  while (hosts_.size() < topology_.host_count()) {
    const HostId id{static_cast<std::uint32_t>(hosts_.size())};
    hosts_.push_back(std::make_unique<Host>(*this, id, topology_.name(id), params_.host_defaults));
  }
}

NodeId World::add_node(HostId host, std::string name, std::string group, ProgramFactory factory) {
  if (!host.valid() || host.value() >= hosts_.size()) {
    throw std::invalid_argument(fmt::format("node '{}': no such host; add the host first", name));
  }
  if (name.empty() || node_names_.count(name) != 0) {
    throw std::invalid_argument(
        fmt::format("node name '{}' is empty or already used; give nodes unique names", name));
  }
  const NodeId id{static_cast<std::uint32_t>(nodes_.size())};
  node_names_.emplace(name, id);
  Host& h = *hosts_[host.value()];
  nodes_.push_back(std::make_unique<Node>(*this, id, h, std::move(name), std::move(group),
                                          std::move(factory)));
  Node* n = nodes_.back().get();
  h.nodes_.push_back(n);
  network_->attach(id, n);
  if (sim_->trace().noting()) [[unlikely]] {
    // Messages name nodes by id; a sink that draws them needs the names.
    sim_->trace().note(sim_->now(), "node", "added",
                       {{"id", id.value()}, {"node", n->name()}, {"group", n->group()},
                        {"host", h.name()}});
  }
  boot_events_.push_back(sim_->schedule_after(Duration::zero(), [n] { n->boot(); }));
  // Drop boots that have run once the list doubles since the last drop, not on every add past
  // a fixed size: a cluster built at time zero has every boot pending, and a scan per add made
  // building n nodes O(n^2) (6.5 % of a 16x elb run's instructions).
  if (boot_events_.size() > boot_prune_at_) {
    std::erase_if(boot_events_, [this](EventId e) { return !sim_->is_pending(e); });
    boot_prune_at_ = std::max<std::size_t>(1024, 2 * boot_events_.size());
  }
  return id;
}

Host* World::find_host(std::string_view name) {
  auto id = topology_.find_host(name);
  return id ? hosts_[id->value()].get() : nullptr;
}

Node* World::find_node(std::string_view name) {
  auto it = node_names_.find(name);
  return it == node_names_.end() ? nullptr : nodes_[it->second.value()].get();
}

std::vector<NodeId> World::group(std::string_view group) const {
  std::vector<NodeId> out;
  for (const auto& n : nodes_) {
    if (n->group() == group) {
      out.push_back(n->id());
    }
  }
  return out;
}

}  // namespace faultline::world
