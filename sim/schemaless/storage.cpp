// Storage nodes (one master and minions per cluster) and the failover monitor.
//
// A storage node keeps one log of entries on its host's disk ("log-<gen>", the generation
// named by the last line of "gen", with the epoch it is consistent with): cells of its own
// cluster ("C"), cells buffered for another cluster ("B") and their deletions ("D"). The
// in-memory tables are the log applied. A master appends to the page cache, applies, fsyncs
// and only then answers; what is fsynced ships asynchronously to the minions every
// replication_interval (a minion appends, fsyncs, applies, acknowledges). So a cell a master
// acknowledged and had not shipped yet is on no other node: if the master dies and a minion is
// promoted, only a buffered copy elsewhere can bring it back.
//
// A restarted node, or a minion that sees a new epoch, copies the master's log (a snapshot)
// into a new generation: whatever it had that the master never got is discarded, as a MySQL
// replica rebuilt from the new primary would.
#include "internal.hpp"

#include <faultline/probe.hpp>
#include <faultline/world/disk.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace faultline::sim::schemaless::detail {

namespace {
const ProbePoint kProbePromoted("schemaless/storage/minion-promoted");
}  // namespace

using world::Message;
using world::Node;
using world::Payload;
using world::Reply;
using world::RpcResult;

std::string encode_cell(char type, int cluster, const Cell& c) {
  return fmt::format("{}\t{}\t{}\t{}\t{}\t{}\n", type, cluster, c.address.row, c.address.column,
                     c.address.ref, c.body);
}

namespace {

/// A log entry decoded (what apply and the trigger scan need).
struct Decoded {
  char type = 'C';
  int cluster = 0;
  Cell cell;
  Line line;
};

/// What the log keeps per entry: its type and its text (decoded again when read), so a cell
/// costs one string in the log besides its place in the tables.
struct Entry {
  char type = 'C';
  Line line;
};

std::optional<Decoded> decode(std::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return std::nullopt;
  }
  std::vector<std::string_view> f;
  std::size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    const auto tab = text.find('\t', pos);
    if (tab == std::string_view::npos) {
      return std::nullopt;
    }
    f.push_back(text.substr(pos, tab - pos));
    pos = tab + 1;
  }
  f.push_back(text.substr(pos, text.size() - 1 - pos));
  if (f[0].size() != 1) {
    return std::nullopt;
  }
  Decoded e;
  e.type = f[0][0];
  e.cluster = std::stoi(std::string(f[1]));
  e.cell = Cell{{std::string(f[2]), std::string(f[3]), std::stoll(std::string(f[4]))},
                std::string(f[5])};
  e.line = std::make_shared<const std::string>(text);
  return e;
}

constexpr std::size_t kShipBatch = 4096;

}  // namespace

class StorageProgram : public world::Program {
public:
  StorageProgram(SchemalessCluster::State& s, int cluster, int replica, Node& node)
      : s_(s), cluster_(cluster), replica_(replica), node_(node) {
    slot() = this;
  }
  ~StorageProgram() override { slot() = nullptr; }

  const CellTable& table() const { return table_; }
  std::size_t buffered() const { return buffer_.size(); }

  void start(Node& node) override {
    node.on_request([this](Message m) { return serve(std::move(m)); });
    load();
    const auto& d = s_.dir[static_cast<std::size_t>(cluster_)];
    if (node.incarnation() == 1 && gen_line_count_ == 0) {
      synced_epoch_ = 1;
      ready_ = true;
      node.spawn(persist_gen());
    } else if (d.master == replica_ && d.epoch == synced_epoch_) {
      ready_ = true;  // still the master: go on from the durable log
    } else {
      node.spawn(resync());
    }
    acked_.assign(static_cast<std::size_t>(s_.replicas()), 0);
    inflight_.assign(static_cast<std::size_t>(s_.replicas()), false);
    durable_ = entries_.size();
    node.spawn(replicate_loop());
    if (s_.p.buffer.enabled) {
      node.spawn(buffer_loop());
    }
  }

private:
  StorageProgram*& slot() {
    return s_.stores[static_cast<std::size_t>(cluster_)][static_cast<std::size_t>(replica_)];
  }
  world::Disk& disk() { return node_.host().disk(); }
  std::string log_file() const { return fmt::format("log-{}", gen_); }
  bool is_master() const {
    const auto& d = s_.dir[static_cast<std::size_t>(cluster_)];
    return ready_ && d.master == replica_ && d.epoch == synced_epoch_;
  }
  /// The log prefix that is on at least one minion (what triggers may read).
  std::size_t replicated() const {
    if (s_.p.storage.minions == 0) {
      return durable_;
    }
    std::size_t best = 0;
    for (int r = 0; r < s_.replicas(); ++r) {
      if (r != replica_) {
        best = std::max(best, acked_[static_cast<std::size_t>(r)]);
      }
    }
    return std::min(best, durable_);
  }

