#include "world_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <numbers>
#include <vector>

using namespace faultline;
using namespace faultline::world;
using namespace faultline::world::testing;
using namespace faultline::literals;

namespace {

const UtcInstant kMidnight2017 = UtcInstant::from_civil(2017, 1, 1);

struct LeapWorld {
  Simulation sim;
  World world;
  LeapWorld(UtcInstant epoch, UtcInstant leap_midnight)
      : sim(Simulation::Options{1, epoch}), world(sim, params(leap_midnight)) {
    world.add_zone(world.add_region("r"), "z");
  }
  static WorldParams params(UtcInstant leap_midnight) {
    WorldParams p = quiet_params();
    p.leap_seconds = {leap_midnight};
    return p;
  }
  Clock& clock_with(LeapMode mode, SmearParams smear = SmearParams::noon_to_noon()) {
    HostParams hp = world.params().host_defaults;
    hp.clock.leap_mode = mode;
    hp.clock.smear = smear;
    const auto id = world.add_host(ZoneId{0}, "h" + std::to_string(world.host_count()), hp);
    return world.host(id).clock();
  }
};

UtcInstant civil(int y, int mo, int d, int h, int mi, int s, std::int64_t ns = 0) {
  return UtcInstant::from_civil(y, mo, d, h, mi, s, ns);
}

}  // namespace

TEST_CASE("clock: drift and offset accumulate in closed form", "[world][clock]") {
  Simulation sim;
  WorldParams p = quiet_params();
  p.host_defaults.clock.initial_offset = 3_ms;
  p.host_defaults.clock.drift_ppm = 50.0;
  World world(sim, p);
  two_regions(world, 1);
  Clock& c = world.host(HostId{0}).clock();
  CHECK(c.error() == 3_ms);
  sim.run_until(Time::zero() + 1000_s);
  // 1000 s at 50 ppm is 50 ms.
  CHECK(c.error() == 53_ms);
  CHECK(c.now() == sim.utc(sim.now()) + 53_ms);
  CHECK(c.monotonic() == 1000_s + 50_ms);
  c.set_drift_ppm(-20.0);
  sim.run_until(Time::zero() + 1500_s);
  CHECK(c.error() == 53_ms - 10_ms);
}

