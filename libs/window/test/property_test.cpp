// Property tests: the engine against a brute-force oracle that recomputes every
// window from the full list of events, for every window kind with every
// aggregation in one view, on random streams (fixed seeds) with out-of-order and
// late events, idle partitions, revokes and processing-time jumps.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <map>
#include <set>

#include "ioc/window/engine.hpp"
#include "ioc/window/watermark.hpp"
#include "script.hpp"

namespace ioc::window {
namespace {

using testing::Emitted;
using testing::Recorded;
using testing::Step;

constexpr std::uint32_t kSamples = 3;
const std::vector<double> kQuantiles{0.5, 0.9, 0.95, 0.99};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b) < 0) --q;
  return q;
}

ViewSpec random_spec(std::mt19937_64& rng, WindowKind kind, EmitMode mode) {
  auto uni = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
  ViewSpec s;
  s.name = "v";
  s.window.kind = kind;
  switch (kind) {
    case WindowKind::kTumbling: s.window.size = s.window.advance = Millis(uni(1, 40)); break;
    case WindowKind::kHopping: {
      const auto adv = uni(1, 12);
      s.window.advance = Millis(adv);
      s.window.size = Millis(uni(0, 2) == 0 ? adv * uni(1, 6) : uni(adv, 50));
      break;
    }
    case WindowKind::kSliding: s.window.size = Millis(uni(0, 30)); break;
    case WindowKind::kSession: s.window.gap = Millis(uni(1, 25)); break;
  }
  if (kind == WindowKind::kSliding && s.window.size.count() == 0) s.window.size = Millis(1);
  s.aggregations = {AggregationSpec::count("n"),           AggregationSpec::sum("sum"),
                    AggregationSpec::min("min"),           AggregationSpec::max("max"),
                    AggregationSpec::mean("mean"),         AggregationSpec::last("last"),
                    AggregationSpec::count_where("w", 1, 1), AggregationSpec::distinct("d"),
                    AggregationSpec::quantile("q", kQuantiles)};
  s.allowed_lateness = Millis(uni(0, 1) == 0 ? 0 : uni(0, 30));
  s.out_of_orderness = Millis(uni(0, 20));
  s.idle_timeout = Millis(uni(0, 5) == 0 ? 0 : uni(5, 60));
  s.emit.mode = mode;
  s.emit.min_interval = Millis(uni(0, 20));
  s.sample_refs = kSamples;
  return s;
}

// ------------------------------------------------------------------ the oracle

struct OEvent {
  Event e;
  std::size_t step;  // index in the script
};

struct OWindow {
  GroupKey key;
  std::int64_t start;
  std::int64_t end;
};

class Oracle {
 public:
  Oracle(const ViewSpec& spec, const std::vector<Step>& steps) : spec_(spec), steps_(steps) {}

