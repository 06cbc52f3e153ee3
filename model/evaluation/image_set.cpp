#include "model/evaluation/image_set.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>

#include "common/errors.hpp"
#include "common/hashing.hpp"
#include "common/images/image_codec.hpp"
#include "common/list_files.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_reader.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"
#include "model/core/drawing.hpp"
#include "model/evaluation/parallel.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {

std::string size_text(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

// Copies an interleaved 8-bit image into planar [c, s, s], converting
// channels as convert_channels and box-averaging a power-of-two larger
// image down to `size`. Plain loops: it runs once per image, in parallel.
void store_image(const Image8& image, int size, int channels, const std::string& name, uint8_t* out) {
  const int w = image.width, factor = size > 0 ? w / size : 0;
  if (image.width != image.height || w < size || factor * size != w || (factor & (factor - 1)) != 0)
    throw InputError(name, "is " + size_text(image.width, image.height) + ", not " + size_text(size, size) +
                               " or a power-of-two multiple of it");
  const int have = image.channels;
  if (have != channels && have != 1 && channels != 1)
    throw InputError(name, "has " + std::to_string(have) + " channels, expected " + std::to_string(channels));
  // Grey from RGB: the mean of the channels; RGB from grey: the grey copied.
  const bool average = have != channels && channels == 1;
  const int sources = average ? have : 1;
  const double count = static_cast<double>(factor) * factor * sources;
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        uint32_t sum = 0;
        for (int dy = 0; dy < factor; ++dy) {
          const uint8_t* row = image.pixels.data() + (static_cast<size_t>(y * factor + dy) * w + x * factor) * have;
          for (int dx = 0; dx < factor; ++dx)
            for (int k = 0; k < sources; ++k) sum += row[dx * have + (average ? k : (have == 1 ? 0 : c))];
        }
        out[(static_cast<size_t>(c) * size + y) * size + x] = static_cast<uint8_t>(std::lround(sum / count));
      }
}

class LmdbImages final : public ImageCollection {
 public:
  LmdbImages(const std::string& path, int size)
      : ImageCollection(path, size), owned_(std::make_unique<LmdbReader>(path)), reader_(*owned_) {
    reader_.require_size(size);
  }
  // Over a reader already open (LMDB forbids opening one environment twice in a process).
  LmdbImages(const LmdbReader& reader, int size) : ImageCollection(reader.path(), size), reader_(reader) {
    reader_.require_size(size);
  }

  std::string kind() const override { return "lmdb"; }
  int channels() const override { return reader_.channels(); }
  uint64_t length(Split split) const override { return reader_.has_split(split) ? reader_.length(split) : 0; }

  torch::Tensor read(Split split, const std::vector<uint64_t>& indexes) const override {
    return read_lmdb_images(reader_, split, size_, indexes);
  }

  std::string content_key() const override {
    if (!reader_.meta() || reader_.meta()->inputs_digest().empty()) return "";
    // The time of writing says nothing of the content: the same inputs
    // prepared again keep their cached features.
    DatasetMeta content = *reader_.meta();
    content.clear_created_at();
    const std::string meta = content.SerializeAsString();
    return reader_.meta()->inputs_digest() + "-" + hex64(fnv1a64(meta.data(), meta.size()));
  }

  std::vector<std::string> class_names() const override {
    return reader_.has_labels() ? reader_.class_names() : std::vector<std::string>{};
  }
  std::vector<int> labels(Split split) const override {
    return reader_.has_labels() && length(split) > 0 ? reader_.labels(split) : std::vector<int>{};
  }
  std::vector<std::string> subjects(Split split) const override {
    return reader_.has_subjects() && length(split) > 0 ? reader_.subjects(split) : std::vector<std::string>{};
  }
  bool pseudonymised() const override { return reader_.meta() && reader_.meta()->subjects_pseudonymised(); }

 private:
  std::unique_ptr<LmdbReader> owned_;
  const LmdbReader& reader_;
};

class FolderImages final : public ImageCollection {
 public:
  FolderImages(const std::string& path, int size) : ImageCollection(path, size), files_(list_image_files(path)) {
    if (files_.empty()) throw InputError(path, "holds no .png, .jpg or .jpeg files");
    channels_ = decode(files_[0]).channels;
  }

