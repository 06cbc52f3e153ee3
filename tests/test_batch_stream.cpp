// The training batch stream: order, shuffle, flips, normalisation, sizes,
// errors, and independence from thread timing.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include "common/errors.hpp"
#include "datasets/batch_stream.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_pages.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

using test::TempDir;

// Record i at size s: every pixel i (mod 256), except column 0 which is 255,
// so both identity and mirroring are visible.
Image8 marked(int size, uint64_t index) {
  Image8 image(size, size);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) image.at(x, y) = x == 0 ? 255 : static_cast<uint8_t>(index % 250);
  return image;
}

void write_lmdb(const std::string& path, uint64_t n, Encoding encoding, const std::vector<int>& sizes = {8, 16}) {
  LmdbWriter writer(path, {});
  std::vector<LmdbRecord> records;
  for (uint64_t i = 0; i < n; ++i)
    for (int s : sizes) records.push_back({TRAIN, record_key(s, i), encode_record(marked(s, i), encoding, 1, 1)});
  writer.write(records);
  writer.finish(describe_dataset(sizes, 1, encoding, {n, 0, 0}));
}

// The record index of a batch image, from its pixel value.
uint64_t index_of(const Batch& b, int i) {
  const size_t plane = static_cast<size_t>(b.size) * b.size;
  float v = b.pixels[i * plane + 1];  // column 1 (or mirrored: size-2): the mark
  return static_cast<uint64_t>(std::lround((v + 1.f) * 127.5f));
}

bool is_mirrored(const Batch& b, int i) {
  const size_t plane = static_cast<size_t>(b.size) * b.size;
  return b.pixels[i * plane + 0] != 1.f;  // column 0 holds 255 -> 1.0 unless mirrored
}

