// Resume gates: how world awaitables wake a coroutine without running a paused process.
//
// A paused process (SIGSTOP, a VM freeze, a long GC) runs nothing, yet its timers expire and
// its replies arrive. Every world awaitable (Node::sleep, Cpu::run, Clock::wait_until_abs,
// Node::call) wakes its coroutine through the ResumeGate it was given: a Node resumes at once
// when up and parks the waiter while paused, resuming parked waiters in order on resume().
// Without a gate (nullptr) the coroutine resumes directly.
#pragma once

#include <coroutine>

namespace faultline::world {

class ResumeGate;

/// One suspended coroutine; lives inside an awaitable in the coroutine frame, so its address
/// is stable while suspended. Destroying a parked waiter (the process was killed) unparks it.
struct Waiter {
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  ~Waiter();

  std::coroutine_handle<> handle;
  ResumeGate* parked_in = nullptr;
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
};

class ResumeGate {
public:
  /// Resumes w.handle now, or parks it until the gate opens.
  virtual void wake(Waiter& w) = 0;
  /// Removes a parked waiter (called by ~Waiter).
  virtual void unpark(Waiter& w) noexcept = 0;

protected:
  ~ResumeGate() = default;
};

inline Waiter::~Waiter() {
  if (parked_in != nullptr) {
    parked_in->unpark(*this);
  }
}

/// Wakes through `gate`, or directly when there is none.
inline void wake(Waiter& w, ResumeGate* gate) {
  if (gate != nullptr) {
    gate->wake(w);
  } else {
    w.handle.resume();
  }
}

}  // namespace faultline::world