  std::string kind() const override { return "folder"; }
  int channels() const override { return channels_; }
  uint64_t length(Split split) const override { return split == TRAIN ? files_.size() : 0; }

  torch::Tensor read(Split split, const std::vector<uint64_t>& indexes) const override {
    if (split != TRAIN) throw InputError(path_, "a folder has no " + std::string(split_display_name(split)) + " split");
    const size_t plane = static_cast<size_t>(channels_) * size_ * size_;
    torch::Tensor images = torch::empty({static_cast<int64_t>(indexes.size()), channels_, size_, size_}, torch::kUInt8);
    uint8_t* out = images.data_ptr<uint8_t>();
    parallel_items(static_cast<int64_t>(indexes.size()), [&](int64_t i) {
      const std::string& file = files_.at(indexes[static_cast<size_t>(i)]);
      store_image(decode(file), size_, channels_, file, out + static_cast<size_t>(i) * plane);
    });
    return images;
  }

 private:
  static Image8 decode(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw InputError(file, "cannot read");
    const ImageFormat format = sniff_image_format(bytes);
    if (format == ImageFormat::Unknown) throw InputError(file, "not a PNG or JPEG image");
    if (format == ImageFormat::Jpeg) {
      const Volume grey = decode_jpeg(bytes, file, uint64_t{1} << 26);
      Image8 image(grey.nx, grey.ny, 1);
      std::transform(grey.voxels.begin(), grey.voxels.end(), image.pixels.begin(),
                     [](float v) { return static_cast<uint8_t>(v); });
      return image;
    }
    return decode_png8(bytes, file);
  }

  std::vector<std::string> files_;
  int channels_ = 1;
};

}  // namespace

torch::Tensor read_lmdb_images(const LmdbReader& reader, Split split, int size, const std::vector<uint64_t>& indexes) {
  const Encoding encoding = reader.encoding();
  const int channels = reader.channels();
  std::vector<std::string> keys, values(indexes.size());
  for (uint64_t i : indexes) keys.push_back(record_key(size, i));
  reader.visit(split, keys, [&](size_t i, std::string_view value) { values[i].assign(value); });
  const size_t plane = static_cast<size_t>(channels) * size * size;
  torch::Tensor images = torch::empty({static_cast<int64_t>(indexes.size()), channels, size, size}, torch::kUInt8);
  uint8_t* out = images.data_ptr<uint8_t>();
  parallel_items(static_cast<int64_t>(values.size()), [&](int64_t i) {
    const size_t k = static_cast<size_t>(i);
    const std::string name = reader.path() + ":" + split_display_name(split) + ":" + keys[k];
    store_image(decode_record(values[k], encoding, size, channels, name), size, channels, name, out + k * plane);
  });
  return images;
}

std::unique_ptr<ImageCollection> ImageCollection::open(const std::string& path, int size) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path, "no such file or folder");
  if (!fs::is_directory(path, ec)) throw InputError(path, "not an LMDB directory or a folder of images");
  if (fs::exists(fs::path(path) / "data.mdb", ec)) return std::make_unique<LmdbImages>(path, size);
  return std::make_unique<FolderImages>(path, size);
}

namespace {

class ClassSubset final : public ImageCollection {
 public:
  ClassSubset(const ImageCollection& set, int class_index)
      : ImageCollection(set.path(), set.size()), set_(set), class_name_(set.class_names().at(static_cast<size_t>(class_index))) {
    for (Split split : {TRAIN, VALIDATE, TEST}) {
      const std::vector<int> labels = set.labels(split);
      for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i] == class_index) members_[split].push_back(i);
    }
  }

  std::string kind() const override { return set_.kind() + " class " + class_name_; }
  int channels() const override { return set_.channels(); }
  uint64_t length(Split split) const override { return members_[split].size(); }
  torch::Tensor read(Split split, const std::vector<uint64_t>& indexes) const override {
    std::vector<uint64_t> rows;
    rows.reserve(indexes.size());
    for (uint64_t i : indexes) rows.push_back(members_[split].at(i));
    return set_.read(split, rows);
  }
  std::string content_key() const override {
    const std::string key = set_.content_key();
    return key.empty() ? "" : key + "-class-" + hex64(fnv1a64(class_name_.data(), class_name_.size()));
  }
  std::vector<std::string> class_names() const override { return {class_name_}; }
  std::vector<int> labels(Split split) const override { return std::vector<int>(members_[split].size(), 0); }
  std::vector<std::string> subjects(Split split) const override {
    const std::vector<std::string> all = set_.subjects(split);
    if (all.empty()) return {};
    std::vector<std::string> out;
    for (uint64_t i : members_[split]) out.push_back(all.at(i));
    return out;
  }
  bool pseudonymised() const override { return set_.pseudonymised(); }

 private:
  const ImageCollection& set_;
  std::string class_name_;
  std::vector<uint64_t> members_[3];
};

}  // namespace

