#include <faultline/sim/ringpop/cluster.hpp>
#include <faultline/sim/ringpop/swim.hpp>

#include <faultline/probe.hpp>

#include <algorithm>
#include <array>
#include <cmath>

namespace faultline::sim::ringpop {

// Code probes (docs/cli.md, "Fault coverage"): recovery paths a sweep should reach.
const ProbePoint kProbeFullSync("ringpop/swim/full-sync");
const ProbePoint kProbeHeal("ringpop/swim/partition-healed");
const ProbePoint kProbeRefuted("ringpop/swim/suspicion-refuted");

namespace {
using world::Payload;

// Incarnations: members present at time zero start at 1 (a cluster bootstrapped long before
// the run); a member that starts later (a restart or a late join) takes its clock reading in
// milliseconds since the epoch of the run, as ringpop takes Date.now(), so it is newer than
// anything the group holds about an earlier life.
std::uint32_t start_incarnation(world::Node& node, bool at_time_zero) {
  if (at_time_zero) {
    return 1;
  }
  const auto since = node.clock_now() - node.sim().epoch();
  const std::int64_t ms = since.ns() / 1'000'000;
  return static_cast<std::uint32_t>(std::max<std::int64_t>(2, ms + 2));
}
}  // namespace

SwimMember::SwimMember(world::Node& node, ClusterShared& shared, MemberId self,
                       bool converged_start)
    : node_(node),
      shared_(shared),
      params_(shared.params().swim),
      self_(self),
      converged_start_(converged_start),
      view_(self, shared.size()),
      rng_(shared.rng_for(self).fork("incarnation/" + std::to_string(node.incarnation()))) {
  shared_.attach(self_, this);
}

SwimMember::~SwimMember() { shared_.detach(self_, this); }

void SwimMember::start(world::Node& node) {
  const bool at_zero = converged_start_ && node.incarnation() == 1 &&
                       node.sim().now() == Time::zero();
  const std::uint32_t inc = start_incarnation(node, at_zero);
  if (at_zero) {
    view_.assign_entries(shared_.converged_view());
  } else {
    view_.force(self_, Status::kAlive, inc);
    dissem_.record({self_, Status::kAlive, inc, self_, inc});
  }
  node.on_message([this](const world::Message& m) { dispatch(m); });
  if (!at_zero) {
    join();
  }
  // ringpop: the first protocol period starts at a random point of [0, min period].
  schedule_probe(Duration::nanos(
      static_cast<std::int64_t>(rng_.below(static_cast<std::uint64_t>(
          params_.min_protocol_period.ns() + 1)))));
  if (params_.heal) {
    node_.after(params_.heal_interval, [this] { heal_tick(); });
  }
}

// --- messages ----------------------------------------------------------------------------

void SwimMember::dispatch(const world::Message& m) {
  if (params_.message_cpu > Duration::zero()) {
    // Inbound messages wait for the CPU; timers do not (they are the kernel's).
    // Only what handle() reads (the payload and the sender), not the whole Message.
    node_.compute(params_.message_cpu,
                  [this, payload = m.payload, src = m.src] { handle(payload, src); });
  } else {
    handle(m.payload, m.src);
  }
}

void SwimMember::handle(const world::Payload& payload, world::NodeId src) {
  if (const auto* p = payload.get<Ping>()) {
    on_ping(*p, src);
  } else if (const auto* a = payload.get<Ack>()) {
    on_ack(*a);
  } else if (const auto* r = payload.get<PingReq>()) {
    on_ping_req(*r);
  } else if (const auto* res = payload.get<PingReqResult>()) {
    on_ping_req_result(*res);
  } else if (const auto* sr = payload.get<SyncReq>()) {
    on_sync_req(*sr);
  } else if (const auto* sp = payload.get<SyncResp>()) {
    on_sync_resp(*sp);
  } else if (const auto* dq = payload.get<DampReq>()) {
    on_damp_req(*dq);
  } else if (const auto* dr = payload.get<DampResp>()) {
    on_damp_resp(*dr);
  } else if (const auto* fq = payload.get<FwdReq>()) {
    on_fwd_req(*fq);
  } else if (const auto* fr = payload.get<FwdResp>()) {
    on_fwd_resp(*fr);
  }
}

void SwimMember::send(MemberId to, Payload p, std::size_t changes) {
  node_.send(shared_.node_of(to), std::move(p),
             params_.header_bytes + changes * params_.change_bytes);
  shared_.message_sent(changes);
}

std::vector<Change> SwimMember::outgoing(MemberId to) {
  std::vector<Change> out;
  dissem_.issue(piggyback_limit(params_.piggyback_factor, view_.pingable_count()), to, out);
  return out;
}

void SwimMember::on_ping(const Ping& p, world::NodeId /*reply_to*/) {
  apply_all(p.changes);
  Ack ack;
  ack.seq = p.seq;
  ack.from = self_;
  ack.checksum = view_.checksum();
  ack.changes = outgoing(p.from);
  if (ack.changes.empty() && params_.full_sync && p.checksum != view_.checksum()) {
    // ringpop: differing checksums and nothing to say: send everything, and ask for the
    // sender's list in return (a reverse full sync), a bounded number at a time.
    ack.full = true;
    ack.changes = view_.snapshot(self_, incarnation());
    shared_.count("full_syncs");
    FAULTLINE_PROBE(shared_.sim(), kProbeFullSync);
    if (reverse_jobs_ < params_.max_reverse_full_sync_jobs) {
      ++reverse_jobs_;
      send(p.from, Payload::make<SyncReq>(SyncReq{SyncKind::kReverseFullSync, self_, {}}), 0);
      node_.after(params_.join_timeout, [this] {
        if (reverse_jobs_ > 0) {
          --reverse_jobs_;
        }
      });
    }
  }
  const std::size_t n = ack.changes.size();
  send(p.from, Payload::make<Ack>(std::move(ack)), n);
}

void SwimMember::on_ack(const Ack& a) {
  apply_all(a.changes);
  for (std::size_t i = 0; i < relays_.size(); ++i) {
    if (relays_[i].our_seq == a.seq) {
      // We pinged on someone's behalf: tell the requester the target answered.
      Relay r = relays_[i];
      relays_.erase(relays_.begin() + static_cast<std::ptrdiff_t>(i));
      node_.cancel_timer(r.timer);
      PingReqResult res{r.their_seq, self_, r.target, true, outgoing(r.requester)};
      const std::size_t n = res.changes.size();
      send(r.requester, Payload::make<PingReqResult>(std::move(res)), n);
      return;
    }
  }
  if (phase_ != Phase::kIdle && a.seq == probe_seq_ && a.from == probe_target_) {
    finish_probe(true);
  }
}

void SwimMember::on_ping_req(const PingReq& r) {
  apply_all(r.changes);
  const std::uint64_t seq = ++seq_;
  relays_.push_back({seq, r.from, r.seq, r.target, EventId{}});
  Ping p{seq, self_, view_.checksum(), outgoing(r.target), true};
  const std::size_t n = p.changes.size();
  send(r.target, Payload::make<Ping>(std::move(p)), n);
  relays_.back().timer = node_.after(params_.ping_timeout, [this, seq] {
    for (std::size_t i = 0; i < relays_.size(); ++i) {
      if (relays_[i].our_seq == seq) {
        Relay rel = relays_[i];
        relays_.erase(relays_.begin() + static_cast<std::ptrdiff_t>(i));
        // ringpop answers pingStatus false; with Lifeguard this is the nack.
        PingReqResult res{rel.their_seq, self_, rel.target, false, outgoing(rel.requester)};
        const std::size_t n2 = res.changes.size();
        send(rel.requester, Payload::make<PingReqResult>(std::move(res)), n2);
        return;
      }
    }
  });
}

void SwimMember::on_ping_req_result(const PingReqResult& r) {
  apply_all(r.changes);
  if (phase_ != Phase::kIndirect || r.seq != probe_seq_ || r.target != probe_target_) {
    return;
  }
  ++helper_answers_;
  if (r.reached) {
    finish_probe(true);
  } else if (helper_answers_ == helpers_asked_) {
    // Every helper answered and none reached the target.
    suspect(probe_target_);
    finish_probe(false);
  }
}

void SwimMember::on_sync_req(const SyncReq& r) {
  if (r.kind == SyncKind::kHeal) {
    merge_partition(r.changes);
  } else {
    apply_all(r.changes);
  }
  SyncResp resp{r.kind, self_, view_.snapshot(self_, incarnation())};
  const std::size_t n = resp.changes.size();
  send(r.from, Payload::make<SyncResp>(std::move(resp)), n);
}

void SwimMember::on_sync_resp(const SyncResp& r) {
  if (r.kind == SyncKind::kHeal) {
    merge_partition(r.changes);
  } else {
    apply_all(r.changes);
  }
  if (r.kind == SyncKind::kReverseFullSync && reverse_jobs_ > 0) {
    --reverse_jobs_;
  }
}

// --- the probe loop ------------------------------------------------------------------------

Duration SwimMember::scaled(Duration d) const {
  if (!params_.lifeguard.enabled) {
    return d;
  }
  return d * static_cast<std::int64_t>(lhm_ + 1);
}

void SwimMember::health(int delta) {
  if (!params_.lifeguard.enabled) {
    return;
  }
  const std::int64_t v = static_cast<std::int64_t>(lhm_) + delta;
  lhm_ = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(v, 0, params_.lifeguard.max_multiplier - 1));
}

