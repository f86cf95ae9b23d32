// SWIM and ringpop mechanisms on simulated clusters. Each test also runs the counterfactual
// (the mechanism switched off, or the fault it guards against) and sees the outcome change,
// so that none of them can pass without the mechanism.
#include "ringpop_fixture.hpp"

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::ringpop;
using namespace faultline::sim::ringpop::testing;
using world::FaultKind;
using world::FaultSpec;

TEST_CASE("swim: a quiet converged cluster stays converged with no suspicion", "[ringpop][swim]") {
  Run r(small_params(10));
  r.run_for(Duration::seconds(60));
  CHECK(r.cluster->distinct_checksums() == 1);
  CHECK(r.counter("ringpop.suspicions") == 0);
  CHECK(r.shared().faulty_declarations() == 0);
  // Each member probes about once per 200 ms period: ping + ack = 2 messages per probe.
  const double per_member_s = static_cast<double>(r.shared().messages_sent()) / 10.0 / 60.0;
  CHECK(per_member_s > 8.0);
  CHECK(per_member_s < 10.5);
  CHECK(check_membership(record_history(*r.cluster)).ok);
}

TEST_CASE("swim: a crashed member is suspected, then declared faulty by every live member",
          "[ringpop][swim]") {
  Run r(small_params(10));
  r.run_for(Duration::seconds(5));
  r.fault({.at = Duration::zero(), .kind = FaultKind::kCrash, .target = Run::node(4), .peer = {}});
  r.run_for(Duration::seconds(40));
  REQUIRE(r.shared().detections().size() == 1);
  const auto& d = r.shared().detections()[0];
  REQUIRE(d.first_suspect);
  REQUIRE(d.all_faulty);
  // Detection: a ping timeout (1.5 s) and the ping-req round (helpers' own 1.5 s) after the
  // first probe of the dead member; faulty 5 s after suspicion.
  CHECK(*d.first_suspect - d.crashed_at < Duration::seconds(6));
  CHECK(*d.first_faulty - *d.first_suspect >= Duration::seconds(5));
  CHECK(r.cluster->distinct_checksums() == 1);
  CHECK(r.shared().false_positives() == 0);
  CHECK(check_membership(record_history(*r.cluster)).ok);
}

TEST_CASE("swim: members_with_wrong_view counts the live views that differ from who is up",
          "[ringpop][swim]") {
  Run r(small_params(10));
  r.run_for(Duration::seconds(5));
  CHECK(r.cluster->members_with_wrong_view() == 0);
  // One view that holds a live member faulty, without telling anyone: one wrong view.
  r.cluster->member(2)->overwrite_entry(7, Status::kFaulty, 1);
  CHECK(r.cluster->members_with_wrong_view() == 1);
  // The scan reads eight statuses a step and the rest one by one: a wrong entry past the last
  // full step (member 9 of 10) counts too.
  r.cluster->member(3)->overwrite_entry(9, Status::kFaulty, 1);
  CHECK(r.cluster->members_with_wrong_view() == 2);
  // A crash nobody has noticed yet: every other live view still holds it alive. Members 2 and
  // 3 are wrong twice over and count once.
  r.fault({.at = Duration::zero(), .kind = FaultKind::kCrash, .target = Run::node(4), .peer = {}});
  r.run_for(Duration::millis(1));
  CHECK(r.cluster->members_with_wrong_view() == 9);
  // Once the crash is declared everywhere and member 2's divergence is repaired (or not), the
  // count only counts what still differs.
  r.run_for(Duration::seconds(40));
  std::size_t naive = 0;
  for (MemberId m = 0; m < 10; ++m) {
    if (!r.cluster->up(m)) {
      continue;
    }
    bool wrong = false;
    for (MemberId o = 0; o < 10; ++o) {
      wrong = wrong || pingable(r.cluster->member(m)->view().status(o)) != r.cluster->up(o);
    }
    naive += wrong ? 1 : 0;
  }
  CHECK(r.cluster->members_with_wrong_view() == naive);
}

TEST_CASE("swim: a suspected live member refutes with a higher incarnation and is never faulty",
          "[ringpop][swim][refutation]") {
  Run r(small_params(8));
  r.run_for(Duration::seconds(2));
  SwimMember* accuser = r.cluster->member(1);
  REQUIRE(accuser != nullptr);
  const std::uint32_t inc = r.cluster->member(5)->incarnation();
  accuser->receive_change({5, Status::kSuspect, inc, 1, 1});
  r.run_for(Duration::seconds(20));
  CHECK(r.cluster->member(5)->incarnation() > inc);
  CHECK(r.counter("ringpop.refutations") >= 1);
  CHECK(r.shared().healthy_marked_faulty() == 0);
  CHECK(r.cluster->distinct_checksums() == 1);
  for (MemberId m = 0; m < 8; ++m) {
    CHECK(r.cluster->member(m)->view().status(5) == Status::kAlive);
  }
}

