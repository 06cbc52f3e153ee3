#include "model/evaluation/export.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "common/json_text.hpp"
#include "common/hashing.hpp"
#include "common/images/image_codec.hpp"
#include "common/progress.hpp"
#include "common/tool_version.hpp"
#include "datasets/dataset_card.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"
#include "model/core/drawing.hpp"
#include "model/core/state_dict_io.hpp"
#include "model/evaluation/samples.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {

std::string file_digest(const std::string& path) {
  if (!std::ifstream(path, std::ios::binary)) throw InputError(path, "cannot read the checkpoint");
  return hex64(fnv1a64_file(path));
}

std::string image_name(int64_t index, int64_t n) {
  const int digits = std::max<int>(6, static_cast<int>(std::to_string(std::max<int64_t>(0, n - 1)).size()));
  char name[40];
  std::snprintf(name, sizeof name, "%0*lld.png", digits, static_cast<long long>(index));
  return name;
}


// manifest.json (how every image was made) and manifest.csv (one row each).
std::string write_manifest(const std::string& folder, const std::string& checkpoint, const std::string& digest,
                           const std::string& data_card, const CheckpointDrawer& source, const ExportOptions& o,
                           bool lmdb) {
  std::ostringstream json;
  json << "{\n  \"checkpoint\": " << json_string(fs::absolute(checkpoint).string()) << ",\n"
       << "  \"checkpoint_fnv1a64\": \"" << digest << "\",\n"
       << "  \"training_data_card\": " << (data_card.empty() ? "null" : json_string(data_card)) << ",\n"
       << "  \"card\": \"CARD.md\",\n"
       << "  \"architecture\": \"" << architecture_name(source.architecture()) << "\",\n"
       << "  \"size\": " << source.size() << ",\n  \"channels\": " << source.channels() << ",\n"
       << "  \"images\": " << o.n << ",\n  \"seed\": " << o.seed << ",\n  \"truncation\": " << o.truncation << ",\n"
       << "  \"format\": \"" << (lmdb ? "lmdb" : "png") << "\",\n";
  const std::vector<std::string> classes = source.class_names();
  if (!classes.empty()) {
    json << "  \"classes\": [";
    for (size_t c = 0; c < classes.size(); ++c) json << (c ? ", " : "") << json_string(classes[c]);
    json << "],\n  \"class\": " << json_string(o.class_name.empty() ? "all" : o.class_name) << ",\n";
  }
  json << "  \"synthetic\": true,\n"
       << "  \"generator\": \"the checkpoint's average generator (g_running / g_ema)\",\n"
       << "  \"image_seed\": \"image i: latent, then noise maps coarse to fine, from torch's CPU generator seeded with "
          "splitmix64(seed ^ splitmix64(i)) (manifest.csv lists them); truncation's mean style from one seeded "
          "with seed\",\n"
       << "  \"regenerate\": \"sg_test CHECKPOINT --size " << source.size() << " --n " << o.n << " --seed " << o.seed
       << " --truncation " << o.truncation << " --start-index I --out DIR\"\n}\n";
  const std::string manifest = (fs::path(folder) / "manifest.json").string();
  write_file_atomically(manifest, json.str(), "manifest");
  std::ostringstream csv;
  csv << "index," << (lmdb ? "key" : "file") << ",image_seed" << (classes.empty() ? "" : ",class") << '\n';
  const torch::Tensor labels = source.labels_of(0, o.n);
  const int64_t* label = labels.defined() ? labels.data_ptr<int64_t>() : nullptr;
  for (int64_t i = 0; i < o.n; ++i) {
    csv << i << ',' << (lmdb ? record_key(source.size(), static_cast<uint64_t>(i)) : image_name(i, o.n)) << ','
        << synthetic_image_seed(o.seed, i);
    if (label) csv << ',' << classes[static_cast<size_t>(label[i])];
    csv << '\n';
  }
  write_file_atomically((fs::path(folder) / "manifest.csv").string(), csv.str(), "manifest");
  return manifest;
}

}  // namespace

