#include <faultline/sim/dynamodb/global_table.hpp>

#include <fmt/format.h>

#include <set>
#include <stdexcept>

namespace faultline::sim::dynamodb {

using world::Message;
using world::Node;
using world::NodeId;
using world::Payload;

bool lww_newer(const ItemVersion& a, const ItemVersion& b) {
  if (a.timestamp_ns != b.timestamp_ns) {
    return a.timestamp_ns > b.timestamp_ns;
  }
  return a.region > b.region;
}

bool LwwReplica::apply(const std::string& key, const ItemVersion& v) {
  auto it = items_.find(key);
  if (it == items_.end()) {
    items_.emplace(key, v);
    return true;
  }
  if (lww_newer(v, it->second)) {
    it->second = v;
    return true;
  }
  return false;
}

std::optional<ItemVersion> LwwReplica::get(const std::string& key) const {
  auto it = items_.find(key);
  if (it == items_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void GlobalTableParams::validate() const {
  if (regions.size() < 2) {
    throw std::invalid_argument("global_table.regions: a global table needs at least two regions");
  }
  std::set<std::string> names(regions.begin(), regions.end());
  if (names.size() != regions.size()) {
    throw std::invalid_argument("global_table.regions: region names must be distinct");
  }
}

namespace {
struct Replicate {
  std::string key;
  ItemVersion version;
};
constexpr std::uint64_t kReplicateBytes = 1024;
}  // namespace

struct GlobalTable::Impl {
  std::vector<NodeId> nodes;
  std::vector<LwwReplica> replicas;  // volatile state of each region's replica
  world::World* world = nullptr;
};

namespace {
class ReplicaProgram final : public world::Program {
public:
  ReplicaProgram(GlobalTable::Impl& impl, int region) : impl_(impl), region_(region) {}
  void start(Node& node) override {
    // A restarted replica starts empty (the model keeps no disk image).
    impl_.replicas[static_cast<std::size_t>(region_)] = LwwReplica{};
    node.on_message([this, &node](const Message& m) {
      if (const auto* r = m.payload.get<Replicate>()) {
        if (impl_.replicas[static_cast<std::size_t>(region_)].apply(r->key, r->version)) {
          node.sim().metrics().counter("dynamodb/global/applied").inc();
        } else {
          node.sim().metrics().counter("dynamodb/global/superseded").inc();
        }
      }
    });
  }

private:
  GlobalTable::Impl& impl_;
  int region_;
};
}  // namespace

GlobalTable::GlobalTable(GlobalTableParams params)
    : params_(std::move(params)), impl_(std::make_unique<Impl>()) {
  params_.validate();
  impl_->replicas.resize(params_.regions.size());
}

GlobalTable::~GlobalTable() = default;

void GlobalTable::build(world::World& w) {
  impl_->world = &w;
  for (std::size_t i = 0; i < params_.regions.size(); ++i) {
    const auto region = w.add_region(params_.regions[i]);
    const auto zone = w.add_zone(region, params_.regions[i] + "a");
    const auto host = w.add_host(zone, fmt::format("{}-{}", params_.name, params_.regions[i]));
    Impl* impl = impl_.get();
    const int r = static_cast<int>(i);
    impl_->nodes.push_back(w.add_node(host, fmt::format("{}-{}", params_.name, params_.regions[i]),
                                      params_.name, [impl, r](Node&) {
                                        return std::make_unique<ReplicaProgram>(*impl, r);
                                      }));
  }
}

void GlobalTable::write(int region, const std::string& key, const std::string& value) {
  Node& node = impl_->world->node(impl_->nodes.at(static_cast<std::size_t>(region)));
  if (!node.up()) {
    return;
  }
  ItemVersion v{value, node.clock_now().unix_ns(), region};
  impl_->replicas[static_cast<std::size_t>(region)].apply(key, v);
  for (std::size_t j = 0; j < impl_->nodes.size(); ++j) {
    if (static_cast<int>(j) != region) {
      node.send(impl_->nodes[j], Payload::make<Replicate>(Replicate{key, v}), kReplicateBytes);
    }
  }
}

const LwwReplica& GlobalTable::replica(int region) const {
  return impl_->replicas.at(static_cast<std::size_t>(region));
}

NodeId GlobalTable::node(int region) const { return impl_->nodes.at(static_cast<std::size_t>(region)); }

bool GlobalTable::converged() const {
  const auto& first = impl_->replicas.front().items();
  for (const auto& r : impl_->replicas) {
    if (r.items().size() != first.size()) {
      return false;
    }
    auto a = first.begin();
    for (const auto& [k, v] : r.items()) {
      if (a->first != k || a->second.value != v.value || a->second.timestamp_ns != v.timestamp_ns ||
          a->second.region != v.region) {
        return false;
      }
      ++a;
    }
  }
  return true;
}

}  // namespace faultline::sim::dynamodb
