// Loading Jepsen/Knossos EDN, Porcupine key-value logs and our JSON lines from fixture files
// (tests/check/fixtures, written for these tests in the shape of those tools' data), with the
// verdicts they must get and the errors bad input must give.
#include <faultline/check/check.hpp>

#include <catch2/catch.hpp>
#include <sstream>

using namespace faultline;
using namespace faultline::check;

namespace {
std::string fixture(const std::string& name) {
  return std::string(FAULTLINE_CHECK_FIXTURES) + "/" + name;
}
}  // namespace

TEST_CASE("formats: a Knossos-shaped EDN register history loads and is linearizable",
          "[check][formats]") {
  History h = load_history_file(fixture("register-ok.edn"), HistoryFormat::kEdn);
  // The nemesis line is skipped; 7 operations by 6 processes.
  CHECK(h.operations().size() == 7);
  CHECK(check_linearizable(h, Model::register_model()).verdict() == Verdict::kPass);
}

TEST_CASE("formats: an EDN vector history with a stale read fails", "[check][formats]") {
  History h = load_history_file(fixture("register-bad.edn"), HistoryFormat::kEdn);
  CheckResult r = check_linearizable(h, Model::register_model());
  CHECK(r.verdict() == Verdict::kFail);
  CHECK_THAT(r.details, Catch::Contains("read x -> 1") || Catch::Contains("read  -> 1"));
}

TEST_CASE("formats: Jepsen independent keys [k v] become keys", "[check][formats]") {
  History h = load_history_file(fixture("independent-bad.edn"), HistoryFormat::kEdn);
  std::vector<Operation> ops = h.operations();
  REQUIRE(ops.size() == 4);
  CHECK(ops[0].op.key == "7");
  CHECK(ops[1].op.key == "8");
  CHECK(ops[2].op.expected == Value::of(2));
  CHECK(ops[2].op.value == Value::of(4));
  CheckResult r = check_linearizable(h, Model::key_value());
  CHECK(r.verdict() == Verdict::kFail);
  CHECK_THAT(r.details, Catch::Contains("key \"7\""));
}

TEST_CASE("formats: bad EDN is an error naming the file and line", "[check][formats]") {
  CHECK_THROWS_WITH(load_history_file(fixture("unclosed.edn"), HistoryFormat::kEdn),
                    Catch::Contains("unclosed.edn:3:") && Catch::Contains("never closed"));
  CHECK_THROWS_WITH(load_history_file(fixture("changed-ok.edn"), HistoryFormat::kEdn),
                    Catch::Contains("changed-ok.edn:2:") &&
                        Catch::Contains("changes the value"));
  std::istringstream not_a_map("{:type :invoke, :f :read, :process 0}\n42\n");
  CHECK_THROWS_WITH(load_edn(not_a_map, "h.edn"), Catch::Contains("h.edn:2:"));
  std::istringstream bad_f("{:type :invoke, :f :frobnicate, :process 0}\n");
  CHECK_THROWS_WITH(load_edn(bad_f, "h.edn"), Catch::Contains("h.edn:1:") &&
                                                  Catch::Contains(":frobnicate"));
}

TEST_CASE("formats: EDN list-append transactions load as micro-ops", "[check][formats]") {
  std::istringstream in(
      "{:type :invoke, :f :txn, :value [[:append 5 1] [:r 5 nil]], :process 0, :time 1}\n"
      "{:type :ok, :f :txn, :value [[:append 5 1] [:r 5 [1]]], :process 0, :time 2}\n");
  History h = load_edn(in, "txn.edn");
  std::vector<Operation> ops = h.operations();
  REQUIRE(ops.size() == 1);
  REQUIRE(ops[0].op.txn.size() == 2);
  CHECK(ops[0].op.txn[0] == MicroOp::append("5", 1));
  CHECK(ops[0].op.txn[1].value == Value::list({1}));
}

TEST_CASE("formats: Porcupine key-value logs check with strings as chunks",
          "[check][formats]") {
  History ok = load_history_file(fixture("kv-ok.txt"), HistoryFormat::kPorcupineKv);
  REQUIRE(ok.initial().has_value());
  Model model = Model::key_value(*ok.initial());
  CHECK(check_linearizable(ok, model).verdict() == Verdict::kPass);
  History bad = load_history_file(fixture("kv-bad.txt"), HistoryFormat::kPorcupineKv);
  CHECK(check_linearizable(bad, model).verdict() == Verdict::kFail);
  std::istringstream no_key("{:process 0, :type :invoke, :f :get, :value nil}\n");
  CHECK_THROWS_WITH(load_porcupine_kv(no_key, "log.txt"),
                    Catch::Contains("log.txt:1:") && Catch::Contains(":key"));
}

TEST_CASE("formats: a compare-failed cas keeps its constraint; initial value from the file",
          "[check][formats]") {
  History h = load_history_file(fixture("cas-failed.jsonl"), HistoryFormat::kJsonl);
  REQUIRE(h.initial() == std::optional<Value>(Value::of(5)));
  // The register held 5 throughout, so a compare against 5 cannot have failed.
  CheckResult r = check_linearizable(h, Model::register_model(*h.initial()));
  CHECK(r.verdict() == Verdict::kFail);
  CHECK_THAT(r.details, Catch::Contains("compare failed"));
  // Recorded as a plain fail instead, the constraint is lost and the history passes.
  History dropped;
  dropped.invoke(1, Time::from_ns(10), Op::cas("x", Value::of(5), 6));
  dropped.fail(1, Time::from_ns(20));
  dropped.invoke(2, Time::from_ns(30), Op::read("x"));
  dropped.ok(2, Time::from_ns(40), Value::of(5));
  CHECK(check_linearizable(dropped, Model::register_model(Value::of(5))).ok);
  // Saved and loaded again, the flag and the initial value survive.
  std::stringstream file;
  h.save_jsonl(file);
  History again = History::load_jsonl(file, "again.jsonl");
  CHECK(again.initial() == h.initial());
  CHECK(again.events() .size() == h.events().size());
  CHECK(check_linearizable(again, Model::register_model(*again.initial())).verdict() ==
        Verdict::kFail);
}

TEST_CASE("formats: JSON lines reject a write without a value and an ok that changes it",
          "[check][formats]") {
  CHECK_THROWS_WITH(load_history_file(fixture("missing-value.jsonl"), HistoryFormat::kJsonl),
                    Catch::Contains("missing-value.jsonl:1:") &&
                        Catch::Contains("needs \"value\""));
  std::istringstream changed(
      "{\"type\":\"invoke\",\"client\":1,\"time\":1,\"f\":\"write\",\"key\":\"x\",\"value\":1}\n"
      "{\"type\":\"ok\",\"client\":1,\"time\":2,\"f\":\"write\",\"key\":\"y\",\"value\":1}\n");
  CHECK_THROWS_WITH(History::load_jsonl(changed, "c.jsonl"),
                    Catch::Contains("c.jsonl:2:") && Catch::Contains("changes the key"));
  // An ok line may leave the written value out: it is the invoked one.
  std::istringstream short_ok(
      "{\"type\":\"invoke\",\"client\":1,\"time\":1,\"f\":\"write\",\"key\":\"x\",\"value\":1}\n"
      "{\"type\":\"ok\",\"client\":1,\"time\":2,\"f\":\"write\"}\n");
  History h = History::load_jsonl(short_ok, "s.jsonl");
  CHECK(h.operations()[0].op == Op::write("x", 1));
}