Duration SwimMember::period_delay() {
  Duration base = params_.min_protocol_period;
  if (params_.adaptive_period) {
    // ringpop: the rate is 2 x the median of recent protocol periods, at least the minimum;
    // the next period starts that long after the last one began.
    const Duration rate = std::max(base, recent_probe_times_.median() * 2);
    const Duration since = node_.sim().now() - probe_started_;
    base = std::max(base, rate - since);
  }
  return scaled(base);
}

void SwimMember::prefetch_timer(unsigned stage) const {
  // Most timers are the next probe: it reads the next slot of the probe order, the window of
  // recent probe times and then (stage 1, once the slot is here) the view's entry for the
  // member in that slot, which decides whether it is probed. A hint only.
  if (order_pos_ >= order_.size()) {
    return;
  }
  if (stage == 0) {
    __builtin_prefetch(order_.data() + order_pos_);
    return;
  }
  view_.prefetch_status(order_[order_pos_]);
}

void SwimMember::schedule_probe(Duration delay) {
  node_.after(delay, [this] { probe(); });
}

void SwimMember::reshuffle() {
  order_.clear();
  order_.reserve(view_.size());  // once: growing by doubling copied it a dozen times
  for (MemberId m = 0; m < view_.size(); ++m) {
    if (m != self_ && pingable(view_.status(m))) {
      order_.push_back(m);
    }
  }
  for (std::size_t i = order_.size(); i > 1; --i) {
    std::swap(order_[i - 1], order_[rng_.below(i)]);
  }
  order_pos_ = 0;
}

