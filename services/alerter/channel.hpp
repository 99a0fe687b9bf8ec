#pragma once
/// AlertChannel: where alerts go besides ioc.alerts.v1 — Alertmanager
/// (Notifier), and any channel to come (a CAP feed, SMS). A channel hears
/// the states someone must be told of: firing and resolved, never pending
/// or inactive. notify() never blocks (a channel queues and delivers on its
/// own thread); it may be called from the alerter's poll thread only.

#include "ioc/core/model.hpp"

namespace ioc::alerter {

class AlertChannel {
 public:
  virtual ~AlertChannel() = default;
  /// An alert's firing or resolved state. `resend`: the channel was told
  /// this state before (a periodic reminder, so that nothing it lost stays
  /// wrong there).
  virtual void notify(const AlertEvent& e, bool resend) = 0;
};

}  // namespace ioc::alerter
