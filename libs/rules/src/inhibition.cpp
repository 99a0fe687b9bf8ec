#include "ioc/rules/inhibition.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace ioc::rules {

namespace {

std::string_view label(const AlertEvent& a, std::string_view name) {
  for (const auto* list : {&a.labels, &a.group}) {
    for (const Label& l : *list) {
      if (l.name == name) return l.value;
    }
  }
  return {};
}

bool targets(const Inhibition& i, const AlertEvent& a) {
  return std::find(i.target_rules.begin(), i.target_rules.end(), a.rule) != i.target_rules.end();
}

}  // namespace

bool reaches(const Inhibition& inhibition, const AlertEvent& source, const AlertEvent& target) {
  if (source.rule != inhibition.source_rule) return false;
  if (source.fingerprint == target.fingerprint || !targets(inhibition, target)) return false;
  return std::all_of(inhibition.equal.begin(), inhibition.equal.end(),
                     [&](const std::string& l) { return label(source, l) == label(target, l); });
}

bool inhibits(const Inhibition& inhibition, const AlertEvent& source, const AlertEvent& target) {
  return source.state == AlertEvent::State::kFiring && reaches(inhibition, source, target);
}

const AlertEvent* inhibited_by(const AlertEvent& alert, std::span<const AlertEvent* const> active,
                               std::span<const Inhibition> inhibitions) {
  for (const AlertEvent* source : active) {
    for (const Inhibition& i : inhibitions) {
      if (inhibits(i, *source, alert)) return source;
    }
  }
  return nullptr;
}

std::vector<Folded> fold(std::span<const AlertEvent* const> alerts, std::span<const Inhibition> inhibitions) {
  std::vector<Folded> out(alerts.size());
  if (inhibitions.empty()) return out;
  // Thousands of silent stations against a few dozen sources: each alert is
  // checked against the firing alerts of the rules that could inhibit it.
  std::unordered_map<std::string_view, std::vector<const AlertEvent*>> sources;
  for (const Inhibition& i : inhibitions) sources.try_emplace(i.source_rule);
  std::unordered_map<const AlertEvent*, std::size_t> index;
  for (std::size_t k = 0; k < alerts.size(); ++k) {
    index.emplace(alerts[k], k);
    if (auto s = sources.find(alerts[k]->rule); s != sources.end()) s->second.push_back(alerts[k]);
  }
  for (std::size_t k = 0; k < alerts.size(); ++k) {
    // The first inhibitor in input order, as inhibited_by() picks it.
    std::size_t first = alerts.size();
    for (const Inhibition& i : inhibitions) {
      if (!targets(i, *alerts[k])) continue;
      for (const AlertEvent* c : sources.at(i.source_rule)) {
        const std::size_t at = index.at(c);
        if (at >= first) break;
        if (inhibits(i, *c, *alerts[k])) first = at;
      }
    }
    if (first < alerts.size()) out[k].inhibited_by = alerts[first];
  }
  for (std::size_t k = 0; k < alerts.size(); ++k) {
    const AlertEvent* at = out[k].inhibited_by;
    // A chain longer than the alerts runs in a circle.
    for (std::size_t steps = 0; at != nullptr && steps <= alerts.size(); ++steps) {
      const Folded& next = out[index.at(at)];
      if (next.inhibited_by == nullptr) {
        out[k].card = at;
        break;
      }
      at = next.inhibited_by;
    }
  }
  return out;
}

}  // namespace ioc::rules
