#include <faultline/sim/services/leaf_profile.hpp>

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace faultline::sim::services {

namespace {

// log(ms) on the line through two knots in (log survival, log ms), at survival s.
double on_segment(const TailAtScaleProfile::Knot& a, const TailAtScaleProfile::Knot& b,
                  double s) {
  const double t = (std::log(s) - std::log(a.survival)) /
                   (std::log(b.survival) - std::log(a.survival));
  return std::exp(std::log(a.ms) + t * (std::log(b.ms) - std::log(a.ms)));
}

}  // namespace

TailAtScaleProfile::TailAtScaleProfile(int leaves) : leaves_(leaves) {
  if (leaves < kMinLeaves || leaves > kMaxLeaves) {
    throw std::invalid_argument(fmt::format(
        "tail-at-scale leaves must be in [{}, {}] (got {}): with fewer leaves the all-leaves "
        "median of Table 1 would fall below the one-leaf p99",
        kMinLeaves, kMaxLeaves, leaves));
  }
  using T = TailAtScaleTable1;
  std::vector<Knot> mid;
  for (int i = 0; i < 3; ++i) {
    mid.push_back({1.0 - T::kPercentiles[i], T::kOneLeafMs[i]});
  }
  // max of n independent draws <= x with probability p  <=>  F(x) = p^(1/n).
  for (int i = 0; i < 3; ++i) {
    const double q = std::pow(T::kPercentiles[i], 1.0 / static_cast<double>(leaves));
    mid.push_back({1.0 - q, T::kAllLeavesMs[i]});
  }
  knots_.push_back({1.0, on_segment(mid[0], mid[1], 1.0)});
  knots_.insert(knots_.end(), mid.begin(), mid.end());
  const Knot& a = mid[mid.size() - 2];
  const Knot& b = mid.back();
  knots_.push_back({kTailCapSurvival, on_segment(a, b, kTailCapSurvival)});
  for (std::size_t i = 1; i < knots_.size(); ++i) {
    if (!(knots_[i].survival < knots_[i - 1].survival && knots_[i].ms > knots_[i - 1].ms)) {
      throw std::logic_error("tail-at-scale profile: knots are not monotone");
    }
  }
}

Duration TailAtScaleProfile::quantile(double u) const {
  const double s = 1.0 - u;
  if (s >= 1.0) {
    return Duration::from_seconds(knots_.front().ms * 1e-3);
  }
  for (std::size_t i = 1; i < knots_.size(); ++i) {
    if (s >= knots_[i].survival) {
      return Duration::from_seconds(on_segment(knots_[i - 1], knots_[i], s) * 1e-3);
    }
  }
  return Duration::from_seconds(knots_.back().ms * 1e-3);  // the capped tail
}

}  // namespace faultline::sim::services
