// The API servers (rate limiter → idempotency layer → the charge endpoint in atomic phases),
// the external payment processor, and the worker that runs the completer and the reaper.
//
// The charge endpoint follows Brandur Leach's design (model-facts §6.2): phase 1 upserts the
// key (recovery point `started`, lock taken); the processor call is the foreign state mutation
// and gets a key derived from the key row (Brandur: "rocket-rides-atomic-#{key.id}"; here user,
// key and creation time, because a row id from a sequence can be handed out again after an
// asynchronous failover loses the rows that used it); the phase after it
// records the charge (and its outbox event) and moves to `charge_created`; the last stores the
// response and moves to `finished`. Each phase is one ledger transaction. A request that
// stops anywhere (crash, timeout, lost reply) leaves the key at its last recovery point; a
// retry with the same key, or the completer, takes the lock again and goes on from there.
#include "internal.hpp"

#include <faultline/probe.hpp>

#include <faultline/resilience/hedging.hpp>
#include <faultline/rng.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

namespace faultline::sim::stripe::detail {

// Code probes (docs/cli.md, "Fault coverage"): recovery paths a sweep should reach.
const ProbePoint kProbeResumed("stripe/api/resumed-from-recovery-point");
const ProbePoint kProbeCompleted("stripe/completer/finished-abandoned-key");

using world::Message;
using world::Node;
using world::Payload;
using world::Responder;
using world::RpcResult;

namespace {

std::int64_t amount_of(std::string_view params) {
  const auto at = params.find("amount=");
  if (at == std::string_view::npos) {
    return 0;
  }
  std::int64_t v = 0;
  const char* b = params.data() + at + 7;
  std::from_chars(b, params.data() + params.size(), v);
  return v;
}

ChargeResponse error(int status, std::string code, bool retry) {
  ChargeResponse r;
  r.status = status;
  r.error_code = std::move(code);
  r.should_retry = retry;
  return r;
}

}  // namespace

// --- the processor ----------------------------------------------------------------------------

class ProcessorProgram : public world::Program {
public:
  ProcessorProgram(StripeCluster::State& s, Node& node)
      : s_(s), node_(node), rng_(node.sim().rng("stripe/processor")) {}

  void start(Node& node) override {
    node.on_request([this](Message m) -> Task<world::Reply> { return serve(std::move(m)); });
  }

private:
  Task<world::Reply> serve(Message m) {
    const auto& req = m.payload.as<ProcessorCharge>();
    const auto& pp = s_.p.processor;
    // The outcome is decided (and the money moved) when the request arrives; the reply
    // leaves after the authorisation latency, so a lost reply or a caller's timeout leaves
    // the charge made and the caller not knowing.
    ProcessorResult result;
    auto known = req.key.empty() || !pp.honours_keys ? by_key_.end() : by_key_.find(req.key);
    if (known != by_key_.end()) {
      result = known->second;
    } else {
      result.declined = rng_.uniform01() < pp.decline_ratio;
      if (!result.declined) {
        result.charge = fmt::format("py_{}", ++charges_);
        s_.processor_charges.push_back({req.intent, node_.sim().now(), result.charge});
        if (++s_.processor_per_intent[req.intent] > 1) {
          ++s_.double_charges;
        }
        s_.processor_charge_ids.insert(result.charge);
        s_.counter("stripe/processor/charges").inc();
      }
      if (!req.key.empty() && pp.honours_keys) {
        by_key_.emplace(req.key, result);
      }
    }
    const double extra = -std::log(1.0 - rng_.uniform01()) *
                         static_cast<double>(pp.latency_exp_mean.ns());
    co_await node_.sleep(pp.latency_base + Duration::nanos(static_cast<std::int64_t>(extra)));
    co_return world::Reply{Payload::make<ProcessorResult>(std::move(result)), kSmallBytes};
  }

