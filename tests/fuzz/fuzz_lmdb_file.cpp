// A whole LMDB file (data.mdb) as sg_train, sg_eval and sg_inspect open it:
// the page check, liblmdb's open, then the meta, the lengths and records of
// every size through mdb_get. The page check (datasets/lmdb_pages) is what
// stands between liblmdb and a damaged file: liblmdb trusts its pages. With
// SG_FUZZ_MAKE_SEEDS=DIR it writes small LMDBs there as seeds (values on
// leaf pages, values on overflow pages, a tree two levels deep) and exits.
#include <cstdlib>
#include <filesystem>

#include "common/errors.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_reader.hpp"
#include "datasets/lmdb_writer.hpp"
#include "fuzz_common.hpp"

namespace {

void write_seed(const std::string& dir, const std::string& name, uint64_t n, const std::vector<int>& sizes) {
  const std::string lmdb = sg::fuzz::scratch_dir() + "/seed.lmdb";
  std::filesystem::remove_all(lmdb);
  {
    sg::LmdbWriter writer(lmdb, {});
    std::vector<sg::LmdbRecord> records;
    for (uint64_t i = 0; i < n; ++i)
      for (int s : sizes)
        records.push_back({sg::TRAIN, sg::record_key(s, i), std::string(static_cast<size_t>(s) * s, static_cast<char>(i))});
    writer.write(records);
    writer.finish(sg::describe_dataset(sizes, 1, sg::RAW, {n, 0, 0}));
  }
  std::filesystem::copy_file(lmdb + "/data.mdb", dir + "/" + name, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("SG_FUZZ_MAKE_SEEDS")) {
    write_seed(dir, "leaf_values.mdb", 16, {4, 8});
    write_seed(dir, "overflow_values.mdb", 3, {64});
    write_seed(dir, "two_levels.mdb", 400, {4});
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string lmdb = sg::fuzz::scratch_dir() + "/fuzz.lmdb";
  std::filesystem::create_directories(lmdb);
  sg::fuzz::write_scratch("fuzz.lmdb/data.mdb", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    sg::LmdbReader reader(lmdb);
    const uint64_t length = reader.length(sg::TRAIN);
    for (int s : reader.sizes())
      for (uint64_t i = 0; i < std::min<uint64_t>(length, 512); ++i) {
        try {
          reader.record(sg::TRAIN, s, i);
        } catch (const sg::Error&) {
        }
      }
  } catch (const sg::Error&) {
  }
  return 0;
}
