// bench_loader: images/s the training batch stream delivers at each size
// (8..256), from an LMDB given or from a synthetic RAW one.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/cli.hpp"
#include "common/remove_tree.hpp"
#include "datasets/batch_stream.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"

namespace fs = std::filesystem;

namespace {

// n smooth synthetic slices at every size, RAW or PNG.
void write_synthetic(const std::string& path, int n, sg::Encoding encoding, const std::vector<int>& sizes) {
  sg::LmdbWriter writer(path, {true});
  std::vector<sg::LmdbRecord> records;
  for (int s : sizes) {
    for (int i = 0; i < n; ++i) {
      sg::Image8 image(s, s);
      for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x) image.at(x, y) = static_cast<uint8_t>((x * 255 / s + y * 3 + i) % 256);
      records.push_back({sg::TRAIN, sg::record_key(s, static_cast<uint64_t>(i)), sg::encode_record(image, encoding, 1, 3)});
    }
    writer.write(records);
    records.clear();
  }
  writer.finish(sg::describe_dataset(sizes, 1, encoding, {static_cast<uint64_t>(n), 0, 0}));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_loader: training batch stream throughput"};
  std::string lmdb, encoding = "raw";
  int records = 4096, batch = 32, threads = 0;
  double seconds = 2.0;
  app.add_option("lmdb", lmdb, "dataset LMDB (default: a synthetic one)");
  sg::cli::add_number(app, "--records", records, "synthetic records per size", sg::cli::between(1, 10000000));
  app.add_option("--encoding", encoding, "synthetic record encoding")->check(CLI::IsMember({"raw", "png"}));
  sg::cli::add_number(app, "--batch", batch, "batch size", sg::cli::between(1, 65536));
  sg::cli::add_number(app, "--threads", threads, "decode threads (0, the default: all cores)", sg::cli::between(0, 1024));
  sg::cli::add_number(app, "--seconds", seconds, "time per size", sg::cli::Bounds{0, 86400, true, false});
  if (int code = sg::cli::parse_flags(app, argc, argv, "bench_loader"); code >= 0) return code;
  try {
    std::string scratch;
    if (lmdb.empty()) {
      scratch = (fs::temp_directory_path() / ("bench_loader_" + std::to_string(::getpid()) + ".lmdb")).string();
      write_synthetic(scratch, records, encoding == "png" ? sg::PNG : sg::RAW, {8, 16, 32, 64, 128, 256});
      lmdb = scratch;
    }
    sg::LmdbReader reader(lmdb);
    std::printf("%s, batch %d\n%8s %14s\n", lmdb.c_str(), batch, "size", "images/s");
    for (int size : reader.sizes()) {
      sg::BatchStreamOptions options;
      options.size = size;
      options.batch = batch;
      options.threads = threads;
      sg::BatchStream stream(reader, options);
      stream.next();  // warm-up
      auto start = std::chrono::steady_clock::now();
      long images = 0;
      double elapsed = 0;
      while (elapsed < seconds) {
        images += stream.next().count;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      std::printf("%8d %14.0f\n", size, images / elapsed);
      std::fflush(stdout);
    }
    if (!scratch.empty()) sg::remove_tree(scratch);
    return 0;
  } catch (const std::exception& e) {
    sg::cli::print_error("bench_loader", e);
    return 1;
  }
}