  StripeCluster::State& s_;
  Node& node_;
  Rng rng_;
  std::map<std::string, ProcessorResult> by_key_;
  std::uint64_t charges_ = 0;
};

world::ProgramFactory processor_factory(StripeCluster::State& s) {
  return [&s](Node& node) { return std::make_unique<ProcessorProgram>(s, node); };
}

// --- the charge endpoint's phases, shared by API servers and the completer ------------------

class ChargeFlow {
public:
  ChargeFlow(StripeCluster::State& s, Node& node) : s_(s), node_(node) {}

  /// Runs the phases of a locked key from its recovery point to the end, or to the first
  /// failure. The key's lock is ours (owner `key.lock_owner`).
  Task<ChargeResponse> drive(KeyRow key) {
    const auto& ap = s_.p.api;
    if (key.recovery_point == RecoveryPoint::kStarted) {
      ProcessorCharge pc;
      pc.key = ap.processor_keys
                   ? fmt::format("{}-{}-{}", key.user, key.key, key.created_at_ns)
                   : std::string();
      pc.intent = key.intent;
      pc.amount = amount_of(key.params);
      Payload r_req = Payload::make<ProcessorCharge>(pc);
      RpcResult r = co_await node_.call(s_.processor_id, r_req, kSmallBytes, ap.processor_timeout);
      const auto* res = r.ok() ? r.payload.get<ProcessorResult>() : nullptr;
      if (res == nullptr) {
        // Unknown outcome at the processor: give the key back at `started`; a retry (or the
        // completer) asks the processor again with the same processor key.
        TxnRequest unlock = unlock_of(key);
        co_await txn(unlock);
        co_return error(503, "api_error", true);
      }
      if (res->declined) {
        TxnRequest fin = finish_of(key, 402, "card_declined");
        auto done = co_await txn(fin);
        co_return done && done->ok ? error(402, "card_declined", false)
                                   : error(503, "api_error", true);
      }
      TxnRequest rec;
      rec.kind = TxnKind::kRecordCharge;
      rec.user = key.user;
      rec.key = key.key;
      rec.owner = key.lock_owner;
      rec.intent = key.intent;
      rec.processor_charge = res->charge;
      rec.amount = pc.amount;
      rec.outbox = s_.p.events == EventMode::kOutbox;
      auto recorded = co_await txn(rec);
      if (!recorded) {
        co_return error(503, "api_error", true);
      }
      if (!recorded->ok) {
        co_return error(409, "idempotency_key_in_use", true);  // the lock went to another
      }
      key = recorded->key;
    }
    if (key.recovery_point == RecoveryPoint::kChargeCreated) {
      TxnRequest fin = finish_of(key, 200, "");
      auto done = co_await txn(fin);
      if (!done) {
        co_return error(503, "api_error", true);
      }
      if (!done->ok) {
        co_return error(409, "idempotency_key_in_use", true);
      }
      key = done->key;
      co_await dual_write(key.user, key.response_body);
    }
    co_return stored(key, false);
  }

  /// Without an idempotency key: charge, then record. Nothing remembers the attempt.
  Task<ChargeResponse> charge_without_key(const ChargeRequest& req) {
    const auto& ap = s_.p.api;
    ProcessorCharge pc{{}, req.intent, req.amount};
    Payload r_req = Payload::make<ProcessorCharge>(pc);
    RpcResult r = co_await node_.call(s_.processor_id, r_req, kSmallBytes, ap.processor_timeout);
    const auto* res = r.ok() ? r.payload.get<ProcessorResult>() : nullptr;
    if (res == nullptr) {
      co_return error(503, "api_error", true);
    }
    if (res->declined) {
      co_return error(402, "card_declined", false);
    }
    TxnRequest t;
    t.kind = TxnKind::kChargeNoKey;
    t.user = req.user;
    t.intent = req.intent;
    t.processor_charge = res->charge;
    t.amount = req.amount;
    t.outbox = s_.p.events == EventMode::kOutbox;
    auto done = co_await txn(t);
    if (!done) {
      co_return error(503, "api_error", true);
    }
    co_await dual_write(req.user, done->charge_id);
    ChargeResponse ok;
    ok.status = 200;
    ok.charge_id = done->charge_id;
    co_return ok;
  }

