#include <faultline/resilience/outcome.hpp>

namespace faultline::resilience {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::timeout: return "timeout";
    case Outcome::overloaded: return "overloaded";
    case Outcome::unavailable: return "unavailable";
    case Outcome::rejected_local: return "rejected_local";
    case Outcome::bad_request: return "bad_request";
    case Outcome::server_error: return "server_error";
  }
  return "unknown";
}

}  // namespace faultline::resilience
