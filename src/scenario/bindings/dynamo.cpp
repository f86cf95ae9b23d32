// Binding of the Dynamo model (sim/dynamo): "model": {"name": "dynamo"}. JSON keys are the
// field names of faultline::sim::dynamo::DynamoParams, ClientParams, RingParams,
// StorageParams and CpuCosts ("cpu"), one to one; durations are strings.
#include "world_faults.hpp"

#include <faultline/scenario/registry.hpp>
#include <faultline/sim/dynamo/cluster.hpp>
#include <faultline/sim/dynamo/params.hpp>
#include <faultline/world/world.hpp>

#include <algorithm>
#include <stdexcept>

namespace faultline::scenario {
namespace {

namespace dyn = faultline::sim::dynamo;

std::string required_name(ObjectReader& r, std::string_view key, std::string_view example,
                          Doc doc) {
  const Json& v = r.require(key, example, doc);
  if (!v.is_string() || v.get<std::string>().empty()) {
    r.report(r.error(key, "expected a non-empty string"));
    return std::string(example.substr(1, example.size() - 2));
  }
  return v.get<std::string>();
}

dyn::ClientParams read_client(ObjectReader& r) {
  dyn::ClientParams c;
  c.name = required_name(r, "name", "\"shoppers\"",
                         "population name, the `of` of observations and expectations");
  r.get("zone", c.zone, "zone of the population's client hosts (empty: the first zone)");
  r.get("processes", c.processes, {.min = 1, .max = 10000}, "client processes sharing the rate");
  r.get("rate_per_s", c.rate_per_s, {.min = 0.0, .max = 1e6},
        "cart operations per second across the population (0: no workload)");
  std::string coordination(dyn::to_string(c.coordination));
  r.get_choice("coordination", coordination, {"client", "server"},
               "who coordinates a request: the client library (client) or a node behind a load "
               "balancer (server; paper §6.4)");
  c.coordination = *dyn::parse_coordination(coordination);
  r.get("carts", c.carts, {.min = 1, .max = 1e7},
        "carts (keys \"<cart_prefix>-<i>\"), chosen uniformly");
  r.get("cart_prefix", c.cart_prefix, "prefix of the population's cart keys");
  r.get("remove_fraction", c.remove_fraction, {.min = 0.0, .max = 1.0},
        "share of operations that remove an item added earlier (else they add)");
  r.get("start", c.start, {.min = Duration::zero()}, "when the population starts");
  r.get("stop", c.stop, {.min = Duration::zero()},
        "when the population stops (default: the end of the run)");
  r.get("attempt_timeout", c.attempt_timeout, {.min = Duration::nanos(1)},
        "one attempt (a get or a put) times out after this; another coordinator is then tried");
  r.get("attempts", c.attempts, {.min = 1, .max = 100},
        "attempts per operation, each at another coordinator");
  r.get("membership_poll", c.membership_poll, {.min = Duration::nanos(1)},
        "client-driven coordination refreshes its membership view this often (paper §6.4: 10 s)");
  r.get("request_bytes", c.request_bytes, {.min = 0, .max = 1e9}, "bytes of a request on the wire");
  r.finish();
  return c;
}

class DynamoInstance : public ModelInstance {
public:
  DynamoInstance(dyn::DynamoParams params, bindings::FaultPlan faults)
      : params_(std::move(params)), faults_(std::move(faults)) {}
  ~DynamoInstance() override {
    cluster_.reset();  // the cluster goes before the world it lives in
    world_.reset();
  }

  void start(Simulation& sim) override {
    world_ = std::make_unique<world::World>(sim);
    cluster_ = std::make_unique<dyn::Cluster>(params_);
    cluster_->build(*world_);
    bindings::schedule_faults(world_->faults(), faults_);
  }

  std::optional<MeasureNames> measures(std::string_view of) const override {
    if (of.empty() && !params_.clients.empty()) {
      of = params_.clients.front().name;
    }
    auto to_measures = [](const dyn::MetricNames& n) {
      return MeasureNames{n.requests, n.successes, n.failures, n.attempts, n.latency};
    };
    for (const auto& c : params_.clients) {
      if (c.name == of) {
        return to_measures(dyn::client_metric_names(c.name));
      }
    }
    if (of == "get" || of == "put") {
      return to_measures(dyn::op_metric_names(of));
    }
    return std::nullopt;
  }

  std::vector<std::string> measure_scopes() const override {
    std::vector<std::string> out;
    for (const auto& c : params_.clients) {
      out.push_back(c.name);
    }
    out.push_back("get");
    out.push_back("put");
    return out;
  }