  static ChargeResponse stored(const KeyRow& key, bool replayed) {
    ChargeResponse r;
    r.status = key.response_code;
    if (key.response_code == 200) {
      r.charge_id = key.response_body;
    } else {
      r.error_code = key.response_body;
    }
    r.replayed = replayed;
    return r;
  }

  Task<std::optional<TxnReply>> txn(const TxnRequest& t) {
    return ledger_txn(node_, s_, leader_, t);
  }

private:
  static TxnRequest unlock_of(const KeyRow& key) {
    TxnRequest t;
    t.kind = TxnKind::kUnlock;
    t.user = key.user;
    t.key = key.key;
    t.owner = key.lock_owner;
    return t;
  }
  static TxnRequest finish_of(const KeyRow& key, int code, std::string body) {
    TxnRequest t;
    t.kind = TxnKind::kFinish;
    t.user = key.user;
    t.key = key.key;
    t.owner = key.lock_owner;
    t.response_code = code;
    t.response_body = std::move(body);
    return t;
  }

  /// Dual-write mode: publish the event after the commit, once, outside any transaction.
  /// If the log does not take it, it is gone (nothing remembers to send it again).
  Task<void> dual_write(const std::string& user, const std::string& charge_id) {
    if (s_.p.events != EventMode::kDualWrite || charge_id.empty()) {
      co_return;
    }
    const std::string event_id = "evt_" + charge_id;
    s_.committed.push_back({event_id, node_.sim().now()});
    std::vector<LogEvent> events{LogEvent{event_id, user, charge_id}};
    const bool ok = co_await publish(node_, s_, std::move(events));
    s_.counter(ok ? std::string_view("stripe/outbox/published")
                  : std::string_view("stripe/dual_write/lost"))
        .inc();
  }

  StripeCluster::State& s_;
  Node& node_;
  int leader_ = 0;
};

// --- API servers ------------------------------------------------------------------------------

class ApiProgram : public world::Program {
public:
  ApiProgram(StripeCluster::State& s, Node& node) : s_(s), node_(node), flow_(s, node) {}

  void start(Node& node) override {
    node.on_request([this](Message m) -> Task<world::Reply> { return serve(std::move(m)); });
  }

private:
  Task<world::Reply> serve(Message m) {
    if (const auto* rr = m.payload.get<RetrieveRequest>()) {
      co_await node_.compute(s_.p.api.request_cpu);
      RetrieveResponse resp = co_await retrieve(rr->intent);
      co_return world::Reply{Payload::make<RetrieveResponse>(std::move(resp)), kSmallBytes};
    }
    const auto& req = m.payload.as<ChargeRequest>();
    co_await node_.compute(s_.p.api.request_cpu);
    ChargeResponse resp = co_await handle(req);
    s_.counter(fmt::format("stripe/api/{}", resp.status)).inc();
    if (resp.replayed) {
      s_.counter("stripe/api/replayed").inc();
    }
    co_return world::Reply{Payload::make<ChargeResponse>(std::move(resp)), kSmallBytes};
  }

