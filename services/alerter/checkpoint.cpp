#include "checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ioc/codec/codec.hpp"
#include "ioc/core/bytes.hpp"

namespace ioc::alerter {

namespace {

constexpr std::uint32_t kMagic = 0x4b434f49;  // "IOCK"
constexpr std::uint32_t kVersion = 3;  // 2: with the cluster id; 3: with the CAP messages
constexpr const char* kFile = "alerter.checkpoint";

Status fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return unavailable("open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return unavailable("fsync " + path + ": " + std::strerror(err));
  return {};
}

}  // namespace

std::string encode_checkpoint(const Checkpoint& c) {
  std::string out;
  ByteWriter w(out);
  w.u32(kMagic);
  w.u32(kVersion);
  w.str(c.cluster_id);
  w.str(c.topic);
  w.i64(to_epoch_ms(c.written_at));
  w.u32(static_cast<std::uint32_t>(c.offsets.size()));
  for (const auto& [p, o] : c.offsets) {
    w.i32(p);
    w.i64(o);
  }
  w.str(c.rules);
  w.u32(static_cast<std::uint32_t>(c.events.size()));
  std::string scratch;
  for (const AlertEvent& e : c.events) {
    codec::encode(e, scratch);
    w.str(scratch);
  }
  w.u32(static_cast<std::uint32_t>(c.cap.size()));
  for (const CapMessage& m : c.cap) {
    w.u32(m.n);
    w.u8(static_cast<std::uint8_t>(m.type));
    w.i64(to_epoch_ms(m.sent));
    codec::encode(m.event, scratch);
    w.str(scratch);
  }
  w.u32(crc32(out));
  return out;
}

Result<Checkpoint> decode_checkpoint(std::string_view bytes) {
  const auto body = crc_framed_body(bytes, "checkpoint");
  if (!body.ok()) return body.error();
  ByteReader in(*body);
  if (in.u32() != kMagic) return data_loss("not an alerter checkpoint");
  const auto version = in.u32();
  if (version < 1 || version > kVersion) {
    return data_loss("checkpoint version " + std::to_string(version) + ", expected " + std::to_string(kVersion));
  }
  Checkpoint c;
  if (version >= 2) c.cluster_id = in.str();
  c.topic = in.str();
  c.written_at = from_epoch_ms(in.i64());
  const auto noffsets = in.u32();
  for (std::uint32_t i = 0; i < noffsets && in.ok(); ++i) {
    const auto p = in.i32();
    c.offsets[p] = in.i64();
  }
  c.rules = in.str();
  const auto nevents = in.u32();
  for (std::uint32_t i = 0; i < nevents && in.ok(); ++i) {
    AlertEvent e;
    if (Status s = codec::decode(in.view(), e); !s.ok()) return data_loss("checkpoint event: " + s.error().message);
    c.events.push_back(std::move(e));
  }
  const auto ncap = version >= 3 ? in.u32() : 0;
  for (std::uint32_t i = 0; i < ncap && in.ok(); ++i) {
    CapMessage m;
    m.n = in.u32();
    const auto type = in.u8();
    if (type > static_cast<std::uint8_t>(CapMsgType::kCancel)) return data_loss("checkpoint: unknown CAP message type");
    m.type = static_cast<CapMsgType>(type);
    m.sent = from_epoch_ms(in.i64());
    if (Status s = codec::decode(in.view(), m.event); !s.ok()) return data_loss("checkpoint CAP message: " + s.error().message);
    c.cap.push_back(std::move(m));
  }
  if (!in.ok()) return data_loss("checkpoint truncated");
  return c;
}

Status save_checkpoint(const std::string& dir, const Checkpoint& c) {
  return save_checkpoint_bytes(dir, encode_checkpoint(c));
}

Status save_checkpoint_bytes(const std::string& dir, const std::string& bytes, const std::string& file) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return unavailable("create " + dir + ": " + ec.message());
  const std::string path = (std::filesystem::path(dir) / file).string();
  const std::string tmp = path + ".tmp";
  {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return unavailable("open " + tmp + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        return unavailable("write " + tmp + ": " + std::strerror(err));
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      return unavailable("fsync " + tmp + ": " + std::strerror(err));
    }
    ::close(fd);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return unavailable("rename " + tmp + ": " + std::strerror(errno));
  return fsync_path(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

Result<std::optional<std::string>> load_state_file(const std::string& dir, const std::string& file) {
  const std::string path = (std::filesystem::path(dir) / file).string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<std::string>{};
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return unavailable("read " + path);
  return std::optional<std::string>(ss.str());
}

Result<std::optional<Checkpoint>> load_checkpoint(const std::string& dir) {
  auto bytes = load_state_file(dir, kFile);
  if (!bytes.ok()) return bytes.error();
  if (!*bytes) return std::optional<Checkpoint>{};
  auto c = decode_checkpoint(**bytes);
  if (!c.ok()) return data_loss((std::filesystem::path(dir) / kFile).string() + ": " + c.error().message);
  return std::optional<Checkpoint>(std::move(c).value());
}

}  // namespace ioc::alerter

namespace ioc::alerter {

CheckpointWriter::CheckpointWriter(std::string dir, std::function<void(const Status&)> done, std::string file)
    : dir_(std::move(dir)), file_(std::move(file)), done_(std::move(done)), thread_([this] { loop(); }) {}

CheckpointWriter::~CheckpointWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void CheckpointWriter::submit(std::string bytes) {
  {
    std::lock_guard lock(mu_);
    pending_ = std::move(bytes);
  }
  cv_.notify_all();
}

void CheckpointWriter::flush() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !pending_ && !writing_; });
}

void CheckpointWriter::loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || pending_.has_value(); });
    if (!pending_) return;  // stopping with nothing left to write
    std::string bytes = std::move(*pending_);
    pending_.reset();
    writing_ = true;
    lock.unlock();
    const Status s = save_checkpoint_bytes(dir_, bytes, file_);
    if (done_) done_(s);
    lock.lock();
    writing_ = false;
    cv_.notify_all();
  }
}

}  // namespace ioc::alerter
