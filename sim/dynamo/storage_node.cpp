// The storage node: worker threads over its disk, the replica store with hints and a write
// buffer, gossip, hinted handoff, Merkle anti-entropy, and coordination of client requests.
#include "cluster_impl.hpp"

#include <faultline/probe.hpp>
#include <faultline/sim/dynamo/merkle.hpp>

#include <algorithm>
#include <deque>

namespace faultline::sim::dynamo::detail {

namespace {

// A hint held for a failed node handed back to it once it looked healthy again (hinted
// handoff replay; faultline/probe.hpp).
const ProbePoint kProbeHintReplayed("dynamo/hinted-handoff/replayed");

/// A storage node's worker threads over its disk (paper §5: request coordination on an
/// event-driven pipeline, storage engines called synchronously). Every step of a request
/// (relay it, coordinate it, serve a replica read or write) waits in one FIFO for a free
/// worker; a storage call keeps its worker until its disk operation is done, and the disk
/// serves `disks` operations at a time in the order the workers issued them. So when slow
/// writes back the disk up, they hold the workers, and coordination waits behind them.
///
/// The workers are the host's cores (HostParams::cpu.cores = workers): a worker holds a core
/// for its whole step, disk wait included, and steps are submitted to the world's CPU only
/// when a worker is free, so the disk schedule of a call is known when it starts.
class Workers final : public Executor {
public:
  void init(Node& node, Simulation& sim, int workers, int disks) {
    node_ = &node;
    sim_ = &sim;
    workers_ = workers;
    disk_free_.assign(static_cast<std::size_t>(disks), sim.now());
    worker_wait_ = &sim.metrics().histogram("dynamo.node.worker_wait");
    disk_wait_ = &sim.metrics().histogram("dynamo.node.disk_wait");
  }
  /// CPU work only (coordination, relaying, a buffered write).
  void run(Duration cpu, std::function<void()> fn) override {
    submit(cpu, Duration::zero(), std::move(fn));
  }
  /// A storage call: `cpu`, then `disk` of service on the disk, on one worker.
  void submit(Duration cpu, Duration disk, std::function<void()> fn) {
    queue_.push_back({cpu, disk, std::move(fn), sim_->now()});
    dispatch();
  }
  /// A disk operation of the writer thread (a buffer flush), which is not a worker.
  void background(Duration disk, std::function<void()> fn) {
    const Time done = book_disk(sim_->now(), disk);
    node_->after(done - sim_->now(), std::move(fn));
  }
  int busy() const { return busy_; }
  std::size_t queued() const { return queue_.size(); }
  /// Disk operations booked but not finished, in service or waiting.
  Duration disk_backlog() const {
    Duration most = Duration::zero();
    for (auto t : disk_free_) {
      most = std::max(most, t - sim_->now());
    }
    return most;
  }

private:
  struct Step {
    Duration cpu;
    Duration disk;
    std::function<void()> fn;
    Time queued_at;
  };
  /// Books `disk` of service on the disk slot that frees first, from `at`; returns its end.
  Time book_disk(Time at, Duration disk) {
    auto slot = std::min_element(disk_free_.begin(), disk_free_.end());
    const Time start = std::max(at, *slot);
    disk_wait_->record(start - at);
    *slot = start + disk;
    return *slot;
  }
  void dispatch() {
    while (busy_ < workers_ && !queue_.empty()) {
      Step step = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
      const Time now = sim_->now();
      worker_wait_->record(now - step.queued_at);
      Duration hold = step.cpu;
      if (step.disk > Duration::zero()) {
        hold = book_disk(now + step.cpu, step.disk) - now;
      }
      auto finished = [this, fn = std::move(step.fn)] {
        --busy_;
        fn();
        dispatch();
      };
      if (hold <= Duration::zero()) {
        node_->after(Duration::zero(), std::move(finished));
      } else {
        node_->compute(hold, std::move(finished));
      }
    }
  }

