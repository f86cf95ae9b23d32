#include <catch2/catch.hpp>

#include <faultline/sim/dynamo/cart_checker.hpp>
#include <faultline/sim/dynamo/merkle.hpp>
#include <faultline/sim/dynamo/vector_clock.hpp>
#include <faultline/sim/dynamo/versions.hpp>

using namespace faultline;
using namespace faultline::sim::dynamo;

namespace {
VectorClock clock_of(std::initializer_list<std::pair<std::uint32_t, int>> bumps) {
  VectorClock c;
  std::int64_t ts = 0;
  for (auto [node, times] : bumps) {
    for (int i = 0; i < times; ++i) {
      c.increment(node, ++ts);
    }
  }
  return c;
}
}  // namespace

TEST_CASE("vector clock: ancestors, descendants and conflicts", "[dynamo][clock]") {
  // The paper's example: D1 [Sx:1] → D2 [Sx:2] → D3 [Sx:2,Sy:1] and D4 [Sx:2,Sz:1] conflict;
  // D5 [Sx:3,Sy:1,Sz:1] reconciles them.
  auto d1 = clock_of({{0, 1}});
  auto d2 = clock_of({{0, 2}});
  auto d3 = clock_of({{0, 2}, {1, 1}});
  auto d4 = clock_of({{0, 2}, {2, 1}});
  auto d5 = VectorClock::merge(d3, d4);
  d5.increment(0, 100);
  REQUIRE(VectorClock::compare(d1, d2) == ClockOrder::kBefore);
  REQUIRE(VectorClock::compare(d2, d1) == ClockOrder::kAfter);
  REQUIRE(VectorClock::compare(d2, d2) == ClockOrder::kEqual);
  REQUIRE(VectorClock::compare(d3, d4) == ClockOrder::kConcurrent);
  REQUIRE(VectorClock::compare(d4, d3) == ClockOrder::kConcurrent);
  REQUIRE(VectorClock::compare(d5, d3) == ClockOrder::kAfter);
  REQUIRE(VectorClock::compare(d5, d4) == ClockOrder::kAfter);
  REQUIRE(VectorClock::compare(VectorClock{}, d1) == ClockOrder::kBefore);
  REQUIRE(d5.counter(0) == 3);
  REQUIRE(d5.to_string() == "[n0:3, n1:1, n2:1]");
}

TEST_CASE("vector clock: truncation drops the oldest entry past the threshold",
          "[dynamo][clock]") {
  VectorClock c;
  for (std::uint32_t n = 0; n < 12; ++n) {
    c.increment(n, 1000 + n, 10);
  }
  REQUIRE(c.size() == 10);
  REQUIRE(c.counter(0) == 0);  // oldest two gone
  REQUIRE(c.counter(1) == 0);
  REQUIRE(c.counter(11) == 1);
  // A truncated descendant can look concurrent with its ancestor: a false conflict, which
  // keeps both versions (never loses one).
  VectorClock full;
  for (std::uint32_t n = 0; n < 10; ++n) {
    full.increment(n, 1000 + n);
  }
  VectorClock trunc = full;
  trunc.increment(10, 2000, 10);
  REQUIRE(VectorClock::compare(trunc, full) == ClockOrder::kConcurrent);
  VectorClock untrunc = full;
  untrunc.increment(10, 2000, 0);
  REQUIRE(VectorClock::compare(untrunc, full) == ClockOrder::kAfter);
}

TEST_CASE("versions: replicas keep concurrent siblings and drop ancestors", "[dynamo][clock]") {
  std::vector<Version> vs;
  Version base{clock_of({{0, 1}}), 0, {"a"}, 1, 0};
  Version left{clock_of({{0, 1}, {1, 1}}), 0, {"a", "b"}, 3, 1};
  Version right{clock_of({{0, 1}, {2, 1}}), 0, {"a", "c"}, 2, 2};
  REQUIRE(apply_version(vs, base, Reconcile::kUnion));
  REQUIRE(apply_version(vs, left, Reconcile::kUnion));
  REQUIRE(vs.size() == 1);  // base is an ancestor of left
  REQUIRE_FALSE(apply_version(vs, base, Reconcile::kUnion));
  REQUIRE(apply_version(vs, right, Reconcile::kUnion));
  REQUIRE(vs.size() == 2);
  Reconciled r = reconcile(vs, Reconcile::kUnion);
  REQUIRE(r.items == std::vector<std::string>{"a", "b", "c"});
  REQUIRE(r.siblings == 2);
  REQUIRE(VectorClock::descends(r.context, left.clock));
  REQUIRE(VectorClock::descends(r.context, right.clock));
}

