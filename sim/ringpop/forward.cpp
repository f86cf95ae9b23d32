// Handle or forward: a SwimMember's request path (see swim.hpp and params.hpp).
#include <faultline/sim/ringpop/cluster.hpp>
#include <faultline/sim/ringpop/swim.hpp>

#include <faultline/probe.hpp>

#include <algorithm>
#include <cmath>

namespace faultline::sim::ringpop {

// Code probes (docs/cli.md, "Fault coverage"): recovery paths a sweep should reach.
const ProbePoint kProbeRefused("ringpop/forward/refused-on-checksum");

using world::Payload;

// --- handle or forward ----------------------------------------------------------------------

void SwimMember::request(std::uint64_t key_hash,
                         std::function<void(const RequestOutcome&)> done) {
  const std::uint64_t id = ++next_request_;
  requests_.push_back({id, key_hash, node_.sim().now(), {}, std::move(done), 0});
  attempt(id);
}

void SwimMember::attempt(std::uint64_t id) {
  auto it = std::find_if(requests_.begin(), requests_.end(),
                         [&](const Pending& p) { return p.id == id; });
  if (it == requests_.end()) {
    return;
  }
  const MemberId owner = shared_.rings().ring_for(view_)->lookup(it->key_hash);
  if (owner == self_ || owner == kNoMember) {
    // Ours: handle it (the work costs CPU on this member).
    node_.compute(shared_.params().forward.handle_cpu, [this, id] {
      auto p = std::find_if(requests_.begin(), requests_.end(),
                            [&](const Pending& q) { return q.id == id; });
      if (p == requests_.end()) {
        return;
      }
      Pending done = std::move(*p);
      requests_.erase(p);
      done.outcome.ok = true;
      done.outcome.handled_by = self_;
      done.outcome.latency = node_.sim().now() - done.started;
      shared_.count("requests_handled_locally");
      done.done(done.outcome);
    });
    return;
  }
  ++it->outcome.attempts;
  const std::uint64_t seq = ++it->attempt_seq;
  send(owner, Payload::make<FwdReq>(FwdReq{(id << 8) | (seq & 0xff), it->key_hash, self_,
                                           view_.checksum()}),
       0);
  shared_.count("forwards");
  node_.after(shared_.params().forward.timeout, [this, id, seq] {
    auto p = std::find_if(requests_.begin(), requests_.end(),
                          [&](const Pending& q) { return q.id == id; });
    if (p != requests_.end() && p->attempt_seq == seq) {
      ++p->outcome.timeouts;
      retry_or_fail(id);
    }
  });
}

void SwimMember::retry_or_fail(std::uint64_t id) {
  auto it = std::find_if(requests_.begin(), requests_.end(),
                         [&](const Pending& p) { return p.id == id; });
  if (it == requests_.end()) {
    return;
  }
  ++it->attempt_seq;  // answers to the previous attempt are now stale
  const auto& schedule = shared_.params().forward.retry_schedule;
  const std::uint32_t retries_done = it->outcome.attempts - 1;
  if (retries_done >= schedule.size()) {
    Pending done = std::move(*it);
    requests_.erase(it);
    done.outcome.ok = false;
    done.outcome.latency = node_.sim().now() - done.started;
    shared_.count("requests_failed");
    done.done(done.outcome);
    return;
  }
  node_.after(schedule[retries_done], [this, id] { attempt(id); });
}

void SwimMember::on_fwd_req(const FwdReq& r) {
  const auto& fp = shared_.params().forward;
  if (fp.refuse_on_checksum_mismatch && r.checksum != view_.checksum()) {
    shared_.count("forwards_refused");
    FAULTLINE_PROBE(shared_.sim(), kProbeRefused);
    send(r.from, Payload::make<FwdResp>(FwdResp{r.id, self_, true}), 0);
    return;
  }
  node_.compute(fp.handle_cpu, [this, r] {
    shared_.count("requests_handled_forwarded");
    send(r.from, Payload::make<FwdResp>(FwdResp{r.id, self_, false}), 0);
  });
}

void SwimMember::on_fwd_resp(const FwdResp& r) {
  const std::uint64_t id = r.id >> 8;
  auto it = std::find_if(requests_.begin(), requests_.end(),
                         [&](const Pending& p) { return p.id == id; });
  if (it == requests_.end() || (it->attempt_seq & 0xff) != (r.id & 0xff)) {
    return;  // a late answer to an attempt we gave up on
  }
  if (r.refused) {
    ++it->outcome.refusals;
    retry_or_fail(id);
    return;
  }
  Pending done = std::move(*it);
  requests_.erase(it);
  done.outcome.ok = true;
  done.outcome.handled_by = r.from;
  done.outcome.latency = node_.sim().now() - done.started;
  done.done(done.outcome);
}

}  // namespace faultline::sim::ringpop
