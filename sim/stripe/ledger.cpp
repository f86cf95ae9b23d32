#include <faultline/sim/stripe/ledger.hpp>

#include <faultline/assert.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace faultline::sim::stripe {

std::string_view to_string(RecoveryPoint p) {
  switch (p) {
    case RecoveryPoint::kStarted: return "started";
    case RecoveryPoint::kChargeCreated: return "charge_created";
    case RecoveryPoint::kFinished: return "finished";
  }
  return "?";
}

std::string_view to_string(TxnKind k) {
  switch (k) {
    case TxnKind::kBegin: return "begin";
    case TxnKind::kRecordCharge: return "record_charge";
    case TxnKind::kFinish: return "finish";
    case TxnKind::kUnlock: return "unlock";
    case TxnKind::kChargeNoKey: return "charge_no_key";
    case TxnKind::kListAbandoned: return "list_abandoned";
    case TxnKind::kReap: return "reap";
    case TxnKind::kFetchOutbox: return "fetch_outbox";
    case TxnKind::kDeleteOutbox: return "delete_outbox";
    case TxnKind::kGetCharge: return "get_charge";
  }
  return "?";
}

std::string_view to_string(BeginOutcome o) {
  switch (o) {
    case BeginOutcome::kNew: return "new";
    case BeginOutcome::kResume: return "resume";
    case BeginOutcome::kInUse: return "in_use";
    case BeginOutcome::kMismatch: return "mismatch";
    case BeginOutcome::kReplay: return "replay";
  }
  return "?";
}

const KeyRow* LedgerState::find_key(std::string_view user, std::string_view key) const {
  auto it = keys_.find({std::string(user), std::string(key)});
  return it == keys_.end() ? nullptr : &it->second;
}

void LedgerState::put_key(KeyRow row, std::vector<RowWrite>& writes) {
  RowWrite w;
  w.kind = RowWrite::Kind::kPutKey;
  w.key = std::move(row);
  apply(w);
  writes.push_back(std::move(w));
}

void LedgerState::add_charge(const TxnRequest& req, std::int64_t key_id, std::int64_t now_ns,
                             std::vector<RowWrite>& writes, TxnReply& reply) {
  // The processor's charge id is unique in the charges table: recording it twice (a retried
  // phase) keeps the first row.
  if (auto it = charge_by_processor_.find(req.processor_charge);
      it != charge_by_processor_.end()) {
    reply.charge_id = it->second;
    return;
  }
  RowWrite c;
  c.kind = RowWrite::Kind::kPutCharge;
  c.charge = ChargeRow{fmt::format("ch_{}", next_charge_), req.intent, req.processor_charge,
                       req.amount, key_id, now_ns};
  reply.charge_id = c.charge.id;
  apply(c);
  writes.push_back(c);
  if (req.outbox) {
    RowWrite e;
    e.kind = RowWrite::Kind::kPutOutbox;
    e.event = OutboxRow{next_event_, fmt::format("evt_{}", next_event_), req.user,
                        "charge.succeeded", reply.charge_id, now_ns};
    apply(e);
    writes.push_back(std::move(e));
  }
}

