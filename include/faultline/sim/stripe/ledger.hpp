// The ledger's tables and transactions, without the network: what one Postgres-like node
// holds and how it executes a transaction. sim/stripe/cluster.cpp runs this on world nodes
// (serial executor, group commit, WAL, replication); tests drive it directly.
//
// Tables (Brandur's schema, model-facts §6.2, trimmed to what the payment path uses):
//   idempotency_keys (user, key) unique: params, created_at, locked_at, lock_owner,
//                    recovery_point, response_code, response_body, the processor's charge
//   charges          id, intent, processor charge (unique), amount, key
//   outbox           id, event id, aggregate (the customer), type, charge
//
// Transactions are stored procedures run one at a time by a serial executor, so every
// schedule is serial and so serializable. Each returns a reply and the list of row writes it
// made; the writes are the WAL record that is fsynced and shipped to standbys, and replaying
// the WAL (apply) rebuilds the tables exactly.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace faultline::sim::stripe {

/// Brandur's recovery points for the charge endpoint: started → charge_created → finished.
enum class RecoveryPoint : std::uint8_t { kStarted, kChargeCreated, kFinished };
std::string_view to_string(RecoveryPoint p);

struct KeyRow {
  std::int64_t id = 0;
  std::string user;
  std::string key;
  /// The request's parameters in canonical form ("amount=2000&currency=usd").
  std::string params;
  std::string intent;
  std::int64_t created_at_ns = 0;
  /// 0: unlocked.
  std::int64_t locked_at_ns = 0;
  std::int64_t lock_owner = 0;
  /// When a request last took or gave back the lock (Brandur's last_run_at).
  std::int64_t last_run_ns = 0;
  RecoveryPoint recovery_point = RecoveryPoint::kStarted;
  int response_code = 0;
  std::string response_body;
  /// The processor's charge id once charge_created (or the decline, for a stored failure).
  std::string processor_charge;
  bool operator==(const KeyRow&) const = default;
};

struct ChargeRow {
  std::string id;
  std::string intent;
  std::string processor_charge;
  std::int64_t amount = 0;
  std::int64_t key_id = 0;  // 0: created without a key
  std::int64_t created_at_ns = 0;
  bool operator==(const ChargeRow&) const = default;
};

struct OutboxRow {
  std::int64_t id = 0;
  /// Unique; consumers deduplicate by it (Debezium's `id`, §6.3).
  std::string event_id;
  /// The Kafka key (Debezium's `aggregateid`): keeps one customer's events in order.
  std::string aggregate;
  std::string type;
  std::string charge;
  std::int64_t created_at_ns = 0;
  bool operator==(const OutboxRow&) const = default;
};

/// One row write: the unit of the WAL.
struct RowWrite {
  enum class Kind : std::uint8_t { kPutKey, kDeleteKey, kPutCharge, kPutOutbox, kDeleteOutbox };
  Kind kind = Kind::kPutKey;
  KeyRow key;        // kPutKey; kDeleteKey uses key.user and key.key
  ChargeRow charge;  // kPutCharge
  OutboxRow event;   // kPutOutbox; kDeleteOutbox uses event.id
};

enum class TxnKind : std::uint8_t {
  kBegin,          // upsert the key (phase 1: started), or decide 409 / 400 / replay / resume
  kRecordCharge,   // phase after the processor call: charge row (+ outbox) → charge_created
  kFinish,         // store the response → finished, unlock
  kUnlock,         // give the key back after a failure that left nothing to keep
  kChargeNoKey,    // the path without idempotency: just insert the charge (+ outbox)
  kListAbandoned,  // completer: keys not finished and not (validly) locked, oldest first
  kReap,           // reaper: delete keys older than the horizon
  kFetchOutbox,    // relay: the oldest unpublished events
  kDeleteOutbox,   // relay: events the log acknowledged
  kGetCharge,      // read a charge by intent
};
std::string_view to_string(TxnKind k);

struct TxnRequest {
  TxnKind kind = TxnKind::kBegin;
  std::string user;
  std::string key;
  std::string params;
  std::string intent;
  std::string processor_charge;
  std::int64_t amount = 0;
  std::int64_t owner = 0;
  int response_code = 0;
  std::string response_body;
  /// Begin / ListAbandoned: locks younger than this are honoured.
  std::int64_t lock_timeout_ns = 0;
  /// ListAbandoned: only keys idle this long; Reap: the horizon.
  std::int64_t older_than_ns = 0;
  bool outbox = false;
  int limit = 100;
  std::vector<std::int64_t> ids;
  /// ListAbandoned takes the locks of what it returns, as this owner (the completer).
  bool take_locks = false;
};

