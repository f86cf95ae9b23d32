#include <faultline/world/link_rules.hpp>

#include <algorithm>

namespace faultline::world {

namespace {
__extension__ using U128 = unsigned __int128;
}  // namespace

RuleId LinkRules::add(LinkRule rule) {
  Active a;
  std::uint32_t max_host = 0;
  for (HostId h : rule.from) {
    max_host = std::max(max_host, h.value() + 1);
  }
  for (HostId h : rule.to) {
    max_host = std::max(max_host, h.value() + 1);
  }
  a.side.assign(max_host, 0);
  for (HostId h : rule.from) {
    a.side[h.value()] |= 1;
  }
  for (HostId h : rule.to) {
    a.side[h.value()] |= 2;
  }
  a.began = now_ ? now_() : Time{};
  a.rule = std::move(rule);
  const RuleId id = next_id_++;
  rules_.emplace(id, std::move(a));
  return id;
}

bool LinkRules::remove(RuleId id) {
  if (rules_.erase(id) == 0) {
    return false;
  }
  if (on_removed_) {
    on_removed_(id);
  }
  return true;
}

std::size_t LinkRules::remove_all(LinkEffect effect) {
  std::vector<RuleId> ids;
  for (const auto& [id, a] : rules_) {
    if (a.rule.effect == effect) {
      ids.push_back(id);
    }
  }
  for (RuleId id : ids) {
    remove(id);
  }
  return ids.size();
}

LinkVerdict LinkRules::evaluate(HostId src, HostId dst, bool in_flight, Time sent_at) const {
  LinkVerdict v;
  for (const auto& [id, a] : rules_) {
    if (in_flight && (!a.rule.hits_in_flight || a.began <= sent_at)) {
      continue;
    }
    const std::uint8_t s = src.value() < a.side.size() ? a.side[src.value()] : 0;
    const std::uint8_t d = dst.value() < a.side.size() ? a.side[dst.value()] : 0;
    const bool forward = (s & 1) && (d & 2);
    const bool backward = a.rule.both_ways && (s & 2) && (d & 1);
    if (!forward && !backward) {
      continue;
    }
    switch (a.rule.effect) {
      case LinkEffect::kBlock:
        v.blocked = true;
        break;
      case LinkEffect::kHold:
        if (!v.held) {
          v.held = true;
          v.hold_rule = id;
        }
        break;
      case LinkEffect::kDelay:
        v.extra_delay += a.rule.delay;
        break;
      case LinkEffect::kLoss:
        // Keep the largest loss ratio (compare num/den by cross-multiplying in 128 bits).
        if (v.loss.is_zero() ||
            static_cast<U128>(a.rule.ratio.num) * v.loss.den >
                static_cast<U128>(v.loss.num) * a.rule.ratio.den) {
          v.loss = a.rule.ratio;
        }
        break;
    }
  }
  return v;
}

}  // namespace faultline::world
