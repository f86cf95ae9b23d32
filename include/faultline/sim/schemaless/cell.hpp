// Schemaless's data model (model-facts §5.3): an append-only, sparse, three-dimensional hash
// map of immutable cells addressed by (row key, column, ref key), each holding a body.
//
// CellTable is what one storage node holds for its shards: cells are never changed; an update
// appends a cell with a higher ref key; a second write to the same address is rejected (the
// idempotent write). Reads: the latest cell of a column, the cell at a ref key (point in
// time: the latest at or below it), the whole row (the latest cell of every column).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace faultline::sim::schemaless {

struct CellAddress {
  std::string row;
  std::string column;
  std::int64_t ref = 0;
  auto operator<=>(const CellAddress&) const = default;
  bool operator==(const CellAddress&) const = default;
  /// "trip-42/STATUS/3".
  std::string to_string() const;
};

struct Cell {
  CellAddress address;
  std::string body;
  bool operator==(const Cell&) const = default;
};

enum class PutResult : std::uint8_t {
  kCreated,   // a new cell
  kExists,    // the same address with the same body: an idempotent repeat, nothing written
  kConflict,  // the same address with another body: rejected
};

class CellTable {
public:
  /// Inserts the cell unless its address exists (cells are immutable).
  PutResult put(const Cell& cell);
  bool contains(const CellAddress& a) const;
  /// The cell at exactly this address.
  const Cell* find(const CellAddress& a) const;
  /// The cell of `column` with the highest ref key.
  const Cell* latest(const std::string& row, const std::string& column) const;
  /// Point in time: the cell of `column` with the highest ref key at or below `ref`.
  const Cell* at(const std::string& row, const std::string& column, std::int64_t ref) const;
  /// The latest cell of every column of the row, by column name.
  std::vector<Cell> row(const std::string& row) const;
  std::size_t size() const { return cells_.size(); }
  /// Every cell, in address order.
  const std::map<CellAddress, Cell>& cells() const { return cells_; }

private:
  std::map<CellAddress, Cell> cells_;
};

/// Stable hash of a row key to its shard (FNV-1a; the same on every machine).
int shard_of(const std::string& row, int shards);

}  // namespace faultline::sim::schemaless
