#pragma once
/// The aggregator's record path, without Kafka: input records in (any
/// kafka::RecordView), window results and dead letters out through a Sink.
/// The Kafka-facing Aggregator (aggregator.hpp) polls, feeds this, and
/// implements the Sink with its producer; unit tests feed in-memory records
/// (ioc/kafka/fakes) and record the outputs.
///
/// A unit is one input partition of one stream; it has one window engine
/// holding every view over that stream. Nothing is set aside silently: every
/// record ends in a window of each view it matches, or is dead-lettered with
/// its reason (late for a view, invalid, beyond the time bound), or is
/// counted as unmatched (no view's filter took it) or pruned (an offset gap:
/// removed by retention before it was read; logged).
///
/// Hot path: after warm-up (keys interned, windows open, evidence reservoirs
/// full) handling a record allocates nothing (pipeline_alloc_test).
///
/// Not thread-safe: owned by the poll thread; the Aggregator serializes
/// queries against it with its state mutex.

#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint.hpp"
#include "config.hpp"
#include "ioc/core/registry.hpp"
#include "ioc/core/result.hpp"
#include "ioc/kafka/record.hpp"
#include "ioc/window/engine.hpp"
#include "sample_ids.hpp"
#include "seen_ids.hpp"

namespace prometheus {
class Counter;
class Histogram;
}  // namespace prometheus

namespace ioc::aggregator {

struct Metrics;

/// Group label values of a view's keys: a key is a hash of the values, the
/// same in every replica, so checkpoints move between replicas.
class GroupLabels {
 public:
  /// The key of `values` (inserting them the first time); nullopt when a
  /// different group already has this key (a 64-bit hash collision).
  std::optional<window::GroupKey> intern(std::size_t view, std::span<const std::string_view> values);
  void insert(window::GroupKey key, std::vector<std::string> values) { labels_.emplace(key, std::move(values)); }
  const std::vector<std::string>* find(window::GroupKey key) const;
  const boost::unordered_flat_map<window::GroupKey, std::vector<std::string>>& all() const { return labels_; }

 private:
  boost::unordered_flat_map<window::GroupKey, std::vector<std::string>> labels_;
};

/// Where the pipeline's outputs go: the Aggregator's producer, or a recorder
/// in tests. Calls never block; a sink that cannot queue an output counts it
/// and makes the process stop without checkpointing past it.
class Sink {
 public:
  virtual ~Sink() = default;
  /// A window result for the aggregates topic: its upsert key and encoded
  /// ioc.v1.WindowResult.
  virtual void result(std::string_view key, std::string_view value) = 0;
  /// A record set aside, with why, for the dead-letter topic.
  virtual void dead_letter(const kafka::RecordView& record, std::string_view reason) = 0;
};

/// Published revision: epoch << 32 | final << 31 (kFinalRevision) | the
/// engine's revision (see pipeline_outputs.cpp and window_result.proto).
inline std::uint64_t published_revision(std::uint32_t epoch, std::uint32_t revision, bool final) {
  return (std::uint64_t{epoch} << 32) | (final ? kFinalRevision : 0) | (revision & (kFinalRevision - 1));
}

/// Engine values followed by the view's ratios.
void values_of(const ViewConfig& v, std::span<const double> engine_values, std::vector<double>& out);

/// One input partition of one stream and its window state.
struct Unit {
  Unit(Stream s, std::int32_t p, window::Engine e, std::size_t views);
  Stream stream;
  std::int32_t partition;
  std::string topic;
  window::Engine engine;
  SampleIds samples;
  /// Report ids counted (reports only; see Config::duplicates_window), and
  /// those counted again while views added since the checkpoint backfill.
  SeenIds seen{0};
  SeenIds backfill_seen{0};
  std::int64_t next_offset = -1;   // next offset to read, -1 unknown
  std::int64_t checkpointed = -1;  // next_offset of the last checkpoint written
  bool dirty = false;              // changed since the last checkpoint
  /// Restored from a checkpoint: emits nothing (and its quiet-partition
  /// rule stays off) until it has read up to `catch_up_to`.
  bool holding = false;
  std::int64_t catch_up_to = -1;
  /// Records of the partition may wait unread (records_wait): the
  /// quiet-partition rule waits (a reader behind is not a quiet source).
  bool inputs_waiting = false;
  /// The partition's log end when it was assigned (-1 unknown): records
  /// known to wait before the consumer has fetched any of them.
  std::int64_t assigned_log_end = -1;
  std::int64_t last_record_ms = 0;  // the last record read (record_identity)
  std::int64_t advanced_at_ms = 0;  // the last record's timestamp when its views last advanced
  std::uint64_t last_record_id = 0;
  /// Revision epoch of what this unit publishes (see pipeline.cpp). It
  /// publishes nothing until a checkpoint carrying it is stored (`sealed`).
  std::uint32_t epoch = 1;
  bool sealed = false;
  /// Records below this offset are read again only for the views in
  /// `backfill_views` (local view bits): views added or changed since the
  /// checkpoint, which start from what the input log still holds. -1 once
  /// that range has been read.
  std::int64_t backfill_below = -1;
  SampleIds::ViewMask backfill_views = 0;
  std::vector<std::set<window::GroupKey>> gauge_keys;  // per local view: keys exported by this unit
  std::vector<std::int64_t> last_final_end;           // per local view
};

using UnitId = std::pair<Stream, std::int32_t>;

/// Whether records of `u`'s partition may wait unread, given the count the
/// consumer knows of (`unread`; negative: the partition not fetched yet).
/// Unknown counts as waiting unless the log end seen at assignment shows
/// nothing to read: only a partition known to be read to its end is quiet.
bool records_wait(const Unit& u, std::int64_t unread);

class Pipeline {
 public:
  /// Throws ConfigError when the views do not make valid engines.
  Pipeline(const Config& cfg, const Registry& registry, Metrics& metrics, Sink& sink);
  ~Pipeline();

