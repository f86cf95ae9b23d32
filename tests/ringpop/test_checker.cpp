// The membership checker accepts a correct history and rejects each kind of broken one.
#include "ringpop_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <vector>

using namespace faultline;
using namespace faultline::sim::ringpop;
using namespace faultline::sim::ringpop::testing;

namespace {
MembershipHistory healthy_history() {
  Run r(small_params(6));
  r.world->faults().schedule(
      {.at = Duration::seconds(2), .kind = world::FaultKind::kCrash, .target = Run::node(2), .peer = {}});
  r.run_for(Duration::seconds(30));
  return record_history(*r.cluster, 32);
}
}  // namespace

TEST_CASE("membership checker: a correct run passes", "[ringpop][checker]") {
  const auto h = healthy_history();
  REQUIRE_FALSE(h.declarations.empty());
  const auto v = check_membership(h);
  INFO(v.summary);
  CHECK(v.ok);
}

TEST_CASE("membership checker: rejects a member that declares itself faulty",
          "[ringpop][checker]") {
  auto h = healthy_history();
  h.declarations.push_back({Time::zero(), 3, 3, Status::kFaulty, 1});
  const auto v = check_membership(h);
  CHECK_FALSE(v.ok);
  CHECK(v.summary.find("1 self-declarations") != std::string::npos);
}

TEST_CASE("membership checker: rejects live members that disagree", "[ringpop][checker]") {
  auto h = healthy_history();
  h.final_views[4].checksum ^= 1;
  CHECK_FALSE(check_membership(h).ok);
}

TEST_CASE("membership checker: rejects a view that holds a live member faulty or a dead one alive",
          "[ringpop][checker]") {
  auto h = healthy_history();
  h.final_views[0].entries[1].status = Status::kFaulty;  // 1 is up
  CHECK_FALSE(check_membership(h).ok);
  auto h2 = healthy_history();
  h2.final_views[0].entries[2].status = Status::kAlive;  // 2 crashed
  CHECK_FALSE(check_membership(h2).ok);
}

TEST_CASE("membership checker: rejects a ring owner its membership does not give",
          "[ringpop][checker]") {
  auto h = healthy_history();
  REQUIRE_FALSE(h.ownership.empty());
  auto& o = h.ownership[5];
  o.owner = o.owner == 0 ? 1 : 0;
  CHECK_FALSE(check_membership(h).ok);
  // A ring built from a stale server set (it still holds the dead member) is caught as well.
  auto h2 = healthy_history();
  bool caught = false;
  for (auto& s : h2.ownership) {
    auto stale = *s.servers;
    stale.push_back(2);
    std::sort(stale.begin(), stale.end());
    s.servers = std::make_shared<const std::vector<MemberId>>(std::move(stale));
  }
  caught = !check_membership(h2).ok;
  CHECK(caught);
}

TEST_CASE("membership history: members that agree share one server list, so it stays small at scale",
          "[ringpop][checker]") {
  // At 10,000 members and 64 keys a list per sample was 25 GB (the at-scale scenario was
  // killed for memory); a list per distinct server set is one list in a converged cluster.
  const auto h = healthy_history();  // 6 members, one crashed and held faulty by all 5 others
  REQUIRE(h.ownership.size() == 5 * 32);
  std::vector<const std::vector<MemberId>*> lists;
  for (const auto& o : h.ownership) {
    REQUIRE(o.servers != nullptr);
    if (std::find(lists.begin(), lists.end(), o.servers.get()) == lists.end()) {
      lists.push_back(o.servers.get());
    }
  }
  CHECK(lists.size() == 1);
  CHECK(*lists.front() == std::vector<MemberId>{0, 1, 3, 4, 5});
}
