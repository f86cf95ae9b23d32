#include <faultline/world/host.hpp>
#include <faultline/world/node.hpp>
#include <faultline/world/world.hpp>

namespace faultline::world {

std::string_view to_string(RpcStatus s) {
  switch (s) {
    case RpcStatus::kOk: return "ok";
    case RpcStatus::kTimeout: return "timeout";
    case RpcStatus::kUnreachable: return "unreachable";
  }
  return "unknown";
}

void Responder::reply(Payload payload, std::uint64_t size_bytes) const {
  if (node_ != nullptr && node_->incarnation_ == incarnation_ && node_->up()) {
    node_->send_reply(to_, call_id_, std::move(payload), size_bytes);
  }
}

Node::Node(World& world, NodeId id, Host& host, std::string name, std::string group,
           ProgramFactory factory)
    : world_(&world),
      id_(id),
      host_(&host),
      name_(std::move(name)),
      group_(std::move(group)),
      factory_(std::move(factory)),
      process_(world.sim(), name_) {}

Node::~Node() {
  // Frames first: they may still reference the Program.
  process_.kill();
  program_.reset();
}

Simulation& Node::sim() const { return world_->sim(); }

UtcInstant Node::clock_now() const { return host_->clock().now(); }

Cpu::RunAwaiter Node::compute(Duration service_time) { return host_->cpu().run(service_time, this); }

Task<void> Node::wait_until_abs(UtcInstant deadline) {
  return host_->clock().wait_until_abs(deadline, this);
}

// --- lifecycle ------------------------------------------------------------------------------

void Node::boot() {
  if (state_ != NodeState::kCrashed || !host_->up()) {
    return;
  }
  state_ = NodeState::kUp;
  ++incarnation_;
  sim().record("node", "start", {{"node", name_}, {"incarnation", incarnation_}});
  if (factory_) {
    program_ = factory_(*this);
    if (program_) {
      program_->start(*this);
    }
  }
}

void Node::crash(bool host_crash) {
  if (state_ == NodeState::kCrashed) {
    return;
  }
  state_ = NodeState::kCrashed;
  // Every frame and timer of the incarnation dies here; awaitables unregister themselves.
  process_.kill();
  pending_.clear();
  pending_cb_.clear();
  deferred_.clear();
  on_message_ = nullptr;
  on_request_ = nullptr;
  on_co_request_ = nullptr;
  program_.reset();
  if (!host_crash && host_->disk().params().lose_unsynced_on_process_crash) {
    host_->disk().crash();
  }
  sim().record("node", "crash", {{"node", name_}, {"incarnation", incarnation_}});
}

void Node::restart() { boot(); }

void Node::pause() {
  if (state_ != NodeState::kUp) {
    return;
  }
  state_ = NodeState::kPaused;
  sim().record("node", "pause", {{"node", name_}});
}

void Node::resume() {
  if (state_ != NodeState::kPaused) {
    return;
  }
  state_ = NodeState::kUp;
  sim().record("node", "resume", {{"node", name_}});
  run_parked();
}

void Node::run_parked() {
  // Wake-ups that came due while paused run now, in the order they came due.
  while (state_ == NodeState::kUp && parked_head_ != nullptr) {
    Waiter* w = parked_head_;
    unpark(*w);
    w->handle.resume();
  }
  while (state_ == NodeState::kUp && !deferred_.empty()) {
    auto fn = std::move(deferred_.front());
    deferred_.pop_front();
    fn();
  }
}

void Node::run_or_defer(std::function<void()> fn) {
  if (state_ == NodeState::kPaused) {
    deferred_.push_back(std::move(fn));
  } else if (state_ == NodeState::kUp) {
    fn();
  }
}

void Node::wake(Waiter& w) {
  if (state_ != NodeState::kPaused) {
    w.handle.resume();
    return;
  }
  w.parked_in = this;
  w.prev = parked_tail_;
  w.next = nullptr;
  if (parked_tail_ != nullptr) {
    parked_tail_->next = &w;
  } else {
    parked_head_ = &w;
  }
  parked_tail_ = &w;
}

void Node::unpark(Waiter& w) noexcept {
  if (w.prev != nullptr) {
    w.prev->next = w.next;
  } else {
    parked_head_ = w.next;
  }
  if (w.next != nullptr) {
    w.next->prev = w.prev;
  } else {
    parked_tail_ = w.prev;
  }
  w.prev = w.next = nullptr;
  w.parked_in = nullptr;
}

// --- network endpoint -----------------------------------------------------------------------

HostId Node::host_id() const { return host_->id(); }

Admission Node::admit(const Message&) {
  if (!host_up_) {
    return Admission::kHostDown;
  }
  return state_ == NodeState::kCrashed ? Admission::kProcessDown : Admission::kAccept;
}

void Node::deliver(Message&& m) {
  if (state_ == NodeState::kPaused) {
    deferred_.push_back([this, m = std::move(m)]() mutable { dispatch(std::move(m)); });
    return;
  }
  dispatch(std::move(m));
}

void Node::dispatch(Message&& m) {
  switch (m.kind) {
    case MessageKind::kOneWay:
      if (on_message_) {
        on_message_(m);
      }
      return;
    case MessageKind::kRequest:
      if (on_co_request_) {
        spawn(serve_co(std::move(m)));
      } else if (on_request_) {
        on_request_(m, Responder{this, m.src, m.call_id, incarnation_});
      } else {
        sim().record("node", "unhandled_request", {{"node", name_}, {"id", m.id}});
      }
      return;
    case MessageKind::kReply:
    case MessageKind::kRefused: {
      RpcResult r;
      r.status = m.kind == MessageKind::kReply ? RpcStatus::kOk : RpcStatus::kUnreachable;
      r.size_bytes = m.size_bytes;
      r.payload = std::move(m.payload);
      if (auto it = pending_.find(m.call_id); it != pending_.end()) {
        it->second->complete(std::move(r));
      } else {
        finish_callback(m.call_id, std::move(r));
      }
      return;
    }
  }
}

Task<void> Node::serve_co(Message m) {
  CoRequestHandler handler = on_co_request_;
  const NodeId to = m.src;
  const std::uint64_t call_id = m.call_id;
  Reply r = co_await handler(std::move(m));
  send_reply(to, call_id, std::move(r.payload), r.size_bytes);
}

// --- sending --------------------------------------------------------------------------------

void Node::send(NodeId dst, Payload payload, std::uint64_t size_bytes) {
  send_message(dst, MessageKind::kOneWay, 0, std::move(payload), size_bytes);
}

void Node::send_request(NodeId dst, std::uint64_t call_id, Payload p, std::uint64_t size) {
  send_message(dst, MessageKind::kRequest, call_id, std::move(p), size);
}

void Node::send_reply(NodeId to, std::uint64_t call_id, Payload p, std::uint64_t size) {
  send_message(to, MessageKind::kReply, call_id, std::move(p), size);
}

void Node::send_message(NodeId dst, MessageKind kind, std::uint64_t call_id, Payload p,
                        std::uint64_t size) {
  Message m;
  m.src = id_;
  m.dst = dst;
  m.kind = kind;
  m.size_bytes = size;
  m.call_id = call_id;
  m.src_incarnation = incarnation_;
  m.payload = std::move(p);
  world_->network().send(std::move(m));
}

void Node::call(NodeId dst, Payload request, std::uint64_t size_bytes, Duration timeout,
                std::function<void(RpcResult)> done) {
  const std::uint64_t call_id = next_call_id_++;
  if (!dst.valid() || dst.value() >= world_->node_count()) {
    // No such node: refused at once, but never inline.
    after(Duration::zero(), [done = std::move(done)] { done(RpcResult{RpcStatus::kUnreachable, {}, 0, {}}); });
    return;
  }
  PendingCallback& pc = pending_cb_[call_id];
  pc.done = std::move(done);
  pc.started = sim().now();
  pc.dst = dst;
  pc.timer = process_.schedule_after(timeout, [this, call_id] {
    finish_callback(call_id, RpcResult{RpcStatus::kTimeout, {}, 0, {}});
  });
  send_request(dst, call_id, std::move(request), size_bytes);
}

void Node::finish_callback(std::uint64_t call_id, RpcResult r) {
  auto it = pending_cb_.find(call_id);
  if (it == pending_cb_.end()) {
    return;  // a late reply, or one for a call of an earlier incarnation
  }
  process_.cancel(it->second.timer);
  r.latency = sim().now() - it->second.started;
  trace_call(it->second.dst, r);
  auto done = std::move(it->second.done);
  pending_cb_.erase(it);
  if (state_ == NodeState::kUp) {
    done(std::move(r));  // the common case, without wrapping the callback again
    return;
  }
  run_or_defer([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

void Node::trace_call(NodeId dst, const RpcResult& r) {
  sim().record("rpc", "call",
               {{"node", name_},
                {"to", dst.value()},
                {"status", to_string(r.status)},
                {"latency_ns", r.latency}});
}

void Node::after(Duration d, std::function<void()> fn) {
  process_.schedule_after(d, [this, fn = std::move(fn)]() mutable { run_or_defer(std::move(fn)); });
}

void Node::compute(Duration service_time, std::function<void()> done) {
  const std::uint64_t inc = incarnation_;
  host_->cpu().submit(service_time, [this, inc, done = std::move(done)]() mutable {
    if (incarnation_ == inc) {
      run_or_defer(std::move(done));
    }
  });
}

// --- awaiters -------------------------------------------------------------------------------

Node::SleepAwaiter::~SleepAwaiter() { n_->sim().cancel(event_); }

void Node::SleepAwaiter::await_suspend(std::coroutine_handle<> h) {
  waiter_.handle = h;
  event_ = n_->process_.schedule_after(d_, [this] { n_->wake(waiter_); });
}

Node::CallAwaiter::~CallAwaiter() {
  if (call_id_ != 0) {
    auto it = n_->pending_.find(call_id_);
    if (it != n_->pending_.end() && it->second == this) {
      n_->pending_.erase(it);
    }
    n_->sim().cancel(timer_);
  }
}

bool Node::CallAwaiter::await_suspend(std::coroutine_handle<> h) {
  started_ = n_->sim().now();
  if (!dst_.valid() || dst_.value() >= n_->world_->node_count()) {
    result_ = RpcResult{RpcStatus::kUnreachable, {}, 0, {}};
    return false;
  }
  waiter_.handle = h;
  call_id_ = n_->next_call_id_++;
  n_->pending_[call_id_] = this;
  timer_ = n_->process_.schedule_after(timeout_, [this] {
    complete(RpcResult{RpcStatus::kTimeout, {}, 0, {}});
  });
  n_->send_request(dst_, call_id_, std::move(req_), size_);
  return true;
}

void Node::CallAwaiter::complete(RpcResult r) {
  n_->pending_.erase(call_id_);
  n_->sim().cancel(timer_);
  call_id_ = 0;
  result_ = std::move(r);
  result_.latency = n_->sim().now() - started_;
  n_->trace_call(dst_, result_);
  n_->wake(waiter_);
}

}  // namespace faultline::world
