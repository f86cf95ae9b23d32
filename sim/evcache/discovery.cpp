#include <faultline/sim/evcache/discovery.hpp>

namespace faultline::sim::evcache {

Registry::Registry(std::size_t servers, Time now) : last_renewal_(servers, now) {}

void Registry::renew(std::size_t server, Time now) { last_renewal_[server] = now; }

std::vector<std::size_t> Registry::evict(Time now, Duration silent_for) {
  std::vector<std::size_t> removed;
  for (std::size_t s = 0; s < last_renewal_.size(); ++s) {
    if (last_renewal_[s] && now - *last_renewal_[s] > silent_for) {
      last_renewal_[s].reset();
      removed.push_back(s);
    }
  }
  return removed;
}

}  // namespace faultline::sim::evcache
