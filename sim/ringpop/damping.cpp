// Flap damping of a SwimMember (see swim.hpp and params.hpp).
#include <faultline/sim/ringpop/cluster.hpp>
#include <faultline/sim/ringpop/swim.hpp>

#include <faultline/probe.hpp>

#include <algorithm>
#include <cmath>

namespace faultline::sim::ringpop {

// Code probes (docs/cli.md, "Fault coverage"): recovery paths a sweep should reach.
const ProbePoint kProbeDamped("ringpop/damping/flapper-evicted");

using world::Payload;

// --- flap damping ---------------------------------------------------------------------------

SwimMember::Damp* SwimMember::damp_of(MemberId m) {
  for (auto& d : damps_) {
    if (d.member == m) {
      return &d;
    }
  }
  return nullptr;
}

const SwimMember::Damp* SwimMember::damp_of(MemberId m) const {
  for (const auto& d : damps_) {
    if (d.member == m) {
      return &d;
    }
  }
  return nullptr;
}

double SwimMember::decayed(const Damp& d) const {
  const double age = (node_.sim().now() - d.updated).to_seconds();
  return d.score * std::exp2(-age / params_.damping.half_life.to_seconds());
}

double SwimMember::damp_score(MemberId m) const {
  const Damp* d = damp_of(m);
  return d == nullptr ? 0.0 : decayed(*d);
}

bool SwimMember::damped(MemberId m) const {
  const Damp* d = damp_of(m);
  if (d == nullptr || !d->damped) {
    return false;
  }
  // Reused once the score has decayed below the reuse limit.
  return decayed(*d) >= params_.damping.reuse_limit;
}

void SwimMember::flapped(MemberId m) {
  const auto& dp = params_.damping;
  Damp* d = damp_of(m);
  if (d == nullptr) {
    damps_.push_back({m, 0.0, node_.sim().now(), false, 0, 0});
    d = &damps_.back();
  }
  d->score = decayed(*d) + dp.penalty;
  d->updated = node_.sim().now();
  if (d->damped && d->score < dp.reuse_limit) {
    d->damped = false;
  }
  if (d->score <= dp.suppress_limit || d->damped || d->asking != 0) {
    return;
  }
  // Ask others whether they see the flapping too (damp-req), then decide.
  const auto helpers = pick_helpers(m, dp.damp_req_size);
  if (helpers.size() < dp.damp_req_quorum) {
    return;
  }
  const std::uint64_t seq = ++seq_;
  d->asking = seq;
  d->votes = 0;
  for (MemberId h : helpers) {
    send(h, Payload::make<DampReq>(DampReq{seq, self_, m}), 0);
  }
  shared_.count("damp_reqs");
  node_.after(dp.damp_req_timeout, [this, m, seq] {
    Damp* dd = damp_of(m);
    if (dd == nullptr || dd->asking != seq) {
      return;
    }
    dd->asking = 0;
    if (dd->votes < params_.damping.damp_req_quorum) {
      return;
    }
    dd->damped = true;
    shared_.count("damped");
    FAULTLINE_PROBE(shared_.sim(), kProbeDamped);
    // Evict the flapper: declare it faulty, so the ring stops routing to it.
    if (pingable(view_.status(m))) {
      const Entry before = view_.entry(m);
      const Change c{m, Status::kFaulty, before.incarnation, self_, incarnation()};
      view_.apply(c);
      dissem_.record(c);
      changed(m, before, c, true);
    }
  });
}

void SwimMember::on_damp_req(const DampReq& r) {
  send(r.from, Payload::make<DampResp>(DampResp{r.seq, r.target, damp_score(r.target)}), 0);
}

void SwimMember::on_damp_resp(const DampResp& r) {
  Damp* d = damp_of(r.target);
  if (d != nullptr && d->asking == r.seq && r.score > params_.damping.suppress_limit) {
    ++d->votes;
  }
}

}  // namespace faultline::sim::ringpop
