// Test-only models for the scenario layer's tests: "toy", a client retrying against one
// server that has scheduled outages, and "flaky", which is deliberately nondeterministic so
// that check-determinism has something to catch.
#pragma once

#include <faultline/scenario/registry.hpp>

#include <memory>

namespace faultline::scenario::testing {

/// Registers "toy" and "flaky". `flaky` draws from a counter shared by all of its runs, so its
/// second run differs from its first (the kind of bug a hidden static would cause).
void register_test_models(ModelRegistry& registry);

}  // namespace faultline::scenario::testing
