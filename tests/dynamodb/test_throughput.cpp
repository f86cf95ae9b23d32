// DynamoDB's throughput rules against closed-form examples: a partition's share of the
// table's provisioned capacity, burst credit, adaptive capacity's borrowing of unused table
// capacity, the per-partition ceiling, and on-demand's "twice the previous peak".
//
// Every example drives a TableThroughput at a fixed request rate for a fixed time and counts
// what it admitted; the expected numbers are computed by hand in the comments.
#include <faultline/sim/dynamodb/throughput.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::dynamodb;

namespace {

/// Offers `rate_per_s` requests per second, evenly spaced, to `partition` for `seconds`;
/// returns how many were admitted. Other partitions get `others_per_s` each.
struct Offered {
  std::uint64_t admitted = 0;
  std::uint64_t borrowed = 0;
};
Offered offer(TableThroughput& t, int partition, double rate_per_s, double seconds,
              double others_per_s = 0.0, int partitions = 1, Time start = Time::zero()) {
  Offered out;
  const auto step_ns = static_cast<std::int64_t>(1e9 / rate_per_s);
  const auto n = static_cast<std::int64_t>(rate_per_s * seconds);
  std::int64_t other_step = others_per_s > 0 ? static_cast<std::int64_t>(1e9 / others_per_s) : 0;
  std::int64_t next_other = other_step;
  for (std::int64_t i = 1; i <= n; ++i) {
    const std::int64_t at = i * step_ns;
    while (other_step > 0 && next_other <= at) {
      for (int p = 0; p < partitions; ++p) {
        if (p != partition) {
          t.admit(p, start + Duration::nanos(next_other));
        }
      }
      next_other += other_step;
    }
    const Admission a = t.admit(partition, start + Duration::nanos(at));
    if (a != Admission::throttled) {
      ++out.admitted;
    }
    if (a == Admission::borrowed) {
      ++out.borrowed;
    }
  }
  return out;
}

ThroughputParams provisioned(double units, bool adaptive, Duration burst = Duration::zero()) {
  ThroughputParams p;
  p.provisioned_units_per_s = units;
  p.adaptive_capacity = adaptive;
  p.burst_window = burst;
  p.initial_burst_fraction = 0.0;
  return p;
}

}  // namespace

TEST_CASE("throughput: a token bucket refills at its rate up to its capacity",
          "[dynamodb][throughput]") {
  TokenBucket b(10.0, 5.0, 0.0, Time::zero());
  CHECK_FALSE(b.try_take(Time::zero()));
  // 0.35 s at 10/s = 3.5 tokens.
  CHECK(b.available(Time::zero() + Duration::millis(350)) == Approx(3.5));
  CHECK(b.try_take(Time::zero() + Duration::millis(350), 3.0));
  CHECK(b.available(Time::zero() + Duration::millis(350)) == Approx(0.5));
  // Capped at 5 after a long idle time.
  CHECK(b.available(Time::zero() + Duration::seconds(100)) == Approx(5.0));
}

TEST_CASE("throughput: a partition gets its share of the table, and a hot key beyond it is "
          "throttled without adaptive capacity",
          "[dynamodb][throughput]") {
  // 400 units over 4 partitions: 100 per second each; one second of share in the bucket.
  TableThroughput t(provisioned(400, false), 4);
  CHECK(t.share_per_s() == Approx(100.0));
  // 150 requests/s for 10 s on partition 0: 100 initial tokens + 100/s * 10 s = 1100.
  const Offered o = offer(t, 0, 150, 10);
  CHECK(o.admitted == Approx(1100).margin(2));
  CHECK(t.throttled() == Approx(1500 - 1100).margin(2));
}

TEST_CASE("throughput: burst credit keeps up to burst_window of unused share",
          "[dynamodb][throughput]") {
  // 100/s share with a 300 s window: a partition idle for 300 s holds 30,000 units. A 10 s
  // burst at 1,000/s (under the 1,000/s ceiling) is served in full: 10,000 <= 30,000 + 1,000.
  TableThroughput t(provisioned(400, false, Duration::seconds(300)), 4);
  const Offered idle = offer(t, 0, 1, 0);  // nothing
  CHECK(idle.admitted == 0);
  const Offered o = offer(t, 0, 1000, 10, 0.0, 4, Time::zero() + Duration::seconds(300));
  CHECK(o.admitted == Approx(10000).margin(2));
  // Without the idle time the same burst gets one second of share plus 100/s: ~1,100.
  TableThroughput fresh(provisioned(400, false, Duration::seconds(300)), 4);
  CHECK(offer(fresh, 0, 1000, 10).admitted == Approx(1100).margin(2));
}

