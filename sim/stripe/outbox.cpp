// Events out of the ledger (model-facts §6.3): the partitioned, replicated log (a leader per
// partition, followers mirroring it, acks = all, offsets), the outbox relay that publishes at
// least once, and consumers that deduplicate by event id and commit their offsets.
//
// Simplifications: a partition's leader is fixed (broker p mod brokers; its followers the next
// brokers), so a down leader makes its partition unavailable rather than failing over; a
// follower mirrors whatever its leader sends. Brokers write each partition and the committed
// offsets to their disk and fsync before acknowledging, so a restart loses nothing acked.
#include "internal.hpp"

#include <faultline/probe.hpp>

#include <fmt/format.h>

#include <map>
#include <set>

namespace faultline::sim::stripe::detail {

// Code probes (docs/cli.md, "Fault coverage"): recovery paths a sweep should reach.
const ProbePoint kProbeDuplicate("stripe/consumer/duplicate-dropped");

using world::Message;
using world::Node;
using world::Payload;
using world::RpcResult;

int partition_of(const StripeCluster::State& s, const std::string& aggregate) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : aggregate) {
    h = (h ^ c) * 1099511628211ull;
  }
  return static_cast<int>(h % static_cast<std::uint64_t>(s.p.log.partitions));
}

int partition_leader(const StripeCluster::State& s, int partition) {
  return partition % s.p.log.brokers;
}

namespace {

std::string encode(const LogEvent& e) {
  return fmt::format("{} {} {}\n", e.event_id, e.aggregate, e.charge);
}

}  // namespace

class BrokerProgram : public world::Program {
public:
  BrokerProgram(StripeCluster::State& s, int index, Node& node)
      : s_(s), index_(index), node_(node) {}

  void start(Node& node) override {
    // Reload partitions and offsets from the durable files (whole lines only).
    for (const std::string& f : node.host().disk().files()) {
      const std::string* text = node.host().disk().read(f);
      std::size_t pos = 0;
      while (text != nullptr && pos < text->size()) {
        const auto nl = text->find('\n', pos);
        if (nl == std::string::npos) {
          break;
        }
        const std::string line = text->substr(pos, nl - pos);
        pos = nl + 1;
        char a[128], b[128], c[128];
        if (f.rfind("partition.", 0) == 0 &&
            std::sscanf(line.c_str(), "%127s %127s %127s", a, b, c) == 3) {
          logs_[std::stoi(f.substr(10))].push_back({a, b, c});
        } else if (f == "offsets") {
          unsigned long long off = 0;
          int p = 0;
          if (std::sscanf(line.c_str(), "%127s %d %llu", a, &p, &off) == 3) {
            offsets_[{a, p}] = off;
          }
        }
      }
    }
    node.on_request([this](Message m) -> Task<world::Reply> { return serve(std::move(m)); });
  }

private:
  Task<world::Reply> serve(Message m) {
    if (const auto* pr = m.payload.get<Produce>()) {
      auto& log = logs_[pr->partition];
      ProduceAck ack;
      if (pr->from_leader) {
        log.resize(std::min<std::size_t>(log.size(), pr->base_offset));
      } else if (partition_leader(s_, pr->partition) != index_) {
        co_return world::Reply{Payload::make<ProduceAck>(ack), kSmallBytes};
      }
      const std::uint64_t base = log.size();
      std::string text;
      for (const LogEvent& e : pr->events) {
        log.push_back(e);
        text += encode(e);
      }
      const std::string file = fmt::format("partition.{}", pr->partition);
      co_await append_durably(node_, file, std::move(text));
      ack.ok = true;
      if (!pr->from_leader) {
        // acks = all: every follower must have it too.
        for (int k = 1; k < s_.p.log.replication; ++k) {
          const int f = (index_ + k) % s_.p.log.brokers;
          Produce copy{pr->partition, pr->events, true, base};
          Payload r_req = Payload::make<Produce>(std::move(copy));
          RpcResult r = co_await node_.call(s_.broker_ids[static_cast<std::size_t>(f)], r_req,
                                            1024, s_.p.log.produce_timeout / 2);
          const auto* fa = r.ok() ? r.payload.get<ProduceAck>() : nullptr;
          ack.ok = ack.ok && fa != nullptr && fa->ok;
        }
      }
      ack.next_offset = log.size();
      co_return world::Reply{Payload::make<ProduceAck>(ack), kSmallBytes};
    }
    if (const auto* f = m.payload.get<Fetch>()) {
      FetchReply rep;
      rep.ok = partition_leader(s_, f->partition) == index_;
      const auto& log = logs_[f->partition];
      for (std::uint64_t i = f->offset; rep.ok && i < log.size() &&
                                        rep.events.size() < static_cast<std::size_t>(f->limit);
           ++i) {
        rep.events.push_back(log[i]);
      }
      const auto bytes = kSmallBytes + 128 * rep.events.size();
      co_return world::Reply{Payload::make<FetchReply>(std::move(rep)), bytes};
    }
    if (const auto* c = m.payload.get<CommitOffset>()) {
      offsets_[{c->group, c->partition}] = c->offset;
      co_await append_durably(node_, "offsets",
                              fmt::format("{} {} {}\n", c->group, c->partition, c->offset));
      co_return world::Reply{Payload::make<OffsetReply>(OffsetReply{true, c->offset}),
                             kSmallBytes};
    }
    const auto& q = m.payload.as<OffsetQuery>();
    auto it = offsets_.find({q.group, q.partition});
    co_return world::Reply{
        Payload::make<OffsetReply>(OffsetReply{true, it == offsets_.end() ? 0 : it->second}),
        kSmallBytes};
  }