TEST_CASE("clock: NTP steps a large error and slews a small one", "[world][clock]") {
  Simulation sim;
  WorldParams p = quiet_params();
  p.host_defaults.clock.ntp_enabled = true;
  World world(sim, p);
  world.add_zone(world.add_region("r"), "z");
  HostParams big = p.host_defaults;
  big.clock.initial_offset = 500_ms;
  HostParams small = p.host_defaults;
  small.clock.initial_offset = 100_ms;
  small.clock.ntp_correction = NtpCorrection::kSlew;
  Clock& stepped = world.host(world.add_host(ZoneId{0}, "big", big)).clock();
  Clock& slewed = world.host(world.add_host(ZoneId{0}, "small", small)).clock();
  sim.run_until(Time::zero() + 65_s);
  CHECK(stepped.ntp_steps() == 1);
  CHECK(stepped.error() == Duration::zero());
  // Slewing 100 ms at 500 ppm takes 200 s; it never steps.
  CHECK(slewed.error() > Duration::zero());
  sim.run_until(Time::zero() + 300_s);
  CHECK(slewed.ntp_steps() == 0);
  CHECK(std::abs(slewed.error().ns()) <= 1'000);
}

TEST_CASE("clock: leap-second step repeats 23:59:59, none runs ahead", "[world][clock][leap]") {
  LeapWorld w(UtcInstant::from_civil(2016, 12, 31), kMidnight2017);
  const Time leap = w.world.leap_start(kMidnight2017);
  CHECK(leap == Time::zero() + 86'400_s);  // 23:59:60 begins exactly one day after the epoch
  Clock& step = w.clock_with(LeapMode::kStep);
  Clock& none = w.clock_with(LeapMode::kNone);
  CHECK(step.read_at(leap - 500_ms) == civil(2016, 12, 31, 23, 59, 59, 500'000'000));
  CHECK(step.read_at(leap + 500_ms) == civil(2016, 12, 31, 23, 59, 59, 500'000'000));
  CHECK(step.read_at(leap + 1_s) == kMidnight2017);
  CHECK(none.read_at(leap + 1_s) == civil(2017, 1, 1, 0, 0, 1));
  CHECK(w.world.true_utc(leap + 1_s + 1_h) == civil(2017, 1, 1, 1, 0, 0));
}

TEST_CASE("clock: the 24 h noon-to-noon smear matches its closed form around 23:59:60",
          "[world][clock][leap]") {
  LeapWorld w(UtcInstant::from_civil(2016, 12, 31), kMidnight2017);
  Clock& c = w.clock_with(LeapMode::kSmear, SmearParams::noon_to_noon());
  const Time leap = w.world.leap_start(kMidnight2017);
  const Time begin = leap - 12_h;
  CHECK(c.read_at(begin) == civil(2016, 12, 31, 12, 0, 0));
  // Each smeared second is 86401/86400 true seconds: 1 true second shows 86400/86401 s.
  CHECK((c.read_at(begin + 1_s) - c.read_at(begin)).ns() == 1'000'000'000LL * 86'400 / 86'401);
  // At the start of 23:59:60 the smeared clock is half a second behind: 43200 s * 86400/86401.
  const std::int64_t half = 43'200'000'000'000LL * 86'400 / 86'401;
  CHECK(c.read_at(leap) == civil(2016, 12, 31, 12, 0, 0) + Duration::nanos(half));
  CHECK(c.read_at(leap) == civil(2016, 12, 31, 23, 59, 59, 500'005'786));
  // The smear ends at noon after, exactly on UTC again, and runs at 1:1 from then on.
  CHECK(c.read_at(leap + 1_s + 12_h) == civil(2017, 1, 1, 12, 0, 0));
  CHECK(c.read_at(leap + 1_s + 13_h) == civil(2017, 1, 1, 13, 0, 0));
  CHECK(c.read_at(begin - 1_h) == civil(2016, 12, 31, 11, 0, 0));
}

TEST_CASE("clock: Google's 2016 smear runs 20 h from 14:00 to 10:00", "[world][clock][leap]") {
  LeapWorld w(UtcInstant::from_civil(2016, 12, 31), kMidnight2017);
  Clock& c = w.clock_with(LeapMode::kSmear, SmearParams::google_2016());
  const Time leap = w.world.leap_start(kMidnight2017);
  CHECK(c.read_at(leap - 10_h) == civil(2016, 12, 31, 14, 0, 0));
  const std::int64_t half = 36'000'000'000'000LL * 72'000 / 72'001;
  CHECK(c.read_at(leap) == civil(2016, 12, 31, 14, 0, 0) + Duration::nanos(half));
  // ~13.9 µs longer per second (model-facts §0).
  const Duration per_second = c.read_at(leap - 5_h + 1_s) - c.read_at(leap - 5_h);
  CHECK((1_s - per_second).ns() == Approx(13'889).margin(1));
  CHECK(c.read_at(leap + 1_s + 10_h) == civil(2017, 1, 1, 10, 0, 0));
}

TEST_CASE("clock: Google's cosine smear (2008-2012) lies by (1 - cos(pi t / w)) / 2",
          "[world][clock][leap]") {
  // The 2011 description: the lie grows over a window w that ends at the leap second.
  // Google never published w; 20 h is this test's choice.
  LeapWorld w(UtcInstant::from_civil(2012, 6, 30), UtcInstant::from_civil(2012, 7, 1));
  Clock& c = w.clock_with(LeapMode::kSmear, SmearParams::google_cosine(20_h));
  Clock& linear = w.clock_with(LeapMode::kSmear, SmearParams{20_h, Duration::zero()});
  const Time leap = w.world.leap_start(UtcInstant::from_civil(2012, 7, 1));
  const Time begin = leap - 20_h;
  const auto lag = [&](Clock& k, Time t) { return (w.world.true_utc(t) - k.read_at(t)).ns(); };
  CHECK(c.read_at(begin) == civil(2012, 6, 30, 4, 0, 0));
  // Half the window (plus half the leap second) in: half a second behind, like the linear one.
  const Time mid = begin + 10_h + 500_ms;
  CHECK(lag(c, mid) == Approx(500'000'000).margin(1));
  // A quarter in: (1 - cos(pi/4)) / 2 = 0.1464 s behind, where the linear smear is 0.25 s.
  const Time quarter = begin + 5_h + 250_ms;
  CHECK(lag(c, quarter) == Approx(146'446'609).margin(2));
  CHECK(lag(linear, quarter) == Approx(250'000'000).margin(2));
  // Slow at the ends, fastest in the middle at pi/2 times the linear rate.
  const auto rate = [&](Clock& k, Time t) { return (1_s - (k.read_at(t + 1_s) - k.read_at(t))).ns(); };
  const double linear_rate = 1e9 / 72'001.0;
  CHECK(rate(c, mid) == Approx(linear_rate * std::numbers::pi / 2).margin(2));
  CHECK(rate(c, begin + 1_min) < linear_rate / 100);
  // It ends at the leap: 00:00:00 after 23:59:59 with no step, and runs at 1:1 from there.
  CHECK(c.read_at(leap + 1_s) == civil(2012, 7, 1, 0, 0, 0));
  CHECK(c.read_at(leap + 1_s + 1_h) == civil(2012, 7, 1, 1, 0, 0));
  for (Time t = begin; t < leap + 1_s; t += 7_min) {
    CHECK(c.read_at(t + 1_s) > c.read_at(t));  // never steps back
  }
}

namespace {

/// A server thread pool in the manner of the JVMs of 2012: each thread loops on a short
/// absolute timed wait (futex_wait with a 500 ms deadline) and does a little work.
struct Pool : Program {
  void start(Node& n) override {
    for (int i = 0; i < 2; ++i) {
      n.spawn(worker(n));
    }
  }
  Task<void> worker(Node& n) {
    for (;;) {
      co_await n.compute(50_us);
      co_await n.wait_until_abs(n.clock_now() + 500_ms);
    }
  }
};

double mean_util(const TimeSeries& s, Time from, Time to) { return s.mean_over(from, to); }

}  // namespace

TEST_CASE("clock: under kernel-2012 a loop of 500 ms timed waits spins the CPU until the clock "
          "is set",
          "[world][clock][leap][cpu]") {
  const LeapMode mode = GENERATE(LeapMode::kKernel2012, LeapMode::kStep, LeapMode::kSmear);
  const UtcInstant midnight = UtcInstant::from_civil(2012, 7, 1);
  Simulation sim(Simulation::Options{3, UtcInstant::from_civil(2012, 6, 30, 23, 59, 0)});
  WorldParams p = quiet_params();
  p.leap_seconds = {midnight};
  p.host_defaults.clock.ntp_enabled = true;  // NTP sees no error after the leap: no help
  p.host_defaults.clock.leap_mode = mode;
  p.host_defaults.cpu.cores = 2;
  p.host_defaults.cpu.sample_interval = 1_s;
  World world(sim, p);
  two_regions(world, 1);
  world.add_node(HostId{0}, "jvm", "app", [](Node&) { return std::make_unique<Pool>(); });
  const Time leap = world.leap_start(midnight);
  REQUIRE(leap == Time::zero() + 60_s);
  // The operator's workaround, `date -s "$(date)"`, 5 s after the leap.
  FaultSpec fix;
  fix.at = 65_s;
  fix.kind = FaultKind::kClockSet;
  fix.target = Target{TargetKind::kHost, "z1-h0"};
  world.faults().schedule(fix);
  sim.run_until(Time::zero() + 70_s);

  const TimeSeries* util = sim.metrics().find_series("cpu.util/z1-h0");
  REQUIRE(util != nullptr);
  const double before = mean_util(*util, leap - 30_s, leap);
  const double during = mean_util(*util, leap + 1500_ms, leap + 5_s);
  const double after = mean_util(*util, leap + 6500_ms, leap + 10_s);
  INFO("leap mode " << to_string(mode) << ": " << before << " / " << during << " / " << after);
  CHECK(before < 0.001);
  CHECK(after < 0.001);
  if (mode == LeapMode::kKernel2012) {
    CHECK(during > 0.99);  // both threads spin: both cores at 100 %
    CHECK(world.host(HostId{0}).clock().immediate_expiries() > 10'000);
  } else {
    CHECK(during < 0.001);
  }
}

TEST_CASE("clock: a clock that ignores the leap is 1 s ahead until NTP steps it back",
          "[world][clock][leap]") {
  const UtcInstant midnight = UtcInstant::from_civil(2012, 7, 1);
  Simulation sim(Simulation::Options{9, UtcInstant::from_civil(2012, 6, 30, 23, 59, 0)});
  WorldParams p = quiet_params();
  p.leap_seconds = {midnight};
  p.host_defaults.clock.leap_mode = LeapMode::kNone;
  p.host_defaults.clock.ntp_enabled = true;
  World world(sim, p);
  two_regions(world, 1);
  Clock& c = world.host(HostId{0}).clock();
  const Time leap = world.leap_start(midnight);
  sim.run_until(leap + 2_s);
  CHECK(c.error() == 1_s);
  CHECK(c.ntp_steps() == 0);
  sim.run_until(leap + 70_s);  // one full poll interval later
  CHECK(c.ntp_steps() == 1);
  CHECK(c.error() == Duration::zero());
  CHECK(c.hrtimer_error() == Duration::zero());
}

TEST_CASE("clock: under kernel-2012 the hrtimer error appears at the leap and an NTP-style "
          "step clears it",
          "[world][clock][leap]") {
  LeapWorld w(UtcInstant::from_civil(2016, 12, 31, 23, 59, 0), kMidnight2017);
  Clock& c = w.clock_with(LeapMode::kKernel2012);
  const Time leap = w.world.leap_start(kMidnight2017);
  w.sim.run_until(leap - 1_ms);
  CHECK(c.hrtimer_error() == Duration::zero());
  // A wait across the step lasts a second longer: 23:59:59 comes twice.
  CHECK(c.expiry_of(c.now() + 500_ms) == w.sim.now() + 1500_ms);
  w.sim.run_until(leap + 1_ms);
  CHECK(c.hrtimer_error() == 1_s);
  CHECK(c.expiry_of(c.now() + 500_ms) == w.sim.now());           // already expired
  CHECK(c.expiry_of(c.now() + 1500_ms) == w.sim.now() + 500_ms);  // 1 s early
  c.set_time(w.world.true_utc(w.sim.now()));
  CHECK(c.hrtimer_error() == Duration::zero());
  CHECK(c.expiry_of(c.now() + 500_ms) == w.sim.now() + 500_ms);
}