namespace {

ExportResult export_images(const std::string& checkpoint, const std::string& out, const ExportOptions& o,
                           const CheckpointOpener& open) {
  if (o.n <= 0) throw std::invalid_argument("--n must be at least 1");
  if (o.start_index < 0 || o.start_index >= o.n)
    throw std::invalid_argument("--start-index must be in [0, --n)");
  const bool lmdb = o.format == ExportFormat::Lmdb;
  if (lmdb && o.start_index > 0)
    throw std::invalid_argument("an LMDB export is written whole or not at all: --start-index is for PNG folders");
  DrawRequest request{o.size, o.device, false};
  if (!o.class_name.empty() && o.class_name != "all")
    request.class_index = class_index_of(checkpoint, open(checkpoint, request)->class_names(), o.class_name);
  const std::unique_ptr<CheckpointDrawer> opened = open(checkpoint, request);
  if (o.class_name == "all" && opened->class_names().empty())
    throw InputError(checkpoint, "an unconditional checkpoint draws no class ('all')");
  const CheckpointDrawer& source = *opened;
  const IndexedDrawer draw = opened->indexed_images(o.seed, o.truncation);
  const std::string digest = file_digest(checkpoint);
  const std::string data_card = checkpoint_data_card(checkpoint);
  ExportResult result;
  result.out = out;
  result.note = source.note();
  const auto start = std::chrono::steady_clock::now();
  const int batch = std::max(1, o.batch);
  ProgressLine progress("export", static_cast<uint64_t>(o.n - o.start_index), "images", o.show_progress);

  std::vector<int> sizes;
  for (int s = 8; s <= source.size(); s *= 2) sizes.push_back(s);
  if (sizes.empty()) sizes.push_back(source.size());
  // A conditional export's images per class (the LMDB's meta counts them).
  std::vector<uint64_t> class_records(opened->class_names().size(), 0);
  std::unique_ptr<LmdbWriter> writer;
  if (lmdb) {
    writer = std::make_unique<LmdbWriter>(out, LmdbWriter::Options{});
  } else {
    create_output_folder(out);
  }
  for (int64_t first = o.start_index; first < o.n; first += batch) {
    const int64_t count = std::min<int64_t>(batch, o.n - first);
    const torch::Tensor images = draw(first, count).to(torch::kFloat).to(torch::kCPU);
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
                             encode_record(pictures[static_cast<size_t>(k)], PNG, source.channels(), 6)});
      }
      const torch::Tensor labels = source.labels_of(first, count);
      for (int64_t k = 0; labels.defined() && k < count; ++k) {
        const int64_t label = labels[k].item<int64_t>();
        records.push_back({TRAIN, label_key(static_cast<uint64_t>(first + k)), std::to_string(label), RecordDatabase::Labels});
        ++class_records[static_cast<size_t>(label)];
      }
      writer->write(records);
    }
    result.written += count;
    progress.update(static_cast<uint64_t>(result.written), static_cast<uint64_t>(result.written));
  }
  // The synthetic set's card: in the LMDB's meta, and as CARD.md beside the images.
  if (!lmdb) {
    sizes = {source.size()};
    if (!opened->class_names().empty()) {
      const torch::Tensor labels = source.labels_of(0, o.n).contiguous();
      const int64_t* label = labels.data_ptr<int64_t>();
      for (int64_t i = 0; i < o.n; ++i) ++class_records[static_cast<size_t>(label[i])];
    }
  }
  DatasetMeta meta = describe_dataset(sizes, source.channels(), PNG, {static_cast<uint64_t>(o.n), 0, 0});
  meta.set_input(checkpoint);
  meta.set_inputs_digest(digest);
  meta.set_created_by("sg_test --n (synthetic images)");
  meta.set_tool_version(tool_version());
  meta.set_created_at(utc_timestamp());
  for (const std::string& name : source.class_names()) meta.add_class_names(name);
  for (SplitCount& count : *meta.mutable_counts())
    for (uint64_t records : class_records) count.add_class_records(count.split() == TRAIN ? records : 0);
  SyntheticOrigin& origin = *meta.mutable_synthetic();
  origin.set_generator(fs::absolute(checkpoint).string());
  origin.set_generator_digest("fnv1a64:" + digest);
  origin.set_data_card_digest(data_card);
  origin.set_truncation(o.truncation);
  origin.set_seed(o.seed);
  origin.set_images(static_cast<uint64_t>(o.n));
  if (!o.class_name.empty() && o.class_name != "all") origin.set_class_name(o.class_name);
  if (lmdb) writer->finish(meta);
  progress.finish();
  write_file_atomically((fs::path(out) / "CARD.md").string(), dataset_card_markdown(meta, out), "card");
  result.manifest = write_manifest(out, checkpoint, digest, data_card, source, o, lmdb);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

ExportResult export_synthetic(const std::string& checkpoint, const std::string& out, const ExportOptions& o,
                              const CheckpointOpener& open) {
  try {
    return export_images(checkpoint, out, o, open);
  } catch (const NonFiniteOutput& e) {
    // An LMDB is removed whole; a PNG folder keeps the finite batches before.
    throw InputError(checkpoint, std::string(e.what()) + "; its non-finite images were not written");
  }
}

}  // namespace sg
