// Sliding windows in the Kafka Streams sense, time difference d = size:
// for every distinct event time t of a key there is a left window [t - d, t] and,
// when another event lies in (t, t + d], a right window [t + 1, t + d + 1]
// (both inclusive; reported half-open as [start, end) with end = last ms + 1).
// Windows with equal bounds are one window. Each key keeps one slot per distinct
// event time (a bucket), the slots' cells side by side in time order, so a window
// is the merge of one contiguous run of slots (a sequential scan, not a cache miss
// per bucket), built when it is emitted. Revisions live in the buckets: left
// window of t in bucket t, right window of t in bucket t.

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>

#include "view_state.hpp"

namespace ioc::window::detail {
namespace {

struct Bucket {
  std::int64_t t;
  std::uint32_t rev_left;
  std::uint32_t rev_right;
};

struct SlideKey {
  std::vector<Bucket> buckets;          // sorted by t
  std::vector<Cell> cells;              // the buckets' slots, stride cells each, same order
  std::int64_t emitted_end = kLongAgo;  // windows with end <= this are closed
  std::int64_t next_end = kNever;       // no window of this key ends before this
  std::int64_t last_emit = kLongAgo;
  std::int64_t lo = 0;  // dirty event-time range
  std::int64_t hi = 0;
  bool dirty = false;
};

struct Win {
  std::int64_t start;
  std::int64_t end;
};

class SlidingView final : public ViewState {
 public:
  explicit SlidingView(ViewCore& core)
      : core_(core), d_(core.spec.window.size.count()), stride_(core.layout.stride()), tmp_(core) {}

  bool add(const Event& e, std::int64_t lwm) override {
    const std::int64_t t = e.time_ms;
    if (t + core_.lateness < lwm) return false;
    SlideKey& k = keys_[e.key];
    auto& b = k.buckets;
    std::size_t i = b.size();
    if (b.empty() || b.back().t < t) {
      insert_bucket(k, i, t);
    } else if (b.back().t == t) {
      i = b.size() - 1;
    } else {
      i = static_cast<std::size_t>(bucket_at(k, t) - b.begin());
      if (i == b.size() || b[i].t != t) insert_bucket(k, i, t);
    }
    const bool sampled = core_.layout.update(slot(k, i), core_.pools, e);
    if (core_.want_placement) {
      core_.placement.sampled = sampled;
      place(k, t, core_.placement);
    }
    if (core_.early) {
      k.lo = k.dirty ? std::min(k.lo, t) : t;
      k.hi = k.dirty ? std::max(k.hi, t) : t;
      k.dirty = true;
    }
    k.next_end = std::min(k.next_end, t + 1);
    min_end_ = std::min(min_end_, t + 1);
    return true;
  }

  void close(std::int64_t wm, Sink& sink) override {
    const std::int64_t limit = wm - core_.lateness;
    if (limit < min_end_) return;
    std::int64_t next = kNever;
    std::vector<Win> wins;
    for (auto& kv : keys_) {
      const GroupKey key = kv.first;
      SlideKey& k = kv.second;
      if (k.buckets.empty()) continue;
      if (k.next_end > limit) {
        next = std::min(next, k.next_end);
        continue;
      }
      if (limit > k.emitted_end) {
        wins.clear();
        // Windows ending in (emitted_end, limit] start from buckets t >= emitted_end - d - 1.
        windows(k, [&](Win w) { return w.end > k.emitted_end && w.end <= limit; }, wins, k.emitted_end - d_ - 2,
                limit);
        for (const Win& w : wins) {
          const std::uint32_t rev = rev_of(k, w);
          if (core_.flush_only_changed && rev > 0 && !(k.dirty && w.start <= k.hi && w.end > k.lo)) continue;
          Cell* s = content(k, w);
          set_rev(k, w, rev + 1);
          sink.emit(key, w.start, w.end, rev + 1, true, s);
        }
        k.emitted_end = limit;
        // Bucket t is in windows ending up to t + d + 1 and holds the right window ending at t + d + 2.
        auto& b = k.buckets;
        std::size_t purge = 0;
        while (purge < b.size() && b[purge].t + d_ + 2 <= limit) {
          core_.layout.release(slot(k, purge), core_.pools);
          ++purge;
        }
        b.erase(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(purge));
        k.cells.erase(k.cells.begin(), k.cells.begin() + static_cast<std::ptrdiff_t>(purge * stride_));
      }
      k.next_end = next_end(k, limit);
      next = std::min(next, k.next_end);
    }
    tmp_.release(core_);
    min_end_ = next;
    const std::int64_t now_floor = last_now_;
    const std::int64_t min_interval = core_.min_interval;
    const bool early = core_.early;
    boost::unordered::erase_if(keys_, [&](const auto& kv) {
      const SlideKey& k = kv.second;
      return k.buckets.empty() && (!early || (!k.dirty && now_floor - k.last_emit >= min_interval));
    });
  }