MemberId SwimMember::next_target() {
  // Round-robin over a shuffled list (SWIM §4.3, ringpop's member iterator): every pingable
  // member is probed once per round; members that stopped being pingable are skipped.
  for (int pass = 0; pass < 2; ++pass) {
    while (order_pos_ < order_.size()) {
      const MemberId m = order_[order_pos_++];
      if (pingable(view_.status(m)) && !damped(m)) {
        return m;
      }
    }
    reshuffle();
  }
  return kNoMember;
}

void SwimMember::probe() {
  const MemberId target = next_target();
  probe_started_ = node_.sim().now();
  if (target == kNoMember) {
    if (view_.pingable_count() <= 1) {
      join();  // alone: keep trying the seeds
    }
    schedule_probe(period_delay());
    return;
  }
  shared_.count_probe();
  shared_.probing(target);
  probe_seq_ = ++seq_;
  probe_target_ = target;
  phase_ = Phase::kDirect;
  Ping p{probe_seq_, self_, view_.checksum(), outgoing(target), false};
  if (params_.lifeguard.enabled && params_.lifeguard.buddy &&
      view_.status(target) == Status::kSuspect) {
    // Buddy system: tell a suspect that it is suspected, so it can refute at once.
    const bool has = std::any_of(p.changes.begin(), p.changes.end(),
                                 [&](const Change& c) { return c.member == target; });
    if (!has) {
      p.changes.push_back({target, Status::kSuspect, view_.incarnation(target), self_,
                           incarnation()});
    }
  }
  const std::size_t n = p.changes.size();
  send(target, Payload::make<Ping>(std::move(p)), n);
  const std::uint64_t seq = probe_seq_;
  probe_timer_ = node_.after(scaled(params_.ping_timeout), [this, seq] { on_ping_timeout(seq); });
}

