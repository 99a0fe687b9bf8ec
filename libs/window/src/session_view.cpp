// Session windows: events of a key closer than `gap` belong to one session
// [first, last + gap). Each key keeps its open sessions sorted and disjoint; an
// event that overlaps several (a late event bridging two incidents) merges them
// into one, whose revision continues from the highest of the parts.

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>

#include "view_state.hpp"

namespace ioc::window::detail {
namespace {

struct Session {
  std::int64_t start;
  std::int64_t last;
  std::uint32_t slot;
  std::uint32_t rev;
  bool dirty;
};

struct SessionKey {
  std::vector<Session> sessions;  // sorted by start, disjoint
  std::int64_t last_emit = kLongAgo;
  bool dirty = false;
};

class SessionView final : public ViewState {
 public:
  explicit SessionView(ViewCore& core) : core_(core), gap_(core.spec.window.gap.count()), arena_(core.layout.stride()) {}

  bool add(const Event& e, std::int64_t lwm) override {
    const std::int64_t t = e.time_ms;
    if (t + core_.lateness < lwm) return false;
    SessionKey& k = keys_[e.key];
    Session& s = place(k, t);
    const bool sampled = core_.layout.update(arena_.at(s.slot), core_.pools, e);
    if (core_.want_placement) core_.placement = Placement{1, s.start, s.last + gap_, sampled};
    s.dirty = true;
    k.dirty = true;
    min_end_ = std::min(min_end_, s.last + gap_);
    return true;
  }

  void close(std::int64_t wm, Sink& sink) override {
    const std::int64_t limit = wm - core_.lateness;
    if (limit < min_end_) return;
    std::int64_t next = kNever;
    for (auto& [key, k] : keys_) {
      auto& ss = k.sessions;
      std::size_t closed = 0;
      // Sessions are disjoint and sorted, so their ends are sorted too.
      while (closed < ss.size() && ss[closed].last + gap_ <= limit) {
        Session& s = ss[closed];
        if (!(core_.flush_only_changed && s.rev > 0 && !s.dirty)) {
          sink.emit(key, s.start, s.last + gap_, s.rev + 1, true, arena_.at(s.slot));
        }
        core_.layout.release(arena_.at(s.slot), core_.pools);
        arena_.free(s.slot);
        ++closed;
      }
      ss.erase(ss.begin(), ss.begin() + static_cast<std::ptrdiff_t>(closed));
      if (!ss.empty()) next = std::min(next, ss.front().last + gap_);
    }
    min_end_ = next;
    const std::int64_t now = last_now_;
    const std::int64_t min_interval = core_.min_interval;
    const bool early = core_.early;
    boost::unordered::erase_if(keys_, [&](const auto& kv) {
      return kv.second.sessions.empty() && (!early || now - kv.second.last_emit >= min_interval);
    });
  }

  void emit_early(std::int64_t now, Sink& sink) override {
    last_now_ = now;
    for (auto& [key, k] : keys_) {
      if (!k.dirty || (k.last_emit <= now && now - k.last_emit < core_.min_interval)) continue;
      for (Session& s : k.sessions) {
        if (!s.dirty) continue;
        ++s.rev;
        s.dirty = false;
        sink.emit(key, s.start, s.last + gap_, s.rev, false, arena_.at(s.slot));
      }
      k.dirty = false;
      k.last_emit = now;
    }
  }

  void query_open(GroupKey key, std::vector<WindowValue>& out) const override {
    auto it = keys_.find(key);
    if (it == keys_.end()) return;
    for (const Session& s : it->second.sessions) {
      out.push_back(make_value(core_, key, s.start, s.last + gap_, s.rev, arena_.at(s.slot)));
    }
  }

  void open_keys(std::vector<GroupKey>& out) const override {
    for (const auto& [key, k] : keys_) {
      if (!k.sessions.empty()) out.push_back(key);
    }
  }

  void stats(ViewStats& st) const override {
    std::size_t bytes = sizeof(*this) + arena_.bytes() + keys_.bucket_count() * (sizeof(std::pair<GroupKey, SessionKey>) + 1);
    for (const auto& [key, k] : keys_) {
      bytes += k.sessions.capacity() * sizeof(Session);
      st.open_windows += k.sessions.size();
    }
    st.state_bytes += bytes;
  }