  StripeCluster::State& s_;
  int index_;
  Node& node_;
  std::map<int, std::vector<LogEvent>> logs_;
  std::map<std::pair<std::string, int>, std::uint64_t> offsets_;
};

world::ProgramFactory broker_factory(StripeCluster::State& s, int index) {
  return [&s, index](Node& node) { return std::make_unique<BrokerProgram>(s, index, node); };
}

Task<bool> publish(Node& node, StripeCluster::State& s, std::vector<LogEvent> events) {
  std::map<int, std::vector<LogEvent>> by_partition;
  for (auto& e : events) {
    by_partition[partition_of(s, e.aggregate)].push_back(std::move(e));
  }
  bool all = true;
  for (auto& [p, evs] : by_partition) {
    const auto n = evs.size();
    Produce req{p, std::move(evs), false, 0};
    Payload r_req = Payload::make<Produce>(std::move(req));
    RpcResult r = co_await node.call(s.broker_ids[static_cast<std::size_t>(partition_leader(s,
                                     p))], r_req, 256 * n + 256, s.p.log.produce_timeout);
    const auto* ack = r.ok() ? r.payload.get<ProduceAck>() : nullptr;
    all = all && ack != nullptr && ack->ok;
  }
  co_return all;
}

// --- the relay --------------------------------------------------------------------------------

class RelayProgram : public world::Program {
public:
  RelayProgram(StripeCluster::State& s, Node& node) : s_(s), node_(node) {}
  void start(Node& node) override {
    if (s_.p.events == EventMode::kOutbox) {
      node.spawn(run());
    }
  }

private:
  /// Polls the outbox, publishes, then deletes what the log acknowledged. A crash or a failed
  /// publish between the two sends the same events again: at least once.
  Task<void> run() {
    const auto& lp = s_.p.log;
    while (true) {
      TxnRequest fetch;
      fetch.kind = TxnKind::kFetchOutbox;
      fetch.limit = lp.relay_batch;
      auto found = co_await ledger_txn(node_, s_, leader_, fetch);
      if (!found || found->events.empty()) {
        co_await node_.sleep(lp.relay_interval);
        continue;
      }
      std::vector<LogEvent> events;
      TxnRequest del;
      del.kind = TxnKind::kDeleteOutbox;
      for (const OutboxRow& e : found->events) {
        events.push_back({e.event_id, e.aggregate, e.charge});
        del.ids.push_back(e.id);
      }
      if (!co_await publish(node_, s_, std::move(events))) {
        co_await node_.sleep(lp.relay_interval);
        continue;
      }
      s_.counter("stripe/outbox/published").inc(del.ids.size());
      co_await ledger_txn(node_, s_, leader_, del);
    }
  }

