#include <faultline/sim/evcache/params.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace faultline::sim::evcache {

namespace {

void require(bool ok, std::string_view field, std::string_view problem, std::string_view fix) {
  if (!ok) {
    throw std::invalid_argument(fmt::format("{}: {}; {}", field, problem, fix));
  }
}
void positive(Duration d, std::string_view field) {
  require(d > Duration::zero(), field, "must be positive", "use e.g. \"20ms\"");
}

}  // namespace

std::string zone_name(int zone) { return std::string(1, static_cast<char>('a' + zone)); }

std::optional<int> parse_zone(std::string_view name, int zones) {
  for (int z = 0; z < zones; ++z) {
    if (name == zone_name(z)) {
      return z;
    }
  }
  return std::nullopt;
}

void ServerParams::validate() const {
  require(servers_per_zone >= 1 && servers_per_zone <= 1000, "server.servers_per_zone",
          fmt::format("is {}", servers_per_zone), "use 1 to 1000");
  require(memory_bytes >= 1024, "server.memory_bytes", fmt::format("is {}", memory_bytes),
          "use at least 1024 (e.g. 8388608 for 8 MiB)");
  require(item_overhead_bytes >= 0, "server.item_overhead_bytes", "is negative", "use e.g. 80");
  require(ring_points >= 1 && ring_points <= 1000, "server.ring_points",
          fmt::format("is {}", ring_points), "use 1 to 1000 (Ketama: 160)");
  require(service_time >= Duration::zero(), "server.service_time", "is negative",
          "use e.g. \"20us\"");
}

void ClientParams::validate() const {
  require(ops_per_s > 0.0 && ops_per_s <= 1e6, "client.ops_per_s",
          fmt::format("is {}", ops_per_s), "use a rate in (0, 1000000]");
  require(write_ratio >= 0.0 && write_ratio <= 1.0, "client.write_ratio",
          fmt::format("is {}, not a probability", write_ratio), "use a number in [0, 1]");
  require(keys >= 1 && keys <= 10'000'000, "client.keys", fmt::format("is {}", keys),
          "use 1 to 10000000");
  require(zipf_s >= 0.0 && zipf_s <= 5.0, "client.zipf_s", fmt::format("is {}", zipf_s),
          "use 0 (uniform) to 5");
  require(value_bytes >= 1, "client.value_bytes", "must be at least 1", "use e.g. 1024");
  positive(ttl, "client.ttl");
  positive(read_timeout, "client.read_timeout");
}

void StoreParams::validate() const {
  require(concurrency >= 1 && concurrency <= 100000, "store.concurrency",
          fmt::format("is {}", concurrency), "use 1 to 100000");
  require(queue_limit >= 0, "store.queue_limit", "is negative", "use 0 (no queue) or more");
  latency.validate("store.latency");
  positive(timeout, "store.timeout");
}

void WarmupParams::validate() const {
  require(!write_only || duration > Duration::zero(), "warmup.duration", "must be positive",
          "use e.g. \"60s\", or write_only: false");
  require(until_fill >= 0.0 && until_fill <= 1.0, "warmup.until_fill",
          fmt::format("is {}", until_fill),
          "use a fraction of the warm zones' items, e.g. 0.9, or 0 for a fixed window");
}

void DiscoveryParams::validate() const {
  if (!enabled) {
    return;
  }
  positive(renew_every, "discovery.renew_every");
  positive(evict_every, "discovery.evict_every");
  positive(fetch_every, "discovery.fetch_every");
  require(lease >= renew_every, "discovery.lease",
          fmt::format("is {} s, shorter than renew_every", lease.to_seconds()),
          "make the lease at least one heartbeat interval (Eureka: 90 s for 30-s heartbeats)");
}

void EvcacheParams::validate() const {
  require(zones >= 1 && zones <= 26, "zones", fmt::format("is {}", zones), "use 1 to 26");
  server.validate();
  client.validate();
  store.validate();
  warmup.validate();
  discovery.validate();
  network.validate();
  require(client.value_bytes + server.item_overhead_bytes <= server.memory_bytes,
          "client.value_bytes",
          fmt::format("is {} but a server holds {} bytes", client.value_bytes,
                      server.memory_bytes),
          "make server.memory_bytes hold at least one item");
}

}  // namespace faultline::sim::evcache
