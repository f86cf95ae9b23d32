#include <faultline/world/host.hpp>
#include <faultline/world/node.hpp>
#include <faultline/world/world.hpp>

namespace faultline::world {

Host::Host(World& world, HostId id, std::string name, HostParams params)
    : world_(&world),
      id_(id),
      name_(std::move(name)),
      params_(std::move(params)),
      clock_(world.sim(), world.leaps(), params_.clock, name_),
      cpu_(world.sim(), params_.cpu, name_),
      disk_(world.sim(), params_.disk, name_) {
  clock_.attach_cpu(&cpu_);
  clock_.start();
  cpu_.start();
}

ZoneId Host::zone() const { return world_->topology().zone_of(id_); }
RegionId Host::region() const { return world_->topology().region_of(id_); }

void Host::crash() {
  if (!up_) {
    return;
  }
  up_ = false;
  paused_ = false;
  for (Node* n : nodes_) {
    n->host_up_ = false;
    n->crash(true);
  }
  cpu_.reset();
  disk_.crash();
  world_->sim().record("host", "crash", {{"host", name_}});
}

void Host::restart() {
  if (up_) {
    return;
  }
  up_ = true;
  world_->sim().record("host", "restart", {{"host", name_}});
  for (Node* n : nodes_) {
    n->host_up_ = true;
    n->restart();
  }
}

void Host::pause() {
  if (!up_ || paused_) {
    return;
  }
  paused_ = true;
  for (Node* n : nodes_) {
    n->pause();
  }
}

void Host::resume() {
  if (!paused_) {
    return;
  }
  paused_ = false;
  for (Node* n : nodes_) {
    n->resume();
  }
}

}  // namespace faultline::world