  StripeCluster::State& s_;
  Node& node_;
  int leader_ = 0;
};

world::ProgramFactory relay_factory(StripeCluster::State& s) {
  return [&s](Node& node) { return std::make_unique<RelayProgram>(s, node); };
}

// --- consumers --------------------------------------------------------------------------------

class ConsumerProgram : public world::Program {
public:
  ConsumerProgram(StripeCluster::State& s, int index, Node& node)
      : s_(s), index_(index), node_(node) {}

  void start(Node& node) override {
    // The consumer's own store: ids of the events it applied, written with the effect.
    if (const std::string* text = node.host().disk().read("applied")) {
      std::size_t pos = 0;
      while (pos < text->size()) {
        const auto nl = text->find('\n', pos);
        if (nl == std::string::npos) {
          break;
        }
        applied_.insert(text->substr(pos, nl - pos));
        pos = nl + 1;
      }
    }
    node.spawn(run());
  }

private:
  Task<void> run() {
    const auto& lp = s_.p.log;
    const std::string group = "ledger-events";
    std::map<int, std::uint64_t> offsets;
    while (true) {
      for (int p = index_; p < lp.partitions; p += lp.consumers) {
        const auto broker = s_.broker_ids[static_cast<std::size_t>(partition_leader(s_, p))];
        if (offsets.count(p) == 0) {
          Payload r_req = Payload::make<OffsetQuery>(OffsetQuery{group, p});
          RpcResult r = co_await node_.call(broker, r_req, kSmallBytes, lp.produce_timeout);
          const auto* o = r.ok() ? r.payload.get<OffsetReply>() : nullptr;
          if (o == nullptr) {
            continue;
          }
          offsets[p] = o->offset;
        }
        Payload r_req = Payload::make<Fetch>(Fetch{p, offsets[p], 100});
        RpcResult r = co_await node_.call(broker, r_req, kSmallBytes, lp.produce_timeout);
        const auto* f = r.ok() ? r.payload.get<FetchReply>() : nullptr;
        if (f == nullptr || !f->ok || f->events.empty()) {
          continue;
        }
        std::string text;
        std::vector<std::string> fresh;
        for (const LogEvent& e : f->events) {
          if (lp.consumer_dedupe && applied_.count(e.event_id) != 0) {
            FAULTLINE_PROBE(node_.sim(), kProbeDuplicate);
            s_.counter("stripe/events/duplicates_skipped").inc();
            continue;
          }
          applied_.insert(e.event_id);
          fresh.push_back(e.event_id);
          text += e.event_id + "\n";
        }
        if (!text.empty()) {
          co_await append_durably(node_, "applied", std::move(text));
          for (const std::string& id : fresh) {
            s_.applied.push_back({id, node_.sim().now()});
            ++s_.applied_count[id];
          }
          s_.counter("stripe/events/applied").inc(fresh.size());
        }
        const std::uint64_t next = offsets[p] + f->events.size();
        Payload c_req = Payload::make<CommitOffset>(CommitOffset{group, p, next});
        RpcResult c = co_await node_.call(broker, c_req, kSmallBytes, lp.produce_timeout);
        offsets[p] = next;
        (void)c;  // an uncommitted offset means redelivery after a restart, which dedupe absorbs
      }
      co_await node_.sleep(lp.consumer_interval);
    }
  }

  StripeCluster::State& s_;
  int index_;
  Node& node_;
  std::set<std::string> applied_;
};

world::ProgramFactory consumer_factory(StripeCluster::State& s, int index) {
  return [&s, index](Node& node) { return std::make_unique<ConsumerProgram>(s, index, node); };
}

}  // namespace faultline::sim::stripe::detail
