#pragma once
/// Checkpoint: the alerter's state on local disk — the rules' state
/// (windows, baselines, silence, lifecycles), the published alert events it
/// knows, and the ioc.aggregates.v1 offsets that state covers. Written
/// atomically (temporary file, fsync, rename, fsync of the folder), so a
/// kill -9 leaves the previous or the new checkpoint, never a torn one; a
/// checksum catches anything else. It outlives an embedded broker's
/// restart, which loses every topic.
/// Blocking file I/O; not thread-safe (the poll thread owns it).

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <optional>
#include <string>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"
#include "ioc/core/result.hpp"
#include "alert_book.hpp"

namespace ioc::alerter {

struct Checkpoint {
  /// The Kafka cluster the offsets belong to: an embedded broker that
  /// restarted is a new cluster with new, empty logs.
  std::string cluster_id;
  std::string topic;
  std::map<std::int32_t, std::int64_t> offsets;  // partition -> next offset to read
  std::string rules;                             // Evaluator::snapshot()
  std::vector<AlertEvent> events;                // AlertBook::events()
  std::vector<CapMessage> cap;                   // AlertBook::cap_messages()
  TimePoint written_at{};
};

std::string encode_checkpoint(const Checkpoint& c);
[[nodiscard]] Result<Checkpoint> decode_checkpoint(std::string_view bytes);

/// Writes `dir`/alerter.checkpoint atomically (creating `dir`).
[[nodiscard]] Status save_checkpoint(const std::string& dir, const Checkpoint& c);
/// The same with bytes from encode_checkpoint(), or any other state file `file`.
[[nodiscard]] Status save_checkpoint_bytes(const std::string& dir, const std::string& bytes,
                                           const std::string& file = "alerter.checkpoint");
/// The bytes of state file `file` in `dir`; nullopt when there is none.
[[nodiscard]] Result<std::optional<std::string>> load_state_file(const std::string& dir, const std::string& file);

/// Writes checkpoints on its own thread, so the poll loop never waits for
/// the disk: submit() hands over the encoded bytes (a newer checkpoint
/// replaces one not yet written), flush() waits until the last one is on
/// disk. `done` runs on the writer thread after each write. Thread-safe.
class CheckpointWriter {
 public:
  CheckpointWriter(std::string dir, std::function<void(const Status&)> done, std::string file = "alerter.checkpoint");
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  void submit(std::string bytes);
  /// Blocks until everything submitted so far is written (or failed).
  void flush();

 private:
  void loop();

  std::string dir_;
  std::string file_;
  std::function<void(const Status&)> done_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::string> pending_;
  bool writing_ = false;
  bool stop_ = false;
  std::thread thread_;
};
/// The checkpoint in `dir`; nullopt when there is none. A damaged file is
/// an error (kDataLoss) naming it.
[[nodiscard]] Result<std::optional<Checkpoint>> load_checkpoint(const std::string& dir);

}  // namespace ioc::alerter
