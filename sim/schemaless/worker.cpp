// Worker nodes: the stateless front of Schemaless. A write goes to its cluster's master (by the
// row key's shard) and, with buffered writes, to a randomly chosen other cluster's master too
// (its buffer table); it succeeds only when both confirm. A read goes to the master (read your
// writes) or, with read_from: minion, to a random minion of the cluster (possibly stale). A
// read of several rows fans out to every cluster that owns one, at once, and aggregates.
#include "internal.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace faultline::sim::schemaless::detail {

using world::Message;
using world::Node;
using world::Payload;
using world::Reply;

namespace {

bool clean(std::string_view text) {
  return text.find_first_of("\t\n") == std::string_view::npos;
}

class WorkerProgram : public world::Program {
public:
  WorkerProgram(SchemalessCluster::State& s, int index, Node& node)
      : s_(s), node_(node), rng_(node.sim().rng(fmt::format("schemaless/worker/{}", index))) {}

  void start(Node& node) override {
    node.on_request([this](Message m) { return serve(std::move(m)); });
  }

private:
  Task<Reply> serve(Message m) {
    co_await node_.compute(s_.p.worker.request_cpu);
    if (const auto* put = m.payload.get<PutRequest>()) {
      const Cell cell = put->cell;
      const PutStatus st = co_await write(cell);
      co_return Reply{Payload::make<PutResponse>(PutResponse{st}), kSmallBytes};
    }
    if (const auto* get = m.payload.get<GetRequest>()) {
      const GetRequest g = *get;
      GetResponse out = co_await read(g);
      std::uint64_t bytes = kSmallBytes;
      for (const Cell& c : out.cells) {
        bytes += c.body.size();
      }
      co_return Reply{Payload::make<GetResponse>(std::move(out)), bytes};
    }
    co_return Reply{};
  }

  Task<PutStatus> write(const Cell& cell) {
    const CellAddress& a = cell.address;
    if (!clean(a.row) || !clean(a.column) || !clean(cell.body) || a.row.empty() ||
        a.column.empty() || a.ref < 1) {
      co_return PutStatus::kInvalid;
    }
    const int c = s_.cluster_of(a.row);
    std::vector<world::NodeId> dsts{s_.master_node(c)};
    if (s_.p.buffer.enabled) {
      const auto others = static_cast<std::uint64_t>(s_.p.storage.clusters - 1);
      auto other = static_cast<int>(rng_.below(others));
      other += other >= c ? 1 : 0;
      dsts.push_back(s_.master_node(other));
    }
    const std::size_t needed = dsts.size();
    const std::uint64_t bytes = kSmallBytes + cell.body.size();
    const Payload req = Payload::make<WriteCell>(WriteCell{cell, c});
    world::Node::QuorumResult q =
        co_await node_.call_quorum(std::move(dsts), req, bytes, s_.p.storage.request_timeout,
                                   needed);
    std::size_t good = 0;
    for (std::size_t i = 0; i < q.replies.size(); ++i) {
      if (!q.answered[i] || !q.replies[i].ok()) {
        continue;
      }
      const WriteStatus st = q.replies[i].payload.as<WriteReply>().status;
      if (st == WriteStatus::kConflict) {
        co_return PutStatus::kConflict;
      }
      good += st == WriteStatus::kOk || st == WriteStatus::kExists ? 1 : 0;
    }
    co_return good == needed ? PutStatus::kOk : PutStatus::kUnavailable;
  }

  /// Where a read of cluster c goes: the master, or a random minion.
  world::NodeId read_target(int c) {
    world::NodeId dst = s_.master_node(c);
    if (s_.p.worker.read_from == ReadFrom::kMinion && s_.p.storage.minions > 0) {
      const int master = s_.dir[static_cast<std::size_t>(c)].master;
      auto r = static_cast<int>(rng_.below(static_cast<std::uint64_t>(s_.p.storage.minions)));
      r += r >= master ? 1 : 0;
      dst = s_.storage_ids[static_cast<std::size_t>(c)][static_cast<std::size_t>(r)];
    }
    return dst;
  }

  Task<GetResponse> read(const GetRequest& get) {
    if (get.kind == GetKind::kRows) {
      GetResponse all = co_await fan_out(get);
      co_return all;
    }
    const world::NodeId dst = read_target(s_.cluster_of(get.row));
    const Payload req = Payload::make<ReadCells>(ReadCells{get});
    world::RpcResult res = co_await node_.call(dst, req, kSmallBytes, s_.p.storage.request_timeout);
    GetResponse out;
    if (res.ok()) {
      const auto& rr = res.payload.as<ReadReply>();
      out.ok = rr.ok;
      out.cells = rr.cells;
    }
    co_return out;
  }

  /// One request to every cluster that owns one of the rows, at once; the answer only when
  /// all of them answered.
  Task<GetResponse> fan_out(const GetRequest& get) {
    std::vector<int> clusters;
    for (const std::string& row : get.rows) {
      clusters.push_back(s_.cluster_of(row));
    }
    std::sort(clusters.begin(), clusters.end());
    clusters.erase(std::unique(clusters.begin(), clusters.end()), clusters.end());
    std::vector<world::NodeId> dsts;
    for (int c : clusters) {
      dsts.push_back(read_target(c));
    }
    GetResponse out;
    if (dsts.empty()) {
      out.ok = true;
      co_return out;
    }
    const std::size_t needed = dsts.size();
    const Payload req = Payload::make<ReadCells>(ReadCells{get});
    world::Node::QuorumResult q = co_await node_.call_quorum(
        std::move(dsts), req, kSmallBytes, s_.p.storage.request_timeout, needed);
    out.ok = true;
    for (std::size_t i = 0; i < q.replies.size(); ++i) {
      const auto* rr = q.answered[i] && q.replies[i].ok() ? q.replies[i].payload.get<ReadReply>()
                                                          : nullptr;
      if (rr == nullptr || !rr->ok) {
        out.ok = false;
        continue;
      }
      out.cells.insert(out.cells.end(), rr->cells.begin(), rr->cells.end());
    }
    std::sort(out.cells.begin(), out.cells.end(),
              [](const Cell& a, const Cell& b) { return a.address < b.address; });
    co_return out;
  }

  SchemalessCluster::State& s_;
  Node& node_;
  Rng rng_;
};

}  // namespace

world::ProgramFactory worker_factory(SchemalessCluster::State& s, int index) {
  return [&s, index](Node& n) { return std::make_unique<WorkerProgram>(s, index, n); };
}

}  // namespace faultline::sim::schemaless::detail
