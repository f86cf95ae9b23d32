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
  r.get_choice("mode", mode, {"provisioned", "on_demand"});
  p.mode = *ddb::parse_capacity_mode(mode);
  r.get("provisioned_units_per_s", p.provisioned_units_per_s, {.min = 1e-9});
  r.get("burst_window", p.burst_window, {.min = Duration::zero()});
  r.get("initial_burst_fraction", p.initial_burst_fraction, {.min = 0.0, .max = 1.0});
  r.get("adaptive_capacity", p.adaptive_capacity);
  r.get("partition_max_units_per_s", p.partition_max_units_per_s, {.min = 1e-9});
  r.get("on_demand_initial_peak_units_per_s", p.on_demand_initial_peak_units_per_s, {.min = 1e-9});
  r.finish();
}

ddb::TableParams read_table(ObjectReader& r) {
  ddb::TableParams t;
  r.get("name", t.name);
  r.get("count", t.count, {.min = 1, .max = 100000});
  r.get("partitions", t.partitions, {.min = 1, .max = 1000000});
  r.get("gsis", t.gsis, {.min = 0, .max = 20});
  r.get("partitions_per_gsi", t.partitions_per_gsi, {.min = 0, .max = 1000000});
  if (auto tp = r.object("throughput")) {
    read_throughput(*tp, t.throughput);
  }
  r.finish();
  return t;
}

void read_retry(ObjectReader& r, res::RetryParams& p) {
  r.get("base", p.base, {.min = Duration::zero()});
  r.get("cap", p.cap, {.min = Duration::zero()});
  std::string jitter(res::to_string(p.jitter));
  r.get_choice("jitter", jitter, {"none", "full", "equal", "decorrelated"});
  p.jitter = *res::parse_jitter(jitter);
  r.finish();
}

void read_metadata(ObjectReader& r, ddb::MetadataParams& p) {
  r.get("instances", p.instances, {.min = 1, .max = 10000});
  r.get("cores", p.cores, {.min = 1, .max = 1024});
  r.get("cpu_base", p.cpu_base, {.min = Duration::zero()});
  r.get("cpu_per_entry", p.cpu_per_entry, {.min = Duration::zero()});
  r.get("response_base_bytes", p.response_base_bytes);
  r.get("bytes_per_entry", p.bytes_per_entry);
  r.get("nic_bandwidth_bps", p.nic_bandwidth_bps, {.min = 1});
  r.get("cells", p.cells, {.min = 1, .max = 10000});
  r.get("admit_limit_at", p.admit_limit_at, {.min = Duration::zero()});
  r.get("admit_rate_per_s", p.admit_rate_per_s, {.min = 0.0});
  r.get("pause_at", p.pause_at, {.min = Duration::zero()});
  r.get("pause_for", p.pause_for, {.min = Duration::zero()});
  r.get("added_instances", p.added_instances, {.min = 0, .max = 10000});
  r.finish();
}

void read_storage(ObjectReader& r, ddb::StorageParams& p) {
  r.get("nodes_per_zone", p.nodes_per_zone, {.min = 1, .max = 100000});
  r.get("replication", p.replication, {.min = 1, .max = 16});
  r.get("checkin_interval", p.checkin_interval, {.min = Duration::nanos(1)});
  r.get("checkin_timeout", p.checkin_timeout, {.min = Duration::nanos(1)});
  r.get("heartbeat_interval", p.heartbeat_interval, {.min = Duration::nanos(1)});
  r.get("reconnect_interval", p.reconnect_interval, {.min = Duration::nanos(1)});
  r.get("heartbeat_timeout", p.heartbeat_timeout, {.min = Duration::nanos(1)});
  r.get("timeout_per_entry", p.timeout_per_entry, {.min = Duration::zero()});
  if (auto retry = r.object("retry")) {
    read_retry(*retry, p.retry);
  }
  r.get("self_evict_on_timeout", p.self_evict_on_timeout);
  r.get("verify_per_entry", p.verify_per_entry, {.min = Duration::zero()});
  r.get("replica_write_bytes_per_s", p.replica_write_bytes_per_s, {.min = 0.0, .max = 1e12});
  r.get("rereplication_bytes_per_s", p.rereplication_bytes_per_s, {.min = 0.0, .max = 1e12});
  r.get("request_cpu", p.request_cpu, {.min = Duration::zero()});
  r.get("cores", p.cores, {.min = 1, .max = 1024});
  r.finish();
}

ddb::CustomerParams read_customer(ObjectReader& r) {
  ddb::CustomerParams c;
  r.get("name", c.name);
  r.get("rate_per_s", c.rate_per_s, {.min = 0.0, .max = 1e6});
  r.get("processes", c.processes, {.min = 1, .max = 10000});
  r.get("table", c.table);
  r.get("hot_fraction", c.hot_fraction, {.min = 0.0, .max = 1.0});
  r.get("timeout", c.timeout, {.min = Duration::nanos(1)});
  r.get("start", c.start, {.min = Duration::zero()});
  r.finish();
  return c;
}

void read_queue(ObjectReader& r, ddb::QueueServiceParams& q) {
  r.get("enabled", q.enabled);
  r.get("name", q.name);
  r.get("table", q.table);
  r.get("instances", q.instances, {.min = 1, .max = 10000});
  r.get("rate_per_s", q.rate_per_s, {.min = 0.0, .max = 1e6});
  r.get("processes", q.processes, {.min = 1, .max = 10000});
  r.get("timeout", q.timeout, {.min = Duration::nanos(1)});
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
  r.get("region", params.region);
  r.get_names("zones", params.zones);
  if (const Json* tables = r.array("tables")) {
    params.tables.clear();
    for (std::size_t i = 0; i < tables->size(); ++i) {
      ObjectReader t((*tables)[i], child_pointer("/model/params/tables", i), source);
      params.tables.push_back(read_table(t));
    }
  }
  if (auto m = r.object("metadata")) {
    read_metadata(*m, params.metadata);
  }
  if (auto s = r.object("storage")) {
    read_storage(*s, params.storage);
  }
  r.get("routers", params.routers, {.min = 1, .max = 10000});
  if (const Json* customers = r.array("customers")) {
    params.customers.clear();
    for (std::size_t i = 0; i < customers->size(); ++i) {
      ObjectReader c((*customers)[i], child_pointer("/model/params/customers", i), source);
      params.customers.push_back(read_customer(c));
      bindings::check_request_count(c, "rate_per_s", params.customers.back().rate_per_s,
                                    in.duration);
    }
  }
  if (auto q = r.object("queue")) {
    read_queue(*q, params.queue);
    bindings::check_request_count(*q, "rate_per_s", params.queue.rate_per_s, in.duration);
  }
  r.get("sample_interval", params.sample_interval, {.min = Duration::nanos(1)});
  bindings::check_sample_count(r, "sample_interval", params.sample_interval, in.duration);
  r.finish();
  if (params.customers.empty() && !params.queue.enabled) {
    throw source.error("/model/params/customers", "no client population",
                       "give at least one customer population or enable the queue service");
  }
  try {
    params.validate();
  } catch (const std::invalid_argument& e) {
    throw bindings::params_error(e.what(), "/model/params", source);
  }
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
