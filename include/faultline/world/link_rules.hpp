// Link rules: the declarative fault state that the network consults for every message.
//
// The fault injector turns partitions, clogs, latency injection and packet loss into rules
// between two sets of hosts; the network asks `evaluate(src, dst)` at send time and, for rules
// that hit messages in flight, again on arrival. Models never see any of this: there is no
// `if (chaos)` outside this table.
#pragma once

#include <faultline/time.hpp>
#include <faultline/world/ids.hpp>
#include <faultline/world/params.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace faultline::world {

enum class LinkEffect : std::uint8_t {
  kBlock,  // partition: messages are dropped
  kHold,   // clog: messages wait until the rule is removed, then go on (FoundationDB's clog)
  kDelay,  // latency injection: `delay` added to each message
  kLoss,   // extra packet loss with probability `ratio`
};

struct LinkRule {
  /// Hosts on each side. A message from a host in `from` to a host in `to` matches; with
  /// both_ways, so does one from `to` to `from`.
  std::vector<HostId> from;
  std::vector<HostId> to;
  bool both_ways = true;
  LinkEffect effect = LinkEffect::kBlock;
  Duration delay{};
  Ratio ratio;
  /// Whether the rule also applies, on arrival, to messages sent before it began.
  bool hits_in_flight = true;
};

using RuleId = std::uint64_t;

/// What the rules say about one message.
struct LinkVerdict {
  bool blocked = false;
  bool held = false;
  RuleId hold_rule = 0;     // the rule holding it, when held
  Duration extra_delay{};   // sum of kDelay rules
  Ratio loss;               // the largest kLoss ratio that matches (zero when none)
};

class LinkRules {
public:
  RuleId add(LinkRule rule);
  /// Removes a rule; false if it was not active. Calls the removal listener.
  bool remove(RuleId id);
  /// Removes every rule with this effect; returns how many.
  std::size_t remove_all(LinkEffect effect);
  bool empty() const { return rules_.empty(); }
  std::size_t size() const { return rules_.size(); }
  bool active(RuleId id) const { return rules_.count(id) != 0; }

  /// The verdict for a message src → dst. `in_flight`: evaluated on arrival for a message
  /// sent earlier (only rules with hits_in_flight that began after `sent_at` apply).
  LinkVerdict evaluate(HostId src, HostId dst, bool in_flight = false, Time sent_at = {}) const;

  /// Called with the id of each removed rule (the network releases held messages).
  void on_removed(std::function<void(RuleId)> fn) { on_removed_ = std::move(fn); }
  /// The rules began at this time (set by add from the clock given here).
  void set_now_source(std::function<Time()> now) { now_ = std::move(now); }

private:
  struct Active {
    LinkRule rule;
    std::vector<std::uint8_t> side;  // per host: bit 0 = in `from`, bit 1 = in `to`
    Time began{};
  };
  std::map<RuleId, Active> rules_;
  RuleId next_id_ = 1;
  std::function<void(RuleId)> on_removed_;
  std::function<Time()> now_;
};

}  // namespace faultline::world