  Node* node_ = nullptr;
  Simulation* sim_ = nullptr;
  int workers_ = 1;
  int busy_ = 0;
  std::deque<Step> queue_;
  std::vector<Time> disk_free_;
  Histogram* worker_wait_ = nullptr;
  Histogram* disk_wait_ = nullptr;
};
/// The keys `self` has held in `arc` (nullptr: none), indexing the node's keys on first use.
const ArcKeys* arc_keys(Cluster::Impl& c, std::uint32_t self, std::size_t arc) {
  NodeDisk& d = c.disks[self];
  if (!d.arcs_indexed) {
    d.arcs_indexed = true;
    // The hash map's order does not reach the run: ArcKeys sorts and deduplicates.
    std::vector<std::string> keys;
    keys.reserve(d.data.size());
    for (const auto& [key, vs] : d.data) {
      keys.push_back(key);
    }
    Node& n = c.world->node(c.storage_ids[self]);
    if (n.up() && n.program() != nullptr) {
      n.program_as<StorageNodeAccess>().buffered_keys(keys);
    }
    for (auto& key : keys) {
      d.keys_by_arc[c.ring->arc_of(key_position(key))].add(key);
    }
  }
  auto it = d.keys_by_arc.find(arc);
  return it == d.keys_by_arc.end() ? nullptr : &it->second;
}

MerkleTree build_tree(Cluster::Impl& c, std::uint32_t self, std::size_t arc) {
  MerkleTree tree(c.p.merkle_depth);
  if (const ArcKeys* keys = arc_keys(c, self, arc)) {
    for (const auto& key : keys->sorted()) {
      auto vs = c.local_data(self, key);
      if (!vs.empty()) {
        tree.add(key, versions_digest(vs));
      }
    }
  }
  tree.build();
  return tree;
}

Entries entries_in_leaves(Cluster::Impl& c, std::uint32_t self, std::size_t arc,
                          const std::vector<std::size_t>& leaves) {
  Entries out;
  MerkleTree shape(c.p.merkle_depth);
  const ArcKeys* keys = arc_keys(c, self, arc);
  if (keys == nullptr) {
    return out;
  }
  for (const auto& key : keys->sorted()) {
    if (std::find(leaves.begin(), leaves.end(), shape.leaf_of(key)) == leaves.end()) {
      continue;
    }
    auto vs = c.local_data(self, key);
    if (!vs.empty()) {
      out.emplace_back(key, std::move(vs));
    }
  }
  return out;
}

// --- storage node ---------------------------------------------------------------------------
class StorageProgram final : public StorageNodeAccess {
public:
  StorageProgram(Cluster::Impl& c, std::uint32_t self) : c_(c), self_(self) {}

  void start(Node& node) override {
    node_ = &node;
    workers_.init(node, *c_.sim, c_.p.cpu.workers, c_.p.storage.disks);
    view_.init(c_.storage_ids.size(), true, self_, c_.sim->now());
    view_.heartbeat[self_] = node.incarnation() << 32;
    node.on_request([this](const world::Message& m, Responder resp) { handle(m, resp); });
    node.spawn(gossip_loop());
    if (c_.p.hint_scan_interval > Duration::zero()) {
      node.spawn(hint_loop());
    }
    if (c_.p.anti_entropy_interval > Duration::zero()) {
      node.spawn(anti_entropy_loop());
    }
    if (c_.p.write_buffer) {
      node.spawn(flush_loop());
    }
  }

  void add_buffered(const std::string& key, std::vector<Version>& out) const override {
    for (const auto* m : {&buffer_, &flushing_}) {
      auto it = m->find(key);
      if (it != m->end()) {
        apply_versions(out, it->second, c_.p.reconcile);
      }
    }
  }
  bool buffered(const std::string& key) const {
    return buffer_.contains(key) || flushing_.contains(key);
  }
  void buffered_keys(std::vector<std::string>& out) const override {
    for (const auto* m : {&buffer_, &flushing_}) {
      for (const auto& [key, vs] : *m) {
        out.push_back(key);
      }
    }
  }
  const View& view() const override { return view_; }

private:
  NodeDisk& disk() { return c_.disks[self_]; }