TEST(BatchStream, EachEpochIsAPermutationFromTheSeed) {
  auto a = epoch_order(100, 7, 0), b = epoch_order(100, 7, 0), c = epoch_order(100, 7, 1), d = epoch_order(100, 8, 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  EXPECT_EQ(std::set<uint64_t>(a.begin(), a.end()).size(), 100u);
  // A known value pins the order across standard libraries and releases.
  EXPECT_EQ(epoch_order(8, 1, 0), (std::vector<uint64_t>{0, 1, 6, 3, 5, 7, 4, 2}));
}

TEST(BatchStream, DeliversShuffledNormalisedMirroredBatches) {
  TempDir dir;
  write_lmdb(dir / "d.lmdb", 40, RAW);
  LmdbReader reader(dir / "d.lmdb");
  BatchStreamOptions o;
  o.size = 16;
  o.batch = 8;
  o.seed = 3;
  BatchStream stream(reader, o);
  EXPECT_EQ(stream.batches_per_epoch(), 5u);
  std::multiset<uint64_t> seen;
  int mirrored = 0;
  std::vector<uint64_t> first_epoch;
  for (int b = 0; b < 5; ++b) {
    Batch batch = stream.next();
    ASSERT_EQ(batch.count, 8);
    ASSERT_EQ(batch.size, 16);
    ASSERT_EQ(batch.pixels.size(), 8u * 16 * 16);
    for (float v : batch.pixels) ASSERT_TRUE(v >= -1.f && v <= 1.f);
    for (int i = 0; i < 8; ++i) {
      uint64_t index = index_of(batch, i);
      seen.insert(index);
      first_epoch.push_back(index);
      EXPECT_EQ(is_mirrored(batch, i), mirrored_in_epoch(index, 3, 0));
      mirrored += is_mirrored(batch, i);
    }
  }
  EXPECT_EQ(std::set<uint64_t>(seen.begin(), seen.end()).size(), 40u);  // every record once
  EXPECT_GT(mirrored, 5);
  EXPECT_LT(mirrored, 35);
  std::vector<uint64_t> expected = epoch_order(40, 3, 0);
  EXPECT_EQ(first_epoch, expected);
  EXPECT_EQ(stream.next().epoch, 1u);  // then the next epoch, reshuffled
}

TEST(BatchStream, SameBatchesForAnyThreadCountAndFromAResumePoint) {
  TempDir dir;
  write_lmdb(dir / "d.lmdb", 64, PNG);
  LmdbReader reader(dir / "d.lmdb");
  auto collect = [&](int threads, uint64_t start_epoch, uint64_t start_batch, int n) {
    BatchStreamOptions o;
    o.size = 8;
    o.batch = 16;
    o.seed = 11;
    o.threads = threads;
    o.start_epoch = start_epoch;
    o.start_batch = start_batch;
    BatchStream stream(reader, o);
    std::vector<std::vector<float>> out;
    for (int i = 0; i < n; ++i) out.push_back(stream.next().pixels);
    return out;
  };
  auto one = collect(1, 0, 0, 6), four = collect(4, 0, 0, 6);
  EXPECT_EQ(one, four);
  auto resumed = collect(2, 1, 1, 2);  // epoch 1, batch 1 = the 6th batch overall
  EXPECT_EQ(resumed[0], one[5]);
}

TEST(BatchStream, WithoutMirroringPixelsAreTheRecords) {
  TempDir dir;
  write_lmdb(dir / "d.lmdb", 8, RAW);
  LmdbReader reader(dir / "d.lmdb");
  BatchStreamOptions o;
  o.size = 8;
  o.batch = 8;
  o.mirror = false;
  BatchStream stream(reader, o);
  Batch b = stream.next();
  for (int i = 0; i < 8; ++i) {
    EXPECT_FALSE(is_mirrored(b, i));
    uint64_t index = index_of(b, i);
    EXPECT_FLOAT_EQ(b.pixels[i * 64 + 9], static_cast<float>(index % 250) / 127.5f - 1.f);
    EXPECT_FLOAT_EQ(b.pixels[i * 64 + 8], 1.f);  // column 0 = 255
  }
}

TEST(BatchStream, ClearErrors) {
  TempDir dir;
  write_lmdb(dir / "d.lmdb", 8, RAW);
  LmdbReader reader(dir / "d.lmdb");
  BatchStreamOptions o;
  o.size = 32;
  try {
    BatchStream stream(reader, o);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("sizes: 8 16"), std::string::npos) << e.what();
  }
  o.size = 8;
  o.batch = 9;
  EXPECT_THROW(BatchStream(reader, o), InputError);
  EXPECT_THROW(LmdbReader(dir / "missing.lmdb"), InputError);
  {
    // Refused after liblmdb opened it: the environment is closed (the
    // sanitizer round's LeakSanitizer saw it leak before).
    LmdbWriter writer(dir / "lengthless.lmdb", {});
    writer.write({{TRAIN, record_key(8, 0), std::string(64, 'x')}});
    writer.finish(DatasetMeta());
  }
  try {
    LmdbReader lengthless(dir / "lengthless.lmdb");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no \"length\" record"), std::string::npos) << e.what();
  }

  // A corrupt record surfaces from next(), naming its key.
  LmdbWriter writer(dir / "bad.lmdb", {});
  std::vector<LmdbRecord> records;
  for (uint64_t i = 0; i < 4; ++i) records.push_back({TRAIN, record_key(8, i), i == 2 ? "short" : std::string(64, 'x')});
  writer.write(records);
  writer.finish(describe_dataset({8}, 1, RAW, {4, 0, 0}));
  LmdbReader bad(dir / "bad.lmdb");
  o.batch = 4;
  BatchStream stream(bad, o);
  try {
    stream.next();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("8-00002"), std::string::npos) << e.what();
  }
}

TEST(LmdbReader, CutShortFileIsRefusedNotASigbus) {
  TempDir dir;
  write_lmdb(dir / "d.lmdb", 200, RAW, {8, 16, 32});
  const std::string data = dir / "d.lmdb/data.mdb";
  const uintmax_t whole = std::filesystem::file_size(data);
  ASSERT_GT(whole, 16u * 4096u);
  // Cut through the records, then just short of the last page: liblmdb
  // maps the file and would touch the missing pages.
  for (uintmax_t size : {whole / 2, whole - 1, uintmax_t{0}}) {
    std::filesystem::resize_file(data, size);
    try {
      LmdbReader reader(dir / "d.lmdb");
      for (uint64_t i = 0; i < 200; ++i) reader.record(TRAIN, 32, i);
      FAIL() << "a " << size << "-byte data.mdb was read";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(size ? "truncated" : "empty"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("data.mdb"), std::string::npos) << e.what();
    }
  }
}

