#include <faultline/simulation.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::literals;

TEST_CASE("simulation: events run in time order", "[kernel][queue]") {
  Simulation sim;
  std::vector<int> order;
  sim.schedule_at(Time::zero() + 30_ms, [&] { order.push_back(3); });
  sim.schedule_at(Time::zero() + 10_ms, [&] { order.push_back(1); });
  sim.schedule_at(Time::zero() + 20_ms, [&] { order.push_back(2); });
  CHECK(sim.run() == 3);
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(sim.now() == Time::zero() + 30_ms);
}

TEST_CASE("simulation: equal-time events run first-in first-out", "[kernel][queue]") {
  Simulation sim;
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) {
    sim.schedule_at(Time::zero() + 5_ms, [&order, i] { order.push_back(i); });
  }
  // Interleave other times so that the equal-time events are redistributed between buckets.
  sim.schedule_at(Time::zero() + 1_ms, [&] {
    sim.schedule_at(Time::zero() + 5_ms, [&order] { order.push_back(100); });
  });
  sim.run();
  REQUIRE(order.size() == 101);
  for (int i = 0; i <= 100; ++i) {
    CHECK(order[static_cast<std::size_t>(i)] == i);
  }
}

TEST_CASE("simulation: zero-delay events run after the current one, never inline",
          "[kernel][queue]") {
  Simulation sim;
  std::vector<std::string> log;
  sim.schedule_after(0_ns, [&] {
    sim.schedule_after(0_ns, [&] { log.push_back("child"); });
    log.push_back("parent");
  });
  sim.schedule_after(0_ns, [&] { log.push_back("sibling"); });
  sim.run();
  CHECK(log == std::vector<std::string>{"parent", "sibling", "child"});
}

