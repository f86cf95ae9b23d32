// Parameters of the DynamoDB service-layer model (sim/dynamodb): tables and their partitions,
// storage nodes and their membership check-ins, the metadata service, request routers, the
// customers and a queue service built on a table (as SQS is built on DynamoDB).
//
// Plain aggregates with defaults and validate() (std::invalid_argument "field: problem; fix"),
// so the scenario binding maps JSON onto them field by field. Numbers without a source are
// assumptions and say so; docs/stories/dynamodb-2015.md explains the calibration.
#pragma once

#include <faultline/resilience/backoff.hpp>
#include <faultline/sim/dynamodb/throughput.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace faultline::sim::dynamodb {

/// One table (or `count` identical tables named <name>-0, <name>-1, ...). A global secondary
/// index is a table with its own partitions (model-facts §3.1), so each GSI adds
/// `partitions_per_gsi` partitions that live on storage nodes and appear in memberships.
struct TableParams {
  std::string name = "table";
  int count = 1;
  int partitions = 4;
  int gsis = 0;
  /// Partitions of each GSI; 0 means as many as the base table.
  int partitions_per_gsi = 0;
  ThroughputParams throughput;

  int partitions_total() const;
  void validate(const std::string& where) const;
};

/// The internal metadata service that storage nodes fetch their membership from.
struct MetadataParams {
  /// Hosts of the service (one worker pool each), spread over the zones.
  int instances = 2;
  /// Requests a host works on at once (its cores).
  int cores = 4;
  /// CPU per check-in: fixed part plus a part per membership entry (partition replica held):
  /// "fetches all related information, bundles it into one message" (model-facts §3.1).
  Duration cpu_base = Duration::millis(1);
  Duration cpu_per_entry = Duration::micros(500);
  /// Response size: header plus bytes per membership entry (assumption).
  std::uint64_t response_base_bytes = 4096;
  std::uint64_t bytes_per_entry = 8192;
  /// NIC of each metadata host (the response's transfer time grows with its size).
  std::int64_t nic_bandwidth_bps = 1'000'000'000;
  /// Segmentation ("many instances of the metadata service each serving only portions of the
  /// storage server fleet", AWS's fourth corrective action): the instances form this many
  /// cells, and storage node i checks in only with cell (i mod cells). Cells follow zones when
  /// cells equals the zone count.
  int cells = 1;
  /// The admission lever: at `admit_limit_at` (zero: never) the service starts admitting at
  /// most `admit_rate_per_s` check-ins per second per host and refuses the rest at once.
  Duration admit_limit_at = Duration::zero();
  double admit_rate_per_s = 0.0;
  /// The operator's pause (5:06 am PDT in 2015): from `pause_at` (zero: never) for
  /// `pause_for`, every check-in is refused and the queue is dropped; at the end of the pause
  /// `added_instances` more hosts join (capacity added while paused), and admission continues
  /// at `admit_rate_per_s` per host if that is set.
  Duration pause_at = Duration::zero();
  Duration pause_for = Duration::minutes(10);
  int added_instances = 0;
  /// Where a storage node's session keepalive is answered. False (the default): by the host's
  /// session layer at once, so a node behind a host that has fallen behind finds out only when
  /// one of its own check-ins times out (its next periodic one): the nodes behind a stuck host
  /// leave service one by one over a check-in interval. True: by the service's workers, in
  /// the same FIFO as the check-ins, so every node behind a stuck host finds out within one
  /// keepalive interval. Which one DynamoDB did is not published; the 2015 record's climb
  /// over ~18 minutes is what the default gives (docs/stories/dynamodb-2015.md).
  bool keepalives_queued = false;

  void validate() const;
};

