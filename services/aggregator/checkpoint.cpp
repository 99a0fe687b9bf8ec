#include "checkpoint.hpp"

#include <charconv>
#include <set>

#include "ioc/core/hash.hpp"
#include "ioc/core/log.hpp"

namespace ioc::aggregator {

namespace {

bool parse_u32(std::string_view s, std::uint32_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::string unit_key(std::string_view topic, std::int32_t partition) {
  return std::string(topic) + "/" + std::to_string(partition);
}

std::uint64_t record_identity(std::string_view key, std::size_t value_size, std::int64_t timestamp_ms) {
  const std::uint64_t h = fnv1a_word(value_size, fnv1a(key, kFnv1aShortBasis));
  return fnv1a_word(static_cast<std::uint64_t>(timestamp_ms), h);
}

std::string encode_checkpoint(const Checkpoint& c) {
  std::string out;
  codec::encode(c, out);
  return out;
}

Result<Checkpoint> decode_checkpoint(std::string_view bytes) {
  Checkpoint c;
  if (Status s = codec::decode(bytes, c); !s.ok()) return s.error();
  return c;
}

// ---------------------------------------------------------------- assembler

bool CheckpointAssembler::add(std::string_view key, std::string_view chunk, std::string_view value) {
  // "<seq>:<i>:<n>"
  const auto a = chunk.find(':');
  const auto b = a == std::string_view::npos ? a : chunk.find(':', a + 1);
  std::uint32_t i = 0;
  std::uint32_t n = 0;
  if (b == std::string_view::npos || !parse_u32(chunk.substr(a + 1, b - a - 1), i) ||
      !parse_u32(chunk.substr(b + 1), n) || n == 0 || i >= n) {
    return false;
  }
  const std::string_view seq = chunk.substr(0, a);
  Pending& p = pending_[std::string(key)];
  if (i == 0) {
    p = Pending{std::string(seq), 0, n, {}};
  } else if (p.seq != seq || p.next != i || p.total != n) {
    p = Pending{};  // a chunk out of its sequence: that checkpoint is incomplete
    return true;
  }
  p.bytes.append(value);
  if (++p.next == p.total) {
    complete_[std::string(key)] = std::move(p.bytes);
    pending_.erase(std::string(key));
  }
  return true;
}

std::map<std::string, std::string> CheckpointAssembler::take() {
  pending_.clear();
  return std::exchange(complete_, {});
}

// ---------------------------------------------------------------- store

CheckpointStore::CheckpointStore(std::string group, std::string topic, kafka::Producer& producer,
                                 kafka::Admin& admin, kafka::Consumer& reader, const Clock& clock)
    : group_(std::move(group)),
      topic_(std::move(topic)),
      producer_(producer),
      admin_(admin),
      reader_(reader),
      clock_(clock) {}

Result<std::int32_t> CheckpointStore::partition_for(std::string_view unit) {
  if (partitions_ <= 0) {
    auto topics = admin_.topics(std::chrono::seconds(10));
    if (!topics.ok()) return topics.error();
    for (const auto& t : *topics) {
      if (t.name == topic_) partitions_ = t.partitions;
    }
    if (partitions_ <= 0) return Error{ErrorCode::kNotFound, "state topic " + topic_ + " does not exist"};
  }
  return static_cast<std::int32_t>(fnv1a(unit, kFnv1aShortBasis) % static_cast<std::uint64_t>(partitions_));
}

Status CheckpointStore::write(const Checkpoint& c) {
  const std::string unit = record_key(unit_key(c.topic, c.partition));
  auto partition = partition_for(unit);
  if (!partition.ok()) return partition.error();
  const std::string bytes = encode_checkpoint(c);
  const std::size_t n = std::max<std::size_t>(1, (bytes.size() + kChunkBytes - 1) / kChunkBytes);
  const std::string seq = std::to_string(c.created_ms) + "." + std::to_string(++seq_);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view part = std::string_view(bytes).substr(i * kChunkBytes, kChunkBytes);
    const std::string header = seq + ":" + std::to_string(i) + ":" + std::to_string(n);
    if (Status s = producer_.produce(topic_, unit, part, {}, {{kChunkHeader, header}}, *partition); !s.ok()) return s;
  }
  bytes_written_ += bytes.size();
  return {};
}

Result<std::map<std::string, Checkpoint>> CheckpointStore::read(const std::vector<std::string>& units,
                                                                std::chrono::milliseconds timeout) {
  std::map<std::string, Checkpoint> out;
  std::set<std::int32_t> partitions;
  std::map<std::string, std::string, std::less<>> wanted;  // record key -> unit
  for (const auto& u : units) {
    auto p = partition_for(record_key(u));
    if (!p.ok()) return p.error();
    partitions.insert(*p);
    wanted[record_key(u)] = u;
  }
  std::map<std::int32_t, std::int64_t> end;  // partition -> offset to read up to
  std::vector<kafka::TopicPartition> assignment;
  for (std::int32_t p : partitions) {
    auto w = admin_.watermarks(topic_, p, timeout);
    if (!w.ok()) return w.error();
    if (w->log_end > w->log_start) {
      end[p] = w->log_end;
      assignment.push_back({topic_, p, w->log_start});
    }
  }
  if (assignment.empty()) return out;
  reader_.assign(assignment);
  CheckpointAssembler assembler;
  const MonotonicTime deadline = clock_.monotonic() + timeout;
  while (!end.empty()) {
    if (clock_.monotonic() >= deadline) {
      reader_.assign({});
      return Error{ErrorCode::kDeadlineExceeded, "reading checkpoints from " + topic_ + " took longer than " +
                                                     std::to_string(timeout.count()) + "ms"};
    }
    for (const kafka::Message& m : reader_.poll(1000, std::chrono::milliseconds(100))) {
      if (m.error() != 0) continue;
      if (wanted.contains(m.key())) {
        if (auto chunk = m.header(kChunkHeader)) assembler.add(m.key(), *chunk, m.value());
      }
      if (auto it = end.find(m.partition()); it != end.end() && m.offset() + 1 >= it->second) end.erase(it);
    }
  }
  reader_.assign({});
  for (auto& [key, bytes] : assembler.take()) {
    auto c = decode_checkpoint(bytes);
    if (!c.ok()) {
      log::error("checkpoint unreadable; ignored", {{"key", key}, {"error", c.error().message}});
      continue;
    }
    out[wanted.find(key)->second] = std::move(c).value();
  }
  return out;
}

}  // namespace ioc::aggregator
