#pragma once
/// Checkpoint: the alerter's state on local disk — the rules' state
/// (windows, baselines, silence, lifecycles), the published alert events it
/// knows, and the ioc.aggregates.v1 offsets that state covers. Written
/// atomically (temporary file, fsync, rename, fsync of the folder), so a
/// kill -9 leaves the previous or the new checkpoint, never a torn one; a
/// checksum catches anything else. It outlives an embedded broker's
/// restart, which loses every topic.
/// Blocking file I/O; not thread-safe (the poll thread owns it).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ioc/core/clock.hpp"
#include "ioc/core/model.hpp"
#include "ioc/core/result.hpp"

namespace ioc::alerter {

struct Checkpoint {
  std::string topic;
  std::map<std::int32_t, std::int64_t> offsets;  // partition -> next offset to read
  std::string rules;                             // Evaluator::snapshot()
  std::vector<AlertEvent> events;                // AlertBook::events()
  TimePoint written_at{};
};

std::string encode_checkpoint(const Checkpoint& c);
[[nodiscard]] Result<Checkpoint> decode_checkpoint(std::string_view bytes);

/// Writes `dir`/alerter.checkpoint atomically (creating `dir`).
[[nodiscard]] Status save_checkpoint(const std::string& dir, const Checkpoint& c);
/// The checkpoint in `dir`; nullopt when there is none. A damaged file is
/// an error (kDataLoss) naming it.
[[nodiscard]] Result<std::optional<Checkpoint>> load_checkpoint(const std::string& dir);

}  // namespace ioc::alerter
