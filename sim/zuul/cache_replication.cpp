// EVCache's cross-region replication (model-facts §4.4; "Caching for a Global Netflix", 2016).
//
// Each region has one replication relay, a world node in its first zone ("evcache-relay",
// "evcache-relay@<region>"). A set made by the region's EVCache client (a fill after a miss)
// is produced to Kafka: a small message from the setting node to the region's relay. The relay
// consumes it after Kafka's lag (which includes the relay's local read of the value; a value
// evicted meanwhile is still sent) and sends it across the region boundary to every other
// region's relay, which sets it in its region's cluster (every zone, as a write does).
// Everything is best-effort, as in EVCache: a relay that is down, or a partition between
// regions, loses the sets in its path, and nothing retries them. The relay's CPU and Kafka's
// capacity are not modelled (README).
#include "internal.hpp"

#include <fmt/format.h>

namespace faultline::sim::zuul {

namespace {

using world::Node;
using world::Payload;

/// A set handed to Kafka by a region's client (key and metadata only).
struct Produced {
  std::uint64_t key = 0;
};
/// A set a relay sends to another region's relay, with the value.
struct Replicated {
  std::uint64_t key = 0;
};

inline constexpr std::uint64_t kProduceBytes = 128;  // assumption: a key and its metadata

class RelayProgram final : public world::Program {
public:
  RelayProgram(EdgeStack::State& s, int region, Node& node)
      : s_(s),
        region_(region),
        rng_(s.sim->rng(fmt::format("zuul/{}/{}", node.name(), node.incarnation()))) {}

  void start(Node& node) override {
    node.on_message([this, &node](const world::Message& m) {
      if (const auto* p = m.payload.get<Produced>()) {
        consume(node, p->key);
      } else {
        apply(node, m.payload.as<Replicated>().key);
      }
    });
  }

private:
  /// Kafka's lag (and the local read), then the value sent to every other region.
  void consume(Node& node, std::uint64_t key) {
    const auto& cr = s_.p.multi_region.cache_replication;
    const Duration lag =
        cr.lag_base + Duration::nanos(static_cast<std::int64_t>(
                          rng_.exponential(static_cast<double>(cr.lag_mean.ns()))));
    node.after(lag, [this, &node, key] {
      const auto bytes = static_cast<std::uint64_t>(s_.p.evcache.client.value_bytes);
      for (std::size_t q = 0; q < s_.regions.size(); ++q) {
        if (static_cast<int>(q) != region_) {
          node.send(s_.replication->relays[q], Payload::make<Replicated>(Replicated{key}), bytes);
          s_.replication->sent[static_cast<std::size_t>(region_)]->inc();
        }
      }
    });
  }

  void apply(Node& node, std::uint64_t key) {
    const auto r = static_cast<std::size_t>(region_);
    s_.regions[r].cache->replicated_set(node, key);
    s_.replication->applied[r]->inc();
  }

  EdgeStack::State& s_;
  int region_;
  Rng rng_;
};

}  // namespace

std::string relay_stem(const RegionParams& region, int index) {
  return region_stem("evcache-relay", region, index);
}

void start_cache_replication(EdgeStack::State& s, const AddNode& add) {
  s.replication = std::make_unique<Replication>();
  auto& rep = *s.replication;
  auto& m = s.sim->metrics();
  for (std::size_t r = 0; r < s.regions.size(); ++r) {
    auto& rs = s.regions[r];
    const int ri = static_cast<int>(r);
    const std::string stem = relay_stem(rs.params, ri);
    rep.relays.push_back(add(rs.zones[0], 0, 4, stem, stem,
                             [&s, ri](Node& node) -> std::unique_ptr<world::Program> {
                               return std::make_unique<RelayProgram>(s, ri, node);
                             }));
    const std::string cache = region_stem("evcache", rs.params, ri);
    rep.sent.push_back(&m.counter(cache + "/replication/sent"));
    rep.applied.push_back(&m.counter(cache + "/replication/applied"));
  }
  for (std::size_t r = 0; r < s.regions.size(); ++r) {
    const world::NodeId relay = rep.relays[r];
    s.regions[r].cache->on_set([relay](Node& from, std::uint64_t key) {
      from.send(relay, Payload::make<Produced>(Produced{key}), kProduceBytes);
    });
  }
}

}  // namespace faultline::sim::zuul