  void write(ByteWriter& w) const override {
    w.i64(min_end_);
    w.i64(last_now_);
    const std::vector<GroupKey> order = sorted_keys(keys_);
    w.u64(order.size());
    for (const GroupKey key : order) {
      const SessionKey& k = keys_.find(key)->second;
      w.u64(key);
      w.i64(k.last_emit);
      w.u8(k.dirty ? 1 : 0);
      w.u64(k.sessions.size());
      for (const Session& s : k.sessions) {
        w.i64(s.start);
        w.i64(s.last);
        w.u32(s.rev);
        w.u8(s.dirty ? 1 : 0);
        core_.layout.write(w, arena_.at(s.slot), core_.pools);
      }
    }
  }

  bool read(ByteReader& r) override {
    min_end_ = r.i64();
    last_now_ = r.i64();
    const std::uint64_t n = r.count(25);
    for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
      const GroupKey key = r.u64();
      if (keys_.contains(key)) return false;
      SessionKey& k = keys_[key];
      k.last_emit = r.i64();
      k.dirty = r.u8() != 0;
      const std::uint64_t ns = r.count(37);
      for (std::uint64_t j = 0; j < ns && r.ok(); ++j) {
        Session s{r.i64(), r.i64(), 0, r.u32(), r.u8() != 0};
        if (s.last < s.start || (!k.sessions.empty() && s.start < k.sessions.back().last + gap_)) return false;
        s.slot = new_slot();
        k.sessions.push_back(s);
        if (!core_.layout.read(r, arena_.at(s.slot), core_.pools)) return false;
      }
    }
    return r.ok();
  }

 private:
  std::uint32_t new_slot() {
    const std::uint32_t s = arena_.allocate();
    core_.layout.init(arena_.at(s), core_.pools);
    return s;
  }

  // The session that an event at t belongs to, creating or merging as needed.
  Session& place(SessionKey& k, std::int64_t t) {
    auto& ss = k.sessions;
    // First session whose end (last + gap) is after t.
    auto first = std::partition_point(ss.begin(), ss.end(), [&](const Session& s) { return s.last + gap_ <= t; });
    auto stop = first;
    while (stop != ss.end() && stop->start < t + gap_) ++stop;
    if (first == stop) return *ss.insert(first, Session{t, t, new_slot(), 0, false});
    Session& into = *first;
    for (auto it = first + 1; it != stop; ++it) {
      core_.layout.merge(arena_.at(into.slot), core_.pools, arena_.at(it->slot), core_.pools);
      core_.layout.release(arena_.at(it->slot), core_.pools);
      arena_.free(it->slot);
      into.last = std::max(into.last, it->last);
      into.rev = std::max(into.rev, it->rev);
      into.dirty = into.dirty || it->dirty;
    }
    into.start = std::min(into.start, t);
    into.last = std::max(into.last, t);
    const auto offset = first - ss.begin();
    ss.erase(first + 1, stop);
    return ss[static_cast<std::size_t>(offset)];
  }

  // Extends the session starting at `start` to `last`, absorbing overlapped followers.
  void extend(SessionKey& k, std::int64_t start, std::int64_t last) {
    auto& ss = k.sessions;
    auto it = std::find_if(ss.begin(), ss.end(), [&](const Session& s) { return s.start == start; });
    if (it == ss.end()) return;
    it->last = std::max(it->last, last);
    auto next = it + 1;
    while (next != ss.end() && next->start < it->last + gap_) {
      core_.layout.merge(arena_.at(it->slot), core_.pools, arena_.at(next->slot), core_.pools);
      core_.layout.release(arena_.at(next->slot), core_.pools);
      arena_.free(next->slot);
      it->last = std::max(it->last, next->last);
      it->rev = std::max(it->rev, next->rev);
      it->dirty = it->dirty || next->dirty;
      ++next;
    }
    ss.erase(it + 1, next);
    min_end_ = std::min(min_end_, it->last + gap_);
  }

  ViewCore& core_;
  std::int64_t gap_;
  SlotArena arena_;
  boost::unordered_flat_map<GroupKey, SessionKey> keys_;
  std::int64_t min_end_ = kNever;
  std::int64_t last_now_ = kLongAgo;
};

}  // namespace

std::unique_ptr<ViewState> make_session_view(ViewCore& core) { return std::make_unique<SessionView>(core); }

}  // namespace ioc::window::detail