std::vector<MemberId> SwimMember::pick_helpers(MemberId target, std::uint32_t k) {
  std::vector<MemberId> candidates;
  for (MemberId m = 0; m < view_.size(); ++m) {
    if (m != self_ && m != target && pingable(view_.status(m))) {
      candidates.push_back(m);
    }
  }
  std::vector<MemberId> out;
  for (std::uint32_t i = 0; i < k && !candidates.empty(); ++i) {
    const std::size_t j = rng_.below(candidates.size());
    out.push_back(candidates[j]);
    candidates[j] = candidates.back();
    candidates.pop_back();
  }
  return out;
}

void SwimMember::on_ping_timeout(std::uint64_t seq) {
  if (phase_ != Phase::kDirect || seq != probe_seq_) {
    return;
  }
  const auto helpers = pick_helpers(probe_target_, params_.ping_request_size);
  if (helpers.empty()) {
    suspect(probe_target_);
    finish_probe(false);
    return;
  }
  shared_.count("ping_reqs");
  phase_ = Phase::kIndirect;
  helpers_asked_ = static_cast<std::uint32_t>(helpers.size());
  helper_answers_ = 0;
  for (MemberId h : helpers) {
    PingReq r{probe_seq_, self_, probe_target_, view_.checksum(), outgoing(h)};
    const std::size_t n = r.changes.size();
    send(h, Payload::make<PingReq>(std::move(r)), n);
  }
  probe_timer_ =
      node_.after(scaled(params_.ping_request_timeout), [this, seq] { on_ping_req_timeout(seq); });
}

void SwimMember::on_ping_req_timeout(std::uint64_t seq) {
  if (phase_ != Phase::kIndirect || seq != probe_seq_) {
    return;
  }
  if (params_.lifeguard.enabled && params_.lifeguard.nacks && helper_answers_ < helpers_asked_) {
    // Lifeguard: helpers always answer (ack or nack); missing answers mean we are the slow one.
    health(+1);
  }
  if (helper_answers_ == 0 && params_.inconclusive_without_helper_answers) {
    shared_.count("inconclusive_probes");
    finish_probe(false);
    return;
  }
  suspect(probe_target_);
  finish_probe(false);
}

void SwimMember::finish_probe(bool reached) {
  const Duration took = node_.sim().now() - probe_started_;
  recent_probe_times_.push(took);
  if (reached) {
    health(-1);
  } else {
    health(+1);
  }
  phase_ = Phase::kIdle;
  probe_target_ = kNoMember;
  node_.cancel_timer(probe_timer_);  // false when the timeout is what finished the probe
  probe_timer_ = EventId{};
  schedule_probe(period_delay());
}

// --- joins and heals -------------------------------------------------------------------------

void SwimMember::join() {
  const std::uint32_t seeds = shared_.params().seeds;
  std::vector<MemberId> candidates;
  for (MemberId m = 0; m < seeds; ++m) {
    if (m != self_) {
      candidates.push_back(m);
    }
  }
  for (std::uint32_t i = 0; i < params_.join_size && !candidates.empty(); ++i) {
    const std::size_t j = rng_.below(candidates.size());
    SyncReq r{SyncKind::kJoin, self_, {{self_, Status::kAlive, incarnation(), self_, incarnation()}}};
    send(candidates[j], Payload::make<SyncReq>(std::move(r)), 1);
    candidates[j] = candidates.back();
    candidates.pop_back();
  }
  shared_.count("joins");
}

