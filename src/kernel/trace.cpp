#include <faultline/rng.hpp>
#include <faultline/trace.hpp>

#include <algorithm>
#include <cmath>
#include <bit>
#include <cstring>
#include <ostream>

namespace faultline {

namespace {

constexpr std::uint64_t kMulA = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t kMulB = 0xc2b2ae3d27d4eb4fULL;

std::uint64_t mix(std::uint64_t h, std::uint64_t x) {
  h ^= x * kMulA;
  h = std::rotl(h, 29) * kMulB;
  return h ^ (h >> 32);
}

std::uint64_t load64(const char* p) {
  std::uint64_t w = 0;
  std::memcpy(&w, p, sizeof w);
  if constexpr (std::endian::native == std::endian::big) {
    w = __builtin_bswap64(w);
  }
  return w;
}

std::uint64_t load32(const char* p) {
  std::uint32_t w = 0;
  std::memcpy(&w, p, sizeof w);
  if constexpr (std::endian::native == std::endian::big) {
    w = __builtin_bswap32(w);
  }
  return w;
}

// The hash of a key, source, kind or string value. Every record hashes several short strings,
// so this reads words, not bytes: up to 8 bytes are one word (two overlapping 4-byte reads, or
// three bytes for 1-3, which with the length determine the string) and one mix, and the
// strings of a record hash independently of each other, so they overlap in the CPU. (Byte-wise
// FNV-1a took about as long as everything else in a trace record.) Little-endian reads on
// every machine, so the value is the same everywhere.
constexpr std::uint64_t kTextSeed = 0x6a09e667f3bcc909ULL;

[[gnu::noinline]] std::uint64_t hash_long_text(const char* p, std::size_t n) {
  std::uint64_t h = kTextSeed ^ n;
  std::size_t i = 0;
  for (; i + 8 < n; i += 8) {
    h = mix(h, load64(p + i));
  }
  return mix(h, load64(p + n - 8));  // the last 8 bytes (overlapping the previous word)
}

[[gnu::always_inline]] inline std::uint64_t hash_text(std::string_view s) {
  const char* p = s.data();
  const std::size_t n = s.size();
  const std::uint64_t seed = kTextSeed ^ n;
  if (n <= 8) {
    std::uint64_t w = 0;
    if (n >= 4) {
      w = load32(p) | (load32(p + n - 4) << 32);
    } else if (n > 0) {
      w = static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) |
          (static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8) |
          (static_cast<std::uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16);
    }
    return mix(seed, w);
  }
  return hash_long_text(p, n);
}

// One field: its key and its value, salted by the value's kind (so 2 and "2" differ), in one
// mix. Fields hash independently of each other; only the cheap chain in record() is serial.
std::uint64_t hash_field(const TraceField& f) {
  const std::uint64_t key = hash_text(f.key);
  const TraceValue& v = f.value;
  switch (v.kind()) {
    case TraceValue::Kind::kInt:
      return mix(key ^ (1 * kMulB), static_cast<std::uint64_t>(v.as_int()));
    case TraceValue::Kind::kBool:
      return mix(key ^ (2 * kMulB), v.as_bool() ? 1 : 0);
    case TraceValue::Kind::kDouble: {
      std::uint64_t bits = 0;
      double d = v.as_double();
      std::memcpy(&bits, &d, sizeof bits);
      return mix(key ^ (3 * kMulB), bits);
    }
    case TraceValue::Kind::kString:
      return mix(key ^ (4 * kMulB), hash_text(v.as_string()));
  }
  return 0;
}

}  // namespace

std::string TraceValue::to_string() const {
  switch (kind_) {
    case Kind::kInt:
      return fmt::format("{}", i_);
    case Kind::kBool:
      return i_ != 0 ? "true" : "false";
    case Kind::kDouble:
      return fmt::format("{}", d_);
    case Kind::kString:
      return std::string(s_);
  }
  return {};
}

std::string TraceRecordView::to_string() const {
  std::string out = fmt::format("#{} {} {} {}", index, time, source, kind);
  for (const auto& f : fields) {
    out += fmt::format(" {}={}", f.key, f.value.to_string());
  }
  return out;
}

void Trace::record(Time t, std::string_view source, std::string_view kind,
                   std::span<const TraceField> fields) {
  // The parts are hashed independently (the CPU overlaps them) and chained as a polynomial,
  // (h + part) * odd constant, which keeps their order at a multiply and an add per part; one
  // mix at the end spreads the bits. (A full mix per step made the chain the record's cost.)
  std::uint64_t h = mix(static_cast<std::uint64_t>(t.ns()), hash_text(source));
  h = (h + hash_text(kind)) * kMulA;
  for (const auto& f : fields) {
    h = (h + hash_field(f)) * kMulA;
  }
  h = mix(h, fields.size());
  hash_ = mix(hash_, h);
  const std::uint64_t index = count_++;
  if (!sinks_.empty()) [[unlikely]] {
    const TraceRecordView view{index, t, source, kind, fields, h, hash_};
    for (TraceSink* sink : sinks_) {
      sink->on_record(view);
    }
  }
}

void Trace::note(Time t, std::string_view source, std::string_view kind, TraceFields fields) {
  const TraceRecordView view{count_, t, source, kind,
                             std::span<const TraceField>(fields.begin(), fields.size()), 0, hash_};
  for (TraceSink* sink : sinks_) {
    if (sink->wants_notes()) {
      sink->on_record(view);
    }
  }
}

void Trace::attach(TraceSink* sink) {
  sinks_.push_back(sink);
  noting_ = noting_ || sink->wants_notes();
}

void Trace::detach(TraceSink* sink) {
  sinks_.erase(std::remove(sinks_.begin(), sinks_.end(), sink), sinks_.end());
  noting_ = std::any_of(sinks_.begin(), sinks_.end(),
                        [](const TraceSink* s) { return s->wants_notes(); });
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_json_fields(std::string& out, std::span<const TraceField> fields) {
  out += '{';
  bool first = true;
  for (const auto& f : fields) {
    if (!first) {
      out += ',';
    }
    first = false;
    append_json_string(out, f.key);
    out += ':';
    switch (f.value.kind()) {
      case TraceValue::Kind::kString:
        append_json_string(out, f.value.as_string());
        break;
      case TraceValue::Kind::kDouble:
        out += std::isfinite(f.value.as_double()) ? f.value.to_string() : std::string("null");
        break;
      default:
        out += f.value.to_string();
    }
  }
  out += '}';
}

void JsonLinesTraceSink::on_record(const TraceRecordView& r) {
  std::string line = fmt::format("{{\"i\":{},\"t_ns\":{},\"src\":", r.index, r.time.ns());
  append_json_string(line, r.source);
  line += ",\"kind\":";
  append_json_string(line, r.kind);
  line += ",\"f\":";
  append_json_fields(line, r.fields);
  line += "}\n";
  out_ << line;
}

}  // namespace faultline
