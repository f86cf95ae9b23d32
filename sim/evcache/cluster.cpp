#include <faultline/sim/evcache/cluster.hpp>

#include <faultline/probe.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace faultline::sim::evcache {

ScopeNames scope_names(std::string_view scope, std::string_view stem) {
  const std::string p = fmt::format("{}/{}/", stem, scope);
  return {p + "requests", p + "successes", p + "failures", p + "latency"};
}
std::string attempts_name(std::string_view stem) { return fmt::format("{}/attempts", stem); }

namespace {
const ProbePoint kProbeFallbackAfterError("evcache/client/zone-fallback-after-error");
const ProbePoint kProbeWriteOnly("evcache/warmup/write-only-zone");
const ProbePoint kProbeWarmByFill("evcache/warmup/ended-by-fill");
const ProbePoint kProbeEvicted("evcache/discovery/server-evicted");
const ProbePoint kProbeZoneUnlisted("evcache/discovery/zone-unlisted");

/// A get and its answer, a set (one-way), on the wire.
struct Get {
  std::uint64_t key;
};
struct GetReply {
  bool hit;
};
struct Set {
  std::uint64_t key;
};
constexpr std::uint64_t kGetBytes = 64;     // key and header (assumption)
constexpr std::uint64_t kMissBytes = 16;
constexpr Duration kWarmupCheck = Duration::seconds(1);  // how often a warming zone is measured

world::HostParams host_params() {
  // No per-second CPU samples or NTP polls: the model reads no clock.
  world::HostParams h;
  h.cpu.cores = 4;
  h.cpu.sample_interval = Duration::zero();
  h.clock.ntp_enabled = false;
  return h;
}
}  // namespace

/// One memcached server: its items are the program's, so a crash loses them and a server that
/// boots again is empty.
class EvcacheCluster::Server final : public world::Program {
public:
  Server(EvcacheCluster& c, std::size_t index)
      : c_(c), index_(index),
        store(c.params_.server.memory_bytes, c.params_.server.item_overhead_bytes) {}
  void start(world::Node& n) override {
    if (c_.registry_) {
      // A running cluster's servers renew at phases spread over the interval; a server that
      // boots again registers with its first heartbeat, one interval after boot (Eureka's
      // wiki: "Registration happens on first heartbeat (after 30 seconds)").
      const Duration every = c_.params_.discovery.renew_every;
      c_.heartbeat(n, index_, n.incarnation() > 1 ? every : c_.discovery_phase(every));
    }
    n.on_request([this, &n](const world::Message& m, world::Responder reply) {
      const std::uint64_t key = m.payload.as<Get>().key;
      n.compute(c_.params_.server.service_time, [this, &n, key, reply] {
        const bool hit = store.get(key, n.sim().now());
        reply.reply(world::Payload::make<GetReply>(GetReply{hit}),
                    hit ? static_cast<std::uint64_t>(c_.params_.client.value_bytes) : kMissBytes);
      });
    });
    n.on_message([this, &n](const world::Message& m) {
      const std::uint64_t key = m.payload.as<Set>().key;
      n.compute(c_.params_.server.service_time, [this, &n, key] {
        store.set(key, c_.params_.client.value_bytes, n.sim().now() + c_.params_.client.ttl);
      });
    });
  }
private:
  EvcacheCluster& c_;
  std::size_t index_;  // in the registry

public:
  LruStore store;
};

struct EvcacheCluster::Read {
  world::Node* caller = nullptr;
  int zone = 0;
  std::uint64_t key = 0;
  Time start;
  std::uint32_t tried = 0;  // bit per group
  bool fell_back = false;
  std::function<void(const ReadResult&)> done;
};

struct EvcacheCluster::StoreCall {
  std::shared_ptr<Read> read;
  Time start;
  EventId timeout;
  bool answered = false;
};

