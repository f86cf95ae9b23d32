// The cell table: immutable cells, append by higher ref key, idempotent writes.
#include <faultline/sim/schemaless/cell.hpp>

#include <fmt/format.h>

namespace faultline::sim::schemaless {

std::string CellAddress::to_string() const { return fmt::format("{}/{}/{}", row, column, ref); }

PutResult CellTable::put(const Cell& cell) {
  auto [it, inserted] = cells_.try_emplace(cell.address, cell);
  if (inserted) {
    return PutResult::kCreated;
  }
  return it->second.body == cell.body ? PutResult::kExists : PutResult::kConflict;
}

bool CellTable::contains(const CellAddress& a) const { return cells_.count(a) != 0; }

const Cell* CellTable::find(const CellAddress& a) const {
  auto it = cells_.find(a);
  return it == cells_.end() ? nullptr : &it->second;
}

const Cell* CellTable::at(const std::string& row, const std::string& column,
                          std::int64_t ref) const {
  // The first address after (row, column, ref), then one step back.
  auto it = cells_.upper_bound(CellAddress{row, column, ref});
  if (it == cells_.begin()) {
    return nullptr;
  }
  --it;
  if (it->first.row != row || it->first.column != column) {
    return nullptr;
  }
  return &it->second;
}

const Cell* CellTable::latest(const std::string& row, const std::string& column) const {
  return at(row, column, INT64_MAX);
}

std::vector<Cell> CellTable::row(const std::string& row) const {
  std::vector<Cell> out;
  auto it = cells_.lower_bound(CellAddress{row, "", INT64_MIN});
  while (it != cells_.end() && it->first.row == row) {
    // Skip to the last cell of this column: the latest.
    const std::string& column = it->first.column;
    auto next = cells_.upper_bound(CellAddress{row, column, INT64_MAX});
    out.push_back(std::prev(next)->second);
    it = next;
  }
  return out;
}

int shard_of(const std::string& row, int shards) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : row) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<int>(h % static_cast<std::uint64_t>(shards));
}

}  // namespace faultline::sim::schemaless
