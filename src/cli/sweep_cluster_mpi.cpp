// The MPI sweep (sweep_cluster.hpp). Only this file includes <mpi.h>; only the main thread of
// each rank calls MPI (MPI_THREAD_FUNNELED), the worker threads never do.
//
// Messages (all on MPI_COMM_WORLD):
//   plan     rank 0 → all, MPI_Bcast: a length (0: input rejected, stop) then the CBOR plan
//   request  worker → rank 0, empty: "give me one more run"
//   assign   rank 0 → worker: one task index, or kStop when none is left
//   result   worker → rank 0: task index, 1 (result) or 0 (error), then the encoded result or
//            the error text
// A worker keeps at most `jobs` runs assigned, asking for the next one as soon as a thread is
// free, so a slow seed never holds more than its own thread.
#include "cli.hpp"
#include "run_result_codec.hpp"
#include "sweep_cluster.hpp"
#include "swarm.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace faultline::cli {
namespace {

constexpr int kTagRequest = 1;
constexpr int kTagAssign = 2;
constexpr int kTagResult = 3;
constexpr std::uint64_t kStop = std::numeric_limits<std::uint64_t>::max();

// Set by mpirun/mpiexec (OpenMPI, MPICH's Hydra) and by srun with a PMI/PMIx plugin.
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"}) {
    if (std::getenv(name) != nullptr) {  // determinism-ok: how the process was started
      return true;
    }
  }
  return false;
}

std::vector<std::uint8_t> encode_plan(const SweepPlan& plan) {
  nlohmann::json j = {{"path", plan.path},   {"document", plan.document},
                      {"variants", plan.variants}, {"sets", plan.sets},
                      {"lo", plan.lo},       {"hi", plan.hi},
                      {"swarm", plan.swarm}};
  return nlohmann::json::to_cbor(j);
}

SweepPlan decode_plan(const std::vector<std::uint8_t>& bytes) {
  const auto j = nlohmann::json::from_cbor(bytes);
  SweepPlan plan;
  plan.path = j.at("path").get<std::string>();
  plan.document = j.at("document");
  plan.variants = j.at("variants").get<std::vector<std::string>>();
  plan.sets = j.at("sets").get<std::vector<std::string>>();
  plan.lo = j.at("lo").get<std::uint64_t>();
  plan.hi = j.at("hi").get<std::uint64_t>();
  plan.swarm = j.at("swarm").get<bool>();
  return plan;
}

std::vector<std::uint8_t> encode_task(std::uint64_t index, const SweepTask& task) {
  std::vector<std::uint8_t> out(sizeof index + 1);
  std::memcpy(out.data(), &index, sizeof index);
  out[sizeof index] = task.result ? 1 : 0;
  if (task.result) {
    auto bytes = encode_run_result(*task.result);
    out.insert(out.end(), bytes.begin(), bytes.end());
  } else {
    out.insert(out.end(), task.error.begin(), task.error.end());
  }
  return out;
}