TEST_CASE("versions: two writes from one writer on the same context both survive",
          "[dynamo][clock]") {
  // With one counter per coordinator the second write would get [X:2] and look like a
  // descendant of the first ([X:1]) although it never saw it; with a dot per write it does
  // not, and the union keeps both items.
  const std::uint64_t w = std::uint64_t{7} << 32;
  VectorClock ctx;
  Version first{ctx, w | 1, {"a"}, 1, 7};
  first.clock.add_dot(7, 1, 1);
  Version second{ctx, w | 2, {"b"}, 2, 7};
  second.clock.add_dot(7, 2, 2);
  std::vector<Version> vs;
  apply_version(vs, first, Reconcile::kUnion);
  apply_version(vs, second, Reconcile::kUnion);
  REQUIRE(vs.size() == 2);
  Reconciled r = reconcile(vs, Reconcile::kUnion);
  REQUIRE(r.items == std::vector<std::string>{"a", "b"});
  // A write that saw both supersedes both.
  Version third{r.context, w | 3, {"a", "b", "c"}, 3, 7};
  third.clock.add_dot(7, 3, 3);
  apply_version(vs, third, Reconcile::kUnion);
  REQUIRE(vs.size() == 1);
  REQUIRE(supersedes(third, first));
  REQUIRE_FALSE(supersedes(first, third));
  // A write that saw only the first leaves the second as a sibling.
  std::vector<Version> ws{first, second};
  Version partial{first.clock, w | 4, {"a", "d"}, 4, 7};
  partial.clock.add_dot(7, 4, 4);
  apply_version(ws, partial, Reconcile::kUnion);
  REQUIRE(ws.size() == 2);
  REQUIRE(reconcile(ws, Reconcile::kUnion).items == std::vector<std::string>{"a", "b", "d"});
}

TEST_CASE("versions: union merge keeps every add, last-writer-wins loses concurrent adds",
          "[dynamo][cart]") {
  Version base{clock_of({{0, 1}}), 0, {"a"}, 1, 0};
  Version add_b{clock_of({{0, 1}, {1, 1}}), 0, {"a", "b"}, 3, 1};
  Version add_c{clock_of({{0, 1}, {2, 1}}), 0, {"a", "c"}, 2, 2};
  std::vector<Version> u;
  std::vector<Version> l;
  for (const auto* v : {&base, &add_b, &add_c}) {
    apply_version(u, *v, Reconcile::kUnion);
    apply_version(l, *v, Reconcile::kLastWriterWins);
  }
  REQUIRE(reconcile(u, Reconcile::kUnion).items == std::vector<std::string>{"a", "b", "c"});
  REQUIRE(l.size() == 1);
  REQUIRE(reconcile(l, Reconcile::kLastWriterWins).items == std::vector<std::string>{"a", "b"});
  // Order of arrival does not change the winner.
  std::vector<Version> l2;
  for (const auto* v : {&add_c, &base, &add_b}) {
    apply_version(l2, *v, Reconcile::kLastWriterWins);
  }
  REQUIRE(l2 == l);
}

TEST_CASE("cart checker: rejects a history whose acknowledged add is missing", "[dynamo][cart]") {
  std::vector<CartOp> history{
      {CartOp::Kind::kAdd, "cart-0", "x", Time::zero() + Duration::seconds(1), true},
      {CartOp::Kind::kAdd, "cart-0", "y", Time::zero() + Duration::seconds(2), true},
      {CartOp::Kind::kAdd, "cart-0", "z", Time::zero() + Duration::seconds(3), false},
  };
  std::map<std::string, std::vector<std::string>> carts{{"cart-0", {"x"}}};
  auto broken = check_cart_adds_kept(history, carts);
  REQUIRE_FALSE(broken.ok);
  REQUIRE(broken.checker == "cart-adds-kept");
  REQUIRE(broken.details.find("cart-0/y") != std::string::npos);
  REQUIRE(audit_carts(history, carts).lost_adds == 1);
  // A failed add may be absent; with y present the history passes.
  carts["cart-0"] = {"x", "y"};
  REQUIRE(check_cart_adds_kept(history, carts).ok);
  // A missing cart counts as empty.
  REQUIRE(audit_carts(history, {}).lost_adds == 2);
}

TEST_CASE("cart checker: a later remove excuses an absent item; resurfaced removes are counted",
          "[dynamo][cart]") {
  std::vector<CartOp> history{
      {CartOp::Kind::kAdd, "c", "x", Time::zero() + Duration::seconds(1), true},
      {CartOp::Kind::kRemove, "c", "x", Time::zero() + Duration::seconds(2), false},
      {CartOp::Kind::kAdd, "c", "y", Time::zero() + Duration::seconds(3), true},
      {CartOp::Kind::kRemove, "c", "y", Time::zero() + Duration::seconds(4), true},
  };
  auto a = audit_carts(history, {{"c", {"y"}}});
  REQUIRE(a.lost_adds == 0);
  REQUIRE(a.acknowledged_removes == 1);
  REQUIRE(a.resurfaced_removes == 1);
  // A remove invoked BEFORE the add does not excuse it.
  std::vector<CartOp> early{
      {CartOp::Kind::kRemove, "c", "x", Time::zero() + Duration::seconds(1), true},
      {CartOp::Kind::kAdd, "c", "x", Time::zero() + Duration::seconds(2), true},
  };
  REQUIRE(audit_carts(early, {{"c", {}}}).lost_adds == 1);
}

