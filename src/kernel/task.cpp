#include <faultline/task.hpp>

namespace faultline {

namespace detail {

void PromiseBase::finish_detached(PromiseBase& p) noexcept {
  Process* proc = p.process;
  std::exception_ptr failure = p.exception;
  if (proc != nullptr) {
    proc->unlink(&p);
  }
  p.self.destroy();
  if (failure && proc != nullptr) {
    proc->sim().fail(failure);
  }
}

}  // namespace detail

void Process::spawn(Task<void> task) {
  auto h = task.release();
  if (!h) {
    return;
  }
  auto& p = h.promise();
  p.process = this;
  p.detached = true;
  p.next = roots_;
  if (roots_ != nullptr) {
    roots_->prev = &p;
  }
  roots_ = &p;
  ++task_count_;
  schedule_after(Duration::zero(), [h] { h.resume(); });
}

void Process::unlink(detail::PromiseBase* p) noexcept {
  if (p->prev != nullptr) {
    p->prev->next = p->next;
  } else {
    roots_ = p->next;
  }
  if (p->next != nullptr) {
    p->next->prev = p->prev;
  }
  p->prev = p->next = nullptr;
  --task_count_;
}

EventId Process::track(EventId id, Time at) {
  if (timers_.size() >= compact_at_) {
    // A timer due before now has run or been cancelled: drop it by its time alone. Asking the
    // queue whether it is pending reads its slot, a random line of the queue, which with a
    // large cluster's pending events is a cache miss per timer. Only if that leaves more than
    // half (cancelled timers due later, such as call timeouts) are the slots read, so the
    // list stays within twice the most timers ever pending at once, as before.
    const Time now = sim_->now();
    std::erase_if(timers_, [now](const Timer& t) { return t.at < now; });
    if (timers_.size() * 2 > compact_at_) {
      std::erase_if(timers_, [this](const Timer& t) { return !sim_->is_pending(t.id); });
    }
    compact_at_ = std::max<std::size_t>(64, timers_.size() * 2);
  }
  timers_.push_back(Timer{id, at});
  return id;
}

void Process::kill() {
  for (const Timer& t : timers_) {
    sim_->cancel(t.id);
  }
  timers_.clear();
  compact_at_ = 64;
  // Destroying a root destroys the child tasks it owns and the awaitables suspended in them,
  // which cancel their own wake-ups.
  while (roots_ != nullptr) {
    detail::PromiseBase* p = roots_;
    unlink(p);
    p->self.destroy();
  }
  ++incarnation_;
}

}  // namespace faultline