EvcacheCluster::EvcacheCluster(Simulation& sim, EvcacheParams params)
    : sim_(sim),
      params_(std::move(params)),
      work_rng_(sim.rng("evcache/workload")),
      store_rng_(sim.rng("evcache/store")),
      zipf_(static_cast<std::uint64_t>(params_.client.keys), params_.client.zipf_s) {
  params_.validate();
  world::WorldParams wp;
  wp.network = params_.network;
  own_world_ = std::make_unique<world::World>(sim_, wp);
  world_ = own_world_.get();
  const auto region = world_->add_region("us-east");
  std::vector<world::ZoneId> zones;
  for (int z = 0; z < params_.zones; ++z) {
    zones.push_back(world_->add_zone(region, "us-east-1" + zone_name(z)));
  }
  for (int z = 0; z < params_.zones; ++z) {
    const std::string name = "client-" + zone_name(z);
    clients_.push_back(world_->add_node(world_->add_host(zones[static_cast<std::size_t>(z)], name, host_params()),
                                        name, "client/" + zone_name(z), nullptr));
  }
  build(zones);
}

EvcacheCluster::EvcacheCluster(world::World& world, std::span<const world::ZoneId> zones,
                               EvcacheParams params, std::string stem)
    : sim_(world.sim()),
      params_(std::move(params)),
      stem_(std::move(stem)),
      world_(&world),
      work_rng_(sim_.rng(stem_ + "/workload")),
      store_rng_(sim_.rng(stem_ + "/store")),
      zipf_(static_cast<std::uint64_t>(params_.client.keys), params_.client.zipf_s) {
  params_.validate();
  if (static_cast<int>(zones.size()) != params_.zones) {
    throw std::invalid_argument(fmt::format("zones: {} world zones for {} cache zones; pass one "
                                            "world zone per cache zone", zones.size(), params_.zones));
  }
  build(zones);
}

EvcacheCluster::~EvcacheCluster() {
  own_world_.reset();  // the servers' programs go first: they hold a reference to the cluster
}

std::vector<std::string> EvcacheCluster::groups(const EvcacheParams& params) {
  std::vector<std::string> g;
  for (int z = 0; z < params.zones; ++z) {
    g.push_back("client/" + zone_name(z));
    if (params.replicated || z == 0) {
      g.push_back("evcache/" + zone_name(z));
    }
  }
  std::sort(g.begin(), g.end());
  return g;
}

void EvcacheCluster::build(std::span<const world::ZoneId> zones) {
  const int n = params_.replicated ? params_.zones : 1;
  const auto per_zone = static_cast<std::size_t>(params_.server.servers_per_zone);
  if (params_.discovery.enabled) {
    registry_.emplace(per_zone * static_cast<std::size_t>(n), sim_.now());
    discovery_rng_.emplace(sim_.rng(stem_ + "/discovery"));
  }
  for (int g = 0; g < n; ++g) {
    Group group;
    group.zone = g;
    for (std::size_t s = 0; s < per_zone; ++s) {
      group.names.push_back(fmt::format("{}-{}-{}", stem_, zone_name(g), s));
      const auto host = world_->add_host(zones[static_cast<std::size_t>(g)], group.names.back(), host_params());
      const std::size_t index = static_cast<std::size_t>(g) * per_zone + s;
      group.servers.push_back(world_->add_node(host, group.names.back(), stem_ + "/" + zone_name(g),
                                               [this, g, index](world::Node& node) {
                                                 if (node.incarnation() > 1) {
                                                   server_restarted(g);
                                                 }
                                                 return std::make_unique<Server>(*this, index);
                                               }));
    }
    std::vector<int> all(per_zone);
    std::iota(all.begin(), all.end(), 0);
    set_ring(group, std::move(all));
    groups_.push_back(std::move(group));
  }
  if (registry_) {
    sim_.schedule_after(discovery_phase(params_.discovery.evict_every), [this] { evict_loop(); });
    sim_.schedule_after(discovery_phase(params_.discovery.fetch_every), [this] { fetch_loop(); });
  }
  auto scope = [&](std::string_view name) {
    auto s = scope_names(name, stem_);
    auto& m = sim_.metrics();
    return Scope{&m.counter(s.requests), &m.counter(s.successes), &m.counter(s.failures),
                 &m.histogram(s.latency)};
  };
  reads_ = scope("reads");
  cache_ = scope("cache");
  local_ = scope("local");
  fallback_ = scope("fallback");
  store_ = scope("store");
  for (int z = 0; z < params_.zones; ++z) {
    zone_scopes_.push_back(scope("zone-" + zone_name(z)));
  }
  attempts_ = &sim_.metrics().counter(attempts_name(stem_));
}

