// Duration and UTC parsing/formatting. Pure integer arithmetic except Duration::from_seconds.
#include <faultline/time.hpp>

#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace faultline {

Duration Duration::from_seconds(double s) {
  return Duration{static_cast<std::int64_t>(std::llround(s * 1e9))};
}

namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t ns;
  // ns == mantissa * 10^exponent, so a fraction of the unit scales without overflow.
  std::int64_t mantissa;
  int exponent;
};
// Longest suffix first so that "ms" is not read as "m" followed by junk.
constexpr std::array<Unit, 8> kUnits{{{"min", 60'000'000'000, 6, 10},
                                      {"ms", 1'000'000, 1, 6},
                                      {"us", 1'000, 1, 3},
                                      {"ns", 1, 1, 0},
                                      {"h", 3'600'000'000'000, 36, 11},
                                      {"m", 60'000'000'000, 6, 10},
                                      {"s", 1'000'000'000, 1, 9},
                                      {"d", 86'400'000'000'000, 864, 11}}};

constexpr std::int64_t kMaxNs = std::numeric_limits<std::int64_t>::max();

std::int64_t pow10(int e) {
  std::int64_t p = 1;
  for (int i = 0; i < e; ++i) {
    p *= 10;
  }
  return p;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<Duration> Duration::parse(std::string_view text) {
  // A sequence of <number><unit> groups: "2h19m", "1.5s", "250ms". Fractions are exact to the
  // nanosecond because they are accumulated as integers.
  if (text.empty()) {
    return std::nullopt;
  }
  bool negative = false;
  if (text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  // Every step is checked: a sum or product past int64 nanoseconds (about 292 years) is not a
  // duration, never a wrapped one.
  std::int64_t total = 0;
  bool any = false;
  while (!text.empty()) {
    std::int64_t whole = 0;
    std::int64_t frac = 0;  // the first `frac_digits` digits after the point
    int frac_digits = 0;
    std::size_t i = 0;
    while (i < text.size() && is_digit(text[i])) {
      const int digit = text[i] - '0';
      if (whole > (kMaxNs - digit) / 10) {
        return std::nullopt;
      }
      whole = whole * 10 + digit;
      ++i;
    }
    std::size_t digits = i;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && is_digit(text[i])) {
        // 13 digits resolve a nanosecond of a day; later ones cannot change the result.
        if (frac_digits < 13) {
          frac = frac * 10 + (text[i] - '0');
          ++frac_digits;
        }
        ++i;
        ++digits;
      }
    }
    if (digits == 0) {
      return std::nullopt;
    }
    text.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (text.substr(0, u.suffix.size()) == u.suffix) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return std::nullopt;
    }
    text.remove_prefix(unit->suffix.size());
    if (whole > kMaxNs / unit->ns) {
      return std::nullopt;
    }
    // frac / 10^digits of a unit, truncated to whole nanoseconds: frac * mantissa stays below
    // 10^13 * 864, and the result below one unit.
    std::int64_t part = frac * unit->mantissa;
    if (unit->exponent >= frac_digits) {
      part *= pow10(unit->exponent - frac_digits);
    } else {
      part /= pow10(frac_digits - unit->exponent);
    }
    const std::int64_t group = whole * unit->ns;
    if (group > kMaxNs - part || total > kMaxNs - (group + part)) {
      return std::nullopt;
    }
    total += group + part;
    any = true;
  }
  if (!any) {
    return std::nullopt;
  }
  return Duration{negative ? -total : total};
}

std::string Duration::to_string() const {
  std::int64_t n = ns_;
  if (n == 0) {
    return "0s";
  }
  std::string sign = n < 0 ? "-" : "";
  std::uint64_t a = n < 0 ? static_cast<std::uint64_t>(-(n + 1)) + 1 : static_cast<std::uint64_t>(n);
  constexpr std::uint64_t kS = 1'000'000'000;
  if (a >= 3600 * kS && a % (60 * kS) == 0) {
    std::uint64_t h = a / (3600 * kS);
    std::uint64_t m = (a / (60 * kS)) % 60;
    return m == 0 ? fmt::format("{}{}h", sign, h) : fmt::format("{}{}h{}m", sign, h, m);
  }
  if (a >= 60 * kS && a % (60 * kS) == 0) {
    return fmt::format("{}{}m", sign, a / (60 * kS));
  }
  auto trimmed = [&](std::uint64_t unit, const char* suffix) {
    std::string s = fmt::format("{}", static_cast<double>(a) / static_cast<double>(unit));
    return fmt::format("{}{}{}", sign, s, suffix);
  };
  if (a >= kS) {
    return trimmed(kS, "s");
  }
  if (a >= 1'000'000) {
    return trimmed(1'000'000, "ms");
  }
  if (a >= 1'000) {
    return trimmed(1'000, "us");
  }
  return fmt::format("{}{}ns", sign, a);
}

std::string Time::to_string() const { return "T+" + Duration::nanos(ns_).to_string(); }

namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (the era-based method described in
// H. Hinnant's "chrono-compatible low-level date algorithms").
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

UtcInstant UtcInstant::from_civil(int year, int month, int day, int hour, int minute, int second,
                                  std::int64_t nanos) {
  std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second;
  return UtcInstant{secs * 1'000'000'000 + nanos};
}

std::optional<UtcInstant> UtcInstant::parse(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fff…]Z
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    if (pos + len > t.size()) {
      return false;
    }
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (!is_digit(t[i])) {
        return false;
      }
      v = v * 10 + (t[i] - '0');
    }
    out = v;
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (t.size() < 20 || !num(0, 4, y) || t[4] != '-' || !num(5, 2, mo) || t[7] != '-' ||
      !num(8, 2, d) || (t[10] != 'T' && t[10] != ' ') || !num(11, 2, h) || t[13] != ':' ||
      !num(14, 2, mi) || t[16] != ':' || !num(17, 2, s)) {
    return std::nullopt;
  }
  std::size_t i = 19;
  std::int64_t nanos = 0;
  if (t[i] == '.') {
    ++i;
    std::int64_t scale = 100'000'000;
    std::size_t start = i;
    while (i < t.size() && is_digit(t[i])) {
      nanos += (t[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) {
      return std::nullopt;
    }
  }
  if (i + 1 != t.size() || t[i] != 'Z') {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || h > 23 || mi > 59 || s > 59) {
    return std::nullopt;
  }
  // Four-digit years fit in int64 seconds; only nanoseconds since 1970 can overflow.
  const std::int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) *
                                86400 +
                            h * 3600 + mi * 60 + s;
  constexpr std::int64_t kNsPerS = 1'000'000'000;
  if (secs < std::numeric_limits<std::int64_t>::min() / kNsPerS + 1 ||
      secs > (std::numeric_limits<std::int64_t>::max() - nanos) / kNsPerS - 1) {
    return std::nullopt;
  }
  return from_civil(y, mo, d, h, mi, s, nanos);
}

std::string UtcInstant::to_string() const {
  std::int64_t secs = floor_div(ns_, 1'000'000'000);
  std::int64_t sub = ns_ - secs * 1'000'000'000;
  std::int64_t days = floor_div(secs, 86400);
  std::int64_t sod = secs - days * 86400;
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", y, m, d, sod / 3600,
                     (sod / 60) % 60, sod % 60, sub / 1'000'000);
}

}  // namespace faultline
