// Reading histories that other tools wrote: Jepsen/Knossos EDN and Porcupine's key-value logs.
//
// EDN (Jepsen, Knossos): one map per operation event, either one per line or all inside one
// vector, e.g. `{:type :invoke, :f :write, :value 3, :process 0, :time 12345}`. Supported:
// :f :read / :write / :cas (`:value [from to]`) / :append, with an integer, nil or vector
// value; Jepsen's independent keys as `:value [key value]` (a cas as `[key [from to]]`);
// :f :txn with micro-ops `[[:append k v] [:r k [1 2]] [:w k v]]`. `:process` must be an
// integer (events of other processes, such as `:nemesis`, are skipped); `:time` is in
// nanoseconds and, when absent, the event's position stands in for it. A :fail cas is dropped
// like any fail (Knossos' reading); to keep the constraint that the compare failed, record it
// as `:type :ok` with `:cas-failed true`.
//
// Porcupine key-value logs (its test_data/kv): `{:process 0, :type :invoke, :f :get, :key "6",
// :value nil}` with :get, :put and :append of strings, where append concatenates. Each
// distinct string put or appended to a key becomes one list element, so the key's state is a
// list of chunks and a get's string is split back into those chunks; the initial state of a
// key is the empty string (the empty list). Check these with Model::key_value(Value::list({})).
//
// Every error names the source, the line and what to fix.
#pragma once

#include <faultline/check/history.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::check {

enum class HistoryFormat { kJsonl, kEdn, kPorcupineKv };
/// "jsonl", "edn", "porcupine-kv".
std::optional<HistoryFormat> parse_history_format(std::string_view name);

/// Throws HistoryError naming `source` and the line on malformed input.
History load_edn(std::istream& in, std::string_view source = "<stream>");
History load_porcupine_kv(std::istream& in, std::string_view source = "<stream>");
/// Any format, from a file; throws HistoryError if the file cannot be read.
History load_history_file(const std::string& path, HistoryFormat format);

}  // namespace faultline::check
