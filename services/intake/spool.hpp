#pragma once
/// Spool: the intake's local write-ahead log for reports the broker could
/// not take (unreachable, or too slow to acknowledge). A report is answered
/// 202 "queued" only after its record is on disk (fdatasync), and a replayer
/// hands records back to Kafka in append order, acknowledging them with
/// ack() once the broker stored them.
///
/// A record may be appended *held*: the report's original Kafka record is
/// still on its way (the broker was only slow to answer). The replayer does
/// not pass a held record — sending a copy while the original may still
/// arrive would store the report twice. When the original arrives, settle()
/// marks the record delivered (a small mark record says so on disk, so a
/// restart does not replay it either); when the original fails, release()
/// hands it to the replayer. A restart finds every record not delivered,
/// held ones included, ready to replay.
///
/// On disk, `dir` holds segment files `seg-<first seq, 20 digits>.log` and a
/// `cursor` file (the first sequence number not yet delivered, written with
/// rename). A record is a 24-byte header — magic "IOCS", payload length,
/// sequence number, CRC-32, kind (byte 20: 0 a report, 1 a mark whose
/// payload is the sequence number of a report delivered by its original;
/// the CRC covers sequence number, payload and, for marks, the kind) — then
/// the payload. Opening the spool scans every segment:
///   - a torn tail of the last segment (a crash during a write, so never
///     acknowledged to a client) is cut off, with a warning;
///   - a corrupt record elsewhere is reported (error log with file and
///     offset, corrupt_records()), its bytes are copied to
///     `dir/corrupt/` for inspection, and the records after it are kept.
/// Appends are group-committed by one writer thread: concurrent requests
/// share an fdatasync. A write that fails (disk full, I/O error) or would
/// pass `max_bytes` is refused with a clear error and cut back, so the
/// records before it stay intact (marks are never refused for `max_bytes`).
///
/// Thread-safe: append(), settle(), release() from any thread; peek()/ack()
/// from one replayer thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ioc/core/result.hpp"

namespace ioc::intake {

struct SpoolOptions {
  std::string dir;
  std::uint64_t max_bytes = std::uint64_t{1} << 30;    // all segments together
  std::uint64_t segment_bytes = std::uint64_t{16} << 20;  // a new segment starts past this
};

struct SpooledRecord {
  std::uint64_t seq = 0;
  std::string payload;
};

class Spool {
 public:
  static constexpr std::size_t kHeaderBytes = 24;
  static constexpr std::uint32_t kMaxPayloadBytes = 16u << 20;

  /// Opens or creates the spool and recovers it. Throws ConfigError when
  /// `dir` cannot be created, read or written.
  explicit Spool(SpoolOptions options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// Appends `payload` durably; `done` runs on the writer thread with ok()
  /// and the record's sequence number once it is on disk, or with the
  /// reason it is not (the record is then not in the spool; seq 0). After
  /// close(), fails at once. `held`: see above.
  using OnAppended = std::function<void(const Status&, std::uint64_t seq)>;
  void append(std::string payload, OnAppended done, bool held = false);

  /// The held record `seq` was delivered by its original: it is never
  /// replayed. Writes a mark (asynchronously, no waiting).
  void settle(std::uint64_t seq);
  /// The held record `seq`'s original failed: the replayer may send it.
  void release(std::uint64_t seq);

  /// What the replayer may send now: the next up-to-`max` undelivered
  /// records after `after_seq` (0: from the oldest), oldest first, up to
  /// the first held one. Reads from disk.
  Result<std::vector<SpooledRecord>> peek(std::size_t max, std::uint64_t after_seq = 0) const;
  /// Records with seq <= `through` were delivered: advances the cursor
  /// (durably) and deletes segments with nothing left to deliver.
  Status ack(std::uint64_t through);

  /// Undelivered records (held ones included) and bytes on disk (all live
  /// segments).
  std::uint64_t depth() const;
  std::uint64_t bytes() const;
  /// Undelivered records whose original is still on its way.
  std::uint64_t held() const;
  /// Undelivered records not held: what waits for the replayer.
  std::uint64_t replayable() const;
  /// Corrupt regions found at open.
  std::uint64_t corrupt_records() const { return corrupt_; }
  /// Appends refused because of an I/O error or max_bytes.
  std::uint64_t failed_appends() const;
  /// A report was refused for max_bytes and nothing was deleted since: the
  /// spool takes no report until delivered segments go.
  bool full() const;

  /// Finishes pending appends and stops the writer. Idempotent.
  void close();

 private:
  struct Segment;
  enum class State : std::uint8_t { kReady, kHeld, kDone };
  struct Entry {
    std::uint64_t seq;
    std::shared_ptr<Segment> segment;
    std::uint64_t offset;  // of the payload
    std::uint32_t length;
    State state = State::kReady;
  };
  struct Pending {
    std::string payload;
    OnAppended done;    // empty for a mark
    bool mark = false;  // payload: the seq of a settled report
    bool held = false;
  };

  void recover();
  void scan(const std::shared_ptr<Segment>& seg, bool last, std::vector<std::uint64_t>& settled);
  void writer_loop();
  Status write_batch(std::vector<Pending>& batch, std::vector<char>& accepted, std::vector<Entry>& written);
  Status open_segment(std::uint64_t first_seq);
  Status write_cursor(std::uint64_t next);
  Entry* find(std::uint64_t seq);  // under mu_; nullptr when not undelivered
  std::uint64_t pop_delivered();   // under mu_: drops the delivered prefix; the cursor it allows
  void delete_delivered_segments();

  SpoolOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool closing_ = false;
  std::map<std::uint64_t, std::shared_ptr<Segment>> segments_;  // by first seq
  std::shared_ptr<Segment> active_;
  std::deque<Entry> undelivered_;  // by seq; kDone ones only behind a not-done one
  std::uint64_t held_ = 0;         // entries kHeld
  std::uint64_t done_ = 0;         // entries kDone still in undelivered_
  std::uint64_t next_seq_ = 1;
  std::uint64_t cursor_ = 1;  // first seq not yet delivered
  std::uint64_t bytes_ = 0;
  bool full_ = false;  // see full()
  std::uint64_t corrupt_ = 0;
  std::uint64_t failed_ = 0;
  std::thread writer_;
};

}  // namespace ioc::intake