void EvcacheCluster::start() {
  if (clients_.empty()) {
    throw std::logic_error("EvcacheCluster::start: an embedded cluster has no workload");
  }
  next_op();
}

world::Node& EvcacheCluster::client(int zone) {
  if (clients_.empty()) {
    throw std::logic_error("EvcacheCluster: an embedded cluster reads from its caller's nodes");
  }
  return world_->node(clients_[static_cast<std::size_t>(zone)]);
}

LruStore* EvcacheCluster::store_of(world::NodeId server) const {
  auto* p = world_->node(server).program();
  return p == nullptr ? nullptr : &static_cast<Server*>(p)->store;
}

void EvcacheCluster::server_restarted(int group) {
  Group& g = groups_[static_cast<std::size_t>(group)];
  if (!params_.warmup.write_only || sim_.now() < g.write_only_until) {
    return;  // already warming: the group's first server back opened the window
  }
  g.write_only_until = sim_.now() + params_.warmup.duration;
  FAULTLINE_PROBE(sim_, kProbeWriteOnly);
  const std::string zone = zone_name(g.zone);
  if (params_.warmup.until_fill <= 0.0) {
    sim_.record("evcache", "write-only",
                {{"zone", zone}, {"for_s", params_.warmup.duration.to_seconds()}});
    sim_.schedule_after(params_.warmup.duration, [this, zone] {
      sim_.record("evcache", "write-only-end", {{"zone", zone}});
    });
    return;
  }
  sim_.record("evcache", "write-only",
              {{"zone", zone},
               {"for_s", params_.warmup.duration.to_seconds()},
               {"until_fill", params_.warmup.until_fill}});
  sim_.schedule_after(std::min(kWarmupCheck, params_.warmup.duration),
                      [this, group] { check_warmup(group); });
}

void EvcacheCluster::check_warmup(int group) {
  Group& g = groups_[static_cast<std::size_t>(group)];
  const std::string zone = zone_name(g.zone);
  const auto f = fill(group);
  if (!write_only(group)) {  // the longest window is over
    sim_.record("evcache", "write-only-end",
                {{"zone", zone}, {"reason", "time"}, {"fill", f.value_or(0.0)}});
    return;
  }
  if (f && *f >= params_.warmup.until_fill) {
    g.write_only_until = sim_.now();  // warm: reads come home from now on
    FAULTLINE_PROBE(sim_, kProbeWarmByFill);
    sim_.record("evcache", "write-only-end", {{"zone", zone}, {"reason", "warm"}, {"fill", *f}});
    return;
  }
  sim_.schedule_after(std::min(kWarmupCheck, g.write_only_until - sim_.now()),
                      [this, group] { check_warmup(group); });
}

std::optional<double> EvcacheCluster::fill(int group) const {
  std::size_t peers = 0;
  std::size_t peer_items = 0;
  for (int other = 0; other < groups(); ++other) {
    if (other != group && group_up(other) && !write_only(other)) {
      ++peers;
      peer_items += items(other);
    }
  }
  if (peer_items == 0) {
    return std::nullopt;
  }
  return static_cast<double>(items(group)) * static_cast<double>(peers) /
         static_cast<double>(peer_items);
}

