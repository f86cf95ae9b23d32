// TrueTime: time masters, time daemons and Marzullo's algorithm (see truetime.hpp).
#include <faultline/sim/spanner/truetime.hpp>

#include <faultline/world/node.hpp>
#include <faultline/world/world.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace faultline::sim::spanner {
namespace {

[[noreturn]] void bad(std::string_view field, std::string_view problem, std::string_view fix) {
  throw std::invalid_argument(fmt::format("truetime.{}: {}; {}", field, problem, fix));
}

Duration scale_ppm(Duration d, double ppm) {
  return Duration::nanos(std::llround(static_cast<double>(d.ns()) * ppm * 1e-6));
}

world::ClockParams time_base_params(const TrueTimeParams& p) {
  world::ClockParams c;
  c.ntp_enabled = false;
  c.leap_mode = world::LeapMode::kSmear;
  c.smear = p.smear;
  return c;
}

/// One endpoint of a reply interval for Marzullo's sweep: +1 opens, -1 closes.
struct Edge {
  std::int64_t at;
  int delta;
};

}  // namespace

void TrueTimeParams::validate() const {
  if (gps_masters_per_zone < 0 || armageddon_masters_per_zone < 0 ||
      gps_masters_per_zone + armageddon_masters_per_zone == 0) {
    bad("masters_per_zone", "a zone needs at least one master",
        "set gps_masters_per_zone and armageddon_masters_per_zone >= 0, not both 0");
  }
  auto non_negative = [](std::string_view f, Duration d) {
    if (d < Duration::zero()) {
      bad(f, fmt::format("is negative ({})", d), "give a duration >= 0");
    }
  };
  non_negative("gps_uncertainty", gps_uncertainty);
  non_negative("armageddon_uncertainty", armageddon_uncertainty);
  non_negative("master_evict_threshold", master_evict_threshold);
  non_negative("nearby_rtt", nearby_rtt);
  non_negative("farther_rtt", farther_rtt);
  if (poll_interval <= Duration::zero()) {
    bad("poll_interval", "must be positive", "the paper polls every 30s");
  }
  if (master_check_interval <= Duration::zero()) {
    bad("master_check_interval", "must be positive", "give a duration > 0, e.g. 30s");
  }
  if (!(assumed_drift_ppm >= 0.0) || !(gps_holdover_drift_ppm >= 0.0)) {
    bad("assumed_drift_ppm", "drift bounds must be >= 0", "the paper assumes 200 (µs/s)");
  }
  if (nearby_gps_polled < 0 || farther_gps_polled < 0 || armageddon_polled < 0) {
    bad("polled", "source counts must be >= 0", "e.g. 2 nearby GPS, 1 farther, 1 Armageddon");
  }
  if (tolerated_liars < 0) {
    bad("tolerated_liars", "must be >= 0", "use 1 to survive one lying master");
  }
  const int sources = nearby_gps_polled + farther_gps_polled + armageddon_polled;
  if (sources < 2 * tolerated_liars + 1) {
    bad("tolerated_liars",
        fmt::format("{} polled sources cannot out-vote {} liars", sources, tolerated_liars),
        "poll at least 2f+1 masters");
  }
  if (!(rtt_sigma >= 0.0) || rtt_sigma > 3.0) {
    bad("rtt_sigma", "must be in [0, 3]", "e.g. 0.15");
  }
  smear.validate("truetime.smear");
}

// --- TrueTime ------------------------------------------------------------------------------

TrueTime::TrueTime(world::World& world, TrueTimeParams params)
    : world_(&world),
      params_((params.validate(), std::move(params))),
      time_base_(world.sim(), world.leaps(), time_base_params(params_), "truetime-base") {
  for (std::uint32_t z = 0; z < world.topology().zone_count(); ++z) {
    ensure_zone(world::ZoneId{z});
  }
  check_event_ = sim().schedule_after(params_.master_check_interval, [this] { cross_check(); });
}

TrueTime::~TrueTime() {
  daemons_.clear();
  sim().cancel(check_event_);
}

Simulation& TrueTime::sim() const { return world_->sim(); }

UtcInstant TrueTime::true_time(Time t) const { return time_base_.base_at(t); }
UtcInstant TrueTime::true_time() const { return true_time(sim().now()); }

