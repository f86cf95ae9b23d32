// Nodes: simulated processes that run on hosts, and the RPC and messaging API of model code.
//
// A Node is what model code sees as "ctx": it sends one-way messages, makes RPCs
// (`co_await node.call(dst, req, size, timeout)`), sleeps, computes on its host's CPU, waits on
// its host's clock, and spawns coroutines; or registers handlers for messages and requests.
//
// Lifecycle. A node is built by a ProgramFactory at boot and at every restart: the factory
// returns the Program object that holds all volatile state, and Program::start registers
// handlers and spawns coroutines. A crash kills the node's faultline::Process (every coroutine
// frame and timer dies at once), destroys the Program and the handlers, forgets pending calls,
// and (per DiskParams) loses unsynced writes; a restart calls the factory again, so the new
// incarnation sees only durable disk state. A pause stops the node from running anything —
// timers, replies, CPU completions and messages wait — until resume, when they run in order.
#pragma once

#include <faultline/task.hpp>
#include <faultline/world/cpu.hpp>
#include <faultline/world/gate.hpp>
#include <faultline/world/ids.hpp>
#include <faultline/world/message.hpp>
#include <faultline/world/network.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>  // kept for code that relied on it through this header
#include <vector>

namespace faultline::world {

class Host;
class Node;
class World;

/// The volatile part of a simulated process. Subclass it to hold a model's in-memory state.
class Program {
public:
  virtual ~Program() = default;
  /// Called once per incarnation, right after construction: register handlers, spawn tasks.
  virtual void start(Node& node) { (void)node; }
  /// Called two events (stage 0) and one event (stage 1) before one of this node's
  /// Node::after timers runs (see Node::TimerEvent), the program object's first lines having
  /// been fetched one event before stage 0: prefetch what the timers will read, stage 1 what
  /// stage 0 fetched leads to. Only a hint; it must not change any state.
  virtual void prefetch_timer(unsigned stage) const { (void)stage; }
};

/// Builds a fresh Program for an incarnation of `node` (from its disk's durable state only).
using ProgramFactory = std::function<std::unique_ptr<Program>(Node& node)>;

enum class NodeState : std::uint8_t { kUp, kPaused, kCrashed };

enum class RpcStatus : std::uint8_t {
  kOk,
  kTimeout,      // no reply within the timeout (lost, partitioned, slow, or host down)
  kUnreachable,  // refused: the destination process is down, or no such node
};
std::string_view to_string(RpcStatus s);

struct RpcResult {
  RpcStatus status = RpcStatus::kTimeout;
  Payload payload;
  std::uint64_t size_bytes = 0;
  /// True time from the call to the outcome.
  Duration latency{};
  bool ok() const { return status == RpcStatus::kOk; }
};

/// What a coroutine request handler returns.
struct Reply {
  Payload payload;
  std::uint64_t size_bytes = 0;
};

/// Answers one request, once; answering for a dead incarnation does nothing.
class Responder {
public:
  Responder() = default;
  void reply(Payload payload, std::uint64_t size_bytes) const;
  explicit operator bool() const { return node_ != nullptr; }

private:
  friend class Node;
  Responder(Node* node, NodeId to, std::uint64_t call_id, std::uint64_t incarnation)
      : node_(node), to_(to), call_id_(call_id), incarnation_(incarnation) {}
  Node* node_ = nullptr;
  NodeId to_;
  std::uint64_t call_id_ = 0;
  std::uint64_t incarnation_ = 0;
};

// Cache-line aligned: what a delivery and an RPC read of the node sits in its first four lines
// (see the members), which the network fetches ahead of an arrival.
class alignas(64) Node final : public ResumeGate, public Endpoint {
public:
  using MessageHandler = std::function<void(const Message&)>;
  using RequestHandler = std::function<void(const Message&, Responder)>;
  using CoRequestHandler = std::function<Task<Reply>(Message)>;

  Node(World& world, NodeId id, Host& host, std::string name, std::string group,
       ProgramFactory factory);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();

