#include <faultline/sim/evcache/cluster.hpp>

#include <fmt/format.h>

namespace faultline::sim::evcache {

ScopeNames scope_names(std::string_view scope) {
  const std::string p = fmt::format("evcache/{}/", scope);
  return {p + "requests", p + "successes", p + "failures", p + "latency"};
}
std::string attempts_name() { return "evcache/attempts"; }

struct EvcacheCluster::Read {
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
      net_rng_(sim.rng("evcache/net")),
      work_rng_(sim.rng("evcache/workload")),
      store_rng_(sim.rng("evcache/store")),
      zipf_(static_cast<std::uint64_t>(params_.client.keys), params_.client.zipf_s) {
  params_.validate();
  const int n = params_.replicated ? params_.zones : 1;
  for (int g = 0; g < n; ++g) {
    Group group;
    group.zone = g;
    std::vector<std::string> names;
    for (int s = 0; s < params_.server.servers_per_zone; ++s) {
      group.servers.emplace_back(params_.server.memory_bytes, params_.server.item_overhead_bytes);
      names.push_back(fmt::format("evcache-{}-{}", zone_name(g), s));
    }
    std::vector<std::string_view> views(names.begin(), names.end());
    group.ring = std::make_unique<KetamaRing>(views, params_.server.ring_points);
    groups_.push_back(std::move(group));
  }
  auto scope = [&](std::string_view name) {
    auto s = scope_names(name);
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
  attempts_ = &sim_.metrics().counter(attempts_name());
}

void EvcacheCluster::start() {
  next_op();
  for (const auto& o : params_.outages) {
    const int zone = o.zone;
    sim_.schedule_at(Time::from_ns(o.at.ns()), [this, zone] { fail_zone(zone); });
    if (o.for_ > Duration::zero()) {
      sim_.schedule_at(Time::from_ns((o.at + o.for_).ns()), [this, zone] { restore_zone(zone); });
    }
  }
}

void EvcacheCluster::next_op() {
  const double gap_s = work_rng_.exponential(1.0 / params_.client.ops_per_s);
  sim_.schedule_after(Duration::nanos(static_cast<std::int64_t>(gap_s * 1e9) + 1), [this] {
    const int zone = static_cast<int>(work_rng_.below(static_cast<std::uint64_t>(params_.zones)));
    const std::uint64_t key = zipf_(work_rng_) - 1;
    if (work_rng_.uniform01() < params_.client.write_ratio) {
      write(zone, key);
    } else {
      read(zone, key);
    }
    next_op();
  });
}

Duration EvcacheCluster::hop(int from_zone, int to_zone) {
  const auto cls = from_zone == to_zone ? world::LinkClass::kSameZone : world::LinkClass::kCrossZone;
  return params_.network.for_class(cls).latency.sample(net_rng_);
}

int EvcacheCluster::home_group(int zone) const { return params_.replicated ? zone : 0; }

bool EvcacheCluster::write_only(int group) const {
  return sim_.now() < groups_[static_cast<std::size_t>(group)].write_only_until;
}

bool EvcacheCluster::holds(int group, std::uint64_t key) const {
  const auto& g = groups_[static_cast<std::size_t>(group)];
  return g.servers[static_cast<std::size_t>(g.ring->server_for(key))].contains(key);
}

std::size_t EvcacheCluster::items(int group) const {
  std::size_t n = 0;
  for (const auto& s : groups_[static_cast<std::size_t>(group)].servers) {
    n += s.items();
  }
  return n;
}

void EvcacheCluster::read(int zone, std::uint64_t key, std::function<void(const ReadResult&)> done) {
  auto r = std::make_shared<Read>();
  r->zone = zone;
  r->key = key;
  r->start = sim_.now();
  r->done = std::move(done);
  for (Scope* s : {&reads_, &cache_, &local_, &fallback_, &zone_scopes_[static_cast<std::size_t>(zone)]}) {
    s->requests->inc();
  }
  int g = home_group(zone);
  if (write_only(g)) {  // §4.4: a write-only zone's reads go to other zones
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
    if ((r.tried & (1U << g)) == 0 && !write_only(g)) {
      return g;
    }
  }
  return -1;
}

void EvcacheCluster::attempt(const std::shared_ptr<Read>& r, int group) {
  r->tried |= 1U << group;
  attempts_->inc();
  Group& g = groups_[static_cast<std::size_t>(group)];
  if (!g.up) {  // no answer: the client's read timeout decides
    sim_.schedule_after(params_.client.read_timeout, [this, r] { after_cache(r, false, true); });
    return;
  }
  const Duration there = hop(r->zone, g.zone) + params_.server.service_time;
  sim_.schedule_after(there, [this, r, group] {
    Group& gg = groups_[static_cast<std::size_t>(group)];
    if (!gg.up) {
      sim_.schedule_after(params_.client.read_timeout, [this, r] { after_cache(r, false, true); });
      return;
    }
    auto& server = gg.servers[static_cast<std::size_t>(gg.ring->server_for(r->key))];
    const bool hit = server.get(r->key, sim_.now());
    sim_.schedule_after(hop(gg.zone, r->zone), [this, r, hit] { after_cache(r, hit, false); });
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
      if (params_.client.fill_on_miss) {
        set_all(c->read->zone, c->read->key);
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

void EvcacheCluster::write(int zone, std::uint64_t key) { set_all(zone, key); }

void EvcacheCluster::set_all(int from_zone, std::uint64_t key) {
  // §4.4: "three writes for each application level write"; a lost set is accepted.
  for (int group = 0; group < groups(); ++group) {
    if (!groups_[static_cast<std::size_t>(group)].up) {
      continue;
    }
    const Duration there = hop(from_zone, group_zone(group)) + params_.server.service_time;
    sim_.schedule_after(there, [this, group, key] {
      Group& g = groups_[static_cast<std::size_t>(group)];
      if (g.up) {
        g.servers[static_cast<std::size_t>(g.ring->server_for(key))].set(
            key, params_.client.value_bytes, sim_.now() + params_.client.ttl);
      }
    });
  }
}

void EvcacheCluster::fail_zone(int zone) {
  for (auto& g : groups_) {
    if (g.zone == zone) {
      g.up = false;
      for (auto& s : g.servers) {
        s.clear();
      }
    }
  }
  sim_.record("evcache", "zone-down", {{"zone", zone_name(zone)}});
}

void EvcacheCluster::restore_zone(int zone) {
  for (auto& g : groups_) {
    if (g.zone == zone) {
      g.up = true;
      if (params_.warmup.write_only) {
        g.write_only_until = sim_.now() + params_.warmup.duration;
      }
    }
  }
  sim_.record("evcache", "zone-up",
              {{"zone", zone_name(zone)}, {"write_only", params_.warmup.write_only}});
  if (params_.warmup.write_only) {
    sim_.schedule_after(params_.warmup.duration, [this, zone] {
      sim_.record("evcache", "write-only-end", {{"zone", zone_name(zone)}});
    });
  }
}

}  // namespace faultline::sim::evcache