void TrueTime::ensure_zone(world::ZoneId zone) {
  if (zone_first_master_.contains(zone.value())) {
    return;
  }
  zone_first_master_[zone.value()] = static_cast<int>(masters_.size());
  const int total = params_.gps_masters_per_zone + params_.armageddon_masters_per_zone;
  for (int i = 0; i < total; ++i) {
    MasterState m;
    m.kind = i < params_.gps_masters_per_zone ? MasterKind::kGps : MasterKind::kArmageddon;
    m.zone = zone;
    m.index = i;
    m.error_since = sim().now();
    masters_.push_back(m);
  }
}

int TrueTime::master_index(world::ZoneId zone, int index) const {
  const auto it = zone_first_master_.find(zone.value());
  const int total = params_.gps_masters_per_zone + params_.armageddon_masters_per_zone;
  if (it == zone_first_master_.end() || index < 0 || index >= total) {
    throw std::invalid_argument(fmt::format(
        "truetime: no master {} in zone {}; zones have masters 0..{} (GPS first)", index,
        zone.valid() ? world_->topology().name(zone) : std::string("?"), total - 1));
  }
  return it->second + index;
}

UtcInstant TrueTime::master_reading(const MasterState& m, Time t) const {
  return true_time(t) + m.error_offset + scale_ppm(t - m.error_since, m.error_drift_ppm);
}

Duration TrueTime::master_uncertainty(const MasterState& m, Time t) const {
  if (m.kind == MasterKind::kArmageddon) {
    return params_.armageddon_uncertainty;
  }
  if (m.gps_lost) {
    return params_.gps_uncertainty + scale_ppm(t - m.gps_lost_at, params_.gps_holdover_drift_ppm);
  }
  return params_.gps_uncertainty;
}

Duration TrueTime::congestion(world::ZoneId zone) const {
  const auto it = congestion_.find(zone.value());
  return it == congestion_.end() ? Duration::zero() : it->second;
}

void TrueTime::set_master_up(world::ZoneId zone, int index, bool up) {
  MasterState& m = masters_[static_cast<std::size_t>(master_index(zone, index))];
  m.up = up;
  if (up) {
    m.evicted = false;  // back from maintenance: re-admitted after its own checks
  }
  sim().record("truetime", up ? "master_up" : "master_down",
               {{"zone", world_->topology().name(zone)}, {"master", index}});
}

void TrueTime::set_gps_lost(world::ZoneId zone, int index, bool lost) {
  MasterState& m = masters_[static_cast<std::size_t>(master_index(zone, index))];
  if (m.kind != MasterKind::kGps) {
    throw std::invalid_argument(fmt::format(
        "truetime: master {} of zone {} is an Armageddon master and has no GPS antenna", index,
        world_->topology().name(zone)));
  }
  if (lost && !m.gps_lost) {
    m.gps_lost_at = sim().now();
  }
  m.gps_lost = lost;
  sim().record("truetime", lost ? "gps_lost" : "gps_back",
               {{"zone", world_->topology().name(zone)}, {"master", index}});
}

void TrueTime::set_master_error(world::ZoneId zone, int index, Duration offset, double drift_ppm) {
  MasterState& m = masters_[static_cast<std::size_t>(master_index(zone, index))];
  m.error_offset = offset;
  m.error_drift_ppm = drift_ppm;
  m.error_since = sim().now();
  sim().record("truetime", "master_error",
               {{"zone", world_->topology().name(zone)}, {"master", index},
                {"offset_ns", offset}, {"drift_ppm", drift_ppm}});
}

void TrueTime::set_congestion(world::ZoneId zone, Duration extra_rtt) {
  if (extra_rtt < Duration::zero()) {
    throw std::invalid_argument("truetime: congestion delay must be >= 0");
  }
  congestion_[zone.value()] = extra_rtt;
}

int TrueTime::masters_serving(world::ZoneId zone) const {
  int n = 0;
  for (const MasterState& m : masters_) {
    n += static_cast<int>(m.zone == zone && master_serving(m));
  }
  return n;
}

Duration TrueTime::mean_epsilon(world::ZoneId zone) const {
  std::int64_t sum = 0;
  std::int64_t n = 0;
  for (const auto& [host, d] : daemons_) {
    if (d->zone_ == zone) {
      sum += d->epsilon().ns();
      ++n;
    }
  }
  return n == 0 ? Duration::zero() : Duration::nanos(sum / n);
}