  // --- the log ---------------------------------------------------------------------------
  void load() {
    if (const std::string* gen = disk().read("gen")) {
      std::size_t pos = 0;
      while (pos < gen->size()) {
        const auto nl = gen->find('\n', pos);
        if (nl == std::string::npos) {
          break;  // a torn last line
        }
        unsigned long long g = 0;
        unsigned long long e = 0;
        if (std::sscanf(gen->substr(pos, nl - pos).c_str(), "%llu %llu", &g, &e) == 2) {
          gen_ = g;
          synced_epoch_ = e;
          ++gen_line_count_;
        }
        pos = nl + 1;
      }
    }
    reset_memory();
    if (const std::string* log = disk().read(log_file())) {
      std::size_t pos = 0;
      while (pos < log->size()) {
        const auto nl = log->find('\n', pos);
        if (nl == std::string::npos) {
          break;
        }
        auto e = decode(std::string_view(*log).substr(pos, nl + 1 - pos));
        if (!e) {
          break;
        }
        apply(std::move(*e));
        pos = nl + 1;
      }
    }
  }

  void reset_memory() {
    entries_.clear();
    table_ = CellTable{};
    index_.clear();
    buffer_.clear();
  }

  void apply(Decoded e) {
    const std::size_t i = entries_.size();
    if (e.type == 'C') {
      table_.put(e.cell);
      index_.emplace(e.cell.address, i);
    } else if (e.type == 'B') {
      buffer_.insert_or_assign(e.cell.address, std::make_pair(e.cluster, e.cell));
    } else if (e.type == 'D') {
      buffer_.erase(e.cell.address);
    }
    entries_.push_back(Entry{e.type, std::move(e.line)});
  }

  Task<void> persist_gen() {
    const std::string file = "gen";
    disk().append_now(file, fmt::format("{} {}\n", gen_, synced_epoch_));
    co_await disk().fsync(file);
  }

  /// Appends one entry (page cache, memory), fsyncs; true once it is durable.
  Task<bool> append_durably(char type, int cluster, const Cell& cell) {
    const std::string text = encode_cell(type, cluster, cell);
    const std::string file = log_file();
    if (disk().append_now(file, text) != world::IoStatus::kOk) {
      co_return false;
    }
    apply(*decode(text));
    const std::size_t upto = entries_.size();
    const std::uint64_t gen = gen_;
    const world::IoStatus st = co_await disk().fsync(file);
    if (st != world::IoStatus::kOk || gen != gen_) {
      co_return false;
    }
    durable_ = std::max(durable_, upto);
    co_return true;
  }

  /// Waits until the entry at `i` is durable (a repeat of a write whose fsync is in flight).
  Task<bool> await_durable(std::size_t i) {
    const std::uint64_t gen = gen_;
    while (durable_ <= i) {
      co_await node_.sleep(Duration::micros(200));
      if (gen != gen_) {
        co_return false;
      }
    }
    co_return true;
  }

