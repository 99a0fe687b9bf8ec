#include "event_log.hpp"

#include <charconv>

namespace ioc::wall {

namespace {

std::string frame(std::string_view id, std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(id.size() + event.size() + data.size() + 24);
  out += "id: ";
  out += id;
  out += "\nevent: ";
  out += event;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

std::string envelope(std::int64_t server_time_ms, std::string_view data) {
  std::string out = "{\"server_time\":" + std::to_string(server_time_ms) + ",\"data\":";
  out += data;
  out += '}';
  return out;
}

}  // namespace

EventLog::EventLog(std::string epoch, std::size_t max_events, std::size_t max_bytes)
    : epoch_(std::move(epoch)), max_events_(max_events == 0 ? 1 : max_events), max_bytes_(max_bytes) {}

std::string EventLog::id(std::uint64_t seq) const { return epoch_ + "-" + std::to_string(seq); }

std::optional<std::uint64_t> EventLog::parse_id(std::string_view id) const {
  if (id.size() <= epoch_.size() + 1 || id.substr(0, epoch_.size()) != epoch_ || id[epoch_.size()] != '-') {
    return std::nullopt;
  }
  const std::string_view n = id.substr(epoch_.size() + 1);
  std::uint64_t seq = 0;
  const auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), seq);
  if (ec != std::errc() || p != n.data() + n.size()) return std::nullopt;
  return seq;
}

const EventLog::Event* EventLog::publish(std::string_view section, std::string data, std::int64_t server_time_ms) {
  auto it = sections_.find(section);
  if (it != sections_.end() && it->second == data) return nullptr;
  ++seq_;
  Event e{seq_, std::string(section), frame(id(seq_), section, envelope(server_time_ms, data))};
  if (it == sections_.end()) {
    sections_.emplace(std::string(section), std::move(data));
  } else {
    it->second = std::move(data);
  }
  bytes_ += e.frame.size();
  events_.push_back(std::move(e));
  // Keep at least the newest event, whatever its size.
  while (events_.size() > 1 && (events_.size() > max_events_ || bytes_ > max_bytes_)) {
    bytes_ -= events_.front().frame.size();
    events_.pop_front();
  }
  return &events_.back();
}

EventLog::Resume EventLog::resume(std::string_view last_event_id, std::int64_t server_time_ms) const {
  Resume r;
  const std::optional<std::uint64_t> seen = last_event_id.empty() ? std::nullopt : parse_id(last_event_id);
  if (seen && *seen == seq_) return r;  // up to date
  // Replayable when every event after `seen` is still kept.
  if (seen && *seen < seq_ && !events_.empty() && events_.front().seq <= *seen + 1) {
    for (const Event& e : events_) {
      if (e.seq > *seen) r.frames.push_back(e.frame);
    }
    return r;
  }
  r.snapshot = true;
  r.frames.push_back(snapshot_frame(server_time_ms));
  return r;
}

std::string EventLog::snapshot_json(std::int64_t server_time_ms) const {
  std::string out = "{\"last_event_id\":\"" + last_id() + "\",\"server_time\":" + std::to_string(server_time_ms) +
                    ",\"sections\":{";
  bool first = true;
  for (const auto& [name, data] : sections_) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += name;  // section names are plain identifiers
    out += "\":";
    out += data;
  }
  out += "}}";
  return out;
}

std::string EventLog::snapshot_frame(std::int64_t server_time_ms) const {
  return frame(last_id(), "snapshot", snapshot_json(server_time_ms));
}

}  // namespace ioc::wall
