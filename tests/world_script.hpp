// A scripted tester for tests of a model on the world layer: one extra node, "tester" (group
// "tester", on a host of its own), whose program runs the coroutine a test hands it, so a test
// can speak to a cluster's nodes as a client would.
#pragma once

#include <faultline/task.hpp>
#include <faultline/world/world.hpp>

#include <functional>
#include <memory>
#include <string_view>
#include <utility>

namespace faultline::testing {

using Script = std::function<Task<void>(world::Node&)>;

class Scripted : public world::Program {
public:
  explicit Scripted(Script s) : script_(std::move(s)) {}
  void start(world::Node& node) override { node.spawn(script_(node)); }

private:
  Script script_;
};

/// Adds the tester to `w` in `zone` (which must exist), running `s` when the node starts.
inline void add_script(world::World& w, std::string_view zone, Script s) {
  auto z = *w.topology().find_zone(zone);
  w.add_node(w.add_host(z, "tester"), "tester", "tester",
             [s](world::Node&) { return std::make_unique<Scripted>(s); });
}

}  // namespace faultline::testing