  void store(const std::string& key, const std::vector<Version>& vs, std::uint32_t hint,
             bool durable) {
    if (hint != kNone && hint != self_) {
      if (apply_versions(disk().hint(hint, key), vs, c_.p.reconcile)) {
        c_.sim->metrics().counter("dynamo.hints.stored").inc();
      }
      return;
    }
    // Once built, the arc index learns a key when this node first holds it, in its buffer or
    // on disk (a key flushed and then written to disk again may be added twice; the trees'
    // sort drops the copy).
    auto index = [&] {
      if (disk().arcs_indexed) {
        disk().keys_by_arc[c_.ring->arc_of(key_position(key))].add(key);
      }
    };
    if (c_.p.write_buffer && !durable) {
      auto [it, fresh] = buffer_.try_emplace(key);
      if (fresh && !disk().data.contains(key)) {
        index();
      }
      apply_versions(it->second, vs, c_.p.reconcile);
      if (buffer_.size() >= static_cast<std::size_t>(c_.p.storage.buffer_objects)) {
        flush();
      }
    } else {
      auto [it, fresh] = disk().data.try_emplace(key);
      if (fresh) {
        index();
      }
      apply_versions(it->second, vs, c_.p.reconcile);
    }
  }

  void handle(const world::Message& m, Responder resp) {
    if (const auto* q = m.payload.get<ReplicaWriteReq>()) {
      // A buffered write is a short step that never waits for the disk; a durable one (the
      // designated replica, a hint, or any write without the buffer) is a disk operation.
      ++c_.replica_cur[self_];
      const bool to_buffer = c_.p.write_buffer && !q->durable && q->hint_owner == kNone;
      auto req = m.payload;
      auto stored = [this, req, resp] {
        const auto& w = req.as<ReplicaWriteReq>();
        store(w.key, w.versions, w.hint_owner, w.durable);
        resp.reply(Payload::make<Ack>(), kHeaderBytes);
      };
      if (to_buffer) {
        c_.sim->metrics().counter("dynamo.buffer.writes").inc();
        workers_.run(c_.p.cpu.replica + c_.p.storage.buffer_write, stored);
        return;
      }
      c_.sim->metrics().counter("dynamo.storage.writes").inc();
      if (c_.p.write_buffer) {
        // With the buffer, disk writes belong to the writer thread (paper §6.1): the worker
        // hands the durable write over and is free; the replica answers once it is on disk.
        const Duration d = c_.write_time(self_);
        workers_.run(c_.p.cpu.replica, [this, d, stored] { workers_.background(d, stored); });
        return;
      }
      workers_.submit(c_.p.cpu.replica, c_.write_time(self_), stored);
    } else if (const auto* rd = m.payload.get<ReplicaReadReq>()) {
      // Reads check the write buffer first (paper §6.1): a key held in memory is answered
      // without the disk.
      ++c_.replica_cur[self_];
      std::string key = rd->key;
      auto answer = [this, key, resp] {
        auto vs = c_.all_versions(self_, key);
        const std::uint64_t bytes = versions_bytes(vs);
        resp.reply(Payload::make<ReplicaReadReply>(std::move(vs)), bytes);
      };
      if (buffered(key)) {
        c_.sim->metrics().counter("dynamo.buffer.read_hits").inc();
        workers_.run(c_.p.cpu.replica, answer);
        return;
      }
      c_.sim->metrics().counter("dynamo.storage.reads").inc();
      workers_.submit(c_.p.cpu.replica, c_.read_time(self_), answer);
    } else if (const auto* gm = m.payload.get<GossipMsg>()) {
      merge_gossip(gm->heartbeats);
      resp.reply(Payload::make<GossipMsg>(view_.heartbeat), kHeaderBytes);
    } else if (m.payload.get<MembershipReq>() != nullptr) {
      std::vector<bool> up;
      for (std::uint32_t i = 0; i < view_.heartbeat.size(); ++i) {
        up.push_back(view_.healthy(i, c_.sim->now(), c_.p.failure_timeout));
      }
      resp.reply(Payload::make<MembershipReply>(std::move(up)), kHeaderBytes);
    } else if (const auto* cg = m.payload.get<ClientGetReq>()) {
      coordinate_get(*cg, resp);
    } else if (const auto* cpq = m.payload.get<ClientPutReq>()) {
      coordinate_put(*cpq, resp);
    } else if (const auto* mk = m.payload.get<MerkleReq>()) {
      MerkleTree tree = build_tree(c_, self_, mk->arc);
      std::vector<std::uint64_t> hashes;
      for (auto i : mk->indices) {
        hashes.push_back(i < (std::size_t{1} << mk->level) ? tree.hash(mk->level, i) : 0);
      }
      resp.reply(Payload::make<MerkleReply>(std::move(hashes)), kHeaderBytes);
    } else if (const auto* ks = m.payload.get<KeySyncReq>()) {
      Entries mine = entries_in_leaves(c_, self_, ks->arc, ks->leaves);
      for (const auto& [key, vs] : ks->entries) {
        store(key, vs, kNone, true);
      }
      std::uint64_t bytes = kHeaderBytes;
      for (const auto& e : mine) {
        bytes += versions_bytes(e.second);
      }
      resp.reply(Payload::make<KeySyncReply>(std::move(mine)), bytes);
    }
  }