std::string TrueTime::epsilon_metric(std::string_view zone_name) {
  return fmt::format("truetime/zone/{}/epsilon_after_poll", zone_name);
}

void TrueTime::cross_check() {
  // Masters compare their readings with each other's; one whose error exceeds the threshold
  // takes itself out (the paper: "evict themselves if there is substantial divergence").
  if (params_.masters_self_evict) {
    const Time now = sim().now();
    for (MasterState& m : masters_) {
      if (!master_serving(m)) {
        continue;
      }
      const Duration err = master_reading(m, now) - true_time(now);
      const Duration abs_err = err < Duration::zero() ? -err : err;
      if (abs_err > params_.master_evict_threshold) {
        m.evicted = true;
        sim().metrics().counter("truetime/master_evictions").inc();
        sim().record("truetime", "master_evicted",
                     {{"zone", world_->topology().name(m.zone)}, {"master", m.index},
                      {"error_ns", err}});
      }
    }
  }
  check_event_ = sim().schedule_after(params_.master_check_interval, [this] { cross_check(); });
}

TimeDaemon& TrueTime::daemon(world::HostId host) {
  auto it = daemons_.find(host.value());
  if (it == daemons_.end()) {
    ensure_zone(world_->topology().zone_of(host));
    it = daemons_.emplace(host.value(), std::make_unique<TimeDaemon>(*this, host)).first;
  }
  return *it->second;
}

// --- TimeDaemon ----------------------------------------------------------------------------

TimeDaemon::TimeDaemon(TrueTime& tt, world::HostId host)
    : tt_(&tt),
      host_(host),
      zone_(tt.world().topology().zone_of(host)),
      anchor_true_(tt.sim().now()),
      drift_ppm_(tt.world().host(host).clock().params().drift_ppm),
      rng_(tt.sim().rng("truetime/" + tt.world().topology().name(host))) {
  // The fleet has been running before the simulation starts: each daemon last polled a random
  // time ago (so a fleet neither polls in lockstep nor starts with every ε at its minimum),
  // and polls again one interval after that.
  const Duration interval = tt.params().poll_interval;
  const auto since = Duration::nanos(
      static_cast<std::int64_t>(rng_.below(static_cast<std::uint64_t>(interval.ns()))));
  sync_now(since);
  schedule_poll(interval - since);
}

TimeDaemon::~TimeDaemon() {
  tt_->sim().cancel(poll_event_);
  tt_->sim().cancel(finish_event_);
}

Duration TimeDaemon::local_at(Time t) const {
  const Duration dt = t - anchor_true_;
  return anchor_local_ + dt + scale_ppm(dt, drift_ppm_);
}

Time TimeDaemon::true_time_at_local(Duration local) const {
  const double rate = 1.0 + drift_ppm_ * 1e-6;
  const double dt = static_cast<double>((local - anchor_local_).ns()) / rate;
  return anchor_true_ + Duration::nanos(static_cast<std::int64_t>(std::ceil(dt)));
}

void TimeDaemon::set_oscillator_drift(double ppm) {
  const Time now = tt_->sim().now();
  anchor_local_ = local_at(now);
  anchor_true_ = now;
  drift_ppm_ = ppm;
}

TTInterval TimeDaemon::now() const {
  const Duration elapsed = local_at(tt_->sim().now()) - ref_local_;
  const UtcInstant mid = ref_mid_ + elapsed;
  const Duration eps = eps0_ + scale_ppm(elapsed, tt_->params().assumed_drift_ppm);
  return {mid - eps, mid + eps};
}

bool TimeDaemon::contains_true_time() const { return now().contains(tt_->true_time()); }

void TimeDaemon::sync_now(Duration ago) {
  // A good poll `ago` before now, with ε₀ from a nearby round trip. The reference is placed so
  // that TT.now() is centred on true time now; ε has grown since by the assumed drift.
  ref_local_ = local_at(tt_->sim().now()) - ago;
  ref_mid_ = tt_->true_time() - ago;
  eps0_ = tt_->params().gps_uncertainty + tt_->params().nearby_rtt / 2;
  synced_ = true;
}

