#pragma once
// The training batch stream: shuffled per epoch from a seed, records of one
// resolution decoded (RAW or PNG), randomly mirrored, scaled to [-1, 1] and
// collated into NCHW float batches by oneTBB workers while the trainer
// consumes the previous ones (a bounded prefetch queue). Batch contents
// depend only on the seed and the position, never on thread timing.
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

#include "dataset.pb.h"
#include "datasets/lmdb_reader.hpp"

namespace sg {

struct BatchStreamOptions {
  Split split = TRAIN;
  int size = 8;
  int batch = 32;         // the global batch: every shard's together
  // Training across processes: this stream delivers part `shard` of
  // `shards` equal parts of every global batch (the same epoch order on
  // every rank, so the shards are disjoint and together cover the epoch).
  int shards = 1, shard = 0;
  bool mirror = true;     // random horizontal flip, p = 0.5 per image
  uint64_t seed = 0;
  int prefetch = 4;       // batches decoded ahead
  int threads = 0;        // decode threads (0: all cores)
  // Where to start: resuming continues the same data order.
  uint64_t start_epoch = 0;
  uint64_t start_batch = 0;
  // Deliver each image's class label (an LMDB with labels only).
  bool labels = false;
};

struct Batch {
  int count = 0, channels = 1, size = 0;  // count: this shard's images
  std::vector<float> pixels;  // count x channels x size x size, in [-1, 1]
  std::vector<int64_t> labels;  // count class indices, with options.labels
  uint64_t epoch = 0, batch_in_epoch = 0;
};

// The order of one epoch: a permutation of 0..length-1 from (seed, epoch).
std::vector<uint64_t> epoch_order(uint64_t length, uint64_t seed, uint64_t epoch);
// Whether record `index` is mirrored in `epoch` (a hash, so any thread agrees).
bool mirrored_in_epoch(uint64_t index, uint64_t seed, uint64_t epoch);

class BatchStream {
 public:
  // Throws InputError when the LMDB lacks the size (naming the sizes it
  // has) or holds fewer records than one batch.
  BatchStream(const LmdbReader& reader, BatchStreamOptions options);
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  // The next batch (whole batches only, as drop_last); rethrows a worker's
  // error (a corrupt record) with the record's key.
  Batch next();
  uint64_t batches_per_epoch() const { return batches_per_epoch_; }

 private:
  void produce();
  Batch make_batch(const std::vector<uint64_t>& order, uint64_t epoch, uint64_t batch_in_epoch);

  struct Queue;
  const LmdbReader& reader_;
  BatchStreamOptions options_;
  uint64_t length_ = 0, batches_per_epoch_ = 0;
  std::vector<int> labels_;  // the split's, read once (with options.labels)
  std::unique_ptr<Queue> queue_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> producer_done_{false};
  std::thread producer_;
};

}  // namespace sg