  std::vector<std::string> probes() const override {
    std::vector<std::string> out{"divergent_keys",          "divergent_read_fraction",
                                 "hints_pending",           "lost_adds",
                                 "max_owner_load_ratio",    "max_replica_load_ratio",
                                 "out_of_balance_fraction", "resurfaced_removes"};
    for (int i = 0; i < params_.nodes; ++i) {
      out.push_back("owner_load_share/" + dyn::Cluster::node_name(i));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  double probe(std::string_view name) const override {
    const dyn::Cluster& c = *cluster_;
    if (name == "divergent_keys") {
      return static_cast<double>(c.divergent_keys());
    }
    if (name == "divergent_read_fraction") {
      return c.divergent_read_fraction();
    }
    if (name == "hints_pending") {
      return static_cast<double>(c.hints_pending());
    }
    if (name == "lost_adds") {
      return static_cast<double>(c.audit().lost_adds);
    }
    if (name == "resurfaced_removes") {
      return static_cast<double>(c.audit().resurfaced_removes);
    }
    if (name == "max_owner_load_ratio") {
      return c.max_owner_load_ratio();
    }
    if (name == "max_replica_load_ratio") {
      return c.max_replica_load_ratio();
    }
    if (name == "out_of_balance_fraction") {
      return c.out_of_balance_fraction();
    }
    // owner_load_share/dynamo-<i>
    const auto load = c.owner_load();
    const std::string node(name.substr(name.find('/') + 1));
    double total = 0;
    for (auto l : load) {
      total += static_cast<double>(l);
    }
    for (int i = 0; i < params_.nodes; ++i) {
      if (dyn::Cluster::node_name(i) == node) {
        return total == 0 ? 0.0 : static_cast<double>(load[static_cast<std::size_t>(i)]) / total;
      }
    }
    return 0.0;
  }

  std::vector<std::string> checkers() const override { return {"cart-adds-kept"}; }

  CheckVerdict check(std::string_view /*name*/, Simulation& /*sim*/) override {
    auto r = cluster_->check_cart_adds_kept();
    return {r.ok, r.summary, r.details};
  }

private:
  dyn::DynamoParams params_;
  bindings::FaultPlan faults_;
  std::unique_ptr<world::World> world_;
  std::unique_ptr<dyn::Cluster> cluster_;
};

std::unique_ptr<ModelInstance> prepare_dynamo(const ModelInput& in) {
  const Source& source = *in.source;
  dyn::DynamoParams p;
  ObjectReader r(*in.params, "/model/params", source);
  r.get("nodes", p.nodes, {.min = 1, .max = 10000},
        "storage nodes, spread round-robin over the zones (one host each)");
  r.get_names("zones", p.zones, "zones the nodes and clients are spread over");
  if (auto ring = r.object("ring",
                           "the consistent-hashing ring and its partitioning strategy (paper "
                           "§6.2)")) {
    std::string placement(dyn::to_string(p.ring.placement));
    ring->get_choice("placement", placement, {"random_tokens", "equal_partitions"},
                     "strategy 1 (random tokens per node) or strategy 3 (Q equal partitions; "
                     "paper §6.2)");
    p.ring.placement = placement == "random_tokens" ? dyn::Placement::kRandomTokens
                                                    : dyn::Placement::kEqualPartitions;
    ring->get("tokens_per_node", p.ring.tokens_per_node, {.min = 1, .max = 4096},
              "strategy 1: tokens per node; strategy 3 with partitions 0: Q = tokens_per_node x "
              "nodes");
    ring->get("partitions", p.ring.partitions, {.min = 0, .max = 1e7},
              "strategy 3: Q, the number of equal partitions (0: tokens_per_node x nodes)");
    ring->finish();
  }
  r.get("n", p.n, {.min = 1, .max = 100}, "replicas per key (paper: typical N = 3)");
  r.get("r", p.r, {.min = 1, .max = 100}, "read quorum (paper: typical R = 2)");
  r.get("w", p.w, {.min = 1, .max = 100}, "write quorum (paper: typical W = 2)");
  std::string reconcile(dyn::to_string(p.reconcile));
  r.get_choice("reconcile", reconcile, {"union", "last_writer_wins"},
               "how divergent versions are merged: the cart's union (paper §4.4) or last writer "
               "wins");
  p.reconcile = *dyn::parse_reconcile(reconcile);
  r.get("clock_max_entries", p.clock_max_entries, {.min = 0, .max = 1000},
        "vector clock truncation threshold (paper §4.4: \"say 10\"; 0: never truncate)");
  r.get("replica_timeout", p.replica_timeout, {.min = Duration::nanos(1)},
        "a coordinator gives up on one replica after this and (sloppy quorum) tries the next node");
  r.get("sloppy_quorum", p.sloppy_quorum,
        "use the first N healthy nodes of the walk with hints (paper §4.6); false: strict quorum");
  r.get("hint_scan_interval", p.hint_scan_interval, {.min = Duration::zero()},
        "how often hinted replicas are offered back to their owner (0s: never)");
  r.get("handoff_in_flight", p.handoff_in_flight, {.min = 1, .max = 100000},
        "hinted-handoff deliveries a node has in flight at once (assumption for paper §6.5)");
  r.get("read_repair", p.read_repair,
        "a read that sees stale replicas writes the reconciled version back to them");
  r.get("anti_entropy_interval", p.anti_entropy_interval, {.min = Duration::zero()},
        "Merkle-tree anti-entropy with one other replica per key range this often (0s: off; "
        "paper §4.7)");
  r.get("merkle_depth", p.merkle_depth, {.min = 0, .max = 20},
        "depth of each key range's Merkle tree");
  r.get("gossip_interval", p.gossip_interval, {.min = Duration::nanos(1)},
        "each node gossips membership with one random peer (and a seed) this often (paper §4.8)");
  r.get("seeds", p.seeds, {.min = 1, .max = 10000},
        "nodes every joiner contacts first (paper §4.8.2)");
  r.get("failure_timeout", p.failure_timeout, {.min = Duration::nanos(1)},
        "a peer whose gossip heartbeat has not advanced this long is treated as down");
  r.get("suspect_for", p.suspect_for, {.min = Duration::zero()},
        "a node that did not answer a request is avoided this long (paper §4.8.3; assumption)");
  r.get("write_buffer", p.write_buffer,
        "in-memory write buffer (paper §6.1): one replica per write still writes durably");
  r.get("flush_interval", p.flush_interval, {.min = Duration::nanos(1)},
        "how often the writer thread flushes the write buffer");
  if (auto s = r.object("storage",
                        "each node's storage engine: lognormal disk latencies calibrated to "
                        "the paper's Table 2")) {
    s->get("read_median", p.storage.read_median, {.min = Duration::nanos(1)},
           "median disk read (assumption calibrated to Table 2)");
    s->get("write_median", p.storage.write_median, {.min = Duration::nanos(1)},
           "median disk write (assumption calibrated to Table 2)");
    s->get("disks", p.storage.disks, {.min = 1, .max = 64},
           "disk operations a node serves at once");
    s->get("read_sigma", p.storage.read_sigma, {.min = 0.0, .max = 4.0},
           "lognormal sigma of reads (0: every read takes the median)");
    s->get("write_sigma", p.storage.write_sigma, {.min = 0.0, .max = 4.0},
           "lognormal sigma of writes (0: every write takes the median)");
    s->get("buffer_write", p.storage.buffer_write, {.min = Duration::zero()},
           "CPU time of a write into the in-memory buffer");
    s->get("flush_per_object", p.storage.flush_per_object, {.min = Duration::zero()},
           "added time per object of a buffer flush (one sequential append)");
    s->get("buffer_objects", p.storage.buffer_objects, {.min = 1, .max = 1e9},
           "the writer also flushes once the buffer holds this many objects (paper §6.1: a "
           "thousand)");
    s->finish();
  }
  if (auto cpu = r.object("cpu", "CPU cost of each step on a node's worker threads")) {
    cpu->get("workers", p.cpu.workers, {.min = 1, .max = 1024},
             "worker threads (and cores) of each storage node");
    cpu->get("replica", p.cpu.replica, {.min = Duration::zero()},
             "CPU of a replica read or write: decode, call storage, encode the reply");
    cpu->get("coordinate", p.cpu.coordinate, {.min = Duration::zero()},
             "CPU of a coordinator starting a request: state machine, vector clock, N messages");
    cpu->get("reconcile", p.cpu.reconcile, {.min = Duration::zero()},
             "CPU of a coordinator finishing a request: reconcile replies, encode the client's "
             "reply");
    cpu->get("forward", p.cpu.forward, {.min = Duration::zero()},
             "CPU of a node relaying a request it does not coordinate, each way");
    cpu->get("load_balancer", p.cpu.load_balancer, {.min = Duration::zero()},
             "CPU of the load balancer per request, each way");
    cpu->finish();
  }
  r.get("load_balancers", p.load_balancers, {.min = 0, .max = 1000},
        "server-driven clients reach nodes through this many load balancers per zone (paper §6.4)");
  r.get("load_window", p.load_window, {.min = Duration::nanos(1)},
        "per-node load is measured over windows of this length");
  if (const Json* clients = r.array("clients",
                                    "client populations (shoppers) issuing cart operations")) {
    for (std::size_t i = 0; i < clients->size(); ++i) {
      ObjectReader c((*clients)[i], child_pointer("/model/params/clients", i), source);
      p.clients.push_back(read_client(c));
      bindings::check_request_count(c, "rate_per_s", p.clients.back().rate_per_s, in.duration);
    }
  }
  r.finish();
  bindings::validate_at(source, p);
  std::vector<std::string> groups{std::string(dyn::Cluster::kNodeGroup),
                                  std::string(dyn::Cluster::kBalancerGroup)};
  for (const auto& c : p.clients) {
    groups.push_back(dyn::Cluster::client_group(c.name));
  }
  auto faults = bindings::parse_faults(in.faults, source, in.duration, groups);
  return std::make_unique<DynamoInstance>(std::move(p), std::move(faults));
}

}  // namespace

void register_dynamo_model(ModelRegistry& registry) {
  registry.add({"dynamo",
                "Dynamo-style store: consistent hashing with virtual nodes, N/R/W quorums, "
                "sloppy quorum and hinted handoff, vector clocks with union or last-writer-wins "
                "carts, read repair, Merkle anti-entropy, worker threads over one disk per "
                "node, a load balancer for server-driven clients, a write buffer (sim/dynamo)",
                {"faults"},
                prepare_dynamo});
}

}  // namespace faultline::scenario
