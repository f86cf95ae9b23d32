// The world benchmark's workloads on SimGrid 3.32 (Debian's libsimgrid-dev), as a SimGrid user
// would write them: one actor per host receiving from its mailbox, messages sent as
// asynchronous puts over SimGrid's default network model. It gives the world benchmark
// (bench/world_bench.cpp) a peer measured on the same machine in the same run.
//
// Usage: world_simgrid oneway|rpc [--hosts N] [--seconds S] [--cfg KEY:VALUE]...
//   --hosts N  hosts, one actor each (oneway) or five (rpc); 10,000 like world_bench by default
//   --cfg      passed to SimGrid as --cfg=KEY:VALUE, e.g. network/model:CM02
//   oneway  each host keeps 4 one-way 256-byte messages in flight to random peers, sending a new
//           one whenever one arrives (world_bench's `oneway`)
//   rpc     each host runs 4 client actors, each looping on a 256-byte request to a random
//           host's server actor and a wait (1 s timeout) for its 512-byte reply on a mailbox of
//           its own (world_bench's `rpc-co`)
// Prints "RESULT <ns per delivered message> <delivered messages>": thread CPU time over 1 s of
// simulated time after 100 ms of warm-up, as world_bench measures, divided by the messages
// delivered in that second (a round trip is two). The process then exits without tearing the
// simulation down (the actors loop forever).
//
// Platform: the hosts share one star zone, each with its own 1 Gbps full-duplex link of 250 us
// latency to the centre, so a message crosses two links (about 0.5 ms plus transfer), close to
// world_bench's in-zone latencies. world_bench spreads its hosts over 2 regions and 6 zones; in
// SimGrid that is a hierarchy of zones with gateways, which changes the route lookup, not the
// per-message work of the engine that this benchmark compares. Random draws come from
// faultline::Rng (one stream per actor), not SimGrid's, and are not meant to match world_bench's.
#include "phold_model.hpp"

#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/Mailbox.hpp>
#include <simgrid/s4u/NetZone.hpp>
#include <simgrid/Exception.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace sg4 = simgrid::s4u;