void EvcacheCluster::set_ring(Group& g, std::vector<int> in_ring) {
  g.in_ring = std::move(in_ring);
  if (g.in_ring.empty()) {
    g.ring.reset();
    return;
  }
  std::vector<std::string_view> names;
  for (const int s : g.in_ring) {
    names.emplace_back(g.names[static_cast<std::size_t>(s)]);
  }
  // A server keeps its points whoever else is listed, so a removal moves only its keys.
  g.ring = std::make_unique<KetamaRing>(names, params_.server.ring_points);
}

std::optional<world::NodeId> EvcacheCluster::server_for(int group, std::uint64_t key) const {
  const Group& g = groups_[static_cast<std::size_t>(group)];
  if (!g.ring) {
    return std::nullopt;
  }
  return g.servers[static_cast<std::size_t>(g.in_ring[static_cast<std::size_t>(g.ring->server_for(key))])];
}

Duration EvcacheCluster::discovery_phase(Duration every) {
  return Duration::nanos(
      1 + static_cast<std::int64_t>(discovery_rng_->below(static_cast<std::uint64_t>(every.ns()))));
}

void EvcacheCluster::heartbeat(world::Node& node, std::size_t server, Duration after) {
  node.after(after, [this, &node, server] {
    registry_->renew(server, sim_.now());
    heartbeat(node, server, params_.discovery.renew_every);
  });
}

void EvcacheCluster::evict_loop() {
  const std::size_t per_zone = static_cast<std::size_t>(params_.server.servers_per_zone);
  for (const std::size_t s : registry_->evict(sim_.now(), params_.discovery.expires_after())) {
    FAULTLINE_PROBE(sim_, kProbeEvicted);
    sim_.record("evcache", "eureka-evicted",
                {{"server", groups_[s / per_zone].names[s % per_zone]}});
  }
  sim_.schedule_after(params_.discovery.evict_every, [this] { evict_loop(); });
}

void EvcacheCluster::fetch_loop() {
  const std::size_t per_zone = static_cast<std::size_t>(params_.server.servers_per_zone);
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    Group& g = groups_[gi];
    std::vector<int> listed_now;
    for (std::size_t s = 0; s < per_zone; ++s) {
      if (registry_->registered(gi * per_zone + s)) {
        listed_now.push_back(static_cast<int>(s));
      }
    }
    if (listed_now == g.in_ring) {
      continue;
    }
    const bool was_listed = g.ring != nullptr;
    set_ring(g, std::move(listed_now));
    sim_.record("evcache", "ring-fetched",
                {{"zone", zone_name(g.zone)},
                 {"servers", static_cast<std::int64_t>(g.in_ring.size())}});
    if (was_listed && !g.ring) {
      FAULTLINE_PROBE(sim_, kProbeZoneUnlisted);  // the clients stop asking this zone
    }
  }
  sim_.schedule_after(params_.discovery.fetch_every, [this] { fetch_loop(); });
}

bool EvcacheCluster::group_up(int group) const {
  for (const auto id : groups_[static_cast<std::size_t>(group)].servers) {
    if (world_->node(id).up()) {
      return true;
    }
  }
  return false;
}

void EvcacheCluster::next_op() {
  const double gap_s = work_rng_.exponential(1.0 / params_.client.ops_per_s);
  sim_.schedule_after(Duration::nanos(static_cast<std::int64_t>(gap_s * 1e9) + 1), [this] {
    int zone = static_cast<int>(work_rng_.below(static_cast<std::uint64_t>(params_.zones)));
    const std::uint64_t key = zipf_(work_rng_) - 1;
    const bool is_write = work_rng_.uniform01() < params_.client.write_ratio;
    // A zone whose clients are down sends its users to the next zone's (the load balancer
    // routes around a lost zone); no client up anywhere: the operation is lost.
    for (int i = 0; i < params_.zones && !client(zone).up(); ++i) {
      zone = (zone + 1) % params_.zones;
    }
    if (client(zone).up()) {
      if (is_write) {
        write(zone, key);
      } else {
        read(zone, key);
      }
    }
    next_op();
  });
}

