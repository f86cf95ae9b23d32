// The network: moves messages between nodes with per-link latency, NIC bandwidth, loss,
// duplication, reordering, and whatever the link rules (partitions, clogs, injected latency)
// say.
//
// A message src → dst takes: queueing behind earlier messages on the sender's NIC, then
// size * 8 / bandwidth to transmit, then one draw of the link's latency. Reception overlaps
// transmission (cut-through), unless the receiver's NIC was still taking in an earlier
// arrival: then the message waits for it (incast), computed in arrival order so that jitter
// still reorders messages. Loss and duplication are
// integer ratios drawn from the stream "net". Every delivery, drop (with its reason) and
// duplicate is a trace record from source "net"; counters "net.delivered", "net.dropped",
// "net.duplicated" and "net.refused" count them.
//
// Endpoints (the world's Nodes) register under their NodeId; the network asks them on
// arrival whether they can take the message (up, paused, down).
#pragma once

#include <faultline/simulation.hpp>
#include <faultline/world/ids.hpp>
#include <faultline/world/link_rules.hpp>
#include <faultline/world/message.hpp>
#include <faultline/world/topology.hpp>

#include <cstdint>
#include <deque>
#include <vector>

namespace faultline::world {

/// What an endpoint says about an arriving message.
enum class Admission : std::uint8_t {
  kAccept,       // delivered now
  kHostDown,     // silently lost (nobody answers)
  kProcessDown,  // the host answers with a refusal (requests only) if so configured
};

class Endpoint {
public:
  virtual HostId host_id() const = 0;
  virtual Admission admit(const Message& m) = 0;
  virtual void deliver(Message&& m) = 0;
  /// Called (stage 0, then 1) shortly before `m` arrives, with `m` and this endpoint's first
  /// cache lines already fetched: start fetching what admit and deliver will read. Must change
  /// nothing; the default does nothing.
  virtual void prefetch(const Message& m, unsigned stage) const {
    (void)m;
    (void)stage;
  }

protected:
  ~Endpoint() = default;
};

class Network {
public:
  /// `topology` must outlive the network; its defaults() are the link classes.
  Network(Simulation& sim, const Topology& topology);
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;
  ~Network();

  /// Registers an endpoint; NodeIds are dense and assigned by the world.
  void attach(NodeId id, Endpoint* endpoint);
  /// Sends `m` (its id and sent_at are set here). Never delivers inline.
  void send(Message m);

  LinkRules& rules() { return rules_; }
  const LinkRules& rules() const { return rules_; }
  const NetworkParams& params() const { return topology_->defaults(); }
  /// Overrides one host's NIC bandwidth (HostParams::nic_bandwidth_bps).
  void set_nic_bandwidth(HostId h, std::int64_t bps);

  std::uint64_t sent() const { return sent_; }
  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t duplicated() const { return duplicated_; }
  std::uint64_t held() const;

private:
  struct Nic {
    Time tx_free{};
    Time rx_free{};
    std::int64_t bps = 0;
  };
  // Aligned so that an element spans exactly two cache lines (both prefetched), never three.
  struct alignas(32) InFlight {
    Message msg;
    std::uint32_t next_free = 0;
    bool received = false;  // the receiver's NIC has taken it in (incast queueing done)
  };
  Nic& nic(HostId h);
  Duration transfer_time(std::uint64_t bytes, std::int64_t bps) const;
  void transmit(Message&& m, bool is_duplicate);
  void schedule_arrival(std::uint32_t slot, Time at);
  /// The arrival event. It carries where the message goes (24 bytes, inline in the kernel's
  /// event slot), so its prefetch hook can fetch the message, the destination and its NIC
  /// three events ahead, and let the destination fetch its own state in the next stages.
  struct Arrival {
    Network* net;
    const Endpoint* dst;  // for prefetching only; arrive() looks the endpoint up
    std::uint32_t slot;
    std::uint32_t dst_host;
    void operator()() const { net->arrive(*this); }
    void prefetch(unsigned stage) const;
  };
  // GCC may drop a call to a helper that only prefetches (it looks pure): always_inline.
  [[gnu::always_inline]] inline void prefetch_message(const Arrival& a) const;
  void arrive(const Arrival& a);
  void finish(Message&& m);
  void drop(const Message& m, const char* reason);
  void refuse(const Message& m);
  std::uint32_t park(Message&& m);
  Message unpark(std::uint32_t slot);
  void release_held(RuleId rule);

  Simulation* sim_;
  const Topology* topology_;
  LinkRules rules_;
  Rng rng_;
  std::vector<Endpoint*> endpoints_;
  // Each endpoint's host, copied at attach: the hot path reads this dense array instead of
  // chasing a pointer into every sender's and receiver's Node.
  std::vector<HostId> node_host_;
  std::vector<Nic> nics_;
  std::vector<InFlight> slab_;
  std::uint32_t free_head_ = 0xffffffffu;
  std::map<RuleId, std::vector<Message>> held_;
  std::uint64_t next_id_ = 1;
  std::uint64_t sent_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t duplicated_ = 0;
  Counter* c_delivered_;
  Counter* c_dropped_;
  Counter* c_duplicated_;
  Counter* c_refused_;
  Histogram* h_latency_;
};

}  // namespace faultline::world
