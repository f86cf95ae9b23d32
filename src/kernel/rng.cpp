#include <faultline/assert.hpp>
#include <faultline/rng.hpp>

#include <algorithm>
#include <cmath>

namespace faultline {

namespace {

__extension__ using u128 = unsigned __int128;

constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& s : s_) {
    s = splitmix64(x);
  }
}

Rng Rng::derive(std::uint64_t root_seed, std::string_view name) {
  // Mix the name hash through splitmix so that nearby seeds and similar names decorrelate.
  std::uint64_t x = root_seed ^ 0x6a09e667f3bcc909ULL;
  std::uint64_t a = splitmix64(x);
  return Rng{a ^ fnv1a64(name)};
}

Rng Rng::fork(std::string_view name) const {
  std::uint64_t x = s_[0] ^ rotl(s_[2], 17);
  return Rng{splitmix64(x) ^ fnv1a64(name)};
}

std::uint64_t Rng::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

std::uint64_t Rng::below(std::uint64_t n) {
  FAULTLINE_ASSERT(n > 0, "Rng::below needs n > 0");
  u128 m = static_cast<u128>(next_u64()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<u128>(next_u64()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

std::int64_t Rng::uniform_int(std::int64_t lo, std::int64_t hi) {
  FAULTLINE_ASSERT(lo <= hi, "uniform_int needs lo <= hi");
  const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (span == ~std::uint64_t{0}) {
    return static_cast<std::int64_t>(next_u64());
  }
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + below(span + 1));
}

double Rng::uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

bool Rng::bernoulli(std::uint64_t num, std::uint64_t den) {
  FAULTLINE_ASSERT(den > 0 && num <= den, "bernoulli needs 0 <= num <= den, den > 0");
  if (num == 0) {
    return false;
  }
  if (num == den) {
    return true;
  }
  return below(den) < num;
}

double Rng::exponential(double mean) {
  // 1 - u lies in (0, 1], so the log is finite.
  return -mean * std::log(1.0 - uniform01());
}

double Rng::normal(double mean, double stddev) {
  if (has_spare_) {
    has_spare_ = false;
    return mean + stddev * spare_normal_;
  }
  double u = 0.0, v = 0.0, s = 0.0;
  do {
    u = 2.0 * uniform01() - 1.0;
    v = 2.0 * uniform01() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * std::log(s) / s);
  spare_normal_ = v * f;
  has_spare_ = true;
  return mean + stddev * u * f;
}

double Rng::lognormal(double mu, double sigma) { return std::exp(normal(mu, sigma)); }

double Rng::pareto(double x_min, double alpha) {
  return x_min / std::pow(1.0 - uniform01(), 1.0 / alpha);
}

Zipf::Zipf(std::uint64_t n, double s) : s_(s) {
  FAULTLINE_ASSERT(n > 0, "Zipf needs n > 0");
  cdf_.resize(n);
  double sum = 0.0;
  const std::uint64_t k0 = std::min<std::uint64_t>(n, 1000);
  double sum_k0 = 0.0;
  for (std::uint64_t k = 1; k <= n; ++k) {
    sum += 1.0 / std::pow(static_cast<double>(k), s);
    cdf_[k - 1] = sum;
    if (k == k0) {
      sum_k0 = sum;
    }
  }
  for (auto& c : cdf_) {
    c /= sum;
  }
  cdf_.back() = 1.0;
  total_ = sum;
  // The integral misses a constant that the first ranks contribute; past k0 it is constant
  // to within a small fraction of a rank's weight, so the guess lands within a rank or two.
  offset_ = sum_k0 - integral(static_cast<double>(k0));
}

namespace {
// s = 1 takes the logarithm's branch of the integral below and of its inverse.
bool exponent_is_one(double s) { return std::abs(1.0 - s) < 1e-9; }
}  // namespace

// Sum of k^-s over the first x ranks, by the midpoint rule: the integral of t^-s from 1/2 to
// x + 1/2.
double Zipf::integral(double x) const {
  if (exponent_is_one(s_)) {
    return std::log((x + 0.5) / 0.5);
  }
  return (std::pow(x + 0.5, 1.0 - s_) - std::pow(0.5, 1.0 - s_)) / (1.0 - s_);
}

std::uint64_t Zipf::rank_at(double u) const {
  // Where the answer should be, from the inverse of the integral above; then a galloping
  // search from there for the exact answer, the first CDF entry above u. The guess decides
  // only how far the search walks, never the rank, which is always what a binary search over
  // the whole table gives. A table indexed by u would be read uniformly (a cache miss per draw
  // once it outgrows the cache); the guess reads the CDF where the draw lands, mostly among
  // the first ranks, which stay cached.
  const std::size_t n = cdf_.size();
  const double y = u * total_ - offset_;
  double x;
  if (exponent_is_one(s_)) {
    x = 0.5 * std::exp(y) - 0.5;
  } else {
    const double base = y * (1.0 - s_) + std::pow(0.5, 1.0 - s_);
    x = base > 0.0 ? std::pow(base, 1.0 / (1.0 - s_)) - 0.5 : static_cast<double>(n);
  }
  std::size_t g = 0;
  if (x >= static_cast<double>(n - 1)) {
    g = n - 1;
  } else if (x > 0.0) {
    g = static_cast<std::size_t>(x);
  }
  // Bracket [lo, hi]: every entry before lo is <= u, cdf_[hi] > u (the last entry is 1 > u).
  std::size_t lo = 0;
  std::size_t hi = n - 1;
  if (cdf_[g] > u) {
    hi = g;
    for (std::size_t step = 1;; step *= 2) {
      if (step > hi) {
        break;  // lo stays 0
      }
      const std::size_t c = hi - step;
      if (cdf_[c] <= u) {
        lo = c + 1;
        break;
      }
      hi = c;
    }
  } else {
    lo = g + 1;
    for (std::size_t step = 1;; step *= 2) {
      const std::size_t c = g + step;
      if (c >= n - 1) {
        break;  // hi stays n - 1
      }
      if (cdf_[c] > u) {
        hi = c;
        break;
      }
      lo = c + 1;
    }
  }
  const auto it = std::upper_bound(cdf_.begin() + static_cast<std::ptrdiff_t>(lo),
                                   cdf_.begin() + static_cast<std::ptrdiff_t>(hi), u);
  return static_cast<std::uint64_t>(it - cdf_.begin()) + 1;
}

WeightedChoice::WeightedChoice(std::span<const std::uint64_t> weights) {
  std::uint64_t sum = 0;
  cumulative_.reserve(weights.size());
  for (auto w : weights) {
    sum += w;
    cumulative_.push_back(sum);
  }
  FAULTLINE_ASSERT(sum > 0, "WeightedChoice needs a positive total weight");
}

std::size_t WeightedChoice::operator()(Rng& rng) const {
  const std::uint64_t r = rng.below(cumulative_.back());
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
  return static_cast<std::size_t>(it - cumulative_.begin());
}

}  // namespace faultline
