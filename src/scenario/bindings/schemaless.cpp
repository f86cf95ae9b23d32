// Binding of the Schemaless model (sim/schemaless): "model": {"name": "schemaless"}.
// JSON keys are the field names of faultline::sim::schemaless::SchemalessParams, one to one:
//   {"storage": {...}, "buffer": {...}, "worker": {...}, "triggers": {...}, "billing": {...},
//    "clients": {...}}
// Fault targets: node:<name> (store-<c>-<r>, worker-<i>, trigger-<i>, billing, monitor,
// riders) or group:<storage|workers|triggers|billing|monitor|clients>.
//
// Measures: "writes" (the default: cell writes of the trip workload) and "reads". Probes:
// lost_cells, buffered_cells, unbilled_trips, double_bills, failovers. Checkers: "no-lost-cells"
// (every acknowledged cell is stored, the lost ones named), "exactly-once" (each trip's BASE
// write against the bills its trigger made), "monotonic-reads", "read-your-writes".
#include "world_faults.hpp"

#include <faultline/check/exactly_once.hpp>
#include <faultline/scenario/registry.hpp>
#include <faultline/sim/schemaless/cluster.hpp>

#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace sl = faultline::sim::schemaless;

class SchemalessInstance : public ModelInstance {
public:
  SchemalessInstance(sl::SchemalessParams params, bindings::FaultPlan faults)
      : params_(std::move(params)), faults_(std::move(faults)) {}

  void start(Simulation& sim) override {
    cluster_ = std::make_unique<sl::SchemalessCluster>(sim, params_);
    bindings::schedule_faults(cluster_->world().faults(), faults_);
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    const auto& n = sl::metric_names();
    if (of == "reads") {
      return MeasureNames{n.reads, n.read_successes, n.read_failures, n.read_attempts,
                          n.read_latency};
    }
    if (!of.empty() && of != "writes") {
      return std::nullopt;
    }
    return MeasureNames{n.writes, n.write_successes, n.write_failures, n.write_attempts,
                        n.write_latency};
  }
  std::vector<std::string> measure_scopes() const override { return {"writes", "reads"}; }

  std::vector<std::string> probes() const override {
    return {"buffered_cells", "double_bills", "failovers", "lost_cells", "unbilled_trips"};
  }
  double probe(std::string_view name) const override {
    const auto& c = *cluster_;
    if (name == "lost_cells") {
      return static_cast<double>(c.lost_cells());
    }
    if (name == "buffered_cells") {
      return static_cast<double>(c.buffered_cells());
    }
    if (name == "unbilled_trips") {
      return static_cast<double>(c.unbilled_trips());
    }
    if (name == "double_bills") {
      return static_cast<double>(c.double_bills());
    }
    return static_cast<double>(c.failovers());
  }

  std::vector<std::string> checkers() const override {
    return {"exactly-once", "monotonic-reads", "no-lost-cells", "read-your-writes"};
  }
  CheckVerdict check(std::string_view name, Simulation& /*sim*/) override {
    check::CheckResult r;
    if (name == "no-lost-cells") {
      r = sl::check_no_lost_cells(cluster_->acked_writes(), cluster_->stored_cells());
    } else if (name == "exactly-once") {
      r = check::check_exactly_once(cluster_->base_history(), cluster_->bills());
    } else if (name == "monotonic-reads") {
      r = sl::check_monotonic_reads(cluster_->session_reads());
    } else {
      r = sl::check_read_your_writes(cluster_->session_reads());
    }
    std::string summary = r.summary;
    if (!r.ok && !r.details.empty()) {
      summary += ":\n" + r.details;
    }
    return {r.ok, summary};
  }

private:
  sl::SchemalessParams params_;
  bindings::FaultPlan faults_;
  std::unique_ptr<sl::SchemalessCluster> cluster_;
};

