#include <faultline/world/host.hpp>
#include <faultline/world/node.hpp>
#include <faultline/world/world.hpp>

#include <algorithm>
#include <stdexcept>

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
      process_(world.sim(), name_) {
  // The hot fields end with newer_min_ (read by every call); the network prefetches 4 lines.
  FAULTLINE_ASSERT(reinterpret_cast<const char*>(&newer_min_ + 1) -
                           reinterpret_cast<const char*>(this) <=
                       256,
                   "Node's hot fields must stay within its first four cache lines");
}

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
  reset_calls();
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

Admission Node::admit(const Message& m) {
  if (!host_up_) {
    return Admission::kHostDown;
  }
  if (state_ == NodeState::kCrashed) {
    return Admission::kProcessDown;
  }
  // The handler will most likely read the program's state, which is rarely in cache with many
  // nodes: start fetching it while the network records the delivery.
  if (const auto* p = reinterpret_cast<const char*>(program_.get())) {
    __builtin_prefetch(p);
    __builtin_prefetch(p + 64);
  }
  // A reply will look up its call: fetch the slot now too.
  if (m.kind == MessageKind::kReply || m.kind == MessageKind::kRefused) {
    if (const std::uint64_t index = m.call_id & kCallIndexMask; index < calls_.size()) {
      const auto* c = reinterpret_cast<const char*>(&calls_[index]);
      __builtin_prefetch(c);
      __builtin_prefetch(c + sizeof(CallSlot) - 1);
    }
  }
  return Admission::kAccept;
}

void Node::prefetch(const Message& m, unsigned stage) const {
  // The network calls this two and one events before `m` arrives, with this node's first
  // lines in cache. Stage 0: the program's state (the handler most likely reads it) and, for
  // a reply, its call slot. Stage 1: the caller's coroutine frame, found through that slot.
  const bool reply = m.kind == MessageKind::kReply || m.kind == MessageKind::kRefused;
  const std::uint64_t index = m.call_id & kCallIndexMask;
  if (stage == 0) {
    if (const auto* p = reinterpret_cast<const char*>(program_.get())) {
      __builtin_prefetch(p);
      __builtin_prefetch(p + 64);
    }
    if (reply && index < calls_.size()) {
      const auto* c = reinterpret_cast<const char*>(&calls_[index]);
      __builtin_prefetch(c);
      __builtin_prefetch(c + sizeof(CallSlot) - 1);
    }
    // Handlers that charge CPU per message (ringpop's 50 us) queue on the host's CPU first:
    // its speed, core count and busy count are in its first two lines.
    const auto* cpu = reinterpret_cast<const char*>(&host_->cpu());
    __builtin_prefetch(cpu);
    __builtin_prefetch(cpu + 64);
    return;
  }
  if (reply && index < calls_.size()) {
    const CallSlot& s = calls_[index];
    if (s.call_id == m.call_id && s.awaiter != nullptr) {
      // The resumed coroutine reads its frame's header (resume pointer, state index), the
      // awaiter that lies in the frame, and the locals around it (the previous result, the
      // next request): fetch the frame from its start to a little past the awaiter, when the
      // awaiter is where a frame keeps its locals (else just both ends).
      const auto* f = static_cast<const char*>(s.frame);
      const auto* a = reinterpret_cast<const char*>(s.awaiter);
      constexpr std::ptrdiff_t kMaxLines = 10;
      const char* end = a + sizeof(CallAwaiter) + 64;
      if (a > f && end - f <= kMaxLines * 64) {
        for (const char* p = f; p < end; p += 64) {
          __builtin_prefetch(p);
        }
      } else {
        __builtin_prefetch(f);
        __builtin_prefetch(f + 64);
        for (std::size_t off = 0; off < sizeof(CallAwaiter); off += 64) {
          __builtin_prefetch(a + off);
        }
      }
    }
  }
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
      if (CallSlot* s = find_call(m.call_id)) {
        complete_call(*s, std::move(r));
      }
      return;  // else a late reply, or one for a call of an earlier incarnation
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
  if (!dst.valid() || dst.value() >= world_->node_count()) {
    // No such node: refused at once, but never inline.
    after(Duration::zero(), [done = std::move(done)] { done(RpcResult{RpcStatus::kUnreachable, {}, 0, {}}); });
    return;
  }
  const std::uint64_t call_id = open_call(dst, timeout, nullptr, &done);
  send_request(dst, call_id, std::move(request), size_bytes);
}

// --- the call table and its timeouts --------------------------------------------------------