TxnReply LedgerState::execute(const TxnRequest& req, std::int64_t now_ns,
                              std::vector<RowWrite>& writes) {
  TxnReply reply;
  auto owned = [&](const KeyRow* row) {
    return row != nullptr && row->locked_at_ns != 0 && row->lock_owner == req.owner;
  };
  switch (req.kind) {
    case TxnKind::kBegin: {
      const KeyRow* row = find_key(req.user, req.key);
      if (row == nullptr) {
        KeyRow k;
        k.id = next_key_id_;
        k.user = req.user;
        k.key = req.key;
        k.params = req.params;
        k.intent = req.intent;
        k.created_at_ns = now_ns;
        k.locked_at_ns = now_ns;
        k.last_run_ns = now_ns;
        k.lock_owner = next_owner_;
        reply.begin = BeginOutcome::kNew;
        reply.key = k;
        put_key(std::move(k), writes);
        return reply;
      }
      reply.key = *row;
      if (row->params != req.params) {
        reply.begin = BeginOutcome::kMismatch;
      } else if (row->recovery_point == RecoveryPoint::kFinished) {
        reply.begin = BeginOutcome::kReplay;
      } else if (row->locked_at_ns != 0 && now_ns - row->locked_at_ns < req.lock_timeout_ns) {
        reply.begin = BeginOutcome::kInUse;
      } else {
        KeyRow k = *row;
        k.locked_at_ns = now_ns;
        k.last_run_ns = now_ns;
        k.lock_owner = next_owner_;
        reply.begin = BeginOutcome::kResume;
        reply.key = k;
        put_key(std::move(k), writes);
      }
      return reply;
    }
    case TxnKind::kRecordCharge: {
      const KeyRow* row = find_key(req.user, req.key);
      if (!owned(row) || row->recovery_point != RecoveryPoint::kStarted) {
        reply.ok = false;
        return reply;
      }
      KeyRow k = *row;
      add_charge(req, k.id, now_ns, writes, reply);
      k.recovery_point = RecoveryPoint::kChargeCreated;
      k.processor_charge = req.processor_charge;
      k.last_run_ns = now_ns;
      reply.key = k;
      put_key(std::move(k), writes);
      return reply;
    }
    case TxnKind::kFinish: {
      const KeyRow* row = find_key(req.user, req.key);
      if (!owned(row)) {
        reply.ok = false;
        return reply;
      }
      KeyRow k = *row;
      k.recovery_point = RecoveryPoint::kFinished;
      k.response_code = req.response_code;
      k.response_body = req.response_body;
      if (k.response_body.empty() && !k.processor_charge.empty()) {
        // A success's body is the charge this key recorded (found by the processor's id,
        // so a request resumed at charge_created needs nothing but the key).
        if (auto it = charge_by_processor_.find(k.processor_charge);
            it != charge_by_processor_.end()) {
          k.response_body = it->second;
        }
      }
      k.locked_at_ns = 0;
      k.last_run_ns = now_ns;
      reply.key = k;
      put_key(std::move(k), writes);
      return reply;
    }
    case TxnKind::kUnlock: {
      const KeyRow* row = find_key(req.user, req.key);
      if (!owned(row)) {
        reply.ok = false;
        return reply;
      }
      KeyRow k = *row;
      k.locked_at_ns = 0;
      k.last_run_ns = now_ns;
      put_key(std::move(k), writes);
      return reply;
    }
    case TxnKind::kChargeNoKey:
      add_charge(req, 0, now_ns, writes, reply);
      return reply;
    case TxnKind::kListAbandoned: {
      // Oldest last run first (ties by id), the keys nobody has run for older_than and
      // whose lock is free or has timed out; the index is in that order, so the walk stops
      // at the first key run too recently.
      std::vector<const KeyRow*> found;
      const auto limit = static_cast<std::size_t>(std::max(req.limit, 0));
      for (const auto& [last_run, id, user, key] : unfinished_by_last_run_) {
        if (found.size() >= limit || now_ns - last_run < req.older_than_ns) {
          break;
        }
        const KeyRow& k = keys_.at({user, key});
        if (k.locked_at_ns == 0 || now_ns - k.locked_at_ns >= req.lock_timeout_ns) {
          found.push_back(&k);
        }
      }
      for (const KeyRow* f : found) {
        KeyRow k = *f;
        if (req.take_locks) {
          k.locked_at_ns = now_ns;
          k.last_run_ns = now_ns;
          k.lock_owner = next_owner_;
          put_key(k, writes);
        }
        reply.keys.push_back(std::move(k));
      }
      return reply;
    }
    case TxnKind::kReap: {
      std::vector<std::pair<std::string, std::string>> old;
      for (const auto& [created_at, id, user, key] : by_created_at_) {
        if (now_ns - created_at < req.older_than_ns) {
          break;
        }
        old.emplace_back(user, key);
      }
      // Deleted in the table's key order, as a scan of the table would find them.
      std::sort(old.begin(), old.end());
      for (auto& [user, key] : old) {
        RowWrite w;
        w.kind = RowWrite::Kind::kDeleteKey;
        w.key.user = user;
        w.key.key = key;
        apply(w);
        writes.push_back(std::move(w));
      }
      reply.affected = static_cast<int>(old.size());
      return reply;
    }
    case TxnKind::kFetchOutbox:
      for (const auto& [id, e] : outbox_) {
        if (reply.events.size() >= static_cast<std::size_t>(req.limit)) {
          break;
        }
        reply.events.push_back(e);
      }
      return reply;
    case TxnKind::kDeleteOutbox:
      for (std::int64_t id : req.ids) {
        if (outbox_.count(id) != 0) {
          RowWrite w;
          w.kind = RowWrite::Kind::kDeleteOutbox;
          w.event.id = id;
          apply(w);
          writes.push_back(std::move(w));
          ++reply.affected;
        }
      }
      return reply;
    case TxnKind::kGetCharge:
      if (auto it = charge_ids_by_intent_.find(req.intent); it != charge_ids_by_intent_.end()) {
        for (const auto& id : it->second) {
          reply.charges.push_back(charges_.at(id));
        }
      }
      return reply;
  }
  return reply;
}