  // Replays the watermark rules and the lateness rule.
  void simulate() {
    struct P {
      std::int64_t max_ev = kNoWatermark;
      std::int64_t last_now = 0;
    };
    std::map<std::int32_t, P> parts;
    std::int64_t wm = kNoWatermark;
    std::int64_t now = 0;
    bool known = false;
    std::int64_t last_any = 0;
    const std::int64_t ooo = spec_.out_of_orderness.count();
    const std::int64_t idle = spec_.idle_timeout.count();
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      const Step& s = steps_[i];
      switch (s.kind) {
        case Step::kAssign: {
          auto [it, ins] = parts.try_emplace(s.partition, P{kNoWatermark, now});
          it->second.last_now = now;
          break;
        }
        case Step::kRevoke: parts.erase(s.partition); break;
        case Step::kAdd: {
          auto [it, ins] = parts.try_emplace(s.event.partition, P{kNoWatermark, now});
          it->second.last_now = now;
          last_any = now;
          if (s.event.time_ms > it->second.max_ev) {
            // Event time moves the watermark at once (min over active partitions).
            it->second.max_ev = s.event.time_ms;
            bool any_active = false;
            std::int64_t min_active = INT64_MAX;
            for (auto& [id, p] : parts) {
              if (idle != 0 && now - p.last_now >= idle) continue;
              any_active = true;
              min_active = std::min(min_active, p.max_ev == kNoWatermark ? kNoWatermark : p.max_ev - ooo);
            }
            if (any_active) wm = std::max(wm, min_active);
          }
          const bool late = is_late(s.event.time_ms, wm);
          outcomes_.push_back(late ? EventOutcome::kLate : EventOutcome::kAccepted);
          if (!late) {
            accepted_.push_back(OEvent{s.event, i});
            placements_.push_back(placement(s.event, wm));
          } else {
            placements_.emplace_back();
          }
          break;
        }
        case Step::kAdvance: {
          if (!known) {
            known = true;
            now = s.now;
            last_any = s.now;
            for (auto& [id, p] : parts) p.last_now = s.now;
          }
          now = std::max(now, s.now);
          bool any_active = false;
          std::int64_t min_active = INT64_MAX;
          std::int64_t max_all = kNoWatermark;
          for (auto& [id, p] : parts) {
            const std::int64_t pw = p.max_ev == kNoWatermark ? kNoWatermark : p.max_ev - ooo;
            max_all = std::max(max_all, pw);
            if (idle == 0 || now - p.last_now < idle) {
              any_active = true;
              min_active = std::min(min_active, pw);
            }
          }
          std::int64_t cand = wm;
          if (any_active) {
            cand = min_active;
          } else if (idle > 0 && (!parts.empty() || now - last_any >= idle)) {
            cand = std::max(max_all, now - ooo);
          }
          wm = std::max(wm, cand);
          advances_.emplace_back(i, wm);
          break;
        }
      }
    }
  }

  bool is_late(std::int64_t t, std::int64_t wm) const {
    const std::int64_t lat = spec_.allowed_lateness.count();
    switch (spec_.window.kind) {
      case WindowKind::kTumbling:
      case WindowKind::kHopping: {
        const std::int64_t adv = advance();
        return floor_div(t, adv) * adv + spec_.window.size.count() + lat <= wm;
      }
      case WindowKind::kSliding:
      case WindowKind::kSession: return t + lat < wm;
    }
    return false;
  }

  std::int64_t advance() const {
    return spec_.window.kind == WindowKind::kTumbling ? spec_.window.size.count() : spec_.window.advance.count();
  }

  // All windows the accepted events define.
  std::vector<OWindow> windows() const {
    std::map<GroupKey, std::vector<std::int64_t>> times;
    for (const auto& oe : accepted_) times[oe.e.key].push_back(oe.e.time_ms);
    std::vector<OWindow> v;
    for (auto& [key, ts] : times) windows_of(key, ts, v);
    return v;
  }

  // The windows the key's times `ts` define, appended to `out` (sorted, each once).
  void windows_of(GroupKey key, std::vector<std::int64_t> ts, std::vector<OWindow>& v) const {
    std::set<std::pair<std::int64_t, std::int64_t>> out;
    std::sort(ts.begin(), ts.end());
    ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
    switch (spec_.window.kind) {
      case WindowKind::kTumbling:
      case WindowKind::kHopping: {
        const std::int64_t adv = advance();
        const std::int64_t size = spec_.window.size.count();
        for (const auto t : ts) {
          for (std::int64_t j = floor_div(t - size, adv) + 1; j <= floor_div(t, adv); ++j) {
            out.insert({j * adv, j * adv + size});
          }
        }
        break;
      }
      case WindowKind::kSliding: {
        const std::int64_t d = spec_.window.size.count();
        for (std::size_t i = 0; i < ts.size(); ++i) {
          out.insert({ts[i] - d, ts[i] + 1});
          if (i + 1 < ts.size() && ts[i + 1] <= ts[i] + d) out.insert({ts[i] + 1, ts[i] + d + 2});
        }
        break;
      }
      case WindowKind::kSession: {
        const std::int64_t gap = spec_.window.gap.count();
        std::size_t i = 0;
        while (i < ts.size()) {
          std::size_t j = i;
          while (j + 1 < ts.size() && ts[j + 1] - ts[j] < gap) ++j;
          out.insert({ts[i], ts[j] + gap});
          i = j + 1;
        }
        break;
      }
    }
    for (const auto& [s, e] : out) v.push_back(OWindow{key, s, e});
  }

  // What add() should report for an accepted event `e` (the last of
  // accepted_), judged against watermark `wm`: the windows the key's accepted
  // events so far define that contain e and are not closed yet.
  Placement placement(const Event& e, std::int64_t wm) const {
    std::vector<std::int64_t> ts;
    for (const auto& oe : accepted_) {
      if (oe.e.key == e.key) ts.push_back(oe.e.time_ms);
    }
    std::vector<OWindow> ws;
    windows_of(e.key, ts, ws);
    Placement p;
    p.first_start_ms = INT64_MAX;
    p.last_end_ms = INT64_MIN;
    for (const OWindow& w : ws) {
      if (e.time_ms < w.start || e.time_ms >= w.end) continue;
      if (wm >= w.end + spec_.allowed_lateness.count()) continue;  // closed by an earlier advance
      ++p.windows;
      p.first_start_ms = std::min(p.first_start_ms, w.start);
      p.last_end_ms = std::max(p.last_end_ms, w.end);
    }
    // Sliding: the bound every window that may ever hold the event stays within.
    if (spec_.window.kind == WindowKind::kSliding) p.last_end_ms = e.time_ms + spec_.window.size.count() + 1;
    return p;
  }

  // The final result expected for window w, if it closes within the script.
  std::optional<Emitted> expected(const OWindow& w) const {
    const std::int64_t lat = spec_.allowed_lateness.count();
    std::optional<std::size_t> close_step;
    std::int64_t close_wm = 0;
    for (const auto& [step, wm] : advances_) {
      if (wm >= w.end + lat) {
        close_step = step;
        close_wm = wm;
        break;
      }
    }
    if (!close_step) return std::nullopt;
    std::vector<const OEvent*> in;
    for (const auto& oe : accepted_) {
      if (oe.e.key == w.key && oe.e.time_ms >= w.start && oe.e.time_ms < w.end && oe.step < *close_step) {
        in.push_back(&oe);
      }
    }
    if (in.empty()) return std::nullopt;
    Emitted r;
    r.call = *close_step;
    r.key = w.key;
    r.start = w.start;
    r.end = w.end;
    r.final = true;
    r.count = static_cast<std::int64_t>(in.size());
    r.watermark = close_wm;
    double sum = 0;
    double mn = INFINITY;
    double mx = -INFINITY;
    const OEvent* last = nullptr;
    double where = 0;
    std::set<std::uint64_t> distinct;
    std::vector<double> vals;
    for (const OEvent* oe : in) {
      sum += oe->e.value;
      mn = std::min(mn, oe->e.value);
      mx = std::max(mx, oe->e.value);
      if (last == nullptr || oe->e.time_ms >= last->e.time_ms) last = oe;  // arrival order: later wins ties
      where += oe->e.fields[1] == 1 ? 1 : 0;
      distinct.insert(oe->e.distinct_hash);
      vals.push_back(oe->e.value);
    }
    std::sort(vals.begin(), vals.end());
    r.values = {static_cast<double>(in.size()), sum, mn, mx, sum / static_cast<double>(in.size()), last->e.value,
                where, static_cast<double>(distinct.size())};
    for (const double q : kQuantiles) {
      r.values.push_back(vals[static_cast<std::size_t>(std::floor(q * static_cast<double>(vals.size() - 1)))]);
    }
    r.samples = expected_samples(w, in);
    return r;
  }

  // Samples: per slice (pane / distinct time) the first refs in arrival order,
  // slices in time order, truncated.
  std::vector<std::uint64_t> expected_samples(const OWindow& w, const std::vector<const OEvent*>& in) const {
    std::map<std::int64_t, std::vector<std::uint64_t>> slices;
    std::int64_t pane = 1;
    if (spec_.window.kind == WindowKind::kTumbling || spec_.window.kind == WindowKind::kHopping) {
      pane = std::gcd(spec_.window.size.count(), advance());
    }
    for (const OEvent* oe : in) {  // `in` is in arrival order
      auto& v = slices[floor_div(oe->e.time_ms, pane)];
      if (v.size() < kSamples) v.push_back(oe->e.record_ref);
    }
    std::vector<std::uint64_t> out;
    for (const auto& [k, v] : slices) {
      for (const auto r : v) {
        if (out.size() < kSamples) out.push_back(r);
      }
    }
    (void)w;
    return out;
  }

  const std::vector<EventOutcome>& outcomes() const { return outcomes_; }
  const std::vector<Placement>& placements() const { return placements_; }

 private:
  const ViewSpec& spec_;
  const std::vector<Step>& steps_;
  std::vector<EventOutcome> outcomes_;
  std::vector<OEvent> accepted_;
  std::vector<Placement> placements_;  // per add, sampled unset
  std::vector<std::pair<std::size_t, std::int64_t>> advances_;
};