TEST_CASE("swim: without refutation a suspicion of a live member ends in a faulty declaration",
          "[ringpop][swim][refutation]") {
  // The counterfactual: member 5 is paused, so it cannot refute; the suspicion runs out.
  Run r(small_params(8));
  r.run_for(Duration::seconds(2));
  r.fault({.at = Duration::zero(), .kind = FaultKind::kPause, .target = Run::node(5), .peer = {},
           .duration = Duration::seconds(30)});
  r.run_for(Duration::seconds(20));
  CHECK(r.cluster->member(1)->view().status(5) == Status::kFaulty);
  // After it resumes it hears that it is faulty, refutes, and the group takes it back.
  r.run_for(Duration::seconds(40));
  CHECK(r.cluster->member(1)->view().status(5) == Status::kAlive);
  CHECK(r.cluster->distinct_checksums() == 1);
}

TEST_CASE("swim: ping-req through k members rescues a member behind one lossy link",
          "[ringpop][swim][ping-req]") {
  for (std::uint32_t k : {3u, 0u}) {
    auto p = small_params(8);
    p.swim.ping_request_size = k;
    Run r(p);
    r.run_for(Duration::seconds(1));
    // Every message between members 0 and 3 is lost; everyone else reaches both.
    r.fault({.at = Duration::zero(), .kind = FaultKind::kPacketLoss, .target = Run::node(0),
             .peer = Run::node(3), .ratio = {1, 1}});
    r.run_for(Duration::seconds(60));
    if (k == 3) {
      CHECK(r.counter("ringpop.suspicions") == 0);
      CHECK(r.counter("ringpop.ping_reqs") > 0);
    } else {
      // With no one to ask, the lossy link alone gets member 3 (or 0) suspected.
      CHECK(r.counter("ringpop.suspicions") > 0);
    }
  }
}

TEST_CASE("swim: a full sync repairs a view that piggybacking no longer would",
          "[ringpop][swim][full-sync]") {
  for (bool full_sync : {true, false}) {
    auto p = small_params(8);
    p.swim.full_sync = full_sync;
    Run r(p);
    r.run_for(Duration::seconds(1));
    // Member 6 holds a stale entry for member 3 and no pending change would ever fix it.
    r.cluster->member(6)->overwrite_entry(3, Status::kAlive, 0);
    REQUIRE(r.cluster->distinct_checksums() == 2);
    r.run_for(Duration::seconds(30));
    if (full_sync) {
      CHECK(r.counter("ringpop.full_syncs") > 0);
      CHECK(r.cluster->distinct_checksums() == 1);
    } else {
      CHECK(r.counter("ringpop.full_syncs") == 0);
      CHECK(r.cluster->distinct_checksums() > 1);
    }
  }
}

TEST_CASE("swim: members that start alone join through the seeds and converge",
          "[ringpop][swim][join]") {
  auto p = small_params(20);
  p.start_converged = false;
  Run r(p);
  r.run_for(Duration::seconds(30));
  CHECK(r.cluster->distinct_checksums() == 1);
  CHECK(r.cluster->members_with_wrong_view() == 0);
  CHECK(check_membership(record_history(*r.cluster)).ok);
}

TEST_CASE("swim: a late joiner is learned by everyone and owns part of the ring",
          "[ringpop][swim][join]") {
  auto p = small_params(10);
  p.late_joins.push_back({"ringpop-9", Duration::seconds(10)});
  Run r(p);
  r.run_for(Duration::seconds(5));
  CHECK(r.cluster->member(9) == nullptr);
  CHECK(r.cluster->members_with_wrong_view() == 0);  // nobody holds 9 reachable yet
  r.run_for(Duration::seconds(20));
  REQUIRE(r.cluster->member(9) != nullptr);
  CHECK(r.cluster->distinct_checksums() == 1);
  int owned = 0;
  for (std::uint64_t k = 0; k < 1000; ++k) {
    owned += r.cluster->owner(0, hash_u64(k)) == 9 ? 1 : 0;
  }
  CHECK(owned > 30);  // about 1/10 of the keys
}

TEST_CASE("swim: after a zone partition heals, the two rings merge", "[ringpop][swim][heal]") {
  for (bool heal : {true, false}) {
    auto p = small_params(12);
    p.zones = {"zone-a", "zone-b"};
    p.swim.heal = heal;
    p.swim.heal_interval = Duration::seconds(10);
    p.swim.heal_probability_numerator = 12;  // every member tries each interval: a short test
    Run r(p);
    r.run_for(Duration::seconds(2));
    r.fault({.at = Duration::zero(), .kind = FaultKind::kPartition,
             .target = {world::TargetKind::kZone, "zone-a"},
             .peer = {world::TargetKind::kZone, "zone-b"}, .duration = Duration::seconds(30)});
    r.run_for(Duration::seconds(29));
    // Split: each side holds the other faulty and owns the whole ring itself.
    CHECK(r.cluster->member(0)->view().status(1) == Status::kFaulty);
    CHECK(r.cluster->member(1)->view().status(0) == Status::kFaulty);
    CHECK(r.cluster->owner(0, hash_u64(1)) % 2 == 0);
    CHECK(r.cluster->owner(1, hash_u64(1)) % 2 == 1);
    r.run_for(Duration::seconds(90));
    if (heal) {
      CHECK(r.counter("ringpop.heals") > 0);
      CHECK(r.cluster->distinct_checksums() == 1);
      CHECK(r.cluster->members_with_wrong_view() == 0);
      CHECK(check_membership(record_history(*r.cluster)).ok);
    } else {
      // Ringpop only pings reachable members: without healing the split lasts.
      CHECK(r.cluster->members_with_wrong_view() == 12);
      CHECK_FALSE(check_membership(record_history(*r.cluster)).ok);
    }
  }
}