  void emit_early(std::int64_t now, Sink& sink) override {
    last_now_ = now;
    std::vector<Win> wins;
    for (auto& kv : keys_) {
      const GroupKey key = kv.first;
      SlideKey& k = kv.second;
      if (!k.dirty || (k.last_emit <= now && now - k.last_emit < core_.min_interval)) continue;
      wins.clear();
      windows(k, [&](Win w) { return w.end > k.emitted_end && w.start <= k.hi && w.end > k.lo; }, wins);
      for (const Win& w : wins) {
        const std::uint32_t rev = rev_of(k, w) + 1;
        set_rev(k, w, rev);
        sink.emit(key, w.start, w.end, rev, false, content(k, w));
      }
      k.dirty = false;
      k.last_emit = now;
    }
    tmp_.release(core_);
  }

  void query_open(GroupKey key, std::vector<WindowValue>& out) const override {
    auto it = keys_.find(key);
    if (it == keys_.end()) return;
    const SlideKey& k = it->second;
    std::vector<Win> wins;
    windows(k, [&](Win w) { return w.end > k.emitted_end; }, wins);
    auto* self = const_cast<SlidingView*>(this);  // temp slot only
    for (const Win& w : wins) out.push_back(make_value(core_, key, w.start, w.end, rev_of(k, w), self->content(k, w)));
    self->tmp_.release(core_);
  }

  void open_keys(std::vector<GroupKey>& out) const override {
    for (const auto& [key, k] : keys_) {
      if (!k.buckets.empty()) out.push_back(key);
    }
  }

  void stats(ViewStats& s) const override {
    std::size_t bytes =
        sizeof(*this) + tmp_.bytes() + keys_.bucket_count() * (sizeof(std::pair<GroupKey, SlideKey>) + 1);
    std::vector<Win> wins;
    for (const auto& kv : keys_) {
      const SlideKey& k = kv.second;
      bytes += k.buckets.capacity() * sizeof(Bucket) + k.cells.capacity() * sizeof(Cell);
      wins.clear();
      windows(k, [&](Win w) { return w.end > k.emitted_end; }, wins);
      s.open_windows += wins.size();
    }
    s.state_bytes += bytes;
  }

  void write(ByteWriter& w) const override {
    w.i64(min_end_);
    w.i64(last_now_);
    const std::vector<GroupKey> order = sorted_keys(keys_);
    w.u64(order.size());
    for (const GroupKey key : order) {
      const SlideKey& k = keys_.find(key)->second;
      w.u64(key);
      w.i64(k.emitted_end);
      w.i64(k.next_end);
      w.i64(k.last_emit);
      w.i64(k.lo);
      w.i64(k.hi);
      w.u8(k.dirty ? 1 : 0);
      w.u64(k.buckets.size());
      for (std::size_t i = 0; i < k.buckets.size(); ++i) {
        const Bucket& b = k.buckets[i];
        w.i64(b.t);
        w.u32(b.rev_left);
        w.u32(b.rev_right);
        core_.layout.write(w, slot(k, i), core_.pools);
      }
    }
  }

  bool read(ByteReader& r) override {
    min_end_ = r.i64();
    last_now_ = r.i64();
    const std::uint64_t n = r.count(57);
    for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
      const GroupKey key = r.u64();
      if (keys_.contains(key)) return false;
      SlideKey& k = keys_[key];
      k.emitted_end = r.i64();
      k.next_end = r.i64();
      k.last_emit = r.i64();
      k.lo = r.i64();
      k.hi = r.i64();
      k.dirty = r.u8() != 0;
      const std::uint64_t nb = r.count(32);
      for (std::uint64_t j = 0; j < nb && r.ok(); ++j) {
        const std::int64_t t = r.i64();
        if (!k.buckets.empty() && t <= k.buckets.back().t) return false;
        const std::size_t at = k.buckets.size();
        insert_bucket(k, at, t);
        k.buckets[at].rev_left = r.u32();
        k.buckets[at].rev_right = r.u32();
        if (!core_.layout.read(r, slot(k, at), core_.pools)) return false;
      }
    }
    return r.ok();
  }

 private:
  // A new bucket at position i (keeping t sorted) with an initialized slot.
  void insert_bucket(SlideKey& k, std::size_t i, std::int64_t t) {
    k.buckets.insert(k.buckets.begin() + static_cast<std::ptrdiff_t>(i), Bucket{t, 0, 0});
    k.cells.insert(k.cells.begin() + static_cast<std::ptrdiff_t>(i * stride_), stride_, Cell{});
    core_.layout.init(slot(k, i), core_.pools);
  }
  Cell* slot(SlideKey& k, std::size_t i) const { return k.cells.data() + i * stride_; }
  const Cell* slot(const SlideKey& k, std::size_t i) const { return k.cells.data() + i * stride_; }
  // The first bucket with time >= t.
  static std::vector<Bucket>::const_iterator bucket_at(const SlideKey& k, std::int64_t t) {
    return std::lower_bound(k.buckets.begin(), k.buckets.end(), t,
                            [](const Bucket& x, std::int64_t v) { return x.t < v; });
  }