  // --- requests --------------------------------------------------------------------------
  Task<Reply> serve(Message m) {
    co_await node_.compute(s_.p.storage.request_cpu);
    // Every co_await's result goes to a local first: g++ 12 mishandles class temporaries
    // with destructors in the operand of a co_await (a double free).
    if (const auto* w = m.payload.get<WriteCell>()) {
      const WriteStatus st = co_await write(w->cell, w->cluster);
      co_return reply(st);
    }
    if (const auto* r = m.payload.get<ReadCells>()) {
      ReadReply out;
      const bool minion = s_.dir[static_cast<std::size_t>(cluster_)].master != replica_;
      if (ready_ && (is_master() || minion)) {
        out.ok = true;
        const GetRequest& g = r->get;
        if (g.kind == GetKind::kRow) {
          out.cells = table_.row(g.row);
        } else if (g.kind == GetKind::kRows) {
          for (const std::string& row : g.rows) {
            if (s_.cluster_of(row) == cluster_) {
              for (Cell& c : table_.row(row)) {
                out.cells.push_back(std::move(c));
              }
            }
          }
        } else if (const Cell* c = g.kind == GetKind::kLatest
                                       ? table_.latest(g.row, g.column)
                                       : table_.at(g.row, g.column, g.ref)) {
          out.cells.push_back(*c);
        }
      }
      std::uint64_t bytes = kSmallBytes;
      for (const Cell& c : out.cells) {
        bytes += c.body.size();
      }
      co_return Reply{Payload::make<ReadReply>(std::move(out)), bytes};
    }
    if (const auto* rep = m.payload.get<Replicate>()) {
      const ReplicateAck ack = co_await on_replicate(*rep);
      co_return Reply{Payload::make<ReplicateAck>(ack), kSmallBytes};
    }
    if (m.payload.get<Health>() != nullptr) {
      co_return Reply{
          Payload::make<HealthReply>(HealthReply{is_master(), ready_, durable_}), kSmallBytes};
    }
    if (const auto* p = m.payload.get<Promote>()) {
      Ack a;
      if (ready_ && p->epoch > synced_epoch_) {
        synced_epoch_ = p->epoch;
        durable_ = entries_.size();
        std::fill(acked_.begin(), acked_.end(), 0);
        a.ok = true;
        co_await persist_gen();
      }
      co_return Reply{Payload::make<Ack>(a), kSmallBytes};
    }
    if (m.payload.get<Snapshot>() != nullptr) {
      SnapshotReply out;
      std::uint64_t bytes = kSmallBytes;
      if (is_master()) {
        out.ok = true;
        for (std::size_t i = 0; i < durable_; ++i) {
          out.lines.push_back(entries_[i].line);
          bytes += entries_[i].line->size();
        }
      }
      co_return Reply{Payload::make<SnapshotReply>(std::move(out)), bytes};
    }
    if (const auto* cb = m.payload.get<CheckBuffered>()) {
      CheckReply out;
      if (is_master()) {
        auto it = index_.find(cb->cell.address);
        if (it == index_.end()) {
          // The replay: a cell the client saw acknowledged that this master does not have.
          const WriteStatus st = co_await write(cb->cell, cluster_);
          out.ok = st == WriteStatus::kOk;
          if (out.ok) {
            s_.counter("schemaless/buffer/replayed").inc();
          }
        } else {
          out.ok = true;
          out.on_minion = it->second < replicated();
        }
      }
      co_return Reply{Payload::make<CheckReply>(out), kSmallBytes};
    }
    if (const auto* ch = m.payload.get<Changes>()) {
      co_return changes(*ch);
    }
    co_return Reply{};
  }

  static Reply reply(WriteStatus st) {
    return Reply{Payload::make<WriteReply>(WriteReply{st}), kSmallBytes};
  }

  Task<WriteStatus> write(const Cell& cell, int cluster) {
    if (!is_master()) {
      co_return WriteStatus::kNotMaster;
    }
    if (cluster == cluster_) {
      if (auto it = index_.find(cell.address); it != index_.end()) {
        const bool same = table_.find(cell.address)->body == cell.body;
        s_.counter("schemaless/storage/duplicates").inc();
        if (!same) {
          co_return WriteStatus::kConflict;
        }
        const bool durable = co_await await_durable(it->second);
        co_return durable ? WriteStatus::kExists : WriteStatus::kError;
      }
      const bool ok = co_await append_durably('C', cluster, cell);
      if (ok) {
        s_.counter("schemaless/storage/writes").inc();
      }
      co_return ok ? WriteStatus::kOk : WriteStatus::kError;
    }
    if (buffer_.count(cell.address) != 0) {
      co_return WriteStatus::kExists;
    }
    const bool ok = co_await append_durably('B', cluster, cell);
    if (ok) {
      s_.counter("schemaless/buffer/writes").inc();
    }
    co_return ok ? WriteStatus::kOk : WriteStatus::kError;
  }

  Reply changes(const Changes& ch) {
    ChangesReply out;
    if (!is_master()) {
      return Reply{Payload::make<ChangesReply>(std::move(out)), kSmallBytes};
    }
    out.ok = true;
    const std::size_t head = replicated();
    if (ch.from == std::numeric_limits<std::size_t>::max()) {
      out.next = head;  // "start at the head": what a worker without saved offsets does
    } else {
      out.next = std::max(ch.from, head);
      for (std::size_t i = ch.from; i < head; ++i) {
        if (entries_[i].type != 'C') {
          continue;
        }
        Decoded e = *decode(*entries_[i].line);
        if (e.cell.address.column == ch.column) {
          out.cells.push_back(std::move(e.cell));
          if (static_cast<int>(out.cells.size()) == ch.limit) {
            out.next = i + 1;
            break;
          }
        }
      }
    }
    std::uint64_t bytes = kSmallBytes;
    for (const Cell& c : out.cells) {
      bytes += c.body.size();
    }
    return Reply{Payload::make<ChangesReply>(std::move(out)), bytes};
  }

