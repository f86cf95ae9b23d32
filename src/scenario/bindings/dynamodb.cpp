// Binding of the DynamoDB service-layer model (sim/dynamodb): "model": {"name": "dynamodb"}.
// JSON keys are the field names of faultline::sim::dynamodb::DynamoDbParams and the structs it
// holds, one to one; durations are strings; the storage nodes' retry policy is the resilience
// layer's RetryParams ({"base": "1s", "cap": "1m", "jitter": "full"}).
#include "world_faults.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/dynamodb/cluster.hpp>
#include <faultline/sim/dynamodb/params.hpp>
#include <faultline/world/world.hpp>

#include <algorithm>
#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace ddb = faultline::sim::dynamodb;
namespace res = faultline::resilience;

void read_throughput(ObjectReader& r, ddb::ThroughputParams& p) {
  std::string mode(ddb::to_string(p.mode));
  r.get_choice("mode", mode, {"provisioned", "on_demand"},
               "billing mode of the table: provisioned units per second, or on-demand");
  p.mode = *ddb::parse_capacity_mode(mode);
  r.get("provisioned_units_per_s", p.provisioned_units_per_s, {.min = 1e-9},
        "provisioned capacity of the table, units per second, split evenly over its partitions");
  r.get("burst_window", p.burst_window, {.min = Duration::zero()},
        "unused capacity a partition keeps as burst credit (AWS developer guide: up to 300 s)");
  r.get("initial_burst_fraction", p.initial_burst_fraction, {.min = 0.0, .max = 1.0},
        "burst credit a partition starts with, as a fraction of its full credit");
  r.get("adaptive_capacity", p.adaptive_capacity,
        "adaptive capacity (2017): a partition over its share may use capacity the table leaves "
        "unused");
  r.get("partition_max_units_per_s", p.partition_max_units_per_s, {.min = 1e-9},
        "hard ceiling per partition, units per second (AWS developer guide: 1,000 write or 3,000 "
        "read units)");
  r.get("on_demand_initial_peak_units_per_s", p.on_demand_initial_peak_units_per_s, {.min = 1e-9},
        "on-demand: the previous peak, units per second; the table serves up to twice it (AWS "
        "developer guide)");
  r.finish();
}

ddb::TableParams read_table(ObjectReader& r) {
  ddb::TableParams t;
  r.get("name", t.name, "table name; with count > 1 the tables are <name>-0, <name>-1, ...");
  r.get("count", t.count, {.min = 1, .max = 100000}, "identical tables of this shape");
  r.get("partitions", t.partitions, {.min = 1, .max = 1000000}, "partitions of each table");
  r.get("gsis", t.gsis, {.min = 0, .max = 20},
        "global secondary indexes per table; each is a table with its own partitions "
        "(model-facts §3.1)");
  r.get("partitions_per_gsi", t.partitions_per_gsi, {.min = 0, .max = 1000000},
        "partitions of each GSI (0: as many as the base table)");
  if (auto tp = r.object("throughput", "throughput limits of the table")) {
    read_throughput(*tp, t.throughput);
  }
  r.finish();
  return t;
}

void read_retry(ObjectReader& r, res::RetryParams& p) {
  r.get("base", p.base, {.min = Duration::zero()},
        "first backoff between failed check-ins (2015: about 1 s, an assumption)");
  r.get("cap", p.cap, {.min = Duration::zero()}, "largest backoff between failed check-ins");
  std::string jitter(res::to_string(p.jitter));
  r.get_choice("jitter", jitter, {"none", "full", "equal", "decorrelated"},
               "how the backoff is randomised (2015: none, an assumption)");
  p.jitter = *res::parse_jitter(jitter);
  r.finish();
}

