#include <faultline/sim/dynamodb/throughput.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace faultline::sim::dynamodb {

std::string_view to_string(CapacityMode m) {
  return m == CapacityMode::provisioned ? "provisioned" : "on_demand";
}

std::optional<CapacityMode> parse_capacity_mode(std::string_view text) {
  if (text == "provisioned") {
    return CapacityMode::provisioned;
  }
  if (text == "on_demand") {
    return CapacityMode::on_demand;
  }
  return std::nullopt;
}

std::string_view to_string(Admission a) {
  switch (a) {
    case Admission::own_share:
      return "own_share";
    case Admission::borrowed:
      return "borrowed";
    case Admission::on_demand:
      return "on_demand";
    case Admission::throttled:
      return "throttled";
  }
  return "?";
}

TokenBucket::TokenBucket(double rate_per_s, double capacity, double initial, Time now)
    : rate_per_s_(rate_per_s), capacity_(capacity), tokens_(std::min(initial, capacity)),
      last_(now) {}

void TokenBucket::refill(Time now) {
  if (now > last_) {
    tokens_ = std::min(capacity_, tokens_ + rate_per_s_ * (now - last_).to_seconds());
    last_ = now;
  }
}

double TokenBucket::available(Time now) {
  refill(now);
  return tokens_;
}

bool TokenBucket::try_take(Time now, double n) {
  refill(now);
  if (tokens_ + 1e-9 < n) {
    return false;
  }
  tokens_ -= n;
  return true;
}

void TokenBucket::take(Time now, double n) {
  refill(now);
  // A debt of at most one full bucket: an overdrawn table recovers within one refill period.
  tokens_ = std::max(-capacity_, tokens_ - n);
}

void TokenBucket::set_rate(Time now, double rate_per_s, double capacity) {
  refill(now);
  rate_per_s_ = rate_per_s;
  capacity_ = capacity;
  tokens_ = std::min(tokens_, capacity_);
}

void ThroughputParams::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  if (!(provisioned_units_per_s > 0.0)) {
    bad("throughput.provisioned_units_per_s: must be > 0; give the table's capacity in units "
        "per second (e.g. 1000)");
  }
  if (burst_window < Duration::zero()) {
    bad("throughput.burst_window: must be >= 0; use \"300s\" (DynamoDB) or \"0s\" for none");
  }
  if (initial_burst_fraction < 0.0 || initial_burst_fraction > 1.0) {
    bad("throughput.initial_burst_fraction: must be within [0, 1]");
  }
  if (!(partition_max_units_per_s > 0.0)) {
    bad("throughput.partition_max_units_per_s: must be > 0; DynamoDB's is 1000 write units");
  }
  if (!(on_demand_initial_peak_units_per_s > 0.0)) {
    bad("throughput.on_demand_initial_peak_units_per_s: must be > 0; DynamoDB's is 2000");
  }
}

TableThroughput::TableThroughput(ThroughputParams params, int partitions, Time now)
    : params_(params), share_per_s_(params.provisioned_units_per_s / std::max(1, partitions)),
      peak_per_s_(params.on_demand_initial_peak_units_per_s) {
  params_.validate();
  if (partitions < 1) {
    throw std::invalid_argument("partitions: a table needs at least one partition");
  }
  // One second of share is always there; the rest of the bucket is burst credit.
  const double second = share_per_s_;
  const double cap = share_per_s_ * std::max(1.0, params_.burst_window.to_seconds());
  const double initial = second + params_.initial_burst_fraction * (cap - second);
  for (int i = 0; i < partitions; ++i) {
    share_.emplace_back(share_per_s_, cap, initial, now);
    ceiling_.emplace_back(params_.partition_max_units_per_s, params_.partition_max_units_per_s,
                          params_.partition_max_units_per_s, now);
  }
  const double table_rate = params_.mode == CapacityMode::provisioned
                                ? params_.provisioned_units_per_s
                                : on_demand_limit_per_s();
  table_ = TokenBucket(table_rate, table_rate, table_rate, now);
}

void TableThroughput::track_peak(Time now, double units) {
  // The peak is of whole seconds already finished, so a surge cannot raise its own limit
  // within the second it happens.
  const std::int64_t second = now.ns() / 1'000'000'000;
  if (second != second_) {
    if (this_second_units_ > peak_per_s_) {
      peak_per_s_ = this_second_units_;
      table_.set_rate(now, on_demand_limit_per_s(), on_demand_limit_per_s());
    }
    second_ = second;
    this_second_units_ = 0.0;
  }
  this_second_units_ += units;
}

Admission TableThroughput::admit(int partition, Time now, double units) {
  auto& ceiling = ceiling_.at(static_cast<std::size_t>(partition));
  auto& share = share_.at(static_cast<std::size_t>(partition));
  Admission how = Admission::throttled;
  if (params_.mode == CapacityMode::on_demand) {
    track_peak(now, 0.0);  // closes the previous second first
  }
  if (ceiling.available(now) + 1e-9 >= units) {
    if (params_.mode == CapacityMode::on_demand) {
      if (table_.available(now) + 1e-9 >= units) {
        how = Admission::on_demand;
      }
    } else if (share.try_take(now, units)) {
      how = Admission::own_share;
    } else if (params_.adaptive_capacity && table_.available(now) + 1e-9 >= units) {
      how = Admission::borrowed;
    }
  }
  if (how == Admission::throttled) {
    ++throttled_;
    return how;
  }
  ++admitted_;
  ceiling.take(now, units);
  table_.take(now, units);
  if (params_.mode == CapacityMode::on_demand) {
    track_peak(now, units);
  }
  return how;
}

}  // namespace faultline::sim::dynamodb
