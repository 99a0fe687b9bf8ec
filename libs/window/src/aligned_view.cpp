// Tumbling and hopping windows over shared panes (slices).
//
// Time is cut into panes of gcd(size, advance) ms. Each pane holds a table
// key -> slot. An event updates exactly one slot, so the per-event cost does not
// depend on how many windows overlap; a window j = [j*advance, j*advance + size)
// is the merge of its size/pane consecutive panes, done once when it closes
// (and for early results). Tumbling is the case pane == window.

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include "view_state.hpp"

namespace ioc::window::detail {
namespace {

struct PaneTable {
  std::int64_t index = 0;
  std::uint32_t stride = 0;
  boost::unordered_flat_map<GroupKey, std::uint32_t> slots;
  std::vector<Cell> cells;

  Cell* at(std::uint32_t n) { return cells.data() + static_cast<std::size_t>(n) * stride; }
  const Cell* at(std::uint32_t n) const { return cells.data() + static_cast<std::size_t>(n) * stride; }

  Cell* find_or_create(GroupKey key, const Layout& layout, SketchPools& pools) {
    auto [it, inserted] = slots.try_emplace(key, static_cast<std::uint32_t>(cells.size() / stride));
    if (inserted) {
      cells.resize(cells.size() + stride);
      layout.init(at(it->second), pools);
    }
    return at(it->second);
  }
  const Cell* find(GroupKey key) const {
    auto it = slots.find(key);
    return it == slots.end() ? nullptr : at(it->second);
  }
  void reset(const Layout& layout, SketchPools& pools) {
    for (std::size_t n = 0; n < cells.size() / stride; ++n) layout.release(at(static_cast<std::uint32_t>(n)), pools);
    slots.clear();
    cells.clear();
  }
  std::size_t bytes() const {
    return sizeof(*this) + slots.bucket_count() * (sizeof(std::pair<GroupKey, std::uint32_t>) + 1) +
           cells.capacity() * sizeof(Cell);
  }
};

struct KeyEmit {
  std::int64_t last_emit = kLongAgo;
  std::int64_t lo = 0;  // dirty pane range
  std::int64_t hi = 0;
  bool dirty = false;
};

struct WinKey {
  GroupKey key;
  std::int64_t j;
  friend bool operator==(const WinKey&, const WinKey&) = default;
};
struct WinKeyHash {
  std::size_t operator()(const WinKey& k) const {
    return static_cast<std::size_t>(k.key * 0x9e3779b97f4a7c15ULL ^ static_cast<std::uint64_t>(k.j));
  }
};

class AlignedView final : public ViewState {
 public:
  explicit AlignedView(ViewCore& core) : core_(core), tmp_(core) {
    const auto& w = core.spec.window;
    size_ = w.size.count();
    adv_ = w.kind == WindowKind::kTumbling ? size_ : w.advance.count();
    std::int64_t a = size_;
    std::int64_t b = adv_;
    while (b != 0) {
      const std::int64_t t = a % b;
      a = b;
      b = t;
    }
    pane_ = a;
    ppw_ = size_ / pane_;
    apw_ = adv_ / pane_;
    next_j_ = floor_div(kMinEventTimeMs - size_, adv_) - 1;
    acc_.stride = core.layout.stride();
  }

  bool add(const Event& e, std::int64_t lwm) override {
    const std::int64_t t = e.time_ms;
    PaneTable* pt;
    if (hot_ != nullptr && t >= hot_lo_ && t < hot_hi_) {
      if (hot_close_ <= lwm) return false;
      pt = hot_;
    } else {
      const std::int64_t jmax = floor_div(t, adv_);
      if (jmax * adv_ + size_ + core_.lateness <= lwm) return false;
      pt = pane(floor_div(t, pane_));
      hot_ = pt;
      hot_lo_ = pt->index * pane_;
      hot_hi_ = hot_lo_ + pane_;
      hot_close_ = jmax * adv_ + size_ + core_.lateness;
    }
    const bool sampled = core_.layout.update(pt->find_or_create(e.key, core_.layout, core_.pools), core_.pools, e);
    if (core_.early) mark_dirty(e.key, pt->index);
    if (!core_.want_placement) return true;
    Placement& pl = core_.placement;
    pl.sampled = sampled;
    // Windows containing t that are still open: end + lateness > lwm (a
    // closed window never takes an event, see close()).
    const std::int64_t j_hi = floor_div(t, adv_);
    const std::int64_t j_lo = std::max(floor_div(t - size_, adv_) + 1, floor_div(lwm - core_.lateness - size_, adv_) + 1);
    pl.windows = static_cast<std::uint32_t>(j_hi - j_lo + 1);
    pl.first_start_ms = j_lo * adv_;
    pl.last_end_ms = j_hi * adv_ + size_;
    return true;
  }

