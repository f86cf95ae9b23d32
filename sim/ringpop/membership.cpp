#include <faultline/rng.hpp>
#include <faultline/sim/ringpop/membership.hpp>

#include <algorithm>
#include <stdexcept>

namespace faultline::sim::ringpop {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::kUnknown:
      return "unknown";
    case Status::kAlive:
      return "alive";
    case Status::kSuspect:
      return "suspect";
    case Status::kFaulty:
      return "faulty";
  }
  return "?";
}

bool overrides(Status cur_status, std::uint32_t cur_inc, Status new_status,
               std::uint32_t new_inc) {
  if (new_status == Status::kUnknown) {
    return false;
  }
  if (cur_status == Status::kUnknown || new_inc > cur_inc) {
    return true;
  }
  return new_inc == cur_inc && new_status > cur_status;
}

std::uint64_t Membership::entry_hash(MemberId m, Status s, std::uint32_t inc) {
  return hash64((std::uint64_t{m} << 32) ^ (std::uint64_t{inc} << 2) ^ static_cast<std::uint64_t>(s));
}

std::uint64_t Membership::ring_hash(MemberId m) { return hash64(0x5249'4e47'0000'0000ULL ^ m); }

Membership::Membership(MemberId self, std::uint32_t group_size)
    : self_(self), status_(group_size, Status::kUnknown), incarnation_(group_size, 0) {}

void Membership::set(MemberId m, Status s, std::uint32_t inc) {
  const Status was = status_[m];
  if (was != Status::kUnknown) {
    checksum_ -= entry_hash(m, was, incarnation_[m]);
  } else {
    ++known_;
  }
  if (pingable(was)) {
    --pingable_;
    ring_checksum_ -= ring_hash(m);
  }
  status_[m] = s;
  incarnation_[m] = inc;
  checksum_ += entry_hash(m, s, inc);
  if (pingable(s)) {
    ++pingable_;
    ring_checksum_ += ring_hash(m);
  }
}

bool Membership::apply(const Change& c) {
  if (c.member >= status_.size()) {
    return false;
  }
  if (!overrides(status_[c.member], incarnation_[c.member], c.status, c.incarnation)) {
    return false;
  }
  set(c.member, c.status, c.incarnation);
  return true;
}

void Membership::force(MemberId m, Status s, std::uint32_t incarnation) { set(m, s, incarnation); }

void Membership::assign_entries(const Membership& from) {
  if (from.size() != size()) {
    throw std::invalid_argument("Membership::assign_entries: views of groups of different sizes");
  }
  std::copy(from.status_.begin(), from.status_.end(), status_.begin());
  std::copy(from.incarnation_.begin(), from.incarnation_.end(), incarnation_.begin());
  checksum_ = from.checksum_;
  ring_checksum_ = from.ring_checksum_;
  pingable_ = from.pingable_;
  known_ = from.known_;
}

std::vector<Change> Membership::snapshot(MemberId source, std::uint32_t source_inc) const {
  std::vector<Change> out;
  out.reserve(known_);
  for (MemberId m = 0; m < status_.size(); ++m) {
    if (status_[m] != Status::kUnknown) {
      out.push_back({m, status_[m], incarnation_[m], source, source_inc});
    }
  }
  return out;
}

void Disseminator::record(const Change& c) {
  for (auto& p : pending_) {
    if (p.change.member == c.member) {
      p.change = c;
      p.sent = 0;
      return;
    }
  }
  pending_.push_back({c, 0});
}

void Disseminator::issue(std::uint32_t limit, MemberId skip_source, std::vector<Change>& out) {
  std::size_t keep = 0;
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    Pending p = pending_[i];
    if (skip_source == kNoMember || p.change.source != skip_source) {
      out.push_back(p.change);
      ++p.sent;
    }
    if (p.sent < limit) {
      pending_[keep++] = p;
    }
  }
  pending_.resize(keep);
}

}  // namespace faultline::sim::ringpop
