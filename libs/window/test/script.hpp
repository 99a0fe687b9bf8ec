#pragma once
// Test-only: random call scripts (events, advances, assign/revoke) with fixed
// seeds, and a runner that records everything an Engine returns.

#include <cstdint>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "ioc/window/engine.hpp"

namespace ioc::window::testing {

struct Step {
  enum Kind { kAdd, kAdvance, kAssign, kRevoke } kind = kAdd;
  Event event;             // kAdd
  std::int64_t now = 0;    // kAdvance
  std::int32_t partition = 0;  // kAssign / kRevoke
};

struct Emitted {
  std::size_t call = 0;  // index of the advance() step that emitted it
  GroupKey key = 0;
  std::int64_t start = 0;
  std::int64_t end = 0;
  std::uint32_t revision = 0;
  bool final = false;
  std::int64_t count = 0;
  std::int64_t watermark = 0;
  std::vector<double> values;
  std::vector<std::uint64_t> samples;
  friend bool operator==(const Emitted&, const Emitted&) = default;
};

struct Recorded {
  std::vector<EventOutcome> outcomes;  // per kAdd step
  std::vector<Placement> placements;   // per kAdd step (Placement{} unless accepted)
  std::vector<Emitted> emitted;
  friend bool operator==(const Recorded&, const Recorded&) = default;
};

inline void run_step(Engine& e, const Step& s, std::size_t index, Recorded& rec) {
  switch (s.kind) {
    case Step::kAdd: {
      Placement p;
      rec.outcomes.push_back(e.add(0, s.event, &p));
      rec.placements.push_back(p);
      break;
    }
    case Step::kAdvance:
      for (const auto& r : e.advance(s.now)) {
        rec.emitted.push_back(Emitted{index, r.key, r.start_ms, r.end_ms, r.revision, r.final, r.count, r.watermark_ms,
                                      {r.values.begin(), r.values.end()}, {r.samples.begin(), r.samples.end()}});
      }
      break;
    case Step::kAssign: e.assign_partition(s.partition); break;
    case Step::kRevoke: e.revoke_partition(s.partition); break;
  }
}

inline Recorded run(Engine& e, const std::vector<Step>& steps, std::size_t from = 0, std::size_t to = SIZE_MAX,
                    Recorded rec = {}) {
  for (std::size_t i = from; i < std::min(to, steps.size()); ++i) run_step(e, steps[i], i, rec);
  return rec;
}

struct ScriptParams {
  int events = 200;
  int keys = 4;
  int partitions = 2;
  std::int64_t start_time = 0;
  std::int64_t max_jitter = 40;   // how far back an event may be
  std::int64_t step = 3;          // mean event-time progress per event
  bool revokes = true;
  bool finish = true;             // end with advances that close everything (when idleness is on)
};

inline std::vector<Step> make_script(std::mt19937_64& rng, const ScriptParams& p) {
  std::vector<Step> steps;
  steps.reserve(static_cast<std::size_t>(p.partitions));
  auto uni = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
  for (int q = 0; q < p.partitions; ++q) steps.push_back(Step{Step::kAssign, {}, 0, q});
  std::int64_t clock = p.start_time;
  // Processing time runs roughly with event time, with occasional stalls and jumps.
  std::int64_t now = p.start_time + 50;
  std::uint64_t ref = 1;
  for (int i = 0; i < p.events; ++i) {
    clock += uni(0, 2 * p.step);
    Event e;
    e.key = static_cast<GroupKey>(uni(0, p.keys - 1));
    e.time_ms = clock - (uni(0, 3) == 0 ? uni(0, p.max_jitter) : 0);
    e.value = static_cast<double>(uni(-50, 50));
    e.distinct_hash = static_cast<std::uint64_t>(uni(0, 30));
    e.record_ref = ref++;
    e.partition = static_cast<std::int32_t>(uni(0, p.partitions - 1));
    e.fields[1] = static_cast<std::int32_t>(uni(0, 2));
    steps.push_back(Step{Step::kAdd, e, 0, 0});
    if (uni(0, 4) == 0) {
      now += uni(0, 7) == 0 ? uni(0, 150) : uni(0, 4 * p.step);
      steps.push_back(Step{Step::kAdvance, {}, now, 0});
    }
    if (p.revokes && uni(0, 60) == 0) {
      steps.push_back(Step{uni(0, 1) == 0 ? Step::kRevoke : Step::kAssign, {}, 0,
                           static_cast<std::int32_t>(uni(0, p.partitions - 1))});
    }
  }
  if (p.finish) {
    now += 10'000;
    steps.push_back(Step{Step::kAdvance, {}, now, 0});
    now += 1'000'000'000;
    steps.push_back(Step{Step::kAdvance, {}, now, 0});
  }
  return steps;
}

}  // namespace ioc::window::testing
