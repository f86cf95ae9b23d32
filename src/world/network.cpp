#include <faultline/world/network.hpp>

#include <algorithm>

namespace faultline::world {

namespace {
constexpr std::uint32_t kNoSlot = 0xffffffffu;

std::string_view kind_name(MessageKind k) {
  switch (k) {
    case MessageKind::kOneWay: return "oneway";
    case MessageKind::kRequest: return "request";
    case MessageKind::kReply: return "reply";
    case MessageKind::kRefused: return "refused";
  }
  return "unknown";
}
}  // namespace

Network::Network(Simulation& sim, const Topology& topology)
    : sim_(&sim),
      topology_(&topology),
      rng_(sim.rng("net")),
      free_head_(kNoSlot),
      c_delivered_(&sim.metrics().counter("net.delivered")),
      c_dropped_(&sim.metrics().counter("net.dropped")),
      c_duplicated_(&sim.metrics().counter("net.duplicated")),
      c_refused_(&sim.metrics().counter("net.refused")),
      h_latency_(&sim.metrics().histogram("net.latency")) {
  rules_.set_now_source([s = sim_] { return s->now(); });
  rules_.on_removed([this](RuleId id) { release_held(id); });
}

Network::~Network() = default;

void Network::attach(NodeId id, Endpoint* endpoint) {
  if (endpoints_.size() <= id.value()) {
    endpoints_.resize(id.value() + 1, nullptr);
    node_host_.resize(id.value() + 1);
  }
  endpoints_[id.value()] = endpoint;
  node_host_[id.value()] = endpoint != nullptr ? endpoint->host_id() : HostId{};
}

Network::Nic& Network::nic(HostId h) {
  if (nics_.size() <= h.value()) {
    nics_.resize(h.value() + 1);
  }
  Nic& n = nics_[h.value()];
  if (n.bps == 0) {
    n.bps = params().nic_bandwidth_bps;
  }
  return n;
}

void Network::set_nic_bandwidth(HostId h, std::int64_t bps) {
  nic(h).bps = bps > 0 ? bps : params().nic_bandwidth_bps;
}

Duration Network::transfer_time(std::uint64_t bytes, std::int64_t bps) const {
  // Messages under ~2 GB: the product fits 64 bits, and a 64-bit division is several times
  // cheaper than the 128-bit one (a library call); both give the same quotient.
  constexpr std::uint64_t kMaxFast = ~std::uint64_t{0} / 8'000'000'000ULL;
  if (bytes <= kMaxFast) {
    return Duration::nanos(
        static_cast<std::int64_t>(bytes * 8'000'000'000ULL / static_cast<std::uint64_t>(bps)));
  }
  __extension__ using U128 = unsigned __int128;
  return Duration::nanos(static_cast<std::int64_t>(static_cast<U128>(bytes) * 8'000'000'000ULL /
                                                   static_cast<U128>(bps)));
}

std::uint64_t Network::held() const {
  std::uint64_t n = 0;
  for (const auto& [rule, msgs] : held_) {
    n += msgs.size();
  }
  return n;
}

void Network::send(Message m) {
  m.id = next_id_++;
  m.sent_at = sim_->now();
  ++sent_;
  if (!m.src.valid() || !m.dst.valid() || m.src.value() >= endpoints_.size() ||
      m.dst.value() >= endpoints_.size() || endpoints_[m.src.value()] == nullptr ||
      endpoints_[m.dst.value()] == nullptr) {
    drop(m, "no_such_node");
    return;
  }
  if (params().trace_sends) {
    sim_->record("net", "send",
                 {{"id", m.id}, {"src", m.src.value()}, {"dst", m.dst.value()},
                  {"bytes", m.size_bytes}, {"kind", kind_name(m.kind)}});
  } else if (sim_->trace().noting()) [[unlikely]] {
    // The same detail as a note, for a sink that draws the run without changing its hash.
    sim_->trace().note(sim_->now(), "net", "send",
                       {{"id", m.id}, {"src", m.src.value()}, {"dst", m.dst.value()},
                        {"bytes", m.size_bytes}, {"kind", kind_name(m.kind)}});
  }
  transmit(std::move(m), false);
}

void Network::transmit(Message&& m, bool is_duplicate) {
  const HostId sh = node_host_[m.src.value()];
  const HostId dh = node_host_[m.dst.value()];
  const LinkParams& link = topology_->link(sh, dh);
  LinkVerdict v;
  if (!rules_.empty()) {
    v = rules_.evaluate(sh, dh);
    if (v.blocked) {
      drop(m, "partition");
      return;
    }
    if (v.held) {
      held_[v.hold_rule].push_back(std::move(m));
      return;
    }
    if (!v.loss.is_zero() && rng_.bernoulli(v.loss.num, v.loss.den)) {
      drop(m, "injected_loss");
      return;
    }
  }
  if (!link.drop.is_zero() && rng_.bernoulli(link.drop.num, link.drop.den)) {
    drop(m, "loss");
    return;
  }
  const Time now = sim_->now();
  Time arrive_at;
  if (sh == dh && params().loopback_bypasses_nic) {
    arrive_at = now + link.latency.sample(rng_) + v.extra_delay;
  } else {
    // Serialise onto the sender's NIC behind earlier messages, cross the link, and queue at
    // the receiver's NIC if it is still taking in earlier arrivals.
    Nic& tx = nic(sh);
    const Time tx_start = std::max(now, tx.tx_free);
    const Time tx_done = tx_start + transfer_time(m.size_bytes, tx.bps);
    tx.tx_free = tx_done;
    arrive_at = tx_done + link.latency.sample(rng_) + v.extra_delay;
  }
  if (!is_duplicate && !link.duplicate.is_zero() &&
      rng_.bernoulli(link.duplicate.num, link.duplicate.den)) {
    ++duplicated_;
    c_duplicated_->inc();
    sim_->record("net", "duplicate",
                 {{"id", m.id}, {"src", m.src.value()}, {"dst", m.dst.value()}});
    Message copy = m;
    schedule_arrival(park(std::move(m)), arrive_at);
    transmit(std::move(copy), true);
    return;
  }
  schedule_arrival(park(std::move(m)), arrive_at);
}

std::uint32_t Network::park(Message&& m) {
  std::uint32_t slot;
  if (free_head_ != kNoSlot) {
    slot = free_head_;
    free_head_ = slab_[slot].next_free;
    slab_[slot].msg = std::move(m);
    slab_[slot].received = false;
  } else {
    slot = static_cast<std::uint32_t>(slab_.size());
    slab_.push_back(InFlight{std::move(m), kNoSlot, false});
  }
  return slot;
}

Message Network::unpark(std::uint32_t slot) {
  Message m = std::move(slab_[slot].msg);
  slab_[slot].msg.payload = Payload{};
  slab_[slot].next_free = free_head_;
  free_head_ = slot;
  return m;
}

void Network::schedule_arrival(std::uint32_t slot, Time at) {
  const std::uint32_t dst = slab_[slot].msg.dst.value();
  sim_->schedule_at(at, Arrival{this, endpoints_[dst], slot, node_host_[dst].value()});
}

void Network::prefetch_message(const Arrival& a) const {
  // With thousands of nodes each of these is usually a cache miss; issued together (and, from
  // the hook, a few events ahead), their latencies overlap.
  const auto* p = reinterpret_cast<const char*>(&slab_[a.slot]);
  __builtin_prefetch(p);
  __builtin_prefetch(p + sizeof(InFlight) - 1);
  // The endpoint's hot fields: the four cache lines from the one holding the Endpoint (a Node
  // is line-aligned and keeps them there).
  const auto* e = reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(a.dst) &
                                                ~std::uintptr_t{63});
  for (int line = 0; line < 4; ++line) {
    __builtin_prefetch(e + line * 64);
  }
  if (a.dst_host < nics_.size()) {
    __builtin_prefetch(&nics_[a.dst_host]);
  }
}

void Network::Arrival::prefetch(unsigned stage) const {
  // Stage 0 needs only the event; the later stages read what the earlier ones fetched.
  if (stage == 0) {
    net->prefetch_message(*this);
    return;
  }
  const Message& m = net->slab_[slot].msg;
  if (stage == 1) {
    __builtin_prefetch(&net->endpoints_[m.dst.value()]);
    __builtin_prefetch(&net->node_host_[m.src.value()]);
  }
  dst->prefetch(m, stage - 1);
}

void Network::arrive(const Arrival& a) {
  // In case the hooks did not run (the event came first in the kernel's run): cheap if they
  // did.
  prefetch_message(a);
  const std::uint32_t slot = a.slot;
  InFlight& f = slab_[slot];
  if (!f.received) {
    f.received = true;
    const HostId sh = node_host_[f.msg.src.value()];
    const HostId dh = node_host_[f.msg.dst.value()];
    if (sh != dh || !params().loopback_bypasses_nic) {
      // The last bit arrives now; the NIC was taking the message in over the transfer time
      // before. If an earlier arrival still occupied it then, this one finishes later.
      Nic& rx = nic(dh);
      const Time now = sim_->now();
      const Duration tt = transfer_time(f.msg.size_bytes, rx.bps);
      if (rx.rx_free > now - tt) {
        rx.rx_free = rx.rx_free + tt;
        schedule_arrival(slot, rx.rx_free);
        return;
      }
      rx.rx_free = now;
    }
  }
  Message m = unpark(slot);
  Endpoint* dst = endpoints_[m.dst.value()];
  if (!rules_.empty()) {
    const LinkVerdict v = rules_.evaluate(node_host_[m.src.value()], node_host_[m.dst.value()],
                                          true, m.sent_at);
    if (v.blocked) {
      drop(m, "partition_in_flight");
      return;
    }
    if (v.held) {
      held_[v.hold_rule].push_back(std::move(m));
      return;
    }
    if (!v.loss.is_zero() && rng_.bernoulli(v.loss.num, v.loss.den)) {
      drop(m, "injected_loss_in_flight");
      return;
    }
  }
  switch (dst->admit(m)) {
    case Admission::kAccept:
      finish(std::move(m));
      return;
    case Admission::kHostDown:
      drop(m, "host_down");
      return;
    case Admission::kProcessDown:
      drop(m, "process_down");
      if (m.kind == MessageKind::kRequest && params().refuse_when_process_down) {
        refuse(m);
      }
      return;
  }
}

void Network::finish(Message&& m) {
  ++delivered_;
  c_delivered_->inc();
  h_latency_->record(sim_->now() - m.sent_at);
  sim_->record("net", "deliver",
               {{"id", m.id}, {"src", m.src.value()}, {"dst", m.dst.value()},
                {"bytes", m.size_bytes}});
  endpoints_[m.dst.value()]->deliver(std::move(m));
}

void Network::drop(const Message& m, const char* reason) {
  ++dropped_;
  c_dropped_->inc();
  sim_->record("net", "drop",
               {{"id", m.id}, {"src", m.src.valid() ? m.src.value() : 0u},
                {"dst", m.dst.valid() ? m.dst.value() : 0u}, {"reason", reason}});
}

void Network::refuse(const Message& m) {
  c_refused_->inc();
  Message r;
  r.src = m.dst;
  r.dst = m.src;
  r.kind = MessageKind::kRefused;
  r.call_id = m.call_id;
  r.src_incarnation = m.src_incarnation;  // addressed to the caller's incarnation
  r.id = next_id_++;
  r.sent_at = sim_->now();
  if (sim_->trace().noting()) [[unlikely]] {
    // A refusal is sent by the network, not by a node, so it has no "net send" record.
    sim_->trace().note(sim_->now(), "net", "send",
                       {{"id", r.id}, {"src", r.src.value()}, {"dst", r.dst.value()},
                        {"bytes", r.size_bytes}, {"kind", kind_name(r.kind)}});
  }
  transmit(std::move(r), true);
}

void Network::release_held(RuleId rule) {
  auto it = held_.find(rule);
  if (it == held_.end()) {
    return;
  }
  std::vector<Message> msgs = std::move(it->second);
  held_.erase(it);
  for (auto& m : msgs) {
    transmit(std::move(m), true);
  }
}

}  // namespace faultline::world