int EvcacheCluster::home_group(int zone) const { return params_.replicated ? zone : 0; }

bool EvcacheCluster::write_only(int group) const {
  return sim_.now() < groups_[static_cast<std::size_t>(group)].write_only_until;
}

bool EvcacheCluster::holds(int group, std::uint64_t key) const {
  const auto server = server_for(group, key);
  const LruStore* s = server ? store_of(*server) : nullptr;
  return s != nullptr && s->contains(key);
}

std::size_t EvcacheCluster::items(int group) const {
  std::size_t n = 0;
  for (const auto id : groups_[static_cast<std::size_t>(group)].servers) {
    if (const LruStore* s = store_of(id)) {
      n += s->items();
    }
  }
  return n;
}

void EvcacheCluster::read(int zone, std::uint64_t key, std::function<void(const ReadResult&)> done) {
  read(client(zone), zone, key, std::move(done));
}

void EvcacheCluster::read(world::Node& caller, int zone, std::uint64_t key,
                          std::function<void(const ReadResult&)> done) {
  auto r = std::make_shared<Read>();
  r->caller = &caller;
  r->zone = zone;
  r->key = key;
  r->start = sim_.now();
  r->done = std::move(done);
  for (Scope* s : {&reads_, &cache_, &local_, &fallback_, &zone_scopes_[static_cast<std::size_t>(zone)]}) {
    s->requests->inc();
  }
  int g = home_group(zone);
  // §4.4: a write-only zone's reads go to other zones; so do a zone's whose servers the
  // registry no longer lists.
  if (write_only(g) || !listed(g)) {
    r->tried |= 1U << g;
    g = next_group(*r);
    r->fell_back = true;
    if (g < 0) {
      to_store(r);
      return;
    }
  }
  attempt(r, g);
}

int EvcacheCluster::next_group(const Read& r) const {
  const int n = groups();
  const int home = home_group(r.zone);
  for (int i = 1; i <= n; ++i) {
    const int g = (home + i) % n;
    if ((r.tried & (1U << g)) == 0 && !write_only(g) && listed(g)) {
      return g;
    }
  }
  return -1;
}

void EvcacheCluster::attempt(const std::shared_ptr<Read>& r, int group) {
  r->tried |= 1U << group;
  attempts_->inc();
  const auto server = *server_for(group, r->key);  // read() and next_group() ask listed groups
  // A server that is down, paused or cut off does not answer: the read timeout decides. The
  // callback dies with the caller's incarnation.
  r->caller->call(server, world::Payload::make<Get>(Get{r->key}), kGetBytes,
                  params_.client.read_timeout, [this, r](world::RpcResult res) {
                    const bool error = !res.ok();
                    after_cache(r, !error && res.payload.as<GetReply>().hit, error);
                  });
}

void EvcacheCluster::after_cache(const std::shared_ptr<Read>& r, bool hit, bool error) {
  if (hit) {
    finish(r, r->fell_back ? Served::kFallback : Served::kLocal);
    return;
  }
  const bool may_fall_back =
      error ? params_.client.fallback_on_error : params_.client.fallback_on_miss;
  if (may_fall_back) {
    if (const int g = next_group(*r); g >= 0) {
      if (error) {
        FAULTLINE_PROBE(sim_, kProbeFallbackAfterError);  // a zone lost or slow, not a miss
      }
      r->fell_back = true;
      attempt(r, g);
      return;
    }
  }
  to_store(r);
}

