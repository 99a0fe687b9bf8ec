// No heap allocation per event on the hot path: once keys are interned,
// windows are open and evidence reservoirs are full, handling records of all
// three streams with the shipped views allocates nothing. The global
// operator new is replaced in this binary only, to count.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "pipeline.hpp"
#include "test/pipeline_fixture.hpp"

namespace {

std::atomic<bool> g_counting{false};
std::string* volatile g_escape = nullptr;
std::atomic<std::uint64_t> g_allocations{0};

void* allocate(std::size_t n, std::size_t align = 0) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p = nullptr;
  if (align > alignof(std::max_align_t)) {
    p = std::aligned_alloc(align, (n + align - 1) / align * align);
  } else {
    p = std::malloc(n);
  }
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace ioc::aggregator {
namespace {

constexpr std::int64_t kBase = 1719820800000;  // 2024-07-01T08:00:00Z
const char* const kDistricts[] = {"380", "381", "382"};
const char* const kCategories[] = {"flood", "fire", "traffic"};

struct Encoded {
  Stream stream;
  std::string key;
  std::string value;
  std::int64_t timestamp_ms;
};

/// Distinct records of every stream, all within one minute (so every window
/// they belong to is open from the first of them on).
std::vector<Encoded> record_pool() {
  std::vector<Encoded> pool;
  int n = 0;
  for (const char* d : kDistricts) {
    for (const char* c : kCategories) {
      for (int i = 0; i < 4; ++i, ++n) {
        const std::int64_t t = kBase + 1'000 * n;
        Report r;
        // Longer than any small-string buffer: copying one would allocate.
        r.id = "report-0000000000000000000000000000-" + std::to_string(n);
        r.district = d;
        r.category = c;
        r.description = "water over the road near the market, about 40 cm deep";
        r.source = "api";
        r.occurred_at = r.received_at = from_epoch_ms(t);
        pool.push_back({Stream::kReports, d, codec::encode(r), t});

        ServiceTransaction tx;
        tx.id = "application-000000000000000000000000-" + std::to_string(n);
        tx.district = d;
        tx.service_code = "1.001234.000.00.00.H56";
        tx.channel = i % 2 == 0 ? Channel::kOnline : Channel::kCounter;
        tx.status = static_cast<TransactionStatus>(1 + i % 3);
        tx.processing_ms = 1'000 * (i + 1);
        tx.occurred_at = tx.received_at = from_epoch_ms(t);
        pool.push_back({Stream::kTransactions, d, codec::encode(tx), t});

        Telemetry m;
        m.source_id = std::string("station-") + d + "-" + std::to_string(i);
        m.district = d;
        m.kind = i % 2 == 0 ? TelemetryKind::kRainfall : TelemetryKind::kBtsHeartbeat;
        m.value = 1.5 * i;
        m.unit = "mm";
        m.occurred_at = m.received_at = from_epoch_ms(t);
        pool.push_back({Stream::kTelemetry, d, codec::encode(m), t});
      }
    }
  }
  return pool;
}

TEST(PipelineAllocationTest, HandlingRecordsOfExistingWindowsAllocatesNothing) {
  // The pool's reports come again and again: telling duplicates is off here
  // (a new report id's cost is measured below).
  testing::Harness h(views::Catalog::load(std::string(IOC_DEFAULT_CONFIG_DIR) + "/views.yaml").views(),
                     {{Stream::kReports, 0}, {Stream::kTransactions, 0}, {Stream::kTelemetry, 0}},
                     std::chrono::milliseconds(0));
  const std::vector<Encoded> pool = record_pool();
  std::array<std::int64_t, kStreams> offsets{};
  auto feed = [&](const Encoded& e) {
    const auto s = static_cast<std::size_t>(e.stream);
    h.pipeline().handle(kafka::RecordView{.topic = topic_of(e.stream),
                                          .partition = 0,
                                          .offset = offsets[s]++,
                                          .timestamp_ms = e.timestamp_ms,
                                          .key = e.key,
                                          .value = e.value});
  };
  h.pipeline().set_now(kBase + 60'000);
  // Warm-up: every key and window exists, every evidence reservoir is full
  // (5 ids per window slice), decode buffers have grown, and every quantile
  // sketch has switched from its compact log to dense buckets (once per
  // window slice, at the latest after 480 values: a per-window cost).
  for (int round = 0; round < 100; ++round) {
    for (const Encoded& e : pool) feed(e);
  }
  h.advance(kBase + 60'000);
  for (const Encoded& e : pool) feed(e);
  h.pipeline().flush_counts();
  const double accepted_before = h.metrics().accepted.Value();
  const std::size_t evidence_before = h.unit(Stream::kReports, 0).samples.size();

  constexpr int kRecords = 50'000;
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < kRecords; ++i) feed(pool[static_cast<std::size_t>(i) % pool.size()]);
  h.pipeline().flush_counts();
  g_counting = false;
  const std::uint64_t allocations = g_allocations.load();

  std::printf("[ measured ] %d records (3 streams, %zu distinct): %llu allocations (%.4f per record)\n", kRecords,
              pool.size(), static_cast<unsigned long long>(allocations),
              static_cast<double>(allocations) / kRecords);
  // The records went where they should: all accepted, nothing set aside.
  EXPECT_EQ(h.metrics().accepted.Value() - accepted_before, kRecords);
  EXPECT_EQ(h.metrics().invalid.Value(), 0);
  EXPECT_TRUE(h.sink().dead_letters().empty());
  EXPECT_EQ(h.unit(Stream::kReports, 0).samples.size(), evidence_before);  // reservoirs were full
  EXPECT_GT(evidence_before, 0u);
  EXPECT_EQ(allocations, 0u);
}

// What telling duplicates costs: a new report id is remembered in 16 bytes
// (a share of a deque block and of the set's growth); a duplicate
// allocates nothing.
TEST(PipelineAllocationTest, ANewReportIdCostsAShareOfABlock) {
  testing::Harness h(views::Catalog::load(std::string(IOC_DEFAULT_CONFIG_DIR) + "/views.yaml").views(),
                     {{Stream::kReports, 0}});
  std::vector<std::string> records;
  constexpr int kRecords = 20'000;
  for (int i = 0; i < kRecords; ++i) {
    Report r;
    r.id = "report-0000000000000000000000000000-" + std::to_string(i);
    r.district = kDistricts[i % 3];
    r.category = kCategories[i % 3];
    r.occurred_at = r.received_at = from_epoch_ms(kBase + i);
    records.push_back(codec::encode(r));
  }
  std::int64_t offset = 0;
  auto feed = [&](const std::string& value) {
    h.pipeline().handle(kafka::RecordView{
        .topic = topic_of(Stream::kReports), .partition = 0, .offset = offset++, .timestamp_ms = kBase, .key = "380", .value = value});
  };
  h.pipeline().set_now(kBase + 60'000);
  for (int i = 0; i < 100; ++i) feed(records[static_cast<std::size_t>(i)]);  // every window exists

  g_allocations = 0;
  g_counting = true;
  for (int i = 100; i < kRecords; ++i) feed(records[static_cast<std::size_t>(i)]);
  g_counting = false;
  const std::uint64_t fresh = g_allocations.exchange(0);
  g_counting = true;
  for (int i = 100; i < kRecords; ++i) feed(records[static_cast<std::size_t>(i)]);
  g_counting = false;
  const std::uint64_t again = g_allocations.load();
  h.pipeline().flush_counts();

  const double per_id = static_cast<double>(fresh) / (kRecords - 100);
  const SeenIds& seen = h.unit(Stream::kReports, 0).seen;
  std::printf("[ measured ] %d new report ids: %.3f allocations and %.0f bytes each; duplicates: %llu allocations\n",
              kRecords - 100, per_id, static_cast<double>(seen.bytes()) / static_cast<double>(seen.size()),
              static_cast<unsigned long long>(again));
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(h.metrics().duplicate.Value(), kRecords - 100);
  EXPECT_LT(per_id, 0.1);
  EXPECT_EQ(again, 0u);
}

TEST(PipelineAllocationTest, TheCounterSeesAllocations) {
  // The override must be the one in use, or the test above proves nothing.
  g_allocations = 0;
  g_counting = true;
  g_escape = new std::string(100, 'x');
  g_counting = false;
  delete g_escape;
  EXPECT_GE(g_allocations.load(), 1u);
}

}  // namespace
}  // namespace ioc::aggregator
