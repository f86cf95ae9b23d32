// Simulated time: strong integer-nanosecond types.
//
// `Duration` is a signed span of nanoseconds; `Time` is an instant on the simulation's true
// timeline (nanoseconds since the simulation started). They are distinct types so that adding
// two instants or passing a span where an instant is meant does not compile. `UtcInstant`
// anchors the simulation to the civil calendar: a Simulation has an epoch, so "2012-06-30
// 23:59:59 UTC" is a definite point of its timeline.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace faultline {

class Duration {
public:
  constexpr Duration() = default;
  static constexpr Duration nanos(std::int64_t n) { return Duration{n}; }
  static constexpr Duration micros(std::int64_t n) { return Duration{n * 1'000}; }
  static constexpr Duration millis(std::int64_t n) { return Duration{n * 1'000'000}; }
  static constexpr Duration seconds(std::int64_t n) { return Duration{n * 1'000'000'000}; }
  static constexpr Duration minutes(std::int64_t n) { return seconds(n * 60); }
  static constexpr Duration hours(std::int64_t n) { return seconds(n * 3600); }
  /// Rounds to the nearest nanosecond; use for values computed in floating point.
  static Duration from_seconds(double s);
  static constexpr Duration zero() { return Duration{0}; }
  static constexpr Duration max() { return Duration{std::numeric_limits<std::int64_t>::max()}; }

  constexpr std::int64_t ns() const { return ns_; }
  constexpr double to_seconds() const { return static_cast<double>(ns_) * 1e-9; }
  constexpr double to_millis() const { return static_cast<double>(ns_) * 1e-6; }

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return Duration{ns_ + o.ns_}; }
  constexpr Duration operator-(Duration o) const { return Duration{ns_ - o.ns_}; }
  constexpr Duration operator-() const { return Duration{-ns_}; }
  constexpr Duration operator*(std::int64_t k) const { return Duration{ns_ * k}; }
  constexpr Duration operator/(std::int64_t k) const { return Duration{ns_ / k}; }
  constexpr std::int64_t operator/(Duration o) const { return ns_ / o.ns_; }
  constexpr Duration operator%(Duration o) const { return Duration{ns_ % o.ns_}; }
  constexpr Duration& operator+=(Duration o) { ns_ += o.ns_; return *this; }
  constexpr Duration& operator-=(Duration o) { ns_ -= o.ns_; return *this; }

  /// Parses "250ms", "1.5s", "6h", "2h19m", "90us", "10ns", "1d". Returns nullopt on bad
  /// input and on a duration int64 nanoseconds cannot hold (past about 106,751 days);
  /// scenario code turns that into an error naming the place.
  static std::optional<Duration> parse(std::string_view text);
  /// Shortest exact-ish human form: "250ms", "1.5s", "2h19m".
  std::string to_string() const;

private:
  constexpr explicit Duration(std::int64_t n) : ns_(n) {}
  std::int64_t ns_ = 0;
};

constexpr Duration operator*(std::int64_t k, Duration d) { return d * k; }

/// An instant of true simulated time, nanoseconds since the simulation began.
class Time {
public:
  constexpr Time() = default;
  static constexpr Time from_ns(std::int64_t n) { return Time{n}; }
  static constexpr Time zero() { return Time{0}; }
  static constexpr Time max() { return Time{std::numeric_limits<std::int64_t>::max()}; }

  constexpr std::int64_t ns() const { return ns_; }
  constexpr Duration since_start() const { return Duration::nanos(ns_); }
  constexpr double to_seconds() const { return static_cast<double>(ns_) * 1e-9; }

  constexpr auto operator<=>(const Time&) const = default;
  constexpr Time operator+(Duration d) const { return Time{ns_ + d.ns()}; }
  constexpr Time operator-(Duration d) const { return Time{ns_ - d.ns()}; }
  constexpr Duration operator-(Time o) const { return Duration::nanos(ns_ - o.ns_); }
  constexpr Time& operator+=(Duration d) { ns_ += d.ns(); return *this; }

  std::string to_string() const;

private:
  constexpr explicit Time(std::int64_t n) : ns_(n) {}
  std::int64_t ns_ = 0;
};

inline namespace literals {
constexpr Duration operator""_ns(unsigned long long n) { return Duration::nanos(static_cast<std::int64_t>(n)); }
constexpr Duration operator""_us(unsigned long long n) { return Duration::micros(static_cast<std::int64_t>(n)); }
constexpr Duration operator""_ms(unsigned long long n) { return Duration::millis(static_cast<std::int64_t>(n)); }
constexpr Duration operator""_s(unsigned long long n) { return Duration::seconds(static_cast<std::int64_t>(n)); }
constexpr Duration operator""_min(unsigned long long n) { return Duration::minutes(static_cast<std::int64_t>(n)); }
constexpr Duration operator""_h(unsigned long long n) { return Duration::hours(static_cast<std::int64_t>(n)); }
}  // namespace literals

/// A UTC instant as POSIX time (nanoseconds since 1970-01-01T00:00:00Z, leap seconds not
/// counted), the way `CLOCK_REALTIME` numbers it. Inserted leap seconds are the business of
/// the world layer's clocks, which know when 23:59:60 happens.
class UtcInstant {
public:
  constexpr UtcInstant() = default;
  static constexpr UtcInstant from_unix_ns(std::int64_t n) { return UtcInstant{n}; }
  /// Builds from a civil date and time (proleptic Gregorian). No validation beyond ranges.
  static UtcInstant from_civil(int year, int month, int day, int hour = 0, int minute = 0,
                               int second = 0, std::int64_t nanos = 0);
  /// Parses ISO 8601 "2012-06-30T23:59:59Z" or with a fraction "…59.250Z". Returns nullopt on
  /// bad input and on instants int64 nanoseconds since 1970 cannot hold (before 1677-09-21 or
  /// after 2262-04-11).
  static std::optional<UtcInstant> parse(std::string_view text);

  constexpr std::int64_t unix_ns() const { return ns_; }
  constexpr auto operator<=>(const UtcInstant&) const = default;
  constexpr UtcInstant operator+(Duration d) const { return UtcInstant{ns_ + d.ns()}; }
  constexpr UtcInstant operator-(Duration d) const { return UtcInstant{ns_ - d.ns()}; }
  constexpr Duration operator-(UtcInstant o) const { return Duration::nanos(ns_ - o.ns_); }

  /// ISO 8601 with millisecond precision: "2012-06-30T23:59:59.000Z".
  std::string to_string() const;

private:
  constexpr explicit UtcInstant(std::int64_t n) : ns_(n) {}
  std::int64_t ns_ = 0;
};

}  // namespace faultline

template <>
struct fmt::formatter<faultline::Duration> : fmt::formatter<std::string_view> {
  auto format(faultline::Duration d, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(d.to_string(), ctx);
  }
};
template <>
struct fmt::formatter<faultline::Time> : fmt::formatter<std::string_view> {
  auto format(faultline::Time t, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(t.to_string(), ctx);
  }
};
template <>
struct fmt::formatter<faultline::UtcInstant> : fmt::formatter<std::string_view> {
  auto format(faultline::UtcInstant t, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(t.to_string(), ctx);
  }
};