  const Bucket* find(const SlideKey& k, std::int64_t t) const {
    auto it = std::lower_bound(k.buckets.begin(), k.buckets.end(), t,
                               [](const Bucket& x, std::int64_t v) { return x.t < v; });
    return it != k.buckets.end() && it->t == t ? &*it : nullptr;
  }
  Bucket* find(SlideKey& k, std::int64_t t) { return const_cast<Bucket*>(std::as_const(*this).find(k, t)); }

  // All windows of the key accepted by pred, each once.
  // Only buckets with from <= t < to are considered as window anchors.
  template <typename Pred>
  void windows(const SlideKey& k, Pred pred, std::vector<Win>& out, std::int64_t from = kLongAgo,
               std::int64_t to = kNever) const {
    const auto& b = k.buckets;
    auto first = std::lower_bound(b.begin(), b.end(), from, [](const Bucket& x, std::int64_t v) { return x.t < v; });
    for (auto i = static_cast<std::size_t>(first - b.begin()); i < b.size() && b[i].t < to; ++i) {
      const std::int64_t t = b[i].t;
      const Win left{t - d_, t + 1};
      if (pred(left)) out.push_back(left);
      const bool has_right = i + 1 < b.size() && b[i + 1].t <= t + d_;
      const Win right{t + 1, t + d_ + 2};
      // pred first: it is cheap and usually false; the search for a left window
      // with the same bounds (t + d + 1) is not.
      if (has_right && pred(right) && find(k, t + d_ + 1) == nullptr) out.push_back(right);
    }
  }

  // The windows of the key containing t (what windows() would list), counted
  // without allocating: left windows [u - d, u] of times u in [t, t + d], and
  // right windows [s + 1, s + d + 1] of times s in [t - d - 1, t - 1] that
  // have a next time within d and are not also a left window. Every window
  // holding t ends by t + d + 1, whatever events come later.
  void place(const SlideKey& k, std::int64_t t, Placement& pl) const {
    const auto& b = k.buckets;
    auto it = std::lower_bound(b.begin(), b.end(), t - d_ - 1, [](const Bucket& x, std::int64_t v) { return x.t < v; });
    pl.windows = 0;
    pl.first_start_ms = kNever;
    pl.last_end_ms = t + d_ + 1;
    for (auto i = static_cast<std::size_t>(it - b.begin()); i < b.size() && b[i].t <= t + d_; ++i) {
      const std::int64_t u = b[i].t;
      if (u >= t) {
        ++pl.windows;
        pl.first_start_ms = std::min(pl.first_start_ms, u - d_);
      } else if (i + 1 < b.size() && b[i + 1].t <= u + d_ && find(k, u + d_ + 1) == nullptr) {
        ++pl.windows;
        pl.first_start_ms = std::min(pl.first_start_ms, u + 1);
      }
    }
  }

  // The revision of window w: left window of end-1 or right window of start-1.
  std::uint32_t rev_of(const SlideKey& k, Win w) const {
    std::uint32_t r = 0;
    if (const Bucket* b = find(k, w.end - 1)) r = std::max(r, b->rev_left);
    if (const Bucket* b = find(k, w.start - 1)) r = std::max(r, b->rev_right);
    return r;
  }
  void set_rev(SlideKey& k, Win w, std::uint32_t r) {
    if (Bucket* b = find(k, w.end - 1)) b->rev_left = r;
    if (Bucket* b = find(k, w.start - 1)) b->rev_right = r;
  }

  Cell* content(const SlideKey& k, Win w) {
    Cell* s = tmp_.reset(core_);
    const auto& b = k.buckets;
    for (auto i = static_cast<std::size_t>(bucket_at(k, w.start) - b.begin()); i < b.size() && b[i].t < w.end; ++i) {
      core_.layout.merge(s, core_.pools, slot(k, i), core_.pools);
    }
    return s;
  }

  std::int64_t next_end(const SlideKey& k, std::int64_t limit) const {
    std::int64_t next = kNever;
    const auto& b = k.buckets;
    // Left windows end at t + 1, right windows at t + d + 2: only buckets from limit - d - 1 on matter.
    auto first = std::lower_bound(b.begin(), b.end(), limit - d_ - 1,
                                  [](const Bucket& x, std::int64_t v) { return x.t < v; });
    for (auto i = static_cast<std::size_t>(first - b.begin()); i < b.size(); ++i) {
      if (b[i].t + 1 > limit && b[i].t + 1 >= next) break;
      if (b[i].t + 1 > limit) next = std::min(next, b[i].t + 1);
      if (i + 1 < b.size() && b[i + 1].t <= b[i].t + d_ && b[i].t + d_ + 2 > limit) next = std::min(next, b[i].t + d_ + 2);
    }
    return next;
  }

  ViewCore& core_;
  std::int64_t d_;
  std::uint32_t stride_;
  TempSlot tmp_;
  boost::unordered_flat_map<GroupKey, SlideKey> keys_;
  std::int64_t min_end_ = kNever;  // no window ends before this
  std::int64_t last_now_ = kLongAgo;
};

}  // namespace

std::unique_ptr<ViewState> make_sliding_view(ViewCore& core) { return std::make_unique<SlidingView>(core); }

}  // namespace ioc::window::detail
