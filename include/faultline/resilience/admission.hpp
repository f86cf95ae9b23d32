// Server-side admission control and load shedding.
//
// An overloaded server that queues everything serves only requests whose callers have
// already given up: its goodput collapses while it stays busy. The fixes (SRE book ch. 21;
// Ben Maurer, "Fail at Scale", ACM Queue 2015) are applied where requests wait:
// - a bounded queue: arrivals beyond `max_queue_length` are shed at once (cheap rejection);
// - a queue-time deadline: a request that waited longer than `queue_timeout` is dropped when
//   it reaches the head instead of being served late;
// - controlled delay (CoDel as Facebook applies it): if the queue has not been empty within
//   the last `codel_interval`, the deadline tightens to `codel_target` (5 ms / 100 ms);
// - LIFO under overload (adaptive LIFO): while the queue is standing, serve the newest
//   request first, because the oldest callers are the likeliest to have timed out.
// AdmissionQueue<T> holds the waiting requests; the model decides how many run at once.
#pragma once

#include <faultline/time.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::resilience {

enum class QueueOrder { fifo, lifo, adaptive_lifo };
std::string_view to_string(QueueOrder o);
std::optional<QueueOrder> parse_queue_order(std::string_view text);

struct AdmissionParams {
  /// Requests served at once per instance; 0 means one per CPU core of the host.
  int max_concurrency = 0;
  /// Waiting requests beyond this are shed on arrival; 0 means unbounded.
  std::int64_t max_queue_length = 0;
  /// Requests that waited longer are shed at dequeue; zero means no deadline.
  Duration queue_timeout = Duration::zero();
  /// Controlled delay (overrides queue_timeout when on).
  bool codel = false;
  Duration codel_target = Duration::millis(5);
  Duration codel_interval = Duration::millis(100);
  QueueOrder order = QueueOrder::fifo;

  void validate() const;
  /// True if this configuration can shed anything at all.
  bool sheds() const {
    return max_queue_length > 0 || queue_timeout > Duration::zero() || codel;
  }
};

template <class T>
class AdmissionQueue {
public:
  explicit AdmissionQueue(AdmissionParams p) : params_(p) { params_.validate(); }

  /// Queues `item`, or returns it back when the queue is full (the caller sheds it).
  std::optional<T> push(Time now, T item) {
    if (params_.max_queue_length > 0 &&
        static_cast<std::int64_t>(queue_.size()) >= params_.max_queue_length) {
      ++shed_full_;
      return item;
    }
    if (queue_.empty()) {
      last_empty_ = now;
    }
    queue_.push_back(Entry{now, std::move(item)});
    return std::nullopt;
  }

  /// The next request to serve; requests past their queue deadline are moved to `shed`.
  std::optional<T> pop(Time now, std::vector<T>& shed) {
    const Duration deadline = current_deadline(now);
    const bool lifo = params_.order == QueueOrder::lifo ||
                      (params_.order == QueueOrder::adaptive_lifo && overloaded(now));
    std::optional<T> out;
    while (!queue_.empty()) {
      Entry e = lifo ? std::move(queue_.back()) : std::move(queue_.front());
      if (lifo) {
        queue_.pop_back();
      } else {
        queue_.pop_front();
      }
      if (deadline > Duration::zero() && now - e.enqueued > deadline) {
        ++shed_late_;
        shed.push_back(std::move(e.item));
        continue;
      }
      out = std::move(e.item);
      break;
    }
    if (queue_.empty()) {
      last_empty_ = now;
    }
    return out;
  }

  /// Drops every waiting request older than its deadline, wherever it is in the queue.
  void expire(Time now, std::vector<T>& shed) {
    const Duration deadline = current_deadline(now);
    if (deadline <= Duration::zero()) {
      return;
    }
    std::deque<Entry> keep;
    for (auto& e : queue_) {
      if (now - e.enqueued > deadline) {
        ++shed_late_;
        shed.push_back(std::move(e.item));
      } else {
        keep.push_back(std::move(e));
      }
    }
    queue_ = std::move(keep);
    if (queue_.empty()) {
      last_empty_ = now;
    }
  }

  /// True while the queue has been standing (non-empty) for longer than codel_interval.
  bool overloaded(Time now) const {
    return !queue_.empty() && now - last_empty_ > params_.codel_interval;
  }
  /// The queue-time deadline in force now (zero: none).
  Duration current_deadline(Time now) const {
    if (params_.codel) {
      return overloaded(now) ? params_.codel_target : params_.codel_interval;
    }
    return params_.queue_timeout;
  }

  std::size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }
  std::uint64_t shed_full() const { return shed_full_; }
  std::uint64_t shed_late() const { return shed_late_; }
  const AdmissionParams& params() const { return params_; }

private:
  struct Entry {
    Time enqueued;
    T item;
  };
  AdmissionParams params_;
  std::deque<Entry> queue_;
  Time last_empty_{};
  std::uint64_t shed_full_ = 0;
  std::uint64_t shed_late_ = 0;
};

}  // namespace faultline::resilience
