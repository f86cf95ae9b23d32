// Seeded random streams and our own distributions.
//
// The generator is xoshiro256** seeded through splitmix64 from (root seed, FNV-1a of a stable
// name), so each component owns an independent stream and adding a component perturbs none of
// the others. Distributions are implemented here rather than taken from <random>, whose
// distributions differ between standard libraries; the same seed gives the same draws on every
// machine that has IEEE-754 doubles and a correctly rounded libm (glibc's log/exp/pow).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace faultline {

/// 64-bit FNV-1a; stable across platforms, used for stream names and trace hashing.
constexpr std::uint64_t fnv1a64(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// splitmix64's golden-ratio increment (2^64 / phi, odd).
inline constexpr std::uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

/// splitmix64's output finaliser: a bijection on 64 bits in which every input bit flips about
/// half of the output bits. The one copy of it that every stable hash in the project builds on.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// One step of the splitmix64 generator: advances the state x by the golden gamma and returns
/// the mixed state. Seeds xoshiro; also a small stateful generator for tests.
constexpr std::uint64_t splitmix64(std::uint64_t& x) { return mix64(x += kGoldenGamma); }

/// A stateless hash of one integer: splitmix64's output for the state x (mix64(x + gamma)).
constexpr std::uint64_t hash64(std::uint64_t x) { return mix64(x + kGoldenGamma); }

class Rng {
public:
  /// A generator seeded directly; prefer Simulation::rng(name) in model code.
  explicit Rng(std::uint64_t seed);
  /// The stream for (root seed, name).
  static Rng derive(std::uint64_t root_seed, std::string_view name);
  /// A child stream of this one, for a sub-component ("host/3" → "host/3/cpu").
  Rng fork(std::string_view name) const;

  /// Raw 64 random bits.
  std::uint64_t next_u64();
  /// Uniform integer in [lo, hi], without modulo bias (Lemire's multiply-and-reject).
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi);
  /// Uniform index in [0, n); n > 0.
  std::uint64_t below(std::uint64_t n);
  /// Uniform double in [0, 1), 53 random bits.
  double uniform01();
  double uniform_real(double lo, double hi) { return lo + (hi - lo) * uniform01(); }
  /// True with probability num/den exactly (integer ratio, no floating point).
  bool bernoulli(std::uint64_t num, std::uint64_t den);
  /// Exponential with the given mean (inverse transform).
  double exponential(double mean);
  /// Normal(mean, stddev) by Marsaglia's polar method (one value per call; the pair's second
  /// value is cached, so the stream position depends on the call count only).
  double normal(double mean, double stddev);
  /// exp(Normal(mu, sigma)): mu and sigma are of the underlying normal.
  double lognormal(double mu, double sigma);
  /// Pareto type I with scale x_min and shape alpha.
  double pareto(double x_min, double alpha);

private:
  std::uint64_t s_[4];
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

/// Zipf over ranks 1..n with exponent s (P(k) ∝ 1/k^s), by inverse CDF over a precomputed
/// table: O(n) memory once. A draw starts where the inverse of the CDF's integral approximation
/// puts it and searches outward, so it reads a line or two of the table near the rank it
/// draws, and costs about the same for a thousand keys or a million; the rank drawn is the
/// one a binary search over the whole table gives.
class Zipf {
public:
  Zipf(std::uint64_t n, double s);
  /// A rank in [1, n].
  std::uint64_t operator()(Rng& rng) const { return rank_at(rng.uniform01()); }
  /// The rank whose CDF interval holds u in [0, 1): the first rank whose CDF exceeds u.
  std::uint64_t rank_at(double u) const;
  std::uint64_t n() const { return static_cast<std::uint64_t>(cdf_.size()); }

private:
  double integral(double x) const;

  std::vector<double> cdf_;
  double s_ = 1.0;
  double total_ = 1.0;   // the sum of k^-s over all ranks
  double offset_ = 0.0;  // the sum minus its integral approximation, measured at rank 1000
};

/// Picks index i with probability w[i] / sum(w), integer weights, exact.
class WeightedChoice {
public:
  explicit WeightedChoice(std::span<const std::uint64_t> weights);
  std::size_t operator()(Rng& rng) const;

private:
  std::vector<std::uint64_t> cumulative_;
};

}  // namespace faultline
