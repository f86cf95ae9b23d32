#include <faultline/world/timed_waits.hpp>

#include <faultline/world/clock.hpp>
#include <faultline/world/host.hpp>
#include <faultline/world/node.hpp>

namespace faultline::world {

Task<void> timed_wait_loop(Node& node, Duration wait, Duration cpu_slice) {
  Clock& clock = node.host().clock();
  for (;;) {
    const UtcInstant deadline = node.clock_now() + wait;
    const bool spins = clock.expiry_of(deadline) <= node.sim().now();
    co_await node.wait_until_abs(deadline);
    const Duration rest = cpu_slice - clock.params().timed_wait_cost;
    if (spins && rest > Duration::zero()) {
      co_await node.compute(rest);
    }
  }
}

void spawn_timed_wait_threads(Node& node, int threads, Duration wait, Duration cpu_slice) {
  for (int i = 0; i < threads; ++i) {
    node.spawn(timed_wait_loop(node, wait, cpu_slice));
  }
}

}  // namespace faultline::world
