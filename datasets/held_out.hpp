#pragma once
// Which subjects (patients) a run holds out for validation and testing.
//
// The subjects that may be held out (every subject in SUBJECT_HASH mode, the
// TRAIN folders' subjects in FOLDERS mode) are ranked by a seeded, well-mixed
// hash of their id; the first round(test_fraction * n) go to TEST, the next
// round(validate_fraction * n) to VALIDATE, the rest stay in TRAIN. Ranking
// gives the shares the config asks for: a threshold on each subject's hash
// alone leaves a 20-patient set's 10% validation split empty one time in
// eight. The choice depends on the set of ids and the seed only, never on
// input order or threads; adding one subject moves at most one other.
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dataset.pb.h"

namespace sg {

// Version of the rule above, recorded in every LMDB's meta. 1 was a threshold
// on the top bits of FNV-1a, which barely mixes the last characters of an id
// into them: consecutive patient numbers all drew nearly the same value and
// the held-out splits came out empty.
constexpr unsigned kSplitRuleVersion = 2;

// The subject's place in [0, 1) under `seed`: FNV-1a over seed and id, then
// splitmix64's finaliser so that every input bit reaches every output bit.
double subject_draw(const std::string& subject, uint64_t seed);

class HeldOutSubjects {
 public:
  // `candidates`: the subject of every input that may be held out; repeats
  // are one subject.
  HeldOutSubjects(const SplitRule& rule, const std::vector<std::string>& candidates);

  // TEST or VALIDATE for a held-out subject; TRAIN for any other.
  Split split_of(const std::string& subject) const;

  // Subjects per split among the candidates (TRAIN, VALIDATE, TEST).
  const std::array<uint64_t, 3>& subject_counts() const { return counts_; }

 private:
  std::map<std::string, Split> held_out_;
  std::array<uint64_t, 3> counts_{0, 0, 0};
};

}  // namespace sg

namespace sg {

// sg_inspect's lines on the held-out splits of an LMDB: subjects per split
// and the rule's version; for an LMDB whose fractions were drawn by rule 1, a
// warning to prepare it again. Empty when nothing is held out.
std::string describe_held_out(const DatasetMeta& meta);

}  // namespace sg
