#include "generators.hpp"

#include <faultline/check/history.hpp>

#include <catch2/catch.hpp>
#include <sstream>

using namespace faultline;
using namespace faultline::check;
using testing_support::ms;

TEST_CASE("history: invocations pair with their completions per client", "[check][history]") {
  History h;
  h.invoke(1, ms(0), Op::write("x", 1));
  h.invoke(2, ms(1), Op::read("x"));
  h.ok(2, ms(2), Value::of(1));
  h.info(1, ms(3));
  h.invoke(1, ms(4), Op::cas("x", Value::of(1), 2));
  h.fail(1, ms(5));
  std::vector<Operation> ops = h.operations();
  REQUIRE(ops.size() == 3);
  CHECK(ops[0].op == Op::write("x", 1));
  CHECK(ops[0].outcome == Outcome::kInfo);
  CHECK(ops[0].complete_time == Time::max());
  CHECK(ops[1].op.value == Value::of(1));
  CHECK(ops[1].outcome == Outcome::kOk);
  CHECK(ops[1].complete_time == ms(2));
  CHECK(ops[2].outcome == Outcome::kFail);
}

TEST_CASE("history: an operation still in flight at the end is pending", "[check][history]") {
  History h;
  h.invoke(7, ms(0), Op::append("l", 3));
  std::vector<Operation> ops = h.operations();
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].outcome == Outcome::kPending);
  CHECK(ops[0].unknown());
}

TEST_CASE("history: misuse is rejected with a message naming the fix", "[check][history]") {
  History h;
  CHECK_THROWS_WITH(h.ok(1, ms(0)), Catch::Contains("has none in flight"));
  h.invoke(1, ms(1), Op::read("x"));
  CHECK_THROWS_WITH(h.invoke(1, ms(2), Op::read("y")), Catch::Contains("still in flight"));
  CHECK_THROWS_WITH(h.ok(1, ms(0)), Catch::Contains("true-time order"));
  CHECK_THROWS_WITH(h.add(Event{EventType::kOk, 1, ms(3), Op::write("x", 1), {}}),
                    Catch::Contains("completed a write but invoked a read"));
}

TEST_CASE("history: JSON lines round-trip every kind of operation", "[check][history][json]") {
  History h;
  h.invoke(1, ms(0), Op::write("x", 1));
  h.invoke(2, ms(1), Op::cas("x", Value::nil(), 5));
  h.invoke(3, ms(1), Op::transaction({MicroOp::read("a"), MicroOp::write("b", 2)}));
  h.invoke(4, ms(2), Op::request("ik_42", "charge"));
  h.invoke(5, ms(2), Op::read("l"));
  h.ok(1, ms(3));
  h.fail(2, ms(3));
  h.ok(3, ms(4), Op::transaction({MicroOp::read("a", Value::of(9)), MicroOp::write("b", 2)}),
       1234);
  h.info(4, ms(5));
  h.ok(5, ms(6), Value::list({1, 2, 3}));
  std::stringstream s;
  h.save_jsonl(s);
  History back = History::load_jsonl(s);
  REQUIRE(back.size() == h.size());
  for (std::size_t i = 0; i < h.size(); ++i) {
    INFO("event " << i);
    CHECK(back.events()[i].type == h.events()[i].type);
    CHECK(back.events()[i].client == h.events()[i].client);
    CHECK(back.events()[i].time == h.events()[i].time);
    CHECK(back.events()[i].op == h.events()[i].op);
    CHECK(back.events()[i].commit_ts == h.events()[i].commit_ts);
  }
}

TEST_CASE("history: a randomised history survives save and load unchanged",
          "[check][history][json]") {
  std::uint64_t seed = GENERATE(1, 2, 3);
  History h = testing_support::generate(seed, {});
  std::stringstream s;
  h.save_jsonl(s);
  std::stringstream again;
  History::load_jsonl(s).save_jsonl(again);
  std::stringstream first;
  h.save_jsonl(first);
  CHECK(again.str() == first.str());
}

TEST_CASE("history: bad JSON lines are reported with their line number",
          "[check][history][json]") {
  auto load = [](const std::string& text) {
    std::istringstream in(text);
    return History::load_jsonl(in, "bug-1234.jsonl");
  };
  const std::string good = R"({"type":"invoke","client":1,"time":0,"f":"read","key":"x"})";
  CHECK_THROWS_WITH(load(good + "\n{not json\n"),
                    Catch::StartsWith("bug-1234.jsonl:2: not valid JSON"));
  CHECK_THROWS_WITH(load(good + "\n\n" + R"({"type":"done","client":1,"time":5,"f":"read"})"),
                    Catch::StartsWith("bug-1234.jsonl:3:") && Catch::Contains("\"type\""));
  CHECK_THROWS_WITH(load(R"({"type":"invoke","time":0,"f":"read"})"),
                    Catch::Contains(":1: missing field \"client\""));
  CHECK_THROWS_WITH(load(R"({"type":"invoke","client":1,"time":0,"f":"delete"})"),
                    Catch::Contains("expected one of read, write"));
  CHECK_THROWS_WITH(load(R"({"type":"invoke","client":1,"time":-5,"f":"read"})"),
                    Catch::Contains("non-negative integer of nanoseconds"));
  CHECK_THROWS_WITH(load(R"({"type":"ok","client":1,"time":0,"f":"read","value":1})"),
                    Catch::Contains(":1:") && Catch::Contains("none in flight"));
  CHECK_THROWS_WITH(load(good + "\n" +
                         R"({"type":"ok","client":1,"time":1,"f":"read","value":"x"})"),
                    Catch::Contains(":2: \"value\" must be null, an integer"));
  CHECK_THROWS_WITH(History::load_file("/nonexistent/history.jsonl"),
                    Catch::Contains("cannot open /nonexistent/history.jsonl"));
}
