#include <faultline/world/cpu.hpp>

#include <cmath>

namespace faultline::world {

namespace {

class CallbackJob final : public Cpu::Job {
public:
  explicit CallbackJob(std::function<void()> fn) : fn_(std::move(fn)) {}

private:
  void finished() override {
    auto fn = std::move(fn_);
    delete this;
    fn();
  }
  void abandoned() override { delete this; }
  std::function<void()> fn_;
};

}  // namespace

void Cpu::Job::withdraw() {
  if (cpu_ != nullptr) {
    cpu_->remove(*this);
  }
}

void Cpu::RunAwaiter::await_suspend(std::coroutine_handle<> h) {
  waiter_.handle = h;
  c_->enqueue(*this, service_);
}

Cpu::Cpu(Simulation& sim, CpuParams params, std::string name)
    : sim_(&sim), params_(std::move(params)), name_(std::move(name)) {
  params_.validate();
  last_account_ = sim.now();
  queue_wait_ = &sim.metrics().histogram("cpu.queue_wait");
}

Cpu::~Cpu() {
  reset();
  sim_->cancel(stall_event_);
  sim_->cancel(sample_event_);
}

void Cpu::start() {
  if (params_.sample_interval > Duration::zero()) {
    util_series_ = &sim_->metrics().series("cpu.util/" + name_);
    sample_last_time_ = sim_->now();
    sample_last_busy_ = busy_time();
    sample_event_ = sim_->schedule_after(params_.sample_interval, [this] { sample(); });
  }
}

void Cpu::sample() {
  const Duration busy = busy_time();
  const Duration window = sim_->now() - sample_last_time_;
  util_series_->add(sim_->now(), utilisation(sample_last_busy_, busy, window, params_.cores));
  sample_last_busy_ = busy;
  sample_last_time_ = sim_->now();
  sample_event_ = sim_->schedule_after(params_.sample_interval, [this] { sample(); });
}

double Cpu::utilisation(Duration busy_from, Duration busy_to, Duration window,
                        std::uint32_t cores) {
  if (window <= Duration::zero() || cores == 0) {
    return 0.0;
  }
  return static_cast<double>((busy_to - busy_from).ns()) /
         (static_cast<double>(window.ns()) * static_cast<double>(cores));
}

void Cpu::account() {
  const Time now = sim_->now();
  if (!stalled_) {
    busy_accum_ += (now - last_account_) * static_cast<std::int64_t>(busy_);
  }
  last_account_ = now;
}

Duration Cpu::busy_time() const {
  if (stalled_) {
    return busy_accum_;
  }
  return busy_accum_ + (sim_->now() - last_account_) * static_cast<std::int64_t>(busy_);
}

void Cpu::submit(Duration service_time, std::function<void()> done) {
  auto* job = new CallbackJob(std::move(done));
  enqueue(*job, service_time);
}

void Cpu::enqueue(Job& j, Duration service) {
  j.cpu_ = this;
  j.remaining_ = params_.speed == 1.0
                     ? service
                     : Duration::nanos(std::llround(static_cast<double>(service.ns()) / params_.speed));
  j.enqueued_at_ = sim_->now();
  if (busy_ < params_.cores) {
    start_job(j);
    return;
  }
  j.state_ = Job::State::kQueued;
  j.prev_ = tail_;
  j.next_ = nullptr;
  if (tail_ != nullptr) {
    tail_->next_ = &j;
  } else {
    head_ = &j;
  }
  tail_ = &j;
  ++queued_;
}

void Cpu::unlink_queue(Job& j) {
  if (j.prev_ != nullptr) {
    j.prev_->next_ = j.next_;
  } else {
    head_ = j.next_;
  }
  if (j.next_ != nullptr) {
    j.next_->prev_ = j.prev_;
  } else {
    tail_ = j.prev_;
  }
  j.prev_ = j.next_ = nullptr;
  --queued_;
}

void Cpu::unlink_running(Job& j) {
  if (j.prev_ != nullptr) {
    j.prev_->next_ = j.next_;
  } else {
    running_ = j.next_;
  }
  if (j.next_ != nullptr) {
    j.next_->prev_ = j.prev_;
  }
  j.prev_ = j.next_ = nullptr;
}

void Cpu::start_job(Job& j) {
  account();
  ++busy_;
  j.state_ = Job::State::kRunning;
  j.prev_ = nullptr;
  j.next_ = running_;
  if (running_ != nullptr) {
    running_->prev_ = &j;
  }
  running_ = &j;
  queue_wait_->record(sim_->now() - j.enqueued_at_);
  if (!stalled_) {
    j.finish_at_ = sim_->now() + j.remaining_;
    j.done_ = sim_->schedule_at(j.finish_at_, [this, &j] { complete(j); });
  }
}

void Cpu::dispatch() {
  while (busy_ < params_.cores && head_ != nullptr) {
    Job& j = *head_;
    unlink_queue(j);
    start_job(j);
  }
}

void Cpu::complete(Job& j) {
  account();
  --busy_;
  unlink_running(j);
  j.state_ = Job::State::kIdle;
  j.cpu_ = nullptr;
  ++completed_;
  dispatch();
  j.finished();  // last: it may resume a coroutine or free the job
}

void Cpu::remove(Job& j) {
  switch (j.state_) {
    case Job::State::kIdle:
      break;
    case Job::State::kQueued:
      unlink_queue(j);
      break;
    case Job::State::kRunning:
      sim_->cancel(j.done_);
      account();
      --busy_;
      unlink_running(j);
      j.state_ = Job::State::kIdle;
      j.cpu_ = nullptr;
      dispatch();
      return;
  }
  j.state_ = Job::State::kIdle;
  j.cpu_ = nullptr;
}

void Cpu::stall(Duration d) {
  const Time until = sim_->now() + d;
  if (stalled_) {
    if (until > stall_until_) {
      stall_until_ = until;
      sim_->cancel(stall_event_);
      stall_event_ = sim_->schedule_at(until, [this] { end_stall(); });
    }
    return;
  }
  account();
  stalled_ = true;
  stall_until_ = until;
  for (Job* j = running_; j != nullptr; j = j->next_) {
    if (sim_->cancel(j->done_)) {
      j->remaining_ = j->finish_at_ - sim_->now();
    }
  }
  stall_event_ = sim_->schedule_at(until, [this] { end_stall(); });
}

void Cpu::end_stall() {
  account();
  stalled_ = false;
  for (Job* j = running_; j != nullptr; j = j->next_) {
    j->finish_at_ = sim_->now() + j->remaining_;
    Job* jp = j;
    j->done_ = sim_->schedule_at(j->finish_at_, [this, jp] { complete(*jp); });
  }
}

void Cpu::reset() {
  account();
  while (running_ != nullptr) {
    Job& j = *running_;
    sim_->cancel(j.done_);
    --busy_;
    unlink_running(j);
    j.state_ = Job::State::kIdle;
    j.cpu_ = nullptr;
    j.abandoned();
  }
  while (head_ != nullptr) {
    Job& j = *head_;
    unlink_queue(j);
    j.state_ = Job::State::kIdle;
    j.cpu_ = nullptr;
    j.abandoned();
  }
}

}  // namespace faultline::world
