// ioc::rules::Evaluator throughput: 1,000 rules over 10,000 series, against
// a no-op evaluation loop over the same alerts measured in the same run.
//
// Workload: one view grouped by [district, source_id], 100 districts x 100
// stations = 10,000 series. Each rule matches one district (10 rules per
// district), so every series feeds 10 rules. The rules mix the condition
// kinds: 600 thresholds (with hysteresis) and 200 ratios with a minimum
// volume, 100 absences (one alert per rule and station: 90,000 alerts),
// and 100 members rules (stations of the district silent: one alert per
// rule, judging 100 stations). Every series has a current window (an early
// revision); a fifth of the threshold alerts fire. A "rule evaluation" is
// one rule judging one alert: a full pass is 90,100 of them.
//
//   BM_Baseline_NoopEvaluationLoop  the same 90,100 (rule, alert) pairs
//                                   visited through an opaque call that
//                                   judges nothing
//   BM_EvaluateAll                  Evaluator::evaluate_all(): every alert
//   BM_AddResult                    Evaluator::add() of one early revision
//                                   (10 matching rules each)
//   BM_AddAndEvaluateTouched        add() + evaluate_touched(): the path of
//                                   one window result to its verdicts

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "ioc/rules/evaluator.hpp"
#include "ioc/rules/parse.hpp"

namespace {

using namespace ioc;
using namespace ioc::rules;

constexpr int kDistricts = 100;
constexpr int kStations = 100;
constexpr int kRulesPerDistrict = 10;
constexpr std::int64_t kT0 = 1'700'000'000'000;

views::Catalog views() {
  return views::Catalog::parse(R"y(
views:
  station_1m:
    source: telemetry
    group_by: [district, source_id]
    window: {tumbling: 1m}
    aggregations: [count, {name: ok, count_where: {kind: bts_heartbeat}}, {name: level, max: value}]
)y",
                               "bench-views.yaml");
}

std::string rules_yaml() {
  std::string y = "rules:\n";
  char buf[1024];
  for (int d = 0; d < kDistricts; ++d) {
    for (int k = 0; k < kRulesPerDistrict; ++k) {
      const char* cond = nullptr;
      switch (k) {
        case 0: case 1: case 2: case 3: case 4: case 5:
          cond = "    group_by: [district, source_id]\n    value: level\n    fire: \">= 80\"\n    clear: \"< 70\"\n";
          break;
        case 6: case 7:
          cond = "    group_by: [district, source_id]\n    ratio: [ok, count]\n    require: {count: \">= 10\"}\n"
                 "    fire: \"< 0.5\"\n    clear: \">= 0.6\"\n";
          break;
        case 8:
          cond = "    group_by: [district, source_id]\n    absent_for: 5m\n";
          break;
        default:
          cond = "    group_by: [district]\n    members: {label: source_id, absent_for: 5m}\n    fire: \">= 5\"\n";
          break;
      }
      std::snprintf(buf, sizeof buf,
                    "  - name: R%d_%d\n    view: station_1m\n    match: {district: d%d}\n%s"
                    "    category: infrastructure\n    annotations: {summary: \"{{value}} at {{district}}\"}\n"
                    "    scenario: x\n",
                    d, k, d, cond);
      y += buf;
    }
  }
  return y;
}

