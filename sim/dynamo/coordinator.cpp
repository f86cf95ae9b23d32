// The request coordinator: quorum reads and writes over the preference list, sloppy quorums
// with hints, read repair. Runs on a storage node (server-driven) or a client (client-driven).
#include "cluster_impl.hpp"

#include <algorithm>
#include <memory>

namespace faultline::sim::dynamo::detail {

namespace {

// --- the coordinator ------------------------------------------------------------------------
// Runs on the process that coordinates: a storage node (server-driven) or a client (client-
// driven). Callback-based, so a quorum completes the moment the W-th or R-th reply arrives and
// the remaining replies are still seen (read repair, late acks). Callbacks die with the
// coordinating incarnation.

/// Every node once, clockwise from the key's arc: the ring's own cached walk, not a copy.
using Walk = std::vector<std::uint32_t>;

struct Targets {
  const Walk* walk = nullptr;
  std::vector<std::uint32_t> chosen;
  std::vector<std::uint32_t> hint_for;  // per chosen: the natural owner it stands in for
};

Targets choose_targets(Cluster::Impl& c, const View& view, const std::string& key, Time now) {
  Targets t;
  t.walk = &c.ring->walk_of_arc(c.ring->arc_of(key_position(key)));
  const std::size_t n = static_cast<std::size_t>(c.p.n);
  std::vector<std::uint32_t> natural(t.walk->begin(), t.walk->begin() + static_cast<long>(n));
  if (!c.p.sloppy_quorum) {
    t.chosen = natural;
    t.hint_for.assign(n, kNone);
    return t;
  }
  for (auto node : *t.walk) {
    if (t.chosen.size() == n) {
      break;
    }
    if (view.healthy(node, now, c.p.failure_timeout)) {
      t.chosen.push_back(node);
    }
  }
  // Too few healthy nodes: try suspected ones rather than fail outright (a suspicion may be
  // a slow reply, not a failure).
  for (auto node : *t.walk) {
    if (t.chosen.size() == n) {
      break;
    }
    if (std::find(t.chosen.begin(), t.chosen.end(), node) == t.chosen.end()) {
      t.chosen.push_back(node);
    }
  }
  // Pair the natural owners that were skipped with the stand-ins beyond the top N, in order:
  // each stand-in keeps the replica with a hint naming the owner (paper §4.6).
  std::vector<std::uint32_t> skipped;
  for (auto node : natural) {
    if (std::find(t.chosen.begin(), t.chosen.end(), node) == t.chosen.end()) {
      skipped.push_back(node);
    }
  }
  std::size_t k = 0;
  for (auto node : t.chosen) {
    const bool is_natural = std::find(natural.begin(), natural.end(), node) != natural.end();
    t.hint_for.push_back(!is_natural && k < skipped.size() ? skipped[k++] : kNone);
  }
  return t;
}

/// Owner load: the request counts for the first node of its walk that is up (true state, not
/// any process's view), i.e. the node that owns the key's range once membership converges.
void count_owner(Cluster::Impl& c, const Walk& walk) {
  for (auto node : walk) {
    if (c.live(node)) {
      ++c.owner_cur[node];
      return;
    }
  }
}

/// What a read and a write through the coordinator share: where they run, the walk of the
/// ring they try nodes from, which nodes they have asked, and whether they have finished.
/// Nothing here is as long as the cluster: the walk is the ring's, and the nodes asked are
/// a short list (N, plus one per failed replica), not a flag per node.
struct QuorumOp {
  Cluster::Impl* c = nullptr;
  Node* node = nullptr;
  View* view = nullptr;
  std::string key;
  const Walk* walk = nullptr;
  std::vector<std::uint32_t> asked;
  int outstanding = 0;
  bool done = false;

