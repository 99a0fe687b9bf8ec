#pragma once
/// The binary form of snapshots and checkpoints (window engine, rule
/// evaluator, alerter): fixed-width little-endian integers and doubles,
/// strings as a u32 length and their bytes. ByteReader never throws and
/// never reads past its input: a short or malformed input sets ok() to false,
/// and every read after that returns zero or empty. Plain values; no locks.

#include <bit>
#include <boost/crc.hpp>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "ioc/core/result.hpp"

namespace ioc {

/// Appends to `Buffer` (std::string or std::vector<std::uint8_t>).
template <typename Buffer>
class ByteWriter {
 public:
  explicit ByteWriter(Buffer& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<typename Buffer::value_type>(v)); }
  void u32(std::uint32_t v) { put(v); }
  void u64(std::uint64_t v) { put(v); }
  void i32(std::int32_t v) { put(static_cast<std::uint32_t>(v)); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v)); }
  void f64(double v) { put(std::bit_cast<std::uint64_t>(v)); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  std::size_t size() const { return out_.size(); }

 private:
  template <typename T>
  void put(T v) {
    static_assert(std::endian::native == std::endian::little, "the binary form assumes a little-endian host");
    const std::size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &v, sizeof(T));
  }
  Buffer& out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  explicit ByteReader(std::span<const std::uint8_t> in)
      : in_(reinterpret_cast<const char*>(in.data()), in.size()) {}

  std::uint8_t u8() { return get<std::uint8_t>(); }
  std::uint32_t u32() { return get<std::uint32_t>(); }
  std::uint64_t u64() { return get<std::uint64_t>(); }
  std::int32_t i32() { return static_cast<std::int32_t>(get<std::uint32_t>()); }
  std::int64_t i64() { return static_cast<std::int64_t>(get<std::uint64_t>()); }
  double f64() { return std::bit_cast<double>(get<std::uint64_t>()); }
  /// A string, pointing into the input.
  std::string_view view() {
    const std::uint32_t n = u32();
    if (!ok_ || n > remaining()) {
      ok_ = false;
      return {};
    }
    const std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string str() { return std::string(view()); }
  /// A count (written as a `Count`) of items of at least `min_bytes_each`:
  /// fails when the rest of the input cannot hold that many, so a corrupt
  /// count never causes a huge allocation.
  template <typename Count = std::uint64_t>
  std::uint64_t count(std::size_t min_bytes_each) {
    const std::uint64_t n = get<Count>();
    if (ok_ && min_bytes_each > 0 && n > remaining() / min_bytes_each) ok_ = false;
    return ok_ ? n : 0;
  }
  bool ok() const { return ok_; }
  void fail() { ok_ = false; }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  template <typename T>
  T get() {
    if (!ok_ || remaining() < sizeof(T)) {
      ok_ = false;
      return T{};
    }
    T v;
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

/// CRC-32 (IEEE) of the bytes, as snapshots and checkpoints carry it.
inline std::uint32_t crc32(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}
inline std::uint32_t crc32(std::span<const std::uint8_t> bytes) {
  return crc32(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

/// The body of a file framed as body + CRC-32 of the body (4 bytes, host
/// order), a magic and a version at least; `what` names it in the errors
/// ("<what> too short", "<what> checksum mismatch").
inline Result<std::string_view> crc_framed_body(std::string_view bytes, const std::string& what) {
  if (bytes.size() < 12) return data_loss(what + " too short");
  std::uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + bytes.size() - 4, 4);
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (crc32(body) != crc) return data_loss(what + " checksum mismatch");
  return body;
}

}  // namespace ioc
