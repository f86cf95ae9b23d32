#include <faultline/resilience/admission.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace faultline;
using namespace faultline::resilience;

TEST_CASE("admission: a bounded queue sheds arrivals once full", "[resilience][admission]") {
  AdmissionParams p;
  p.max_queue_length = 2;
  AdmissionQueue<int> q(p);
  Time now{};
  CHECK_FALSE(q.push(now, 1).has_value());
  CHECK_FALSE(q.push(now, 2).has_value());
  CHECK(q.push(now, 3) == 3);
  CHECK(q.shed_full() == 1);
  std::vector<int> shed;
  CHECK(q.pop(now, shed) == 1);
  CHECK(shed.empty());
}

TEST_CASE("admission: requests past the queue deadline are shed, not served",
          "[resilience][admission]") {
  AdmissionParams p;
  p.queue_timeout = Duration::millis(100);
  AdmissionQueue<int> q(p);
  Time now{};
  q.push(now, 1);
  q.push(now + Duration::millis(50), 2);
  q.push(now + Duration::millis(150), 3);
  std::vector<int> shed;
  CHECK(q.pop(now + Duration::millis(140), shed) == 2);  // 1 waited 140 ms, 2 only 90 ms
  CHECK(shed == std::vector<int>{1});
  CHECK(q.shed_late() == 1);
}

TEST_CASE("admission: adaptive LIFO serves newest first only while the queue stands",
          "[resilience][admission]") {
  AdmissionParams p;
  p.order = QueueOrder::adaptive_lifo;
  p.codel_interval = Duration::millis(100);
  AdmissionQueue<int> q(p);
  Time now{};
  q.push(now, 1);
  q.push(now, 2);
  std::vector<int> shed;
  CHECK(q.pop(now + Duration::millis(10), shed) == 1);  // not yet standing: FIFO
  q.push(now + Duration::millis(20), 3);
  CHECK(q.pop(now + Duration::millis(200), shed) == 3);  // standing for 200 ms: LIFO
}

TEST_CASE("admission: CoDel tightens the deadline when the queue has been standing",
          "[resilience][admission]") {
  AdmissionParams p;
  p.codel = true;
  AdmissionQueue<int> q(p);
  Time now{};
  q.push(now, 1);
  CHECK(q.current_deadline(now + Duration::millis(50)) == Duration::millis(100));
  CHECK(q.current_deadline(now + Duration::millis(150)) == Duration::millis(5));
  std::vector<int> shed;
  q.expire(now + Duration::millis(150), shed);
  CHECK(shed == std::vector<int>{1});
}

TEST_CASE("admission params: bad values name the field", "[resilience][admission][params]") {
  AdmissionParams p;
  p.max_queue_length = -1;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("admission.max_queue_length"));
  p = {};
  p.codel = true;
  p.codel_target = Duration::seconds(1);
  CHECK_THROWS_WITH(AdmissionQueue<int>(p), Catch::Contains("codel_target"));
  CHECK(parse_queue_order("adaptive_lifo") == QueueOrder::adaptive_lifo);
  CHECK_FALSE(parse_queue_order("random").has_value());
}
