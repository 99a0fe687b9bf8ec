#include "backtest.hpp"

#include <prometheus/registry.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <ostream>
#include <set>
#include <sstream>

#include "app.hpp"
#include "ioc/codec/codec.hpp"
#include "ioc/core/log.hpp"
#include "ioc/core/time_format.hpp"
#include "ioc/daemon/daemon.hpp"
#include "ioc/kafka/admin.hpp"
#include "ioc/kafka/consumer.hpp"
#include "ioc/rules/evaluator.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"

namespace ioc::alerter {

namespace json = boost::json;

// ---------------------------------------------------------------- report

BacktestReport::BacktestReport(const rules::RuleSet& rules, TimePoint from, TimePoint to) : from_(from), to_(to) {
  for (const rules::Rule& r : rules.rules) rules_[r.name].keep_firing_for = r.keep_firing_for;
}

void BacktestReport::add(const AlertEvent& e) {
  RuleEntry& rule = rules_[e.rule];
  Group& g = rule.groups[e.fingerprint];
  if (g.labels.empty()) g.labels = e.group;
  switch (e.state) {
    case AlertEvent::State::kInactive:
      if (counts(e.sent_at)) ++g.counts.pending_never_fired;
      return;
    case AlertEvent::State::kFiring: {
      if (g.firing_since) return;  // an update of the episode
      const TimePoint fired = e.sent_at;
      g.firing_since = fired;
      if (!counts(fired)) return;
      ++g.counts.firing_episodes;
      if (!g.counts.first_fire) g.counts.first_fire = fired;
      g.counts.last_fire = fired;
      if (g.resolved_at && fired - *g.resolved_at <= rule.keep_firing_for) ++g.counts.flaps;
      return;
    }
    case AlertEvent::State::kResolved:
      if (g.firing_since && counts(*g.firing_since)) {
        g.counts.firing += std::chrono::duration_cast<Millis>(e.ends_at - *g.firing_since);
      }
      g.firing_since.reset();
      g.resolved_at = e.ends_at;
      return;
    case AlertEvent::State::kPending:
    case AlertEvent::State::kUnspecified:
      return;
  }
}

void BacktestReport::finish(TimePoint end) {
  for (auto& [name, rule] : rules_) {
    for (auto& [fp, g] : rule.groups) {
      if (!g.firing_since || !counts(*g.firing_since)) continue;
      g.counts.firing += std::chrono::duration_cast<Millis>(std::max(end, *g.firing_since) - *g.firing_since);
      g.counts.still_firing = true;
    }
  }
}

namespace {

void sum_into(BacktestReport::Counts& total, const BacktestReport::Counts& c) {
  total.firing_episodes += c.firing_episodes;
  total.firing += c.firing;
  total.pending_never_fired += c.pending_never_fired;
  total.flaps += c.flaps;
  if (c.first_fire && (!total.first_fire || *c.first_fire < *total.first_fire)) total.first_fire = c.first_fire;
  if (c.last_fire && (!total.last_fire || *c.last_fire > *total.last_fire)) total.last_fire = c.last_fire;
  total.still_firing = total.still_firing || c.still_firing;
}

json::object counts_json(const BacktestReport::Counts& c) {
  auto at = [](const std::optional<TimePoint>& t) { return t ? json::value(format_rfc3339(*t)) : json::value(nullptr); };
  return {{"firing_episodes", c.firing_episodes},
          {"firing_seconds", static_cast<double>(c.firing.count()) / 1000.0},
          {"first_fire", at(c.first_fire)},
          {"last_fire", at(c.last_fire)},
          {"pending_never_fired", c.pending_never_fired},
          {"flaps", c.flaps},
          {"still_firing", c.still_firing}};
}

std::string labels_text(const std::vector<Label>& labels) {
  std::string s;
  for (const Label& l : labels) s += (s.empty() ? "" : ",") + l.name + "=" + l.value;
  return s.empty() ? "(all)" : s;
}

}  // namespace

BacktestReport::Counts BacktestReport::totals() const {
  Counts total;
  for (const auto& [name, rule] : rules_) {
    for (const auto& [fp, g] : rule.groups) sum_into(total, g.counts);
  }
  return total;
}

json::value BacktestReport::to_json() const {
  json::array rules;
  for (const auto& [name, rule] : rules_) {
    Counts sum;
    json::array groups;
    for (const auto& [fp, g] : rule.groups) {
      sum_into(sum, g.counts);
      if (g.counts.firing_episodes == 0 && g.counts.pending_never_fired == 0) continue;
      json::object labels;
      for (const Label& l : g.labels) labels[l.name] = l.value;
      json::object o = counts_json(g.counts);
      o["labels"] = std::move(labels);
      groups.push_back(std::move(o));
    }
    json::object o = counts_json(sum);
    o["rule"] = name;
    o["groups"] = std::move(groups);
    rules.push_back(std::move(o));
  }
  json::object out{{"from", format_rfc3339(from_)}, {"to", format_rfc3339(to_)}, {"results", results_}, {"results_late", late_}};
  out["totals"] = counts_json(totals());
  out["rules"] = std::move(rules);
  return out;
}

std::string BacktestReport::to_text() const {
  std::ostringstream s;
  const Counts t = totals();
  s << "backtest " << format_rfc3339(from_) << " .. " << format_rfc3339(to_) << ", " << results_
    << " window results (" << late_ << " behind the results before them): " << t.firing_episodes << " firing episode(s), " << t.pending_never_fired
    << " pending that never fired, " << t.flaps << " flap(s)\n";
  for (const auto& [name, rule] : rules_) {
    Counts sum;
    for (const auto& [fp, g] : rule.groups) sum_into(sum, g.counts);
    s << "  " << name << ": " << sum.firing_episodes << " firing, " << rules::format_duration(sum.firing)
      << " in all, " << sum.pending_never_fired << " pending never fired, " << sum.flaps << " flap(s)\n";
    for (const auto& [fp, g] : rule.groups) {
      const Counts& c = g.counts;
      if (c.firing_episodes == 0 && c.pending_never_fired == 0) continue;
      s << "    " << labels_text(g.labels) << ": " << c.firing_episodes << " firing";
      if (c.first_fire) s << " (first " << format_rfc3339(*c.first_fire) << ", last " << format_rfc3339(*c.last_fire) << ")";
      s << ", " << rules::format_duration(c.firing) << (c.still_firing ? " (still firing)" : "") << ", "
        << c.pending_never_fired << " pending never fired, " << c.flaps << " flap(s)\n";
    }
  }
  return s.str();
}

// ---------------------------------------------------------------- driver

struct Backtest::Impl final : Sink {
  Impl(const Config& c, rules::RuleSet rules, const views::Catalog& views, const Registry& registry, TimePoint from,
       TimePoint until)
      : cfg(quiet(c)),
        report(rules, from, until),
        metrics(prom),
        pipeline(cfg, std::move(rules), views, registry, clock, metrics, *this, {}, box),
        to(until) {}