struct Totals {
  std::size_t finals = 0;
  std::size_t late = 0;
  std::size_t emitted = 0;
  std::size_t placed = 0;  // accepted events whose windows were checked
  std::size_t multi = 0;   // ... that went to more than one window
};

void compare(Totals& totals, const ViewSpec& spec, const std::vector<Step>& steps, const std::string& label) {
  SCOPED_TRACE(label);
  auto engine = Engine::create({spec});
  ASSERT_TRUE(engine.ok()) << engine.error().message;
  const Recorded rec = testing::run(*engine, steps);

  Oracle oracle(spec, steps);
  oracle.simulate();
  ASSERT_EQ(rec.outcomes, oracle.outcomes());
  // add() reports the windows the event went to.
  ASSERT_EQ(rec.placements.size(), oracle.placements().size());
  for (std::size_t i = 0; i < rec.placements.size(); ++i) {
    Placement got = rec.placements[i];
    got.sampled = false;
    ASSERT_EQ(got.windows, oracle.placements()[i].windows) << "add #" << i;
    ASSERT_EQ(got, oracle.placements()[i]) << "add #" << i << ": [" << got.first_start_ms << "," << got.last_end_ms
                                           << ") want [" << oracle.placements()[i].first_start_ms << ","
                                           << oracle.placements()[i].last_end_ms << ")";
    if (got.windows > 0) ++totals.placed;
    totals.multi += got.windows > 1 ? 1 : 0;
  }
  std::size_t late = 0;
  for (const auto o : rec.outcomes) late += o == EventOutcome::kLate ? 1 : 0;
  ASSERT_EQ(engine->stats(0).late_events, late);
  totals.late += late;
  totals.emitted += rec.emitted.size();

  std::map<std::tuple<GroupKey, std::int64_t, std::int64_t>, Emitted> got;
  std::map<std::tuple<GroupKey, std::int64_t, std::int64_t>, std::vector<std::uint32_t>> revisions;
  const bool has_final = spec.emit.mode != EmitMode::kOnUpdate;
  for (const auto& r : rec.emitted) {
    revisions[{r.key, r.start, r.end}].push_back(r.revision);
    if (r.final) {
      ASSERT_TRUE(got.emplace(std::make_tuple(r.key, r.start, r.end), r).second)
          << "two final results for key " << r.key << " [" << r.start << "," << r.end << ")";
    }
  }
  // Revisions of one key-window strictly increase; with fixed bounds (all but
  // sessions) they are exactly 1, 2, 3, ...
  for (const auto& [k, revs] : revisions) {
    for (std::size_t i = 0; i < revs.size(); ++i) {
      if (spec.window.kind == WindowKind::kSession) {
        if (i > 0) {
          ASSERT_GT(revs[i], revs[i - 1]);
        }
      } else {
        ASSERT_EQ(revs[i], i + 1) << "key " << std::get<0>(k) << " [" << std::get<1>(k) << "," << std::get<2>(k) << ")";
      }
    }
  }
  if (!has_final) {
    // kOnUpdate: the last result of every window that closed equals the final value.
    std::map<std::tuple<GroupKey, std::int64_t, std::int64_t>, Emitted> last;
    for (const auto& r : rec.emitted) last[{r.key, r.start, r.end}] = r;
    for (const auto& w : oracle.windows()) {
      const auto want = oracle.expected(w);
      if (!want) continue;
      const auto it = last.find({w.key, w.start, w.end});
      ASSERT_NE(it, last.end()) << "no result for key " << w.key << " [" << w.start << "," << w.end << ")";
      EXPECT_EQ(it->second.count, want->count);
      EXPECT_EQ(it->second.values[1], want->values[1]);
    }
    return;
  }

  std::size_t expected_finals = 0;
  for (const auto& w : oracle.windows()) {
    const auto want = oracle.expected(w);
    if (!want) continue;
    ++expected_finals;
    ++totals.finals;
    const auto it = got.find({w.key, w.start, w.end});
    ASSERT_NE(it, got.end()) << "missing final for key " << w.key << " [" << w.start << "," << w.end << ")";
    const Emitted& r = it->second;
    EXPECT_EQ(r.call, want->call) << "emitted at the wrong advance()";
    EXPECT_EQ(r.count, want->count);
    EXPECT_EQ(r.watermark, want->watermark);
    ASSERT_EQ(r.values.size(), want->values.size());
    for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(r.values[i], want->values[i]) << "value " << i;
    // distinct: HyperLogLog; at these cardinalities (<= 31) linear counting is within 2%.
    EXPECT_NEAR(r.values[7], want->values[7], 0.02 * want->values[7] + 0.5);
    for (std::size_t i = 8; i < r.values.size(); ++i) {
      EXPECT_NEAR(r.values[i], want->values[i], spec.quantile_accuracy * std::abs(want->values[i]) * (1 + 1e-9))
          << "quantile " << kQuantiles[i - 8];
    }
    if (spec.window.kind != WindowKind::kSession) {
      EXPECT_EQ(r.samples, want->samples);
    } else {
      EXPECT_EQ(r.samples.size(), std::min<std::size_t>(kSamples, static_cast<std::size_t>(r.count)));
    }
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_EQ(got.size(), expected_finals) << "engine emitted finals the oracle does not expect";
}

void run_cases(WindowKind kind, EmitMode mode, int cases, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Totals totals;
  for (int c = 0; c < cases; ++c) {
    const ViewSpec spec = random_spec(rng, kind, mode);
    testing::ScriptParams p;
    p.events = std::uniform_int_distribution<int>(20, 250)(rng);
    p.keys = std::uniform_int_distribution<int>(1, 6)(rng);
    p.partitions = std::uniform_int_distribution<int>(1, 3)(rng);
    p.start_time = std::uniform_int_distribution<std::int64_t>(-500, 500)(rng);
    p.step = std::uniform_int_distribution<std::int64_t>(1, 6)(rng);
    const auto steps = testing::make_script(rng, p);
    compare(totals, spec, steps,
            std::string(to_string(kind)) + "/" + to_string(mode) + " case " + std::to_string(c) + " seed " +
                std::to_string(seed));
    if (::testing::Test::HasFailure()) return;
  }
  // The generator must exercise what we claim: many windows and late events.
  EXPECT_GT(totals.emitted, static_cast<std::size_t>(cases) * 5);
  EXPECT_GT(totals.late, static_cast<std::size_t>(cases) / 4);
  if (mode != EmitMode::kOnUpdate) {
    EXPECT_GT(totals.finals, static_cast<std::size_t>(cases) * 5);
  }
  EXPECT_GT(totals.placed, static_cast<std::size_t>(cases) * 10);
  if (kind == WindowKind::kHopping || kind == WindowKind::kSliding) {
    EXPECT_GT(totals.multi, static_cast<std::size_t>(cases));
  }
  std::printf("[ stats    ] %s/%s: %d cases, %zu results, %zu finals checked, %zu late events, %zu placements "
              "checked (%zu in several windows)\n",
              to_string(kind), to_string(mode), cases, totals.emitted, totals.finals, totals.late, totals.placed,
              totals.multi);
}

TEST(WindowPropertyTest, TumblingMatchesOracle) { run_cases(WindowKind::kTumbling, EmitMode::kFinalOnly, 1500, 11); }
TEST(WindowPropertyTest, HoppingMatchesOracle) { run_cases(WindowKind::kHopping, EmitMode::kFinalOnly, 1500, 12); }
TEST(WindowPropertyTest, SlidingMatchesOracle) { run_cases(WindowKind::kSliding, EmitMode::kFinalOnly, 1500, 13); }
TEST(WindowPropertyTest, SessionMatchesOracle) { run_cases(WindowKind::kSession, EmitMode::kFinalOnly, 1500, 14); }
TEST(WindowPropertyTest, TumblingBothMatchesOracle) { run_cases(WindowKind::kTumbling, EmitMode::kBoth, 600, 21); }
TEST(WindowPropertyTest, HoppingBothMatchesOracle) { run_cases(WindowKind::kHopping, EmitMode::kBoth, 600, 22); }
TEST(WindowPropertyTest, SlidingBothMatchesOracle) { run_cases(WindowKind::kSliding, EmitMode::kBoth, 600, 23); }
TEST(WindowPropertyTest, SessionBothMatchesOracle) { run_cases(WindowKind::kSession, EmitMode::kBoth, 600, 24); }
TEST(WindowPropertyTest, HoppingOnUpdateLastEqualsFinal) { run_cases(WindowKind::kHopping, EmitMode::kOnUpdate, 300, 31); }
TEST(WindowPropertyTest, SlidingOnUpdateLastEqualsFinal) { run_cases(WindowKind::kSliding, EmitMode::kOnUpdate, 300, 32); }
TEST(WindowPropertyTest, SessionOnUpdateLastEqualsFinal) { run_cases(WindowKind::kSession, EmitMode::kOnUpdate, 300, 33); }

}  // namespace
}  // namespace ioc::window