struct StorageParams {
  int nodes_per_zone = 30;
  /// Replicas per partition, one per zone (DynamoDB keeps three, in three zones).
  int replication = 3;
  /// Periodic check-in interval (jittered uniformly in [0.5, 1.5] of it). Assumption: AWS did
  /// not publish it.
  Duration checkin_interval = Duration::minutes(10);
  /// A storage node keeps a session with its metadata instance: a small keepalive every
  /// heartbeat_interval, which fails when it is not answered within heartbeat_timeout (the
  /// network is down, or, with MetadataParams::keepalives_queued, the host's backlog of
  /// check-ins is longer than that). A failed keepalive is a disruption as far as the node
  /// can tell: it probes the network every reconnect_interval (a connection attempt, answered
  /// by the host at once, each allowed reconnect_interval) and checks in as soon as a probe
  /// gets through ("after a network disruption", model-facts §3.1). Intervals are
  /// assumptions.
  Duration heartbeat_interval = Duration::seconds(30);
  Duration reconnect_interval = Duration::seconds(1);
  Duration heartbeat_timeout = Duration::seconds(1);
  /// "allowed retrieval and transmission time" of a check-in: fixed part ...
  Duration checkin_timeout = Duration::seconds(2);
  /// ... plus this much per membership entry (zero: a fixed timeout, as in 2015).
  Duration timeout_per_entry = Duration::zero();
  /// Backoff between failed check-ins. The 2015 servers retried promptly (base 1 s, no
  /// jitter; an assumption). A storage node never stops retrying: max_attempts is unused.
  resilience::RetryParams retry{.max_attempts = 100,
                                .base = Duration::seconds(1),
                                .cap = Duration::seconds(1),
                                .jitter = resilience::Jitter::none};
  /// A storage node whose check-in timed out "disqualified itself from serving requests"
  /// (model-facts §3.1). False: keep serving on the last-known membership (static stability).
  bool self_evict_on_timeout = true;
  /// Rejoining ("The server then verifies its local data, creates new partitions, and
  /// re-replicates data from its peers", model-facts §3.1). A node that regains its membership
  /// after time out of service first verifies each entry (verify_per_entry of local work),
  /// then, one partition at a time, pulls the writes it missed from a peer replica: each
  /// replica takes replica_write_bytes_per_s in normal operation, so it missed that much for
  /// every second it was out. A peer streams to one returning replica at a time at
  /// rereplication_bytes_per_s (the rest wait), so many nodes returning at once share their
  /// peers' bandwidth. Zero rates: a returning node serves at once. Assumptions.
  Duration verify_per_entry = Duration::zero();
  double replica_write_bytes_per_s = 0.0;
  double rereplication_bytes_per_s = 0.0;
  /// CPU per customer request on a storage node (assumption).
  Duration request_cpu = Duration::micros(200);
  int cores = 8;

  void validate() const;
};

/// A customer population: Poisson requests through the request routers.
struct CustomerParams {
  std::string name = "customers";
  double rate_per_s = 10.0;
  int processes = 3;
  /// Index into the flattened table list (a table with count > 1 expands in place).
  std::string table;
  /// Fraction of requests that go to one hot key (partition 0 of the table); the rest are
  /// spread uniformly over the table's partitions.
  double hot_fraction = 0.0;
  Duration timeout = Duration::seconds(1);
  Duration start = Duration::zero();

  void validate(const std::string& where) const;
};

/// A queue service built on a table (as SQS is on DynamoDB): its clients send messages to
/// queue hosts, each of which writes the message to the table through the routers.
struct QueueServiceParams {
  bool enabled = false;
  std::string name = "queue";
  std::string table;
  int instances = 3;
  double rate_per_s = 5.0;
  int processes = 3;
  Duration timeout = Duration::seconds(2);

  void validate() const;
};

struct DynamoDbParams {
  std::string region = "us-east-1";
  std::vector<std::string> zones{"us-east-1a", "us-east-1b", "us-east-1c"};
  std::vector<TableParams> tables{TableParams{}};
  MetadataParams metadata;
  StorageParams storage;
  int routers = 3;
  std::vector<CustomerParams> customers{CustomerParams{}};
  QueueServiceParams queue;
  /// Interval of the model's own series (error ratio, storage nodes in service, ...).
  Duration sample_interval = Duration::seconds(10);

  void validate() const;
};

/// The 2015 storm's calibration of one metadata host's cost and of the storage nodes'
/// check-ins, keepalives, retries and rejoining (docs/stories/dynamodb-2015.md, "The model"):
/// one place for the C++ users of it (the storm tests and the fleet-scale benchmark), which set
/// only the fleet's size on top. scenarios/dynamodb-2015-retry-storm.json states the same
/// figures in JSON.
void use_2015_storm_calibration(DynamoDbParams& p);

}  // namespace faultline::sim::dynamodb
