#pragma once
/// ioc::window — event-time window engine. Pure computation: no clock reads, no
/// I/O, no threads; events and processing time are passed in.
///
/// Central idea: every window is assembled from mergeable partial aggregates of
/// slices of event time, and a slice is never touched again once the watermark
/// has closed every window that contains it. Tumbling and hopping windows share
/// panes of gcd(size, advance) ms (an event updates one slot, however many
/// windows overlap); sliding windows keep one slot per distinct event time;
/// sessions keep one slot per session and merge slots when a late event bridges
/// two. Because every aggregation (count, sum, min, max, mean, last,
/// count_where, HyperLogLog distinct, DDSketch quantiles) merges, the same
/// operation builds windows from slices, merges sessions and merges snapshots of
/// engines that owned different partitions.
///
/// Event time: partition watermark = max event time − out_of_orderness; the
/// operator watermark is the min over assigned, non-idle partitions, and when
/// nothing has arrived for idle_timeout it follows processing time
/// (now − out_of_orderness), so quiet keys still get final results. A window
/// closes when watermark ≥ end + allowed_lateness: the final result is emitted
/// (revision = 1 + early results) and its state is purged. add() reports an
/// event whose windows are all closed as late (and counts it), for the caller
/// to set aside: never dropped silently. Early results (on-update) are
/// rate-limited per key.
///
/// Exact semantics per window kind (what the property tests check against a
/// brute-force oracle):
///   tumbling/hopping: window j = [j·advance, j·advance + size); an event is late
///     iff the last window containing it is closed; a window's final result
///     covers the accepted events in it that arrived before it closed;
///   sliding(d): for each distinct time t of a key, [t − d, t] and, if an event
///     lies in (t, t + d], [t + 1, t + d + 1] (inclusive, as Kafka Streams;
///     reported as [start, end) with end = last ms + 1); late iff t + lateness <
///     watermark; windows are over all accepted events;
///   session(gap): events less than gap apart form a session [first, last + gap);
///     late iff t + lateness < watermark.
///
/// Headers: spec.hpp (ViewSpec, validation), event.hpp (Event, EventOutcome),
/// result.hpp (WindowResult, WindowValue), engine.hpp (Engine), watermark.hpp
/// (WatermarkTracker), sketch.hpp (HyperLogLog, DDSketch and their error bounds).
/// Thread-safety: see each class; nothing is thread-safe for mutation.

#include "ioc/window/engine.hpp"
#include "ioc/window/event.hpp"
#include "ioc/window/result.hpp"
#include "ioc/window/sketch.hpp"
#include "ioc/window/spec.hpp"
#include "ioc/window/watermark.hpp"
