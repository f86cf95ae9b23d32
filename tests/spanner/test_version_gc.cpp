// Version garbage collection (SpannerParams::version_gc_horizon): a replica drops the versions
// of a key that no read it still serves can see, and refuses reads below its GC point rather
// than answer them from a history it no longer has. The key case is a version older than the
// GC point that is still the one visible at it: a collector that dropped every version below
// the point would lose it, and the read just above the point would see nothing.
#include "spanner_rig.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::literals;
using namespace faultline::sim::spanner;
using namespace faultline::sim::spanner::testing;

namespace {

struct Written {
  Timestamp ts;
  std::int64_t value;
};

struct Outcome {
  std::vector<Written> writes;  // phase A: one write every 100 ms
  Written last{};               // the write after the pause
  std::optional<TxnResult> just_before_last, at_last, early;
  bool done = false;
};

/// Writes key k0 every 100 ms for 4 s, pauses 3 s (no writes; no-ops still advance safe
/// time), writes once more, then reads at three timestamps: just before that last write (what
/// it sees is phase A's last version, written about 3 s earlier), at the last write, and early
/// in phase A.
Outcome run(std::uint64_t seed, Duration horizon) {
  SpannerParams p = three_zone_params(30);
  p.version_gc_horizon = horizon;
  Rig rig(seed, p);
  Outcome out;
  rig.add_client(0, "writer", [&out, &rig](world::Node& node) -> Task<void> {
    Client client(*rig.cluster, node, 1);
    const std::string k = Cluster::key_name(0);
    const std::vector<std::string> keys{k};
    for (std::int64_t v = 1; v <= 41; ++v) {
      const std::int64_t value = v <= 40 ? v : 1000;
      if (v == 41) {
        co_await node.sleep(3_s);
      }
      std::function<Writes(const ReadValues&)> f = [k, value](const ReadValues&) {
        return Writes{{k, value}};
      };
      TxnResult r = co_await client.read_write(keys, f);
      if (!r.committed()) {
        continue;
      }
      if (v <= 40) {
        out.writes.push_back({r.ts, value});
        co_await node.sleep(100_ms);
      } else {
        out.last = {r.ts, value};
      }
    }
    if (out.last.value != 1000 || out.writes.size() < 20) {
      co_return;
    }
    out.just_before_last = co_await client.snapshot_read(keys, out.last.ts - 1);
    out.at_last = co_await client.snapshot_read(keys, out.last.ts);
    out.early = co_await client.snapshot_read(keys, out.writes[2].ts);
    out.done = true;
  });
  rig.run_for(12_s);
  return out;
}

}  // namespace

TEST_CASE("spanner: version GC keeps the version visible at its GC point and refuses reads "
          "below it",
          "[spanner][versions]") {
  auto seed = GENERATE(1u, 2u, 3u);
  const Outcome o = run(seed, 2_s);
  REQUIRE(o.done);
  // Phase A's last version is more than the horizon older than the last write, so it lies
  // below the GC point; it is still what a read just before the last write sees.
  REQUIRE(o.last.ts - o.writes.back().ts > (2_s).ns());
  REQUIRE(o.just_before_last->committed());
  CHECK(o.just_before_last->reads.at(Cluster::key_name(0)) == o.writes.back().value);
  REQUIRE(o.at_last->committed());
  CHECK(o.at_last->reads.at(Cluster::key_name(0)) == 1000);
  // Early phase A is below the GC point: refused, never answered from a partial history.
  CHECK_FALSE(o.early->committed());
}

TEST_CASE("spanner: with version GC off every old version stays readable", "[spanner][versions]") {
  const Outcome o = run(1, Duration::zero());
  REQUIRE(o.done);
  REQUIRE(o.early->committed());
  CHECK(o.early->reads.at(Cluster::key_name(0)) == o.writes[2].value);
  REQUIRE(o.just_before_last->committed());
  CHECK(o.just_before_last->reads.at(Cluster::key_name(0)) == o.writes.back().value);
}