TEST_CASE("throughput: adaptive capacity lets a hot partition borrow the table's unused "
          "capacity, up to the table's total",
          "[dynamodb][throughput]") {
  // 400 units over 4 partitions, the other three idle. A hot partition at 250/s is served in
  // full (250 <= 400): 100/s from its share, 150/s borrowed.
  TableThroughput t(provisioned(400, true), 4);
  const Offered o = offer(t, 0, 250, 10);
  CHECK(o.admitted == 2500);
  CHECK(o.borrowed == Approx(1500).margin(110));
  // At 500/s it gets the table's 400/s: 400 initial table tokens... the share bucket's own
  // 100-unit second plus the table's 400/s over 10 s, ~4,100-4,500 of 5,000.
  TableThroughput t2(provisioned(400, true), 4);
  const Offered o2 = offer(t2, 0, 500, 10);
  CHECK(o2.admitted >= 4000);
  CHECK(o2.admitted <= 4600);
  CHECK(t2.throttled() >= 400);
}

TEST_CASE("throughput: borrowing stops when the other partitions use their share",
          "[dynamodb][throughput]") {
  // All four partitions busy at their 100/s share: the table's 400/s is used, so the hot one
  // at 250/s gets its share (100 initial + 100/s * 10 s = 1,100) plus at most the table's
  // initial second of capacity (400): 1,100-1,500, against 2,500 borrowed when others idle.
  TableThroughput t(provisioned(400, true), 4);
  const Offered o = offer(t, 0, 250, 10, 100.0, 4);
  CHECK(o.admitted <= 1500);
  CHECK(o.admitted >= 1100);
}

TEST_CASE("throughput: no partition exceeds its hard ceiling, adaptive or not",
          "[dynamodb][throughput]") {
  // One partition, 4,000 units provisioned, 1,000/s ceiling: 1,500/s for 10 s admits
  // 1,000 (initial ceiling tokens) + 1,000/s * 10 s = 11,000.
  auto p = provisioned(4000, true);
  TableThroughput t(p, 1);
  CHECK(offer(t, 0, 1500, 10).admitted == Approx(11000).margin(2));
}

TEST_CASE("throughput: on-demand serves up to twice the previous peak, and the peak grows",
          "[dynamodb][throughput]") {
  ThroughputParams p;
  p.mode = CapacityMode::on_demand;
  p.on_demand_initial_peak_units_per_s = 200;  // a small table, so numbers stay readable
  p.partition_max_units_per_s = 100000;
  TableThroughput t(p, 8);
  CHECK(t.on_demand_limit_per_s() == Approx(400));
  // 300/s (under 2 x 200) is served in full, and lifts the peak to 300: limit 600.
  CHECK(offer(t, 0, 300, 5).admitted == 1500);
  CHECK(t.on_demand_limit_per_s() == Approx(600));
  // A jump to 1,000/s in the first second gets the limit's full bucket (400) plus its refill
  // at 400/s: ~800. That second's 800 becomes the peak, so the next second allows 1,600/s.
  TableThroughput t2(p, 8);
  const Offered o = offer(t2, 0, 1000, 1);
  CHECK(o.admitted == Approx(800).margin(2));
  t2.admit(0, Time::zero() + Duration::millis(1500));
  CHECK(t2.on_demand_limit_per_s() == Approx(1600).margin(4));
}

TEST_CASE("throughput: bad params are refused with the field and the fix",
          "[dynamodb][throughput]") {
  ThroughputParams p;
  p.provisioned_units_per_s = 0;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("provisioned_units_per_s"));
  ThroughputParams q;
  q.initial_burst_fraction = 2;
  CHECK_THROWS_WITH(q.validate(), Catch::Contains("initial_burst_fraction"));
}
