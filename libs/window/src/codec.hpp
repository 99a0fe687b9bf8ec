#pragma once
// Little-endian binary writer/reader for snapshots. The reader never throws:
// a short or malformed input sets ok() to false and reads return zeros.

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace ioc::window::detail {

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u32(std::uint32_t v) { put(v); }
  void u64(std::uint64_t v) { put(v); }
  void i32(std::int32_t v) { put(static_cast<std::uint32_t>(v)); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v)); }
  void f64(double v) { put(std::bit_cast<std::uint64_t>(v)); }
  void str(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  std::size_t size() const { return out_.size(); }

 private:
  template <typename T>
  void put(T v) {
    static_assert(std::endian::native == std::endian::little, "snapshots assume a little-endian host");
    const std::size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &v, sizeof(T));
  }
  std::vector<std::uint8_t>& out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}
  std::uint8_t u8() { return get<std::uint8_t>(); }
  std::uint32_t u32() { return get<std::uint32_t>(); }
  std::uint64_t u64() { return get<std::uint64_t>(); }
  std::int32_t i32() { return static_cast<std::int32_t>(get<std::uint32_t>()); }
  std::int64_t i64() { return static_cast<std::int64_t>(get<std::uint64_t>()); }
  double f64() { return std::bit_cast<double>(get<std::uint64_t>()); }
  std::string str() {
    const std::uint32_t n = u32();
    if (!ok_ || n > remaining()) return fail_string();
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  /// A count of elements of at least `min_bytes_each`: fails if the input
  /// cannot hold that many, so corrupt counts never cause huge allocations.
  std::uint64_t count(std::size_t min_bytes_each) {
    const std::uint64_t n = u64();
    if (ok_ && min_bytes_each > 0 && n > remaining() / min_bytes_each) ok_ = false;
    return ok_ ? n : 0;
  }
  bool ok() const { return ok_; }
  void fail() { ok_ = false; }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string fail_string() {
    ok_ = false;
    return {};
  }
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
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace ioc::window::detail
