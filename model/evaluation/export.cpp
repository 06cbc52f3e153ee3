#include "model/evaluation/export.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "datasets/dataset_rules.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_writer.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/sampler.hpp"
#include "model/stylegan2/sampling.hpp"
#include "model/training/gan.hpp"
#include "pipeline/atomic_file.hpp"
#include "pipeline/errors.hpp"
#include "pipeline/progress.hpp"
#include "stages/encode.hpp"
#include "stages/image_codec.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Images first .. first+count-1 in [-1, 1] on the device.
using IndexedDrawer = std::function<torch::Tensor(int64_t first, int64_t count)>;

struct Source {
  IndexedDrawer draw;
  Architecture arch = Architecture::StyleGan;
  int size = 0, channels = 1;
  std::string note;
};

Source stylegan_source(const std::string& checkpoint, const ExportOptions& o, torch::Device device) {
  const CheckpointMeta meta = read_checkpoint_meta(checkpoint);
  const int size = o.size > 0 ? o.size : size_for_step(meta.trained_step);
  const DrawPlan plan = plan_drawing(checkpoint, meta, size);
  auto generator = std::make_shared<StyledGenerator>(load_sampling_generator(checkpoint, meta, device));
  torch::Tensor mean_w;
  if (o.truncation != 1.0) {
    torch::Generator rng = at::detail::createCPUGenerator(o.seed);
    mean_w = mean_style(*generator, rng, device);
  }
  Source s;
  s.arch = Architecture::StyleGan;
  s.size = size;
  s.channels = meta.model.image_channels;
  s.note = meta.note;
  const int style_dim = meta.model.style_dim, step = plan.step;
  const double alpha = plan.alpha, psi = o.truncation;
  const uint64_t seed = o.seed;
  s.draw = [=](int64_t first, int64_t count) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> z;
    std::vector<std::vector<torch::Tensor>> noise(static_cast<size_t>(step + 1));
    for (int64_t i = first; i < first + count; ++i) {
      torch::Generator rng = at::detail::createCPUGenerator(synthetic_image_seed(seed, i));
      z.push_back(torch::randn({1, style_dim}, rng));
      for (int b = 0; b <= step; ++b)
        noise[static_cast<size_t>(b)].push_back(torch::randn({1, 1, size_for_step(b), size_for_step(b)}, rng));
    }
    GenerateOptions options;
    if (mean_w.defined()) {  // truncation; psi 1 draws without a mean style
      options.mean_style = mean_w;
      options.style_weight = psi;
    }
    for (const auto& maps : noise) options.noise.push_back(torch::cat(maps).to(device));
    return (*generator)->forward({torch::cat(z).to(device)}, step, alpha, options);
  };
  return s;
}

Source stylegan2_source(const std::string& checkpoint, const ExportOptions& o, torch::Device device) {
  Source s;
  auto generator = std::make_shared<stylegan2::Generator>(stylegan2::load_for_drawing(checkpoint, o.size, device, false, &s.note));
  const stylegan2::Config config = (*generator)->config;
  torch::Tensor mean_w;
  if (o.truncation != 1.0) {
    torch::Generator rng = at::detail::createCPUGenerator(o.seed);
    mean_w = stylegan2::mean_latent(*generator, rng, device);
  }
  s.arch = Architecture::StyleGan2;
  s.size = config.size;
  s.channels = config.image_channels;
  const double psi = o.truncation;
  const uint64_t seed = o.seed;
  s.draw = [=](int64_t first, int64_t count) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> z;
    std::vector<std::vector<torch::Tensor>> noise(static_cast<size_t>(config.num_layers()));
    for (int64_t i = first; i < first + count; ++i) {
      torch::Generator rng = at::detail::createCPUGenerator(synthetic_image_seed(seed, i));
      z.push_back(torch::randn({1, config.style_dim}, rng));
      for (int layer = 0; layer < config.num_layers(); ++layer) {
        const int64_t res = int64_t{1} << ((layer + 5) / 2);
        noise[static_cast<size_t>(layer)].push_back(torch::randn({1, 1, res, res}, rng));
      }
    }
    stylegan2::SynthesisOptions options;
    for (const auto& maps : noise) options.noise.push_back(torch::cat(maps).to(device));
    if (mean_w.defined()) {
      options.truncation_latent = mean_w;
      options.truncation = psi;
    }
    return (*generator)->forward(std::vector{torch::cat(z).to(device)}, options).image;
  };
  return s;
}