void read_metadata(ObjectReader& r, ddb::MetadataParams& p) {
  r.get("instances", p.instances, {.min = 1, .max = 10000},
        "metadata hosts (one worker pool each), spread over the zones");
  r.get("cores", p.cores, {.min = 1, .max = 1024},
        "check-ins a metadata host works on at once (its cores)");
  r.get("cpu_base", p.cpu_base, {.min = Duration::zero()},
        "CPU per check-in, fixed part (model-facts §3.1: fetches and bundles the membership)");
  r.get("cpu_per_entry", p.cpu_per_entry, {.min = Duration::zero()},
        "CPU per check-in per membership entry (partition replica) the node holds");
  r.get("response_base_bytes", p.response_base_bytes, {},
        "check-in response size, header bytes (assumption)");
  r.get("bytes_per_entry", p.bytes_per_entry, {},
        "check-in response bytes per membership entry (assumption)");
  r.get("nic_bandwidth_bps", p.nic_bandwidth_bps, {.min = 1},
        "NIC of each metadata host, bits per second (a response's transfer time grows with its "
        "size)");
  r.get("cells", p.cells, {.min = 1, .max = 10000},
        "cells the metadata hosts form; storage node i checks in with cell i mod cells (AWS's "
        "fourth corrective action)");
  r.get("admit_limit_at", p.admit_limit_at, {.min = Duration::zero()},
        "when the service starts admitting at most admit_rate_per_s check-ins per host (0s: "
        "never)");
  r.get("admit_rate_per_s", p.admit_rate_per_s, {.min = 0.0},
        "check-ins admitted per second per host once admit_limit_at has passed; the rest are "
        "refused");
  r.get("pause_at", p.pause_at, {.min = Duration::zero()},
        "the operator's pause (2015: 5:06 am PDT): every check-in refused from then (0s: never)");
  r.get("pause_for", p.pause_for, {.min = Duration::zero()}, "length of the operator's pause");
  r.get("added_instances", p.added_instances, {.min = 0, .max = 10000},
        "metadata hosts added at the end of the pause (capacity added while paused)");
  r.get("keepalives_queued", p.keepalives_queued,
        "a storage node's session keepalive waits behind the host's queued check-ins (true: "
        "nodes behind a stuck host find out within a keepalive interval); false: the session "
        "layer answers at once, and a node finds out at its next check-in (an assumption)");
  r.finish();
}

void read_storage(ObjectReader& r, ddb::StorageParams& p) {
  r.get("nodes_per_zone", p.nodes_per_zone, {.min = 1, .max = 100000},
        "storage nodes in each zone");
  r.get("replication", p.replication, {.min = 1, .max = 16},
        "replicas per partition, one per zone (DynamoDB keeps three, in three zones)");
  r.get("checkin_interval", p.checkin_interval, {.min = Duration::nanos(1)},
        "periodic membership check-in interval, jittered in [0.5, 1.5] of it (assumption: not "
        "published)");
  r.get("checkin_timeout", p.checkin_timeout, {.min = Duration::nanos(1)},
        "time allowed to retrieve and transmit a check-in's membership, fixed part (model-facts "
        "§3.1)");
  r.get("heartbeat_interval", p.heartbeat_interval, {.min = Duration::nanos(1)},
        "keepalive interval of a node's session with its metadata host (assumption)");
  r.get("reconnect_interval", p.reconnect_interval, {.min = Duration::nanos(1)},
        "after a failed keepalive, how often the node probes the network before checking in "
        "(assumption)");
  r.get("heartbeat_timeout", p.heartbeat_timeout, {.min = Duration::nanos(1)},
        "a keepalive slower than this fails (with metadata.keepalives_queued it waits behind "
        "the host's check-ins)");
  r.get("timeout_per_entry", p.timeout_per_entry, {.min = Duration::zero()},
        "check-in timeout added per membership entry (0s: a fixed timeout, as in 2015)");
  if (auto retry = r.object("retry",
                            "backoff between failed check-ins; a storage node never stops "
                            "retrying")) {
    read_retry(*retry, p.retry);
  }
  r.get("self_evict_on_timeout", p.self_evict_on_timeout,
        "a node whose check-in timed out stops serving (2015, model-facts §3.1); false: serve on "
        "the last membership");
  r.get("verify_per_entry", p.verify_per_entry, {.min = Duration::zero()},
        "on rejoining, local work to verify each membership entry (model-facts §3.1; assumption)");
  r.get("replica_write_bytes_per_s", p.replica_write_bytes_per_s, {.min = 0.0, .max = 1e12},
        "bytes per second a replica takes in normal operation, so missed while out (assumption; "
        "0: none)");
  r.get("rereplication_bytes_per_s", p.rereplication_bytes_per_s, {.min = 0.0, .max = 1e12},
        "bytes per second a peer streams to one returning replica (assumption; 0: rejoin at once)");
  r.get("request_cpu", p.request_cpu, {.min = Duration::zero()},
        "CPU per customer request on a storage node (assumption)");
  r.get("cores", p.cores, {.min = 1, .max = 1024}, "cores of each storage node");
  r.finish();
}