  Task<ChargeResponse> handle(const ChargeRequest& req) {
    const auto& ap = s_.p.api;
    // Rate limiting runs before the idempotency layer (§6.1): a 429 touches no key, so the
    // same key can get a different answer later.
    if (ap.rate_limit_per_s > 0 && !admit(req.user)) {
      co_return error(429, "rate_limit", true);
    }
    if (!ap.idempotency || req.idempotency_key.empty()) {
      co_return co_await flow_.charge_without_key(req);
    }
    if (static_cast<int>(req.idempotency_key.size()) > ap.max_key_length) {
      co_return error(400, "invalid_request_error", false);  // not stored: validation failed
    }
    TxnRequest begin;
    begin.kind = TxnKind::kBegin;
    begin.user = req.user;
    begin.key = req.idempotency_key;
    begin.params = req.params();
    begin.intent = req.intent;
    begin.lock_timeout_ns = ap.lock_timeout.ns();
    auto b = co_await flow_.txn(begin);
    if (!b) {
      co_return error(503, "api_error", true);
    }
    switch (b->begin) {
      case BeginOutcome::kMismatch: co_return error(400, "idempotency_error", false);
      case BeginOutcome::kInUse: co_return error(409, "idempotency_key_in_use", true);
      case BeginOutcome::kReplay: co_return ChargeFlow::stored(b->key, true);
      case BeginOutcome::kNew: break;
      case BeginOutcome::kResume: FAULTLINE_PROBE(node_.sim(), kProbeResumed); break;
    }
    co_return co_await flow_.drive(b->key);
  }

  /// One hedged read: copies go to distinct ledger nodes (round robin from this server), the
  /// first answer wins; a node that is recovering, or silent within read_timeout, is a failed
  /// copy (the hedge is then sent at once). A 404 is an answer: the read does not know whether
  /// the node that gave it is behind.
  struct ReadCtx {
    Completion<RetrieveResponse> done;
    std::unique_ptr<resilience::HedgedRequest> hedged;
    std::vector<std::size_t> nodes;
    Time started{};
  };

  Task<RetrieveResponse> retrieve(const std::string& intent) {
    const auto& ap = s_.p.api;
    Simulation& sim = node_.sim();
    const std::size_t n = s_.ledger_ids.size();
    const int hedges =
        ap.read_hedge.enabled ? std::min(ap.read_hedge.max_hedges, static_cast<int>(n) - 1) : 0;
    auto ctx = std::make_shared<ReadCtx>(
        ReadCtx{Completion<RetrieveResponse>(sim), nullptr, {}, sim.now()});
    const std::size_t first = next_read_++ % n;
    for (int k = 0; k <= hedges; ++k) {
      ctx->nodes.push_back((first + static_cast<std::size_t>(k)) % n);
    }
    TxnRequest t;
    t.kind = TxnKind::kGetCharge;
    t.intent = intent;
    std::weak_ptr<ReadCtx> weak = ctx;
    resilience::HedgedRequest::Hooks hooks;
    hooks.send = [this, weak, t](int copy) {
      auto c = weak.lock();
      if (!c) {
        return;
      }
      s_.counter(metric_names().read_attempts).inc();
      if (copy > 0) {
        s_.counter("stripe/reads/hedges_sent").inc();
      }
      const world::NodeId dst = s_.ledger_ids[c->nodes[static_cast<std::size_t>(copy)]];
      node_.call(dst, Payload::make<LedgerRead>(LedgerRead{t}), 512, s_.p.api.read_timeout,
                 [this, c, copy](RpcResult r) {
                   const auto* a = r.ok() ? r.payload.get<LedgerAnswer>() : nullptr;
                   const bool answered = a != nullptr && !a->not_leader;
                   RetrieveResponse resp;
                   resp.status = 503;
                   if (answered) {
                     resp.status = a->reply.charges.empty() ? 404 : 200;
                     if (!a->reply.charges.empty()) {
                       resp.charge_id = a->reply.charges.front().id;
                     }
                   }
                   if (c->hedged->on_reply(copy, answered)) {
                     if (answered) {
                       read_latency_.record(node_.sim().now() - c->started);
                       if (copy > 0) {
                         s_.counter("stripe/reads/hedges_won").inc();
                       }
                     }
                     c->done.set(std::move(resp));
                   }
                 });
    };
    hooks.arm = [&node = node_](Duration d, std::function<void()> fn) {
      return node.after(d, std::move(fn));  // a paused process sends no hedge
    };
    const Duration delay = resilience::hedge_delay(ap.read_hedge, read_latency_);
    ctx->hedged = std::make_unique<resilience::HedgedRequest>(sim, hedges, delay, std::move(hooks));
    ctx->hedged->start();
    const std::optional<RetrieveResponse> v = co_await ctx->done.wait();
    PassGate gate(node_);
    co_await gate;
    co_return v.value_or(RetrieveResponse{503, {}});
  }

