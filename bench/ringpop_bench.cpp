// Ringpop/SWIM benchmark (docs/performance.md, docs/stories/ringpop.md).
//
//   ringpop_bench speed [--members N] [--minutes M]
//       SWIM at ringpop-go's defaults, N members (10,000) for M simulated minutes (10), with a
//       crash every minute: events, events per CPU-second, wall time, peak memory.
//   ringpop_bench figures [--max N]
//       SWIM's scaling claims over n = 10 ... N (10,000), for ringpop's defaults and for the
//       SWIM paper's setting (memberlist timing: 1 s period with both timeouts inside it):
//       the time from a crash to the first probe of the crashed member (in protocol periods T),
//       to the first suspicion, and from the first faulty declaration until every live member
//       holds it faulty (dissemination), and messages per member per second. Output is the
//       table the story page shows.
#include "bench_util.hpp"

#include <faultline/sim/ringpop/cluster.hpp>
#include <faultline/sim/ringpop/swim.hpp>
#include <faultline/simulation.hpp>
#include <faultline/world/world.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::sim::ringpop;

using faultline::bench::cpu_seconds;
using faultline::bench::median_by_cpu;
using faultline::bench::peak_rss_mib;

namespace {

struct Outcome {
  std::uint32_t members = 0;
  double period_s = 0;          // measured mean protocol period
  double first_probe_s = 0;     // crash -> first probe of the crashed member, mean
  double first_detect_s = 0;    // crash -> first suspicion, mean
  double first_faulty_s = 0;    // crash -> first faulty declaration, mean
  double spread_s = 0;          // first faulty -> every live member holds it faulty, mean
  double msgs_per_member_s = 0;
  int detections = 0;
  std::uint64_t events = 0;
  double cpu_s = 0;
};

Outcome run(std::uint32_t members, SwimParams swim, Duration length, int crashes, Duration warmup,
            std::uint64_t seed) {
  Simulation sim(Simulation::Options{.seed = seed});
  auto world = std::make_unique<world::World>(sim);
  ClusterParams p;
  p.members = members;
  p.swim = swim;
  auto cluster = std::make_unique<RingpopCluster>(p);
  cluster->build(*world);
  Rng pick = sim.rng("bench/crashes");
  const Duration spacing = (length - warmup) / (crashes + 1);
  std::vector<MemberId> victims;
  for (int i = 0; i < crashes; ++i) {
    MemberId v = 0;
    do {
      v = static_cast<MemberId>(pick.below(members));
    } while (std::find(victims.begin(), victims.end(), v) != victims.end());
    victims.push_back(v);
    world::FaultSpec f;
    f.at = warmup + spacing * (i + 1) + Duration::nanos(static_cast<std::int64_t>(
                                            pick.below(static_cast<std::uint64_t>(swim.min_protocol_period.ns()))));
    f.kind = world::FaultKind::kCrash;
    f.target = {world::TargetKind::kNode, RingpopCluster::member_name(v)};
    world->faults().schedule(f);
  }
  const double c0 = cpu_seconds();
  sim.run_until(Time::zero() + length);
  Outcome o;
  o.cpu_s = cpu_seconds() - c0;
  o.events = sim.events_run();
  o.members = members;
  const auto& s = cluster->shared();
  const auto* probes = sim.metrics().find_counter("ringpop.probes");
  const double member_s = static_cast<double>(members) * length.to_seconds();
  o.period_s = probes != nullptr ? member_s / static_cast<double>(probes->value()) : 0.0;
  o.msgs_per_member_s = static_cast<double>(s.messages_sent()) / member_s;
  for (const auto& d : s.detections()) {
    if (d.first_probe && d.first_suspect && d.first_faulty && d.all_faulty) {
      o.first_probe_s += (*d.first_probe - d.crashed_at).to_seconds();
      o.first_detect_s += (*d.first_suspect - d.crashed_at).to_seconds();
      o.first_faulty_s += (*d.first_faulty - d.crashed_at).to_seconds();
      o.spread_s += (*d.all_faulty - *d.first_faulty).to_seconds();
      ++o.detections;
    }
  }
  if (o.detections > 0) {
    o.first_probe_s /= o.detections;
    o.first_detect_s /= o.detections;
    o.first_faulty_s /= o.detections;
    o.spread_s /= o.detections;
  }
  world.reset();
  cluster.reset();
  return o;
}

int speed(std::uint32_t members, int minutes) {
  const double w0 = cpu_seconds();
  const auto wall0 = std::chrono::steady_clock::now();
  const Duration length = Duration::minutes(minutes);
  Outcome o = run(members, SwimParams::ringpop_defaults(), length, minutes, Duration::seconds(10), 1);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  std::printf("SWIM at ringpop-go defaults: %u members, %d simulated minutes, %d crashes\n", members,
              minutes, minutes);
  std::printf("events:                 %llu\n", static_cast<unsigned long long>(o.events));
  std::printf("CPU time (run):         %.1f s\n", o.cpu_s);
  std::printf("CPU time (with build):  %.1f s\n", cpu_seconds() - w0);
  std::printf("wall time:              %.1f s\n", wall);
  std::printf("events per CPU second:  %.0f\n", static_cast<double>(o.events) / o.cpu_s);
  std::printf("peak memory (RSS):      %.0f MiB\n", peak_rss_mib());
  std::printf("protocol period:        %.3f s\n", o.period_s);
  std::printf("messages/member/s:      %.2f\n", o.msgs_per_member_s);
  std::printf("crashes detected:       %d; first suspicion %.2f s, faulty everywhere %.2f s after first faulty\n",
              o.detections, o.first_detect_s, o.spread_s);
  return 0;
}

int figures(std::uint32_t max_members) {
  const std::vector<std::uint32_t> sizes{10, 30, 100, 300, 1000, 3000, 10000};
  struct Preset {
    const char* name;
    SwimParams swim;
  };
  SwimParams paper = SwimParams::memberlist_lan();
  paper.lifeguard.enabled = false;
  const Preset presets[] = {{"ringpop-go defaults", SwimParams::ringpop_defaults()},
                            {"SWIM paper timing (1 s period, timeouts inside it)", paper}};
  for (const auto& preset : presets) {
    std::printf("\n%s\n", preset.name);
    std::printf("%7s %6s %8s %9s %11s %10s %10s %10s %10s %8s\n", "n", "crashes", "period",
                "msgs/m/s", "1st probe", "(T)", "suspect", "spread", "(T)", "cpu(s)");
    for (std::uint32_t n : sizes) {
      if (n > max_members) {
        break;
      }
      // Enough crashes over enough seeds for a stable mean at every size.
      const int crashes = n >= 100 ? 10 : 1;
      const int seeds = std::max(2, static_cast<int>(std::min<std::uint32_t>(40, 2000 / n)));
      const Duration length = n >= 3000 ? Duration::seconds(120) : Duration::seconds(180);
      Outcome sum;
      int used = 0;
      for (int s = 1; s <= seeds; ++s) {
        Outcome o = run(n, preset.swim, length, crashes, Duration::seconds(10), static_cast<std::uint64_t>(s));
        if (o.detections == 0) {
          continue;
        }
        sum.period_s += o.period_s;
        sum.msgs_per_member_s += o.msgs_per_member_s;
        sum.first_detect_s += o.first_detect_s;
        sum.first_probe_s += o.first_probe_s;
        sum.detections += o.detections;
        sum.spread_s += o.spread_s;
        sum.cpu_s += o.cpu_s;
        ++used;
      }
      if (used == 0) {
        continue;
      }
      const double T = sum.period_s / used;
      std::printf("%7u %7d %7.3fs %9.2f %10.2fs %10.2f %9.2fs %9.2fs %10.2f %8.1f\n", n,
                  sum.detections, T, sum.msgs_per_member_s / used, sum.first_probe_s / used,
                  sum.first_probe_s / used / T, sum.first_detect_s / used, sum.spread_s / used,
                  sum.spread_s / used / T, sum.cpu_s);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "speed";
  std::uint32_t members = 10000;
  int minutes = 10;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--members") == 0 || std::strcmp(argv[i], "--max") == 0) {
      members = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
    } else if (std::strcmp(argv[i], "--minutes") == 0) {
      minutes = std::stoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (mode == "speed") {
    return speed(members, minutes);
  }
  if (mode == "figures") {
    return figures(members);
  }
  std::fprintf(stderr, "usage: ringpop_bench speed|figures [--members N] [--minutes M] [--max N]\n");
  return 2;
}
