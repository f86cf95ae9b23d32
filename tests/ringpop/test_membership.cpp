// SWIM's update rules, the checksum, the piggyback limit and the ring, on plain data.
#include <faultline/sim/ringpop/membership.hpp>
#include <faultline/rng.hpp>
#include <faultline/sim/ringpop/params.hpp>
#include <faultline/sim/ringpop/probe_window.hpp>
#include <faultline/sim/ringpop/ring.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <vector>

using namespace faultline::sim::ringpop;
using faultline::Duration;

TEST_CASE("membership: a higher incarnation wins; at equal incarnation alive < suspect < faulty",
          "[ringpop][membership]") {
  CHECK(overrides(Status::kAlive, 3, Status::kSuspect, 3));
  CHECK(overrides(Status::kSuspect, 3, Status::kFaulty, 3));
  CHECK_FALSE(overrides(Status::kFaulty, 3, Status::kAlive, 3));
  CHECK_FALSE(overrides(Status::kSuspect, 3, Status::kAlive, 3));
  CHECK(overrides(Status::kFaulty, 3, Status::kAlive, 4));  // refutation
  CHECK_FALSE(overrides(Status::kAlive, 4, Status::kFaulty, 3));
  CHECK(overrides(Status::kUnknown, 0, Status::kAlive, 1));
}

TEST_CASE("membership: equal lists have equal checksums, whatever order changes arrived in",
          "[ringpop][membership]") {
  Membership a(0, 5);
  Membership b(1, 5);
  a.apply({2, Status::kAlive, 1});
  a.apply({3, Status::kSuspect, 2});
  a.apply({4, Status::kAlive, 1});
  b.apply({4, Status::kAlive, 1});
  b.apply({3, Status::kAlive, 2});
  b.apply({3, Status::kSuspect, 2});
  b.apply({2, Status::kAlive, 1});
  CHECK(a.checksum() == b.checksum());
  CHECK(a.ring_checksum() == b.ring_checksum());
  b.apply({4, Status::kFaulty, 1});
  CHECK(a.checksum() != b.checksum());
  CHECK(a.ring_checksum() != b.ring_checksum());
  CHECK(b.pingable_count() == 2);
}

TEST_CASE("dissemination: ringpop's piggyback limit is 15 x ceil(log10(n + 1))",
          "[ringpop][dissemination]") {
  // model-facts §5.2: 30 for 10-99 members, 45 for 100-999.
  CHECK(piggyback_limit(15, 9) == 15);
  CHECK(piggyback_limit(15, 10) == 30);
  CHECK(piggyback_limit(15, 99) == 30);
  CHECK(piggyback_limit(15, 100) == 45);
  CHECK(piggyback_limit(15, 999) == 45);
  CHECK(piggyback_limit(15, 10000) == 75);
}

TEST_CASE("dissemination: a change rides on exactly `limit` messages, then is dropped",
          "[ringpop][dissemination]") {
  Disseminator d;
  d.record({7, Status::kSuspect, 1, 3, 1});
  int carried = 0;
  for (int i = 0; i < 100; ++i) {
    std::vector<Change> out;
    d.issue(30, kNoMember, out);
    carried += static_cast<int>(out.size());
  }
  CHECK(carried == 30);
  CHECK(d.empty());
  // A sender's own change is not echoed back to it, and that does not count as a send.
  d.record({7, Status::kSuspect, 1, 3, 1});
  std::vector<Change> out;
  d.issue(1, 3, out);
  CHECK(out.empty());
  d.issue(1, 4, out);
  CHECK(out.size() == 1);
  CHECK(d.empty());
}

TEST_CASE("ring: 100 points per member spread keys evenly, and the ring checksum is the view's",
          "[ringpop][ring]") {
  std::vector<MemberId> servers;
  Membership view(0, 20);
  for (MemberId m = 0; m < 20; ++m) {
    servers.push_back(m);
    view.apply({m, Status::kAlive, 1});
  }
  HashRing ring(servers, 100);
  CHECK(ring.points() == 2000);
  CHECK(ring.checksum() == view.ring_checksum());
  std::map<MemberId, int> load;
  for (std::uint64_t k = 0; k < 100000; ++k) {
    ++load[ring.lookup(hash_u64(k))];
  }
  REQUIRE(load.size() == 20);
  for (const auto& [m, n] : load) {
    // 5,000 keys each on average; 100 points per member keeps everyone within +-35 %.
    CHECK(n > 3250);
    CHECK(n < 6750);
  }
  // Removing a member moves only its keys.
  std::vector<MemberId> fewer(servers.begin() + 1, servers.end());
  HashRing ring2(fewer, 100);
  int moved = 0;
  for (std::uint64_t k = 0; k < 100000; ++k) {
    const auto before = ring.lookup(hash_u64(k));
    const auto after = ring2.lookup(hash_u64(k));
    if (before != 0) {
      CHECK(before == after);
    }
    moved += before != after ? 1 : 0;
  }
  CHECK(moved == load[0]);
}

