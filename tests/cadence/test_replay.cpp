// Replay of workflow code against a recorded history: commands already in the history are not
// issued again, recorded outcomes are returned at once, a signal or its timeout resolve the
// same way on every replay, and the log format survives a torn tail.
#include <faultline/sim/cadence/workflow.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::cadence;

namespace {

const TripTimeouts kTimeouts{Duration::minutes(30), Duration::hours(8)};

HistoryEvent ev(EventKind k, std::int64_t seq = -1, std::string name = {}, std::string data = {}) {
  HistoryEvent e;
  e.kind = k;
  e.seq = seq;
  e.name = std::move(name);
  e.data = std::move(data);
  return e;
}

Decision decide(const WorkflowHistory& h) {
  WorkflowContext ctx(h);
  WorkflowCode code = trip_workflow(ctx, kTimeouts);
  return ctx.decide(code);
}

}  // namespace

TEST_CASE("cadence replay: a new workflow's first decision schedules find_driver",
          "[cadence][replay]") {
  WorkflowHistory h{"trip-1", {ev(EventKind::kWorkflowStarted, -1, "trip", "1500")}};
  Decision d = decide(h);
  REQUIRE(d.commands.size() == 1);
  CHECK(d.commands[0].kind == Command::Kind::kScheduleActivity);
  CHECK(d.commands[0].name == "find_driver");
  CHECK(d.commands[0].seq == 0);
}

TEST_CASE("cadence replay: a command already in the history is not issued again",
          "[cadence][replay]") {
  // The worker that scheduled find_driver crashed; another replays the same history.
  WorkflowHistory h{"trip-1",
                    {ev(EventKind::kWorkflowStarted, -1, "trip", "1500"),
                     ev(EventKind::kActivityScheduled, 0, "find_driver", "trip-1")}};
  Decision d = decide(h);
  CHECK(d.commands.empty());
  CHECK(d.nondeterministic == 0);
  // Without replay (the code re-run from the top, ignoring what the history records) the same
  // history makes the worker schedule find_driver a second time: the check above would fail.
  WorkflowContext naive(h, /*replay=*/false);
  WorkflowCode code = trip_workflow(naive, kTimeouts);
  Decision again = naive.decide(code);
  REQUIRE(again.commands.size() == 1);
  CHECK(again.commands[0].name == "find_driver");
}

TEST_CASE("cadence replay: recorded outcomes drive the code to its next command",
          "[cadence][replay]") {
  WorkflowHistory h{"trip-1",
                    {ev(EventKind::kWorkflowStarted, -1, "trip", "1500"),
                     ev(EventKind::kActivityScheduled, 0, "find_driver", "trip-1"),
                     ev(EventKind::kActivityCompleted, 0, {}, "driver-7")}};
  Decision d = decide(h);
  REQUIRE(d.commands.size() == 1);
  CHECK(d.commands[0].kind == Command::Kind::kStartTimer);
  CHECK(d.commands[0].after == Duration::minutes(30));
  CHECK(d.commands[0].seq == 1);
}

