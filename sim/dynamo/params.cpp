#include <faultline/sim/dynamo/params.hpp>

#include <set>
#include <stdexcept>

namespace faultline::sim::dynamo {

std::string_view to_string(Coordination c) {
  return c == Coordination::kClient ? "client" : "server";
}

std::optional<Coordination> parse_coordination(std::string_view text) {
  if (text == "client") {
    return Coordination::kClient;
  }
  if (text == "server") {
    return Coordination::kServer;
  }
  return std::nullopt;
}

namespace {
[[noreturn]] void bad(const std::string& field, const std::string& problem) {
  throw std::invalid_argument(field + ": " + problem);
}
}  // namespace

void DynamoParams::validate() const {
  if (nodes < 1 || nodes > 10000) {
    bad("nodes", "must be within [1, 10000]");
  }
  if (zones.empty()) {
    bad("zones", "is empty; name at least one zone");
  }
  std::set<std::string> zone_set(zones.begin(), zones.end());
  if (zone_set.size() != zones.size()) {
    bad("zones", "names a zone twice; give each zone once");
  }
  if (ring.tokens_per_node < 1 || ring.tokens_per_node > 4096) {
    bad("ring.tokens_per_node", "must be within [1, 4096]");
  }
  if (ring.partitions != 0 && ring.partitions < nodes) {
    bad("ring.partitions", "is below nodes; use at least one partition per node (or 0)");
  }
  if (n < 1 || n > nodes) {
    bad("n", "must be within [1, nodes]; use at most as many replicas as nodes");
  }
  if (r < 1 || r > n) {
    bad("r", "must be within [1, n]");
  }
  if (w < 1 || w > n) {
    bad("w", "must be within [1, n]");
  }
  if (clock_max_entries < 0) {
    bad("clock_max_entries", "must be >= 0 (0 = never truncate)");
  }
  if (replica_timeout <= Duration::zero()) {
    bad("replica_timeout", "must be positive");
  }
  if (handoff_in_flight < 1 || handoff_in_flight > 100000) {
    bad("handoff_in_flight", "must be within [1, 100000]");
  }
  if (merkle_depth < 0 || merkle_depth > 20) {
    bad("merkle_depth", "must be within [0, 20]");
  }
  if (gossip_interval <= Duration::zero()) {
    bad("gossip_interval", "must be positive");
  }
  if (seeds < 1 || seeds > nodes) {
    bad("seeds", "must be within [1, nodes]");
  }
  if (failure_timeout <= gossip_interval) {
    bad("failure_timeout", "must exceed gossip_interval, or every peer looks down");
  }
  if (suspect_for < Duration::zero()) {
    bad("suspect_for", "must be >= 0");
  }
  if (write_buffer && flush_interval <= Duration::zero()) {
    bad("flush_interval", "must be positive when write_buffer is on");
  }
  if (storage.read_sigma < 0 || storage.read_sigma > 4) {
    bad("storage.read_sigma", "must be within [0, 4]");
  }
  if (storage.write_sigma < 0 || storage.write_sigma > 4) {
    bad("storage.write_sigma", "must be within [0, 4]");
  }
  if (storage.read_median <= Duration::zero() || storage.write_median <= Duration::zero()) {
    bad("storage", "read_median and write_median must be positive");
  }
  if (storage.buffer_write < Duration::zero() || storage.flush_per_object < Duration::zero()) {
    bad("storage", "buffer_write and flush_per_object must be >= 0");
  }
  if (storage.buffer_objects < 1) {
    bad("storage.buffer_objects", "must be at least 1");
  }
  if (cpu.workers < 1 || cpu.workers > 1024) {
    bad("cpu.workers", "must be within [1, 1024]");
  }
  if (storage.disks < 1 || storage.disks > 64) {
    bad("storage.disks", "must be within [1, 64]");
  }
  for (const auto& [name, d] : {std::pair{"replica", cpu.replica}, {"coordinate", cpu.coordinate},
                                {"reconcile", cpu.reconcile}, {"forward", cpu.forward},
                                {"load_balancer", cpu.load_balancer}}) {
    if (d < Duration::zero()) {
      bad(std::string("cpu.") + name, "must be >= 0");
    }
  }
  if (load_balancers < 0 || load_balancers > 1000) {
    bad("load_balancers", "must be within [0, 1000]");
  }
  if (load_window <= Duration::zero()) {
    bad("load_window", "must be positive");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const auto& c = clients[i];
    const std::string at = "clients[" + std::to_string(i) + "].";
    if (c.name.empty() || !names.insert(c.name).second) {
      bad(at + "name", "must be non-empty and unique");
    }
    if (!c.zone.empty() && !zone_set.contains(c.zone)) {
      bad(at + "zone", "\"" + c.zone + "\" is not one of zones");
    }
    if (c.processes < 1 || c.processes > 10000) {
      bad(at + "processes", "must be within [1, 10000]");
    }
    if (c.rate_per_s < 0) {
      bad(at + "rate_per_s", "must be >= 0");
    }
    if (c.carts < 1) {
      bad(at + "carts", "must be at least 1");
    }
    if (c.remove_fraction < 0 || c.remove_fraction > 1) {
      bad(at + "remove_fraction", "must be within [0, 1]");
    }
    if (c.stop < c.start) {
      bad(at + "stop", "is before start");
    }
    if (c.attempt_timeout <= Duration::zero()) {
      bad(at + "attempt_timeout", "must be positive");
    }
    if (c.attempts < 1 || c.attempts > 100) {
      bad(at + "attempts", "must be within [1, 100]");
    }
    if (c.membership_poll <= Duration::zero()) {
      bad(at + "membership_poll", "must be positive");
    }
  }
}

}  // namespace faultline::sim::dynamo