TEST_CASE("simulation: the queue matches a reference model under random operations",
          "[kernel][queue]") {
  // A sorted reference list of (time, seq) against the radix heap, with random schedules,
  // cancels and pops: a FIFO or ordering bug in any bucket shows up as a mismatch.
  const auto seed = GENERATE(1u, 2u, 3u, 4u, 5u);
  Simulation sim({.seed = seed});
  Rng rng(seed);
  struct Ref {
    std::int64_t t;
    int seq;
    EventId id;
  };
  std::vector<Ref> pending;
  std::vector<int> ran;
  int seq = 0;
  for (int round = 0; round < 3000; ++round) {
    const auto op = rng.below(10);
    if (op < 6) {
      // Times cluster so that ties are common.
      const auto t = sim.now().ns() + static_cast<std::int64_t>(rng.below(4)) * 1'000 +
                     (rng.bernoulli(1, 3) ? 0 : static_cast<std::int64_t>(rng.below(1 << 20)));
      const int s = seq++;
      EventId id = sim.schedule_at(Time::from_ns(t), [&ran, s] { ran.push_back(s); });
      pending.push_back({t, s, id});
    } else if (op < 7 && !pending.empty()) {
      const auto i = rng.below(pending.size());
      CHECK(sim.cancel(pending[i].id));
      CHECK_FALSE(sim.cancel(pending[i].id));
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (!pending.empty()) {
      auto best = std::min_element(pending.begin(), pending.end(), [](const Ref& a, const Ref& b) {
        return a.t != b.t ? a.t < b.t : a.seq < b.seq;
      });
      const int expected = best->seq;
      const auto t = best->t;
      pending.erase(best);
      ran.clear();
      REQUIRE(sim.step());
      REQUIRE(ran.size() == 1);
      CHECK(ran[0] == expected);
      CHECK(sim.now().ns() == t);
    }
    CHECK(sim.pending() == pending.size());
  }
}

TEST_CASE("simulation: cancel is exact about what was pending", "[kernel][queue]") {
  Simulation sim;
  int fired = 0;
  EventId a = sim.schedule_after(10_ms, [&] { ++fired; });
  EventId b = sim.schedule_after(20_ms, [&] { ++fired; });
  CHECK(sim.is_pending(a));
  CHECK(sim.cancel(a));
  CHECK_FALSE(sim.is_pending(a));
  CHECK_FALSE(sim.cancel(a));
  CHECK_FALSE(sim.cancel(EventId{}));
  sim.run();
  CHECK(fired == 1);
  CHECK_FALSE(sim.cancel(b));  // already ran

  // A slot reused by a new event must not be cancellable through the old id.
  EventId c = sim.schedule_after(1_ms, [&] { ++fired; });
  CHECK_FALSE(sim.cancel(a));
  CHECK(sim.is_pending(c));
  sim.run();
  CHECK(fired == 2);
}

TEST_CASE("simulation: an event cannot cancel itself while running", "[kernel][queue]") {
  Simulation sim;
  EventId self;
  bool cancel_result = true;
  self = sim.schedule_after(1_ms, [&] { cancel_result = sim.cancel(self); });
  sim.run();
  CHECK_FALSE(cancel_result);
}

TEST_CASE("simulation: run_until stops at the bound and advances the clock to it",
          "[kernel][queue]") {
  Simulation sim;
  int fired = 0;
  sim.schedule_at(Time::zero() + 1_s, [&] { ++fired; });
  sim.schedule_at(Time::zero() + 2_s, [&] { ++fired; });
  sim.schedule_at(Time::zero() + 3_s, [&] { ++fired; });
  CHECK(sim.run_until(Time::zero() + 2_s) == 2);
  CHECK(sim.now() == Time::zero() + 2_s);
  CHECK(sim.pending() == 1);
  CHECK(sim.run_for(500_ms) == 0);
  CHECK(sim.now() == Time::zero() + 2500_ms);
  CHECK(sim.run() == 1);
  CHECK(fired == 3);
}

TEST_CASE("simulation: stop ends the run after the current event", "[kernel][queue]") {
  Simulation sim;
  int fired = 0;
  for (int i = 1; i <= 10; ++i) {
    sim.schedule_after(Duration::millis(i), [&, i] {
      ++fired;
      if (i == 4) {
        sim.stop();
      }
    });
  }
  CHECK(sim.run() == 4);
  CHECK(fired == 4);
  CHECK(sim.run() == 6);
}

TEST_CASE("simulation: large callables are boxed and still run and are destroyed",
          "[kernel][queue]") {
  Simulation sim;
  auto tracker = std::make_shared<int>(0);
  std::array<char, 200> big{};
  big[199] = 7;
  int seen = 0;
  sim.schedule_after(1_ms, [tracker, big, &seen] { seen = big[199]; });
  // Cancelled boxed and inline callables release what they captured.
  EventId c1 = sim.schedule_after(2_ms, [tracker, big] { (void)big; });
  EventId c2 = sim.schedule_after(2_ms, [tracker] {});
  CHECK(tracker.use_count() == 4);
  sim.cancel(c1);
  sim.cancel(c2);
  CHECK(tracker.use_count() == 2);
  sim.run();
  CHECK(seen == 7);
  CHECK(tracker.use_count() == 1);
}

TEST_CASE("simulation: pending callables are destroyed with the simulation", "[kernel][queue]") {
  auto tracker = std::make_shared<int>(0);
  {
    Simulation sim;
    sim.schedule_after(1_s, [tracker] {});
    CHECK(tracker.use_count() == 2);
  }
  CHECK(tracker.use_count() == 1);
}

TEST_CASE("simulation: the epoch maps true time onto UTC", "[kernel][time]") {
  Simulation sim({.seed = 1, .epoch = *UtcInstant::parse("2012-06-30T23:00:00Z")});
  sim.schedule_after(59_min + 59_s, [] {});
  sim.run();
  CHECK(sim.utc_now().to_string() == "2012-06-30T23:59:59.000Z");
  CHECK(sim.at_utc(*UtcInstant::parse("2012-07-01T00:00:00Z")) == Time::zero() + 1_h);
}

TEST_CASE("simulation: two simulations side by side do not interfere", "[kernel]") {
  Simulation a({.seed = 1});
  Simulation b({.seed = 1});
  int na = 0, nb = 0;
  a.schedule_after(1_s, [&] { ++na; });
  b.schedule_after(2_s, [&] { ++nb; });
  a.run();
  CHECK(na == 1);
  CHECK(nb == 0);
  CHECK(b.now() == Time::zero());
  b.run();
  CHECK(nb == 1);
}

TEST_CASE("simulation: samplers record a time series at their interval", "[kernel][metrics]") {
  Simulation sim;
  int value = 0;
  sim.schedule_after(2500_ms, [&] { value = 10; });
  auto& ts = sim.sample_every("value", 1_s, [&] { return static_cast<double>(value); });
  sim.run_until(Time::zero() + 5_s);
  REQUIRE(ts.samples().size() == 6);  // t = 0,1,2,3,4,5 s
  CHECK(ts.samples()[2].value == 0.0);
  CHECK(ts.samples()[3].value == 10.0);
  CHECK(ts.samples()[3].time == Time::zero() + 3_s);
  CHECK(ts.mean_over(Time::zero(), Time::zero() + 4_s) == 2.5);  // samples 0, 0, 0, 10
}

TEST_CASE("simulation: after run_until, events can be scheduled before the next pending one",
          "[kernel][queue]") {
  // run_until must not reorganise the queue around a time it has not reached.
  Simulation sim;
  std::vector<int> order;
  sim.schedule_at(Time::zero() + 10_s, [&] { order.push_back(3); });
  sim.schedule_at(Time::zero() + 1_s, [&] { order.push_back(1); });
  sim.run_until(Time::zero() + 2_s);
  CHECK(sim.next_event_time() == Time::zero() + 10_s);
  sim.schedule_after(0_ns, [&] { order.push_back(2); });
  sim.schedule_after(1_ms, [&] { order.push_back(22); });
  sim.run();
  CHECK(order == std::vector<int>{1, 2, 22, 3});
}

TEST_CASE("simulation: bursts of near-term events keep (time, seq) order", "[kernel][queue]") {
  // Thousands of events on a handful of instants, scheduled in shuffled time order while the
  // queue is mid-run: exercises the sorted front run, its spill back into the buckets, and
  // FIFO among equal times through both.
  const auto seed = GENERATE(11u, 12u, 13u);
  Simulation sim({.seed = seed});
  Rng rng(seed);
  std::vector<std::pair<std::int64_t, int>> ran;
  std::vector<std::pair<std::int64_t, int>> expected;
  int seq = 0;
  auto burst = [&](std::int64_t base) {
    for (int i = 0; i < 2000; ++i) {
      const auto t = base + static_cast<std::int64_t>(rng.below(8)) * 100;
      const int s = seq++;
      expected.emplace_back(t, s);
      sim.schedule_at(Time::from_ns(t), [&ran, t, s] { ran.emplace_back(t, s); });
    }
  };
  burst(1'000);
  // A second burst lands among the first while it is being consumed.
  sim.schedule_at(Time::from_ns(1'150), [&] { burst(1'200); });
  sim.run();
  std::stable_sort(expected.begin(), expected.end());
  REQUIRE(ran.size() == expected.size());
  CHECK(ran == expected);
}