void LedgerState::index_key(const KeyRow& k) {
  if (k.recovery_point != RecoveryPoint::kFinished) {
    unfinished_by_last_run_.emplace(k.last_run_ns, k.id, k.user, k.key);
  }
  by_created_at_.emplace(k.created_at_ns, k.id, k.user, k.key);
}

void LedgerState::unindex_key(const KeyRow& k) {
  unfinished_by_last_run_.erase({k.last_run_ns, k.id, k.user, k.key});
  by_created_at_.erase({k.created_at_ns, k.id, k.user, k.key});
}

void LedgerState::apply(const RowWrite& w) {
  switch (w.kind) {
    case RowWrite::Kind::kPutKey: {
      next_key_id_ = std::max(next_key_id_, w.key.id + 1);
      next_owner_ = std::max(next_owner_, w.key.lock_owner + 1);
      auto [it, inserted] = keys_.try_emplace({w.key.user, w.key.key});
      if (!inserted) {
        unindex_key(it->second);
      }
      it->second = w.key;
      index_key(it->second);
      break;
    }
    case RowWrite::Kind::kDeleteKey:
      if (auto it = keys_.find({w.key.user, w.key.key}); it != keys_.end()) {
        unindex_key(it->second);
        keys_.erase(it);
      }
      break;
    case RowWrite::Kind::kPutCharge: {
      const std::string_view digits = std::string_view(w.charge.id).substr(3);
      std::int64_t n = 0;
      std::from_chars(digits.data(), digits.data() + digits.size(), n);
      next_charge_ = std::max(next_charge_, n + 1);
      if (auto old = charges_.find(w.charge.id);
          old != charges_.end() && old->second.intent != w.charge.intent) {
        charge_ids_by_intent_[old->second.intent].erase(w.charge.id);  // a rewritten row
      }
      charges_[w.charge.id] = w.charge;
      charge_by_processor_[w.charge.processor_charge] = w.charge.id;
      charge_ids_by_intent_[w.charge.intent].insert(w.charge.id);
      break;
    }
    case RowWrite::Kind::kPutOutbox:
      next_event_ = std::max(next_event_, w.event.id + 1);
      outbox_[w.event.id] = w.event;
      break;
    case RowWrite::Kind::kDeleteOutbox:
      outbox_.erase(w.event.id);
      break;
  }
}

// --- WAL records ------------------------------------------------------------------------------
// A line: "<lsn> <checksum> <writes>\n", writes separated by RS (0x1e), fields by US (0x1f).
// Identifiers in this model never contain those bytes, spaces in the first two fields, or
// newlines; encode_record asserts it.

namespace {

constexpr char kRs = '\x1e';
constexpr char kUs = '\x1f';

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h = (h ^ c) * 1099511628211ull;
  }
  return h;
}

void field(std::string& out, std::string_view s) {
  FAULTLINE_ASSERT(s.find_first_of("\x1e\x1f\n") == std::string_view::npos,
                   "a WAL field contains a separator");
  out.append(s);
  out.push_back(kUs);
}
void field(std::string& out, std::int64_t v) { field(out, std::to_string(v)); }

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

bool to_int(std::string_view s, std::int64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

}  // namespace

std::string encode_record(std::uint64_t lsn, const std::vector<RowWrite>& writes) {
  std::string body;
  for (const RowWrite& w : writes) {
    if (!body.empty()) {
      body.push_back(kRs);
    }
    field(body, static_cast<std::int64_t>(w.kind));
    switch (w.kind) {
      case RowWrite::Kind::kPutKey:
      case RowWrite::Kind::kDeleteKey: {
        const KeyRow& k = w.key;
        field(body, k.id);
        field(body, k.user);
        field(body, k.key);
        field(body, k.params);
        field(body, k.intent);
        field(body, k.created_at_ns);
        field(body, k.locked_at_ns);
        field(body, k.lock_owner);
        field(body, k.last_run_ns);
        field(body, static_cast<std::int64_t>(k.recovery_point));
        field(body, k.response_code);
        field(body, k.response_body);
        field(body, k.processor_charge);
        break;
      }
      case RowWrite::Kind::kPutCharge: {
        const ChargeRow& c = w.charge;
        field(body, c.id);
        field(body, c.intent);
        field(body, c.processor_charge);
        field(body, c.amount);
        field(body, c.key_id);
        field(body, c.created_at_ns);
        break;
      }
      case RowWrite::Kind::kPutOutbox:
      case RowWrite::Kind::kDeleteOutbox: {
        const OutboxRow& e = w.event;
        field(body, e.id);
        field(body, e.event_id);
        field(body, e.aggregate);
        field(body, e.type);
        field(body, e.charge);
        field(body, e.created_at_ns);
        break;
      }
    }
  }
  return fmt::format("{} {:016x} {}\n", lsn, fnv1a(body), body);
}

