// The cell table: immutable cells, updates as higher ref keys, idempotent writes, the three
// reads (latest, point in time, whole row), and the stable shard hash.
#include <faultline/sim/schemaless/cell.hpp>

#include <catch2/catch.hpp>

using namespace faultline::sim::schemaless;

namespace {
Cell cell(std::string row, std::string col, std::int64_t ref, std::string body) {
  return Cell{{std::move(row), std::move(col), ref}, std::move(body)};
}
}  // namespace

TEST_CASE("schemaless cells: a second write to an address is rejected, the first body stays",
          "[schemaless][cells]") {
  CellTable t;
  CHECK(t.put(cell("trip-1", "BASE", 1, "a")) == PutResult::kCreated);
  CHECK(t.put(cell("trip-1", "BASE", 1, "a")) == PutResult::kExists);
  CHECK(t.put(cell("trip-1", "BASE", 1, "b")) == PutResult::kConflict);
  REQUIRE(t.find({"trip-1", "BASE", 1}) != nullptr);
  CHECK(t.find({"trip-1", "BASE", 1})->body == "a");
  CHECK(t.size() == 1);
}

TEST_CASE("schemaless cells: latest, point-in-time and whole-row reads", "[schemaless][cells]") {
  CellTable t;
  t.put(cell("trip-1", "STATUS", 1, "s1"));
  t.put(cell("trip-1", "STATUS", 3, "s3"));
  t.put(cell("trip-1", "STATUS", 7, "s7"));
  t.put(cell("trip-1", "BASE", 1, "b1"));
  t.put(cell("trip-2", "STATUS", 9, "other"));
  t.put(cell("trip-0", "STATUS", 9, "other"));

  REQUIRE(t.latest("trip-1", "STATUS") != nullptr);
  CHECK(t.latest("trip-1", "STATUS")->body == "s7");
  CHECK(t.latest("trip-1", "NOTES") == nullptr);
  CHECK(t.latest("trip-3", "STATUS") == nullptr);
  // Point in time: the latest at or below the ref key.
  CHECK(t.at("trip-1", "STATUS", 5)->body == "s3");
  CHECK(t.at("trip-1", "STATUS", 3)->body == "s3");
  CHECK(t.at("trip-1", "STATUS", 0) == nullptr);
  CHECK(t.at("trip-1", "STATUS", 100)->body == "s7");
  // The row: the latest cell of each column, nothing of the neighbouring rows.
  auto row = t.row("trip-1");
  REQUIRE(row.size() == 2);
  CHECK(row[0].address.column == "BASE");
  CHECK(row[1].body == "s7");
  CHECK(t.row("trip-9").empty());
}

TEST_CASE("schemaless cells: the shard of a row key is stable and spreads", "[schemaless][cells]") {
  CHECK(shard_of("trip-000001", 4096) == shard_of("trip-000001", 4096));
  std::vector<int> per(4, 0);
  for (int i = 0; i < 4000; ++i) {
    ++per[static_cast<std::size_t>(shard_of("trip-" + std::to_string(i), 4096) % 4)];
  }
  for (int n : per) {
    CHECK(n > 800);  // ~1000 each
  }
}
