// The workflow checkers against good histories and broken ones they must reject.
#include <faultline/check/exactly_once.hpp>
#include <faultline/sim/cadence/checkers.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::cadence;

namespace {

HistoryEvent at(EventKind k, std::int64_t seq, Duration t, Duration due = {}) {
  HistoryEvent e;
  e.kind = k;
  e.seq = seq;
  e.time = Time::zero() + t;
  e.at = Time::zero() + due;
  return e;
}

WorkflowHistory ended(std::string id) {
  return {std::move(id),
          {at(EventKind::kWorkflowStarted, -1, Duration::seconds(1)),
           at(EventKind::kTimerStarted, 1, Duration::seconds(2), Duration::seconds(62)),
           at(EventKind::kTimerFired, 1, Duration::seconds(62)),
           at(EventKind::kWorkflowCompleted, 2, Duration::seconds(63))}};
}

}  // namespace

TEST_CASE("cadence checkers: workflows-end passes when every acknowledged workflow ended",
          "[cadence][checker]") {
  std::vector<std::string> starts = {"a", "b"};
  std::vector<WorkflowHistory> hs = {ended("a"), ended("b")};
  CHECK(check_workflows_end(starts, hs).ok);
}

TEST_CASE("cadence checkers: workflows-end rejects a lost, an unfinished and an overrun history",
          "[cadence][checker]") {
  std::vector<std::string> starts = {"a", "b"};
  SECTION("lost: an acknowledged start with no history") {
    std::vector<WorkflowHistory> hs = {ended("a")};
    auto r = check_workflows_end(starts, hs);
    CHECK(!r.ok);
    CHECK(r.summary.find("1 lost") != std::string::npos);
  }
  SECTION("never ended") {
    WorkflowHistory b = ended("b");
    b.events.pop_back();
    std::vector<WorkflowHistory> hs = {ended("a"), b};
    auto r = check_workflows_end(starts, hs);
    CHECK(!r.ok);
    CHECK(r.summary.find("1 never ended") != std::string::npos);
  }
  SECTION("an activity after the end") {
    WorkflowHistory b = ended("b");
    b.events.push_back(at(EventKind::kActivityScheduled, 3, Duration::seconds(70)));
    std::vector<WorkflowHistory> hs = {ended("a"), b};
    CHECK(!check_workflows_end(starts, hs).ok);
  }
}

TEST_CASE("cadence checkers: timers-fire passes fired, canceled and not-yet-due timers",
          "[cadence][checker]") {
  WorkflowHistory h = ended("a");
  h.events.push_back(at(EventKind::kTimerStarted, 5, Duration::seconds(64), Duration::hours(1)));
  std::vector<WorkflowHistory> hs = {h};
  CHECK(check_timers_fire(hs, Time::zero() + Duration::minutes(10), Duration::seconds(30)).ok);
}

TEST_CASE("cadence checkers: timers-fire rejects a lost timer, an early one and a double end",
          "[cadence][checker]") {
  const Time now = Time::zero() + Duration::minutes(10);
  SECTION("a due timer that never fired") {
    WorkflowHistory h = ended("a");
    h.events.erase(h.events.begin() + 2);
    std::vector<WorkflowHistory> hs = {h};
    auto r = check_timers_fire(hs, now, Duration::seconds(30));
    CHECK(!r.ok);
    CHECK(r.summary.find("1 due and never fired") != std::string::npos);
    // Not yet past the lateness allowed, it is not a violation.
    CHECK(check_timers_fire(hs, Time::zero() + Duration::seconds(70), Duration::seconds(30)).ok);
  }
  SECTION("fired before it was due") {
    WorkflowHistory h = ended("a");
    h.events[2].time = Time::zero() + Duration::seconds(30);
    std::vector<WorkflowHistory> hs = {h};
    auto r = check_timers_fire(hs, now, Duration::seconds(30));
    CHECK(!r.ok);
    CHECK(r.summary.find("1 fired early") != std::string::npos);
  }
  SECTION("fired and canceled") {
    WorkflowHistory h = ended("a");
    h.events.insert(h.events.begin() + 3, at(EventKind::kTimerCanceled, 1, Duration::seconds(62)));
    std::vector<WorkflowHistory> hs = {h};
    CHECK(!check_timers_fire(hs, now, Duration::seconds(30)).ok);
  }
  SECTION("a timer that fired without being started") {
    WorkflowHistory h = ended("a");
    h.events.push_back(at(EventKind::kTimerFired, 9, Duration::seconds(64)));
    std::vector<WorkflowHistory> hs = {h};
    CHECK(!check_timers_fire(hs, now, Duration::seconds(30)).ok);
  }
}

TEST_CASE("cadence checkers: the exactly-once checker rejects a trip charged twice",
          "[cadence][checker]") {
  // The payment activity's attempts as the model records them: one timed out (info), the retry
  // succeeded; the payment service charged once (pass) or twice (no idempotency key: fail).
  check::History requests;
  requests.invoke(0, Time::zero() + Duration::seconds(1), check::Op::request("trip-1"));
  requests.info(0, Time::zero() + Duration::seconds(3));
  requests.invoke(1, Time::zero() + Duration::seconds(5), check::Op::request("trip-1"));
  requests.ok(1, Time::zero() + Duration::seconds(6));
  std::vector<check::Effect> once = {{"trip-1", Time::zero() + Duration::seconds(2), "ch-1"}};
  CHECK(check::check_exactly_once(requests, once).ok);
  std::vector<check::Effect> twice = once;
  twice.push_back({"trip-1", Time::zero() + Duration::seconds(5), "ch-2"});
  CHECK(!check::check_exactly_once(requests, twice).ok);
}