std::string file_digest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot read the checkpoint");
  uint64_t hash = 1469598103934665603ull;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash = fnv1a64(buffer.data(), static_cast<size_t>(in.gcount()), hash);
  }
  char text[20];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::string image_name(int64_t index, int64_t n) {
  const int digits = std::max<int>(6, static_cast<int>(std::to_string(std::max<int64_t>(0, n - 1)).size()));
  char name[40];
  std::snprintf(name, sizeof name, "%0*lld.png", digits, static_cast<long long>(index));
  return name;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// manifest.json (how every image was made) and manifest.csv (one row each).
std::string write_manifest(const std::string& folder, const std::string& checkpoint, const std::string& digest,
                           const Source& source, const ExportOptions& o, bool lmdb) {
  std::ostringstream json;
  json << "{\n  \"checkpoint\": " << json_string(fs::absolute(checkpoint).string()) << ",\n"
       << "  \"checkpoint_fnv1a64\": \"" << digest << "\",\n"
       << "  \"architecture\": \"" << architecture_name(source.arch) << "\",\n"
       << "  \"size\": " << source.size << ",\n  \"channels\": " << source.channels << ",\n"
       << "  \"images\": " << o.n << ",\n  \"seed\": " << o.seed << ",\n  \"truncation\": " << o.truncation << ",\n"
       << "  \"format\": \"" << (lmdb ? "lmdb" : "png") << "\",\n"
       << "  \"generator\": \"the checkpoint's average generator (g_running / g_ema)\",\n"
       << "  \"image_seed\": \"image i: latent, then noise maps coarse to fine, from torch's CPU generator seeded with "
          "splitmix64(seed ^ splitmix64(i)) (manifest.csv lists them); truncation's mean style from one seeded "
          "with seed\",\n"
       << "  \"regenerate\": \"sg_test CHECKPOINT --size " << source.size << " --n " << o.n << " --seed " << o.seed
       << " --truncation " << o.truncation << " --start-index I --out DIR\"\n}\n";
  const std::string manifest = (fs::path(folder) / "manifest.json").string();
  write_file_atomically(manifest, json.str(), "manifest");
  std::ostringstream csv;
  csv << "index," << (lmdb ? "key" : "file") << ",image_seed\n";
  for (int64_t i = 0; i < o.n; ++i)
    csv << i << ',' << (lmdb ? record_key(source.size, static_cast<uint64_t>(i)) : image_name(i, o.n)) << ','
        << synthetic_image_seed(o.seed, i) << '\n';
  write_file_atomically((fs::path(folder) / "manifest.csv").string(), csv.str(), "manifest");
  return manifest;
}

}  // namespace

uint64_t synthetic_image_seed(uint64_t seed, int64_t index) {
  return splitmix64(seed ^ splitmix64(static_cast<uint64_t>(index)));
}

namespace {

ExportResult export_images(const std::string& checkpoint, const std::string& out, const ExportOptions& o) {
  if (o.n <= 0) throw std::invalid_argument("--n must be at least 1");
  if (o.start_index < 0 || o.start_index >= o.n)
    throw std::invalid_argument("--start-index must be in [0, --n)");
  const bool lmdb = o.format == ExportFormat::Lmdb;
  if (lmdb && o.start_index > 0)
    throw std::invalid_argument("an LMDB export is written whole or not at all: --start-index is for PNG folders");
  const torch::Device device = resolve_device(o.device);
  const Source source = checkpoint_architecture(checkpoint) == Architecture::StyleGan2
                            ? stylegan2_source(checkpoint, o, device)
                            : stylegan_source(checkpoint, o, device);
  const std::string digest = file_digest(checkpoint);
  ExportResult result;
  result.out = out;
  result.note = source.note;
  const auto start = std::chrono::steady_clock::now();
  const int batch = std::max(1, o.batch);
  ProgressLine progress("export", static_cast<uint64_t>(o.n - o.start_index), "images", o.show_progress);

  std::vector<int> sizes;
  for (int s = 8; s <= source.size; s *= 2) sizes.push_back(s);
  if (sizes.empty()) sizes.push_back(source.size);
  std::unique_ptr<LmdbWriter> writer;
  if (lmdb) {
    writer = std::make_unique<LmdbWriter>(out, LmdbWriter::Options{});
  } else {
    create_output_folder(out);
  }
  for (int64_t first = o.start_index; first < o.n; first += batch) {
    const int64_t count = std::min<int64_t>(batch, o.n - first);
    const torch::Tensor images = source.draw(first, count).to(torch::kFloat).to(torch::kCPU);
    if (!lmdb) {
      const std::vector<Image8> pictures = tensor_to_images(images);
      for (int64_t k = 0; k < count; ++k)
        write_png((fs::path(out) / image_name(first + k, o.n)).string(), pictures[static_cast<size_t>(k)]);
    } else {
      std::vector<LmdbRecord> records;
      torch::Tensor level = images;
      for (auto it = sizes.rbegin(); it != sizes.rend(); ++it) {
        if (level.size(2) != *it) level = torch::avg_pool2d(level, 2);
        const std::vector<Image8> pictures = tensor_to_images(level);
        for (int64_t k = 0; k < count; ++k)
          records.push_back({TRAIN, record_key(*it, static_cast<uint64_t>(first + k)),
                             encode_record(pictures[static_cast<size_t>(k)], PNG, source.channels, 6)});
      }
      writer->write(records);
    }
    result.written += count;
    progress.update(static_cast<uint64_t>(result.written), static_cast<uint64_t>(result.written));
  }
  if (lmdb) {
    DatasetMeta meta = describe_dataset(sizes, source.channels, PNG, {static_cast<uint64_t>(o.n), 0, 0});
    meta.set_input(checkpoint);
    meta.set_inputs_digest(digest);
    writer->finish(meta);
  }
  progress.finish();
  result.manifest = write_manifest(out, checkpoint, digest, source, o, lmdb);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

ExportResult export_synthetic(const std::string& checkpoint, const std::string& out, const ExportOptions& o) {
  try {
    return export_images(checkpoint, out, o);
  } catch (const NonFiniteOutput& e) {
    // An LMDB is removed whole; a PNG folder keeps the finite batches before.
    throw InputError(checkpoint, std::string(e.what()) + "; its non-finite images were not written");
  }
}

}  // namespace sg
