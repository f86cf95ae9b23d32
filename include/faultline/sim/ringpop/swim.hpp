// One ringpop member as a world Program: SWIM's probe loop (ping, ping-req through k members,
// suspicion, refutation by incarnation), infection-style dissemination on pings and acks, full
// sync on differing checksums, joins through seeds, partition healing, and Lifeguard's local
// health, dynamic suspicion and buddy system when switched on. All membership is this
// member's own state: nothing reads another member's view.
#pragma once

#include <faultline/sim/ringpop/membership.hpp>
#include <faultline/sim/ringpop/params.hpp>
#include <faultline/sim/ringpop/probe_window.hpp>
#include <faultline/world/node.hpp>

#include <cstdint>
#include <functional>
#include <vector>

namespace faultline::sim::ringpop {

class ClusterShared;

/// Messages (one-way; the protocol keeps its own sequence numbers and timers so that a member
/// whose CPU is starved processes acks late while its timers still fire: Lifeguard's setting).
struct Ping {
  std::uint64_t seq = 0;
  MemberId from = kNoMember;
  std::uint64_t checksum = 0;
  std::vector<Change> changes;
  /// Set on a ping a ping-req helper sends on another member's behalf.
  bool for_helper = false;
};
struct Ack {
  std::uint64_t seq = 0;
  MemberId from = kNoMember;
  std::uint64_t checksum = 0;
  std::vector<Change> changes;
  bool full = false;  // `changes` is the sender's whole membership (a full sync)
};
struct PingReq {
  std::uint64_t seq = 0;
  MemberId from = kNoMember;
  MemberId target = kNoMember;
  std::uint64_t checksum = 0;
  std::vector<Change> changes;
};
struct PingReqResult {
  std::uint64_t seq = 0;
  MemberId from = kNoMember;
  MemberId target = kNoMember;
  bool reached = false;
  std::vector<Change> changes;
};
/// Join, reverse full sync and heal all ask for the other side's whole membership.
enum class SyncKind : std::uint8_t { kJoin, kReverseFullSync, kHeal };
struct SyncReq {
  SyncKind kind = SyncKind::kJoin;
  MemberId from = kNoMember;
  std::vector<Change> changes;  // the asker's own entry (join) or whole membership (heal)
};
struct SyncResp {
  SyncKind kind = SyncKind::kJoin;
  MemberId from = kNoMember;
  std::vector<Change> changes;
};

/// Flap damping: "what is your score for `target`?"
struct DampReq {
  std::uint64_t seq = 0;
  MemberId from = kNoMember;
  MemberId target = kNoMember;
};
struct DampResp {
  std::uint64_t seq = 0;
  MemberId target = kNoMember;
  double score = 0.0;
};

/// Handle or forward.
struct FwdReq {
  std::uint64_t id = 0;
  std::uint64_t key_hash = 0;
  MemberId from = kNoMember;
  std::uint64_t checksum = 0;
};
struct FwdResp {
  std::uint64_t id = 0;
  MemberId from = kNoMember;
  bool refused = false;  // checksums differed
};

/// How one request ended.
struct RequestOutcome {
  bool ok = false;
  MemberId handled_by = kNoMember;
  std::uint32_t attempts = 0;  // forwards sent (0: handled where it arrived)
  std::uint32_t refusals = 0;
  std::uint32_t timeouts = 0;
  Duration latency{};
};

class SwimMember final : public world::Program {
public:
  SwimMember(world::Node& node, ClusterShared& shared, MemberId self, bool converged_start);
  ~SwimMember() override;
  void start(world::Node& node) override;

  MemberId self() const { return self_; }
  const Membership& view() const { return view_; }
  void prefetch_timer(unsigned stage) const override;
  std::uint32_t incarnation() const { return view_.incarnation(self_); }
  /// Lifeguard's local health score (0 when healthy).
  std::uint32_t local_health() const { return lhm_; }
  std::size_t pending_changes() const { return dissem_.size(); }
  /// Flap damping: this member's current (decayed) score for m, and whether it damps m.
  double damp_score(MemberId m) const;
  bool damped(MemberId m) const;

  /// A request for `key_hash` arriving at this member: handled here if this member owns the
  /// key in its ring, else forwarded to the owner (retried per ForwardParams). `done` runs
  /// once, unless this member dies first.
  void request(std::uint64_t key_hash, std::function<void(const RequestOutcome&)> done);

  // --- for tests: inject what the protocol would otherwise learn from the network ---------
  /// Applies a change as if it had arrived in a message from `c.source`.
  void receive_change(const Change& c) { apply_change(c); }
  /// Overwrites an entry of the view without disseminating it: a divergence that only a full
  /// sync can repair (as after the change's piggyback count ran out).
  void overwrite_entry(MemberId m, Status s, std::uint32_t inc) { view_.force(m, s, inc); }

private:
  struct Suspicion {
    MemberId member;
    std::uint32_t incarnation;
    Time started;
    Time deadline;
    std::uint32_t confirmations;  // independent suspicions seen (Lifeguard)
    std::vector<MemberId> sources;
  };
  enum class Phase : std::uint8_t { kIdle, kDirect, kIndirect };