  // --- identity --------------------------------------------------------------------------
  NodeId id() const { return id_; }
  const std::string& name() const { return name_; }
  /// The service group ("api", "cache") that Chaos Monkey and group targets select by.
  const std::string& group() const { return group_; }
  Host& host() const { return *host_; }
  World& world() const { return *world_; }
  Simulation& sim() const;
  NodeState state() const { return state_; }
  bool up() const { return state_ != NodeState::kCrashed; }
  /// Starts at 1 on boot; +1 per restart.
  std::uint64_t incarnation() const { return incarnation_; }
  /// The Program of this incarnation (nullptr while crashed).
  Program* program() const { return program_.get(); }
  template <class P>
  P& program_as() const {
    return dynamic_cast<P&>(*program_);
  }
  faultline::Process& process() { return process_; }

  // --- coroutine context -----------------------------------------------------------------
  void spawn(Task<void> task) { process_.spawn(std::move(task)); }

  class SleepAwaiter {
  public:
    SleepAwaiter(Node& n, Duration d) : n_(&n), d_(d) {}
    SleepAwaiter(const SleepAwaiter&) = delete;
    SleepAwaiter& operator=(const SleepAwaiter&) = delete;
    ~SleepAwaiter();
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}

  private:
    friend class Node;
    Node* n_;
    Duration d_;
    EventId event_;
    Waiter waiter_;
  };
  /// Sleeps for `d` of true time (pause-aware). For the host clock, use wait_until_abs.
  SleepAwaiter sleep(Duration d) { return SleepAwaiter{*this, d}; }
  /// Runs `service_time` of work on the host's CPU (queueing behind other work).
  Cpu::RunAwaiter compute(Duration service_time);
  /// An absolute timed wait on the host clock (see Clock::wait_until_abs).
  Task<void> wait_until_abs(UtcInstant deadline);
  /// The host's local clock reading.
  UtcInstant clock_now() const;

  class CallAwaiter {
  public:
    CallAwaiter(Node& n, NodeId dst, Payload req, std::uint64_t size_bytes, Duration timeout)
        : n_(&n), dst_(dst), req_(std::move(req)), size_(size_bytes), timeout_(timeout) {}
    CallAwaiter(const CallAwaiter&) = delete;
    CallAwaiter& operator=(const CallAwaiter&) = delete;
    ~CallAwaiter();
    bool await_ready() const noexcept { return false; }
    /// False (no suspension) when the destination does not exist: kUnreachable at once.
    bool await_suspend(std::coroutine_handle<> h);
    RpcResult await_resume() { return std::move(result_); }

  private:
    friend class Node;
    Node* n_;
    NodeId dst_;
    Payload req_;
    std::uint64_t size_;
    Duration timeout_;
    std::uint64_t call_id_ = 0;  // nonzero while registered in the node's call table
    Time started_{};
    RpcResult result_;
    Waiter waiter_;
  };
  /// `RpcResult r = co_await node.call(dst, Payload::make<Get>(k), 64, 250_ms);`
  CallAwaiter call(NodeId dst, Payload request, std::uint64_t size_bytes, Duration timeout) {
    return CallAwaiter{*this, dst, std::move(request), size_bytes, timeout};
  }

  /// The outcome of call_quorum / call_any: one result per destination, in order. Calls still
  /// in flight when the wait ended keep status kTimeout, an empty payload and answered false.
  struct QuorumResult {
    bool reached = false;       // `needed` calls returned kOk
    std::size_t succeeded = 0;  // calls that returned kOk before the wait ended
    std::vector<RpcResult> replies;
    std::vector<bool> answered;
  };

  class QuorumAwaiter {
  public:
    QuorumAwaiter(Node& n, std::vector<NodeId> dsts, Payload request, std::uint64_t size_bytes,
                  Duration timeout, std::size_t needed);
    QuorumAwaiter(const QuorumAwaiter&) = delete;
    QuorumAwaiter& operator=(const QuorumAwaiter&) = delete;
    ~QuorumAwaiter();
    bool await_ready() const noexcept { return done_; }
    void await_suspend(std::coroutine_handle<> h);
    QuorumResult await_resume() { return std::move(result_); }

  private:
    struct Link {
      QuorumAwaiter* awaiter;  // nulled when the awaiter goes: late replies are dropped
    };
    void on_reply(std::size_t i, RpcResult r);

