// Coroutines for model code: Task<T>, Process, sleep and Completion.
//
// `Task<T>` is a lazy coroutine: it starts when awaited (`T v = co_await child();`) and passes
// its result or exception to the awaiter. A `Process` is a group of detached root tasks and
// timers that live and die together: `kill()` cancels every timer and destroys every frame of
// the group (and, through them, every child task they are awaiting), so nothing of a killed
// process ever runs again. Awaitables cancel their own pending events from their destructors,
// which is what makes destroying a suspended frame safe.
//
// Lifetime rules: a Process must be destroyed before its Simulation (declare the Simulation
// first). A task must not kill its own process while running; crash faults are scheduled
// events, so they always run outside the victim's frames.
#pragma once

#include <faultline/simulation.hpp>

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace faultline {

class Process;

namespace detail {

struct PromiseBase {
  Process* process = nullptr;
  std::coroutine_handle<> continuation;
  std::exception_ptr exception;
  // Detached roots are linked into their process's list.
  PromiseBase* prev = nullptr;
  PromiseBase* next = nullptr;
  bool detached = false;
  std::coroutine_handle<> self;

  std::suspend_always initial_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      PromiseBase& p = h.promise();
      if (p.detached) {
        finish_detached(p);  // destroys the frame
        return std::noop_coroutine();
      }
      return p.continuation ? p.continuation : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  static void finish_detached(PromiseBase& p) noexcept;
};

template <class T>
struct Promise : PromiseBase {
  std::optional<T> value;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};
template <>
struct Promise<void> : PromiseBase {
  void return_void() noexcept {}
};

}  // namespace detail

template <class T = void>
class [[nodiscard]] Task {
public:
  struct promise_type : detail::Promise<T> {
    Task get_return_object() {
      auto h = std::coroutine_handle<promise_type>::from_promise(*this);
      this->self = h;
      return Task{h};
    }
  };
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const { return static_cast<bool>(h_); }

  struct Awaiter {
    Handle h;
    bool await_ready() noexcept { return !h || h.done(); }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
      h.promise().continuation = parent;
      if constexpr (std::is_base_of_v<detail::PromiseBase, P>) {
        h.promise().process = parent.promise().process;
      }
      return h;
    }
    T await_resume() {
      auto& p = h.promise();
      if (p.exception) {
        std::rethrow_exception(p.exception);
      }
      if constexpr (!std::is_void_v<T>) {
        return std::move(*p.value);
      }
    }
  };
  /// Starts the task and suspends the awaiter until it finishes; yields its result or
  /// rethrows its exception.
  Awaiter operator co_await() && noexcept { return Awaiter{h_}; }

  /// Gives up ownership of the frame (used by Process::spawn).
  Handle release() { return std::exchange(h_, {}); }

private:
  explicit Task(Handle h) : h_(h) {}
  void reset() {
    if (h_) {
      h_.destroy();
      h_ = {};
    }
  }
  Handle h_;
};

/// `co_await sim.sleep(d)`: resumes the task after d of true time. Destroying the suspended
/// frame cancels the wake-up.
class SleepAwaitable {
public:
  SleepAwaitable(Simulation& sim, Duration d) : sim_(&sim), d_(d) {}
  SleepAwaitable(const SleepAwaitable&) = delete;
  SleepAwaitable& operator=(const SleepAwaitable&) = delete;
  ~SleepAwaitable() { sim_->cancel(event_); }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    event_ = sim_->schedule_after(d_, [h] { h.resume(); });
  }
  void await_resume() const noexcept {}

private:
  Simulation* sim_;
  Duration d_;
  EventId event_;
};

inline SleepAwaitable Simulation::sleep(Duration d) { return SleepAwaitable{*this, d}; }

/// A group of detached tasks and timers that is killed as one: the kernel's notion of an OS
/// process. The world layer gives each simulated process one of these.
class Process {
public:
  Process(Simulation& sim, std::string name) : sim_(&sim), name_(std::move(name)) {}
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { kill(); }

  Simulation& sim() const { return *sim_; }
  const std::string& name() const { return name_; }

  /// Starts `task` as a detached root of this process. It begins running at the current
  /// time, after the events already scheduled for now (never inline).
  void spawn(Task<void> task);