std::uint64_t Node::open_call(NodeId dst, Duration timeout, CallAwaiter* awaiter,
                              std::function<void(RpcResult)>* done) {
  std::uint32_t index;
  if (calls_free_ != 0xffffffffu) {
    index = calls_free_;
    calls_free_ = calls_[index].next_free;
  } else {
    if (calls_.size() > kCallIndexMask) {
      throw std::length_error("node " + name_ + ": more than 16M calls outstanding");
    }
    index = static_cast<std::uint32_t>(calls_.size());
    calls_.emplace_back();
  }
  CallSlot& s = calls_[index];
  const Time now = sim().now();
  s.call_id = (next_call_seq_++ << kCallIndexBits) | index;
  s.started = now;
  // A timeout too long to represent never fires (Time::max is "no deadline").
  const Duration t = std::max(timeout, Duration::zero());
  s.deadline = t >= Time::max() - now ? Time::max() : now + t;
  s.awaiter = awaiter;
  s.frame = awaiter != nullptr ? awaiter->waiter_.handle.address() : nullptr;
  if (done != nullptr) {
    s.done = std::move(*done);
  }
  s.dst = dst;
  ++calls_live_;
  if (s.deadline < newer_min_) {
    newer_min_ = s.deadline;
  }
  if (s.deadline < timer_at_) {
    arm_timeouts();
  }
  return s.call_id;
}

Node::CallSlot* Node::find_call(std::uint64_t call_id) {
  const std::uint64_t index = call_id & kCallIndexMask;
  if (call_id == 0 || index >= calls_.size() || calls_[index].call_id != call_id) {
    return nullptr;
  }
  return &calls_[index];
}

void Node::close_call(CallSlot& s) {
  s.call_id = 0;
  s.awaiter = nullptr;
  s.frame = nullptr;
  s.done = nullptr;
  const auto index = static_cast<std::uint32_t>(&s - calls_.data());
  s.next_free = calls_free_;
  calls_free_ = index;
  --calls_live_;
}

