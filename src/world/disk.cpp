#include <faultline/world/disk.hpp>

#include <algorithm>

namespace faultline::world {

Disk::Disk(Simulation& sim, DiskParams params, std::string name)
    : sim_(&sim), params_(std::move(params)), name_(std::move(name)), rng_(sim.rng("disk/" + name_)) {
  params_.validate();
}

Duration Disk::cost(Duration fixed, std::uint64_t bytes) const {
  __extension__ using I128 = __int128;
  const auto transfer = static_cast<std::int64_t>(static_cast<I128>(bytes) * 1'000'000'000 /
                                                  params_.bandwidth_bytes_per_s);
  return fixed + Duration::nanos(transfer);
}

bool Disk::fail_io() {
  if (params_.io_error.is_zero() || !rng_.bernoulli(params_.io_error.num, params_.io_error.den)) {
    return false;
  }
  ++io_errors_;
  sim_->record("disk", "io_error", {{"host", name_}});
  return true;
}

void Disk::apply(std::string& image, std::uint64_t offset, std::string_view data) {
  const std::size_t end = static_cast<std::size_t>(offset) + data.size();
  if (image.size() < end) {
    image.resize(end, '\0');
  }
  std::copy(data.begin(), data.end(), image.begin() + static_cast<std::ptrdiff_t>(offset));
}

IoStatus Disk::write_now(std::string_view file, std::uint64_t offset, std::string_view data) {
  if (fail_io()) {
    return IoStatus::kError;
  }
  auto it = files_.find(file);
  if (it == files_.end()) {
    it = files_.emplace(std::string(file), File{}).first;
  }
  apply(it->second.cached, offset, data);
  it->second.pending.push_back(PendingWrite{++seq_, offset, std::string(data)});
  return IoStatus::kOk;
}

IoStatus Disk::append_now(std::string_view file, std::string_view data) {
  const std::string* current = read(file);
  return write_now(file, current != nullptr ? current->size() : 0, data);
}

IoStatus Disk::sync_up_to(std::string_view file, std::uint64_t seq) {
  if (fail_io()) {
    return IoStatus::kError;
  }
  auto it = files_.find(file);
  if (it == files_.end()) {
    return IoStatus::kOk;
  }
  File& f = it->second;
  auto split = std::partition_point(f.pending.begin(), f.pending.end(),
                                    [seq](const PendingWrite& w) { return w.seq <= seq; });
  for (auto w = f.pending.begin(); w != split; ++w) {
    apply(f.durable, w->offset, w->data);
  }
  f.durable_exists = true;
  f.pending.erase(f.pending.begin(), split);
  return IoStatus::kOk;
}

IoStatus Disk::fsync_now(std::string_view file) { return sync_up_to(file, seq_); }

Task<IoStatus> Disk::write(std::string file, std::uint64_t offset, std::string data) {
  co_await sim_->sleep(cost(params_.write_latency, data.size()));
  co_return write_now(file, offset, data);
}

Task<IoStatus> Disk::append(std::string file, std::string data) {
  co_await sim_->sleep(cost(params_.write_latency, data.size()));
  co_return append_now(file, data);
}

Task<IoStatus> Disk::fsync(std::string file) {
  // Durable are exactly the writes issued before the fsync began.
  const std::uint64_t seq = seq_;
  std::uint64_t bytes = 0;
  if (auto it = files_.find(file); it != files_.end()) {
    for (const auto& w : it->second.pending) {
      bytes += w.data.size();
    }
  }
  co_await sim_->sleep(cost(params_.fsync_latency, bytes));
  co_return sync_up_to(file, seq);
}

const std::string* Disk::read(std::string_view file) const {
  auto it = files_.find(file);
  return it == files_.end() ? nullptr : &it->second.cached;
}

const std::string* Disk::durable(std::string_view file) const {
  auto it = files_.find(file);
  return it == files_.end() || !it->second.durable_exists ? nullptr : &it->second.durable;
}

std::vector<std::string> Disk::files() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : files_) {
    out.push_back(name);
  }
  return out;
}

std::uint64_t Disk::unsynced_bytes() const {
  std::uint64_t n = 0;
  for (const auto& [name, f] : files_) {
    for (const auto& w : f.pending) {
      n += w.data.size();
    }
  }
  return n;
}

void Disk::crash() {
  std::uint64_t lost = 0;
  std::uint64_t torn = 0;
  for (auto it = files_.begin(); it != files_.end();) {
    File& f = it->second;
    for (const auto& w : f.pending) {
      ++lost;
      if (!params_.torn_write.is_zero() &&
          rng_.bernoulli(params_.torn_write.num, params_.torn_write.den) && !w.data.empty()) {
        // A torn write: some prefix of it reached the platter before the power went.
        const auto keep = static_cast<std::size_t>(rng_.below(w.data.size()));
        apply(f.durable, w.offset, std::string_view(w.data).substr(0, keep));
        f.durable_exists = true;
        ++torn;
      }
    }
    f.pending.clear();
    if (!f.durable_exists) {
      it = files_.erase(it);
      continue;
    }
    f.cached = f.durable;
    ++it;
  }
  sim_->record("disk", "crash", {{"host", name_}, {"lost_writes", lost}, {"torn_writes", torn}});
}

void Disk::set_faults(Ratio io_error, Ratio torn_write) {
  io_error.validate("disk.io_error");
  torn_write.validate("disk.torn_write");
  params_.io_error = io_error;
  params_.torn_write = torn_write;
}

}  // namespace faultline::world