  /// A token bucket per user, refilled continuously on this server's clock.
  bool admit(const std::string& user) {
    const auto& ap = s_.p.api;
    auto [it, fresh] = buckets_.try_emplace(user, Bucket{ap.rate_limit_burst, node_.sim().now()});
    Bucket& b = it->second;
    const double dt = static_cast<double>((node_.sim().now() - b.at).ns()) / 1e9;
    b.tokens = std::min(ap.rate_limit_burst, b.tokens + dt * ap.rate_limit_per_s);
    b.at = node_.sim().now();
    if (b.tokens < 1.0) {
      return false;
    }
    b.tokens -= 1.0;
    return true;
  }

  struct Bucket {
    double tokens = 0;
    Time at;
  };
  std::size_t next_read_ = 0;
  Histogram read_latency_;  // this server's answered reads, for a percentile hedge delay
  StripeCluster::State& s_;
  Node& node_;
  ChargeFlow flow_;
  std::map<std::string, Bucket> buckets_;
};

world::ProgramFactory api_factory(StripeCluster::State& s, int /*index*/) {
  return [&s](Node& node) { return std::make_unique<ApiProgram>(s, node); };
}

// --- the worker: completer and reaper ---------------------------------------------------------

class WorkerProgram : public world::Program {
public:
  WorkerProgram(StripeCluster::State& s, Node& node) : s_(s), node_(node), flow_(s, node) {}

  void start(Node& node) override {
    if (s_.p.completer.enabled) {
      node.spawn(complete());
    }
    if (s_.p.reaper.enabled) {
      node.spawn(reap());
    }
  }

private:
  /// Brandur's completer: takes the locks of keys nobody has run for a while and drives them
  /// to the end, so a charge whose customer gave up is still recorded (and its event sent).
  Task<void> complete() {
    const auto& cp = s_.p.completer;
    while (true) {
      co_await node_.sleep(cp.interval);
      TxnRequest list;
      list.kind = TxnKind::kListAbandoned;
      list.lock_timeout_ns = s_.p.api.lock_timeout.ns();
      list.older_than_ns = cp.abandoned_after.ns();
      list.limit = cp.batch;
      list.take_locks = true;
      auto found = co_await flow_.txn(list);
      if (!found) {
        continue;
      }
      for (const KeyRow& k : found->keys) {
        ChargeResponse r = co_await flow_.drive(k);
        if (r.status == 200 || r.status == 402) {
          FAULTLINE_PROBE(node_.sim(), kProbeCompleted);
          s_.counter("stripe/completer/completed").inc();
        }
      }
    }
  }

  Task<void> reap() {
    const auto& rp = s_.p.reaper;
    while (true) {
      co_await node_.sleep(rp.interval);
      TxnRequest t;
      t.kind = TxnKind::kReap;
      t.older_than_ns = rp.horizon.ns();
      auto done = co_await flow_.txn(t);
      if (done) {
        s_.counter("stripe/reaper/deleted").inc(static_cast<std::uint64_t>(done->affected));
      }
    }
  }

  StripeCluster::State& s_;
  Node& node_;
  ChargeFlow flow_;
};

world::ProgramFactory worker_factory(StripeCluster::State& s) {
  return [&s](Node& node) { return std::make_unique<WorkerProgram>(s, node); };
}

}  // namespace faultline::sim::stripe::detail