  /// Server-driven coordination: a node outside the key's top N forwards to the first
  /// healthy one of them (paper §4.5); if that fails it coordinates itself.
  bool should_forward(const std::string& key, bool forwarded, std::uint32_t& to) const {
    if (forwarded) {
      return false;
    }
    auto natural = c_.ring->preference_list(key_position(key), static_cast<std::size_t>(c_.p.n));
    if (std::find(natural.begin(), natural.end(), self_) != natural.end()) {
      return false;
    }
    for (auto n : natural) {
      if (view_.healthy(n, c_.sim->now(), c_.p.failure_timeout)) {
        to = n;
        return true;
      }
    }
    return false;
  }

  Duration forward_timeout() const { return c_.p.replica_timeout * 4; }

  /// Relays a coordinator's reply to the caller, after the relay's CPU work.
  void relay(const RpcResult& r, Responder resp) {
    auto payload = r.payload;
    const std::uint64_t bytes = r.size_bytes;
    workers_.run(c_.p.cpu.forward, [payload, bytes, resp] { resp.reply(payload, bytes); });
  }

  void coordinate_get(const ClientGetReq& q, Responder resp) {
    std::uint32_t to = kNone;
    if (should_forward(q.key, q.forwarded, to)) {
      std::string key = q.key;
      workers_.run(c_.p.cpu.forward, [this, key, to, resp] {
        node_->call(c_.storage_ids[to], Payload::make<ClientGetReq>(key, true), kHeaderBytes,
                    forward_timeout(), [this, key, resp](RpcResult r) {
                      const auto* rep = r.ok() ? r.payload.get<ClientReply>() : nullptr;
                      if (rep != nullptr && rep->ok) {
                        relay(r, resp);
                      } else {
                        coordinate_get(ClientGetReq{key, true}, resp);
                      }
                    });
      });
      return;
    }
    start_read(c_, *node_, workers_, view_, q.key, [resp](bool ok, std::vector<Version> vs) {
      const std::uint64_t bytes = versions_bytes(vs);
      resp.reply(Payload::make<ClientReply>(ok, std::move(vs)), bytes);
    });
  }

  void coordinate_put(const ClientPutReq& q, Responder resp) {
    std::uint32_t to = kNone;
    if (should_forward(q.key, q.forwarded, to)) {
      ClientPutReq fwd = q;
      fwd.forwarded = true;
      auto payload = Payload::make<ClientPutReq>(fwd);
      workers_.run(c_.p.cpu.forward, [this, payload, to, resp] {
        node_->call(c_.storage_ids[to], payload, kHeaderBytes, forward_timeout(),
                    [this, payload, resp](RpcResult r) {
                      const auto* rep = r.ok() ? r.payload.get<ClientReply>() : nullptr;
                      if (rep != nullptr && rep->ok) {
                        relay(r, resp);
                      } else {
                        coordinate_put(payload.as<ClientPutReq>(), resp);
                      }
                    });
      });
      return;
    }
    start_write(c_, *node_, workers_, view_, self_, q.key, q.context, q.items, [resp](bool ok) {
      resp.reply(Payload::make<ClientReply>(ok, std::vector<Version>{}), kHeaderBytes);
    });
  }

  void merge_gossip(const std::vector<std::uint64_t>& hb) {
    const Time now = c_.sim->now();
    for (std::size_t i = 0; i < hb.size() && i < view_.heartbeat.size(); ++i) {
      if (hb[i] > view_.heartbeat[i]) {
        view_.heartbeat[i] = hb[i];
        view_.changed_at[i] = now;
      }
    }
  }

