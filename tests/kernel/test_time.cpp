#include <faultline/time.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::literals;

TEST_CASE("time: literals and arithmetic are exact nanoseconds", "[kernel][time]") {
  CHECK((1_s).ns() == 1'000'000'000);
  CHECK((250_ms).ns() == 250'000'000);
  CHECK((3_us + 2_ns).ns() == 3'002);
  CHECK((2_h).ns() == 7'200'000'000'000);
  CHECK(Time::zero() + 5_s - 2_s == Time::from_ns(3'000'000'000));
  CHECK(Time::from_ns(10) - Time::from_ns(4) == 6_ns);
  CHECK(1_s / 250_ms == 4);
  CHECK(10_ms * 3 == 30_ms);
  CHECK(Duration::from_seconds(1.5) == 1500_ms);
}

TEST_CASE("time: durations parse from scenario strings", "[kernel][time]") {
  CHECK(Duration::parse("250ms") == 250_ms);
  CHECK(Duration::parse("1.5s") == 1500_ms);
  CHECK(Duration::parse("6h") == 6_h);
  CHECK(Duration::parse("2h19m") == 2_h + 19_min);
  CHECK(Duration::parse("90us") == 90_us);
  CHECK(Duration::parse("10ns") == 10_ns);
  CHECK(Duration::parse("1d") == 24_h);
  CHECK(Duration::parse("5min") == 5_min);
  CHECK(Duration::parse("0.000000001s") == 1_ns);
  CHECK(Duration::parse("-3s") == -(3_s));
}

TEST_CASE("time: malformed durations are rejected, not guessed", "[kernel][time]") {
  for (const char* bad : {"", "ms", "10", "10 ms", "1.5.2s", "abc", "10parsecs", "s10",
                          "99999999999999999999h"}) {
    INFO(bad);
    CHECK_FALSE(Duration::parse(bad).has_value());
  }
}

TEST_CASE("time: durations format back to the short form", "[kernel][time]") {
  CHECK((250_ms).to_string() == "250ms");
  CHECK((1500_ms).to_string() == "1.5s");
  CHECK((2_h + 19_min).to_string() == "2h19m");
  CHECK((6_h).to_string() == "6h");
  CHECK((0_s).to_string() == "0s");
  CHECK(fmt::format("{}", 42_ns) == "42ns");
  CHECK(Duration::parse((2_h + 19_min).to_string()) == 2_h + 19_min);
}

TEST_CASE("time: UTC instants round-trip the civil calendar", "[kernel][time]") {
  auto leap_eve = UtcInstant::parse("2012-06-30T23:59:59Z");
  REQUIRE(leap_eve);
  // 2012-07-01T00:00:00Z is POSIX time 1341100800 (a well-known value: the 2012 leap second).
  CHECK(leap_eve->unix_ns() == (1'341'100'800LL - 1) * 1'000'000'000LL);
  CHECK(leap_eve->to_string() == "2012-06-30T23:59:59.000Z");
  CHECK(UtcInstant::from_civil(1970, 1, 1).unix_ns() == 0);
  CHECK(*leap_eve - Duration::seconds(59) == *UtcInstant::parse("2012-06-30T23:59:00Z"));
  CHECK(UtcInstant::from_civil(2000, 3, 1).to_string() == "2000-03-01T00:00:00.000Z");
  CHECK(UtcInstant::parse("2016-12-31T14:00:00.250Z")->to_string() == "2016-12-31T14:00:00.250Z");
  CHECK(UtcInstant::from_civil(1969, 12, 31, 23, 59, 59).unix_ns() == -1'000'000'000LL);
  CHECK(UtcInstant::from_civil(1969, 12, 31, 23, 59, 59).to_string() == "1969-12-31T23:59:59.000Z");
  CHECK_FALSE(UtcInstant::parse("2012-13-01T00:00:00Z"));
  CHECK_FALSE(UtcInstant::parse("2012-06-30 23:59:59"));
  CHECK_FALSE(UtcInstant::parse("yesterday"));
}
