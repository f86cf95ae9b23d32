// Triggers (the Schemaless triggers post, model-facts §5.3): a trigger worker reads the BASE
// cells of the clusters it owns, in log order, and calls bill_rider for each, retrying a
// failed call until it succeeds before it moves on (so calls are in order per row key, and
// at least once). After a batch, at most every commit_interval, it records its offset,
// fsynced on its own disk: a restarted worker resumes where the last durable offset says and
// repeats what it did since. Only cells already on a minion are read (a prefix of the log
// every promotion keeps), so an offset stays valid when a minion becomes master. Calls are
// sequential per cluster, so one trigger loop bills at most ~1 / (call latency) cells a second.
//
// The billing service is the trigger's idempotent function: it deduplicates by cell address.
#include "internal.hpp"

#include <faultline/resilience/backoff.hpp>
#include <faultline/world/disk.hpp>

#include <fmt/format.h>

#include <limits>

namespace faultline::sim::schemaless::detail {

using world::Message;
using world::Node;
using world::Payload;
using world::Reply;
using world::RpcResult;

namespace {

class TriggerProgram : public world::Program {
public:
  TriggerProgram(SchemalessCluster::State& s, int index, Node& node)
      : s_(s), index_(index), node_(node),
        rng_(node.sim().rng(fmt::format("schemaless/trigger/{}/{}", index, node.incarnation()))) {}

  void start(Node& node) override {
    for (int c = index_; c < s_.p.storage.clusters; c += s_.p.triggers.workers) {
      node.spawn(listen(c));
    }
  }

private:
  std::string offset_file(int c) const { return fmt::format("offset-{}", c); }

  /// The last whole line of the offset file, or nullopt.
  std::optional<std::size_t> saved_offset(int c) {
    const std::string* f = node_.host().disk().read(offset_file(c));
    if (f == nullptr) {
      return std::nullopt;
    }
    std::optional<std::size_t> out;
    std::size_t pos = 0;
    while (pos < f->size()) {
      const auto nl = f->find('\n', pos);
      if (nl == std::string::npos) {
        break;
      }
      out = static_cast<std::size_t>(std::stoull(f->substr(pos, nl - pos)));
      pos = nl + 1;
    }
    return out;
  }

  Task<void> listen(int c) {
    const TriggerParams& tp = s_.p.triggers;
    std::size_t offset = 0;
    if (tp.durable_offsets) {
      offset = saved_offset(c).value_or(0);
    } else if (node_.incarnation() > 1) {
      offset = std::numeric_limits<std::size_t>::max();  // start at the head
    }
    Time saved = node_.sim().now();
    for (;;) {
      const Payload req = Payload::make<Changes>(Changes{offset, "BASE", tp.batch});
      RpcResult r = co_await node_.call(s_.master_node(c), req, kSmallBytes, tp.call_timeout);
      if (!r.ok() || !r.payload.as<ChangesReply>().ok) {
        co_await node_.sleep(tp.poll_interval);
        continue;
      }
      const auto& ch = r.payload.as<ChangesReply>();
      const std::vector<Cell> cells = ch.cells;
      const std::size_t next = ch.next;
      for (const Cell& cell : cells) {
        co_await call_until_done(cell);
      }
      const bool moved = next != offset;
      offset = next;
      if (moved && tp.durable_offsets && node_.sim().now() - saved >= tp.commit_interval) {
        saved = node_.sim().now();
        const std::string file = offset_file(c);
        node_.host().disk().append_now(file, fmt::format("{}\n", offset));
        co_await node_.host().disk().fsync(file);
      }
      if (cells.empty()) {
        co_await node_.sleep(tp.poll_interval);
      }
    }
  }

  /// bill_rider(row_key), retried with capped exponential backoff until it succeeds.
  Task<void> call_until_done(const Cell& cell) {
    const TriggerParams& tp = s_.p.triggers;
    resilience::Backoff backoff(resilience::RetryParams{
        .max_attempts = 100, .base = tp.retry_base, .cap = tp.retry_cap});
    for (int failures = 0;; ++failures) {
      s_.counter("schemaless/triggers/calls").inc();
      const Payload req = Payload::make<Bill>(Bill{cell.address.row, cell.address.to_string()});
      RpcResult r = co_await node_.call(s_.billing_id, req, kSmallBytes, tp.call_timeout);
      if (r.ok() && r.payload.as<BillReply>().ok) {
        co_return;
      }
      s_.counter("schemaless/triggers/retries").inc();
      co_await node_.sleep(backoff.delay(failures + 1, rng_));
    }
  }

  SchemalessCluster::State& s_;
  int index_;
  Node& node_;
  Rng rng_;
};

class BillingProgram : public world::Program {
public:
  BillingProgram(SchemalessCluster::State& s, Node& node)
      : s_(s), node_(node), rng_(node.sim().rng("schemaless/billing")) {}
  void start(Node& node) override {
    node.on_request([this](Message m) { return serve(std::move(m)); });
  }

private:
  Task<Reply> serve(Message m) {
    const Bill bill = m.payload.as<Bill>();
    co_await node_.sleep(s_.p.billing.latency);
    BillReply out;
    const auto ratio = s_.p.billing.failure_ratio;
    if (ratio > 0.0 && rng_.uniform01() < ratio) {
      co_return Reply{Payload::make<BillReply>(out), kSmallBytes};
    }
    out.ok = true;
    if (!s_.p.billing.idempotent || s_.billed_cells.insert(bill.cell).second) {
      s_.bills.push_back({bill.trip, node_.sim().now(), "billed " + bill.cell});
      const int n = ++s_.bills_per_trip[bill.trip];
      if (n > 1) {
        ++s_.extra_bills;
      } else if (s_.acked_trips.count(bill.trip) != 0) {
        ++s_.trips_acked_and_billed;
      }
      s_.counter("schemaless/billing/charges").inc();
    }
    co_return Reply{Payload::make<BillReply>(out), kSmallBytes};
  }

  SchemalessCluster::State& s_;
  Node& node_;
  Rng rng_;
};

}  // namespace

world::ProgramFactory trigger_factory(SchemalessCluster::State& s, int index) {
  return [&s, index](Node& n) { return std::make_unique<TriggerProgram>(s, index, n); };
}
world::ProgramFactory billing_factory(SchemalessCluster::State& s) {
  return [&s](Node& n) { return std::make_unique<BillingProgram>(s, n); };
}

}  // namespace faultline::sim::schemaless::detail
