#include "ioc/rules/evaluator.hpp"

#include "evaluator_impl.hpp"

namespace ioc::rules {

using namespace detail;

Evaluator::Evaluator(RuleSet rules, const views::Catalog* catalog, const Registry* registry, EvaluatorOptions options)
    : impl_(std::make_unique<Impl>(std::move(rules), catalog, registry, std::move(options))) {}
Evaluator::~Evaluator() = default;
Evaluator::Evaluator(Evaluator&&) noexcept = default;
Evaluator& Evaluator::operator=(Evaluator&&) noexcept = default;

const RuleSet& Evaluator::rules() const { return impl_->rules; }
Ingest Evaluator::add(const WindowResult& result, TimePoint now) { return impl_->add(result, now); }
void Evaluator::evaluate_touched(TimePoint now, std::vector<AlertEvent>& out) { impl_->evaluate_touched(now, out); }
void Evaluator::evaluate_all(TimePoint now, std::vector<AlertEvent>& out) { impl_->evaluate_all(now, out); }
bool Evaluator::restore(const AlertEvent& last) { return impl_->restore(last); }
std::string Evaluator::snapshot() const { return impl_->snapshot(); }
Status Evaluator::restore_snapshot(std::string_view bytes) { return impl_->restore_snapshot(bytes); }

std::vector<AlertStatus> Evaluator::active() const {
  std::vector<AlertStatus> out;
  for (const RuleState& rs : impl_->states) {
    for (const Alert& a : rs.alerts) {
      if (a.lc.phase == Phase::kInactive) continue;
      out.push_back({rs.rule, a.fingerprint, a.labels, a.lc, a.last});
    }
  }
  return out;
}

void Evaluator::forget_revisions() {
  for (RuleState& rs : impl_->states) {
    for (Series& s : rs.series) {
      for (Slot& slot : s.recent) slot.revision = 0;
      for (HistoryEntry& h : s.history) h.revision = 0;
    }
  }
}

EvaluatorStats Evaluator::stats() const {
  EvaluatorStats st;
  st.evaluations = impl_->evaluations;
  for (const RuleState& rs : impl_->states) {
    st.series += rs.series.size();
    st.alerts += rs.alerts.size();
    for (const Series& s : rs.series) {
      st.windows += s.recent.size();
      st.history += s.history.size();
    }
  }
  return st;
}


}  // namespace ioc::rules
