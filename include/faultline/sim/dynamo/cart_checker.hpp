// The "lost cart adds" checker: did every acknowledged add-to-cart survive?
//
// Dynamo's promise to the shopping cart (SOSP 2007, §4.4) is that an "add to cart" is never
// lost, while a deleted item may resurface. The checker takes the history of cart operations
// the clients saw and the carts as a reader finally sees them, and counts:
// - lost adds: an add the client saw succeed whose item is missing at the end, although no
//   remove of that item was even attempted after the add began (a violation);
// - resurfaced removes: a remove the client saw succeed whose item is back (allowed by the
//   union merge, reported for the story).
// Items are unique per add (client and sequence number), so an item names one add.
#pragma once

#include <faultline/check/result.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace faultline::sim::dynamo {

struct CartOp {
  enum class Kind : std::uint8_t { kAdd, kRemove };
  Kind kind = Kind::kAdd;
  std::string cart;
  std::string item;
  Time invoked{};
  /// True when the client saw the operation succeed.
  bool ok = false;
};

struct CartAudit {
  std::uint64_t acknowledged_adds = 0;
  std::uint64_t lost_adds = 0;
  std::uint64_t acknowledged_removes = 0;
  std::uint64_t resurfaced_removes = 0;
  /// Up to ten "cart/item" names of lost adds, for the report.
  std::vector<std::string> lost_examples;
};

/// `final_carts`: cart → items (sorted) as a reader sees them after reconciliation.
CartAudit audit_carts(const std::vector<CartOp>& history,
                      const std::map<std::string, std::vector<std::string>>& final_carts);

/// Passes when no acknowledged add was lost. Checker name: "cart-adds-kept".
check::CheckResult check_cart_adds_kept(
    const std::vector<CartOp>& history,
    const std::map<std::string, std::vector<std::string>>& final_carts);

}  // namespace faultline::sim::dynamo