    Node* n_;
    std::vector<NodeId> dsts_;
    Payload request_;
    std::uint64_t size_;
    Duration timeout_;
    std::size_t needed_;
    std::size_t finished_ = 0;
    bool done_ = false;
    QuorumResult result_;
    std::shared_ptr<Link> link_;
    Waiter waiter_;
  };
  /// Calls every destination at once and resumes when `needed` of them returned kOk, or as soon
  /// as that can no longer happen (too many failed or timed out). Pause-aware like every wait
  /// of a node: replies that arrive while this node is paused are handled, and the coroutine
  /// resumes, only after resume(); a crash destroys the wait with the coroutine.
  ///   `QuorumResult q = co_await node.call_quorum(replicas, Payload::make<Write>(w), 64,
  ///                                               250_ms, replicas.size() / 2 + 1);`
  QuorumAwaiter call_quorum(std::vector<NodeId> dsts, Payload request, std::uint64_t size_bytes,
                            Duration timeout, std::size_t needed) {
    return QuorumAwaiter{*this, std::move(dsts), std::move(request), size_bytes, timeout, needed};
  }
  /// call_quorum with needed = 1: the first successful reply wins (a hedge over replicas).
  QuorumAwaiter call_any(std::vector<NodeId> dsts, Payload request, std::uint64_t size_bytes,
                         Duration timeout) {
    return QuorumAwaiter{*this, std::move(dsts), std::move(request), size_bytes, timeout, 1};
  }

  // --- handler context -------------------------------------------------------------------
  /// One-way message.
  void send(NodeId dst, Payload payload, std::uint64_t size_bytes);
  /// Callback RPC: `done` runs exactly once (unless this incarnation dies first).
  void call(NodeId dst, Payload request, std::uint64_t size_bytes, Duration timeout,
            std::function<void(RpcResult)> done);
  /// A timer that dies with this incarnation and waits while paused. The id lets a caller
  /// cancel a timer that has become moot (cancel_timer), so it costs no event; one that fired
  /// while the node was paused is already deferred and runs on resume regardless.
  EventId after(Duration d, std::function<void()> fn);
  /// True if the timer was still pending and will now never run.
  bool cancel_timer(EventId id) { return process_.cancel(id); }
  /// Callback work on the host's CPU; `done` runs only if this incarnation is still alive.
  void compute(Duration service_time, std::function<void()> done);

  void on_message(MessageHandler h) { on_message_ = std::move(h); }
  void on_request(RequestHandler h) { on_request_ = std::move(h); }
  /// Each request runs as a coroutine of this node; its Reply is sent back.
  void on_request(CoRequestHandler h) { on_co_request_ = std::move(h); }

  // --- lifecycle (the World and the FaultInjector drive these) ---------------------------
  /// Kills the incarnation. `host_crash`: the host's disk loses its page cache regardless.
  void crash(bool host_crash = false);
  /// Builds a new incarnation (from a crash), or does nothing if up.
  void restart();
  void pause();
  void resume();
  /// First boot (World::add_node schedules it).
  void boot();

  // --- ResumeGate / Endpoint -------------------------------------------------------------
  void wake(Waiter& w) override;
  void unpark(Waiter& w) noexcept override;
  HostId host_id() const override;
  Admission admit(const Message& m) override;
  void deliver(Message&& m) override;
  void prefetch(const Message& m, unsigned stage) const override;