  /// Processing time of the current batch (ms since epoch): bounds event
  /// times (max_future_skew) and drives advance().
  void set_now(std::int64_t now_ms) { now_ms_ = now_ms; }
  std::int64_t now() const { return now_ms_; }

  // ----- units
  std::optional<Stream> stream_of(std::string_view topic) const;
  /// Topics of the streams that have views.
  const std::vector<std::string>& topics() const { return topics_; }
  /// A new, empty unit (replacing any unit of the same id).
  Unit& add_unit(Stream stream, std::int32_t partition);
  Unit* find(UnitId id);
  /// Drops a unit and the gauges it exported.
  void drop_unit(UnitId id);
  const std::map<UnitId, std::unique_ptr<Unit>>& units() const { return units_; }
  std::vector<UnitId> unit_ids() const;

  // ----- record path
  /// Handles one input record of a unit's partition (others are ignored: a
  /// record fetched just before a revoke). Counts go to the batch counters.
  void handle(const kafka::RecordView& record);
  /// Adds the batch's counts to the Prometheus counters.
  void flush_counts();
  /// Advances the unit's engine to now(), publishes its results and forgets
  /// evidence ids no window can emit any more. Does nothing until the unit
  /// is sealed: its epoch must be checkpointed before anything is published.
  void advance(Unit& u);

  // ----- checkpoints
  Checkpoint make_checkpoint(const Unit& u) const;
  /// Restores a unit from a checkpoint: its position (offset and the
  /// identity of the record before it), the next revision epoch (unsealed),
  /// and the windows, labels and evidence of every view whose spec did not
  /// change. Returns the local views that start empty instead (added or
  /// changed since the checkpoint); an error when the state is corrupt
  /// (the position and epoch are restored all the same).
  [[nodiscard]] Result<SampleIds::ViewMask> restore(Unit& u, const Checkpoint& c);

  // ----- queries
  /// Global view indices (into cfg.views) of a stream, in engine order.
  const std::vector<std::size_t>& stream_views(Stream s) const { return stream_views_[static_cast<std::size_t>(s)]; }
  const GroupLabels& labels(std::size_t view) const { return labels_[view]; }

 private:
  struct ViewsOutcome {
    bool matched = false;  // some view's filter took the record
    std::string rejected;  // why a view could not take it
  };
  /// Adds the decoded record_ to the unit's views in `mask`; appends the
  /// views it is late for to `late`.
  ViewsOutcome add_to_views(Unit& u, const kafka::RecordView& m, SampleIds::ViewMask mask, std::string& late);
  /// A record below the unit's backfill_below, for the backfilled views.
  void backfill(Unit& u, const kafka::RecordView& m, Stream stream);
  /// Why the decoded record names a district or category the registry does
  /// not know ("" when it names none).
  std::string unknown_value() const;
  void set_aside(const kafka::RecordView& r, prometheus::Counter& counter, const std::string& reason);
  void publish(Unit& u, std::span<const window::WindowResult> results);
  void drop_gauges(Unit& u);

  const Config& cfg_;
  const Registry& registry_;
  Metrics& metrics_;
  Sink& sink_;
  std::array<std::vector<std::size_t>, kStreams> stream_views_;
  std::array<std::vector<window::ViewSpec>, kStreams> stream_specs_;
  /// Per stream: the record time between two advances within a poll batch
  /// (its views' shortest emit interval; never, without early results).
  std::array<std::int64_t, kStreams> replay_step_ms_ = [] {
    std::array<std::int64_t, kStreams> a{};
    a.fill(std::numeric_limits<std::int64_t>::max());
    return a;
  }();
  /// Per global view: how much later than a window's end an evidence id may
  /// still be needed, in "max event time" terms (see advance()).
  std::vector<std::int64_t> evidence_slack_ms_;
  std::vector<std::string> topics_;
  std::vector<GroupLabels> labels_;        // per view
  std::vector<std::size_t> gauge_series_;  // per view
  std::vector<prometheus::Counter*> view_accepted_;
  std::vector<prometheus::Counter*> view_late_;
  std::vector<prometheus::Histogram*> view_final_delay_;
  // Counts of the current batch, added to the counters by flush_counts().
  std::vector<std::uint64_t> view_accepted_n_;
  std::uint64_t accepted_n_ = 0;
  std::uint64_t unmatched_n_ = 0;
  std::uint64_t duplicate_n_ = 0;
  std::map<UnitId, std::unique_ptr<Unit>> units_;
  Record record_;
  std::string scratch_;
  std::vector<double> values_;
  std::vector<std::int64_t> frontiers_;  // per local view, advance()
  std::int64_t now_ms_ = 0;
};

}  // namespace ioc::aggregator