class MpiCluster final : public SweepCluster {
public:
  MpiCluster() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  MpiCluster(const MpiCluster&) = delete;
  MpiCluster& operator=(const MpiCluster&) = delete;
  ~MpiCluster() override {
    if (rank_ == 0 && !started_) {
      broadcast({});  // the input was rejected: the other ranks stop
    }
    MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void start(const SweepPlan& plan) override {
    broadcast(encode_plan(plan));
    started_ = true;
  }

  void run(std::vector<SweepTask>& tasks, const scenario::ModelRegistry& registry,
           unsigned jobs, const std::function<void(std::size_t)>& progress) override {
    const std::size_t n = tasks.size();
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> done{0};
    std::vector<std::thread> local;
    for (unsigned i = 0; i < jobs; ++i) {
      local.emplace_back([&] {
        for (std::size_t t = next.fetch_add(1); t < n; t = next.fetch_add(1)) {
          run_sweep_task(tasks[t], registry);
          done.fetch_add(1);
        }
      });
    }
    int stopped = 0;
    std::size_t remote = 0;  // runs handed out and not yet returned
    std::vector<std::uint8_t> buffer;
    while (stopped < size_ - 1 || remote > 0) {
      int flag = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
      if (!flag) {
        progress(done.load());
        // Polling instead of a blocking receive: OpenMPI's blocking calls spin a core that
        // this rank's own worker threads need.
        std::this_thread::sleep_for(std::chrono::microseconds(500));
        continue;
      }
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      buffer.resize(static_cast<std::size_t>(count));
      MPI_Recv(buffer.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      if (status.MPI_TAG == kTagRequest) {
        const std::size_t t = next.fetch_add(1);
        const std::uint64_t reply = t < n ? static_cast<std::uint64_t>(t) : kStop;
        MPI_Send(&reply, 1, MPI_UINT64_T, status.MPI_SOURCE, kTagAssign, MPI_COMM_WORLD);
        if (reply == kStop) {
          ++stopped;
        } else {
          ++remote;
        }
      } else if (status.MPI_TAG == kTagResult) {
        std::uint64_t index = 0;
        if (buffer.size() < sizeof index + 1) {
          throw std::runtime_error("a sweep rank sent a truncated result");
        }
        std::memcpy(&index, buffer.data(), sizeof index);
        if (index >= n) {
          throw std::runtime_error("a sweep rank sent a result for a run it was not given");
        }
        SweepTask& task = tasks[index];
        if (buffer[sizeof index] == 1) {
          task.result = decode_run_result({buffer.begin() + sizeof index + 1, buffer.end()});
        } else {
          task.error.assign(buffer.begin() + sizeof index + 1, buffer.end());
        }
        --remote;
        done.fetch_add(1);
      }
    }
    while (done.load() < n) {
      progress(done.load());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (auto& t : local) {
      t.join();
    }
  }

  int serve(const scenario::ModelRegistry& registry, unsigned jobs, unsigned cores) override {
    const auto bytes = receive_broadcast();
    if (bytes.empty()) {
      // Rank 0 rejected the input, and it says why and exits with kExitBadInput, which mpirun
      // passes on. This rank leaves quietly: a non-zero exit here would make mpirun kill the
      // job, rank 0 included, perhaps before it has printed the error (rank 0 releases the
      // other ranks while unwinding, before the error reaches its handler).
      return 0;
    }
    std::vector<scenario::ScenarioSpec> specs;
    std::deque<scenario::ScenarioSpec> swarm_specs;
    std::vector<SweepTask> tasks;
    try {
      const SweepPlan plan = decode_plan(bytes);
      const auto file = scenario::ScenarioFile::parse(plan.document.dump(), plan.path);
      for (const auto& v : plan.variants) {
        specs.push_back(file.resolve(v, plan.sets, registry));
      }
      tasks = sweep_tasks(specs, plan.lo, plan.hi);
      if (auto swarm = swarm_config(file, plan.swarm)) {
        apply_swarm(tasks, file, plan.sets, registry, *swarm, swarm_specs);
      }
    } catch (const std::exception& e) {
      // Rank 0 accepted this very document: a rank that cannot is a broken installation.
      std::cerr << "faultline sweep (rank " << rank_ << "): " << e.what() << "\n";
      MPI_Abort(MPI_COMM_WORLD, kExitInternal);
    }
    jobs = std::max(1u, jobs ? jobs : cores);

    std::mutex m;
    std::condition_variable work_ready;
    std::condition_variable work_done;
    std::deque<std::uint64_t> queue;
    std::vector<std::uint64_t> finished;
    bool closing = false;
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < jobs; ++i) {
      threads.emplace_back([&] {
        for (;;) {
          std::uint64_t t = 0;
          {
            std::unique_lock lock(m);
            work_ready.wait(lock, [&] { return closing || !queue.empty(); });
            if (queue.empty()) {
              return;
            }
            t = queue.front();
            queue.pop_front();
          }
          run_sweep_task(tasks[t], registry);
          std::lock_guard lock(m);
          finished.push_back(t);
          work_done.notify_one();
        }
      });
    }
    std::size_t outstanding = 0;
    bool stop = false;
    for (;;) {
      std::vector<std::uint64_t> ready;
      {
        std::lock_guard lock(m);
        ready.swap(finished);
      }
      for (auto t : ready) {
        auto message = encode_task(t, tasks[t]);
        MPI_Send(message.data(), static_cast<int>(message.size()), MPI_BYTE, 0, kTagResult,
                 MPI_COMM_WORLD);
        tasks[t].result.reset();  // rank 0 keeps it; this rank need not
        --outstanding;
      }
      if (!stop && outstanding < jobs) {
        MPI_Send(nullptr, 0, MPI_BYTE, 0, kTagRequest, MPI_COMM_WORLD);
        std::uint64_t t = 0;
        MPI_Recv(&t, 1, MPI_UINT64_T, 0, kTagAssign, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (t == kStop) {
          stop = true;
        } else {
          std::lock_guard lock(m);
          queue.push_back(t);
          ++outstanding;
          work_ready.notify_one();
        }
        continue;
      }
      if (stop && outstanding == 0) {
        break;
      }
      std::unique_lock lock(m);
      work_done.wait(lock, [&] { return !finished.empty(); });
    }
    {
      std::lock_guard lock(m);
      closing = true;
    }
    work_ready.notify_all();
    for (auto& t : threads) {
      t.join();
    }
    return kExitOk;
  }

private:
  void broadcast(std::vector<std::uint8_t> bytes) {
    std::uint64_t length = bytes.size();
    MPI_Bcast(&length, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (length > 0) {
      MPI_Bcast(bytes.data(), static_cast<int>(length), MPI_BYTE, 0, MPI_COMM_WORLD);
    }
  }
  std::vector<std::uint8_t> receive_broadcast() {
    std::uint64_t length = 0;
    MPI_Bcast(&length, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    std::vector<std::uint8_t> bytes(length);
    if (length > 0) {
      MPI_Bcast(bytes.data(), static_cast<int>(length), MPI_BYTE, 0, MPI_COMM_WORLD);
    }
    return bytes;
  }

  int rank_ = 0;
  int size_ = 1;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<SweepCluster> SweepCluster::join_if_launched() {
  if (!launched_by_mpi()) {
    return nullptr;
  }
  return std::make_unique<MpiCluster>();
}

bool SweepCluster::available() { return true; }

}  // namespace faultline::cli