std::unique_ptr<ImageCollection> class_subset(const ImageCollection& set, int class_index) {
  return std::make_unique<ClassSubset>(set, class_index);
}

std::vector<uint64_t> every_index(uint64_t length) {
  std::vector<uint64_t> indexes(length);
  std::iota(indexes.begin(), indexes.end(), uint64_t{0});
  return indexes;
}

std::unique_ptr<ImageCollection> lmdb_images(const LmdbReader& reader, int size) {
  return std::make_unique<LmdbImages>(reader, size);
}

void write_image_lmdb(const std::string& path, const torch::Tensor& train, const torch::Tensor& validate) {
  const int size = static_cast<int>(train.size(2)), channels = static_cast<int>(train.size(1));
  LmdbWriter writer(path, {});
  uint64_t counts[3] = {0, 0, 0};
  for (Split split : {TRAIN, VALIDATE}) {
    const torch::Tensor& set = split == TRAIN ? train : validate;
    if (!set.defined()) continue;
    if (set.size(1) != channels || set.size(2) != size || set.size(3) != size)
      throw std::invalid_argument("write_image_lmdb: the splits differ in size or channels");
    const std::vector<Image8> images = uint8_to_images(set.contiguous());
    std::vector<LmdbRecord> records;
    for (size_t i = 0; i < images.size(); ++i) {
      std::string png = encode_png(images[i], 1);
      records.push_back({split, record_key(size, i), std::move(png)});
      if (records.size() == 4096 || i + 1 == images.size()) {
        writer.write(records);
        records.clear();
      }
    }
    counts[split] = images.size();
  }
  writer.finish(describe_dataset({size}, channels, PNG, counts));
}

std::vector<uint64_t> pick_indexes(uint64_t length, uint64_t n, uint64_t seed) {
  std::vector<uint64_t> all(length);
  for (uint64_t i = 0; i < length; ++i) all[i] = i;
  std::mt19937_64 rng(seed);
  const uint64_t count = std::min(n, length);
  // Partial Fisher-Yates by hand: the same order with every standard library.
  for (uint64_t i = 0; i < count; ++i) std::swap(all[i], all[i + rng() % (length - i)]);
  all.resize(count);
  return all;
}

torch::Tensor convert_channels(const torch::Tensor& images, int channels) {
  const int64_t have = images.size(1);
  if (have == channels) return images;
  if (have == 1) return images.expand({images.size(0), channels, images.size(2), images.size(3)});
  if (channels == 1) {
    auto mean = images.to(torch::kFloat).mean(1, true);
    return images.scalar_type() == torch::kUInt8 ? mean.round().to(torch::kUInt8) : mean;
  }
  throw std::invalid_argument("convert_channels: cannot turn " + std::to_string(have) + " channels into " +
                              std::to_string(channels));
}

torch::Tensor box_downscale(const torch::Tensor& images, int size) {
  const int64_t s = images.size(2);
  if (s % size != 0) throw std::invalid_argument("box_downscale: " + std::to_string(s) + " is no multiple of " +
                                                 std::to_string(size));
  const int64_t factor = s / size;
  auto x = images.to(torch::kFloat);
  return factor == 1 ? x : torch::avg_pool2d(x, {factor, factor});
}

std::vector<std::string> list_image_files(const std::string& folder) {
  std::vector<std::string> files;
  if (const auto error = list_files(folder, Depth::recursive, files, {".png", ".jpg", ".jpeg"}))
    throw InputError(folder, "cannot list: " + error.message());
  return files;
}

}  // namespace sg
