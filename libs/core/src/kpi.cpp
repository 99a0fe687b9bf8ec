#include "ioc/core/kpi.hpp"

namespace ioc {

Standing standing(const TransactionTotals& t, const KpiTargets& targets) {
  Standing s;
  if (t.count > 0) {
    s.online_rate = t.online / t.count;
    s.online_meets = *s.online_rate >= targets.online;
  }
  if (const double closed = t.completed + t.overdue; closed > 0) {
    s.overdue_ratio = t.overdue / closed;
    s.overdue_meets = *s.overdue_ratio <= targets.overdue;
  }
  return s;
}

}  // namespace ioc
