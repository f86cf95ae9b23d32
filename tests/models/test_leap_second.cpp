// The 2012 leap second on a Linux fleet (model-facts §1.1): a service whose instances run
// background threads that loop on short absolute timed waits. On kernel-2012 hosts the leap
// step leaves the hrtimer base 1 s ahead, every wait under 1 s returns at once, the threads
// spin, and request work queues behind them on the CPU: availability collapses although the
// request rate never changed. Restarting the service does not help (the bad state is in the
// kernel); setting the clock does. A patched kernel and a smeared clock never break.
#include "services_fixture.hpp"

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::services;
using faultline::sim::services::testing::Run;

namespace {

// 2 instances x 4 cores, 4 ms of CPU per request: 2,000 requests/s of capacity; 800/s offered
// (40 %). Each instance has 12 threads that wait 100 ms at a time. The leap second begins 60 s
// into the run (the epoch is 23:59:00 UTC).
ServiceGraphParams fleet(world::LeapMode mode) {
  ServiceGraphParams p;
  TierParams api;
  api.name = "api";
  api.instances = 2;
  api.cores = 4;
  api.service_time.kind = ServiceTime::Kind::fixed;
  api.service_time.mean = Duration::millis(4);
  api.timed_wait_threads = 12;
  api.timed_wait = Duration::millis(100);
  api.cpu_slice = Duration::millis(3);
  world::ClockParams clock;
  clock.leap_mode = mode;
  clock.ntp_enabled = false;  // NTP stepping the clock would end the bug by itself
  api.clock = clock;
  p.tiers.push_back(api);
  ClientParams c;
  c.name = "users";
  c.target = "api";
  c.rate_per_s = 800.0;
  c.policy.timeout.timeout = Duration::seconds(1);
  c.policy.retry.max_attempts = 1;
  p.clients.push_back(c);
  return p;
}

world::WorldParams leap_2012() {
  world::WorldParams w;
  w.leap_seconds = {UtcInstant::from_civil(2012, 7, 1)};
  return w;
}

struct LeapRun : Run {
  explicit LeapRun(world::LeapMode mode, std::uint64_t seed = 1)
      : Run(fleet(mode),
            Simulation::Options{.seed = seed,
                                .epoch = UtcInstant::from_civil(2012, 6, 30, 23, 59, 0)},
            leap_2012()) {}
  double errors(double from_s, double to_s) const {
    return mean(client_metric_names("users").error_ratio, from_s, to_s);
  }
  double cpu(double from_s, double to_s) const {
    return mean(tier_metric_names("api").cpu_util, from_s, to_s);
  }
  void fault(world::FaultKind kind, Duration at) {
    world::FaultSpec f;
    f.at = at;
    f.kind = kind;
    f.target = {world::TargetKind::kGroup, ServiceGraph::tier_group("api")};
    world->faults().schedule(f);
  }
};

}  // namespace

TEST_CASE("leap second: kernel-2012 hosts spin and the service collapses until the clock is set",
          "[services][leap]") {
  LeapRun r(world::LeapMode::kKernel2012);
  r.fault(world::FaultKind::kRestart, Duration::seconds(100));   // restarting does not help
  r.fault(world::FaultKind::kClockSet, Duration::seconds(140));  // date -s "$(date)" does
  r.run_for(Duration::seconds(200));
  // Before the leap: healthy, CPU ~40 %.
  CHECK(r.errors(10, 59) < 0.001);
  CHECK(r.cpu(10, 59) < 0.6);
  // After it: the spinning threads take the cores; most requests time out.
  CHECK(r.cpu(65, 99) > 0.95);
  CHECK(r.errors(70, 99) > 0.5);
  // After the restart: the new process's threads spin again.
  CHECK(r.errors(110, 139) > 0.5);
  // Setting the clock calls clock_was_set(): the waits sleep again and the service recovers.
  CHECK(r.errors(155, 200) < 0.001);
  CHECK(r.cpu(155, 200) < 0.6);
}

TEST_CASE("leap second: a patched kernel or a smeared clock keeps the service healthy",
          "[services][leap]") {
  const auto mode = GENERATE(world::LeapMode::kStep, world::LeapMode::kSmear);
  LeapRun r(mode);
  r.run_for(Duration::seconds(200));
  CHECK(r.errors(10, 200) < 0.001);
  CHECK(r.cpu(60, 200) < 0.6);
}