  void begin(Cluster::Impl& cluster, Node& on, View& v, const std::string& k, const Walk& w) {
    c = &cluster;
    node = &on;
    view = &v;
    key = k;
    walk = &w;
  }
  bool was_asked(std::uint32_t n) const {
    return std::find(asked.begin(), asked.end(), n) != asked.end();
  }
};

struct WriteOp : QuorumOp {
  Version version;
  int acks = 0;
  std::function<void(bool)> finish;
};

bool is_natural(const Cluster::Impl& c, const Walk& walk, std::uint32_t node) {
  return std::find(walk.begin(), walk.begin() + c.p.n, node) != walk.begin() + c.p.n;
}

std::uint32_t next_candidate(const Cluster::Impl& c, const View& view, const QuorumOp& op,
                             Time now) {
  for (auto node : *op.walk) {
    if (!op.was_asked(node) && view.healthy(node, now, c.p.failure_timeout)) {
      return node;
    }
  }
  return kNone;
}

void send_write(const std::shared_ptr<WriteOp>& op, std::uint32_t target, std::uint32_t hint,
                bool durable) {
  Cluster::Impl& c = *op->c;
  op->asked.push_back(target);
  ++op->outstanding;
  std::vector<Version> vs{op->version};
  const std::uint64_t bytes = versions_bytes(vs);
  op->node->call(
      c.storage_ids[target], Payload::make<ReplicaWriteReq>(op->key, std::move(vs), hint, durable),
      bytes, c.p.replica_timeout, [op, target, hint](RpcResult r) {
        Cluster::Impl& cc = *op->c;
        --op->outstanding;
        const Time now = cc.sim->now();
        if (r.ok()) {
          op->view->answered(target, now);
          if (++op->acks >= cc.p.w && !op->done) {
            op->done = true;
            op->finish(true);
          }
        } else {
          op->view->suspect_until[target] = now + cc.p.suspect_for;
          // Sloppy quorum: a replica that failed is replaced by the next healthy node even
          // after the write has its W acks, so the write still reaches N nodes.
          if (cc.p.sloppy_quorum) {
            const std::uint32_t next = next_candidate(cc, *op->view, *op, now);
            if (next != kNone) {
              std::uint32_t owner = hint;
              if (owner == kNone && is_natural(cc, *op->walk, target)) {
                owner = target;
              }
              if (is_natural(cc, *op->walk, next)) {
                owner = kNone;
              }
              send_write(op, next, owner, false);
            }
          }
        }
        if (op->outstanding == 0 && !op->done) {
          op->done = true;
          op->finish(false);
        }
      });
}

void start_write_now(Cluster::Impl& c, Node& node, Executor& exec, View& view,
                     std::uint32_t writer, const std::string& key, const VectorClock& context,
                     std::vector<std::string> items, std::function<void(bool)> finish) {
  const Time now = c.sim->now();
  Targets t = choose_targets(c, view, key, now);
  auto op = std::make_shared<WriteOp>();
  op->begin(c, node, view, key, *t.walk);
  const Duration reconcile_cpu = c.p.cpu.reconcile;
  op->finish = [&exec, reconcile_cpu, f = std::move(finish)](bool ok) {
    exec.run(reconcile_cpu, [f, ok] { f(ok); });
  };
  if (t.chosen.empty()) {
    op->finish(false);
    return;
  }
  count_owner(c, *op->walk);
  const std::int64_t ts = node.clock_now().unix_ns();
  // Per (writer, key), so a key's dots from one writer are 1, 2, 3... and fold into one
  // counter once seen in order. The sequence lives in the cluster, not the process, so a
  // restarted writer never reuses a dot (a real node would persist it).
  const std::uint64_t k = ++c.writer_seq[{writer, key}];
  op->version.clock = context;
  op->version.clock.add_dot(writer, k, ts, static_cast<std::size_t>(c.p.clock_max_entries));
  op->version.dot = (static_cast<std::uint64_t>(writer) << 32) | k;
  op->version.items = std::move(items);
  op->version.timestamp_ns = ts;
  op->version.coordinator = writer;
  for (std::size_t i = 0; i < t.chosen.size(); ++i) {
    // With a write buffer, one replica (the first) still writes durably (paper §6.1).
    send_write(op, t.chosen[i], t.hint_for[i], i == 0);
  }
}

}  // namespace

void start_write(Cluster::Impl& c, Node& node, Executor& exec, View& view,
                 std::uint32_t writer, std::string key, VectorClock context,
                 std::vector<std::string> items, std::function<void(bool)> finish) {
  exec.run(c.p.cpu.coordinate,
           [&c, &node, &exec, &view, writer, key = std::move(key), context = std::move(context),
            items = std::move(items), finish = std::move(finish)]() mutable {
             start_write_now(c, node, exec, view, writer, key, context, std::move(items),
                             std::move(finish));
           });
}

namespace {

struct ReadOp : QuorumOp {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> replies;  // node, digest of its set
  std::vector<Version> merged;
  std::function<void(bool, std::vector<Version>)> finish;
};

void read_repair(const std::shared_ptr<ReadOp>& op) {
  Cluster::Impl& c = *op->c;
  if (!c.p.read_repair || op->merged.empty()) {
    return;
  }
  const std::uint64_t want = versions_digest(op->merged);
  for (const auto& [node, digest] : op->replies) {
    if (digest == want) {
      continue;
    }
    // Like any write that is not the put's designated durable one, a repair may go to the
    // write buffer.
    c.sim->metrics().counter("dynamo.read_repairs").inc();
    op->node->call(c.storage_ids[node],
                   Payload::make<ReplicaWriteReq>(op->key, op->merged, kNone, false),
                   versions_bytes(op->merged), c.p.replica_timeout, [](RpcResult) {});
  }
}

void send_read(const std::shared_ptr<ReadOp>& op, std::uint32_t target) {
  Cluster::Impl& c = *op->c;
  op->asked.push_back(target);
  ++op->outstanding;
  op->node->call(
      c.storage_ids[target], Payload::make<ReplicaReadReq>(op->key), kHeaderBytes,
      c.p.replica_timeout, [op, target](RpcResult r) {
        Cluster::Impl& cc = *op->c;
        --op->outstanding;
        const Time now = cc.sim->now();
        const auto* reply = r.ok() ? r.payload.get<ReplicaReadReply>() : nullptr;
        if (reply != nullptr) {
          op->view->answered(target, now);
          op->replies.emplace_back(target, versions_digest(reply->versions));
          apply_versions(op->merged, reply->versions, cc.p.reconcile);
          if (static_cast<int>(op->replies.size()) >= cc.p.r && !op->done) {
            op->done = true;
            op->finish(true, op->merged);
          }
        } else {
          op->view->suspect_until[target] = now + cc.p.suspect_for;
          if (cc.p.sloppy_quorum && !op->done) {
            const std::uint32_t next = next_candidate(cc, *op->view, *op, now);
            if (next != kNone) {
              send_read(op, next);
            }
          }
        }
        if (op->outstanding == 0) {
          if (!op->done) {
            op->done = true;
            op->finish(false, {});
          }
          read_repair(op);
        }
      });
}

void start_read_now(Cluster::Impl& c, Node& node, Executor& exec, View& view,
                    const std::string& key,
                    std::function<void(bool, std::vector<Version>)> finish) {
  Targets t = choose_targets(c, view, key, c.sim->now());
  auto op = std::make_shared<ReadOp>();
  op->begin(c, node, view, key, *t.walk);
  const Duration reconcile_cpu = c.p.cpu.reconcile;
  op->finish = [&exec, reconcile_cpu, f = std::move(finish)](bool ok, std::vector<Version> vs) {
    exec.run(reconcile_cpu, [f, ok, vs = std::move(vs)]() mutable { f(ok, std::move(vs)); });
  };
  if (t.chosen.empty()) {
    op->finish(false, {});
    return;
  }
  count_owner(c, *op->walk);
  for (auto target : t.chosen) {
    send_read(op, target);
  }
}

}  // namespace

void start_read(Cluster::Impl& c, Node& node, Executor& exec, View& view, std::string key,
                std::function<void(bool, std::vector<Version>)> finish) {
  exec.run(c.p.cpu.coordinate,
           [&c, &node, &exec, &view, key = std::move(key), finish = std::move(finish)]() mutable {
             start_read_now(c, node, exec, view, key, std::move(finish));
           });
}

}  // namespace faultline::sim::dynamo::detail