  Task<void> gossip_loop() {
    Rng& rng = c_.gossip_rng[self_];
    const auto nodes = static_cast<std::uint32_t>(c_.storage_ids.size());
    while (true) {
      co_await node_->sleep(c_.p.gossip_interval);
      ++view_.heartbeat[self_];
      view_.changed_at[self_] = c_.sim->now();
      if (nodes < 2) {
        continue;
      }
      auto peer = static_cast<std::uint32_t>(rng.below(nodes - 1));
      peer = peer >= self_ ? peer + 1 : peer;
      gossip_with(peer);
      // Seeds are known to every node; talking to one each round keeps the membership from
      // splitting into logical partitions (paper §4.8.2).
      const auto seeds = static_cast<std::uint32_t>(c_.p.seeds);
      if (self_ >= seeds && peer >= seeds) {
        gossip_with(static_cast<std::uint32_t>(rng.below(seeds)));
      }
    }
  }

  void gossip_with(std::uint32_t peer) {
    node_->call(c_.storage_ids[peer], Payload::make<GossipMsg>(view_.heartbeat),
                kHeaderBytes + 8 * view_.heartbeat.size(), c_.p.gossip_interval,
                [this](RpcResult r) {
                  if (const auto* g = r.ok() ? r.payload.get<GossipMsg>() : nullptr) {
                    merge_gossip(g->heartbeats);
                  }
                });
  }

  /// Hinted handoff: offer every hint whose owner looks healthy; drop it once acknowledged,
  /// unless newer hinted versions arrived meanwhile (paper §4.6).
  Task<void> hint_loop() {
    while (true) {
      co_await node_->sleep(c_.p.hint_scan_interval);
      const Time now = c_.sim->now();
      auto& hints = disk().hints;
      for (auto it = hints.begin(); it != hints.end(); ++it) {
        // The hints are ordered by owner: a dead owner's (which pile up for as long as it is
        // down) are skipped in one step, not one by one every scan. Owners are node indices,
        // so owner + 1 does not wrap.
        while (it != hints.end() && !view_.healthy(it->first.first, now, c_.p.failure_timeout)) {
          it = hints.lower_bound({it->first.first + 1, std::string()});
        }
        if (it == hints.end()) {
          break;
        }
        const auto& [hk, vs] = *it;
        // A background task (paper §6.5): at most handoff_in_flight deliveries at a time, so
        // a recovering owner is not hit by every hint at once.
        if (in_flight_.size() >= static_cast<std::size_t>(c_.p.handoff_in_flight)) {
          break;
        }
        if (in_flight_.contains(hk)) {
          continue;
        }
        in_flight_.insert(hk);
        const std::uint64_t digest = versions_digest(vs);
        auto owner_key = hk;
        node_->call(c_.storage_ids[hk.first],
                    Payload::make<ReplicaWriteReq>(hk.second, vs, kNone, true),
                    versions_bytes(vs), c_.p.replica_timeout,
                    [this, owner_key, digest](RpcResult r) {
                      in_flight_.erase(owner_key);
                      auto held = disk().hints.find(owner_key);
                      if (r.ok() && held != disk().hints.end() &&
                          versions_digest(held->second) == digest) {
                        disk().erase_hint(held);
                        c_.sim->metrics().counter("dynamo.hints.delivered").inc();
                        FAULTLINE_PROBE(*c_.sim, kProbeHintReplayed);
                        c_.sim->record("dynamo", "hint_delivered",
                                       {{"node", static_cast<std::int64_t>(self_)},
                                        {"owner", static_cast<std::int64_t>(owner_key.first)},
                                        {"key", owner_key.second}});
                      }
                    });
      }
    }
  }

  /// The writer thread (paper §6.1): every flush_interval, or once the buffer is full, the
  /// buffered objects go to the disk as one operation (one log force plus a sequential
  /// append per object). Reads still see them while the flush is in service; a crash before
  /// it completes loses them.
  Task<void> flush_loop() {
    while (true) {
      co_await node_->sleep(c_.p.flush_interval);
      flush();
    }
  }