void TimeDaemon::schedule_poll(Duration delay) {
  poll_event_ = tt_->sim().schedule_after(delay, [this] { poll(); });
}

void TimeDaemon::poll() {
  const TrueTimeParams& p = tt_->params();
  Simulation& sim = tt_->sim();
  const Time now = sim.now();
  schedule_poll(p.poll_interval);
  if (evicted_) {
    return;
  }
  // Choose sources: nearby GPS masters, then farther GPS masters (also standing in for
  // missing nearby ones), then Armageddon masters (nearby first). Within a class, the order is
  // a per-poll shuffle from this daemon's stream, so load spreads over equal masters.
  const auto& masters = tt_->masters_;
  std::vector<int> near_gps;
  std::vector<int> far_gps;
  std::vector<int> near_arm;
  std::vector<int> far_arm;
  for (int i = 0; i < static_cast<int>(masters.size()); ++i) {
    const MasterState& m = masters[static_cast<std::size_t>(i)];
    if (!tt_->master_serving(m)) {
      continue;
    }
    const bool near = m.zone == zone_;
    if (m.kind == MasterKind::kGps) {
      (near ? near_gps : far_gps).push_back(i);
    } else {
      (near ? near_arm : far_arm).push_back(i);
    }
  }
  auto shuffle = [this](std::vector<int>& v) {
    for (std::size_t i = v.size(); i > 1; --i) {
      std::swap(v[i - 1], v[static_cast<std::size_t>(rng_.below(i))]);
    }
  };
  shuffle(near_gps);
  shuffle(far_gps);
  shuffle(near_arm);
  shuffle(far_arm);
  std::vector<int> chosen;
  auto take = [&chosen](std::vector<int>& from, int n) {
    int taken = 0;
    while (taken < n && !from.empty()) {
      chosen.push_back(from.back());
      from.pop_back();
      ++taken;
    }
    return n - taken;  // how many are missing
  };
  const int missing_near = take(near_gps, p.nearby_gps_polled);
  take(far_gps, p.farther_gps_polled + missing_near);
  const int missing_arm = take(near_arm, p.armageddon_polled);
  take(far_arm, missing_arm);

  std::vector<Reply> replies;
  replies.reserve(chosen.size());
  Duration slowest = Duration::zero();
  for (int i : chosen) {
    const MasterState& m = masters[static_cast<std::size_t>(i)];
    const Duration median = m.zone == zone_ ? p.nearby_rtt : p.farther_rtt;
    const double jitter = p.rtt_sigma > 0.0 ? rng_.lognormal(0.0, p.rtt_sigma) : 1.0;
    const Duration rtt =
        Duration::nanos(std::llround(static_cast<double>(median.ns()) * jitter)) +
        tt_->congestion(m.zone);
    // The master stamps its reading halfway; the daemon only knows it was within the rtt.
    const Time stamped = now + rtt / 2;
    replies.push_back({i, rtt, tt_->master_reading(m, stamped),
                       tt_->master_uncertainty(m, stamped), now + rtt});
    slowest = std::max(slowest, rtt);
  }
  sim.cancel(finish_event_);
  finish_event_ = sim.schedule_after(slowest, [this, r = std::move(replies)]() mutable {
    finish_poll(std::move(r));
  });
}