  void close(std::int64_t wm, Sink& sink) override {
    const std::int64_t j_last = floor_div(wm - core_.lateness - size_, adv_);
    if (j_last < next_j_) return;
    std::size_t pi = 0;
    std::int64_t j = next_j_;
    while (pi < panes_.size()) {
      j = std::max(j, first_window(panes_[pi]->index));
      if (j > j_last) break;
      close_window(j, pi, sink);
      ++j;
      while (pi < panes_.size() && last_window(panes_[pi]->index) < j) ++pi;
    }
    next_j_ = j_last + 1;
    std::size_t purge = 0;
    while (purge < panes_.size() && last_window(panes_[purge]->index) <= j_last) ++purge;
    for (std::size_t k = 0; k < purge; ++k) {
      panes_[k]->reset(core_.layout, core_.pools);
      spare_.push_back(std::move(panes_[k]));
    }
    if (purge > 0) {
      panes_.erase(panes_.begin(), panes_.begin() + static_cast<std::ptrdiff_t>(purge));
      hot_ = nullptr;
    }
  }

  void emit_early(std::int64_t now, Sink& sink) override {
    for (auto& [key, ke] : key_emit_) {
      if (!ke.dirty || (ke.last_emit <= now && now - ke.last_emit < core_.min_interval)) continue;
      const std::int64_t jlo = std::max(next_j_, first_window(ke.lo));
      const std::int64_t jhi = last_window(ke.hi);
      for (std::int64_t j = jlo; j <= jhi; ++j) {
        Cell* s = merged(key, j);
        if (s == nullptr) continue;
        auto& rev = revs_[WinKey{key, j}];
        ++rev;
        sink.emit(key, j * adv_, j * adv_ + size_, rev, false, s);
      }
      tmp_.release(core_);
      ke.dirty = false;
      ke.last_emit = now;
    }
    const std::int64_t min_interval = core_.min_interval;
    boost::unordered::erase_if(key_emit_, [&](const auto& kv) {
      return !kv.second.dirty && now - kv.second.last_emit >= min_interval;
    });
  }

  void query_open(GroupKey key, std::vector<WindowValue>& out) const override {
    std::vector<std::int64_t> js;
    for (const auto& p : panes_) {
      if (p->find(key) == nullptr) continue;
      for (std::int64_t j = std::max(next_j_, first_window(p->index)); j <= last_window(p->index); ++j) js.push_back(j);
    }
    std::sort(js.begin(), js.end());
    js.erase(std::unique(js.begin(), js.end()), js.end());
    auto* self = const_cast<AlignedView*>(this);  // temp slot only
    for (const std::int64_t j : js) {
      const Cell* s = self->merged(key, j);
      if (s == nullptr) continue;
      const auto it = revs_.find(WinKey{key, j});
      out.push_back(make_value(core_, key, j * adv_, j * adv_ + size_, it == revs_.end() ? 0 : it->second, s));
    }
    self->tmp_.release(core_);
  }

  void open_keys(std::vector<GroupKey>& out) const override {
    boost::unordered_flat_set<GroupKey> keys;
    for (const auto& p : panes_) {
      for (const auto& kv : p->slots) keys.insert(kv.first);
    }
    out.assign(keys.begin(), keys.end());
  }

  void stats(ViewStats& s) const override {
    std::size_t bytes = sizeof(*this) + panes_.capacity() * sizeof(void*) + spare_.capacity() * sizeof(void*) +
                        acc_.bytes() + tmp_.bytes() +
                        key_emit_.bucket_count() * (sizeof(std::pair<GroupKey, KeyEmit>) + 1) +
                        revs_.bucket_count() * (sizeof(std::pair<WinKey, std::uint32_t>) + 1);
    for (const auto& p : panes_) bytes += p->bytes();
    for (const auto& p : spare_) bytes += p->bytes();
    s.state_bytes += bytes;
    // Open key-windows: for each open window, the number of keys with data in it.
    if (ppw_ == 1) {
      for (const auto& p : panes_) s.open_windows += p->slots.size();
      return;
    }
    std::vector<std::int64_t> js;
    for (const auto& p : panes_) {
      for (std::int64_t j = std::max(next_j_, first_window(p->index)); j <= last_window(p->index); ++j) js.push_back(j);
    }
    std::sort(js.begin(), js.end());
    js.erase(std::unique(js.begin(), js.end()), js.end());
    boost::unordered_flat_set<GroupKey> keys;
    for (const std::int64_t j : js) {
      keys.clear();
      for (const auto& p : panes_) {
        if (p->index >= j * apw_ && p->index < j * apw_ + ppw_) {
          for (const auto& kv : p->slots) keys.insert(kv.first);
        }
      }
      s.open_windows += keys.size();
    }
  }