enum class BeginOutcome : std::uint8_t {
  kNew,       // key inserted, locked, recovery point started
  kResume,    // an unfinished key whose lock was free or expired: locked again, go on from rp
  kInUse,     // another request holds the lock: 409 idempotency_key_in_use
  kMismatch,  // same key, other parameters: 400 idempotency_error
  kReplay,    // finished: the stored response, Idempotent-Replayed: true
};
std::string_view to_string(BeginOutcome o);

struct TxnReply {
  /// False: the transaction aborted (the lock was lost to another owner) and wrote nothing.
  bool ok = true;
  BeginOutcome begin = BeginOutcome::kNew;
  KeyRow key;  // Begin: the row after the transaction
  std::string charge_id;
  std::vector<KeyRow> keys;
  std::vector<OutboxRow> events;
  std::vector<ChargeRow> charges;
  int affected = 0;
};

/// The tables of one ledger node.
class LedgerState {
public:
  /// Runs one transaction at local time `now_ns`, applying its writes, and appends them to
  /// `writes` (empty for read-only transactions and aborts).
  TxnReply execute(const TxnRequest& req, std::int64_t now_ns, std::vector<RowWrite>& writes);
  void apply(const RowWrite& w);

  const KeyRow* find_key(std::string_view user, std::string_view key) const;
  const std::map<std::pair<std::string, std::string>, KeyRow>& keys() const { return keys_; }
  /// By charge id ("ch_<n>").
  const std::map<std::string, ChargeRow>& charges() const { return charges_; }
  const std::map<std::int64_t, OutboxRow>& outbox() const { return outbox_; }
  std::uint64_t lsn() const { return lsn_; }
  void set_lsn(std::uint64_t lsn) { lsn_ = lsn; }

private:
  void put_key(KeyRow row, std::vector<RowWrite>& writes);
  void add_charge(const TxnRequest& req, std::int64_t key_id, std::int64_t now_ns,
                  std::vector<RowWrite>& writes, TxnReply& reply);

  void index_key(const KeyRow& k);
  void unindex_key(const KeyRow& k);

  std::map<std::pair<std::string, std::string>, KeyRow> keys_;
  // Indexes over keys_, as the real table has them, so that the completer's and the reaper's
  // periodic queries read only the rows they return instead of every row ever written:
  // unfinished keys by (last_run_ns, id), and every key by (created_at_ns, id); the row's
  // (user, key) ends each entry, which keeps it unique even if two rows shared an id.
  using KeyIndex = std::set<std::tuple<std::int64_t, std::int64_t, std::string, std::string>>;
  KeyIndex unfinished_by_last_run_, by_created_at_;
  std::map<std::string, ChargeRow> charges_;
  std::map<std::string, std::string> charge_by_processor_;  // processor charge → charge id
  // Charge ids by payment intent, so that a read of one intent's charges (kGetCharge) reads
  // only those rows, in charges_'s order (by id), instead of every charge ever written.
  std::map<std::string, std::set<std::string>> charge_ids_by_intent_;
  std::map<std::int64_t, OutboxRow> outbox_;
  std::int64_t next_key_id_ = 1;
  std::int64_t next_charge_ = 1;
  std::int64_t next_event_ = 1;
  std::int64_t next_owner_ = 1;
  std::uint64_t lsn_ = 0;
};

/// One WAL record: a transaction's writes with its log sequence number, as one line with a
/// checksum, so a torn or partial last line is recognised and dropped on replay.
std::string encode_record(std::uint64_t lsn, const std::vector<RowWrite>& writes);
/// nullopt for a torn, partial or corrupt line.
std::optional<std::pair<std::uint64_t, std::vector<RowWrite>>> decode_record(
    std::string_view line);
/// Replays a WAL file image into `state`; stops at the first bad or out-of-order record.
/// Returns the number of bytes of valid prefix (the rest is to be truncated).
std::size_t replay_wal(std::string_view wal, LedgerState& state);

}  // namespace faultline::sim::stripe
