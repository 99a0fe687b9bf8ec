#include "kpi_ledger.hpp"

#include <cstring>

#include "ioc/core/bytes.hpp"
#include "ioc/core/time_format.hpp"

namespace ioc::alerter {

namespace {

constexpr std::uint32_t kMagic = 0x4b434f49;  // "IOCK"
constexpr std::uint32_t kVersion = 1;
constexpr Millis kDay{86'400'000};

double value_of(const WindowResult& r, std::string_view name, double fallback) {
  for (const WindowResult::Value& v : r.values) {
    if (v.name == name) return v.value;
  }
  return fallback;
}

}  // namespace

std::string local_date(TimePoint t, Millis utc_offset) { return format_rfc3339(t + utc_offset).substr(0, 10); }

void KpiLedger::set_options(Options options) {
  std::lock_guard lock(mu_);
  options_ = std::move(options);
}

bool KpiLedger::add(const WindowResult& r) {
  std::lock_guard lock(mu_);
  if (r.view != options_.view) return false;
  if (r.window_end - r.window_start != kDay) return false;
  // Only the window that is a local calendar day: it starts at local midnight.
  const TimePoint local = r.window_start + options_.utc_offset;
  if (to_epoch_ms(local) % kDay.count() != 0) return false;
  const Label* district = nullptr;
  for (const Label& l : r.group) {
    if (l.name == "district") district = &l;
  }
  if (district == nullptr || district->value.empty()) return false;
  KpiDay d;
  d.date = local_date(r.window_start, options_.utc_offset);
  d.district = district->value;
  d.window_start = r.window_start;
  d.revision = r.revision;
  d.complete = r.final;
  d.totals.count = value_of(r, "count", static_cast<double>(r.count));
  d.totals.online = value_of(r, "online", 0);
  d.totals.completed = value_of(r, "completed", 0);
  d.totals.overdue = value_of(r, "overdue", 0);
  auto key = std::make_pair(d.date, d.district);
  auto it = days_.find(key);
  if (it != days_.end()) {
    // The latest revision wins; a final result is not undone by an older one.
    if (r.revision < it->second.revision) return false;
    if (it->second == d) return true;
    it->second = std::move(d);
  } else {
    days_.emplace(std::move(key), std::move(d));
  }
  changed_ = true;
  return true;
}

std::vector<KpiDay> KpiLedger::day(std::string_view date) const {
  std::lock_guard lock(mu_);
  std::vector<KpiDay> out;
  for (auto it = days_.lower_bound(std::make_pair(std::string(date), std::string()));
       it != days_.end() && it->first.first == date; ++it) {
    out.push_back(it->second);
  }
  return out;
}

std::size_t KpiLedger::size() const {
  std::lock_guard lock(mu_);
  return days_.size();
}

void KpiLedger::prune(TimePoint now) {
  std::lock_guard lock(mu_);
  const std::size_t before = days_.size();
  std::erase_if(days_, [&](const auto& kv) { return now - (kv.second.window_start + kDay) >= options_.retention; });
  if (days_.size() != before) changed_ = true;
}

bool KpiLedger::take_changed() {
  std::lock_guard lock(mu_);
  return std::exchange(changed_, false);
}

std::string KpiLedger::encode() const {
  std::string out;
  ByteWriter w(out);
  w.u32(kMagic);
  w.u32(kVersion);
  std::lock_guard lock(mu_);
  w.u32(static_cast<std::uint32_t>(days_.size()));
  for (const auto& [key, d] : days_) {
    w.str(d.date);
    w.str(d.district);
    w.i64(to_epoch_ms(d.window_start));
    w.u64(d.revision);
    w.u8(d.complete ? 1 : 0);
    w.f64(d.totals.count);
    w.f64(d.totals.online);
    w.f64(d.totals.completed);
    w.f64(d.totals.overdue);
  }
  w.u32(crc32(out));
  return out;
}

Status KpiLedger::restore(std::string_view bytes) {
  const auto body = crc_framed_body(bytes, "KPI ledger");
  if (!body.ok()) return body.error();
  ByteReader in(*body);
  if (in.u32() != kMagic) return data_loss("not a KPI ledger");
  if (const auto v = in.u32(); v != kVersion) return data_loss("KPI ledger version " + std::to_string(v));
  std::map<std::pair<std::string, std::string>, KpiDay, std::less<>> days;
  const auto n = in.u32();
  for (std::uint32_t i = 0; i < n && in.ok(); ++i) {
    KpiDay d;
    d.date = in.str();
    d.district = in.str();
    d.window_start = from_epoch_ms(in.i64());
    d.revision = in.u64();
    d.complete = in.u8() != 0;
    d.totals.count = in.f64();
    d.totals.online = in.f64();
    d.totals.completed = in.f64();
    d.totals.overdue = in.f64();
    days.emplace(std::make_pair(d.date, d.district), std::move(d));
  }
  if (!in.ok()) return data_loss("KPI ledger truncated");
  std::lock_guard lock(mu_);
  days_ = std::move(days);
  changed_ = false;
  return {};
}

}  // namespace ioc::alerter