void TimeDaemon::finish_poll(std::vector<Reply> replies) {
  const TrueTimeParams& p = tt_->params();
  Simulation& sim = tt_->sim();
  const Time now = sim.now();
  const Duration local_now = local_at(now);
  const int m = static_cast<int>(replies.size());
  const int f = p.tolerated_liars;

  // Each reply as an interval of the time base at this local instant. The stamp was taken
  // somewhere within the round trip (measured on the local oscillator), and the time since
  // the reply arrived is measured locally too, widened by the assumed drift.
  std::vector<std::pair<std::int64_t, std::int64_t>> iv;
  std::vector<Edge> edges;
  iv.reserve(replies.size());
  for (const Reply& r : replies) {
    const Duration rtt_local = local_at(r.received) - local_at(r.received - r.rtt);
    const Duration since = local_now - local_at(r.received);
    const Duration slack = scale_ppm(since + rtt_local, p.assumed_drift_ppm);
    const std::int64_t lo = (r.stamp - r.uncertainty - slack + since).unix_ns();
    const std::int64_t hi = (r.stamp + r.uncertainty + rtt_local + slack + since).unix_ns();
    iv.emplace_back(lo, hi);
    edges.push_back({lo, +1});
    edges.push_back({hi, -1});
  }
  // Marzullo with fault tolerance f: the span of points covered by at least m − f replies.
  // Opening edges sort before closing ones at the same point, so touching intervals overlap.
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
    return a.at != b.at ? a.at < b.at : a.delta > b.delta;
  });
  const int need = m - f;
  bool found = false;
  std::int64_t lo = 0;
  std::int64_t hi = 0;
  int cover = 0;
  if (m >= 2 * f + 1) {
    for (const Edge& e : edges) {
      if (e.delta > 0) {
        ++cover;
        if (cover >= need && !found) {
          lo = e.at;
          found = true;
        }
      } else {
        if (cover >= need) {
          hi = e.at;
        }
        --cover;
      }
    }
  }
  const std::string& zone_name = tt_->world().topology().name(zone_);
  if (!found) {
    ++failed_polls_;
    sim.metrics().counter("truetime/failed_polls").inc();
    sim.record("truetime", "no_agreement",
               {{"host", tt_->world().topology().name(host_)}, {"replies", m}});
    return;
  }
  // Replies that miss the agreed span are liars: rejected.
  for (std::size_t i = 0; i < iv.size(); ++i) {
    if (iv[i].second < lo || iv[i].first > hi) {
      const MasterState& ms = tt_->masters_[static_cast<std::size_t>(replies[i].master)];
      sim.metrics().counter("truetime/liars_rejected").inc();
      sim.record("truetime", "liar_rejected",
                 {{"host", tt_->world().topology().name(host_)},
                  {"zone", tt_->world().topology().name(ms.zone)}, {"master", ms.index}});
    }
  }
  const UtcInstant new_mid = UtcInstant::from_unix_ns(lo + (hi - lo) / 2);
  const Duration new_eps0 = Duration::nanos((hi - lo + 1) / 2);

  // Frequency check: over the time since the last poll, the local oscillator and the
  // reference must agree within the assumed drift plus both polls' uncertainty.
  if (synced_ && p.evict_bad_clocks) {
    const Duration local_elapsed = local_now - ref_local_;
    const Duration ref_elapsed = new_mid - ref_mid_;
    const Duration excursion = local_elapsed - ref_elapsed;
    const Duration abs_excursion = excursion < Duration::zero() ? -excursion : excursion;
    const Duration allowed = scale_ppm(local_elapsed, p.assumed_drift_ppm) + eps0_ + new_eps0;
    if (local_elapsed > Duration::zero() && abs_excursion > allowed) {
      evicted_ = true;
      sim.metrics().counter("truetime/hosts_evicted").inc();
      sim.record("truetime", "host_evicted",
                 {{"host", tt_->world().topology().name(host_)}, {"excursion_ns", excursion}});
    }
  }
  ref_local_ = local_now;
  ref_mid_ = new_mid;
  eps0_ = new_eps0;
  synced_ = true;
  sim.metrics().histogram(TrueTime::kEpsilonMetricAll).record(eps0_.ns());
  sim.metrics().histogram(TrueTime::epsilon_metric(zone_name)).record(eps0_.ns());
}

Task<void> TimeDaemon::wait_until_after(UtcInstant t, world::Node* node) {
  Simulation& sim = tt_->sim();
  while (!after(t)) {
    // earliest(local) = ref_mid + e − eps0 − drift·e, with e the local time since the poll;
    // solve earliest > t for e, then find when the local oscillator gets there. A poll in
    // between may move the reference, so check again on waking.
    const double rate = 1.0 - tt_->params().assumed_drift_ppm * 1e-6;
    const Duration need = (t - ref_mid_) + eps0_;
    const auto e = Duration::nanos(
        static_cast<std::int64_t>(std::ceil(static_cast<double>(need.ns()) / rate)) + 1);
    const Time wake = true_time_at_local(ref_local_ + e);
    const Duration d = std::max(wake - sim.now(), Duration::nanos(1));
    if (node != nullptr) {
      co_await node->sleep(d);
    } else {
      co_await sim.sleep(d);
    }
  }
}

}  // namespace faultline::sim::spanner
