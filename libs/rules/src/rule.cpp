#include "ioc/rules/rule.hpp"

#include <cstdio>

#include "ioc/core/hash.hpp"
#include "ioc/rules/fingerprint.hpp"

namespace ioc::rules {

const char* to_string(Op op) {
  switch (op) {
    case Op::kGt: return ">";
    case Op::kLt: return "<";
    case Op::kGe: return ">=";
    case Op::kLe: return "<=";
  }
  return "?";
}

std::string to_string(const Comparison& c) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %.6g", to_string(c.op), c.value);
  return buf;
}

Comparison Comparison::negated() const {
  switch (op) {
    case Op::kGt: return {Op::kLe, value};
    case Op::kLt: return {Op::kGe, value};
    case Op::kGe: return {Op::kLt, value};
    case Op::kLe: return {Op::kGt, value};
  }
  return *this;
}

const char* to_string(Severity s) {
  switch (s) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kCritical: return "critical";
  }
  return "?";
}

const char* to_string(ConditionKind k) {
  switch (k) {
    case ConditionKind::kThreshold: return "threshold";
    case ConditionKind::kRatio: return "ratio";
    case ConditionKind::kBaseline: return "baseline";
    case ConditionKind::kAbsence: return "absence";
    case ConditionKind::kMembers: return "members";
  }
  return "?";
}

const char* to_string(Combine c) {
  switch (c) {
    case Combine::kSum: return "sum";
    case Combine::kMax: return "max";
    case Combine::kMin: return "min";
  }
  return "?";
}

const char* to_string(CapScope s) {
  switch (s) {
    case CapScope::kPublic: return "Public";
    case CapScope::kRestricted: return "Restricted";
  }
  return "Public";
}

std::uint64_t Rule::state_hash() const {
  // Everything that shapes the series and windows a rule keeps.
  std::string s = name + '\x1f' + view + '\x1f' + to_string(kind) + '\x1f' + value + '\x1f' + denominator + '\x1f' +
                  to_string(combine) + '\x1f';
  for (const Matcher& m : match) {
    s += m.label + (m.negate ? "!=" : "=");
    for (const auto& v : m.values) s += v + ',';
    s += '\x1f';
  }
  if (group_by) {
    s += "by:";
    for (const auto& g : *group_by) s += g + ',';
  }
  s += '\x1f' + std::to_string(static_cast<int>(baseline.kind)) + ':' + std::to_string(baseline.period.count());
  auto silence = [](const Absence& a) {
    return std::to_string(a.silent_for.count()) + ':' + a.heartbeat + ':' + std::to_string(static_cast<int>(a.on));
  };
  s += '\x1f' + silence(absence);
  s += '\x1f' + members.label + ':' + members.value + ':' + (members.absence ? silence(*members.absence) : "");
  for (const Requirement& r : require) s += '\x1f' + r.value;
  return fnv1a(s);
}

const Rule* RuleSet::find(std::string_view name) const {
  for (const Rule& r : rules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::vector<Inhibition> RuleSet::inhibitions() const {
  std::vector<Inhibition> out;
  for (const Rule& r : rules) out.insert(out.end(), r.inhibits.begin(), r.inhibits.end());
  return out;
}

}  // namespace ioc::rules
