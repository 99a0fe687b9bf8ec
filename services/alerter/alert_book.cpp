#include "alert_book.hpp"

#include <algorithm>

namespace ioc::alerter {

namespace {

bool ended(const AlertEvent& e) {
  return e.state == AlertEvent::State::kResolved || e.state == AlertEvent::State::kInactive;
}

}  // namespace

bool newer(const AlertEvent& a, const AlertEvent& b) {
  if (a.sent_at != b.sent_at) return a.sent_at > b.sent_at;
  return a.revision > b.revision;
}

const char* to_string(CapMsgType t) {
  switch (t) {
    case CapMsgType::kAlert: return "Alert";
    case CapMsgType::kUpdate: return "Update";
    case CapMsgType::kCancel: return "Cancel";
  }
  return "Alert";
}

bool further(const AlertEvent& a, const AlertEvent& b) {
  const bool down = a.comparator == "<" || a.comparator == "<=";
  return down ? a.value < b.value : a.value > b.value;
}

const CapMessage* AlertBook::Episode::cap_message(std::uint32_t n) const {
  for (const CapMessage& m : cap) {
    if (m.n == n) return &m;
  }
  return nullptr;
}

bool AlertBook::record(const AlertEvent& e) {
  auto& ep = episodes_[e.id];
  if (ep.latest.fingerprint.empty() || newer(e, ep.latest)) ep.latest = e;
  if (e.state == AlertEvent::State::kFiring) {
    if (!ep.first_firing || newer(*ep.first_firing, e)) ep.first_firing = e;
    if (!ep.peak || further(e, *ep.peak)) ep.peak = e;
  }
  auto it = latest_.find(e.fingerprint);
  if (it == latest_.end()) {
    latest_.emplace(e.fingerprint, e);
    return true;
  }
  if (!newer(e, it->second)) return false;
  it->second = e;
  return true;
}

void AlertBook::add_cap(const CapMessage& m) {
  auto it = episodes_.find(m.event.id);
  if (it == episodes_.end()) return;
  std::vector<CapMessage>& cap = it->second.cap;
  if (it->second.cap_message(m.n) != nullptr) return;
  cap.push_back(m);
  std::sort(cap.begin(), cap.end(), [](const CapMessage& a, const CapMessage& b) { return a.n < b.n; });
  // The first message is what every later one references first; the rest
  // keep the latest.
  if (cap.size() > kMaxCapMessages) cap.erase(cap.begin() + 1);
}

const AlertEvent* AlertBook::latest(std::string_view fingerprint) const {
  auto it = latest_.find(fingerprint);
  return it == latest_.end() ? nullptr : &it->second;
}

const AlertBook::Episode* AlertBook::episode(std::string_view id) const {
  auto it = episodes_.find(id);
  return it == episodes_.end() ? nullptr : &it->second;
}

std::vector<AlertEvent> AlertBook::active() const {
  std::vector<AlertEvent> out;
  for (const auto& [fp, e] : latest_) {
    if (e.state == AlertEvent::State::kFiring || e.state == AlertEvent::State::kPending) out.push_back(e);
  }
  return out;
}

std::vector<AlertEvent> AlertBook::notifiable(TimePoint now, Millis retention) const {
  std::vector<AlertEvent> out;
  for (const auto& [fp, e] : latest_) {
    if (e.state == AlertEvent::State::kFiring ||
        (e.state == AlertEvent::State::kResolved && now - e.ends_at < retention)) {
      out.push_back(e);
    }
  }
  return out;
}

void AlertBook::prune(TimePoint now, Millis retention) {
  std::erase_if(latest_, [&](const auto& kv) { return ended(kv.second) && now - kv.second.ends_at >= retention; });
  std::erase_if(episodes_, [&](const auto& kv) {
    return ended(kv.second.latest) && now - kv.second.latest.ends_at >= retention;
  });
}

std::vector<AlertEvent> AlertBook::events() const {
  std::vector<AlertEvent> out;
  for (const auto& [id, ep] : episodes_) {
    if (ep.first_firing && !(*ep.first_firing == ep.latest)) out.push_back(*ep.first_firing);
  }
  for (const auto& [id, ep] : episodes_) out.push_back(ep.latest);
  for (const auto& [fp, e] : latest_) {
    if (!episodes_.contains(e.id)) out.push_back(e);
  }
  return out;
}

std::vector<CapMessage> AlertBook::cap_messages() const {
  std::vector<CapMessage> out;
  for (const auto& [id, ep] : episodes_) out.insert(out.end(), ep.cap.begin(), ep.cap.end());
  return out;
}

}  // namespace ioc::alerter
