#include <faultline/sim/dynamodb/params.hpp>

#include <fmt/format.h>

#include <set>
#include <stdexcept>

namespace faultline::sim::dynamodb {
namespace {
[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }
}  // namespace

int TableParams::partitions_total() const {
  const int per_gsi = partitions_per_gsi > 0 ? partitions_per_gsi : partitions;
  return partitions + gsis * per_gsi;
}

void TableParams::validate(const std::string& where) const {
  if (name.empty()) {
    bad(where + ".name: must not be empty; name the table, e.g. \"orders\"");
  }
  if (count < 1) {
    bad(where + ".count: must be >= 1");
  }
  if (partitions < 1) {
    bad(where + ".partitions: must be >= 1");
  }
  if (gsis < 0 || gsis > 20) {
    bad(where + ".gsis: must be within [0, 20] (DynamoDB's default quota is 20 per table)");
  }
  if (partitions_per_gsi < 0) {
    bad(where + ".partitions_per_gsi: must be >= 0 (0: as many as the base table)");
  }
  try {
    throughput.validate();
  } catch (const std::invalid_argument& e) {
    bad(where + "." + e.what());
  }
}

void MetadataParams::validate() const {
  if (instances < 1) {
    bad("metadata.instances: must be >= 1");
  }
  if (cores < 1) {
    bad("metadata.cores: must be >= 1");
  }
  if (cpu_base < Duration::zero() || cpu_per_entry < Duration::zero()) {
    bad("metadata.cpu_base, metadata.cpu_per_entry: must be >= 0");
  }
  if (nic_bandwidth_bps <= 0) {
    bad("metadata.nic_bandwidth_bps: must be > 0 (e.g. 1000000000 for 1 Gbps)");
  }
  if (cells < 1 || cells > instances) {
    bad(fmt::format("metadata.cells: must be within [1, instances = {}]; each cell needs at "
                    "least one instance",
                    instances));
  }
  if (admit_rate_per_s < 0.0) {
    bad("metadata.admit_rate_per_s: must be >= 0 (0: no limit)");
  }
  if (admit_limit_at > Duration::zero() && admit_rate_per_s <= 0.0) {
    bad("metadata.admit_limit_at: needs admit_rate_per_s > 0; set the admission rate too");
  }
  if (pause_for < Duration::zero()) {
    bad("metadata.pause_for: must be >= 0");
  }
  if (added_instances < 0) {
    bad("metadata.added_instances: must be >= 0");
  }
}

void StorageParams::validate() const {
  if (nodes_per_zone < 1) {
    bad("storage.nodes_per_zone: must be >= 1");
  }
  if (replication < 1) {
    bad("storage.replication: must be >= 1");
  }
  if (checkin_interval <= Duration::zero()) {
    bad("storage.checkin_interval: must be > 0, e.g. \"60s\"");
  }
  if (heartbeat_interval <= Duration::zero() || reconnect_interval <= Duration::zero() ||
      heartbeat_timeout <= Duration::zero()) {
    bad("storage.heartbeat_interval, storage.reconnect_interval, storage.heartbeat_timeout: "
        "must be > 0, e.g. \"30s\", \"1s\", \"1s\"");
  }
  if (checkin_timeout <= Duration::zero()) {
    bad("storage.checkin_timeout: must be > 0, e.g. \"2s\"");
  }
  if (timeout_per_entry < Duration::zero()) {
    bad("storage.timeout_per_entry: must be >= 0 (0: a fixed timeout)");
  }
  try {
    retry.validate();
  } catch (const std::invalid_argument& e) {
    bad(std::string("storage.") + e.what());
  }
  if (verify_per_entry < Duration::zero()) {
    bad("storage.verify_per_entry: must be >= 0 (0: no local verification on rejoin)");
  }
  if (replica_write_bytes_per_s < 0.0 || rereplication_bytes_per_s < 0.0) {
    bad("storage.replica_write_bytes_per_s, storage.rereplication_bytes_per_s: must be >= 0");
  }
  if (replica_write_bytes_per_s > 0.0 && rereplication_bytes_per_s <= 0.0) {
    bad("storage.rereplication_bytes_per_s: must be > 0 when replica_write_bytes_per_s is set "
        "(a returning node could never catch up); give a rate, e.g. 10000000");
  }
  if (request_cpu < Duration::zero()) {
    bad("storage.request_cpu: must be >= 0");
  }
  if (cores < 1) {
    bad("storage.cores: must be >= 1");
  }
}

void CustomerParams::validate(const std::string& where) const {
  if (name.empty()) {
    bad(where + ".name: must not be empty");
  }
  if (rate_per_s < 0.0) {
    bad(where + ".rate_per_s: must be >= 0");
  }
  if (processes < 1) {
    bad(where + ".processes: must be >= 1");
  }
  if (hot_fraction < 0.0 || hot_fraction > 1.0) {
    bad(where + ".hot_fraction: must be within [0, 1]");
  }
  if (timeout <= Duration::zero()) {
    bad(where + ".timeout: must be > 0");
  }
}

void QueueServiceParams::validate() const {
  if (!enabled) {
    return;
  }
  if (name.empty()) {
    bad("queue.name: must not be empty");
  }
  if (instances < 1 || processes < 1) {
    bad("queue.instances, queue.processes: must be >= 1");
  }
  if (rate_per_s < 0.0) {
    bad("queue.rate_per_s: must be >= 0");
  }
  if (timeout <= Duration::zero()) {
    bad("queue.timeout: must be > 0");
  }
}

void DynamoDbParams::validate() const {
  if (zones.empty()) {
    bad("zones: needs at least one zone name");
  }
  std::set<std::string> zone_names(zones.begin(), zones.end());
  if (zone_names.size() != zones.size()) {
    bad("zones: names must be distinct");
  }
  if (storage.replication > static_cast<int>(zones.size())) {
    bad(fmt::format("storage.replication: {} replicas need {} zones, but only {} are given; "
                    "add zones or lower replication",
                    storage.replication, storage.replication, zones.size()));
  }
  if (tables.empty()) {
    bad("tables: needs at least one table");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    tables[i].validate(fmt::format("tables[{}]", i));
    if (!names.insert(tables[i].name).second) {
      bad(fmt::format("tables[{}].name: \"{}\" is used twice; names must be distinct", i,
                      tables[i].name));
    }
  }
  metadata.validate();
  storage.validate();
  if (routers < 1) {
    bad("routers: must be >= 1");
  }
  std::set<std::string> clients;
  for (std::size_t i = 0; i < customers.size(); ++i) {
    const std::string where = fmt::format("customers[{}]", i);
    customers[i].validate(where);
    if (!customers[i].table.empty() && !names.contains(customers[i].table)) {
      bad(where + ".table: no table named \"" + customers[i].table + "\"; use one of the tables' names");
    }
    if (!clients.insert(customers[i].name).second) {
      bad(where + ".name: \"" + customers[i].name + "\" is used twice");
    }
  }
  queue.validate();
  if (queue.enabled) {
    if (!queue.table.empty() && !names.contains(queue.table)) {
      bad("queue.table: no table named \"" + queue.table + "\"; use one of the tables' names");
    }
    if (clients.contains(queue.name)) {
      bad("queue.name: \"" + queue.name + "\" is also a customer population's name");
    }
  }
  if (sample_interval <= Duration::zero()) {
    bad("sample_interval: must be > 0");
  }
}

void use_2015_storm_calibration(DynamoDbParams& p) {
  p.metadata.cores = 1;
  p.metadata.cpu_per_entry = Duration::millis(20);
  p.metadata.bytes_per_entry = 16384;
  p.storage.checkin_interval = Duration::minutes(10);
  p.storage.checkin_timeout = Duration::seconds(6);
  p.storage.heartbeat_timeout = Duration::seconds(10);
  p.storage.retry.base = Duration::millis(500);
  p.storage.retry.cap = Duration::millis(500);
  p.storage.verify_per_entry = Duration::millis(500);
  p.storage.replica_write_bytes_per_s = 40000;
  p.storage.rereplication_bytes_per_s = 10'000'000;
}

}  // namespace faultline::sim::dynamodb