void SwimMember::heal_tick() {
  node_.after(params_.heal_interval, [this] { heal_tick(); });
  const std::uint32_t n = std::max<std::uint32_t>(1, view_.known_count());
  if (!rng_.bernoulli(std::min(params_.heal_probability_numerator, n), n)) {
    return;
  }
  std::vector<MemberId> faulty;
  for (MemberId m = 0; m < view_.size(); ++m) {
    if (view_.status(m) == Status::kFaulty) {
      faulty.push_back(m);
    }
  }
  if (faulty.empty()) {
    return;
  }
  const MemberId target = faulty[rng_.below(faulty.size())];
  shared_.count("heal_attempts");
  SyncReq r{SyncKind::kHeal, self_, view_.snapshot(self_, incarnation())};
  const std::size_t n2 = r.changes.size();
  send(target, Payload::make<SyncReq>(std::move(r)), n2);
}

void SwimMember::merge_partition(const std::vector<Change>& theirs) {
  bool disagreed = false;
  for (const Change& c : theirs) {
    if (c.member == self_ || c.member >= view_.size()) {
      apply_change(c);
      continue;
    }
    const Entry mine = view_.entry(c.member);
    const bool they_see_up = pingable(c.status);
    const bool i_see_up = pingable(mine.status);
    if (mine.status != Status::kUnknown && c.status != Status::kUnknown &&
        they_see_up != i_see_up) {
      // One side holds the member faulty, the other reachable. Ask it to reincarnate: hold it
      // suspect at the higher incarnation, so that it hears of the suspicion (through pings
      // and full syncs) and refutes with an incarnation newer than either side's.
      disagreed = true;
      const std::uint32_t inc = std::max(mine.incarnation, c.incarnation);
      if (mine.status != Status::kSuspect || mine.incarnation != inc) {
        const Entry before = view_.entry(c.member);
        view_.force(c.member, Status::kSuspect, inc);
        const Change s{c.member, Status::kSuspect, inc, self_, incarnation()};
        dissem_.record(s);
        changed(c.member, before, s, false);
      }
      continue;
    }
    apply_change(c);
  }
  if (disagreed) {
    shared_.count("heals");
    FAULTLINE_PROBE(shared_.sim(), kProbeHeal);
  }
}

// --- membership changes ----------------------------------------------------------------------

void SwimMember::apply_all(const std::vector<Change>& cs) {
  for (const Change& c : cs) {
    apply_change(c);
  }
}

void SwimMember::refute(std::uint32_t heard_incarnation) {
  const std::uint32_t inc = std::max(incarnation(), heard_incarnation) + 1;
  view_.force(self_, Status::kAlive, inc);
  dissem_.record({self_, Status::kAlive, inc, self_, inc});
  shared_.count("refutations");
  FAULTLINE_PROBE(shared_.sim(), kProbeRefuted);
  shared_.observe(self_, self_, Status::kAlive, Status::kAlive, inc, true);
  health(+1);  // Lifeguard: being suspected hints that we are the slow one
}

void SwimMember::apply_change(const Change& c) {
  if (c.member >= view_.size()) {
    return;
  }
  if (c.member == self_) {
    if (c.status != Status::kAlive && c.incarnation >= incarnation()) {
      refute(c.incarnation);
    }
    return;
  }
  const Entry before = view_.entry(c.member);
  if (pingable(c.status) && damped(c.member)) {
    return;  // damped: news of it being reachable is ignored until its score decays
  }
  if (view_.apply(c)) {
    dissem_.record(c);
    changed(c.member, before, c, false);
  } else if (c.status == Status::kSuspect && before.status == Status::kSuspect &&
             before.incarnation == c.incarnation) {
    confirm_suspicion(c.member, c.incarnation, c.source);
  }
}

void SwimMember::changed(MemberId m, Entry before, const Change& c, bool declared_here) {
  shared_.observe(self_, m, before.status, c.status, c.incarnation, declared_here);
  if (params_.damping.enabled && before.status != Status::kUnknown &&
      before.status != c.status) {
    flapped(m);
  }
  if (c.status == Status::kSuspect) {
    start_suspicion(m, c.incarnation, c.source);
  } else {
    end_suspicion(m);
  }
}