  void dispatch(const world::Message& m);
  void handle(const world::Payload& payload, world::NodeId src);
  void on_ping(const Ping& p, world::NodeId reply_to);
  void on_ack(const Ack& a);
  void on_ping_req(const PingReq& r);
  void on_ping_req_result(const PingReqResult& r);
  void on_sync_req(const SyncReq& r);
  void on_sync_resp(const SyncResp& r);
  void on_damp_req(const DampReq& r);
  void on_damp_resp(const DampResp& r);
  void flapped(MemberId m);
  void on_fwd_req(const FwdReq& r);
  void on_fwd_resp(const FwdResp& r);
  void attempt(std::uint64_t id);
  void retry_or_fail(std::uint64_t id);

  void schedule_probe(Duration delay);
  void probe();
  void on_ping_timeout(std::uint64_t seq);
  void on_ping_req_timeout(std::uint64_t seq);
  void finish_probe(bool reached);
  MemberId next_target();
  void reshuffle();
  std::vector<MemberId> pick_helpers(MemberId target, std::uint32_t k);

  void join();
  void heal_tick();

  /// Applies a received change: refutes one about this member, starts or ends suspicions.
  void apply_change(const Change& c);
  void apply_all(const std::vector<Change>& cs);
  /// Heal: merge another partition's membership, asking members the two sides disagree about
  /// to reincarnate (suspect at the higher incarnation, so they refute with a newer one).
  void merge_partition(const std::vector<Change>& theirs);
  void changed(MemberId m, Entry before, const Change& c, bool declared_here);
  void suspect(MemberId m);
  void start_suspicion(MemberId m, std::uint32_t inc, MemberId source);
  void confirm_suspicion(MemberId m, std::uint32_t inc, MemberId source);
  void end_suspicion(MemberId m);
  void arm_suspicion(const Suspicion& s);
  void on_suspicion_timeout(MemberId m, std::uint32_t inc, Time deadline);
  Duration suspicion_timeout(std::uint32_t confirmations) const;
  void refute(std::uint32_t heard_incarnation);

  std::vector<Change> outgoing(MemberId to);
  void send(MemberId to, world::Payload p, std::size_t changes);
  Duration scaled(Duration d) const;
  void health(int delta);
  Duration period_delay();

  world::Node& node_;
  ClusterShared& shared_;
  const SwimParams& params_;
  MemberId self_;
  bool converged_start_;
  Membership view_;
  Disseminator dissem_;

  std::vector<MemberId> order_;  // round-robin probe order (reshuffled each round)
  std::size_t order_pos_ = 0;
  Phase phase_ = Phase::kIdle;
  std::uint64_t seq_ = 0;
  std::uint64_t probe_seq_ = 0;
  MemberId probe_target_ = kNoMember;
  /// The probe's pending ping or ping-req timeout, cancelled when the probe finishes first
  /// (the timeout would find a newer seq and do nothing; cancelling saves the event).
  EventId probe_timer_;
  Time probe_started_{};
  std::uint32_t helpers_asked_ = 0;
  std::uint32_t helper_answers_ = 0;
  // The adaptive period's window, inline in the member: it is read every period, and a
  // separate allocation cost a cache miss per period at 10,000 members (bench/ringpop_bench).
  ProbeTimeWindow recent_probe_times_;

  /// Helper side of ping-req: our ping's seq -> (requester, its seq, target).
  struct Relay {
    std::uint64_t our_seq;
    MemberId requester;
    std::uint64_t their_seq;
    MemberId target;
    EventId timer;  // the relay's ping timeout, cancelled when the target's ack comes
  };
  std::vector<Relay> relays_;

  struct Pending {
    std::uint64_t id;
    std::uint64_t key_hash;
    Time started;
    RequestOutcome outcome;
    std::function<void(const RequestOutcome&)> done;
    std::uint64_t attempt_seq = 0;  // which attempt an answer or timeout belongs to
  };
  std::vector<Pending> requests_;
  std::uint64_t next_request_ = 0;

  struct Damp {
    MemberId member;
    double score;
    Time updated;
    bool damped;
    std::uint64_t asking;  // seq of the damp-req round in flight, 0 if none
    std::uint32_t votes;
  };
  Damp* damp_of(MemberId m);
  const Damp* damp_of(MemberId m) const;
  double decayed(const Damp& d) const;
  std::vector<Damp> damps_;  // only members that ever flapped

  std::vector<Suspicion> suspicions_;
  std::uint32_t lhm_ = 0;
  std::uint32_t reverse_jobs_ = 0;
  Rng rng_;
  std::vector<Change> scratch_;
};

}  // namespace faultline::sim::ringpop
