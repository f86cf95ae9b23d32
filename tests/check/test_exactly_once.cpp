#include "generators.hpp"

#include <faultline/check/exactly_once.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::check;
using testing_support::ms;

namespace {

/// A client charges with idempotency key `id`: a first attempt times out, the retry succeeds.
void charge_with_retry(testing_support::Builder& b, std::int64_t client, const std::string& id,
                       std::int64_t t) {
  b.op(client, t, t + 1, Op::request(id, "charge"), EventType::kInfo);
  b.op(client, t + 2, t + 3, Op::request(id, "charge"));
}

}  // namespace

TEST_CASE("exactly-once: a retried request charged once passes", "[check][exactly-once]") {
  testing_support::Builder b;
  charge_with_retry(b, 1, "ik_1", 0);
  charge_with_retry(b, 2, "ik_2", 0);
  b.op(3, 0, 5, Op::request("ik_3", "charge"), EventType::kInfo);  // may or may not be charged
  b.op(4, 0, 1, Op::request("ik_4", "charge"), EventType::kFail);  // declined: must not be
  History h = b.build();
  std::vector<Effect> effects{{"ik_1", ms(1), "charged $20"}, {"ik_2", ms(3), "charged $5"}};
  CheckResult r = check_exactly_once(h, effects);
  INFO(r.to_string());
  CHECK(r.ok);
  effects.push_back({"ik_3", ms(2), "charged $1"});
  CHECK(check_exactly_once(h, effects).ok);
}

TEST_CASE("exactly-once: a double charge is rejected", "[check][exactly-once]") {
  testing_support::Builder b;
  charge_with_retry(b, 1, "ik_1", 0);
  History h = b.build();
  std::vector<Effect> effects{{"ik_1", ms(1), "charged $20"}, {"ik_1", ms(3), "charged $20"}};
  CheckResult r = check_exactly_once(h, effects);
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("1 duplicate effect"));
  CHECK_THAT(r.details, Catch::Contains("request \"ik_1\" took effect 2 times"));
}

TEST_CASE("exactly-once: success without an effect, and effects of failed or unknown requests",
          "[check][exactly-once]") {
  testing_support::Builder b;
  charge_with_retry(b, 1, "ik_1", 10);
  b.op(2, 0, 1, Op::request("ik_2"), EventType::kFail);
  History h = b.build();
  std::vector<Effect> effects{{"ik_2", ms(1), ""}, {"ik_9", ms(2), ""}, {"ik_1", ms(5), ""}};
  CheckResult r = check_exactly_once(h, effects);
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("1 effect of a failed request"));
  CHECK_THAT(r.summary, Catch::Contains("1 effect without a request"));
  CHECK_THAT(r.summary, Catch::Contains("1 effect before its request"));
  CHECK_FALSE(check_exactly_once(h, std::vector<Effect>{}).ok);  // ik_1 succeeded, no charge
}

TEST_CASE("exactly-once: random retries with one effect each pass, a duplicated one fails",
          "[check][exactly-once][random]") {
  std::uint64_t seed = GENERATE(range(1, 11));
  Rng rng(seed);
  History h;
  std::vector<Effect> effects;
  std::int64_t t = 0;
  for (int i = 0; i < 50; ++i) {
    std::string id = "ik_" + std::to_string(i);
    auto attempts = rng.uniform_int(1, 4);
    bool applied = false;
    for (std::int64_t a = 0; a < attempts; ++a) {
      h.invoke(1, ms(t), Op::request(id));
      bool last = a + 1 == attempts;
      if (!applied && rng.below(2) == 0) {
        effects.push_back({id, ms(t), ""});
        applied = true;
      }
      if (last && applied) {
        h.ok(1, ms(t + 1));
      } else if (last && rng.below(2) == 0) {
        h.fail(1, ms(t + 1));
        if (applied) {
          effects.pop_back();  // a definite failure must leave no effect
          applied = false;
        }
      } else {
        h.info(1, ms(t + 1));
      }
      t += 2;
    }
  }
  CheckResult r = check_exactly_once(h, effects);
  INFO(r.to_string());
  REQUIRE(r.ok);
  REQUIRE_FALSE(effects.empty());
  effects.push_back(effects[rng.below(effects.size())]);
  CHECK_FALSE(check_exactly_once(h, effects).ok);
}

TEST_CASE("outbox: one event per committed record passes", "[check][outbox]") {
  std::vector<OutboxRecord> committed{{"order-1", ms(1)}, {"order-2", ms(2)}};
  std::vector<OutboxRecord> emitted{{"order-2", ms(3)}, {"order-1", ms(4)}};
  CheckResult r = check_outbox(committed, emitted);
  CHECK(r.ok);
  CHECK(r.checker == "outbox");
}

TEST_CASE("outbox: missing, duplicate, orphan and early events are rejected",
          "[check][outbox]") {
  std::vector<OutboxRecord> committed{{"a", ms(1)}, {"b", ms(2)}, {"c", ms(10)}};
  std::vector<OutboxRecord> emitted{{"a", ms(3)}, {"a", ms(4)}, {"z", ms(5)}, {"c", ms(6)}};
  CheckResult r = check_outbox(committed, emitted);
  INFO(r.to_string());
  REQUIRE_FALSE(r.ok);
  CHECK_THAT(r.summary, Catch::Contains("1 duplicate event"));
  CHECK_THAT(r.summary, Catch::Contains("1 missing event"));
  CHECK_THAT(r.summary, Catch::Contains("1 event without a record"));
  CHECK_THAT(r.summary, Catch::Contains("1 event before commit"));
}
