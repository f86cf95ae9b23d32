// Checkers of the Schemaless model: no acknowledged cell lost, and the session guarantees of
// reads (monotonic reads, read your writes). Trigger effects are judged by the generic
// exactly-once checker (faultline/check/exactly_once.hpp).
#pragma once

#include <faultline/check/result.hpp>
#include <faultline/sim/schemaless/cell.hpp>
#include <faultline/time.hpp>

#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace faultline::sim::schemaless {

/// A cell write that a client saw acknowledged.
struct AckedWrite {
  Cell cell;
  Time acked;
};

/// Checker "no-lost-cells": every acknowledged cell is readable at the end, with its body.
/// `stored` is every cell the storage clusters' masters serve. The details name the missing
/// cells (up to 20) and when each was acknowledged.
check::CheckResult check_no_lost_cells(std::span<const AckedWrite> acked,
                                       const std::map<CellAddress, std::string>& stored);

/// One read of the latest cell of a column, by one client session.
struct SessionRead {
  std::int64_t client = 0;
  /// "row/column".
  std::string key;
  /// The ref key of the cell the read returned; 0 when it found none.
  std::int64_t seen = 0;
  /// The highest ref key this client had written to the key and seen acknowledged before the
  /// read began; 0 if none.
  std::int64_t floor = 0;
  Time time;
};

/// Checker "monotonic-reads": per client and key, the reads in order never go back to a lower
/// ref key than an earlier read returned.
check::CheckResult check_monotonic_reads(std::span<const SessionRead> reads);

/// Checker "read-your-writes": no read returns a lower ref key than the client's own
/// acknowledged write to that key.
check::CheckResult check_read_your_writes(std::span<const SessionRead> reads);

}  // namespace faultline::sim::schemaless
