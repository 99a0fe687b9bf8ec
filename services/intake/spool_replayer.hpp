#pragma once
/// SpoolReplayer: sends spooled reports to the broker, in order, a batch at
/// a time, while a broker is reachable, never past one whose original
/// record is still on its way (held); what it delivered is acknowledged to
/// the spool (records delivered past a failed one are settled, so a later
/// round does not send them twice).
///
/// Its thread sleeps until there is something to do: wake() (a report was
/// spooled or released, a held one settled, the broker became reachable),
/// the last outcome of its batch, or the backoff timer after a round that
/// did not deliver everything. Nothing is polled.
///
/// Time comes from the injected clock; step() does one step and never
/// blocks, for tests; start() runs steps on a thread. Thread-safe. The
/// outlet's delivery callbacks refer to the replayer: they must all have
/// run (purge the producer) before it is destroyed.

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"
#include "outlet.hpp"
#include "spool.hpp"

namespace ioc::intake {

struct ReplayOptions {
  std::size_t batch = 500;
  /// Pause after a round that did not deliver everything, or an unreadable
  /// spool.
  std::chrono::milliseconds backoff{1'000};
};

/// What the replayer tells its owner, on any thread (each may be empty).
struct ReplayHooks {
  /// A spooled report reached the broker.
  std::function<void(std::string_view id)> delivered;
  /// One round delivered `n` spooled reports.
  std::function<void(std::size_t n)> replayed;
  /// The replayer found the spool empty.
  std::function<void()> empty;
  /// Whether what the topic holds is known (the owner read it back since
  /// its start): until then nothing is replayed. Empty: always known.
  std::function<bool()> topic_known;
  /// A record of this report is on the topic already (a replay the crash
  /// of a previous run left unacknowledged, a report stored twice while
  /// the topic could not be read): its spooled copy is settled unsent.
  std::function<bool(const Report& r)> stored;
  /// One round settled `n` spooled reports unsent (stored before).
  std::function<void(std::size_t n)> skipped;
};

class SpoolReplayer {
 public:
  /// `outlet` and `spool` must outlive this.
  SpoolReplayer(Outlet& outlet, Spool& spool, const Clock& clock, ReplayOptions options, ReplayHooks hooks = {});
  ~SpoolReplayer();
  SpoolReplayer(const SpoolReplayer&) = delete;
  SpoolReplayer& operator=(const SpoolReplayer&) = delete;

  /// One step: finishes a batch whose outcomes are all in, or sends the
  /// next one. False when there was nothing to do.
  bool step();
  /// Something may let the replayer go on; never blocks.
  void wake();
  /// When the replayer tries again after a failed round (none: at once).
  std::optional<TimePoint> retry_at() const;

  /// Runs step() on a thread until stop().
  void start();
  void stop();

 private:
  struct Batch;

  void finish(const std::shared_ptr<Batch>& b);
  void run();

  Outlet& outlet_;
  Spool& spool_;
  const Clock& clock_;
  ReplayOptions opts_;
  ReplayHooks hooks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Batch> batch_;  // in flight
  std::optional<TimePoint> retry_at_;
  bool wake_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ioc::intake
