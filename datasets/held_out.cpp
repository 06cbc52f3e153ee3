#include "datasets/held_out.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "common/hashing.hpp"

namespace sg {

namespace {

// A non-zero fraction holds out at least one subject: a user who asked for a
// validation split gets one, however few patients there are.
uint64_t subjects_for(double fraction, uint64_t n) {
  if (fraction <= 0) return 0;
  return std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(fraction * static_cast<double>(n))));
}

}  // namespace

double subject_draw(const std::string& subject, uint64_t seed) {
  uint64_t h = fnv1a64(&seed, sizeof seed);
  h = mix64(fnv1a64(subject.data(), subject.size(), h));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

HeldOutSubjects::HeldOutSubjects(const SplitRule& rule, const std::vector<std::string>& candidates) {
  const std::set<std::string> unique(candidates.begin(), candidates.end());
  const uint64_t n = unique.size();
  // ALL_TRAIN holds out nothing (the config check refuses fractions with it).
  const bool holds_out = rule.mode() != SplitRule::ALL_TRAIN;
  uint64_t tests = holds_out ? subjects_for(rule.test_fraction(), n) : 0;
  uint64_t validates = holds_out ? subjects_for(rule.validate_fraction(), n) : 0;
  // At least one subject stays in TRAIN: the validation split gives way
  // first, then the test split.
  const uint64_t room = n > 0 ? n - 1 : 0;
  if (tests + validates > room) validates = tests >= room ? 0 : room - tests;
  tests = std::min(tests, room);

  std::vector<std::pair<double, const std::string*>> ranked;
  ranked.reserve(n);
  for (const std::string& s : unique) ranked.emplace_back(subject_draw(s, rule.seed()), &s);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : *a.second < *b.second;
  });
  for (uint64_t i = 0; i < tests + validates; ++i) held_out_[*ranked[i].second] = i < tests ? TEST : VALIDATE;
  counts_ = {n - tests - validates, validates, tests};
}

Split HeldOutSubjects::split_of(const std::string& subject) const {
  auto it = held_out_.find(subject);
  return it == held_out_.end() ? TRAIN : it->second;
}

}  // namespace sg

namespace sg {

std::string describe_held_out(const DatasetMeta& meta) {
  uint64_t subjects[3] = {0, 0, 0};
  for (const SplitCount& count : meta.counts())
    if (Split_IsValid(count.split())) subjects[count.split()] = count.subjects();
  if (meta.has_split_rule_version())
    return "  subjects: train " + std::to_string(subjects[TRAIN]) + ", validate " + std::to_string(subjects[VALIDATE]) +
           ", test " + std::to_string(subjects[TEST]) + " (split rule " + std::to_string(meta.split_rule_version()) +
           ")\n";
  const SplitRule& rule = meta.config().split();
  if (rule.validate_fraction() > 0 || rule.test_fraction() > 0)
    return "  warning: its held-out subjects were drawn by split rule 1, which left validate and test near empty "
           "for consecutive patient ids; run sg_prep again for the configured fractions\n";
  return "";
}

}  // namespace sg
