// One member's view of the group: status and incarnation of every member it has heard of,
// SWIM's update rules, the membership checksum, and the piggyback queue (ringpop-go's
// memberlist.go, member.go and disseminator.go, model-facts §5.1-§5.2). Pure data: no world,
// no time, so the rules are unit-tested on their own.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace faultline::sim::ringpop {

/// Member ids are dense: the i-th member of the cluster is id i.
using MemberId = std::uint32_t;
inline constexpr MemberId kNoMember = 0xffffffffu;

/// Ringpop's statuses, in precedence order at equal incarnation (a later one overrides an
/// earlier). kUnknown is "never heard of".
enum class Status : std::uint8_t { kUnknown, kAlive, kSuspect, kFaulty };
std::string_view to_string(Status s);

/// Pingable members are probed and own ring points (ringpop: alive and suspect).
inline bool pingable(Status s) { return s == Status::kAlive || s == Status::kSuspect; }

/// One membership update as it travels: "`member` is `status` at `incarnation`, says `source`".
struct Change {
  MemberId member = kNoMember;
  Status status = Status::kUnknown;
  std::uint32_t incarnation = 0;
  MemberId source = kNoMember;
  std::uint32_t source_incarnation = 0;
};

/// SWIM's rule: a higher incarnation wins; at equal incarnation the later status in
/// alive < suspect < faulty wins. True when `c` would change an entry (status, incarnation).
bool overrides(Status cur_status, std::uint32_t cur_inc, Status new_status, std::uint32_t new_inc);

struct Entry {
  Status status = Status::kUnknown;
  std::uint32_t incarnation = 0;
};

/// A member's view of the whole group, indexed by member id (n known at construction; a
/// member absent from the view is kUnknown). Statuses and incarnations are kept in two
/// arrays: most reads (choosing whom to probe or ask for help, the observations' scans) want
/// only the status, and a one-byte status per member keeps a view's hot part an eighth of an
/// 8-byte entry's size; the group holds n views of n members, so at thousands of members
/// this is most of a run's memory.
class Membership {
public:
  Membership(MemberId self, std::uint32_t group_size);

  MemberId self() const { return self_; }
  std::uint32_t size() const { return static_cast<std::uint32_t>(status_.size()); }
  Entry entry(MemberId m) const { return {status_[m], incarnation_[m]}; }
  Status status(MemberId m) const { return status_[m]; }
  /// Every member's status, by id.
  std::span<const Status> statuses() const { return status_; }
  std::uint32_t incarnation(MemberId m) const { return incarnation_[m]; }
  /// A hint: fetch m's status into the cache (read-only, no effect on the view).
  void prefetch_status(MemberId m) const { __builtin_prefetch(status_.data() + m); }

  /// Applies a change if SWIM's rule lets it through; returns true if the view changed. The
  /// caller handles a change about itself (refutation) before calling this.
  bool apply(const Change& c);
  /// Sets an entry regardless of precedence (a member's own entry, a reincarnation on heal).
  void force(MemberId m, Status s, std::uint32_t incarnation);
  /// Takes every entry (and so the checksums and counts) of a view of the same group; keeps
  /// its own self.
  void assign_entries(const Membership& from);

  /// The membership checksum: an order-independent 64-bit sum of a mix of (id, status,
  /// incarnation) over every known member, kept up to date in O(1) per change. (ringpop-go
  /// hashes a sorted string of the list with FarmHash; equal lists give equal checksums
  /// either way, and a differing entry changes ours with probability 1 - 2^-64.)
  std::uint64_t checksum() const { return checksum_; }
  /// The same over the ring's server set (pingable members): the ring checksum.
  std::uint64_t ring_checksum() const { return ring_checksum_; }
  std::uint32_t pingable_count() const { return pingable_; }
  std::uint32_t known_count() const { return known_; }

  /// Every known entry as a change (for joins and full syncs), in id order.
  std::vector<Change> snapshot(MemberId source, std::uint32_t source_inc) const;

  static std::uint64_t entry_hash(MemberId m, Status s, std::uint32_t inc);
  static std::uint64_t ring_hash(MemberId m);

private:
  void set(MemberId m, Status s, std::uint32_t inc);

  MemberId self_;
  std::vector<Status> status_;
  std::vector<std::uint32_t> incarnation_;
  std::uint64_t checksum_ = 0;
  std::uint64_t ring_checksum_ = 0;
  std::uint32_t pingable_ = 0;
  std::uint32_t known_ = 0;
};

/// The piggyback queue (ringpop-go disseminator.go): every change a member applied waits here
/// and rides on the pings and acks it sends until it has gone out `limit` times.
class Disseminator {
public:
  /// Records a change to spread (replacing an older one about the same member).
  void record(const Change& c);
  /// The changes to send now (each counted as sent once more), except those about `skip_source`
  /// that came from it (ringpop's issueAsReceiver does not echo a sender's own changes back).
  /// Changes sent `limit` times are dropped.
  void issue(std::uint32_t limit, MemberId skip_source, std::vector<Change>& out);
  bool empty() const { return pending_.empty(); }
  std::size_t size() const { return pending_.size(); }
  void clear() { pending_.clear(); }

private:
  struct Pending {
    Change change;
    std::uint32_t sent = 0;
  };
  std::vector<Pending> pending_;  // in the order recorded
};

}  // namespace faultline::sim::ringpop