  void flush() {
    if (buffer_.empty() || !flushing_.empty()) {
      return;
    }
    flushing_ = std::move(buffer_);
    buffer_.clear();
    c_.sim->metrics().counter("dynamo.storage.flushes").inc();
    const Duration d = c_.write_time(self_) +
                       c_.p.storage.flush_per_object * static_cast<std::int64_t>(flushing_.size());
    workers_.background(d, [this] {
      for (const auto& [key, vs] : flushing_) {
        apply_versions(disk().data[key], vs, c_.p.reconcile);
      }
      flushing_.clear();
      if (buffer_.size() >= static_cast<std::size_t>(c_.p.storage.buffer_objects)) {
        flush();
      }
    });
  }

  /// Merkle anti-entropy: for each key range this node replicates, compare trees with the
  /// next replica of the range, descending only where hashes differ (paper §4.7).
  Task<void> anti_entropy_loop() {
    while (true) {
      co_await node_->sleep(c_.p.anti_entropy_interval);
      for (auto arc : c_.arcs_of_node[self_]) {
        const auto& reps = c_.replicas_of_arc[arc];
        auto me = std::find(reps.begin(), reps.end(), self_);
        const std::uint32_t peer = std::next(me) == reps.end() ? reps.front() : *std::next(me);
        if (peer == self_ || !view_.healthy(peer, c_.sim->now(), c_.p.failure_timeout)) {
          continue;
        }
        co_await sync_arc(arc, peer);
      }
    }
  }

  Task<void> sync_arc(std::size_t arc, std::uint32_t peer) {
    std::vector<std::size_t> indices{0};
    const int depth = c_.p.merkle_depth;
    for (int level = 0; level <= depth; ++level) {
      MerkleTree tree = build_tree(c_, self_, arc);
      auto req = Payload::make<MerkleReq>(arc, level, indices);
      RpcResult r = co_await node_->call(c_.storage_ids[peer], req,
                                         kHeaderBytes + 8 * indices.size(), c_.p.replica_timeout);
      const auto* rep = r.ok() ? r.payload.get<MerkleReply>() : nullptr;
      if (rep == nullptr || rep->hashes.size() != indices.size()) {
        co_return;
      }
      std::vector<std::size_t> differ;
      for (std::size_t k = 0; k < indices.size(); ++k) {
        if (tree.hash(level, indices[k]) != rep->hashes[k]) {
          differ.push_back(indices[k]);
        }
      }
      if (differ.empty()) {
        co_return;
      }
      if (level == depth) {
        indices = std::move(differ);
        break;
      }
      indices.clear();
      for (auto i : differ) {
        indices.push_back(2 * i);
        indices.push_back(2 * i + 1);
      }
    }
    Entries mine = entries_in_leaves(c_, self_, arc, indices);
    std::uint64_t bytes = kHeaderBytes;
    for (const auto& e : mine) {
      bytes += versions_bytes(e.second);
    }
    auto req = Payload::make<KeySyncReq>(arc, indices, std::move(mine));
    RpcResult r = co_await node_->call(c_.storage_ids[peer], req, bytes, c_.p.replica_timeout);
    if (const auto* rep = r.ok() ? r.payload.get<KeySyncReply>() : nullptr) {
      for (const auto& [key, vs] : rep->entries) {
        store(key, vs, kNone, true);
      }
      c_.sim->metrics().counter("dynamo.anti_entropy.syncs").inc();
      c_.sim->metrics().counter("dynamo.anti_entropy.keys").inc(rep->entries.size());
    }
  }

  Cluster::Impl& c_;
  std::uint32_t self_;
  Node* node_ = nullptr;
  View view_;
  Workers workers_;
  std::map<std::string, std::vector<Version>> buffer_;    // lost with the incarnation
  std::map<std::string, std::vector<Version>> flushing_;  // on its way to disk, not durable
  std::set<std::pair<std::uint32_t, std::string>> in_flight_;
};

}  // namespace

std::unique_ptr<world::Program> make_storage_program(Cluster::Impl& c, std::uint32_t self) {
  return std::make_unique<StorageProgram>(c, self);
}

}  // namespace faultline::sim::dynamo::detail
