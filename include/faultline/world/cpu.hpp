// A host's CPU: cores, a FIFO run queue, work items with service times, and utilisation.
//
// A work item occupies one core for service_time / speed of true time. When every core is
// busy, items wait in FIFO order; that wait is queueing delay (histogram "cpu.queue_wait"),
// which is how overload turns into latency and then into client timeouts. A stall (a CPU
// stall fault, a paused VM) freezes the running items' progress until it ends.
//
// Coroutines use `co_await cpu.run(service_time, gate)`; destroying the suspended frame (a
// crash) removes the item from the queue or frees its core. Handler code uses submit().
// Utilisation: busy core-time is integrated exactly; `utilisation_between` over any window
// and the series "cpu.util/<host>" sampled every CpuParams::sample_interval.
#pragma once

#include <faultline/simulation.hpp>
#include <faultline/world/gate.hpp>
#include <faultline/world/params.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace faultline::world {

class Cpu {
public:
  /// One queued or running work item. Awaitables embed one; callback items are heap-owned.
  class Job {
  public:
    Job() = default;
    Job(const Job&) = delete;
    Job& operator=(const Job&) = delete;

    virtual ~Job() = default;

  protected:
    virtual void finished() = 0;
    /// The CPU dropped the job without running it (reset): owners that own themselves free.
    virtual void abandoned() {}
    /// Takes the job out of its CPU (queue or core); safe to call in any state.
    void withdraw();

  private:
    friend class Cpu;
    Cpu* cpu_ = nullptr;
    Job* prev_ = nullptr;
    Job* next_ = nullptr;
    Duration remaining_{};  // service still to do (true time, speed applied)
    Time enqueued_at_{};
    Time finish_at_{};
    EventId done_;
    enum class State : std::uint8_t { kIdle, kQueued, kRunning } state_ = State::kIdle;
  };

  class RunAwaiter : public Job {
  public:
    RunAwaiter(Cpu& cpu, Duration service, ResumeGate* gate)
        : c_(&cpu), service_(service), gate_(gate) {}
    RunAwaiter(const RunAwaiter&) = delete;
    RunAwaiter& operator=(const RunAwaiter&) = delete;
    ~RunAwaiter() override { withdraw(); }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}

  private:
    void finished() override { wake(waiter_, gate_); }
    Cpu* c_;
    Duration service_;
    ResumeGate* gate_;
    Waiter waiter_;
  };

  /// `name` names the host ("cpu.util/<name>").
  Cpu(Simulation& sim, CpuParams params, std::string name);
  Cpu(const Cpu&) = delete;
  Cpu& operator=(const Cpu&) = delete;
  ~Cpu();

  /// Starts utilisation sampling (if the interval is non-zero). Called by the Host.
  void start();

  /// `co_await cpu.run(5_ms, &node)`: queue, run on a core for 5 ms / speed, then resume.
  RunAwaiter run(Duration service_time, ResumeGate* gate = nullptr) {
    return RunAwaiter{*this, service_time, gate};
  }
  /// Callback style: `done` runs when the work completes. `done` must check for itself that
  /// its owner is still alive (Node::compute does).
  void submit(Duration service_time, std::function<void()> done);

  /// Freezes progress of every core for `d` (overlapping stalls extend it).
  void stall(Duration d);
  bool stalled() const { return stalled_; }
  /// Drops every queued and running item without completing it (the host crashed).
  void reset();

  std::uint32_t cores() const { return params_.cores; }
  std::uint32_t busy_cores() const { return busy_; }
  std::size_t queue_length() const { return queued_; }
  /// Busy core-time integrated up to now.
  Duration busy_time() const;
  /// Fraction of core capacity busy over [from, now], from two busy_time() readings.
  static double utilisation(Duration busy_from, Duration busy_to, Duration window,
                            std::uint32_t cores);
  std::uint64_t completed() const { return completed_; }
  const CpuParams& params() const { return params_; }

private:
  friend class Job;
  void enqueue(Job& j, Duration service);
  void remove(Job& j);
  void dispatch();
  void start_job(Job& j);
  void complete(Job& j);
  void account();
  void end_stall();
  void sample();
  void unlink_queue(Job& j);
  void unlink_running(Job& j);

  Simulation* sim_;
  CpuParams params_;
  std::string name_;
  Job* head_ = nullptr;
  Job* tail_ = nullptr;
  std::size_t queued_ = 0;
  std::uint32_t busy_ = 0;
  Job* running_ = nullptr;  // intrusive list of running jobs (for stalls and reset)
  Time last_account_{};
  Duration busy_accum_{};
  bool stalled_ = false;
  Time stall_until_{};
  EventId stall_event_;
  std::uint64_t completed_ = 0;
  Histogram* queue_wait_ = nullptr;
  EventId sample_event_;
  TimeSeries* util_series_ = nullptr;
  Time sample_last_time_{};
  Duration sample_last_busy_{};
};

}  // namespace faultline::world