TEST_CASE("swim: the same seed gives the same trace", "[ringpop][determinism]") {
  auto once = [](std::uint64_t seed) {
    Run r(small_params(12), seed);
    r.fault({.at = Duration::seconds(3), .kind = FaultKind::kCrash, .target = Run::node(2), .peer = {}});
    r.run_for(Duration::seconds(30));
    return r.sim.trace().hash();
  };
  CHECK(once(3) == once(3));
  CHECK(once(3) != once(4));
}

TEST_CASE("forwarding: while a member joins, differing checksums refuse forwards and the retry "
          "schedule carries requests through",
          "[ringpop][forward]") {
  struct Tally {
    int ok = 0, failed = 0, refusals = 0, forwarded = 0;
  };
  auto once = [](std::vector<Duration> schedule, bool refuse) {
    auto p = small_params(10);
    p.late_joins.push_back({"ringpop-9", Duration::seconds(10)});
    p.forward.retry_schedule = std::move(schedule);
    p.forward.refuse_on_checksum_mismatch = refuse;
    Run r(p);
    r.run_for(Duration::millis(10200));  // 9 has just asked the seeds to join
    REQUIRE(r.cluster->distinct_checksums() > 1);
    auto tally = std::make_shared<Tally>();
    for (std::uint64_t k = 0; k < 300; ++k) {
      SwimMember* at = r.cluster->member(static_cast<MemberId>(k % 9));
      at->request(hash_u64(k), [tally](const RequestOutcome& o) {
        tally->ok += o.ok ? 1 : 0;
        tally->failed += o.ok ? 0 : 1;
        tally->refusals += static_cast<int>(o.refusals);
        tally->forwarded += o.attempts > 0 ? 1 : 0;
      });
    }
    r.run_for(Duration::seconds(10));
    CHECK(tally->ok + tally->failed == 300);
    CHECK(r.cluster->distinct_checksums() == 1);
    return *tally;
  };
  const Tally retried = once({Duration::zero(), Duration::millis(500), Duration::seconds(2)}, true);
  CHECK(retried.forwarded > 200);  // 8 of 9 keys belong to someone else
  CHECK(retried.refusals > 0);     // the join made checksums differ
  CHECK(retried.failed == 0);      // and the schedule outlasted the convergence
  const Tally no_retries = once({}, true);
  CHECK(no_retries.failed > 0);    // without retries the refusals are failures
  const Tally no_check = once({}, false);
  CHECK(no_check.refusals == 0);   // ringpop's consistency check is what refuses
  CHECK(no_check.failed == 0);
}

TEST_CASE("damping: a flapping member is evicted by agreement and taken back once its score "
          "decays",
          "[ringpop][swim][damping]") {
  for (bool damping : {true, false}) {
    auto p = small_params(8);
    p.swim.damping.enabled = damping;
    Run r(p);
    r.run_for(Duration::seconds(2));
    // Member 4 flaps: paused 10 s (long enough to be declared faulty), up 5 s, six times.
    for (int i = 0; i < 6; ++i) {
      r.fault({.at = Duration::seconds(15 * i), .kind = FaultKind::kPause, .target = Run::node(4),
               .peer = {}, .duration = Duration::seconds(10)});
    }
    r.run_for(Duration::seconds(15 * 6 + 20));  // 20 s after the last resume
    SwimMember* m0 = r.cluster->member(0);
    if (damping) {
      CHECK(r.counter("ringpop.damp_reqs") > 0);
      CHECK(r.counter("ringpop.damped") > 0);
      CHECK(m0->damped(4));
      CHECK(m0->view().status(4) == Status::kFaulty);  // up for 20 s, still out of the ring
      r.run_for(Duration::seconds(200));               // the score decays below reuse
      CHECK_FALSE(m0->damped(4));
      CHECK(m0->view().status(4) == Status::kAlive);
      CHECK(r.cluster->distinct_checksums() == 1);
    } else {
      CHECK(r.counter("ringpop.damped") == 0);
      CHECK(m0->view().status(4) == Status::kAlive);  // back after every flap
    }
  }
}