void Node::complete_call(CallSlot& s, RpcResult r) {
  r.latency = sim().now() - s.started;
  const NodeId dst = s.dst;
  if (CallAwaiter* a = s.awaiter) {
    // The awaiter lives in the caller's coroutine frame, rarely in cache: fetch it while the
    // trace record is hashed.
    __builtin_prefetch(&a->result_);
    __builtin_prefetch(&a->waiter_);
    __builtin_prefetch(s.frame);  // its resume pointer, read by resume()
    close_call(s);
    trace_call(dst, r);
    a->call_id_ = 0;
    a->result_ = std::move(r);
    wake(a->waiter_);
    return;
  }
  auto done = std::move(s.done);
  close_call(s);
  trace_call(dst, r);
  if (state_ == NodeState::kUp) {
    done(std::move(r));  // the common case, without wrapping the callback again
    return;
  }
  run_or_defer([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

void Node::arm_timeouts() {
  // Drop the entries of finished calls from the front, so the timer is not armed for them.
  while (sorted_head_ < sorted_.size() && find_call(sorted_[sorted_head_].call_id) == nullptr) {
    ++sorted_head_;
  }
  if (sorted_head_ == sorted_.size()) {
    sorted_.clear();
    sorted_head_ = 0;
  }
  Time next = newer_min_;
  if (sorted_head_ < sorted_.size()) {
    next = std::min(next, sorted_[sorted_head_].at);
  }
  if (next == timer_at_) {
    return;
  }
  if (timer_at_ != Time::max()) {
    process_.cancel(timer_);
  }
  timer_at_ = next;
  if (next != Time::max()) {
    timer_ = process_.schedule_at(next, [this] { on_timeout_timer(); });
  }
}

void Node::rescan_deadlines() {
  sorted_.clear();
  sorted_head_ = 0;
  for (const CallSlot& s : calls_) {
    if (s.call_id != 0 && s.deadline != Time::max()) {
      sorted_.push_back(Deadline{s.deadline, s.call_id});
    }
  }
  // Call ids grow with call order (the sequence is in the high bits), so equal deadlines
  // expire in the order the calls were made, as separate timers would.
  std::sort(sorted_.begin(), sorted_.end(), [](const Deadline& a, const Deadline& b) {
    return a.at != b.at ? a.at < b.at : a.call_id < b.call_id;
  });
  newer_min_ = Time::max();
}

void Node::on_timeout_timer() {
  timer_at_ = Time::max();
  timer_ = EventId{};
  const Time now = sim().now();
  if (newer_min_ <= now) {
    rescan_deadlines();
  }
  // Completing a call runs its callback, which may make calls (re-arming the timer) or crash
  // this node (emptying the table): re-read the list on every step.
  while (sorted_head_ < sorted_.size()) {
    const Deadline d = sorted_[sorted_head_];
    CallSlot* s = find_call(d.call_id);
    if (s == nullptr) {
      ++sorted_head_;
      continue;
    }
    if (d.at > now) {
      break;
    }
    ++sorted_head_;
    complete_call(*s, RpcResult{RpcStatus::kTimeout, {}, 0, {}});
  }
  arm_timeouts();
}

void Node::reset_calls() {
  // The process was killed: its timer with it, and every awaiter has unregistered itself.
  calls_.clear();
  calls_free_ = 0xffffffffu;
  calls_live_ = 0;
  sorted_.clear();
  sorted_head_ = 0;
  newer_min_ = Time::max();
  if (timer_at_ != Time::max()) {
    process_.cancel(timer_);
  }
  timer_at_ = Time::max();
  timer_ = EventId{};
}

void Node::trace_call(NodeId dst, const RpcResult& r) {
  sim().record("rpc", "call",
               {{"node", name_},
                {"to", dst.value()},
                {"status", to_string(r.status)},
                {"latency_ns", r.latency}});
}

EventId Node::after(Duration d, std::function<void()> fn) {
  // Inline in the queue's slot, or the prefetch hook never runs (see TimerEvent).
  static_assert(sizeof(TimerEvent) <= kInlineCallableBytes && PrefetchingCallable<TimerEvent>);
  static_assert(sizeof(SleepEvent) <= kInlineCallableBytes && PrefetchingCallable<SleepEvent>);
  return process_.schedule_after(
      d, TimerEvent{this, program_.get(), std::make_unique<std::function<void()>>(std::move(fn))});
}

void Node::TimerEvent::prefetch(unsigned stage) const {
  // Stage 0 (three events ahead): the node's hot lines, the function and the program's first
  // lines, all known without reading anything. Stages 1 and 2: the program's own hook, which
  // reads what stage 0 fetched and fetches what the timer reads next.
  if (stage == 0) {
    const auto* p = reinterpret_cast<const char*>(node);
    __builtin_prefetch(p);
    __builtin_prefetch(p + 64);
    __builtin_prefetch(fn.get());
    if (const auto* q = reinterpret_cast<const char*>(program)) {
      for (int line = 0; line < 6; ++line) {
        __builtin_prefetch(q + 64 * line);
      }
    }
    return;
  }
  if (program != nullptr) {
    program->prefetch_timer(stage - 1);
  }
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
  event_ = n_->process_.schedule_after(d_, SleepEvent{this});
}

void Node::SleepEvent::prefetch(unsigned stage) const {
  // Stage 0: the awaiter (it lies in the sleeping coroutine's frame). Stage 1: the node's
  // first line (its state decides between resuming and parking) and the frame's first lines
  // (resume pointer, state index, the locals read next). Stage 2: nothing more is known.
  if (stage == 0) {
    __builtin_prefetch(awaiter);
    return;
  }
  if (stage == 1) {
    __builtin_prefetch(awaiter->n_);
    const auto* f = static_cast<const char*>(awaiter->waiter_.handle.address());
    if (f != nullptr) {
      __builtin_prefetch(f);
      __builtin_prefetch(f + 64);
    }
  }
}

Node::QuorumAwaiter::QuorumAwaiter(Node& n, std::vector<NodeId> dsts, Payload request,
                                   std::uint64_t size_bytes, Duration timeout, std::size_t needed)
    : n_(&n), dsts_(std::move(dsts)), request_(std::move(request)), size_(size_bytes),
      timeout_(timeout), needed_(needed) {
  result_.replies.resize(dsts_.size());
  result_.answered.assign(dsts_.size(), false);
  // Nothing to wait for: met at once (needed 0) or never (fewer destinations than needed).
  if (needed_ == 0 || dsts_.size() < needed_) {
    done_ = true;
    result_.reached = needed_ == 0;
  }
}

Node::QuorumAwaiter::~QuorumAwaiter() {
  if (link_) {
    link_->awaiter = nullptr;
  }
}

void Node::QuorumAwaiter::await_suspend(std::coroutine_handle<> h) {
  waiter_.handle = h;
  link_ = std::make_shared<Link>(Link{this});
  for (std::size_t i = 0; i < dsts_.size(); ++i) {
    // Replies go through the node's callback RPC, which holds them while the node is paused.
    n_->call(dsts_[i], request_, size_, timeout_, [link = link_, i](RpcResult r) {
      if (link->awaiter != nullptr) {
        link->awaiter->on_reply(i, std::move(r));
      }
    });
  }
}

void Node::QuorumAwaiter::on_reply(std::size_t i, RpcResult r) {
  if (done_) {
    return;
  }
  result_.succeeded += r.ok() ? 1 : 0;
  result_.replies[i] = std::move(r);
  result_.answered[i] = true;
  ++finished_;
  const std::size_t open = dsts_.size() - finished_;
  if (result_.succeeded >= needed_ || result_.succeeded + open < needed_) {
    done_ = true;
    result_.reached = result_.succeeded >= needed_;
    link_->awaiter = nullptr;
    n_->wake(waiter_);  // last: the coroutine may destroy this awaiter as it resumes
  }
}

Node::CallAwaiter::~CallAwaiter() {
  if (call_id_ != 0) {
    if (CallSlot* s = n_->find_call(call_id_); s != nullptr && s->awaiter == this) {
      n_->close_call(*s);
    }
  }
}

bool Node::CallAwaiter::await_suspend(std::coroutine_handle<> h) {
  started_ = n_->sim().now();
  if (!dst_.valid() || dst_.value() >= n_->world_->node_count()) {
    result_ = RpcResult{RpcStatus::kUnreachable, {}, 0, {}};
    return false;
  }
  waiter_.handle = h;
  call_id_ = n_->open_call(dst_, timeout_, this, nullptr);
  n_->send_request(dst_, call_id_, std::move(req_), size_);
  return true;
}

}  // namespace faultline::world