TEST_CASE("membership: a view agrees with a naive list of entries under random updates",
          "[ringpop][membership]") {
  // The reference: one Entry per member, SWIM's rule applied by hand, and every derived
  // figure (checksums, counts, the status array) recomputed from scratch after each update.
  constexpr MemberId kN = 12;
  faultline::Rng rng(7);
  Membership view(0, kN);
  std::vector<Entry> naive(kN);
  for (int step = 0; step < 5000; ++step) {
    Change c{static_cast<MemberId>(rng.below(kN)), static_cast<Status>(rng.below(4)),
             static_cast<std::uint32_t>(rng.below(4)), 0, 0};
    const bool forced = rng.below(10) == 0;
    bool changed = true;
    if (forced && c.status != Status::kUnknown) {
      view.force(c.member, c.status, c.incarnation);
      naive[c.member] = {c.status, c.incarnation};
    } else {
      const Entry& e = naive[c.member];
      const bool expect = overrides(e.status, e.incarnation, c.status, c.incarnation);
      changed = view.apply(c);
      REQUIRE(changed == expect);
      if (expect) {
        naive[c.member] = {c.status, c.incarnation};
      }
    }
    std::uint64_t sum = 0;
    std::uint64_t ring = 0;
    std::uint32_t known = 0;
    std::uint32_t up = 0;
    for (MemberId m = 0; m < kN; ++m) {
      const Entry got = view.entry(m);
      REQUIRE(got.status == naive[m].status);
      REQUIRE(view.statuses()[m] == naive[m].status);
      if (naive[m].status != Status::kUnknown) {
        REQUIRE(got.incarnation == naive[m].incarnation);
        sum += Membership::entry_hash(m, naive[m].status, naive[m].incarnation);
        ++known;
      }
      if (pingable(naive[m].status)) {
        ring += Membership::ring_hash(m);
        ++up;
      }
    }
    REQUIRE(view.checksum() == sum);
    REQUIRE(view.ring_checksum() == ring);
    REQUIRE(view.known_count() == known);
    REQUIRE(view.pingable_count() == up);
  }
  // A copy of every entry (how members present at time zero start) keeps its own self.
  Membership copy(5, kN);
  copy.force(3, Status::kFaulty, 9);
  copy.assign_entries(view);
  CHECK(copy.self() == 5);
  CHECK(copy.checksum() == view.checksum());
  CHECK(copy.ring_checksum() == view.ring_checksum());
  CHECK(copy.known_count() == view.known_count());
  CHECK(copy.pingable_count() == view.pingable_count());
  for (MemberId m = 0; m < kN; ++m) {
    CHECK(copy.status(m) == view.status(m));
    CHECK(copy.incarnation(m) == view.incarnation(m));
  }
  CHECK_THROWS(Membership(0, kN + 1).assign_entries(view));
}

TEST_CASE("probe window: the median is nth_element's over the last 16 probes, repeats and all",
          "[ringpop][membership]") {
  // Durations from a few values (many repeats, as a quiet cluster's probes all take one round
  // trip), then from a wide range; the reference keeps the last 16 and selects each time.
  faultline::Rng rng(11);
  ProbeTimeWindow window;
  std::deque<Duration> last(ProbeTimeWindow::kSize, Duration::zero());
  for (int step = 0; step < 20000; ++step) {
    const std::uint64_t spread = step < 10000 ? 4 : 1'000'000;
    const Duration took = Duration::micros(static_cast<std::int64_t>(rng.below(spread)));
    window.push(took);
    last.pop_front();
    last.push_back(took);
    std::vector<Duration> sorted(last.begin(), last.end());
    std::nth_element(sorted.begin(), sorted.begin() + ProbeTimeWindow::kSize / 2, sorted.end());
    REQUIRE(window.median() == sorted[ProbeTimeWindow::kSize / 2]);
  }
}
