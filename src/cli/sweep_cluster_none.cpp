// The build without MPI (FAULTLINE_MPI=OFF): a sweep always runs on the local thread pool.
#include "sweep_cluster.hpp"

namespace faultline::cli {

std::unique_ptr<SweepCluster> SweepCluster::join_if_launched() { return nullptr; }
bool SweepCluster::available() { return false; }

}  // namespace faultline::cli
