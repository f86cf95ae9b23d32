#include <faultline/sim/dynamo/cart_checker.hpp>

#include <algorithm>

namespace faultline::sim::dynamo {

CartAudit audit_carts(const std::vector<CartOp>& history,
                      const std::map<std::string, std::vector<std::string>>& final_carts) {
  // Latest time a remove of (cart, item) was invoked, acknowledged or not: a remove that may
  // have taken effect excuses the item's absence.
  std::map<std::pair<std::string, std::string>, Time> last_remove;
  for (const auto& op : history) {
    if (op.kind == CartOp::Kind::kRemove) {
      auto key = std::make_pair(op.cart, op.item);
      auto it = last_remove.find(key);
      if (it == last_remove.end() || it->second < op.invoked) {
        last_remove[key] = op.invoked;
      }
    }
  }
  static const std::vector<std::string> kEmpty;
  auto items_of = [&](const std::string& cart) -> const std::vector<std::string>& {
    auto it = final_carts.find(cart);
    return it == final_carts.end() ? kEmpty : it->second;
  };
  CartAudit audit;
  for (const auto& op : history) {
    if (!op.ok) {
      continue;
    }
    const auto& items = items_of(op.cart);
    const bool present = std::binary_search(items.begin(), items.end(), op.item);
    if (op.kind == CartOp::Kind::kAdd) {
      ++audit.acknowledged_adds;
      auto rm = last_remove.find({op.cart, op.item});
      const bool excused = rm != last_remove.end() && rm->second >= op.invoked;
      if (!present && !excused) {
        ++audit.lost_adds;
        if (audit.lost_examples.size() < 10) {
          audit.lost_examples.push_back(op.cart + "/" + op.item);
        }
      }
    } else {
      ++audit.acknowledged_removes;
      if (present) {
        ++audit.resurfaced_removes;
      }
    }
  }
  return audit;
}

check::CheckResult check_cart_adds_kept(
    const std::vector<CartOp>& history,
    const std::map<std::string, std::vector<std::string>>& final_carts) {
  const CartAudit a = audit_carts(history, final_carts);
  const std::string removes = std::to_string(a.resurfaced_removes) + " of " +
                              std::to_string(a.acknowledged_removes) +
                              " acknowledged removes resurfaced";
  const std::string carts = std::to_string(final_carts.size()) + " carts";
  if (a.lost_adds == 0) {
    return check::CheckResult::pass("cart-adds-kept",
                                    "no add lost: " + std::to_string(a.acknowledged_adds) +
                                        " acknowledged adds to " + carts + "; " + removes);
  }
  std::string details = "lost adds (cart/item), first " +
                        std::to_string(a.lost_examples.size()) + ":";
  for (const auto& e : a.lost_examples) {
    details += "\n  " + e;
  }
  return check::CheckResult::fail("cart-adds-kept",
                                  std::to_string(a.lost_adds) + " of " +
                                      std::to_string(a.acknowledged_adds) +
                                      " acknowledged adds lost (" + carts + "; " + removes + ")",
                                  details);
}

}  // namespace faultline::sim::dynamo