// The page numbers of the file's leaf pages (flags 0x02, each page holding
// its own number), read as liblmdb 0.9 lays them out.
std::vector<uint64_t> leaf_pages(const std::string& bytes, size_t page_size) {
  std::vector<uint64_t> leaves;
  for (uint64_t page = 2; (page + 1) * page_size <= bytes.size(); ++page) {
    uint64_t number;
    uint16_t flags;
    std::memcpy(&number, bytes.data() + page * page_size, 8);
    std::memcpy(&flags, bytes.data() + page * page_size + 10, 2);
    if (number == page && (flags & 0x02)) leaves.push_back(page);
  }
  return leaves;
}

TEST(LmdbPages, AValidFileIsWalkedWhole) {
  TempDir dir;
  // Small values stay on leaf pages: a tree three levels deep.
  write_lmdb(dir / "d.lmdb", 20000, RAW, {4, 8});
  const LmdbPageSummary summary = check_lmdb_pages(dir / "d.lmdb/data.mdb");
  EXPECT_GE(summary.records, 40000u);
  EXPECT_GT(summary.tree_pages, 300u);
  LmdbReader reader(dir / "d.lmdb");
  EXPECT_EQ(reader.length(TRAIN), 20000u);
}

TEST(LmdbPages, ADamagedPageIsRefusedByItsNumber) {
  TempDir dir;
  write_lmdb(dir / "d.lmdb", 20000, RAW, {4, 8});
  const std::string data = dir / "d.lmdb/data.mdb";
  const std::string good = test::read_file(data);
  const LmdbPageSummary summary = check_lmdb_pages(data);
  const std::vector<uint64_t> leaves = leaf_pages(good, summary.page_size);
  ASSERT_GT(leaves.size(), 100u);
  const uint64_t page = leaves[leaves.size() / 2];
  const size_t at = page * summary.page_size;
  struct Damage {
    size_t offset;
    uint16_t value;
    const char* reason;
  };
  // The key-offset table's end below the header (liblmdb counted 2^15 - 6
  // keys and read far outside the page), a node offset past the page, a
  // node's key length past the page.
  uint16_t first_node;
  std::memcpy(&first_node, good.data() + at + 16, 2);
  for (const Damage& damage : {Damage{12, 3, "free-space bounds"}, Damage{16, 65000, "node 0 at 65000"},
                               Damage{first_node + 6u, 60000, "node 0's key runs past the page"}}) {
    std::string bytes = good;
    std::memcpy(&bytes[at + damage.offset], &damage.value, 2);
    test::write_file(data, bytes);
    try {
      LmdbReader reader(dir / "d.lmdb");
      for (uint64_t i = 0; i < 20000; ++i) reader.record(TRAIN, 8, i);
      FAIL() << "read through " << damage.reason;
    } catch (const InputError& e) {
      const std::string expected = "corrupt LMDB: page " + std::to_string(page) + ": " + damage.reason;
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
  test::write_file(data, good);
  EXPECT_NO_THROW(LmdbReader reader(dir / "d.lmdb"));
}

TEST(LmdbWriter, AWriteThatFailsLeavesNoOutputAndSaysWhy) {
  TempDir dir;
  const std::string path = dir / "d.lmdb";
  // In a child, its files capped at 1 MiB: liblmdb's writes past that fail
  // as on a full disk.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit cap{1 << 20, 1 << 20};
    ::setrlimit(RLIMIT_FSIZE, &cap);
    try {
      write_lmdb(path, 2000, RAW, {8, 16, 32});
    } catch (const OutputError& e) {
      const bool named = std::string(e.what()).find("writing records: ") != std::string::npos &&
                         std::string(e.what()).find("MiB free on its file system") != std::string::npos;
      ::_exit(named ? 0 : 2);
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(4);  // written whole past the cap
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the writer died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // Neither the output nor its temporary folder is left.
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace sg
