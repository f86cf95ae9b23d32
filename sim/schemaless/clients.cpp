// The trip workload ("riders"): trips arrive as a Poisson process. Each trip writes STATUS
// cells with ref keys 1, 2, ... (reading the latest STATUS back after each acknowledged one),
// then its BASE cell, the end-of-trip record whose trigger bills the rider. Every write is
// retried with the same cell address (idempotent) on timeouts and unavailability.
#include "internal.hpp"

#include <faultline/resilience/backoff.hpp>

#include <fmt/format.h>

namespace faultline::sim::schemaless::detail {

using world::Node;
using world::Payload;
using world::RpcResult;

namespace {

class RidersProgram : public world::Program {
public:
  RidersProgram(SchemalessCluster::State& s, Node& node)
      : s_(s), node_(node), rng_(node.sim().rng("schemaless/riders")) {}

  void start(Node& node) override { node.spawn(arrivals()); }

private:
  Task<void> arrivals() {
    const ClientParams& cp = s_.p.clients;
    for (std::int64_t n = 1;; ++n) {
      co_await node_.sleep(Duration::from_seconds(rng_.exponential(1.0 / cp.trips_per_s)));
      if (cp.stop_at > Duration::zero() && node_.sim().now().since_start() >= cp.stop_at) {
        co_return;
      }
      node_.spawn(trip(n));
    }
  }

  Task<void> trip(std::int64_t n) {
    const ClientParams& cp = s_.p.clients;
    Rng rng = node_.sim().rng(fmt::format("schemaless/trip/{}", n));
    const std::string row = fmt::format("trip-{:06}", n);
    s_.counter("schemaless/trips").inc();
    std::int64_t floor = 0;
    for (int k = 1; k <= cp.status_updates; ++k) {
      const Cell cell{{row, "STATUS", k}, fmt::format("{{\"status\":{},\"trip\":{}}}", k, n)};
      if (co_await put(cell, rng)) {
        floor = k;
        if (cp.reads) {
          co_await read_latest(n, row, floor, rng);
        }
      }
      co_await node_.sleep(Duration::from_seconds(rng.exponential(cp.step_time.to_seconds())));
    }
    const Cell base{{row, "BASE", 1}, fmt::format("{{\"fare_cents\":{},\"trip\":{}}}",
                                                  500 + rng.below(4000), n)};
    s_.base_history.invoke(n, node_.sim().now(), check::Op::request(row, row));
    if (co_await put(base, rng)) {
      s_.base_history.ok(n, node_.sim().now());
      if (s_.acked_trips.insert(row).second && s_.bills_per_trip.count(row) != 0) {
        ++s_.trips_acked_and_billed;  // billed before the client saw the acknowledgement
      }
    } else {
      s_.base_history.info(n, node_.sim().now());  // it may have been stored
    }
  }

  world::NodeId any_worker(Rng& rng) const {
    return s_.worker_ids[static_cast<std::size_t>(rng.below(s_.worker_ids.size()))];
  }

  /// One cell write with its retries; true once acknowledged.
  Task<bool> put(const Cell& cell, Rng& rng) {
    const ClientParams& cp = s_.p.clients;
    const auto& names = metric_names();
    s_.counter(names.writes).inc();
    const Time began = node_.sim().now();
    resilience::Backoff backoff(resilience::RetryParams{
        .max_attempts = cp.max_attempts, .base = cp.retry_base, .cap = cp.retry_cap});
    for (int attempt = 1;; ++attempt) {
      s_.counter(names.write_attempts).inc();
      const world::NodeId worker = any_worker(rng);
      const Payload req = Payload::make<PutRequest>(PutRequest{cell});
      RpcResult r = co_await node_.call(worker, req, cp.body_bytes, cp.timeout);
      const PutStatus st = r.ok() ? r.payload.as<PutResponse>().status : PutStatus::kUnavailable;
      if (st == PutStatus::kOk) {
        s_.counter(names.write_successes).inc();
        s_.sim->metrics().histogram(names.write_latency).record(node_.sim().now() - began);
        s_.acked.push_back({cell, node_.sim().now()});
        co_return true;
      }
      if (st != PutStatus::kUnavailable || attempt >= cp.max_attempts) {
        s_.counter(names.write_failures).inc();
        co_return false;
      }
      co_await node_.sleep(backoff.delay(attempt, rng));
    }
  }

  Task<void> read_latest(std::int64_t client, const std::string& row, std::int64_t floor,
                         Rng& rng) {
    const auto& names = metric_names();
    s_.counter(names.reads).inc();
    s_.counter(names.read_attempts).inc();
    const Time began = node_.sim().now();
    const world::NodeId worker = any_worker(rng);
    const Payload req =
        Payload::make<GetRequest>(GetRequest{GetKind::kLatest, row, "STATUS", 0, {}});
    RpcResult r = co_await node_.call(worker, req, kSmallBytes, s_.p.clients.timeout);
    if (!r.ok() || !r.payload.as<GetResponse>().ok) {
      s_.counter(names.read_failures).inc();
      co_return;
    }
    const auto& g = r.payload.as<GetResponse>();
    s_.counter(names.read_successes).inc();
    s_.sim->metrics().histogram(names.read_latency).record(node_.sim().now() - began);
    s_.reads.push_back({client, row + "/STATUS", g.cells.empty() ? 0 : g.cells[0].address.ref,
                        floor, node_.sim().now()});
  }

  SchemalessCluster::State& s_;
  Node& node_;
  Rng rng_;
};

}  // namespace

world::ProgramFactory riders_factory(SchemalessCluster::State& s) {
  return [&s](Node& n) { return std::make_unique<RidersProgram>(s, n); };
}

}  // namespace faultline::sim::schemaless::detail
