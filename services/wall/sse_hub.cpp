#include "sse_hub.hpp"

#include <algorithm>

namespace ioc::wall {

SseHub::SseHub(std::string epoch, const SseOptions& options)
    : options_(options), log_(std::move(epoch), options.replay_events, options.replay_bytes) {}

SseHub::Attach SseHub::attach(std::shared_ptr<EventSink> sink, std::string_view last_event_id, std::int64_t now_ms,
                              std::string_view address) {
  std::lock_guard lock(mu_);
  Attach a;
  if (clients_.size() >= options_.max_clients || from(address) >= options_.max_clients_per_address) {
    a.outcome = Attached::kTooMany;
    return a;
  }
  const EventLog::Resume r = log_.resume(last_event_id, now_ms);
  a.snapshot = r.snapshot;
  a.events = r.frames.size();
  std::string first = "retry: " + std::to_string(options_.retry.count()) + "\n\n";
  for (const std::string& f : r.frames) first += f;
  if (!sink->send(std::move(first))) {
    a.outcome = Attached::kGone;
    return a;
  }
  clients_.push_back(Client{std::move(sink), std::string(address)});
  return a;
}

void SseHub::detach(const EventSink* sink) {
  std::lock_guard lock(mu_);
  std::erase_if(clients_, [&](const Client& c) { return c.sink.get() == sink; });
}

std::size_t SseHub::from(std::string_view address) const {
  return static_cast<std::size_t>(
      std::count_if(clients_.begin(), clients_.end(), [&](const Client& c) { return c.address == address; }));
}

std::size_t SseHub::clients_from(std::string_view address) const {
  std::lock_guard lock(mu_);
  return from(address);
}

std::size_t SseHub::broadcast(const std::string& bytes) {
  const std::size_t before = clients_.size();
  std::erase_if(clients_, [&](const Client& c) {
    if (c.sink->send(bytes)) return false;
    c.sink->close();
    return true;
  });
  return before - clients_.size();
}

SseHub::Published SseHub::publish(const std::vector<std::pair<std::string, std::string>>& sections,
                                  std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Published p;
  std::string frames;
  for (const auto& [name, data] : sections) {
    if (const EventLog::Event* e = log_.publish(name, data, now_ms)) {
      ++p.events;
      frames += e->frame;
    }
  }
  if (!frames.empty()) p.dropped = broadcast(frames);
  return p;
}

std::size_t SseHub::keep_alive() {
  std::lock_guard lock(mu_);
  return broadcast(": keep-alive\n\n");
}

void SseHub::close_all() {
  std::vector<Client> all;
  {
    std::lock_guard lock(mu_);
    all.swap(clients_);
  }
  for (auto& c : all) c.sink->close();
}

std::size_t SseHub::clients() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

std::string SseHub::snapshot_json(std::int64_t now_ms) const {
  std::lock_guard lock(mu_);
  return log_.snapshot_json(now_ms);
}

std::string SseHub::last_event_id() const {
  std::lock_guard lock(mu_);
  return log_.last_id();
}

}  // namespace ioc::wall