TEST_CASE("merkle: equal content gives equal roots; one changed key changes one leaf path",
          "[dynamo][merkle]") {
  MerkleTree a(4);
  MerkleTree b(4);
  for (int k = 0; k < 100; ++k) {
    const std::string key = "k" + std::to_string(k);
    a.add(key, static_cast<std::uint64_t>(k));
    b.add(key, static_cast<std::uint64_t>(k == 42 ? 4242 : k));
  }
  a.build();
  b.build();
  REQUIRE(a.root() != b.root());
  std::size_t differing_leaves = 0;
  for (std::size_t l = 0; l < a.leaves(); ++l) {
    differing_leaves += a.hash(4, l) != b.hash(4, l) ? 1 : 0;
  }
  REQUIRE(differing_leaves == 1);
  REQUIRE(a.hash(4, a.leaf_of("k42")) != b.hash(4, b.leaf_of("k42")));
  MerkleTree c(4);
  for (int k = 0; k < 100; ++k) {
    c.add("k" + std::to_string(k), static_cast<std::uint64_t>(k));
  }
  c.build();
  REQUIRE(c.root() == a.root());
}

TEST_CASE("vector clock: dots fold into counters once contiguous; truncation keeps the writer",
          "[dynamo][clock]") {
  VectorClock c;
  c.add_dot(3, 2, 20);
  REQUIRE(c.counter(3) == 0);
  REQUIRE(c.contains(3, 2));
  REQUIRE_FALSE(c.contains(3, 1));  // event 1 of node 3 was never seen
  REQUIRE(c.to_string() == "[n3@2]");
  c.add_dot(3, 1, 10);
  REQUIRE(c.counter(3) == 2);
  REQUIRE(c.dots().empty());
  // Merging two sibling histories gives one that has seen both.
  VectorClock a;
  a.add_dot(1, 1, 1);
  VectorClock b;
  b.add_dot(1, 2, 2);
  VectorClock m = VectorClock::merge(a, b);
  REQUIRE(m.counter(1) == 2);
  REQUIRE(VectorClock::compare(m, a) == ClockOrder::kAfter);
  REQUIRE(VectorClock::compare(a, b) == ClockOrder::kConcurrent);
  // Truncation at 3 nodes drops the node whose latest event is oldest, never the writer.
  VectorClock t;
  for (std::uint64_t n = 0; n < 5; ++n) {
    t.add_dot(n, 1, static_cast<std::int64_t>(100 - n), 3);  // node 4 is the oldest event
  }
  REQUIRE(t.size() == 3);
  REQUIRE(t.contains(4, 1));  // the writer of the last event stays
  REQUIRE_FALSE(t.contains(3, 1));
  REQUIRE_FALSE(t.contains(2, 1));
}

TEST_CASE("versions: a write that missed a sibling never supersedes it, even on a hot key",
          "[dynamo][cart]") {
  // Writer 1 writes its k-th version from the context it read; one replica keeps an old
  // sibling from writer 2 that writer 1 never saw. However many writes follow, the sibling
  // stays until a write that saw it.
  std::vector<Version> replica;
  Version other;
  other.clock.add_dot(2, 1, 1, 10);
  other.dot = (std::uint64_t{2} << 32) | 1;
  other.items = {"from-2"};
  apply_version(replica, other, Reconcile::kUnion);
  VectorClock ctx;
  for (std::uint64_t k = 1; k <= 30; ++k) {
    Version v;
    v.clock = ctx;
    v.clock.add_dot(1, k, static_cast<std::int64_t>(10 + k), 10);
    v.dot = (std::uint64_t{1} << 32) | k;
    v.items = {"from-1"};
    apply_version(replica, v, Reconcile::kUnion);
    ctx = v.clock;
  }
  REQUIRE(replica.size() == 2);
  Reconciled r = reconcile(replica, Reconcile::kUnion);
  REQUIRE(r.items == std::vector<std::string>{"from-1", "from-2"});
  Version merged;
  merged.clock = r.context;
  merged.clock.add_dot(1, 31, 100, 10);
  merged.dot = (std::uint64_t{1} << 32) | 31;
  merged.items = r.items;
  apply_version(replica, merged, Reconcile::kUnion);
  REQUIRE(replica.size() == 1);
}