void SwimMember::suspect(MemberId m) {
  if (view_.status(m) != Status::kAlive) {
    return;  // already suspect or faulty
  }
  const Entry before = view_.entry(m);
  const Change c{m, Status::kSuspect, before.incarnation, self_, incarnation()};
  view_.apply(c);
  dissem_.record(c);
  shared_.count("suspicions");
  changed(m, before, c, true);
}

Duration SwimMember::suspicion_timeout(std::uint32_t confirmations) const {
  Duration base = params_.suspect_timeout;
  if (params_.suspect_timeout_scales_with_log_n) {
    const double f = std::max(1.0, std::log10(static_cast<double>(view_.pingable_count() + 1)));
    base = Duration::nanos(static_cast<std::int64_t>(static_cast<double>(base.ns()) * f));
  }
  if (!params_.lifeguard.enabled) {
    return base;
  }
  // Lifeguard's dynamic suspicion: from max down to base as confirmations arrive,
  // logarithmically: max - (max - min) * log(C + 1) / log(K + 1).
  const double min = static_cast<double>(base.ns());
  const double max = min * params_.lifeguard.suspicion_max_mult;
  const double k = params_.lifeguard.confirmations;
  const double c = std::min<double>(confirmations, k);
  const double t = max - (max - min) * std::log(c + 1.0) / std::log(k + 1.0);
  return Duration::nanos(static_cast<std::int64_t>(std::max(min, t)));
}

void SwimMember::start_suspicion(MemberId m, std::uint32_t inc, MemberId source) {
  end_suspicion(m);
  const Time now = node_.sim().now();
  Suspicion s{m, inc, now, now + suspicion_timeout(0), 0, {}};
  if (source != self_ && source != kNoMember) {
    s.sources.push_back(source);
  }
  suspicions_.push_back(std::move(s));
  arm_suspicion(suspicions_.back());
}

void SwimMember::confirm_suspicion(MemberId m, std::uint32_t inc, MemberId source) {
  if (!params_.lifeguard.enabled) {
    return;
  }
  for (auto& s : suspicions_) {
    if (s.member != m || s.incarnation != inc) {
      continue;
    }
    if (source == self_ || source == kNoMember ||
        std::find(s.sources.begin(), s.sources.end(), source) != s.sources.end()) {
      return;
    }
    s.sources.push_back(source);
    ++s.confirmations;
    const Time deadline = s.started + suspicion_timeout(s.confirmations);
    if (deadline < s.deadline) {
      s.deadline = std::max(deadline, node_.sim().now());
      arm_suspicion(s);
    }
    return;
  }
}

void SwimMember::end_suspicion(MemberId m) {
  for (std::size_t i = 0; i < suspicions_.size(); ++i) {
    if (suspicions_[i].member == m) {
      suspicions_[i] = suspicions_.back();
      suspicions_.pop_back();
      return;
    }
  }
}

void SwimMember::arm_suspicion(const Suspicion& s) {
  const MemberId m = s.member;
  const std::uint32_t inc = s.incarnation;
  const Time deadline = s.deadline;
  node_.after(deadline - node_.sim().now(),
              [this, m, inc, deadline] { on_suspicion_timeout(m, inc, deadline); });
}

void SwimMember::on_suspicion_timeout(MemberId m, std::uint32_t inc, Time deadline) {
  for (std::size_t i = 0; i < suspicions_.size(); ++i) {
    const Suspicion& s = suspicions_[i];
    if (s.member != m || s.incarnation != inc || s.deadline != deadline) {
      continue;
    }
    suspicions_[i] = suspicions_.back();
    suspicions_.pop_back();
    if (view_.status(m) == Status::kSuspect && view_.incarnation(m) == inc) {
      const Entry before = view_.entry(m);
      const Change c{m, Status::kFaulty, inc, self_, incarnation()};
      view_.apply(c);
      dissem_.record(c);
      changed(m, before, c, true);
    }
    return;
  }
}

}  // namespace faultline::sim::ringpop
