#include <faultline/task.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::literals;

namespace {

Task<int> add_later(Simulation& sim, int a, int b, Duration d) {
  co_await sim.sleep(d);
  co_return a + b;
}

Task<void> sum_twice(Simulation& sim, std::vector<std::string>& log) {
  const int x = co_await add_later(sim, 1, 2, 10_ms);
  log.push_back("x=" + std::to_string(x) + "@" + sim.now().to_string());
  const int y = co_await add_later(sim, x, 4, 5_ms);
  log.push_back("y=" + std::to_string(y) + "@" + sim.now().to_string());
}

Task<int> throws_after(Simulation& sim, Duration d) {
  co_await sim.sleep(d);
  throw std::runtime_error("boom");
}

// Counts live frames: a leak or a double destroy shows up in the counter.
struct FrameGuard {
  int* live;
  explicit FrameGuard(int* l) : live(l) { ++*live; }
  ~FrameGuard() { --*live; }
};

Task<void> child_loop(Simulation& sim, int* live, int* ticks) {
  FrameGuard g{live};
  for (;;) {
    co_await sim.sleep(1_ms);
    ++*ticks;
  }
}

Task<void> parent_loop(Simulation& sim, int* live, int* ticks) {
  FrameGuard g{live};
  co_await child_loop(sim, live, ticks);
}

}  // namespace

TEST_CASE("task: awaiting a child yields its result at the right time", "[kernel][task]") {
  Simulation sim;
  Process proc(sim, "p");
  std::vector<std::string> log;
  proc.spawn(sum_twice(sim, log));
  sim.run();
  CHECK(log == std::vector<std::string>{"x=3@T+10ms", "y=7@T+15ms"});
  CHECK(proc.task_count() == 0);
}

TEST_CASE("task: a child's exception propagates to the awaiter", "[kernel][task]") {
  Simulation sim;
  Process proc(sim, "p");
  std::string caught;
  proc.spawn([](Simulation& s, std::string& out) -> Task<void> {
    try {
      co_await throws_after(s, 3_ms);
    } catch (const std::runtime_error& e) {
      out = std::string(e.what()) + "@" + s.now().to_string();
    }
  }(sim, caught));
  sim.run();
  CHECK(caught == "boom@T+3ms");
}

TEST_CASE("task: an exception escaping a detached task stops the run and is rethrown",
          "[kernel][task]") {
  Simulation sim;
  Process proc(sim, "p");
  int later = 0;
  proc.spawn([](Simulation& s) -> Task<void> {
    co_await s.sleep(1_ms);
    throw std::logic_error("model bug");
  }(sim));
  sim.schedule_after(5_ms, [&] { ++later; });
  CHECK_THROWS_WITH(sim.run(), "model bug");
  CHECK(later == 0);
  CHECK(sim.now() == Time::zero() + 1_ms);
}

TEST_CASE("task: killing a process destroys its frames and nothing of it runs again",
          "[kernel][task][process]") {
  Simulation sim;
  int live = 0;
  int ticks = 0;
  int timer_fired = 0;
  {
    Process proc(sim, "victim");
    proc.spawn(parent_loop(sim, &live, &ticks));
    proc.spawn(child_loop(sim, &live, &ticks));
    proc.schedule_after(50_ms, [&] { ++timer_fired; });
    sim.run_until(Time::zero() + 10_ms);
    CHECK(live == 3);  // two roots and one child
    CHECK(ticks == 20);
    const int before = ticks;
    sim.schedule_after(0_ns, [&] { proc.kill(); });
    sim.run_until(Time::zero() + 100_ms);
    CHECK(live == 0);
    CHECK(ticks == before);
    CHECK(timer_fired == 0);
    CHECK(proc.task_count() == 0);
    CHECK(proc.incarnation() == 1);
    CHECK(sim.pending() == 0);

    // The process can be started again: a new incarnation.
    proc.spawn(child_loop(sim, &live, &ticks));
    sim.run_until(Time::zero() + 105_ms);
    CHECK(live == 1);
    CHECK(ticks == before + 5);
  }
  // Destroying the process destroys the frames of its running tasks.
  CHECK(live == 0);
}