  /// Nothing leaves a backtest: no Alertmanager (and no checkpoints: keeps_state()).
  static Config quiet(Config c) {
    c.alertmanager.targets.clear();
    return c;
  }

  void publish(const AlertEvent& e) override { report.add(e); }
  void dead_letter(const kafka::RecordView&, std::string_view) override {}
  void checkpoint(const Checkpoint&, bool) override {}
  bool keeps_state() const override { return false; }

  /// Lets live time pass up to `t`: every evaluation_interval the pipeline
  /// ticks, so timers and silences behave as they would have.
  void advance_to(TimePoint t) {
    if (pending) {
      pipeline.begin_batch();
      pipeline.tick(true);
      pending = false;
    }
    while (clock.now() + cfg.evaluation_interval <= t) {
      clock.advance(cfg.evaluation_interval);
      pipeline.begin_batch();
      pipeline.tick(false);
    }
    if (t > clock.now()) clock.advance(std::chrono::duration_cast<Millis>(t - clock.now()));
  }

  Config cfg;
  BacktestReport report;
  prometheus::Registry prom;
  Metrics metrics;
  ManualClock clock;
  AlertViewBox box;
  Pipeline pipeline;
  TimePoint to;
  bool pending = false;  // records handled since the last evaluation
};

Backtest::Backtest(const Config& cfg, rules::RuleSet rules, const views::Catalog& views, const Registry& registry,
                   TimePoint from, TimePoint to)
    : impl_(std::make_unique<Impl>(cfg, std::move(rules), views, registry, from, to)) {}

Backtest::~Backtest() = default;

TimePoint Backtest::now() const { return impl_->clock.now(); }

bool Backtest::feed(const kafka::RecordView& record, std::optional<TimePoint> watermark) {
  Impl& b = *impl_;
  if (watermark) {
    if (*watermark > b.to) return false;
    if (!started_) {
      started_ = *watermark;
      if (b.report.from_ == TimePoint{}) b.report.from_ = *watermark;  // no --from: the first result's time
      b.clock.set(*watermark);
      b.pipeline.restore(std::optional<Checkpoint>(), std::nullopt);
      b.pipeline.assigned();
      b.pipeline.backlog(true, 0);
    }
    if (*watermark > b.clock.now()) {
      b.advance_to(*watermark);
    } else if (*watermark < b.clock.now()) {
      ++b.report.late_;  // live, it would have been judged earlier
    }
  }
  if (!started_) return true;
  b.pipeline.begin_batch();
  b.pipeline.handle(record);
  b.pending = true;
  ++b.report.results_;
  return true;
}

const BacktestReport& Backtest::finish(TimePoint end) {
  Impl& b = *impl_;
  if (started_) {
    b.advance_to(std::min(end, b.to));
    b.pipeline.begin_batch();
    b.pipeline.tick(false);
  }
  b.report.finish(b.clock.now());
  return b.report;
}

// ---------------------------------------------------------------- command

Result<BacktestOptions> take_backtest_args(std::vector<std::string>& args) {
  BacktestOptions o;
  std::vector<std::string> rest;
  auto time_arg = [&](std::size_t& i) -> Result<TimePoint> {
    if (i + 1 >= args.size()) return Error{ErrorCode::kInvalidArgument, args[i] + " needs an RFC 3339 time"};
    auto t = parse_rfc3339(args[i + 1]);
    if (!t.ok()) {
      return Error{ErrorCode::kInvalidArgument,
                   args[i] + ": not an RFC 3339 time like 2026-12-05T08:00:00Z (" + t.error().message + ")"};
    }
    ++i;
    return *t;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--backtest") continue;
    if (a == "--rules") {
      while (i + 1 < args.size() && !args[i + 1].starts_with("--")) o.rule_files.push_back(args[++i]);
      if (o.rule_files.empty()) return Error{ErrorCode::kInvalidArgument, "--rules needs at least one file"};
    } else if (a == "--from" || a == "--to") {
      auto t = time_arg(i);
      if (!t.ok()) return t.error();
      (a == "--from" ? o.from : o.to) = *t;
    } else if (a == "--format") {
      if (i + 1 >= args.size() || (args[i + 1] != "text" && args[i + 1] != "json")) {
        return Error{ErrorCode::kInvalidArgument, "--format must be text or json"};
      }
      o.json = args[++i] == "json";
    } else {
      rest.push_back(a);
    }
  }
  if (o.from && o.to && *o.to <= *o.from) return Error{ErrorCode::kInvalidArgument, "--to must be after --from"};
  args = std::move(rest);
  return o;
}

ResultOrder::ResultOrder(const std::vector<std::int32_t>& partitions, Millis margin) : margin_(margin) {
  for (std::int32_t p : partitions) reading_[p];
}

void ResultOrder::add(Held h, std::pair<int, std::int32_t> unit) {
  if (h.decoded) {
    if (auto r = reading_.find(h.partition); r != reading_.end()) {
      TimePoint& reached = r->second[unit];
      if (h.watermark > reached) {
        reached = h.watermark;
        stale_ = true;
      }
    }
  }
  held_.push({std::move(h), seq_++});
}

void ResultOrder::done(std::int32_t partition) {
  stale_ = reading_.erase(partition) > 0 || stale_;
}

void ResultOrder::update_limit() {
  stale_ = false;
  std::optional<TimePoint> slowest;
  for (const auto& [p, units] : reading_) {
    if (units.empty()) {
      limit_ = TimePoint{};  // nothing read from it yet
      return;
    }
    for (const auto& [unit, reached] : units) slowest = std::min(slowest.value_or(TimePoint::max()), reached);
  }
  limit_ = !slowest ? TimePoint::max() : *slowest < TimePoint{} + margin_ ? TimePoint{} : *slowest - margin_;
}

std::optional<ResultOrder::Held> ResultOrder::next() {
  if (stale_) update_limit();
  if (held_.empty() || held_.top().h.watermark > limit_) return std::nullopt;
  Held h = std::move(const_cast<Entry&>(held_.top()).h);  // popped at once
  held_.pop();
  return h;
}

int run_backtest(const Config& cfg, const BacktestOptions& options, std::ostream& out) {
  constexpr auto kTimeout = std::chrono::seconds(10);
  const views::Catalog views = views::Catalog::load(cfg.views_file, "alerter.views");
  rules::RuleSet rules = load_rules_or_throw(options.rule_files.empty() ? cfg.rule_files : options.rule_files, views);
  const Registry registry = daemon::load_registry(cfg.common);
  kafka::Admin admin(cfg.common.kafka);
  auto topics = admin.topics(kTimeout);
  if (!topics.ok()) throw std::runtime_error("the cluster's topics: " + topics.error().message);
  std::int32_t partitions = 0;
  for (const auto& t : *topics) {
    if (t.name == cfg.input_topic) partitions = t.partitions;
  }
  if (partitions == 0) throw std::runtime_error(cfg.input_topic + " does not exist: nothing to backtest");
  std::vector<kafka::TopicPartition> assign;
  std::map<std::int32_t, std::int64_t> ends;
  int truncated = 0;
  for (std::int32_t p = 0; p < partitions; ++p) {
    auto wm = admin.watermarks(cfg.input_topic, p, kTimeout);
    if (!wm.ok()) throw std::runtime_error("watermarks of " + cfg.input_topic + ": " + wm.error().message);
    if (wm->log_end > wm->log_start) {
      ends[p] = wm->log_end;
      assign.push_back({cfg.input_topic, p, wm->log_start});
    }
    if (wm->log_start > 0) ++truncated;
  }
  if (truncated > 0) {
    log::warn("older window results were deleted by the topic's retention: the backtest covers only what is left, "
              "and rules with baselines or long windows decide nothing until they have watched long enough",
              {{"topic", cfg.input_topic}, {"partitions_truncated", truncated}});
  }
  const TimePoint from = options.from.value_or(TimePoint{});
  const TimePoint to = options.to.value_or(SystemClock::instance().now());
  Backtest bt(cfg, std::move(rules), views, registry, from, to);
  kafka::Consumer reader(cfg.common.kafka, {.group_id = cfg.group_id + ".backtest"});
  reader.assign(assign);
  std::vector<std::int32_t> reading;
  for (const auto& [p, end] : ends) reading.push_back(p);
  ResultOrder order(reading, options.reorder);
  std::set<std::int32_t> done;
  std::optional<TimePoint> last;
  bool over = false;
  auto feed = [&] {
    while (!over) {
      std::optional<ResultOrder::Held> h = order.next();
      if (!h) return;
      const kafka::RecordView view{.topic = cfg.input_topic, .partition = h->partition, .offset = h->offset,
                                   .value = h->value};
      over = !bt.feed(view, h->decoded ? std::optional<TimePoint>(h->watermark) : std::nullopt);
      if (!over) last = std::max(last.value_or(TimePoint{}), h->watermark);
    }
  };
  while (!over && done.size() < ends.size()) {
    for (const kafka::Message& m : reader.poll(10'000, std::chrono::milliseconds(200))) {
      const std::int32_t p = m.partition();
      if (m.offset() < ends[p]) {
        WindowResult r;
        const bool decoded = codec::decode(m.value(), r).ok();
        const views::ViewConfig* v = decoded ? views.find(r.view) : nullptr;
        order.add({decoded ? r.watermark : TimePoint{}, decoded, p, m.offset(), std::string(m.value())},
                  {v == nullptr ? -1 : static_cast<int>(v->stream), r.input_partition});
      }
      if (m.offset() + 1 >= ends[p] && done.insert(p).second) order.done(p);
    }
    feed();
  }
  reader.close();
  const BacktestReport& report = bt.finish(options.to.value_or(last.value_or(from)));
  if (options.json) {
    out << json::serialize(report.to_json()) << "\n";
  } else {
    out << report.to_text();
  }
  return 0;
}

}  // namespace ioc::alerter