void EvcacheCluster::to_store(const std::shared_ptr<Read>& r) {
  attempts_->inc();
  store_.requests->inc();
  auto c = std::make_shared<StoreCall>();
  c->read = r;
  c->start = sim_.now();
  c->timeout = sim_.schedule_after(params_.store.timeout, [this, c] {
    if (!c->answered) {
      c->answered = true;
      store_.failures->inc();
      finish(c->read, Served::kFailed);
    }
  });
  store_admit(c);
}

void EvcacheCluster::store_admit(const std::shared_ptr<StoreCall>& c) {
  if (store_busy_ < params_.store.concurrency) {
    store_serve(c);
  } else if (store_queue_.size() < static_cast<std::size_t>(params_.store.queue_limit)) {
    store_queue_.push_back(c);
  } else {  // rejected at once
    c->answered = true;
    sim_.cancel(c->timeout);
    store_.failures->inc();
    finish(c->read, Served::kFailed);
  }
}

void EvcacheCluster::store_serve(const std::shared_ptr<StoreCall>& c) {
  ++store_busy_;
  sim_.schedule_after(params_.store.latency.sample(store_rng_), [this, c] {
    --store_busy_;
    if (!c->answered) {
      c->answered = true;
      sim_.cancel(c->timeout);
      store_.successes->inc();
      store_.latency->record(sim_.now() - c->start);
      if (params_.client.fill_on_miss && c->read->caller->up()) {
        set_all(*c->read->caller, c->read->key);
      }
      finish(c->read, Served::kStore);
    }
    // The store does not know whether a queued caller has given up: it serves every request.
    if (!store_queue_.empty()) {
      auto next = store_queue_.front();
      store_queue_.pop_front();
      store_serve(next);
    }
  });
}

void EvcacheCluster::finish(const std::shared_ptr<Read>& r, Served served) {
  const Duration latency = sim_.now() - r->start;
  const bool ok = served != Served::kFailed;
  auto outcome = [&](Scope& s, bool success) {
    (success ? s.successes : s.failures)->inc();
  };
  outcome(reads_, ok);
  outcome(zone_scopes_[static_cast<std::size_t>(r->zone)], ok);
  if (ok) {
    reads_.latency->record(latency);
    zone_scopes_[static_cast<std::size_t>(r->zone)].latency->record(latency);
  }
  const bool from_cache = served == Served::kLocal || served == Served::kFallback;
  outcome(cache_, from_cache);
  if (from_cache) {
    cache_.latency->record(latency);
  }
  outcome(local_, served == Served::kLocal);
  outcome(fallback_, r->fell_back);
  if (r->done) {
    r->done(ReadResult{served, r->fell_back, latency});
  }
}

void EvcacheCluster::write(int zone, std::uint64_t key) { set_all(client(zone), key); }

void EvcacheCluster::set_all(world::Node& from, std::uint64_t key) {
  send_sets(from, key);
  if (set_listener_) {
    set_listener_(from, key);
  }
}

void EvcacheCluster::replicated_set(world::Node& proxy, std::uint64_t key) {
  send_sets(proxy, key);
}

void EvcacheCluster::send_sets(world::Node& from, std::uint64_t key) {
  // §4.4: "three writes for each application level write"; a lost set is accepted.
  for (int g = 0; g < groups(); ++g) {
    if (const auto server = server_for(g, key)) {  // an unlisted zone gets no set
      from.send(*server, world::Payload::make<Set>(Set{key}),
                static_cast<std::uint64_t>(params_.client.value_bytes));
    }
  }
}

void EvcacheCluster::fail_zone(int zone) {
  for (const auto& g : groups_) {
    if (g.zone == zone) {
      for (const auto id : g.servers) {
        world_->node(id).host().crash();  // power lost: nothing answers, reads time out
      }
    }
  }
}

void EvcacheCluster::restore_zone(int zone) {
  for (const auto& g : groups_) {
    if (g.zone == zone) {
      for (const auto id : g.servers) {
        world_->node(id).host().restart();
      }
    }
  }
}

}  // namespace faultline::sim::evcache
