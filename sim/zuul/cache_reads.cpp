// The tiers' reads through EVCache, as the service graph's tier hook (services::TierHook): an
// instance that got through its dependency calls makes `cache_reads` sequential reads of
// Zipf-popular keys through the EVCache client library, from its own zone. A failed read (no
// server and no backing store answered) fails the request.
#include "internal.hpp"

#include <fmt/format.h>

#include <map>
#include <utility>

namespace faultline::sim::zuul {

namespace {

/// The key draws of one instance incarnation (its own Rng stream, as every process has).
struct Reader {
  Rng rng;
  Zipf zipf;
};

struct CacheReads {
  EdgeStack::State* s;
  evcache::EvcacheCluster* cache;  // the region's
  int reads;
  /// Per (node, incarnation); ordered, so nothing can depend on hash order.
  std::map<std::pair<std::uint32_t, std::uint64_t>, Reader> readers;

  Reader& reader(world::Node& node) {
    const std::pair key{node.id().value(), node.incarnation()};
    auto it = readers.find(key);
    if (it == readers.end()) {
      const auto& c = s->p.evcache.client;
      it = readers
               .emplace(key, Reader{s->sim->rng(fmt::format("zuul/{}/{}/cache", node.name(),
                                                            node.incarnation())),
                                    Zipf(static_cast<std::uint64_t>(c.keys), c.zipf_s)})
               .first;
    }
    return it->second;
  }

  void read(world::Node& node, std::uint64_t incarnation, int done,
            std::function<void(bool)> finish) {
    if (done == reads) {
      finish(true);
      return;
    }
    Reader& r = reader(node);
    const std::uint64_t key = r.zipf(r.rng) - 1;
    const int zone = s->instance_zone[node.id().value()];
    cache->read(node, zone, key,
                   [this, &node, incarnation, done,
                    finish = std::move(finish)](const evcache::ReadResult& res) mutable {
                     // The client library runs in the node: nothing of a dead incarnation
                     // goes on.
                     if (!node.up() || node.incarnation() != incarnation) {
                       return;
                     }
                     if (res.served == evcache::Served::kFailed) {
                       finish(false);
                       return;
                     }
                     read(node, incarnation, done + 1, std::move(finish));
                   });
  }
};

}  // namespace

services::TierHook cache_read_hook(EdgeStack::State& s, int region, int reads) {
  auto state = std::make_shared<CacheReads>(
      CacheReads{&s, s.regions[static_cast<std::size_t>(region)].cache.get(), reads, {}});
  return [state](world::Node& node, std::function<void(bool)> done) {
    state->read(node, node.incarnation(), 0, std::move(done));
  };
}

}  // namespace faultline::sim::zuul
