#include "report_store.hpp"

#include <algorithm>

namespace ioc::intake {

const char* to_string(Delivery d) {
  switch (d) {
    case Delivery::kReceived: return "received";
    case Delivery::kQueued: return "queued";
    case Delivery::kDelivered: return "delivered";
  }
  return "received";
}

std::string StoredReport::status() const { return updates.empty() ? to_string(delivery) : updates.back().status; }

bool StoredReport::closed() const {
  if (updates.empty()) return false;
  const std::string& s = updates.back().status;
  return s == "resolved" || s == "closed" || s == "rejected";
}

TimePoint StoredReport::updated_at() const { return updates.empty() ? report.received_at : updates.back().updated_at; }

StoredReport& ReportStore::slot(std::string_view id) {
  auto it = by_id_.find(std::string(id));
  if (it != by_id_.end()) return it->second;
  while (by_id_.size() >= max_ && !order_.empty()) {
    by_id_.erase(order_.front());
    order_.pop_front();
  }
  order_.emplace_back(id);
  return by_id_[std::string(id)];
}

void ReportStore::put(const Report& r, Delivery d) {
  std::lock_guard lock(mu_);
  StoredReport& s = slot(r.id);
  if (s.report.id.empty()) s.report = r;
  s.delivery = std::max(s.delivery, d);
}

void ReportStore::set_delivery(std::string_view id, Delivery d) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(std::string(id));
  if (it != by_id_.end()) it->second.delivery = std::max(it->second.delivery, d);
}

void ReportStore::apply(const ReportStatus& u) {
  std::lock_guard lock(mu_);
  auto& ups = slot(u.report_id).updates;
  auto at = std::upper_bound(ups.begin(), ups.end(), u.updated_at,
                             [](TimePoint t, const ReportStatus& x) { return t < x.updated_at; });
  ups.insert(at, u);
  if (ups.size() > StoredReport::kMaxUpdates) ups.erase(ups.begin());
}

std::optional<StoredReport> ReportStore::get(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end() || it->second.report.id.empty()) return std::nullopt;
  return it->second;
}

std::vector<StoredReport> ReportStore::query(const ReportQuery& q) const {
  auto any_of = [](const std::vector<std::string>& set, const std::string& v) {
    return set.empty() || std::find(set.begin(), set.end(), v) != set.end();
  };
  std::vector<StoredReport> out;
  std::lock_guard lock(mu_);
  for (auto it = order_.rbegin(); it != order_.rend() && out.size() < q.limit; ++it) {
    auto found = by_id_.find(*it);
    if (found == by_id_.end()) continue;
    const StoredReport& s = found->second;
    const Report& r = s.report;
    if (r.id.empty() || !any_of(q.ids, r.id) || !any_of(q.categories, r.category)) continue;
    if ((q.start && r.received_at < *q.start) || (q.end && r.received_at > *q.end)) continue;
    if (q.closed && s.closed() != *q.closed) continue;
    out.push_back(s);
  }
  // Insertion order is nearly received order; make it exact.
  std::stable_sort(out.begin(), out.end(),
                   [](const StoredReport& a, const StoredReport& b) { return a.report.received_at > b.report.received_at; });
  return out;
}

std::size_t ReportStore::size() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

// ---------------------------------------------------------------- IdempotencyCache

IdempotencyCache::Begin IdempotencyCache::begin(const std::string& id, std::string_view client,
                                                std::uint64_t content, TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end() && it->second.created + window_ < now) {
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    insert(id, Entry{std::string(client), content, now, false, {}}, now);
    return {};
  }
  const Entry& e = it->second;
  if (e.client != client) return {Begin::kTaken, {}};
  if (e.content != 0 && e.content != content) return {Begin::kMismatch, {}};
  if (!e.done) return {Begin::kInProgress, {}};
  return {Begin::kReplay, e.response};
}

void IdempotencyCache::finish(const std::string& id, RememberedResponse response) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  it->second.done = true;
  it->second.response = std::move(response);
}

void IdempotencyCache::abandon(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end() && !it->second.done) entries_.erase(it);
}

void IdempotencyCache::learn(const std::string& id, std::string_view client, std::uint64_t content,
                             RememberedResponse response, TimePoint created, TimePoint now) {
  if (created + window_ < now) return;
  std::lock_guard lock(mu_);
  if (entries_.contains(id)) return;
  insert(id, Entry{std::string(client), content, created, true, std::move(response)}, now);
}

void IdempotencyCache::insert(const std::string& id, Entry e, TimePoint now) {
  // Expired entries leave from the front; then the oldest, past the bound.
  while (!order_.empty() && (order_.size() >= max_ || order_.front().second + window_ < now)) {
    auto it = entries_.find(order_.front().first);
    if (it != entries_.end() && it->second.created == order_.front().second) entries_.erase(it);
    order_.pop_front();
  }
  order_.emplace_back(id, e.created);
  entries_[id] = std::move(e);
}

std::size_t IdempotencyCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace ioc::intake