std::optional<std::pair<std::uint64_t, std::vector<RowWrite>>> decode_record(
    std::string_view line) {
  if (line.empty() || line.back() != '\n') {
    return std::nullopt;
  }
  line.remove_suffix(1);
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    return std::nullopt;
  }
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    return std::nullopt;
  }
  std::int64_t lsn = 0;
  if (!to_int(line.substr(0, sp1), lsn) || lsn <= 0) {
    return std::nullopt;
  }
  const std::string_view body = line.substr(sp2 + 1);
  if (fmt::format("{:016x}", fnv1a(body)) != line.substr(sp1 + 1, sp2 - sp1 - 1)) {
    return std::nullopt;
  }
  std::vector<RowWrite> writes;
  if (!body.empty()) {
    for (std::string_view rec : split(body, kRs)) {
      auto f = split(rec, kUs);  // a trailing US gives one empty last part
      std::int64_t kind = 0;
      if (f.empty() || !to_int(f[0], kind) || kind < 0 || kind > 4) {
        return std::nullopt;
      }
      RowWrite w;
      w.kind = static_cast<RowWrite::Kind>(kind);
      auto num = [&](std::size_t i, std::int64_t& out) { return to_int(f[i], out); };
      switch (w.kind) {
        case RowWrite::Kind::kPutKey:
        case RowWrite::Kind::kDeleteKey: {
          if (f.size() != 15) {
            return std::nullopt;
          }
          KeyRow& k = w.key;
          std::int64_t rp = 0;
          std::int64_t code = 0;
          if (!num(1, k.id) || !num(6, k.created_at_ns) || !num(7, k.locked_at_ns) ||
              !num(8, k.lock_owner) || !num(9, k.last_run_ns) || !num(10, rp) ||
              !num(11, code) || rp < 0 || rp > 2) {
            return std::nullopt;
          }
          k.user = f[2];
          k.key = f[3];
          k.params = f[4];
          k.intent = f[5];
          k.recovery_point = static_cast<RecoveryPoint>(rp);
          k.response_code = static_cast<int>(code);
          k.response_body = f[12];
          k.processor_charge = f[13];
          break;
        }
        case RowWrite::Kind::kPutCharge: {
          if (f.size() != 8) {
            return std::nullopt;
          }
          ChargeRow& c = w.charge;
          if (!num(4, c.amount) || !num(5, c.key_id) || !num(6, c.created_at_ns)) {
            return std::nullopt;
          }
          c.id = f[1];
          c.intent = f[2];
          c.processor_charge = f[3];
          break;
        }
        case RowWrite::Kind::kPutOutbox:
        case RowWrite::Kind::kDeleteOutbox: {
          if (f.size() != 8) {
            return std::nullopt;
          }
          OutboxRow& e = w.event;
          if (!num(1, e.id) || !num(6, e.created_at_ns)) {
            return std::nullopt;
          }
          e.event_id = f[2];
          e.aggregate = f[3];
          e.type = f[4];
          e.charge = f[5];
          break;
        }
      }
      writes.push_back(std::move(w));
    }
  }
  return std::pair{static_cast<std::uint64_t>(lsn), std::move(writes)};
}

std::size_t replay_wal(std::string_view wal, LedgerState& state) {
  std::size_t pos = 0;
  while (pos < wal.size()) {
    const auto nl = wal.find('\n', pos);
    if (nl == std::string_view::npos) {
      break;
    }
    auto rec = decode_record(wal.substr(pos, nl + 1 - pos));
    if (!rec || rec->first != state.lsn() + 1) {
      break;
    }
    for (const RowWrite& w : rec->second) {
      state.apply(w);
    }
    state.set_lsn(rec->first);
    pos = nl + 1;
  }
  return pos;
}

}  // namespace faultline::sim::stripe
