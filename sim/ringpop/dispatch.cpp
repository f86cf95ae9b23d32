// Dispatch on Ringpop: geo cells owned through the ring, drivers held in owners' memory,
// riders matched at the owner of their cell (see dispatch.hpp).
#include <faultline/sim/ringpop/cluster.hpp>
#include <faultline/sim/ringpop/dispatch.hpp>
#include <faultline/sim/ringpop/ring.hpp>
#include <faultline/sim/ringpop/swim.hpp>

#include <faultline/assert.hpp>
#include <algorithm>
#include <stdexcept>

#include <memory>
#include <string>

namespace faultline::sim::ringpop {

namespace {
constexpr std::string_view kPrefix = "ringpop.dispatch.";
std::string metric(std::string_view what) { return std::string(kPrefix) + std::string(what); }
}  // namespace

void DispatchParams::validate() const {
  auto bad = [](const std::string& field, const std::string& problem) {
    throw std::invalid_argument("dispatch." + field + ": " + problem);
  };
  if (cells_x == 0 || cells_y == 0 || cells_x > 1000 || cells_y > 1000) {
    bad("cells_x", "cells_x and cells_y must be 1..1000");
  }
  if (move_percent > 100) {
    bad("move_percent", "must be 0..100");
  }
  if (report_interval <= Duration::zero()) {
    bad("report_interval", "must be positive");
  }
  if (driver_ttl <= Duration::zero()) {
    bad("driver_ttl", "must be positive");
  }
  if (rider_interval <= Duration::zero()) {
    bad("rider_interval", "must be positive (the mean gap between rider requests)");
  }
  if (match_cpu_per_driver < Duration::zero()) {
    bad("match_cpu_per_driver", "must be >= 0");
  }
  if (handoff_check <= Duration::zero()) {
    bad("handoff_check", "must be positive");
  }
  if (rider_timeout <= Duration::zero()) {
    bad("rider_timeout", "must be positive (how long a rider app waits for dispatch's answer)");
  }
}

std::uint64_t Dispatch::cell_key(std::uint32_t cell) {
  // Distinct from member and test keys: cells hash from their own namespace.
  return hash_u64(0xd15a7c4000000000ULL ^ cell);
}

Dispatch::Dispatch(DispatchParams params, RingpopCluster& cluster)
    : params_(std::move(params)), cluster_(&cluster),
      rng_(cluster.shared().sim().rng("ringpop/dispatch")) {
  params_.validate();
  ClusterShared& shared = cluster_->shared();
  shards_.resize(shared.size());
  driver_cell_.resize(params_.drivers);
  Simulation& sim = shared.sim();
  for (std::uint32_t d = 0; d < params_.drivers; ++d) {
    driver_cell_[d] = static_cast<std::uint32_t>(rng_.below(cells()));
    // Spread the first reports over one interval, so drivers do not report in lockstep.
    const Duration first = Duration::nanos(
        static_cast<std::int64_t>(rng_.below(static_cast<std::uint64_t>(params_.report_interval.ns()))));
    sim.schedule_after(first, [this, d] { driver_report(d); });
  }
  for (MemberId m = 0; m < shared.size(); ++m) {
    sim.schedule_after(params_.handoff_check, [this, m] { handoff_tick(m); });
  }
  sim.schedule_after(Duration::nanos(static_cast<std::int64_t>(
                         rng_.exponential(static_cast<double>(params_.rider_interval.ns())))),
                     [this] { next_rider(); });
}

std::size_t Dispatch::drivers_held(MemberId m, std::uint32_t cell) const {
  const Shard& s = shards_[m];
  ClusterShared& shared = cluster_->shared();
  const world::Node& node = shared.world().node(shared.node_of(m));
  if (shared.member(m) == nullptr || !node.up() || node.incarnation() != s.incarnation) {
    return 0;
  }
  auto it = s.cells.find(cell);
  return it == s.cells.end() ? 0 : it->second.size();
}

std::size_t Dispatch::drivers_held(MemberId m) const {
  std::size_t n = 0;
  for (std::uint32_t c = 0; c < cells(); ++c) {
    n += drivers_held(m, c);
  }
  return n;
}

Dispatch::Shard& Dispatch::shard(MemberId m) {
  Shard& s = shards_[m];
  ClusterShared& shared = cluster_->shared();
  const world::Node& node = shared.world().node(shared.node_of(m));
  s.holder = node.up() ? shared.member(m) : nullptr;
  const std::uint64_t inc = s.holder == nullptr ? 0 : node.incarnation();
  if (s.incarnation != inc) {
    // A crash (or a new incarnation): the old one's memory is gone.
    s.incarnation = inc;
    s.cells.clear();
    s.ring_checksum = 0;
  }
  return s;
}

SwimMember* Dispatch::entry_member() {
  ClusterShared& shared = cluster_->shared();
  // A load balancer in front of dispatch: a random member that is up. Bounded tries, so a
  // mostly-down cluster does not loop.
  for (int tries = 0; tries < 16; ++tries) {
    const MemberId m = static_cast<MemberId>(rng_.below(shared.size()));
    SwimMember* s = shared.member(m);
    if (s != nullptr &&
        shared.world().node(shared.node_of(m)).state() == world::NodeState::kUp) {
      return s;
    }
  }
  return nullptr;
}

void Dispatch::store(MemberId owner, std::uint32_t cell, std::uint32_t driver) {
  Shard& s = shard(owner);
  if (s.holder == nullptr) {
    return;
  }
  // The driver is in exactly one cell: drop it from the cell it was in, if this owner holds it.
  for (auto& [c, drivers] : s.cells) {
    if (c != cell) {
      drivers.erase(driver);
    }
  }
  s.cells[cell][driver] = cluster_->shared().sim().now();
}

void Dispatch::driver_report(std::uint32_t d) {
  Simulation& sim = cluster_->shared().sim();
  sim.schedule_after(params_.report_interval, [this, d] { driver_report(d); });
  if (rng_.below(100) < params_.move_percent) {
    // Move to a neighbouring cell of the grid (4-neighbourhood, clamped at the city's edge).
    const std::uint32_t x = driver_cell_[d] % params_.cells_x;
    const std::uint32_t y = driver_cell_[d] / params_.cells_x;
    const std::uint64_t dir = rng_.below(4);
    const std::uint32_t nx = dir == 0 && x + 1 < params_.cells_x ? x + 1 : dir == 1 && x > 0 ? x - 1 : x;
    const std::uint32_t ny = dir == 2 && y + 1 < params_.cells_y ? y + 1 : dir == 3 && y > 0 ? y - 1 : y;
    driver_cell_[d] = ny * params_.cells_x + nx;
  }
  SwimMember* at = entry_member();
  if (at == nullptr) {
    sim.metrics().counter(metric("reports_failed")).inc();
    return;
  }
  const std::uint32_t cell = driver_cell_[d];
  at->request(cell_key(cell), [this, d, cell](const RequestOutcome& o) {
    Simulation& s = cluster_->shared().sim();
    if (!o.ok) {
      s.metrics().counter(metric("reports_failed")).inc();
      return;
    }
    s.metrics().counter(metric("reports")).inc();
    store(o.handled_by, cell, d);
  });
}

void Dispatch::rider(std::uint32_t cell, std::function<void(bool matched)> done) {
  Simulation& sim = cluster_->shared().sim();
  sim.metrics().counter(metric("riders")).inc();
  auto call = std::make_shared<RiderCall>(RiderCall{false, std::move(done)});
  SwimMember* at = entry_member();
  if (at == nullptr) {
    answer(*call, false, "rider_failed");
    return;
  }
  // The rider app's own deadline: whatever happens inside dispatch (an entry member or owner
  // that crashes holding the request, an ETA call whose caller is gone), the rider is answered.
  sim.schedule_after(params_.rider_timeout, [this, call] { answer(*call, false, "rider_timeout"); });
  at->request(cell_key(cell), [this, cell, call](const RequestOutcome& o) {
    if (call->answered) {
      return;  // the rider gave up; the owner's work is done for nothing
    }
    Simulation& s = cluster_->shared().sim();
    if (!o.ok) {
      answer(*call, false, "rider_failed");
      return;
    }
    Shard& sh = shard(o.handled_by);
    const Time now = s.now();
    std::size_t scanned = 0;
    bool found = false;
    auto it = sh.cells.find(cell);
    if (it != sh.cells.end()) {
      for (auto d = it->second.begin(); d != it->second.end();) {
        ++scanned;
        if (now - d->second > params_.driver_ttl) {
          d = it->second.erase(d);  // stale: the driver stopped reporting here
          continue;
        }
        found = true;
        ++d;
      }
    }
    if (!found) {
      answer(*call, false, "no_driver");
      return;
    }
    const Duration latency =
        o.latency + params_.match_cpu_per_driver * static_cast<std::int64_t>(scanned);
    if (!eta_) {
      matched(latency, *call);
      return;
    }
    // The owner asks the maps service for the pickup ETA; the match waits for it.
    const Time asked = now;
    eta_(o.handled_by, [this, latency, asked, call](bool ok) {
      if (call->answered) {
        return;
      }
      Simulation& ssim = cluster_->shared().sim();
      if (!ok) {
        if (!params_.eta_fallback) {
          answer(*call, false, "eta_failed");
          return;
        }
        ssim.metrics().counter(metric("eta_degraded")).inc();  // a straight-line ETA instead
      }
      matched(latency + (ssim.now() - asked), *call);
    });
  });
}

bool Dispatch::answer(RiderCall& call, bool matched, std::string_view what) {
  if (call.answered) {
    return false;
  }
  call.answered = true;
  Metrics& m = cluster_->shared().sim().metrics();
  m.counter(metric(what)).inc();
  if (!matched) {
    m.counter(metric("unmatched")).inc();  // failed, no driver, no ETA or timed out
  }
  call.done(matched);
  return true;
}

void Dispatch::matched(Duration latency, RiderCall& call) {
  if (!call.answered) {
    cluster_->shared().sim().metrics().histogram(metric("match_latency")).record(latency);
  }
  answer(call, true, "matched");
}

void Dispatch::next_rider() {
  Simulation& sim = cluster_->shared().sim();
  sim.schedule_after(Duration::nanos(static_cast<std::int64_t>(
                         rng_.exponential(static_cast<double>(params_.rider_interval.ns())))),
                     [this] { next_rider(); });
  rider(static_cast<std::uint32_t>(rng_.below(cells())), [](bool) {});
}

void Dispatch::handoff_tick(MemberId m) {
  ClusterShared& shared = cluster_->shared();
  shared.sim().schedule_after(params_.handoff_check, [this, m] { handoff_tick(m); });
  Shard& s = shard(m);
  if (s.holder == nullptr ||
      shared.world().node(shared.node_of(m)).state() != world::NodeState::kUp) {
    return;
  }
  const auto ring = shared.rings().ring_for(s.holder->view());
  if (ring->checksum() == s.ring_checksum) {
    return;
  }
  s.ring_checksum = ring->checksum();
  if (!params_.handoff) {
    return;
  }
  for (auto it = s.cells.begin(); it != s.cells.end();) {
    const MemberId owner = ring->lookup(cell_key(it->first));
    if (owner == m || owner == kNoMember) {
      ++it;
      continue;
    }
    // Hand the cell's drivers to its new owner (one message; its latency is left out).
    shared.sim().metrics().counter(metric("handoffs")).inc();
    Shard& to = shard(owner);
    if (to.holder != nullptr) {
      for (const auto& [driver, at] : it->second) {
        auto& slot = to.cells[it->first][driver];
        slot = std::max(slot, at);
        shared.sim().metrics().counter(metric("drivers_handed_off")).inc();
      }
    }
    it = s.cells.erase(it);
  }
}

}  // namespace faultline::sim::ringpop
