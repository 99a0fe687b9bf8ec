#pragma once
// The spool's files: segments of framed records (magic, seq, kind, length,
// CRC-32C, payload) and the helpers that write and read them. Private to
// spool.cpp and spool_recovery.cpp.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "spool.hpp"

namespace ioc::intake {

namespace spool_format {

inline constexpr char kMagic[4] = {'I', 'O', 'C', 'S'};
inline constexpr std::size_t kBatchBytes = 8u << 20;
inline constexpr std::size_t kKindAt = 20;  // header byte: what the record is
inline constexpr std::uint8_t kReport = 0;
inline constexpr std::uint8_t kSettled = 1;  // payload: 8 bytes, the seq of a report delivered by its original

inline std::string errno_text() { return std::strerror(errno); }

inline void put32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void put64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline std::uint32_t get32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
inline std::uint64_t get64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

// Reports keep the first format's checksum (sequence number and payload);
// other kinds cover their kind byte too.
inline std::uint32_t checksum(const char* seq_bytes, std::uint8_t kind, std::string_view payload) {
  boost::crc_32_type crc;
  crc.process_bytes(seq_bytes, 8);
  if (kind != kReport) crc.process_byte(kind);
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

inline std::string segment_name(std::uint64_t first_seq) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "seg-%020llu.log", static_cast<unsigned long long>(first_seq));
  return buf;
}

// Makes a directory entry change (a new or renamed file) durable.
inline Status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return unavailable("cannot open spool directory " + dir + ": " + errno_text());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return unavailable("cannot sync spool directory " + dir + ": " + std::strerror(err));
  return {};
}

inline Status write_all(int fd, const char* data, std::size_t n, std::uint64_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return unavailable("cannot write spool segment " + path + ": " + errno_text());
    }
    data += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
  return {};
}

}  // namespace spool_format

struct Spool::Segment {
  std::string path;
  int fd = -1;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;  // 0: no record
  std::uint64_t size = 0;
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace ioc::intake