  void write(ByteWriter& w) const override {
    w.i64(next_j_);
    w.u8(0);  // once "merged from another replica"; snapshots keep the byte
    w.u64(panes_.size());
    std::vector<std::pair<GroupKey, std::uint32_t>> sorted;
    for (const auto& p : panes_) {
      w.i64(p->index);
      sorted.assign(p->slots.begin(), p->slots.end());
      std::sort(sorted.begin(), sorted.end());
      w.u64(sorted.size());
      for (const auto& [key, n] : sorted) {
        w.u64(key);
        core_.layout.write(w, p->at(n), core_.pools);
      }
    }
    std::vector<std::pair<GroupKey, KeyEmit>> ke(key_emit_.begin(), key_emit_.end());
    std::sort(ke.begin(), ke.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    w.u64(ke.size());
    for (const auto& [key, e] : ke) {
      w.u64(key);
      w.i64(e.last_emit);
      w.i64(e.lo);
      w.i64(e.hi);
      w.u8(e.dirty ? 1 : 0);
    }
    std::vector<std::pair<WinKey, std::uint32_t>> rv(revs_.begin(), revs_.end());
    std::sort(rv.begin(), rv.end(), [](const auto& a, const auto& b) {
      return a.first.key != b.first.key ? a.first.key < b.first.key : a.first.j < b.first.j;
    });
    w.u64(rv.size());
    for (const auto& [k, r] : rv) {
      w.u64(k.key);
      w.i64(k.j);
      w.u32(r);
    }
  }

  bool read(ByteReader& r) override {
    next_j_ = r.i64();
    if (r.u8() != 0) return false;  // merged state: no engine writes it any more
    const std::uint64_t npanes = r.count(16);
    std::int64_t prev = std::numeric_limits<std::int64_t>::min();
    for (std::uint64_t k = 0; k < npanes && r.ok(); ++k) {
      const std::int64_t index = r.i64();
      if (index <= prev || index < floor_div(kMinEventTimeMs, pane_) || index > floor_div(kMaxEventTimeMs, pane_)) {
        return false;
      }
      prev = index;
      PaneTable* p = pane(index);
      const std::uint64_t nslots = r.count(24);
      for (std::uint64_t n = 0; n < nslots && r.ok(); ++n) {
        const GroupKey key = r.u64();
        if (p->slots.contains(key)) return false;
        if (!core_.layout.read(r, p->find_or_create(key, core_.layout, core_.pools), core_.pools)) return false;
      }
    }
    const std::uint64_t nke = r.count(33);
    for (std::uint64_t k = 0; k < nke && r.ok(); ++k) {
      const GroupKey key = r.u64();
      KeyEmit e;
      e.last_emit = r.i64();
      e.lo = r.i64();
      e.hi = r.i64();
      e.dirty = r.u8() != 0;
      key_emit_[key] = e;
    }
    const std::uint64_t nrv = r.count(20);
    for (std::uint64_t k = 0; k < nrv && r.ok(); ++k) {
      const GroupKey key = r.u64();
      const std::int64_t j = r.i64();
      revs_[WinKey{key, j}] = r.u32();
    }
    hot_ = nullptr;
    return r.ok();
  }

 private:
  // Windows containing pane p: [first_window(p), last_window(p)].
  std::int64_t first_window(std::int64_t p) const { return floor_div(p - ppw_, apw_) + 1; }
  std::int64_t last_window(std::int64_t p) const { return floor_div(p, apw_); }

  PaneTable* pane(std::int64_t index) {
    auto it = std::lower_bound(panes_.begin(), panes_.end(), index,
                               [](const std::unique_ptr<PaneTable>& p, std::int64_t i) { return p->index < i; });
    if (it != panes_.end() && (*it)->index == index) return it->get();
    std::unique_ptr<PaneTable> p;
    if (!spare_.empty()) {
      p = std::move(spare_.back());
      spare_.pop_back();
    } else {
      p = std::make_unique<PaneTable>();
      p->stride = core_.layout.stride();
    }
    p->index = index;
    return panes_.insert(it, std::move(p))->get();
  }

  const PaneTable* find_pane(std::int64_t index) const {
    auto it = std::lower_bound(panes_.begin(), panes_.end(), index,
                               [](const std::unique_ptr<PaneTable>& p, std::int64_t i) { return p->index < i; });
    return it != panes_.end() && (*it)->index == index ? it->get() : nullptr;
  }

  void mark_dirty(GroupKey key, std::int64_t p) {
    KeyEmit& ke = key_emit_[key];
    if (!ke.dirty) {
      ke.dirty = true;
      ke.lo = ke.hi = p;
    } else {
      ke.lo = std::min(ke.lo, p);
      ke.hi = std::max(ke.hi, p);
    }
  }

  // The key's value over window j in tmp_, or nullptr when it has no data.
  Cell* merged(GroupKey key, std::int64_t j) {
    Cell* s = nullptr;
    auto it = std::lower_bound(panes_.begin(), panes_.end(), j * apw_,
                               [](const std::unique_ptr<PaneTable>& p, std::int64_t i) { return p->index < i; });
    for (; it != panes_.end() && (*it)->index < j * apw_ + ppw_; ++it) {
      const Cell* src = (*it)->find(key);
      if (src == nullptr) continue;
      if (s == nullptr) s = tmp_.reset(core_);
      core_.layout.merge(s, core_.pools, src, core_.pools);
    }
    return s;
  }

  void close_window(std::int64_t j, std::size_t pi, Sink& sink) {
    const std::int64_t hi = j * apw_ + ppw_;
    std::size_t end = pi;
    while (end < panes_.size() && panes_[end]->index < hi) ++end;
    if (end == pi) return;
    if (end == pi + 1) {
      PaneTable& p = *panes_[pi];
      for (const auto& [key, n] : p.slots) emit_closing(key, j, p.at(n), sink);
      return;
    }
    acc_.reset(core_.layout, core_.pools);
    for (std::size_t k = pi; k < end; ++k) {
      const PaneTable& p = *panes_[k];
      for (const auto& [key, n] : p.slots) {
        core_.layout.merge(acc_.find_or_create(key, core_.layout, core_.pools), core_.pools, p.at(n), core_.pools);
      }
    }
    for (const auto& [key, n] : acc_.slots) emit_closing(key, j, acc_.at(n), sink);
    acc_.reset(core_.layout, core_.pools);
  }

  void emit_closing(GroupKey key, std::int64_t j, const Cell* slot, Sink& sink) {
    const std::int64_t start = j * adv_;
    if (!core_.early) {
      sink.emit(key, start, start + size_, 1, true, slot);
      return;
    }
    std::uint32_t rev = 0;
    if (auto it = revs_.find(WinKey{key, j}); it != revs_.end()) {
      rev = it->second;
      revs_.erase(it);
    }
    if (core_.flush_only_changed && rev > 0) {
      const auto it = key_emit_.find(key);
      const bool changed = it != key_emit_.end() && it->second.dirty && it->second.lo < j * apw_ + ppw_ &&
                           it->second.hi >= j * apw_;
      if (!changed) return;
    }
    sink.emit(key, start, start + size_, rev + 1, true, slot);
  }

  ViewCore& core_;
  std::int64_t size_ = 0;
  std::int64_t adv_ = 0;
  std::int64_t pane_ = 0;
  std::int64_t ppw_ = 0;  // panes per window
  std::int64_t apw_ = 0;  // panes per advance
  std::int64_t next_j_ = 0;  // windows j < next_j_ are closed
  std::vector<std::unique_ptr<PaneTable>> panes_;  // sorted by index
  std::vector<std::unique_ptr<PaneTable>> spare_;  // recycled, capacity kept
  PaneTable* hot_ = nullptr;
  std::int64_t hot_lo_ = 0;
  std::int64_t hot_hi_ = 0;
  std::int64_t hot_close_ = 0;
  PaneTable acc_;
  TempSlot tmp_;
  boost::unordered_flat_map<GroupKey, KeyEmit> key_emit_;
  boost::unordered_flat_map<WinKey, std::uint32_t, WinKeyHash> revs_;
};

}  // namespace

std::unique_ptr<ViewState> make_aligned_view(ViewCore& core) { return std::make_unique<AlignedView>(core); }

}  // namespace ioc::window::detail