TEST_CASE("cadence replay: a signal before its timer cancels the timer; a timer first is a "
          "timeout, on every replay",
          "[cadence][replay][signal]") {
  std::vector<HistoryEvent> base = {ev(EventKind::kWorkflowStarted, -1, "trip", "1500"),
                                    ev(EventKind::kActivityScheduled, 0, "find_driver", "t"),
                                    ev(EventKind::kActivityCompleted, 0, {}, "driver-7"),
                                    ev(EventKind::kTimerStarted, 1)};
  SECTION("the signal wins: cancel the timer, then wait for trip_completed") {
    auto events = base;
    events.push_back(ev(EventKind::kSignaled, -1, "driver_arrived"));
    Decision d = decide({"t", events});
    REQUIRE(d.commands.size() == 2);
    CHECK(d.commands[0].kind == Command::Kind::kCancelTimer);
    CHECK(d.commands[0].timer_seq == 1);
    CHECK(d.commands[1].kind == Command::Kind::kStartTimer);
    CHECK(d.commands[1].after == Duration::hours(8));
  }
  SECTION("the timer fired first: the trip ends as a no-show, even if the signal comes later") {
    auto events = base;
    events.push_back(ev(EventKind::kTimerFired, 1));
    events.push_back(ev(EventKind::kSignaled, -1, "driver_arrived"));
    Decision d = decide({"t", events});
    REQUIRE(d.commands.size() == 1);
    CHECK(d.commands[0].kind == Command::Kind::kComplete);
    CHECK(d.commands[0].data == "driver_no_show");
  }
  SECTION("a signal that arrived before the wait began still counts") {
    std::vector<HistoryEvent> events = {ev(EventKind::kWorkflowStarted, -1, "trip", "1500"),
                                        ev(EventKind::kActivityScheduled, 0, "find_driver", "t"),
                                        ev(EventKind::kSignaled, -1, "driver_arrived"),
                                        ev(EventKind::kActivityCompleted, 0, {}, "driver-7")};
    Decision d = decide({"t", events});
    REQUIRE(d.commands.size() == 3);  // start the timer, cancel it, wait for the trip's end
    CHECK(d.commands[1].kind == Command::Kind::kCancelTimer);
  }
}

TEST_CASE("cadence replay: a whole trip's history replays to nothing new", "[cadence][replay]") {
  std::vector<HistoryEvent> events = {
      ev(EventKind::kWorkflowStarted, -1, "trip", "1500"),
      ev(EventKind::kActivityScheduled, 0, "find_driver", "t"),
      ev(EventKind::kActivityCompleted, 0, {}, "driver-7"),
      ev(EventKind::kTimerStarted, 1),
      ev(EventKind::kSignaled, -1, "driver_arrived")};
  HistoryEvent cancel = ev(EventKind::kTimerCanceled, 1);
  cancel.cmd = 2;
  events.push_back(cancel);
  events.push_back(ev(EventKind::kTimerStarted, 3));
  events.push_back(ev(EventKind::kSignaled, -1, "trip_completed"));
  cancel.seq = 3;
  cancel.cmd = 4;
  events.push_back(cancel);
  events.push_back(ev(EventKind::kActivityScheduled, 5, "process_payment", "1500"));
  events.push_back(ev(EventKind::kActivityCompleted, 5, {}, "ch-1"));
  events.push_back(ev(EventKind::kActivityScheduled, 6, "send_rating_request", "driver-7"));
  events.push_back(ev(EventKind::kActivityCompleted, 6, {}, "sent"));
  Decision d = decide({"t", events});
  REQUIRE(d.commands.size() == 1);
  CHECK(d.commands[0].kind == Command::Kind::kComplete);
  CHECK(d.commands[0].data == "completed");
  events.push_back(ev(EventKind::kWorkflowCompleted, 7, {}, "completed"));
  CHECK(decide({"t", events}).commands.empty());
}

TEST_CASE("cadence replay: a history whose commands differ from the code is non-determinism",
          "[cadence][replay]") {
  WorkflowHistory h{"t",
                    {ev(EventKind::kWorkflowStarted, -1, "trip", "1500"),
                     ev(EventKind::kActivityScheduled, 0, "process_payment", "1500")}};
  CHECK(decide(h).nondeterministic == 1);
}

TEST_CASE("cadence history log: lines round-trip and a torn tail is dropped",
          "[cadence][log]") {
  HistoryEvent a = ev(EventKind::kActivityScheduled, 0, "find_driver", "trip-1");
  a.time = Time::from_ns(5);
  HistoryEvent b = ev(EventKind::kTimerStarted, 1);
  b.at = Time::from_ns(99);
  std::string log = encode_line("trip-1", a) + encode_line("trip-2", b);
  auto hs = decode_log(log);
  REQUIRE(hs.size() == 2);
  CHECK(hs[0].events[0] == a);
  CHECK(hs[1].events[0] == b);
  const std::string torn = log + encode_line("trip-1", b).substr(0, 12);
  CHECK(decode_log(torn).size() == 2);
  std::string corrupt = log;
  corrupt[3] = 'X';  // the first line's checksum no longer matches: the log ends before it
  CHECK(decode_log(corrupt).empty());
}
