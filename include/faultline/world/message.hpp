// Messages and their payloads.
//
// A Payload is an immutable, type-tagged, shared object: `Payload::make<GetReq>(key)` and
// `msg.payload.get<GetReq>()`. Why this representation: simulated messages never cross a real
// wire, so serialising them would only cost time; sharing one immutable object makes sends,
// duplicates, broadcasts and retries free (a reference-count bump), and the type tag turns a
// mismatched read into a nullptr (get) or an exception naming the problem (as), never
// undefined behaviour. The size a message occupies on the wire is a separate, explicit
// `size_bytes`, because it is a model parameter (a 10 MB reply), not sizeof of a C++ object.
// Plain bytes are carried as Payload::make<std::string>(...).
#pragma once

#include <faultline/time.hpp>
#include <faultline/world/ids.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>

namespace faultline::world {

namespace detail {
/// One immutable byte per type: its address is the type's tag, unique across translation
/// units (an inline variable has one definition in the program).
template <class T>
inline constexpr char kTypeTag = 0;
}  // namespace detail

class Payload {
public:
  Payload() = default;

  template <class T, class... Args>
  static Payload make(Args&&... args) {
    return Payload{std::make_shared<const T>(std::forward<Args>(args)...), &detail::kTypeTag<T>,
                   typeid(T).name()};
  }

  bool empty() const { return !ptr_; }
  template <class T>
  bool is() const {
    return tag_ == &detail::kTypeTag<T>;
  }
  /// The object if it is a T, else nullptr.
  template <class T>
  const T* get() const {
    return is<T>() ? static_cast<const T*>(ptr_.get()) : nullptr;
  }
  /// The object; throws std::logic_error naming both types when it is not a T.
  template <class T>
  const T& as() const {
    if (!is<T>()) {
      throw std::logic_error(std::string("payload holds ") + (type_ ? type_ : "nothing") +
                             ", not " + typeid(T).name());
    }
    return *static_cast<const T*>(ptr_.get());
  }

private:
  Payload(std::shared_ptr<const void> p, const char* tag, const char* type)
      : ptr_(std::move(p)), tag_(tag), type_(type) {}
  std::shared_ptr<const void> ptr_;
  const char* tag_ = nullptr;
  const char* type_ = nullptr;
};

enum class MessageKind : std::uint8_t {
  kOneWay,   // Node::send
  kRequest,  // Node::call
  kReply,    // the answer to a request (call_id correlates)
  kRefused,  // the network's answer when the destination process is down (a TCP reset)
};

struct Message {
  NodeId src;
  NodeId dst;
  MessageKind kind = MessageKind::kOneWay;
  /// Bytes on the wire; drives NIC transfer time.
  std::uint64_t size_bytes = 0;
  /// Correlates a request with its reply; 0 for one-way messages.
  std::uint64_t call_id = 0;
  /// Unique per network, assigned by Network::send.
  std::uint64_t id = 0;
  /// The sender's incarnation: replies to a dead incarnation are discarded.
  std::uint64_t src_incarnation = 0;
  Time sent_at{};
  Payload payload;
};

}  // namespace faultline::world