ddb::CustomerParams read_customer(ObjectReader& r) {
  ddb::CustomerParams c;
  r.get("name", c.name, "population name, used as the `of` of observations and expectations");
  r.get("rate_per_s", c.rate_per_s, {.min = 0.0, .max = 1e6},
        "Poisson requests per second across the population");
  r.get("processes", c.processes, {.min = 1, .max = 10000}, "client processes sharing the rate");
  r.get("table", c.table,
        "table the population reads and writes (a name from tables; empty: the first)");
  r.get("hot_fraction", c.hot_fraction, {.min = 0.0, .max = 1.0},
        "fraction of requests to one hot key (partition 0); the rest spread uniformly");
  r.get("timeout", c.timeout, {.min = Duration::nanos(1)}, "per-request timeout");
  r.get("start", c.start, {.min = Duration::zero()}, "when the population starts sending");
  r.finish();
  return c;
}

void read_queue(ObjectReader& r, ddb::QueueServiceParams& q) {
  r.get("enabled", q.enabled, "run a queue service built on a table (as SQS is on DynamoDB)");
  r.get("name", q.name, "queue service name; its clients are the population <name>-clients");
  r.get("table", q.table, "table the queue hosts write messages to (empty: the first)");
  r.get("instances", q.instances, {.min = 1, .max = 10000}, "queue hosts");
  r.get("rate_per_s", q.rate_per_s, {.min = 0.0, .max = 1e6},
        "Poisson messages per second sent by the queue's clients");
  r.get("processes", q.processes, {.min = 1, .max = 10000}, "client processes sharing the rate");
  r.get("timeout", q.timeout, {.min = Duration::nanos(1)},
        "per-message timeout of the queue's clients");
  r.finish();
}

class DynamoDbInstance : public ModelInstance {
public:
  DynamoDbInstance(ddb::DynamoDbParams params, bindings::FaultPlan faults)
      : params_(std::move(params)), faults_(std::move(faults)) {}
  ~DynamoDbInstance() override {
    world_.reset();  // the programs refer to the cluster's state: the world goes first
    cluster_.reset();
  }

  void start(Simulation& sim) override {
    world_ = std::make_unique<world::World>(sim);
    cluster_ = std::make_unique<ddb::DynamoDbCluster>(params_);
    cluster_->build(*world_);
    bindings::schedule_faults(world_->faults(), faults_);
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    auto scopes = measure_scopes();
    if (of.empty()) {
      of = scopes.front();
    }
    if (std::find(scopes.begin(), scopes.end(), of) == scopes.end()) {
      return std::nullopt;
    }
    auto n = ddb::client_metric_names(of);
    return MeasureNames{n.requests, n.successes, n.failures, "", n.latency};
  }

  std::vector<std::string> measure_scopes() const override {
    std::vector<std::string> out;
    for (const auto& c : params_.customers) {
      out.push_back(c.name);
    }
    if (params_.queue.enabled) {
      out.push_back(params_.queue.name + "-clients");
    }
    return out;
  }

