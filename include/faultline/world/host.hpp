// A host: a machine in a zone, with its own clock, CPU, disk and NIC, running nodes.
//
// Host-level faults act on everything on the machine: a host crash kills every node on it
// and empties the disk's page cache; a restart boots them again (each from its factory); a
// pause freezes every node until resume (work already on the CPU finishes, but nothing it
// wakes runs until then). A CPU stall is its own fault (Cpu::stall).
#pragma once

#include <faultline/world/clock.hpp>
#include <faultline/world/cpu.hpp>
#include <faultline/world/disk.hpp>
#include <faultline/world/ids.hpp>
#include <faultline/world/params.hpp>

#include <string>
#include <vector>

namespace faultline::world {

class Node;
class World;

class Host {
public:
  Host(World& world, HostId id, std::string name, HostParams params);
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  HostId id() const { return id_; }
  const std::string& name() const { return name_; }
  ZoneId zone() const;
  RegionId region() const;
  World& world() const { return *world_; }

  Clock& clock() { return clock_; }
  const Clock& clock() const { return clock_; }
  Cpu& cpu() { return cpu_; }
  const Cpu& cpu() const { return cpu_; }
  Disk& disk() { return disk_; }
  const Disk& disk() const { return disk_; }
  const HostParams& params() const { return params_; }

  bool up() const { return up_; }
  bool paused() const { return paused_; }
  const std::vector<Node*>& nodes() const { return nodes_; }

  /// Power loss: every node crashes, the CPU drops its work, the disk loses its page cache.
  void crash();
  /// Boots every node again. No-op when up.
  void restart();
  void pause();
  void resume();

private:
  friend class World;
  World* world_;
  HostId id_;
  std::string name_;
  HostParams params_;
  Clock clock_;
  Cpu cpu_;
  Disk disk_;
  std::vector<Node*> nodes_;
  bool up_ = true;
  bool paused_ = false;
};

}  // namespace faultline::world
