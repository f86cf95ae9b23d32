// A host's disk: named files with a page cache over a durable image.
//
// Writes land in the page cache (what reads see) and become durable only when an fsync of
// their file completes; the fsync makes durable exactly the writes issued before it. On a
// crash the page cache is discarded and the durable image is all that a restart sees. With
// DiskParams::torn_write, a lost write may leave a random prefix of itself behind; with
// io_error, writes and fsyncs fail (the caller sees IoStatus::kError and the data is not
// written).
//
// Coroutine calls take the configured latency (fixed + size / bandwidth); the `*_now` calls
// apply at once, for handler-style code and for building durable state in tests.
#pragma once

#include <faultline/simulation.hpp>
#include <faultline/task.hpp>
#include <faultline/world/params.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::world {

enum class IoStatus : std::uint8_t { kOk, kError };

class Disk {
public:
  Disk(Simulation& sim, DiskParams params, std::string name);

  // --- coroutine I/O (takes simulated time) ------------------------------------------
  /// Writes `data` at `offset` of `file` (created if missing; a gap is zero-filled).
  Task<IoStatus> write(std::string file, std::uint64_t offset, std::string data);
  /// Appends `data` to `file`.
  Task<IoStatus> append(std::string file, std::string data);
  /// Makes every write to `file` issued before this call durable.
  Task<IoStatus> fsync(std::string file);

  // --- immediate I/O (no latency; same fault rules) ------------------------------------
  IoStatus write_now(std::string_view file, std::uint64_t offset, std::string_view data);
  IoStatus append_now(std::string_view file, std::string_view data);
  IoStatus fsync_now(std::string_view file);

  // --- reading -------------------------------------------------------------------------
  /// The file as reads see it (page cache); nullptr if it does not exist.
  const std::string* read(std::string_view file) const;
  /// The durable image of the file; nullptr if nothing of it is durable.
  const std::string* durable(std::string_view file) const;
  /// Every file name, sorted.
  std::vector<std::string> files() const;
  /// Bytes written but not yet synced, over all files.
  std::uint64_t unsynced_bytes() const;

  // --- faults --------------------------------------------------------------------------
  /// Loses the page cache: unsynced writes vanish (or tear, per torn_write).
  void crash();
  /// Replaces the fault ratios (the injector's disk fault; zero ratios turn them off).
  void set_faults(Ratio io_error, Ratio torn_write);
  const DiskParams& params() const { return params_; }
  std::uint64_t io_errors() const { return io_errors_; }

private:
  struct PendingWrite {
    std::uint64_t seq;
    std::uint64_t offset;
    std::string data;
  };
  struct File {
    std::string cached;
    std::string durable;
    bool durable_exists = false;
    std::vector<PendingWrite> pending;
  };
  Duration cost(Duration fixed, std::uint64_t bytes) const;
  bool fail_io();
  IoStatus sync_up_to(std::string_view file, std::uint64_t seq);
  static void apply(std::string& image, std::uint64_t offset, std::string_view data);

  Simulation* sim_;
  DiskParams params_;
  std::string name_;
  Rng rng_;
  std::map<std::string, File, std::less<>> files_;
  std::uint64_t seq_ = 0;
  std::uint64_t io_errors_ = 0;
};

}  // namespace faultline::world
