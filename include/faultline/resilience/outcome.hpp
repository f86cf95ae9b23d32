// What a call came back with, as the resilience policies see it.
//
// Every policy decides on the same small vocabulary: a retry policy retries only retryable
// outcomes, a breaker counts failures, an adaptive throttle counts what the backend accepted.
// Models translate their own replies (RPC errors, HTTP-like codes) into an Outcome once.
#pragma once

#include <optional>
#include <string_view>

namespace faultline::resilience {

enum class Outcome {
  ok,              ///< the call succeeded
  timeout,         ///< the caller gave up waiting (the server may still be working on it)
  overloaded,      ///< the server refused or shed it (503 / throttled): retryable
  unavailable,     ///< could not reach a server (refused, partitioned, crashed): retryable
  rejected_local,  ///< the client's own policy refused to send (breaker open, throttle, budget)
  bad_request,     ///< the request itself is wrong (4xx): never retryable
  server_error,    ///< the server took the request and failed it itself (500: one of its own
                   ///< dependencies failed); a retry elsewhere meets the same failure
};

/// True for the outcomes a retry can fix: timeouts, overload and unreachability. Local
/// rejections and bad requests are not retried (retrying them only adds load or repeats
/// the error; Brooker, "Timeouts, retries, and backoff with jitter", AWS Builders' Library).
constexpr bool is_retryable(Outcome o) {
  return o == Outcome::timeout || o == Outcome::overloaded || o == Outcome::unavailable;
}

/// True when the backend accepted the request, in the sense of the SRE book's adaptive
/// throttling: it answered with anything but an overload rejection.
constexpr bool backend_accepted(Outcome o) {
  return o == Outcome::ok || o == Outcome::bad_request || o == Outcome::server_error;
}

std::string_view to_string(Outcome o);

}  // namespace faultline::resilience
