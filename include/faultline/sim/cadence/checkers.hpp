// Checkers of the Cadence model, over the workflow histories the history service kept (what a
// restart would see) and the starts the riders were told succeeded. Payments use the shared
// exactly-once checker (faultline/check/exactly_once.hpp) over the payment activity's attempts
// and the payment service's charges.
#pragma once

#include <faultline/check/result.hpp>
#include <faultline/sim/cadence/history.hpp>
#include <faultline/time.hpp>

#include <span>
#include <string>

namespace faultline::sim::cadence {

/// Checker name "workflows-end": every workflow whose start was acknowledged has a history that
/// ends in WorkflowCompleted (any end state), and no history holds events after it.
check::CheckResult check_workflows_end(std::span<const std::string> acknowledged_starts,
                                       std::span<const WorkflowHistory> histories);

/// Checker name "timers-fire": every TimerStarted due at least `lateness` before `now` has
/// fired or was canceled, once; none fired before it was due; no TimerFired or TimerCanceled
/// names a timer that was never started.
check::CheckResult check_timers_fire(std::span<const WorkflowHistory> histories, Time now,
                                     Duration lateness);

}  // namespace faultline::sim::cadence
