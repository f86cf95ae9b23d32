// Parameters of the ELB model (sim/elb): one region's Elastic Load Balancers as a managed
// service, with a data plane of load-balancer nodes that route by the backend list they were
// programmed with, and a control plane whose workflows (scaling, config pushes) reprogram running
// load balancers from a state store; the Christmas Eve 2012 state deletion and its recovery;
// device families reaching Netflix's API through their own ELBs, with DNS failover to another
// region as a choice.
//
// Semantics and sources: model-facts.md §4.1 (AWS's summary of the 2012-12-24 ELB event), §4.2
// (Netflix's view, Isthmus, active-active) and the recipe "Christmas Eve ELB control-plane state
// loss". Times are from the start of the run. Every number not from those sections is marked as
// an assumption.
#pragma once

#include <faultline/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::sim::elb {

/// The other customers' load balancers in the region: only their state and their workflows
/// are modelled (no traffic), so the fraction of running ELBs misprogrammed can be measured.
struct FleetParams {
  /// Running ELBs besides the device families' (assumption: a region's fleet, scaled down).
  int elbs = 450;
  /// LB nodes per ELB (assumption: one per zone in three zones).
  int nodes = 3;
  /// Mean time between control-plane workflows touching one ELB (exponential; assumption,
  /// calibrated so that ~90 % of ELBs with missing state are touched before the workflows are
  /// disabled, see docs/stories/netflix.md).
  Duration touch_mean = Duration::hours(2);
  void validate() const;
};

/// A device family (TV, website, PC...) and the ELB its API traffic goes through.
struct FamilyParams {
  std::string name;
  /// Stream-start requests per second through this family's ELB (scaled down; assumption).
  double rate_per_s = 2.0;
  /// Whether the deletion took this ELB's state (§4.2: the ELBs behind TV-connected devices
  /// failed, the website's and PC streaming's did not; which records were deleted is not
  /// in the record, so it is an input).
  bool state_deleted = false;
  int nodes = 6;
  /// Netflix's ELBs scale often at the evening peak (assumption: a workflow every 10 min).
  Duration touch_mean = Duration::minutes(10);
  void validate(std::string_view field) const;
};

/// What a control-plane workflow does to a running ELB.
struct ControlPlaneParams {
  /// Probability that a touch is a scale event (one node replaced and programmed from state);
  /// otherwise it is a config push that reprograms every node (assumption).
  double scale_ratio = 0.7;
  /// Fail static (the recipe's fix (b)): a workflow that finds the ELB's state missing refuses
  /// to change it and keeps the last known good configuration; the API call still errors.
  bool fail_static = false;
  /// How long the control plane waits for the state store, and a replacement LB node for the
  /// control plane, before the call counts as failed (assumption).
  Duration call_timeout = Duration::seconds(5);
  /// A replacement LB node the control plane could not program asks again after this; so does
  /// a restore the control plane could not run (assumption).
  Duration retry_after = Duration::seconds(30);
  void validate() const;
};

/// The 2012 incident and its recovery, as the record times it (§4.1).
struct IncidentParams {
  bool enabled = true;
  /// The maintenance process deletes part of the state (12:24 PM PST).
  Duration deleted_at = Duration::minutes(24);
  /// Change management on writes to production state (fix (a)): the deletion is refused.
  bool change_managed = false;
  /// Fraction of the fleet's ELBs whose state is deleted (assumption: not in the record; set
  /// with touch_mean so that the peak matches the record's 6.8 %).
  double deleted_fraction = 0.075;
  /// ~5 PM PST: root cause found, workflows disabled (T0 + 4.6 h).
  Duration workflows_disabled_at = Duration::hours(5);
  /// 2:45 AM PST: a snapshot restored by an alternate process (T0 + 14.4 h).
  Duration restored_at = Duration::hours(14) + Duration::minutes(45);
  /// 5:40 AM PST: merged into the live state (T0 + 17.3 h); workflows are re-enabled slowly and
  /// every misprogrammed ELB is reprogrammed from the restored state at a uniform time within
  /// `reenable_over` (10:30 AM PST: "almost all affected ELBs were back").
  Duration merged_at = Duration::hours(17) + Duration::minutes(40);
  Duration reenable_over = Duration::hours(4) + Duration::minutes(50);
  /// Hand repair of the device families' ELBs (assumption standing for "streaming available
  /// again for most members late on Christmas Eve"; the record does not say how). Zero: none.
  Duration families_repaired_at{};
  void validate() const;
};

/// DNS traffic steering to a second region (Isthmus or active-active, fix (d)). Each family's
/// API name is a weighted DNS record; clients reach it through resolver caches that keep an
/// answer for the TTL (sim/regions/dns.hpp), so a failover takes detection + TTL + stickiness.
struct FailoverParams {
  bool enabled = false;
  /// Active-active: the other region's full stack serves. Isthmus (§4.2): the other region's
  /// ELB and Zuul tunnel the traffic to this region's Zuul, bypassing this region's ELB, for
  /// one more cross-region round trip (`tunnel_latency`).
  enum class Mode { kActiveActive, kIsthmus };
  Mode mode = Mode::kActiveActive;
  /// Health checks of each family's ELB: every interval, the interval's error rate.
  Duration check_interval = Duration::minutes(1);
  double error_threshold = 0.2;
  /// Consecutive failing checks before DNS is switched (assumption).
  int checks = 2;
  /// TTL of the record (assumption: 60 s).
  Duration dns_ttl = Duration::seconds(60);
  /// Resolver caches per family; the devices behind one share its answer.
  int resolvers = 200;
  /// Share of resolvers or devices keeping an answer `sticky_extra` beyond its TTL.
  double sticky_fraction = 0.0;
  Duration sticky_extra = Duration::minutes(10);
  /// How much farther (a round trip) the devices are from the other region ("us-west") than
  /// from this one: the world link internet <-> us-west is the cross-region class (30 ms one
  /// way) plus half of this each way.
  Duration extra_latency = Duration::millis(60);
  /// The round trip between the regions, which Isthmus's tunnel back to this region's Zuul
  /// crosses: the world link us-east <-> us-west has half of this each way.
  Duration tunnel_latency = Duration::millis(60);
  void validate() const;
};

std::string_view to_string(FailoverParams::Mode m);

struct ClientParams {
  /// A request to a node with no backends is black-holed; the device gives up after this.
  Duration timeout = Duration::seconds(10);
  /// Latency of a served stream start: base + Exp(mean) (assumption).
  Duration latency_base = Duration::millis(40);
  Duration latency_mean = Duration::millis(20);
  void validate() const;
};

struct ElbParams {
  FleetParams fleet;
  std::vector<FamilyParams> families = default_families();
  ControlPlaneParams control_plane;
  IncidentParams incident;
  FailoverParams failover;
  ClientParams client;

  static std::vector<FamilyParams> default_families();
  /// Throws std::invalid_argument naming the field ("fleet.elbs: ...") and the fix.
  void validate() const;
};

}  // namespace faultline::sim::elb