std::unique_ptr<ModelInstance> prepare_schemaless(const ModelInput& in) {
  const Source& source = *in.source;
  sl::SchemalessParams p;
  if (in.params != nullptr) {
    ObjectReader r(*in.params, "/model/params", source);
    if (auto o = r.object("storage", "storage clusters: one master and minions each, holding "
                                     "the shards (model-facts §5.3)")) {
      auto& s = p.storage;
      o->get("shards", s.shards, {.min = 1, .max = 1000000},
             "fixed shards per dataset, a count (Schemaless: 4096); shard s lives on cluster s % "
             "clusters");
      o->get("clusters", s.clusters, {.min = 1, .max = 1000}, "storage clusters, a count");
      o->get("minions", s.minions, {.min = 0, .max = 8},
             "minions per cluster in other zones, a count (typically 2)");
      o->get("replication_interval", s.replication_interval, {.min = Duration::nanos(1)},
             "how often a master ships its durable log to its minions (asynchronous; an "
             "assumption)");
      o->get("request_timeout", s.request_timeout, {.min = Duration::nanos(1)},
             "time a worker waits for a storage node");
      o->get("request_cpu", s.request_cpu, {.min = Duration::zero()},
             "CPU time per storage request (an assumption)");
      o->get("failover", s.failover,
             "a monitor promotes the most advanced minion when a master fails its health checks");
      o->get("health_interval", s.health_interval, {.min = Duration::nanos(1)},
             "time between the monitor's health checks of each master");
      o->get("health_timeout", s.health_timeout, {.min = Duration::nanos(1)},
             "time a health check waits for the master's answer");
      o->get("failover_after", s.failover_after, {.min = 1, .max = 1000},
             "consecutive failed health checks before a minion is promoted, a count");
      o->finish();
    }
    if (auto o = r.object("buffer", "buffered writes: a copy of every write in a randomly "
                                    "chosen other cluster's buffer table (§5.3)")) {
      auto& b = p.buffer;
      o->get("enabled", b.enabled,
             "write to a second master's buffer table too; success only when both confirm");
      o->get("check_interval", b.check_interval, {.min = Duration::nanos(1)},
             "time between a master's passes over its buffered cells (delete those on a minion, "
             "replay those the owner lacks)");
      o->get("batch", b.batch, {.min = 1, .max = 1000000},
             "buffered cells checked per pass at most, a count");
      o->finish();
    }
    if (auto o = r.object("worker", "worker nodes: route requests to storage by shard")) {
      auto& w = p.worker;
      o->get("workers", w.workers, {.min = 1, .max = 1000}, "worker nodes, a count");
      std::string from(sl::to_string(w.read_from));
      o->get_choice("read_from", from, {"master", "minion"},
                    "where reads go: the master (read your writes) or a random minion (stale)");
      w.read_from = *sl::parse_read_from(from);
      o->get("request_cpu", w.request_cpu, {.min = Duration::zero()},
             "CPU time per request on a worker (an assumption)");
      o->finish();
    }
    if (auto o = r.object("triggers", "change listeners on the BASE column that bill each trip "
                                      "(Schemaless triggers, §5.3)")) {
      auto& t = p.triggers;
      o->get("enabled", t.enabled, "run the trigger workers");
      o->get("workers", t.workers, {.min = 1, .max = 1000},
             "trigger worker nodes, a count; cluster c is read by worker c % workers");
      o->get("poll_interval", t.poll_interval, {.min = Duration::nanos(1)},
             "time between a trigger worker's polls when it found nothing new");
      o->get("batch", t.batch, {.min = 1, .max = 100000}, "cells read per poll at most, a count");
      o->get("commit_interval", t.commit_interval, {.min = Duration::zero()},
             "the offset is saved after a batch at most this often (0: every batch); a restarted "
             "worker repeats what it did since (an assumption)");
      o->get("durable_offsets", t.durable_offsets,
             "fsync the offsets on the worker's disk; false: in memory, a restarted worker "
             "starts at the head and skips what it missed");
      o->get("retry_base", t.retry_base, {.min = Duration::nanos(1)},
             "first backoff of a failed trigger call; doubles up to retry_cap (full jitter)");
      o->get("retry_cap", t.retry_cap, {.min = Duration::nanos(1)}, "largest backoff");
      o->get("call_timeout", t.call_timeout, {.min = Duration::nanos(1)},
             "time a trigger call (and a poll) waits for its answer");
      o->finish();
    }
    if (auto o = r.object("billing", "the billing service the BASE trigger calls (bill_rider)")) {
      auto& b = p.billing;
      o->get("idempotent", b.idempotent,
             "deduplicate by cell address, as trigger functions must; false: every call bills");
      o->get("latency", b.latency, {.min = Duration::zero()},
             "service time of a billing call (an assumption)");
      o->get("failure_ratio", b.failure_ratio, {.min = 0, .max = 0.999},
             "fraction of billing calls that fail and are retried");
      o->finish();
    }
    if (auto o = r.object("clients", "the trip workload: STATUS cells then the BASE cell per "
                                     "trip, retried with the same cell address")) {
      auto& c = p.clients;
      o->get("trips_per_s", c.trips_per_s, {.min = 0.001, .max = 100000},
             "trips started per second (a Poisson process)");
      o->get("stop_at", c.stop_at, {.min = Duration::zero(), .max = in.duration},
             "no new trips after this time, so triggers catch up; 0: until the end of the run");
      o->get("status_updates", c.status_updates, {.min = 0, .max = 100},
             "STATUS cells per trip before its BASE cell, a count");
      o->get("step_time", c.step_time, {.min = Duration::nanos(1)},
             "mean time between a trip's writes (exponential)");
      o->get("timeout", c.timeout, {.min = Duration::nanos(1)},
             "per-attempt timeout of a client write or read");
      o->get("max_attempts", c.max_attempts, {.min = 1, .max = 100},
             "attempts per cell write including the first");
      o->get("retry_base", c.retry_base, {.min = Duration::nanos(1)},
             "first backoff of a client retry; doubles up to retry_cap (full jitter)");
      o->get("retry_cap", c.retry_cap, {.min = Duration::nanos(1)}, "largest client backoff");
      o->get("reads", c.reads, "read the latest STATUS after each acknowledged STATUS write");
      o->get("body_bytes", c.body_bytes, {.min = 1, .max = 16000000},
             "bytes of a cell body on the wire");
      o->finish();
    }
    // Checks across sections, at the key a person would change.
    if (p.buffer.enabled && p.storage.clusters < 2) {
      r.report(r.error("buffer", "buffered writes need a second storage cluster for the buffer "
                                 "table",
                       "set storage.clusters to 2 or more, or buffer.enabled to false"));
    }
    if (p.storage.failover && p.storage.minions < 1) {
      r.report(r.error("storage", "failover needs a minion to promote",
                       "set storage.minions to 1 or more, or storage.failover to false"));
    }
    r.finish();
  }
  bindings::validate_at(source, p);
  auto faults =
      bindings::parse_faults(in.faults, source, in.duration, sl::SchemalessCluster::groups());
  return std::make_unique<SchemalessInstance>(std::move(p), std::move(faults));
}

}  // namespace

void register_schemaless_model(ModelRegistry& registry) {
  registry.add({"schemaless",
                "Uber's Schemaless: immutable cells over sharded storage clusters (a master and "
                "minions each, asynchronous replication from a durable log), workers with "
                "buffered writes, master failover, and triggers that bill each trip "
                "(sim/schemaless)",
                {"faults"},
                prepare_schemaless});
}

}  // namespace faultline::scenario
