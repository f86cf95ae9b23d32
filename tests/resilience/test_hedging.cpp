#include <faultline/resilience/hedging.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <vector>

using namespace faultline;
using namespace faultline::resilience;

namespace {
struct Log {
  std::vector<std::pair<Time, int>> sent;
  std::vector<std::pair<Time, int>> cancelled;
};
HedgedRequest::Hooks hooks(Simulation& sim, Log& log) {
  HedgedRequest::Hooks h;
  h.send = [&sim, &log](int c) { log.sent.emplace_back(sim.now(), c); };
  h.cancel = [&sim, &log](int c) { log.cancelled.emplace_back(sim.now(), c); };
  return h;
}
}  // namespace

TEST_CASE("hedging: a fast primary sends no hedge", "[resilience][hedging]") {
  Simulation sim;
  Log log;
  HedgedRequest h(sim, 1, Duration::millis(10), hooks(sim, log));
  h.start();
  sim.schedule_after(Duration::millis(3), [&] { CHECK(h.on_reply(0, true)); });
  sim.run();
  CHECK(log.sent.size() == 1);
  CHECK(log.cancelled.empty());
  CHECK(h.winner() == 0);
}

TEST_CASE("hedging: the hedge goes out after the delay and the loser is cancelled when the "
          "first reply wins", "[resilience][hedging]") {
  Simulation sim;
  Log log;
  HedgedRequest h(sim, 1, Duration::millis(10), hooks(sim, log));
  h.start();
  // The hedge (copy 1) answers 2 ms after it is sent; the primary would answer at 50 ms.
  sim.schedule_after(Duration::millis(12), [&] { CHECK(h.on_reply(1, true)); });
  sim.schedule_after(Duration::millis(50), [&] { CHECK_FALSE(h.on_reply(0, true)); });
  sim.run();
  REQUIRE(log.sent.size() == 2);
  CHECK(log.sent[1] == std::make_pair(Time::zero() + Duration::millis(10), 1));
  REQUIRE(log.cancelled.size() == 1);
  CHECK(log.cancelled[0] == std::make_pair(Time::zero() + Duration::millis(12), 0));
  CHECK(h.winner() == 1);
  CHECK(h.copies_cancelled() == 1);
}

TEST_CASE("hedging: a failed primary sends its hedge at once; all failing decides failure",
          "[resilience][hedging]") {
  Simulation sim;
  Log log;
  HedgedRequest h(sim, 1, Duration::millis(10), hooks(sim, log));
  h.start();
  sim.schedule_after(Duration::millis(2), [&] { CHECK_FALSE(h.on_reply(0, false)); });
  sim.schedule_after(Duration::millis(4), [&] { CHECK(h.on_reply(1, false)); });
  sim.run();
  REQUIRE(log.sent.size() == 2);
  CHECK(log.sent[1].first == Time::zero() + Duration::millis(2));
  CHECK(h.done());
  CHECK_FALSE(h.winner().has_value());
}

TEST_CASE("hedging: the delay follows the observed percentile once it has samples",
          "[resilience][hedging]") {
  HedgeParams p;
  p.enabled = true;
  p.percentile = 0.95;
  Histogram observed;
  CHECK(hedge_delay(p, observed) == Duration::millis(10));
  for (int i = 1; i <= 100; ++i) {
    observed.record(Duration::millis(i));
  }
  const Duration d = hedge_delay(p, observed);
  CHECK(d > Duration::millis(93));
  CHECK(d < Duration::millis(97));
  p.max_hedges = 0;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("hedge.max_hedges"));
}

// A world node arms the hedge timer on its own, pause-aware timers; here the hook stands for a
// process that is stopped for the first 25 ms, so the hedge due at 10 ms goes out at 25 ms.
// Ignoring hooks.arm (scheduling on the simulation directly) sends it at 10 ms.
TEST_CASE("hedging: the hedge timer is armed through hooks.arm when one is given",
          "[resilience][hedging]") {
  Simulation sim;
  Log log;
  auto h_hooks = hooks(sim, log);
  int armed = 0;
  h_hooks.arm = [&sim, &armed](Duration d, std::function<void()> fn) {
    ++armed;
    const Time due = std::max(sim.now() + d, Time::zero() + Duration::millis(25));
    return sim.schedule_at(due, std::move(fn));
  };
  HedgedRequest h(sim, 1, Duration::millis(10), std::move(h_hooks));
  h.start();
  sim.schedule_after(Duration::millis(30), [&] { CHECK(h.on_reply(1, true)); });
  sim.run();
  CHECK(armed == 1);
  REQUIRE(log.sent.size() == 2);
  CHECK(log.sent[1] == std::make_pair(Time::zero() + Duration::millis(25), 1));
  CHECK(h.winner() == 1);
}