  // --- replication -----------------------------------------------------------------------
  Task<void> replicate_loop() {
    for (;;) {
      co_await node_.sleep(s_.p.storage.replication_interval);
      if (!is_master()) {
        continue;
      }
      for (int r = 0; r < s_.replicas(); ++r) {
        const auto i = static_cast<std::size_t>(r);
        if (r != replica_ && !inflight_[i] && acked_[i] < durable_) {
          inflight_[i] = true;
          node_.spawn(ship(r));
        }
      }
    }
  }

  Task<void> ship(int r) {
    const auto i = static_cast<std::size_t>(r);
    Replicate rep;
    rep.epoch = synced_epoch_;
    rep.first = acked_[i];
    std::uint64_t bytes = kSmallBytes;
    for (std::size_t k = rep.first; k < durable_ && k < rep.first + kShipBatch; ++k) {
      rep.lines.push_back(entries_[k].line);
      bytes += entries_[k].line->size();
    }
    const world::NodeId dst = s_.storage_ids[static_cast<std::size_t>(cluster_)][i];
    const Payload req = Payload::make<Replicate>(std::move(rep));
    RpcResult res = co_await node_.call(dst, req, bytes, s_.p.storage.request_timeout);
    inflight_[i] = false;
    if (res.ok()) {
      const auto& a = res.payload.as<ReplicateAck>();
      if (a.length <= durable_) {
        acked_[i] = a.length;
      }
    }
  }

  Task<ReplicateAck> on_replicate(Replicate rep) {
    ReplicateAck out{false, entries_.size()};
    if (rep.epoch < synced_epoch_) {
      co_return out;  // a deposed master
    }
    if (rep.epoch > synced_epoch_ || !ready_) {
      if (!resyncing_) {
        node_.spawn(resync());
      }
      out.length = 0;
      co_return out;
    }
    const bool named_master = replica_ == s_.dir[static_cast<std::size_t>(cluster_)].master;
    if (rep.first != entries_.size() || named_master) {
      co_return out;
    }
    std::string text;
    for (const Line& l : rep.lines) {
      text += *l;
    }
    const std::uint64_t gen = gen_;
    const std::string file = log_file();
    if (disk().append_now(file, text) != world::IoStatus::kOk) {
      co_return out;
    }
    const world::IoStatus st = co_await disk().fsync(file);
    if (st != world::IoStatus::kOk || gen != gen_ || entries_.size() != rep.first) {
      co_return out;
    }
    for (const Line& l : rep.lines) {
      apply(*decode(*l));
    }
    durable_ = entries_.size();
    co_return ReplicateAck{true, entries_.size()};
  }

  /// Copies the current master's log into a new generation.
  Task<void> resync() {
    resyncing_ = true;
    ready_ = false;
    for (;;) {
      const auto c = static_cast<std::size_t>(cluster_);
      const SchemalessCluster::State::Directory d = s_.dir[c];
      if (d.master != replica_) {
        const Payload req = Payload::make<Snapshot>();
        RpcResult res = co_await node_.call(s_.master_node(cluster_), req, kSmallBytes,
                                            s_.p.storage.request_timeout * 10);
        if (res.ok() && res.payload.as<SnapshotReply>().ok && s_.dir[c].epoch == d.epoch) {
          const auto& snap = res.payload.as<SnapshotReply>();
          ++gen_;
          std::string text;
          for (const Line& l : snap.lines) {
            text += *l;
          }
          const std::string file = log_file();
          disk().append_now(file, text);
          co_await disk().fsync(file);
          synced_epoch_ = d.epoch;
          co_await persist_gen();
          reset_memory();
          for (const Line& l : snap.lines) {
            apply(*decode(*l));
          }
          durable_ = entries_.size();
          ready_ = true;
          resyncing_ = false;
          co_return;
        }
      }
      co_await node_.sleep(s_.p.storage.health_interval);
    }
  }

