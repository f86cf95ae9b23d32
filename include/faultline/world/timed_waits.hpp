// Background threads that loop on short absolute timed waits on their host's clock.
//
// Server processes keep such threads (JVM housekeeping, Cassandra, MySQL, RPC pools): each one
// does `for (;;) futex_wait(abs = now + wait)` and a little work. On a healthy host they cost
// almost nothing. On a host whose kernel has the 2012 leap-second bug, every wait under 1 s
// returns at once after the leap (model-facts §1.1), so each thread spins and keeps a core for
// its time slice per turn: this is what connects a fleet to that bug. The service graph's tiers
// and Spanner's spanservers both run them from here.
#pragma once

#include <faultline/task.hpp>
#include <faultline/time.hpp>

namespace faultline::world {

class Node;

/// One such thread on `node`, forever (it dies with the node's process). After a wait that
/// was already expired when armed, it burns `cpu_slice` less the syscall's cost on the host's
/// CPU before it waits again; after a real wait it waits again at once.
Task<void> timed_wait_loop(Node& node, Duration wait, Duration cpu_slice);

/// Spawns `threads` of them on `node`.
void spawn_timed_wait_threads(Node& node, int threads, Duration wait, Duration cpu_slice);

}  // namespace faultline::world
