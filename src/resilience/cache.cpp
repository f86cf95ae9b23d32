#include <faultline/resilience/cache.hpp>

#include "params_error.hpp"

namespace faultline::resilience {

using detail::bad_param;

void CacheParams::validate() const {
  if (ttl <= Duration::zero()) {
    bad_param("cache", "ttl", fmt::format("must be positive (got {})", ttl),
              "use a TTL such as \"60s\"");
  }
  if (stale_ttl != Duration::zero() && stale_ttl < ttl) {
    bad_param("cache", "stale_ttl",
              fmt::format("must be 0 or >= ttl (got {} < {})", stale_ttl, ttl),
              "use 0 to disable stale fallback or a value at least the TTL");
  }
  if (capacity < 1) {
    bad_param("cache", "capacity", "must be >= 1", "use the number of keys the client may hold");
  }
}

}  // namespace faultline::resilience