  std::uint64_t calls_pending() const { return calls_live_; }

private:
  friend class Responder;
  friend class Host;
  /// One outstanding call (coroutine or callback) in the node's call table. A call id is
  /// (sequence << kCallIndexBits) | slot index: the index finds the slot in O(1) without a
  /// hash, the never-reused sequence (it survives restarts) tells a late reply for a finished
  /// call, or for an earlier incarnation's call, from the slot's current occupant.
  struct CallSlot {
    std::uint64_t call_id = 0;  // 0: free
    Time deadline{};
    Time started{};
    CallAwaiter* awaiter = nullptr;         // a coroutine call (frame: its coroutine), or
    void* frame = nullptr;
    std::function<void(RpcResult)> done;    // a callback call
    NodeId dst;
    std::uint32_t next_free = 0;
  };
  /// Timeouts are checked lazily: a finished call only frees its slot, and one timer per node
  /// stands at (or before) the earliest deadline of the live calls. `sorted_` holds (deadline,
  /// call id) of the calls live at the last scan, in expiry order (entries go stale as calls
  /// finish and are skipped); calls made since are summarised by `newer_min_`, the earliest of
  /// their deadlines, and merged in by the next scan once it comes due.
  struct Deadline {
    Time at;
    std::uint64_t call_id;
  };
  static constexpr unsigned kCallIndexBits = 24;
  static constexpr std::uint64_t kCallIndexMask = (std::uint64_t{1} << kCallIndexBits) - 1;
  std::uint64_t open_call(NodeId dst, Duration timeout, CallAwaiter* awaiter,
                          std::function<void(RpcResult)>* done);
  CallSlot* find_call(std::uint64_t call_id);
  void close_call(CallSlot& s);
  void complete_call(CallSlot& s, RpcResult r);
  void arm_timeouts();
  void on_timeout_timer();
  void rescan_deadlines();
  void reset_calls();
  void dispatch(Message&& m);
  /// One trace record per finished call, on the caller's track, with its latency (the
  /// Perfetto export draws it as a slice).
  void trace_call(NodeId dst, const RpcResult& r);
  void send_reply(NodeId to, std::uint64_t call_id, Payload p, std::uint64_t size);
  void send_request(NodeId dst, std::uint64_t call_id, Payload p, std::uint64_t size);
  void send_message(NodeId dst, MessageKind kind, std::uint64_t call_id, Payload p,
                    std::uint64_t size);
  Task<void> serve_co(Message m);
  void run_parked();
  void run_or_defer(std::function<void()> fn);
  /// A Node::after timer as an event: carries a prefetch hook, so that the event queue warms
  /// the node, its program and what the program says its timers read before it runs. The
  /// function lives behind a pointer so that the event fits a queue slot's inline storage:
  /// the queue runs hooks only for callables stored inline, and a 40-byte {node, function}
  /// was boxed, which left every timer's hook dead (issue #20).
  struct TimerEvent {
    Node* node;
    /// The incarnation's program when the timer was set (null during its construction): a
    /// crash cancels the timer before it destroys the program, so the hook may read it, and
    /// stage 0 can fetch it without first reading the node.
    const Program* program;
    std::unique_ptr<std::function<void()>> fn;
    void operator()() { node->run_or_defer(std::move(*fn)); }
    void prefetch(unsigned stage) const;
  };
  /// A sleeping coroutine's wake-up as an event, with a hook that warms the awaiter (in the
  /// coroutine's frame), the node and the frame's first lines before it resumes.
  struct SleepEvent {
    SleepAwaiter* awaiter;
    void operator()() const { awaiter->n_->wake(awaiter->waiter_); }
    void prefetch(unsigned stage) const;
  };

  // What every arrival and every call reads comes first, within the node's first four cache
  // lines (256 bytes; the constructor checks it), so a delivery touches few lines
  // of the node (with 10,000 nodes the node is rarely in cache when a message arrives).
  World* world_;
  NodeId id_;
  NodeState state_ = NodeState::kCrashed;
  bool host_up_ = true;  // mirrors host().up(), read on every arrival
  Host* host_;
  std::uint64_t incarnation_ = 0;
  std::unique_ptr<Program> program_;
  std::string name_;  // in every RPC's trace record
  MessageHandler on_message_;
  RequestHandler on_request_;
  CoRequestHandler on_co_request_;
  std::vector<CallSlot> calls_;
  std::uint32_t calls_free_ = 0xffffffffu;
  std::uint32_t calls_live_ = 0;
  std::uint64_t next_call_seq_ = 1;  // never reset: call ids stay unique across incarnations
  Time timer_at_ = Time::max();      // when the timeout timer fires (max: not armed)
  EventId timer_;
  Time newer_min_ = Time::max();
  std::vector<Deadline> sorted_;
  std::size_t sorted_head_ = 0;
  std::string group_;
  ProgramFactory factory_;
  faultline::Process process_;
  Waiter* parked_head_ = nullptr;
  Waiter* parked_tail_ = nullptr;
  std::deque<std::function<void()>> deferred_;  // messages and callbacks held while paused
};

}  // namespace faultline::world