  std::vector<std::string> probes() const override {
    return {"metadata_queue_length", "metadata_utilisation", "partitions_unavailable",
            "storage_in_service", "storage_out_of_service"};
  }

  double probe(std::string_view name) const override {
    if (name == "metadata_queue_length") {
      return static_cast<double>(cluster_->metadata_queue_length());
    }
    if (name == "metadata_utilisation") {
      return cluster_->metadata_utilisation();
    }
    if (name == "partitions_unavailable") {
      return cluster_->partitions_unavailable_fraction();
    }
    if (name == "storage_in_service") {
      return cluster_->storage_in_service_fraction();
    }
    return static_cast<double>(cluster_->storage_nodes() - cluster_->storage_in_service());
  }

private:
  ddb::DynamoDbParams params_;
  bindings::FaultPlan faults_;
  std::unique_ptr<world::World> world_;
  std::unique_ptr<ddb::DynamoDbCluster> cluster_;
};

std::unique_ptr<ModelInstance> prepare_dynamodb(const ModelInput& in) {
  const Source& source = *in.source;
  ddb::DynamoDbParams params;
  ObjectReader r(*in.params, "/model/params", source);
  r.get("region", params.region, "region name of the deployment");
  r.get_names("zones", params.zones,
              "availability zones; storage replicas of a partition go to distinct zones");
  if (const Json* tables = r.array("tables",
                                   "tables (and their indexes) whose partitions live on the "
                                   "storage nodes")) {
    params.tables.clear();
    for (std::size_t i = 0; i < tables->size(); ++i) {
      ObjectReader t((*tables)[i], child_pointer("/model/params/tables", i), source);
      params.tables.push_back(read_table(t));
    }
  }
  if (auto m = r.object("metadata",
                        "the internal metadata service storage nodes fetch their membership "
                        "from")) {
    read_metadata(*m, params.metadata);
  }
  if (auto s = r.object("storage", "storage nodes: check-ins, keepalives, retries and rejoining")) {
    read_storage(*s, params.storage);
  }
  r.get("routers", params.routers, {.min = 1, .max = 10000},
        "request routers customers send through");
  if (const Json* customers = r.array("customers",
                                      "customer populations sending Poisson requests through "
                                      "the routers")) {
    params.customers.clear();
    for (std::size_t i = 0; i < customers->size(); ++i) {
      ObjectReader c((*customers)[i], child_pointer("/model/params/customers", i), source);
      params.customers.push_back(read_customer(c));
      bindings::check_request_count(c, "rate_per_s", params.customers.back().rate_per_s,
                                    in.duration);
    }
  }
  if (auto q = r.object("queue", "an optional queue service built on a table")) {
    read_queue(*q, params.queue);
    bindings::check_request_count(*q, "rate_per_s", params.queue.rate_per_s, in.duration);
  }
  r.get("sample_interval", params.sample_interval, {.min = Duration::nanos(1)},
        "interval of the model's own series (error ratio, storage nodes in service, ...)");
  bindings::check_sample_count(r, "sample_interval", params.sample_interval, in.duration);
  r.finish();
  if (params.customers.empty() && !params.queue.enabled) {
    throw source.error("/model/params/customers", "no client population",
                       "give at least one customer population or enable the queue service");
  }
  bindings::validate_at(source, params);
  ddb::DynamoDbCluster layout(params);  // for the group names only
  auto faults = bindings::parse_faults(in.faults, source, in.duration, layout.groups());
  return std::make_unique<DynamoDbInstance>(std::move(params), std::move(faults));
}

}  // namespace

void register_dynamodb_model(ModelRegistry& registry) {
  registry.add({"dynamodb",
                "DynamoDB service layer: request routers, partitions on storage nodes that check "
                "in with a metadata service, throughput limits, adaptive capacity (sim/dynamodb)",
                {"faults"},
                prepare_dynamodb});
}

}  // namespace faultline::scenario
