#pragma once
// A dataset LMDB for the training suites, written without sg_prep.
#include <string>
#include <vector>

namespace sg::test {

// `count` training records of synthetic_slice at every size of `sizes`: the
// largest drawn, each smaller one box-averaged from it (as a pyramid holds
// them), RAW, one channel; the dataset's config allows random mirroring or not.
void write_synthetic_lmdb(const std::string& path, int count, const std::vector<int>& sizes,
                          bool random_mirror = true);

}  // namespace sg::test