  /// A timer that dies with the process.
  template <EventCallable F>
  EventId schedule_after(Duration d, F&& fn) {
    const Time at = sim_->now() + d;
    return track(sim_->schedule_after(d, std::forward<F>(fn)), at);
  }
  template <EventCallable F>
  EventId schedule_at(Time t, F&& fn) {
    return track(sim_->schedule_at(t, std::forward<F>(fn)), t);
  }
  bool cancel(EventId id) { return sim_->cancel(id); }

  /// Cancels every timer and destroys every task frame of the process. The process object
  /// stays usable: later spawns start a new incarnation.
  void kill();

  /// Number of live detached root tasks.
  std::size_t task_count() const { return task_count_; }
  /// Number of kills so far.
  std::uint64_t incarnation() const { return incarnation_; }

private:
  friend struct detail::PromiseBase;
  EventId track(EventId id, Time at);
  void unlink(detail::PromiseBase* p) noexcept;

  Simulation* sim_;
  std::string name_;
  detail::PromiseBase* roots_ = nullptr;
  std::size_t task_count_ = 0;
  struct Timer {
    EventId id;
    Time at;  // when it is due: once past, it has run or been cancelled
  };
  std::vector<Timer> timers_;  // kill() cancels those still pending
  std::size_t compact_at_ = 64;
  std::uint64_t incarnation_ = 0;
};

/// A one-shot value that one task awaits and anyone sets: the building block for RPC replies
/// and other "wait until something happens" code. Setting never resumes the waiter inline; it
/// schedules the resumption at the current time.
template <class T>
class Completion {
  struct State {
    Simulation* sim;
    std::optional<T> value;
    std::coroutine_handle<> waiter;
    EventId resume;
    EventId timeout;
  };

public:
  explicit Completion(Simulation& sim) : st_(std::make_shared<State>(State{&sim, {}, {}, {}, {}})) {}

  bool ready() const { return st_->value.has_value(); }
  /// Sets the value. A second set is ignored and returns false (the first reply wins).
  bool set(T v) {
    if (st_->value) {
      return false;
    }
    st_->value.emplace(std::move(v));
    if (st_->waiter && !st_->sim->is_pending(st_->resume)) {
      st_->sim->cancel(st_->timeout);
      st_->resume = st_->sim->schedule_after(Duration::zero(), Wake{st_});
    }
    return true;
  }

  class Awaiter {
  public:
    Awaiter(std::shared_ptr<State> st, std::optional<Duration> timeout)
        : st_(std::move(st)), timeout_(timeout) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter() {
      if (st_ && st_->waiter == me_ && me_) {
        st_->sim->cancel(st_->resume);
        st_->sim->cancel(st_->timeout);
        st_->waiter = {};
      }
    }
    bool await_ready() const noexcept { return st_->value.has_value(); }
    void await_suspend(std::coroutine_handle<> h) {
      FAULTLINE_ASSERT(!st_->waiter, "a Completion has at most one waiter");
      me_ = h;
      st_->waiter = h;
      if (timeout_) {
        st_->timeout = st_->sim->schedule_after(*timeout_, [s = st_] { wake(*s); });
      }
    }
    /// The value, or nullopt when the timeout fired first.
    std::optional<T> await_resume() {
      me_ = {};
      return st_->value;
    }

  private:
    std::shared_ptr<State> st_;
    std::optional<Duration> timeout_;
    std::coroutine_handle<> me_;
  };

  /// `std::optional<T> v = co_await c.wait();` (always engaged without a timeout).
  Awaiter wait() const { return Awaiter{st_, std::nullopt}; }
  /// `std::optional<T> v = co_await c.wait_for(250_ms);` — nullopt on timeout.
  Awaiter wait_for(Duration timeout) const { return Awaiter{st_, timeout}; }

private:
  /// The waiter's resumption as an event, with a prefetch hook: the state, then the waiting
  /// coroutine's frame (in a big model both are rarely in cache when the value is set).
  struct Wake {
    std::shared_ptr<State> s;
    void operator()() const { wake(*s); }
    void prefetch(unsigned stage) const {
      if (stage == 0) {
        __builtin_prefetch(s.get());
      } else if (stage == 1) {
        if (void* f = s->waiter.address()) {
          __builtin_prefetch(f);
          __builtin_prefetch(static_cast<const char*>(f) + 64);
        }
      }
    }
  };

  static void wake(State& s) {
    s.sim->cancel(s.resume);
    s.sim->cancel(s.timeout);
    auto h = std::exchange(s.waiter, {});
    if (h) {
      h.resume();
    }
  }
  std::shared_ptr<State> st_;
};

}  // namespace faultline