WindowResult result(int d, int s, std::uint32_t revision, double level) {
  WindowResult r;
  r.view = "station_1m";
  r.group = {{"district", "d" + std::to_string(d)}, {"source_id", "s" + std::to_string(s)}};
  r.window_start = from_epoch_ms(kT0);
  r.window_end = from_epoch_ms(kT0 + 60'000);
  r.revision = revision;
  r.count = 20;
  r.values = {{"count", 20}, {"ok", 15}, {"level", level}};
  r.sample_ids = {"id-1", "id-2"};
  r.watermark = from_epoch_ms(kT0 + 10'000);
  return r;
}

struct Fixture {
  views::Catalog catalog = views();
  Evaluator evaluator;
  Fixture() : evaluator(load(catalog)) {
    for (int d = 0; d < kDistricts; ++d) {
      for (int s = 0; s < kStations; ++s) {
        (void)evaluator.add(result(d, s, 1, s % 5 == 0 ? 90 : 50), from_epoch_ms(kT0 + 10'000));
      }
    }
    std::vector<AlertEvent> out;
    evaluator.evaluate_all(from_epoch_ms(kT0 + 10'000), out);  // the firing ones fire once, here
  }
  static Evaluator load(const views::Catalog& c) {
    Parsed p = parse_rules(rules_yaml(), "bench-rules.yaml", &c);
    if (!p.ok()) {
      std::fprintf(stderr, "%s\n", p.errors[0].to_string().c_str());
      std::abort();
    }
    return Evaluator(std::move(p.rules), &c, nullptr);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// The same alerts as the evaluator holds, visited with an opaque call that
// judges nothing: what looping over them costs by itself.
struct NoopAlert {
  std::uint32_t rule;
  std::uint32_t series;
  double value;
};
[[gnu::noinline]] Verdict noop_judge(const NoopAlert& a) {
  benchmark::DoNotOptimize(&a);
  return Verdict::kHold;
}

void BM_Baseline_NoopEvaluationLoop(benchmark::State& state) {
  const std::size_t alerts = fixture().evaluator.stats().alerts;
  std::vector<NoopAlert> v(alerts);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = {static_cast<std::uint32_t>(i / kStations),
                                                     static_cast<std::uint32_t>(i), static_cast<double>(i)};
  for (auto _ : state) {
    int fire = 0;
    for (const NoopAlert& a : v) fire += noop_judge(a) == Verdict::kFire;
    benchmark::DoNotOptimize(fire);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * v.size()));
}

void BM_EvaluateAll(benchmark::State& state) {
  Fixture& f = fixture();
  std::vector<AlertEvent> out;
  std::int64_t t = kT0 + 10'000;
  const std::uint64_t before = f.evaluator.stats().evaluations;
  for (auto _ : state) {
    out.clear();
    f.evaluator.evaluate_all(from_epoch_ms(++t), out);  // within the window and its silences: no transitions
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(f.evaluator.stats().evaluations - before));
  state.counters["alerts"] = static_cast<double>(f.evaluator.stats().alerts);
  state.counters["series"] = static_cast<double>(f.evaluator.stats().series);
  state.counters["events"] = static_cast<double>(out.size());
}

void BM_AddResult(benchmark::State& state) {
  Fixture& f = fixture();
  std::vector<WindowResult> results;
  results.reserve(1000);
  for (int i = 0; i < 1000; ++i) results.push_back(result(i % kDistricts, (i * 7) % kStations, 0, 60));
  std::uint32_t rev = 1'000;
  std::size_t i = 0;
  for (auto _ : state) {
    WindowResult& r = results[i++ % results.size()];
    r.revision = ++rev;
    benchmark::DoNotOptimize(f.evaluator.add(r, from_epoch_ms(kT0 + 20'000)));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_AddAndEvaluateTouched(benchmark::State& state) {
  Fixture& f = fixture();
  std::vector<WindowResult> results;
  results.reserve(1000);
  for (int i = 0; i < 1000; ++i) results.push_back(result(i % kDistricts, (i * 13) % kStations, 0, 60));
  std::vector<AlertEvent> out;
  std::uint32_t rev = 1'000'000;
  std::size_t i = 0;
  for (auto _ : state) {
    WindowResult& r = results[i++ % results.size()];
    r.revision = ++rev;
    (void)f.evaluator.add(r, from_epoch_ms(kT0 + 20'000));
    out.clear();
    f.evaluator.evaluate_touched(from_epoch_ms(kT0 + 20'000), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Baseline_NoopEvaluationLoop)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EvaluateAll)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AddResult);
BENCHMARK(BM_AddAndEvaluateTouched);

// Prints the rule evaluations per second and the ratio to the no-op loop.
class Summary : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      const auto it = r.counters.find("items_per_second");
      if (it == r.counters.end()) continue;
      rates_[r.benchmark_name()] = it->second.value;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const double noop = rates_["BM_Baseline_NoopEvaluationLoop"];
    const double eval = rates_["BM_EvaluateAll"];
    const auto st = fixture().evaluator.stats();
    std::printf("\n=== rules summary (one core; %zu rules, 10,000 series, %zu alerts) ===\n",
                fixture().evaluator.rules().rules.size(), st.alerts);
    std::printf("no-op evaluation loop            %8.2f M alerts/s\n", noop / 1e6);
    std::printf("evaluate_all (rule evaluations)  %8.2f M evaluations/s  %6.1fx the no-op loop's cost per alert\n",
                eval / 1e6, noop / eval);
    std::printf("  a full pass over every alert:    %.2f ms\n", static_cast<double>(st.alerts) / eval * 1e3);
    std::printf("add() one result (10 rules)      %8.2f M results/s\n", rates_["BM_AddResult"] / 1e6);
    std::printf("add() + evaluate_touched()       %8.2f M results/s\n", rates_["BM_AddAndEvaluateTouched"] / 1e6);
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Summary reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
