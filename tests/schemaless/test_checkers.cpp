// The Schemaless checkers against broken histories they must reject, and clean ones they must
// accept.
#include <faultline/sim/schemaless/checkers.hpp>

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::sim::schemaless;

namespace {
Time at(int s) { return Time::zero() + Duration::seconds(s); }
}  // namespace

TEST_CASE("schemaless no-lost-cells: a missing acknowledged cell is named", "[schemaless][check]") {
  std::vector<AckedWrite> acked{{{{"trip-1", "BASE", 1}, "x"}, at(1)},
                                {{{"trip-2", "BASE", 1}, "y"}, at(2)}};
  std::map<CellAddress, std::string> stored{{{"trip-1", "BASE", 1}, "x"}};
  auto r = check_no_lost_cells(acked, stored);
  CHECK_FALSE(r.ok);
  CHECK(r.summary.find("1 of 2") != std::string::npos);
  CHECK(r.details.find("trip-2/BASE/1") != std::string::npos);
  CHECK(r.details.find("trip-1") == std::string::npos);

  stored[{"trip-2", "BASE", 1}] = "y";
  CHECK(check_no_lost_cells(acked, stored).ok);
  stored[{"trip-2", "BASE", 1}] = "z";  // a changed body is a loss of what was acknowledged
  CHECK_FALSE(check_no_lost_cells(acked, stored).ok);
}

TEST_CASE("schemaless monotonic-reads: a read going back to an older ref key fails",
          "[schemaless][check]") {
  std::vector<SessionRead> reads{{1, "trip-1/STATUS", 2, 2, at(1)},
                                 {2, "trip-1/STATUS", 1, 0, at(2)},  // another client: fine
                                 {1, "trip-1/STATUS", 3, 3, at(3)}};
  CHECK(check_monotonic_reads(reads).ok);
  reads.push_back({1, "trip-1/STATUS", 2, 3, at(4)});
  auto r = check_monotonic_reads(reads);
  CHECK_FALSE(r.ok);
  CHECK(r.details.find("client 1") != std::string::npos);
  CHECK(r.details.find("ref 3") != std::string::npos);
}

TEST_CASE("schemaless read-your-writes: a read below the client's own write fails",
          "[schemaless][check]") {
  std::vector<SessionRead> reads{{1, "trip-1/STATUS", 2, 2, at(1)}};
  CHECK(check_read_your_writes(reads).ok);
  reads.push_back({1, "trip-1/STATUS", 0, 3, at(2)});  // wrote 3, read nothing
  auto r = check_read_your_writes(reads);
  CHECK_FALSE(r.ok);
  CHECK(r.summary.find("1 of 2") != std::string::npos);
}
