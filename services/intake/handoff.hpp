#pragma once
/// Handoff: how an accepted report becomes durable — the broker's
/// acknowledgement, or the spool — and how spooled reports reach the broker.
///
/// The answer deadline and the record's lifetime are two things. A report
/// is produced at once and answered "accepted" with the broker's
/// acknowledgement; when none came within the answer deadline
/// (intake.delivery_timeout) — a leader failing over, a broker holding
/// acks=all writes until a dead replica leaves the in-sync set — the report
/// is fsync'ed to the spool *held* and answered "queued", while its record
/// stays with the producer, which retries it (idempotent: it lands once).
/// When the record lands, the spooled copy is settled and never sent; only
/// when it fails for good does the replayer send the copy. A report goes to
/// the spool at once, not held (it is never produced before the replayer
/// sends it), when no broker can be reached or older reports wait in the
/// spool, held ones included: they keep their order, and while the broker
/// is slow only the first reports wait for the deadline. Without a spool,
/// the producer's own timeout is the deadline: a report it gives up on is
/// answered 503.
///
/// The spool's SpoolReplayer (spool_replayer.hpp) sends spooled reports to
/// the broker; the Handoff wakes it when a report is spooled, or a held one
/// settled or released.
///
/// Time comes from the injected clock. expire() and replay_step() each do
/// one step and never block, for tests; start() runs them on two threads.
/// Thread-safe. The outlet's delivery callbacks refer to the Handoff: they
/// must all have run (purge the producer) before it is destroyed.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "ioc/core/clock.hpp"
#include "ioc/core/result.hpp"
#include "outlet.hpp"
#include "spool.hpp"
#include "spool_replayer.hpp"

namespace ioc::intake {

/// The answer to one submission: where the report is durable, or why it is
/// not (nothing was stored: 503).
struct Verdict {
  enum class Kind {
    kAccepted,           // the broker stored it
    kQueued,             // fsync'ed to the spool
    kBrokerUnavailable,  // no spool, and the broker did not take it
    kSpoolRefused,       // neither the broker nor the spool took it
  };
  Kind kind = Kind::kAccepted;
  std::string why;  // for the failures
};

/// A report to take to the broker.
struct Outgoing {
  std::string id;          // the report's
  std::string request_id;  // of the request that brought it, for log lines
  std::string key;         // partition key (the district)
  std::string bytes;       // encoded ioc.v1.Report
};

struct HandoffOptions {
  /// How long a report waits for the broker's acknowledgement before it is
  /// spooled and answered "queued" (with a spool).
  std::chrono::milliseconds answer_deadline{5'000};
  std::size_t replay_batch = 500;
  /// Pause after a replay round that did not deliver everything.
  std::chrono::milliseconds replay_backoff{1'000};
};

/// What the Handoff tells its owner, on any thread (each may be empty).
struct HandoffHooks {
  /// A report answered "queued" reached the broker (its original record
  /// arrived, or the replayer sent it).
  std::function<void(std::string_view id)> delivered;
  /// The replayer delivered `n` spooled reports.
  std::function<void(std::size_t n)> replayed;
  /// The spool refused a report (full, I/O error).
  std::function<void()> spool_refused;
  /// Passed to the replayer (ReplayHooks): what the topic holds is known;
  /// a report is on it already; `n` spooled reports were settled unsent.
  std::function<bool()> topic_known;
  std::function<bool(const Report& r)> stored;
  std::function<void(std::size_t n)> skipped;
};

class Handoff {
 public:
  using Answer = std::function<void(const Verdict&)>;

  /// `spool` may be null (no spool); it and `outlet` must outlive this.
  Handoff(Outlet& outlet, Spool* spool, const Clock& clock, HandoffOptions options, HandoffHooks hooks = {});
  ~Handoff();
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  /// Takes `report` towards the broker; `answer` runs exactly once, on any
  /// thread.
  void submit(Outgoing report, Answer answer);

  /// Spools (held) every report whose answer deadline has passed; returns
  /// the next deadline, if any report waits.
  std::optional<TimePoint> expire();
  /// One step of the replayer (SpoolReplayer::step()); false without a spool.
  bool replay_step();
  /// The broker may be reachable again: the replayer goes on, if it waits.
  /// Never blocks.
  void wake_replayer();

  /// Runs expire() and the replayer on their own threads until stop().
  void start();
  /// Stops the threads. Reports still waiting for the broker keep their
  /// callbacks: their answers come with the outcome (or the purge).
  void stop();

  /// Reports produced and not yet answered.
  std::size_t waiting() const;

 private:
  struct Parcel;

  void on_delivery(const std::shared_ptr<Parcel>& p, const kafka::DeliveryReport& d);
  void on_held(const std::shared_ptr<Parcel>& p, const Status& st, std::uint64_t seq);
  // Spools a report not held (its record failed, or was never produced).
  void spool_it(const std::shared_ptr<Parcel>& p, std::string why);
  // The replayer found the spool empty: says so once after reports went there.
  void on_spool_empty();

  Outlet& outlet_;
  Spool* spool_;
  const Clock& clock_;
  HandoffOptions opts_;
  HandoffHooks hooks_;

  mutable std::mutex mu_;
  std::condition_variable deadline_cv_;
  std::deque<std::shared_ptr<Parcel>> deadlines_;  // by deadline; answered ones are dropped lazily
  std::size_t waiting_ = 0;
  std::size_t appending_ = 0;  // spool appends not yet on disk
  bool spooling_logged_ = false;
  bool stop_ = false;
  std::thread deadline_thread_;
  std::unique_ptr<SpoolReplayer> replayer_;  // with a spool
};

}  // namespace ioc::intake
