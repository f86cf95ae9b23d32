#include <faultline/sim/schemaless/params.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace faultline::sim::schemaless {

namespace {

void require(bool ok, std::string_view field, std::string_view problem, std::string_view fix) {
  if (!ok) {
    throw std::invalid_argument(fmt::format("{}: {}; {}", field, problem, fix));
  }
}
void positive(Duration d, std::string_view field) {
  require(d > Duration::zero(), field, "must be positive", "use e.g. \"100ms\"");
}
void non_negative(Duration d, std::string_view field) {
  require(d >= Duration::zero(), field, "is negative", "use zero or more, e.g. \"100us\"");
}
void count(int n, int lo, int hi, std::string_view field) {
  require(n >= lo && n <= hi, field, fmt::format("is {}", n), fmt::format("use {} to {}", lo, hi));
}

}  // namespace

std::string_view to_string(ReadFrom r) { return r == ReadFrom::kMaster ? "master" : "minion"; }

std::optional<ReadFrom> parse_read_from(std::string_view text) {
  if (text == "master") {
    return ReadFrom::kMaster;
  }
  if (text == "minion") {
    return ReadFrom::kMinion;
  }
  return std::nullopt;
}

void StorageParams::validate() const {
  count(clusters, 1, 1000, "storage.clusters");
  require(shards >= clusters && shards <= 1'000'000, "storage.shards",
          fmt::format("is {} with {} clusters", shards, clusters),
          "use at least one shard per cluster (Schemaless: 4096), at most 1000000");
  count(minions, 0, 8, "storage.minions");
  positive(replication_interval, "storage.replication_interval");
  positive(request_timeout, "storage.request_timeout");
  non_negative(request_cpu, "storage.request_cpu");
  positive(health_interval, "storage.health_interval");
  positive(health_timeout, "storage.health_timeout");
  count(failover_after, 1, 1000, "storage.failover_after");
  require(!failover || minions >= 1, "storage.failover", "needs a minion to promote",
          "set storage.minions >= 1 or failover: false");
}

void BufferParams::validate() const {
  positive(check_interval, "buffer.check_interval");
  count(batch, 1, 1'000'000, "buffer.batch");
}

void WorkerParams::validate() const {
  count(workers, 1, 1000, "worker.workers");
  non_negative(request_cpu, "worker.request_cpu");
}

void TriggerParams::validate() const {
  count(workers, 1, 1000, "triggers.workers");
  positive(poll_interval, "triggers.poll_interval");
  count(batch, 1, 100'000, "triggers.batch");
  non_negative(commit_interval, "triggers.commit_interval");
  positive(retry_base, "triggers.retry_base");
  require(retry_cap >= retry_base, "triggers.retry_cap", "is below triggers.retry_base",
          "use a cap at least the base");
  positive(call_timeout, "triggers.call_timeout");
}

void BillingParams::validate() const {
  non_negative(latency, "billing.latency");
  require(failure_ratio >= 0.0 && failure_ratio < 1.0, "billing.failure_ratio",
          fmt::format("is {}", failure_ratio),
          "use a number in [0, 1): at 1 no call ever succeeds and triggers retry forever");
}

void ClientParams::validate() const {
  require(trips_per_s > 0.0 && trips_per_s <= 100'000.0, "clients.trips_per_s",
          fmt::format("is {}", trips_per_s), "use a rate in (0, 100000]");
  non_negative(stop_at, "clients.stop_at");
  count(status_updates, 0, 100, "clients.status_updates");
  positive(step_time, "clients.step_time");
  positive(timeout, "clients.timeout");
  count(max_attempts, 1, 100, "clients.max_attempts");
  positive(retry_base, "clients.retry_base");
  require(retry_cap >= retry_base, "clients.retry_cap", "is below clients.retry_base",
          "use a cap at least the base");
  require(body_bytes >= 1 && body_bytes <= 16'000'000, "clients.body_bytes",
          fmt::format("is {}", body_bytes), "use 1 to 16000000 bytes");
}

void SchemalessParams::validate() const {
  storage.validate();
  buffer.validate();
  worker.validate();
  triggers.validate();
  billing.validate();
  clients.validate();
  require(!buffer.enabled || storage.clusters >= 2, "buffer.enabled",
          "buffered writes need a second cluster for the buffer table",
          "set storage.clusters >= 2 or buffer.enabled: false");
}

}  // namespace faultline::sim::schemaless
