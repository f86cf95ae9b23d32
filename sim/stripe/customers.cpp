// Customers: each one a loop that creates a payment intent, submits it to a random API server
// and retries on timeouts, network errors, 409, 429 and 503 with the same key and the same
// parameters, with jittered exponential backoff (resilience::Backoff; model-facts §6.1:
// "retry network errors with the same key and same parameters"). Some intents are also
// submitted from a second tab (a double click).
//
// History (for the checkers): each submission is one `request` operation whose request id is
// the intent; ok on a 200 (fresh or replayed), fail when it certainly charged nothing (a
// decline or a rejection before anything could have run), info when the outcome is unknown
// (the customer gave up after a timeout or an error that may have left a charge behind).
#include "internal.hpp"

#include <faultline/resilience/backoff.hpp>
#include <faultline/rng.hpp>

#include <fmt/format.h>

#include <cmath>

namespace faultline::sim::stripe::detail {

using world::Node;
using world::Payload;
using world::RpcResult;
using world::RpcStatus;

class CustomersProgram : public world::Program {
public:
  CustomersProgram(StripeCluster::State& s, Node& node) : s_(s), node_(node) {}

  void start(Node& node) override {
    for (int i = 0; i < s_.p.clients.customers; ++i) {
      tab_busy_.push_back(false);
    }
    for (int i = 0; i < s_.p.clients.customers; ++i) {
      node.spawn(customer(i));
    }
  }

private:
  Task<void> customer(int i) {
    const auto& cp = s_.p.clients;
    Rng rng = node_.sim().rng(fmt::format("stripe/customer/{}", i));
    const std::string user = fmt::format("cus_{}", i);
    const auto& names = metric_names();
    for (std::int64_t n = 0;; ++n) {
      const double think = -std::log(1.0 - rng.uniform01()) *
                           static_cast<double>(cp.think_time.ns());
      co_await node_.sleep(Duration::nanos(static_cast<std::int64_t>(think)));
      if (cp.stop_at > Duration::zero() && node_.sim().now() >= Time::zero() + cp.stop_at) {
        co_return;
      }
      ChargeRequest req;
      req.user = user;
      req.intent = fmt::format("pi_{}_{}", i, n);
      req.idempotency_key = cp.send_keys ? fmt::format("ik_{}_{}", i, n) : std::string();
      req.amount = cp.amount;
      s_.counter(names.requests).inc();
      const Time began = node_.sim().now();
      if (rng.uniform01() < cp.double_click_ratio && !tab_busy_[static_cast<std::size_t>(i)]) {
        tab_busy_[static_cast<std::size_t>(i)] = true;
        const auto delay = Duration::nanos(rng.uniform_int(0, cp.double_click_within.ns()));
        node_.spawn(second_tab(i, req, delay));
      }
      const bool ok = co_await submit(2 * i, req, rng);
      if (ok) {
        s_.counter(names.successes).inc();
        s_.sim->metrics().histogram(names.latency).record((node_.sim().now() - began).ns());
        if (cp.retrieve_ratio > 0.0 && rng.uniform01() < cp.retrieve_ratio) {
          co_await retrieve(req.intent, rng);
        }
      } else {
        s_.counter(names.failures).inc();
      }
    }
  }

  Task<void> second_tab(int i, ChargeRequest req, Duration delay) {
    Rng rng = node_.sim().rng(fmt::format("stripe/customer/{}/tab/{}", i, req.intent));
    co_await node_.sleep(delay);
    co_await submit(2 * i + 1, req, rng);
    tab_busy_[static_cast<std::size_t>(i)] = false;
  }

  /// GET the charge just made, once, from a random API server: a success is a 200 with the
  /// charge; a 404 (the ledger node that answered had not applied it) or no answer fails.
  Task<void> retrieve(const std::string& intent, Rng& rng) {
    const auto& names = metric_names();
    s_.counter(names.read_requests).inc();
    const Time began = node_.sim().now();
    const auto servers = static_cast<std::int64_t>(s_.api_ids.size());
    const auto api = s_.api_ids[static_cast<std::size_t>(rng.uniform_int(0, servers - 1))];
    Payload r_req = Payload::make<RetrieveRequest>(RetrieveRequest{intent});
    RpcResult r = co_await node_.call(api, r_req, 512, s_.p.clients.timeout);
    const auto* resp = r.ok() ? r.payload.get<RetrieveResponse>() : nullptr;
    if (resp != nullptr && resp->status == 200) {
      s_.counter(names.read_successes).inc();
      s_.sim->metrics().histogram(names.read_latency).record((node_.sim().now() - began).ns());
    } else {
      s_.counter(names.read_failures).inc();
      if (resp != nullptr && resp->status == 404) {
        s_.counter("stripe/reads/stale").inc();
      }
    }
  }

  /// One submission with its retries; true on success.
  Task<bool> submit(std::int64_t client, ChargeRequest req, Rng& rng) {
    const auto& cp = s_.p.clients;
    const auto& names = metric_names();
    s_.history.invoke(client, node_.sim().now(), check::Op::request(req.intent, req.user));
    resilience::Backoff backoff(cp.retry);
    bool maybe_effect = false;  // some attempt may have started a charge
    const auto servers = static_cast<std::int64_t>(s_.api_ids.size());
    for (int attempt = 1;; ++attempt) {
      s_.counter(names.attempts).inc();
      ChargeRequest sent = req;
      if (rng.uniform01() < cp.param_mismatch_ratio) {
        sent.amount += 1;  // a client bug: the same key with other parameters
      }
      const auto api = s_.api_ids[static_cast<std::size_t>(rng.uniform_int(0, servers - 1))];
      Payload r_req = Payload::make<ChargeRequest>(sent);
      RpcResult r = co_await node_.call(api, r_req, 1024, cp.timeout);
      const auto* resp = r.ok() ? r.payload.get<ChargeResponse>() : nullptr;
      bool retry = true;
      if (resp != nullptr) {
        switch (resp->status) {
          case 200:
            s_.history.ok(client, node_.sim().now());
            s_.acked_intents.insert(req.intent);
            co_return true;
          case 402:
          case 400:
            retry = false;
            break;
          case 429:
            break;  // rejected before the idempotency layer: nothing ran
          default:
            maybe_effect = true;  // 409 (another request holds the key), 503, 5xx
            break;
        }
      } else if (r.status == RpcStatus::kTimeout) {
        maybe_effect = true;
      }
      if (!retry || attempt >= cp.retry.max_attempts ||
          (r.status == RpcStatus::kTimeout && !cp.retry.retry_on_timeout)) {
        // A decline or rejection after an attempt that may have charged is still unknown.
        if (maybe_effect || (resp == nullptr && r.status == RpcStatus::kTimeout)) {
          s_.history.info(client, node_.sim().now());
        } else {
          s_.history.fail(client, node_.sim().now());
        }
        co_return false;
      }
      co_await node_.sleep(backoff.delay(attempt, rng));
    }
  }

  StripeCluster::State& s_;
  Node& node_;
  std::vector<bool> tab_busy_;
};

world::ProgramFactory customers_factory(StripeCluster::State& s) {
  return [&s](Node& node) { return std::make_unique<CustomersProgram>(s, node); };
}

}  // namespace faultline::sim::stripe::detail
