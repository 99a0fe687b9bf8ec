#include "episode_history.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "ioc/core/bytes.hpp"

namespace ioc::alerter {

namespace {

constexpr std::uint32_t kMagic = 0x48434f49;  // "IOCH"
constexpr std::uint32_t kVersion = 1;

void put_labels(ByteWriter<std::string>& w, const std::vector<Label>& ls) {
  w.u32(static_cast<std::uint32_t>(ls.size()));
  for (const Label& l : ls) {
    w.str(l.name);
    w.str(l.value);
  }
}

std::vector<Label> get_labels(ByteReader& in) {
  std::vector<Label> out;
  const auto n = in.u32();
  for (std::uint32_t i = 0; i < n && in.ok(); ++i) {
    Label l;
    l.name = in.str();
    l.value = in.str();
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

void EpisodeHistory::set_limits(Limits limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
}

void EpisodeHistory::record(const AlertBook::Episode& ep) {
  if (ep.cap.empty()) return;
  EpisodeRecord r;
  const AlertEvent& first = ep.first_firing ? *ep.first_firing : ep.cap.front().event;
  r.id = ep.latest.id;
  r.fingerprint = ep.latest.fingerprint;
  r.rule = ep.latest.rule;
  r.severity = ep.latest.severity;
  r.labels = ep.latest.labels;
  r.started = first.sent_at;
  if (ep.latest.state == AlertEvent::State::kResolved || ep.latest.state == AlertEvent::State::kInactive) {
    r.ended = ep.latest.ends_at;
  }
  const AlertEvent& peak = ep.peak ? *ep.peak : first;
  r.peak_value = peak.value;
  r.peak_summary = peak.summary;
  r.last_value = ep.latest.value;
  r.last_summary = ep.latest.summary;
  for (const CapMessage& m : ep.cap) r.cap_messages.push_back(m.n);
  std::lock_guard lock(mu_);
  auto [it, added] = episodes_.try_emplace(r.id, r);
  if (!added) {
    if (it->second == r) return;
    it->second = std::move(r);
  }
  changed_ = true;
}

std::vector<EpisodeRecord> EpisodeHistory::between(TimePoint from, TimePoint to) const {
  std::vector<EpisodeRecord> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, r] : episodes_) {
      if (r.started < to && (!r.ended || *r.ended >= from)) out.push_back(r);
    }
  }
  std::sort(out.begin(), out.end(), [](const EpisodeRecord& a, const EpisodeRecord& b) {
    return a.started != b.started ? a.started < b.started : a.id < b.id;
  });
  return out;
}

std::optional<EpisodeRecord> EpisodeHistory::find(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = episodes_.find(id);
  if (it == episodes_.end()) return std::nullopt;
  return it->second;
}

std::size_t EpisodeHistory::size() const {
  std::lock_guard lock(mu_);
  return episodes_.size();
}

void EpisodeHistory::prune(TimePoint now) {
  std::lock_guard lock(mu_);
  const std::size_t before = episodes_.size();
  std::erase_if(episodes_, [&](const auto& kv) { return kv.second.ended && now - *kv.second.ended >= limits_.retention; });
  if (episodes_.size() > limits_.max_episodes) {
    // Ended episodes, oldest end first, make room; ongoing ones stay.
    std::vector<std::pair<TimePoint, std::string>> ended;
    for (const auto& [id, r] : episodes_) {
      if (r.ended) ended.emplace_back(*r.ended, id);
    }
    std::sort(ended.begin(), ended.end());
    for (std::size_t i = 0; i < ended.size() && episodes_.size() > limits_.max_episodes; ++i) {
      episodes_.erase(ended[i].second);
    }
  }
  if (episodes_.size() != before) changed_ = true;
}

bool EpisodeHistory::take_changed() {
  std::lock_guard lock(mu_);
  return std::exchange(changed_, false);
}

std::string EpisodeHistory::encode() const {
  std::string out;
  ByteWriter w(out);
  w.u32(kMagic);
  w.u32(kVersion);
  std::lock_guard lock(mu_);
  w.u32(static_cast<std::uint32_t>(episodes_.size()));
  for (const auto& [id, r] : episodes_) {
    w.str(r.id);
    w.str(r.fingerprint);
    w.str(r.rule);
    w.str(r.severity);
    put_labels(w, r.labels);
    w.i64(to_epoch_ms(r.started));
    w.u8(r.ended ? 1 : 0);
    w.i64(r.ended ? to_epoch_ms(*r.ended) : 0);
    w.f64(r.peak_value);
    w.str(r.peak_summary);
    w.f64(r.last_value);
    w.str(r.last_summary);
    w.u32(static_cast<std::uint32_t>(r.cap_messages.size()));
    for (std::uint32_t n : r.cap_messages) w.u32(n);
  }
  w.u32(crc32(out));
  return out;
}

Status EpisodeHistory::restore(std::string_view bytes) {
  const auto body = crc_framed_body(bytes, "episode history");
  if (!body.ok()) return body.error();
  ByteReader in(*body);
  if (in.u32() != kMagic) return data_loss("not an episode history");
  if (const auto v = in.u32(); v != kVersion) return data_loss("episode history version " + std::to_string(v));
  std::map<std::string, EpisodeRecord, std::less<>> episodes;
  const auto n = in.u32();
  for (std::uint32_t i = 0; i < n && in.ok(); ++i) {
    EpisodeRecord r;
    r.id = in.str();
    r.fingerprint = in.str();
    r.rule = in.str();
    r.severity = in.str();
    r.labels = get_labels(in);
    r.started = from_epoch_ms(in.i64());
    const bool ended = in.u8() != 0;
    const auto ended_ms = in.i64();
    if (ended) r.ended = from_epoch_ms(ended_ms);
    r.peak_value = in.f64();
    r.peak_summary = in.str();
    r.last_value = in.f64();
    r.last_summary = in.str();
    const auto messages = in.u32();
    for (std::uint32_t k = 0; k < messages && in.ok(); ++k) r.cap_messages.push_back(in.u32());
    episodes.emplace(r.id, std::move(r));
  }
  if (!in.ok()) return data_loss("episode history truncated");
  std::lock_guard lock(mu_);
  episodes_ = std::move(episodes);
  changed_ = false;
  return {};
}

}  // namespace ioc::alerter
