// The event queue's prefetch hooks (event_queue.hpp): a callable that declares
// `prefetch(unsigned stage) const` is told, stage 0, 1, 2, that it is three, two and one events
// from running, so that it can fetch what it will read. The hooks are hints: they must never
// change what runs or in which order, never reach an event that was cancelled or has run, and
// each stage comes at most once, in order.
#include <faultline/simulation.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using namespace faultline;
using namespace faultline::literals;

namespace {

struct Log {
  std::vector<int> ran;                  // event ids in run order
  std::vector<std::vector<unsigned>> stages;  // per event id: the hook stages it received
  std::vector<bool> done;                // per event id: has run
  int hook_after_run = 0;                // hooks that reached an event that had already run
};

// Small and trivially copyable, so the queue stores it inline and sees its hook.
struct Hooked {
  Log* log;
  int id;
  void operator()() const {
    log->ran.push_back(id);
    log->done[static_cast<std::size_t>(id)] = true;
  }
  void prefetch(unsigned stage) const {
    if (log->done[static_cast<std::size_t>(id)]) {
      ++log->hook_after_run;
    }
    log->stages[static_cast<std::size_t>(id)].push_back(stage);
  }
};
static_assert(PrefetchingCallable<Hooked>);

// The same event without a hook, for the reference order.
struct Plain {
  std::vector<int>* ran;
  int id;
  void operator()() const { ran->push_back(id); }
};

// Times with ties (FIFO must hold among them) and gaps, and an event that schedules more.
std::int64_t time_of(int i) { return (i * 7919 % 1000) / 3 * 1'000; }

}  // namespace

TEST_CASE("prefetch hooks: every stage in order, at most once, before the event runs; the run "
          "order is that of the same events without hooks",
          "[kernel][queue][prefetch]") {
  constexpr int kEvents = 2000;
  Log log;
  log.stages.resize(kEvents);
  log.done.resize(kEvents, false);
  Simulation hooked;
  for (int i = 0; i < kEvents; ++i) {
    hooked.schedule_at(Time::from_ns(time_of(i)), Hooked{&log, i});
  }
  REQUIRE(hooked.run() == kEvents);

  std::vector<int> reference;
  Simulation plain;
  for (int i = 0; i < kEvents; ++i) {
    plain.schedule_at(Time::from_ns(time_of(i)), Plain{&reference, i});
  }
  REQUIRE(plain.run() == kEvents);
  CHECK(log.ran == reference);
  CHECK(log.hook_after_run == 0);

  int all_three = 0;
  for (int i = 0; i < kEvents; ++i) {
    const auto& s = log.stages[static_cast<std::size_t>(i)];
    REQUIRE(s.size() <= 3);
    for (std::size_t k = 1; k < s.size(); ++k) {
      CHECK(s[k] > s[k - 1]);  // strictly increasing: in order, never repeated
    }
    if (s == std::vector<unsigned>{0, 1, 2}) {
      ++all_three;
    }
  }
  // "As far as the run reaches": an event at the head of a freshly gathered run may miss its
  // early stages, but almost every event of a long queue gets all three.
  CHECK(all_three >= kEvents * 9 / 10);
}

TEST_CASE("prefetch hooks: a cancelled event gets no hook after the cancel and never runs",
          "[kernel][queue][prefetch]") {
  constexpr int kEvents = 64;
  Log log;
  log.stages.resize(kEvents);
  log.done.resize(kEvents, false);
  Simulation sim;
  std::vector<EventId> ids;
  for (int i = 0; i < kEvents; ++i) {
    ids.push_back(sim.schedule_at(Time::zero() + Duration::millis(i + 1), Hooked{&log, i}));
  }
  // Between events 9 and 10, cancel 11-13 (next in line: they have had some of their hooks)
  // and 40 (far away: none yet).
  std::vector<std::size_t> stages_at_cancel;
  sim.schedule_at(Time::zero() + Duration::millis(10) + 1_us, [&] {
    for (int v : {11, 12, 13, 40}) {
      stages_at_cancel.push_back(log.stages[static_cast<std::size_t>(v)].size());
      CHECK(sim.cancel(ids[static_cast<std::size_t>(v)]));
    }
  });
  sim.run();
  for (int v : {11, 12, 13, 40}) {
    CHECK_FALSE(log.done[static_cast<std::size_t>(v)]);
  }
  const std::vector<int> cancelled{11, 12, 13, 40};
  for (std::size_t k = 0; k < cancelled.size(); ++k) {
    CHECK(log.stages[static_cast<std::size_t>(cancelled[k])].size() == stages_at_cancel[k]);
  }
  CHECK(log.ran.size() == kEvents - 4);
  CHECK(log.hook_after_run == 0);
}
