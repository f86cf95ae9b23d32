#include "world_fixture.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using namespace faultline;
using namespace faultline::world;
using namespace faultline::literals;

namespace {

/// The message of the std::invalid_argument that `fn` throws ("" if it throws none).
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("params: defaults validate", "[world][params]") {
  CHECK_NOTHROW(NetworkParams{}.validate());
  CHECK_NOTHROW(HostParams{}.validate());
  CHECK_NOTHROW(WorldParams{}.validate());
}

TEST_CASE("params: a bad field is named in the error, with the fix", "[world][params]") {
  CpuParams cpu;
  cpu.cores = 0;
  CHECK_THAT(error_of([&] { cpu.validate(); }), Catch::Contains("cpu.cores"));

  NetworkParams net;
  net.cross_zone.drop = Ratio{3, 2};
  const std::string msg = error_of([&] { net.validate(); });
  CHECK_THAT(msg, Catch::Contains("network.cross_zone.drop"));
  CHECK_THAT(msg, Catch::Contains("num <= den"));

  net = NetworkParams{};
  net.same_zone.latency.jitter = JitterKind::kPareto;
  net.same_zone.latency.jitter_shape = 0.5;
  CHECK_THAT(error_of([&] { net.validate(); }), Catch::Contains("network.same_zone.latency.jitter_shape"));

  ClockParams clock;
  clock.timed_wait_cost = Duration::zero();
  CHECK_THAT(error_of([&] { clock.validate(); }), Catch::Contains("clock.timed_wait_cost"));

  DiskParams disk;
  disk.io_error = Ratio{1, 0};
  CHECK_THAT(error_of([&] { disk.validate(); }), Catch::Contains("disk.io_error"));
}

TEST_CASE("params: the world refuses bad params at construction", "[world][params]") {
  Simulation sim;
  WorldParams p;
  p.network.nic_bandwidth_bps = 0;
  CHECK_THROWS_WITH(World(sim, p), Catch::Contains("network.nic_bandwidth_bps"));
}

TEST_CASE("params: a topology spec with a duplicate zone is rejected", "[world][params]") {
  TopologySpec spec;
  spec.regions.push_back({"r1", {{"z1", {}, 1}, {"z1", {}, 1}}});
  CHECK_THAT(error_of([&] { spec.validate(); }), Catch::Contains("'z1' is used twice"));
}

TEST_CASE("params: enum names parse back", "[world][params]") {
  CHECK(parse_leap_mode("kernel-2012") == LeapMode::kKernel2012);
  CHECK(parse_leap_mode("smear") == LeapMode::kSmear);
  CHECK_FALSE(parse_leap_mode("sideways").has_value());
  CHECK(parse_jitter_kind("lognormal") == JitterKind::kLognormal);
  CHECK(parse_ntp_correction("step-or-slew") == NtpCorrection::kStepOrSlew);
  CHECK(parse_fault_kind("packet-loss") == FaultKind::kPacketLoss);
  CHECK(parse_target_kind("zone") == TargetKind::kZone);
}

TEST_CASE("params: latency draws have the configured floor and mean", "[world][params]") {
  Rng rng(42);
  for (JitterKind kind : {JitterKind::kUniform, JitterKind::kExponential, JitterKind::kLognormal,
                          JitterKind::kPareto}) {
    LatencyParams l{Duration::micros(250), kind, Duration::micros(100),
                    kind == JitterKind::kPareto ? 3.0 : 0.5};
    double sum = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      const Duration d = l.sample(rng);
      REQUIRE(d >= l.base);
      sum += static_cast<double>(d.ns());
    }
    INFO("jitter " << to_string(kind));
    CHECK(sum / n == Approx(static_cast<double>(l.mean().ns())).epsilon(0.03));
  }
}

TEST_CASE("topology: overrides win over the class default, most specific first",
          "[world][topology]") {
  Topology t;
  auto r1 = t.add_region("r1");
  auto r2 = t.add_region("r2");
  auto z1 = t.add_zone(r1, "z1");
  auto z2 = t.add_zone(r2, "z2");
  auto a = t.add_host(z1, "a");
  auto b = t.add_host(z2, "b");
  auto c = t.add_host(z1, "c");
  CHECK(t.link_class(a, b) == LinkClass::kCrossRegion);
  CHECK(t.link_class(a, c) == LinkClass::kSameZone);
  CHECK(t.link(a, b).latency.base == Duration::millis(30));
  LinkParams far;
  far.latency.base = Duration::millis(70);
  t.set_link(r1, r2, far);
  CHECK(t.link(b, a).latency.base == Duration::millis(70));
  LinkParams special;
  special.latency.base = Duration::millis(5);
  t.set_link(a, b, special, /*symmetric=*/false);
  CHECK(t.link(a, b).latency.base == Duration::millis(5));
  CHECK(t.link(b, a).latency.base == Duration::millis(70));
  CHECK_THROWS_WITH(t.add_host(z1, "a"), Catch::Contains("already used"));
}
