#pragma once
// Image sets for evaluation: a dataset LMDB (any split) or a folder of
// PNG/JPEG files, read at one size as uint8 tensors [n, c, size, size].
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataset.pb.h"

namespace sg {

class ImageCollection {
 public:
  // An LMDB directory (it holds data.mdb) or a folder of images. Throws
  // InputError when it is neither or holds no image of `size`.
  static std::unique_ptr<ImageCollection> open(const std::string& path, int size);
  virtual ~ImageCollection() = default;

  virtual std::string kind() const = 0;   // "lmdb" or "folder"
  virtual int channels() const = 0;
  // A folder is one TRAIN split; an LMDB has the splits it was written with.
  virtual uint64_t length(Split split) const = 0;
  // The images at `indexes` of the split. Throws InputError naming the
  // record or file that cannot be read or has the wrong size.
  virtual torch::Tensor read(Split split, const std::vector<uint64_t>& indexes) const = 0;
  // What identifies the images' content for a cache of their features: an
  // sg_prep LMDB's inputs digest and meta; "" where nothing does (a folder,
  // an LMDB without meta), and then nothing is cached.
  virtual std::string content_key() const { return ""; }
  // Class labels (an LMDB written with a label rule): the names, index =
  // label, empty without labels; a split's labels, one per image.
  virtual std::vector<std::string> class_names() const { return {}; }
  virtual std::vector<int> labels(Split /*split*/) const { return {}; }
  // Each image's subject (patient) in a split, empty where none is kept;
  // whether they are keyed hashes (sg_prep --pseudonymise).
  virtual std::vector<std::string> subjects(Split /*split*/) const { return {}; }
  virtual bool pseudonymised() const { return false; }

  const std::string& path() const { return path_; }
  int size() const { return size_; }

 protected:
  ImageCollection(std::string path, int size) : path_(std::move(path)), size_(size) {}
  std::string path_;
  int size_;
};

class LmdbReader;

// The images of one class of a labelled set, in every split (`set` must
// outlive it): indexes count that class's images only. Its content key
// extends the set's with the class, so cached features stay apart.
std::unique_ptr<ImageCollection> class_subset(const ImageCollection& set, int class_index);

// The images of `size` of an LMDB already open (it must outlive them).
std::unique_ptr<ImageCollection> lmdb_images(const LmdbReader& reader, int size);

// The records of `size` at `indexes` of a split of an open LMDB, decoded
// in parallel: uint8 [k, channels, size, size].
torch::Tensor read_lmdb_images(const LmdbReader& reader, Split split, int size, const std::vector<uint64_t>& indexes);

// Writes uint8 sets [n, c, size, size] as a dataset LMDB of that one size
// (PNG records; `validate` may be undefined), e.g. generated images kept
// for later evaluation.
void write_image_lmdb(const std::string& path, const torch::Tensor& train, const torch::Tensor& validate = {});

// 0 .. length-1, in order.
std::vector<uint64_t> every_index(uint64_t length);

// Up to n distinct indexes of 0..length-1 in a seeded random order.
std::vector<uint64_t> pick_indexes(uint64_t length, uint64_t n, uint64_t seed);

// Grey <-> RGB: replicate grey, or average RGB (grey-as-RGB stays exact).
torch::Tensor convert_channels(const torch::Tensor& images, int channels);

// Box-averages uint8 [n, c, s, s] down to `size` (s / size a power of two),
// in float [n, c, size, size] on the 0..255 scale.
torch::Tensor box_downscale(const torch::Tensor& images, int size);

// The image files (.png, .jpg, .jpeg) under a folder, sorted by path.
std::vector<std::string> list_image_files(const std::string& folder);

}  // namespace sg
