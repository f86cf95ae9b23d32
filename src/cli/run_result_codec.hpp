// A RunResult as bytes and back, exactly: how a sweep's worker ranks send their results to rank
// 0 (sweep_cluster.cpp). CBOR keeps every double bit for bit (NaN included), so the report rank
// 0 prints from decoded results is the one the thread-pool sweep prints from its own.
#pragma once

#include <faultline/scenario/runner.hpp>

#include <cstdint>
#include <vector>

namespace faultline::cli {

std::vector<std::uint8_t> encode_run_result(const scenario::RunResult& run);
/// Throws std::runtime_error on bytes that are not an encoded RunResult.
scenario::RunResult decode_run_result(const std::vector<std::uint8_t>& bytes);

}  // namespace faultline::cli