  // --- buffered writes -------------------------------------------------------------------
  Task<void> buffer_loop() {
    for (;;) {
      co_await node_.sleep(s_.p.buffer.check_interval);
      if (!is_master() || buffer_.empty()) {
        continue;
      }
      std::vector<std::pair<int, Cell>> batch;
      for (const auto& [addr, held] : buffer_) {
        batch.push_back(held);
        if (static_cast<int>(batch.size()) == s_.p.buffer.batch) {
          break;
        }
      }
      for (const auto& [cluster, cell] : batch) {
        const Payload req = Payload::make<CheckBuffered>(CheckBuffered{cell});
        RpcResult res = co_await node_.call(s_.master_node(cluster), req,
                                            kSmallBytes + cell.body.size(),
                                            s_.p.storage.request_timeout);
        if (!is_master()) {
          break;
        }
        if (res.ok() && res.payload.as<CheckReply>().on_minion &&
            buffer_.count(cell.address) != 0) {
          if (co_await append_durably('D', cluster, cell)) {
            s_.counter("schemaless/buffer/deleted").inc();
          }
        }
      }
    }
  }

  SchemalessCluster::State& s_;
  int cluster_;
  int replica_;
  Node& node_;
  std::uint64_t gen_ = 0;
  std::size_t gen_line_count_ = 0;
  std::uint64_t synced_epoch_ = 0;
  bool ready_ = false;
  bool resyncing_ = false;
  std::vector<Entry> entries_;
  std::size_t durable_ = 0;
  CellTable table_;
  std::map<CellAddress, std::size_t> index_;
  std::map<CellAddress, std::pair<int, Cell>> buffer_;
  std::vector<std::size_t> acked_;  // master: each minion's acknowledged log length
  std::vector<bool> inflight_;
};

const CellTable& table_of(const StorageProgram& p) { return p.table(); }
std::size_t buffered_of(const StorageProgram& p) { return p.buffered(); }

world::ProgramFactory storage_factory(SchemalessCluster::State& s, int cluster, int replica) {
  return [&s, cluster, replica](Node& n) {
    return std::make_unique<StorageProgram>(s, cluster, replica, n);
  };
}

// --- the monitor --------------------------------------------------------------------------------

namespace {

class MonitorProgram : public world::Program {
public:
  MonitorProgram(SchemalessCluster::State& s, Node& node) : s_(s), node_(node) {}
  void start(Node& node) override {
    if (!s_.p.storage.failover) {
      return;
    }
    for (int c = 0; c < s_.p.storage.clusters; ++c) {
      node.spawn(watch(c));
    }
  }

private:
  Task<HealthReply> health(world::NodeId id) {
    const Payload req = Payload::make<Health>();
    RpcResult r = co_await node_.call(id, req, kSmallBytes, s_.p.storage.health_timeout);
    co_return r.ok() ? r.payload.as<HealthReply>() : HealthReply{};
  }

  Task<void> watch(int c) {
    const auto ci = static_cast<std::size_t>(c);
    int fails = 0;
    for (;;) {
      co_await node_.sleep(s_.p.storage.health_interval);
      const HealthReply h = co_await health(s_.master_node(c));
      if (h.master) {
        fails = 0;
        continue;
      }
      if (++fails < s_.p.storage.failover_after) {
        continue;
      }
      // Promote the most advanced minion that answers.
      int best = -1;
      std::size_t best_length = 0;
      for (int r = 0; r < s_.replicas(); ++r) {
        if (r == s_.dir[ci].master) {
          continue;
        }
        const HealthReply m = co_await health(s_.storage_ids[ci][static_cast<std::size_t>(r)]);
        if (m.ready && (best < 0 || m.length > best_length)) {
          best = r;
          best_length = m.length;
        }
      }
      if (best < 0) {
        continue;
      }
      const std::uint64_t epoch = s_.dir[ci].epoch + 1;
      const Payload req = Payload::make<Promote>(Promote{epoch});
      RpcResult res = co_await node_.call(s_.storage_ids[ci][static_cast<std::size_t>(best)], req,
                                          kSmallBytes, s_.p.storage.health_timeout);
      if (res.ok() && res.payload.as<Ack>().ok) {
        s_.dir[ci] = {best, epoch};
        fails = 0;
        s_.counter("schemaless/failovers").inc();
        FAULTLINE_PROBE(node_.sim(), kProbePromoted);
        node_.sim().record("schemaless", "promote",
                           {{"cluster", static_cast<std::int64_t>(c)},
                            {"replica", static_cast<std::int64_t>(best)},
                            {"epoch", static_cast<std::int64_t>(epoch)}});
      }
    }
  }

  SchemalessCluster::State& s_;
  Node& node_;
};

}  // namespace

world::ProgramFactory monitor_factory(SchemalessCluster::State& s) {
  return [&s](Node& n) { return std::make_unique<MonitorProgram>(s, n); };
}

}  // namespace faultline::sim::schemaless::detail
