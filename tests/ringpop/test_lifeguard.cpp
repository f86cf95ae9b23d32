// Lifeguard: a member starved of CPU falsely accuses healthy peers under plain SWIM; with
// Lifeguard its local health rises, its timeouts stretch, lone suspicions wait longer, and
// far fewer healthy members are declared faulty.
#include "ringpop_fixture.hpp"

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::ringpop;
using namespace faultline::sim::ringpop::testing;

namespace {
struct Starved {
  std::uint64_t false_positives = 0;
  std::uint32_t max_health = 0;
};

Starved starve(bool lifeguard, std::uint64_t seed) {
  auto p = small_params(16);
  p.swim = SwimParams::memberlist_lan();
  p.swim.message_cpu = Duration::micros(100);
  p.swim.lifeguard.enabled = lifeguard;
  Run r(p, seed);
  for (MemberId m : {3u, 11u}) {
    world::RandomFaultSpec f;
    f.kind = world::FaultKind::kCpuStall;
    f.scope = Run::node(m);
    f.pick = world::TargetKind::kNode;
    f.mean_interval = Duration::seconds(2);
    f.start = Duration::seconds(5);
    f.end = Duration::seconds(65);
    f.shape.amount = Duration::millis(2500);
    r.world->faults().add_random(f);
  }
  Starved s;
  for (int i = 0; i < 70; ++i) {
    r.run_for(Duration::seconds(1));
    for (MemberId m : {3u, 11u}) {
      if (auto* member = r.cluster->member(m)) {
        s.max_health = std::max(s.max_health, member->local_health());
      }
    }
  }
  s.false_positives = r.shared().false_positives();
  return s;
}
}  // namespace

TEST_CASE("lifeguard: CPU-starved members accuse healthy peers far less with Lifeguard on",
          "[ringpop][lifeguard]") {
  std::uint64_t plain = 0;
  std::uint64_t guarded = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const Starved a = starve(false, seed);
    const Starved b = starve(true, seed);
    plain += a.false_positives;
    guarded += b.false_positives;
    CHECK(a.max_health == 0);  // the switch is off: no local health at all
    CHECK(b.max_health > 0);   // the starved members notice they are the slow ones
  }
  INFO("false positives: plain SWIM " << plain << ", Lifeguard " << guarded);
  CHECK(plain >= 10);
  CHECK(guarded * 4 <= plain);
}