TEST_CASE("task: completions resume their waiter, time out, and ignore a second set",
          "[kernel][task]") {
  Simulation sim;
  Process proc(sim, "p");
  Completion<int> fast(sim);
  Completion<int> slow(sim);
  std::vector<std::string> log;
  proc.spawn([](Simulation& s, Completion<int> a, Completion<int> b,
                std::vector<std::string>& out) -> Task<void> {
    auto v = co_await a.wait_for(100_ms);
    out.push_back("a=" + std::to_string(v.value_or(-1)) + "@" + s.now().to_string());
    auto w = co_await b.wait_for(100_ms);
    out.push_back(std::string("b=") + (w ? std::to_string(*w) : "timeout") + "@" +
                  s.now().to_string());
  }(sim, fast, slow, log));
  sim.schedule_after(30_ms, [&] {
    CHECK(fast.set(5));
    CHECK_FALSE(fast.set(6));
  });
  sim.schedule_after(500_ms, [&] { slow.set(9); });  // too late
  sim.run();
  CHECK(log == std::vector<std::string>{"a=5@T+30ms", "b=timeout@T+130ms"});
}

TEST_CASE("task: a completion set before the wait is returned without suspending",
          "[kernel][task]") {
  Simulation sim;
  Process proc(sim, "p");
  Completion<std::string> c(sim);
  c.set("ready");
  std::string got;
  proc.spawn([](Completion<std::string> comp, std::string& out) -> Task<void> {
    out = *co_await comp.wait();
  }(c, got));
  sim.run();
  CHECK(got == "ready");
}

TEST_CASE("task: killing a waiter cancels its timeout and a later set does not resume it",
          "[kernel][task][process]") {
  Simulation sim;
  int live = 0;
  bool resumed = false;
  Completion<int> c(sim);
  Process proc(sim, "p");
  proc.spawn([](Completion<int> comp, int* l, bool* r) -> Task<void> {
    FrameGuard g{l};
    co_await comp.wait_for(1_s);
    *r = true;
  }(c, &live, &resumed));
  sim.run_until(Time::zero() + 10_ms);
  CHECK(live == 1);
  proc.kill();
  CHECK(live == 0);
  CHECK(sim.pending() == 0);  // the timeout was cancelled
  c.set(1);
  sim.run();
  CHECK_FALSE(resumed);
}

TEST_CASE("task: kill cancels every pending timer, however many came and went before it",
          "[kernel][task][process]") {
  // A process forgets the timers it no longer needs to cancel: those due before now by their
  // time, the others by asking the queue. Thousands of timers here, many cancelled (some due
  // long after the kill), some due at the very instant of the kill, so both ways run many
  // times; a timer that was still pending and forgotten would fire after the kill.
  Simulation sim;
  Process proc(sim, "p");
  Rng rng(20261207);
  const Time kill_at = Time::zero() + 500_ms;
  int fired = 0;
  int fired_after_kill = 0;
  bool killed = false;
  struct Scheduled {
    EventId id;
    Time at;
    bool cancelled = false;
  };
  std::vector<Scheduled> all;
  auto on_fire = [&] { ++(killed ? fired_after_kill : fired); };
  std::function<void()> drive = [&] {
    const Time now = sim.now();
    if (now == kill_at) {
      for (int i = 0; i < 3000; ++i) {  // due now: they cross the compaction threshold here
        proc.schedule_after(Duration::zero(), on_fire);
      }
      proc.kill();
      killed = true;
      return;
    }
    for (int i = 0; i < 20; ++i) {
      const auto d = Duration::millis(static_cast<std::int64_t>(rng.below(1000)));
      all.push_back(Scheduled{proc.schedule_after(d, on_fire), now + d});
    }
    for (int i = 0; i < 12; ++i) {  // some pending, some already run (cancel does nothing)
      Scheduled& s = all[rng.below(all.size())];
      s.cancelled = s.cancelled || proc.cancel(s.id);
    }
    sim.schedule_after(1_ms, drive);  // after this instant's timers: those due at kill_at run
  };
  sim.schedule_after(Duration::zero(), drive);
  sim.run();
  int expected = 0;  // neither cancelled nor due after the kill
  for (const Scheduled& s : all) {
    expected += !s.cancelled && s.at <= kill_at ? 1 : 0;
  }
  CHECK(killed);
  CHECK(fired_after_kill == 0);
  CHECK(fired == expected);
  CHECK(expected > 1000);
  CHECK(sim.pending() == 0);
}
