// docs/world.md's examples, compiled and run: each ```cpp block of that page is a verbatim part
// of this file (tests/examples/doc_blocks.py checks it), so the page cannot drift from code
// that builds.
#include <faultline/simulation.hpp>
#include <faultline/task.hpp>
#include <faultline/world/world.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::literals;
using namespace faultline::world;

namespace {

// The smallest program the example needs: a node that answers nothing.
class Kv : public Program {
public:
  explicit Kv(Node& /*node*/) {}
};

}  // namespace

TEST_CASE("docs/world.md: a world with one node, crashed at 10 s for 30 s", "[examples][docs]") {
Simulation sim({.seed = 7, .epoch = UtcInstant::from_civil(2012, 6, 30, 23)});
World world(sim, WorldParams{});           // validates params
auto r = world.add_region("us-east");
auto z = world.add_zone(r, "us-east-1a");
HostId h = world.add_host(z, "h1");        // or world.build(TopologySpec{...})
NodeId kv = world.add_node(h, "kv-1", "kv", [](Node& n) { return std::make_unique<Kv>(n); });
world.faults().schedule({.at = 10_s, .kind = FaultKind::kCrash,
                         .target = {TargetKind::kNode, "kv-1"}, .peer = {}, .duration = 30_s});
sim.run_until(Time::zero() + 1_min);
  // After the crash and its 30 s repair, the node is up again in a new incarnation.
  CHECK(world.node(kv).state() == NodeState::kUp);
  CHECK(world.node(kv).incarnation() > 0);
}