namespace {

constexpr int kInFlight = 4;
constexpr double kRequestBytes = 256;
constexpr double kReplyBytes = 512;
constexpr double kCallTimeout = 1.0;

std::uint64_t g_delivered = 0;
std::vector<sg4::Mailbox*> g_inbox;  // per host: one-way messages, or requests to its server

struct Request {
  sg4::Mailbox* reply_to;
};

faultline::Rng actor_rng(const std::string& name) { return faultline::Rng::derive(7, name); }

// Sends are asynchronous; each actor keeps the handles of its own sends and reaps the finished
// ones. (Detached sends cost about the same here.) SimGrid's mailboxes are rendezvous points:
// a transfer starts when the receiver has asked for a message, so a host receives one message
// at a time and the simulated throughput is lower than world_bench's; the benchmark compares
// the CPU cost per delivered message, not the simulated rate.
struct Sender {
  std::vector<sg4::CommPtr> pending;
  void send(sg4::Mailbox* to, void* payload, double bytes) {
    for (std::size_t i = 0; i < pending.size();) {
      if (pending[i]->test()) {
        pending[i] = std::move(pending.back());
        pending.pop_back();
      } else {
        ++i;
      }
    }
    pending.push_back(to->put_async(payload, bytes));
  }
};

void oneway_actor(std::uint32_t self, std::uint32_t hosts) {
  faultline::Rng rng = actor_rng("oneway/" + std::to_string(self));
  static int token = 0;  // the payload is a pointer nobody reads
  Sender out;
  const auto fire = [&] { out.send(g_inbox[rng.below(hosts)], &token, kRequestBytes); };
  for (int i = 0; i < kInFlight; ++i) {
    fire();
  }
  for (;;) {
    (void)g_inbox[self]->get<int>();
    ++g_delivered;
    fire();
  }
}

void server_actor(std::uint32_t self) {
  Sender out;
  for (;;) {
    auto* req = g_inbox[self]->get<Request>();
    ++g_delivered;
    out.send(req->reply_to, req, kReplyBytes);
  }
}

void client_actor(std::uint32_t self, int k, std::uint32_t hosts) {
  const std::string name = "reply/" + std::to_string(self) + "/" + std::to_string(k);
  faultline::Rng rng = actor_rng(name);
  sg4::Mailbox* mine = sg4::Mailbox::by_name(name);
  Request req{mine};
  Sender out;
  for (;;) {
    out.send(g_inbox[rng.below(hosts)], &req, kRequestBytes);
    try {
      (void)mine->get<Request>(kCallTimeout);
      ++g_delivered;
    } catch (const simgrid::TimeoutException&) {
      // A late reply would be matched by the next call's get; with the default network none
      // is late, and the delivered count says so.
    }
  }
}

int usage(const char* what) {
  std::fprintf(stderr, "world_simgrid: %s\nusage: world_simgrid oneway|rpc [--hosts N] [--seconds S] [--cfg KEY:VALUE]...\n",
               what);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    return usage("a mode is needed");
  }
  const std::string_view mode = argv[1];
  if (mode != "oneway" && mode != "rpc") {
    return usage("the mode is oneway or rpc");
  }
  std::uint32_t hosts = 10'000;
  double seconds = 1.0;
  std::vector<std::string> cfg;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--cfg" && i + 1 < argc) {
      cfg.emplace_back(argv[++i]);
    } else if (arg == "--hosts" && i + 1 < argc) {
      hosts = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      return usage("unknown argument");
    }
  }
  if (hosts < 2 || !(seconds > 0)) {
    return usage("--hosts must be at least 2 and --seconds positive");
  }

  // 50,000 actors in rpc mode: small stacks (the actors only call into SimGrid), and no guard
  // page under each, which would need more memory mappings than Linux allows by default.
  std::vector<std::string> sg_args{"world_simgrid", "--log=root.thresh:critical",
                                   "--cfg=contexts/stack-size:64", "--cfg=contexts/guard-size:0"};
  for (const std::string& c : cfg) {
    sg_args.push_back("--cfg=" + c);
  }
  std::vector<char*> sg_argv;
  for (std::string& a : sg_args) {
    sg_argv.push_back(a.data());
  }
  sg_argv.push_back(nullptr);
  int sg_argc = static_cast<int>(sg_args.size());
  sg4::Engine engine(&sg_argc, sg_argv.data());

  sg4::NetZone* zone = sg4::create_star_zone("world");
  std::vector<sg4::Host*> host_list;
  host_list.reserve(hosts);
  for (std::uint32_t i = 0; i < hosts; ++i) {
    const std::string name = "h" + std::to_string(i);
    sg4::Host* h = zone->create_host(name, 1e9);
    const sg4::Link* nic = zone->create_split_duplex_link(name + "-nic", 1.25e8)->set_latency(250e-6);
    zone->add_route(h->get_netpoint(), nullptr, nullptr, nullptr,
                    {{nic, sg4::LinkInRoute::Direction::UP}}, true);
    host_list.push_back(h);
  }
  zone->seal();

  g_inbox.reserve(hosts);
  for (std::uint32_t i = 0; i < hosts; ++i) {
    g_inbox.push_back(sg4::Mailbox::by_name("in/" + std::to_string(i)));
  }
  for (std::uint32_t i = 0; i < hosts; ++i) {
    if (mode == "oneway") {
      sg4::Actor::create("a" + std::to_string(i), host_list[i], oneway_actor, i, hosts);
    } else {
      sg4::Actor::create("s" + std::to_string(i), host_list[i], server_actor, i);
      for (int k = 0; k < kInFlight; ++k) {
        sg4::Actor::create("c" + std::to_string(i) + "/" + std::to_string(k), host_list[i],
                           client_actor, i, k, hosts);
      }
    }
  }

  engine.run_until(0.1);  // warm-up: every actor started, messages in flight
  const std::uint64_t delivered0 = g_delivered;
  const double c0 = phold::thread_cpu_seconds();
  engine.run_until(0.1 + seconds);
  const double c1 = phold::thread_cpu_seconds();
  const std::uint64_t delivered = g_delivered - delivered0;
  if (delivered == 0) {
    std::fprintf(stderr, "world_simgrid: no message was delivered\n");
    return 1;
  }
  std::printf("RESULT %.1f %llu\n", (c1 - c0) * 1e9 / static_cast<double>(delivered),
              static_cast<unsigned long long>(delivered));
  std::fflush(stdout);
  std::_Exit(0);
}
