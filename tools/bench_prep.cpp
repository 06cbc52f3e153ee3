// bench_prep: sg_prep throughput (slices/s) with RAW and PNG records, beside
// the floor: reading and decoding the same inputs alone on all cores.
// Without --input it makes 2,172 grey 256x256 PNG slices from the Colin27
// brain (mricron-data), the size of the reference measurement.
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/cli.hpp"
#include "common/images/image_codec.hpp"
#include "common/remove_tree.hpp"
#include "datasets/dataset_config.hpp"
#include "pipeline/prep_graph.hpp"
#include "stages/crop.hpp"
#include "stages/decode.hpp"
#include "stages/flip.hpp"
#include "stages/normalize.hpp"
#include "stages/pyramid.hpp"
#include "stages/slice.hpp"
#include "stages/source.hpp"
#include "stages/volume_reader.hpp"

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Slices of the brain along all three axes, letterboxed and resized to
// 256x256, varied (mirrored, shifted, dimmed) until `count` are written.
void make_slices(const std::string& volume_path, const fs::path& folder, int count) {
  std::vector<std::string> warnings;
  sg::Volume volume = sg::read_volume_with_itk(volume_path, volume_path, 1ull << 31, warnings);
  std::vector<sg::Image8> base;
  sg::IntensityWindow window;
  window.set_mode(sg::IntensityWindow::PERCENTILE);
  sg::Crop pad;
  pad.set_mode(sg::Crop::PAD_SQUARE);
  const int dims[3] = {volume.nx, volume.ny, volume.nz};
  for (int axis = 0; axis < 3; ++axis)
    for (int i = 0; i < dims[axis]; ++i) {
      sg::SliceF s = sg::extract_slice(volume, axis, i, true);
      sg::Image8 image = sg::apply_window(s, sg::compute_window({&s}, 0, 0, window));
      base.push_back(sg::resize_square(sg::crop_square(image, pad), 256, sg::Pyramid::LANCZOS3));
    }
  fs::create_directories(folder);
  for (int n = 0; n < count; ++n) {
    sg::Image8 image = base[static_cast<size_t>(n) % base.size()];
    const int variant = n / static_cast<int>(base.size());
    if (variant % 2 == 1) image = sg::mirror_left_right(image);
    if (variant >= 2)
      for (auto& p : image.pixels) p = static_cast<uint8_t>(p * 0.8);
    char name[64];
    std::snprintf(name, sizeof name, "slice_%05d.png", n);
    std::string png = sg::encode_png(image, 6);
    std::ofstream(folder / name, std::ios::binary).write(png.data(), static_cast<std::streamsize>(png.size()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_prep: sg_prep slices/s against the decode floor"};
  std::string input, config_path, volume = "/usr/share/mricron/templates/ch2bet.nii.gz";
  int threads = 0, count = 2172, repeats = 3;
  app.add_option("--input", input, "a folder or .zip of slices (default: synthesise from --volume)");
  app.add_option("--config", config_path, "dataset config (default: all files, 8..256, centre square)");
  app.add_option("--volume", volume, "volume to synthesise slices from");
  sg::cli::add_number(app, "--slices", count, "slices to synthesise", sg::cli::between(1, 10000000));
  sg::cli::add_number(app, "--threads", threads, "threads (0, the default: all cores)", sg::cli::between(0, 1024));
  sg::cli::add_number(app, "--repeats", repeats, "runs per measurement (the best counts)", sg::cli::between(1, 1000));
  if (int code = sg::cli::parse_flags(app, argc, argv, "bench_prep"); code >= 0) return code;

  try {
    if (threads <= 0) threads = tbb::info::default_concurrency();
    fs::path scratch = fs::temp_directory_path() / ("bench_prep_" + std::to_string(::getpid()));
    fs::create_directories(scratch);
    if (input.empty()) {
      input = (scratch / "slices").string();
      std::printf("synthesising %d 256x256 PNG slices from %s ...\n", count, volume.c_str());
      make_slices(volume, input, count);
    }
    sg::DatasetConfig config;
    if (!config_path.empty()) config = sg::load_dataset_config(config_path);

    // The floor: read and decode every input, nothing else, on all cores.
    sg::InputListing listing = sg::list_inputs(input);
    std::vector<std::string> bytes(listing.entries.size());
    double decode_best = 1e30;
    {
      tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
      std::unique_ptr<sg::ArchiveReader> archive;
      if (listing.is_archive) archive = std::make_unique<sg::ArchiveReader>(listing.root);
      for (int r = 0; r < repeats; ++r) {
        auto start = std::chrono::steady_clock::now();
        if (archive)
          for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = archive->read_member(listing.entries[i], 1ull << 30);
        tbb::parallel_for(size_t{0}, listing.entries.size(), [&](size_t i) {
          const sg::InputEntry& e = listing.entries[i];
          std::string data = archive ? bytes[i] : sg::read_file_bytes(e.path, e.name, 1ull << 30);
          sg::Volume v = sg::decode_image_bytes(data, e.name, config.limits());
          if (v.nx == 0) std::abort();
        });
        decode_best = std::min(decode_best, seconds_since(start));
      }
    }
    const double n = static_cast<double>(listing.entries.size());
    std::printf("inputs: %zu files in %s, %d threads\n", listing.entries.size(), input.c_str(), threads);
    std::printf("%-28s %10s %12s\n", "", "seconds", "slices/s");
    std::printf("%-28s %10.3f %12.0f\n", "decode floor (read+decode)", decode_best, n / decode_best);

    for (sg::Encoding encoding : {sg::RAW, sg::PNG}) {
      config.set_encoding(encoding);
      double best = 1e30;
      uint64_t slices = 0, bytes_written = 0;
      for (int r = 0; r < repeats; ++r) {
        sg::PrepOptions options;
        options.input = input;
        options.output = (scratch / "out.lmdb").string();
        options.threads = threads;
        options.force = true;
        sg::PrepSummary s = sg::run_prep(config, options);
        best = std::min(best, s.seconds);
        slices = s.total_slices();
        bytes_written = s.bytes_written;
      }
      std::printf("%-28s %10.3f %12.0f   (%llu slices, %.1f MB)\n",
                  (std::string("sg_prep --encoding ") + (encoding == sg::RAW ? "raw" : "png")).c_str(), best,
                  static_cast<double>(slices) / best, static_cast<unsigned long long>(slices),
                  static_cast<double>(bytes_written) / 1e6);
    }
    sg::remove_tree(scratch.string());
    return 0;
  } catch (const std::exception& e) {
    sg::cli::print_error("bench_prep", e);
    return 1;
  }
}
