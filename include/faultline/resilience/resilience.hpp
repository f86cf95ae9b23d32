// All resilience policies in one include.
#pragma once

#include <faultline/resilience/admission.hpp>
#include <faultline/resilience/backoff.hpp>
#include <faultline/resilience/cache.hpp>
#include <faultline/resilience/circuit_breaker.hpp>
#include <faultline/resilience/hedging.hpp>
#include <faultline/resilience/outcome.hpp>
#include <faultline/resilience/retry_budget.hpp>
#include <faultline/resilience/rolling_window.hpp>
#include <faultline/resilience/timeout.hpp>
