#include <faultline/resilience/admission.hpp>

#include "params_error.hpp"

namespace faultline::resilience {

using detail::bad_param;

std::string_view to_string(QueueOrder o) {
  switch (o) {
    case QueueOrder::fifo: return "fifo";
    case QueueOrder::lifo: return "lifo";
    case QueueOrder::adaptive_lifo: return "adaptive_lifo";
  }
  return "unknown";
}

std::optional<QueueOrder> parse_queue_order(std::string_view text) {
  for (QueueOrder o : {QueueOrder::fifo, QueueOrder::lifo, QueueOrder::adaptive_lifo}) {
    if (text == to_string(o)) {
      return o;
    }
  }
  return std::nullopt;
}

void AdmissionParams::validate() const {
  if (max_concurrency < 0) {
    bad_param("admission", "max_concurrency",
              fmt::format("must not be negative (got {})", max_concurrency),
              "use 0 for one request per CPU core, or a positive limit");
  }
  if (max_queue_length < 0) {
    bad_param("admission", "max_queue_length",
              fmt::format("must not be negative (got {})", max_queue_length),
              "use 0 for an unbounded queue, or a positive bound");
  }
  if (queue_timeout < Duration::zero()) {
    bad_param("admission", "queue_timeout",
              fmt::format("must not be negative (got {})", queue_timeout),
              "use 0 for no deadline, or a deadline below the clients' timeout");
  }
  if (codel && (codel_target <= Duration::zero() || codel_interval < codel_target)) {
    bad_param("admission", "codel_target/codel_interval",
              fmt::format("need 0 < codel_target <= codel_interval (got {} and {})", codel_target,
                          codel_interval),
              "Fail at Scale uses 5ms and 100ms");
  }
}

}  // namespace faultline::resilience
