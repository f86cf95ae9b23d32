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

struct Write {
  std::int64_t value;
};
struct Unavailable {};

// docs/world.md's quorum write, as a request handler of a node with three replicas.
Task<Reply> quorum_write(Node& node, std::vector<NodeId> replicas, Write w) {
const std::size_t majority = replicas.size() / 2 + 1;
Node::QuorumResult q =
    co_await node.call_quorum(replicas, Payload::make<Write>(w), 64, 250_ms, majority);
if (!q.reached) {
  co_return Reply{Payload::make<Unavailable>(), 8};  // fewer than a majority answered kOk
}
  co_return Reply{Payload::make<Write>(w), 8};
}

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

TEST_CASE("docs/world.md: a quorum write fails when a majority is down", "[examples][docs]") {
  Simulation sim({.seed = 7});
  World world(sim, WorldParams{});
  auto z = world.add_zone(world.add_region("r"), "z");
  std::vector<NodeId> replicas;
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(world.add_node(world.add_host(z, "h" + std::to_string(i)),
                                      "replica-" + std::to_string(i), "replicas", [](Node& n) {
                                        n.on_request([](const Message&, Responder r) {
                                          r.reply(Payload::make<Write>(Write{1}), 8);
                                        });
                                        return std::make_unique<Kv>(n);
                                      }));
  }
  std::vector<bool> outcomes;
  struct Leader : Program {
    Leader(std::vector<NodeId> r, std::vector<bool>* out) : r_(std::move(r)), out_(out) {}
    void start(Node& n) override { n.spawn(run(n)); }
    Task<void> run(Node& n) {
      for (int i = 0; i < 2; ++i) {
        Reply reply = co_await quorum_write(n, r_, Write{i});
        out_->push_back(reply.payload.is<Write>());
        co_await n.sleep(1_s);
      }
    }
    std::vector<NodeId> r_;
    std::vector<bool>* out_;
  };
  world.add_node(world.add_host(z, "leader"), "leader", "leaders",
                 [&](Node&) { return std::make_unique<Leader>(replicas, &outcomes); });
  sim.schedule_at(Time::zero() + 500_ms, [&] {
    world.node(replicas[0]).crash();
    world.node(replicas[1]).crash();
  });
  sim.run_until(Time::zero() + 3_s);
  CHECK(outcomes == std::vector<bool>{true, false});
}
