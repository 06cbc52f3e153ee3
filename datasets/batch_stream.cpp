#include "datasets/batch_stream.hpp"

#include <tbb/concurrent_queue.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>
#include <variant>

#include "common/errors.hpp"
#include "common/hashing.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/record_codec.hpp"

namespace sg {

struct BatchStream::Queue {
  // A batch, or the exception that ended the producer.
  using Item = std::variant<std::shared_ptr<Batch>, std::exception_ptr>;
  tbb::concurrent_bounded_queue<Item> items;
};

namespace {

uint64_t mix(uint64_t seed, uint64_t epoch, uint64_t salt) {
  uint64_t values[3] = {seed, epoch, salt};
  return fnv1a64(values, sizeof values);
}

}  // namespace

std::vector<uint64_t> epoch_order(uint64_t length, uint64_t seed, uint64_t epoch) {
  std::vector<uint64_t> order(length);
  for (uint64_t i = 0; i < length; ++i) order[i] = i;
  std::mt19937_64 rng(mix(seed, epoch, 0x5348554646ull));
  // Fisher-Yates by hand: std::shuffle's algorithm is not specified, and the
  // order must be the same with every standard library.
  for (uint64_t i = length; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

bool mirrored_in_epoch(uint64_t index, uint64_t seed, uint64_t epoch) {
  return (mix(seed, epoch, index ^ 0x4d4952524f52ull) >> 17) & 1;
}

BatchStream::BatchStream(const LmdbReader& reader, BatchStreamOptions options)
    : reader_(reader), options_(options), queue_(std::make_unique<Queue>()) {
  reader_.require_size(options_.size);
  length_ = reader_.length(options_.split);
  if (options_.batch <= 0) throw InputError(reader_.path(), "batch size must be positive");
  if (options_.shards < 1 || options_.shard < 0 || options_.shard >= options_.shards || options_.batch % options_.shards != 0)
    throw std::invalid_argument("a batch of " + std::to_string(options_.batch) + " does not split into " +
                                std::to_string(options_.shards) + " equal shards");
  batches_per_epoch_ = length_ / static_cast<uint64_t>(options_.batch);
  if (batches_per_epoch_ == 0)
    throw InputError(reader_.path(), "the " + std::string(split_display_name(options_.split)) + " split holds " +
                                         std::to_string(length_) + " records, fewer than one batch of " +
                                         std::to_string(options_.batch));
  if (options_.labels) labels_ = reader_.labels(options_.split);
  queue_->items.set_capacity(std::max(1, options_.prefetch));
  producer_ = std::thread([this] { produce(); });
}

BatchStream::~BatchStream() {
  stop_ = true;
  // abort() wakes a producer blocked on a full queue, but not one that is
  // still decoding and pushes afterwards: keep making room until it has
  // seen stop_ and ended.
  while (!producer_done_) {
    Queue::Item item;
    while (queue_->items.try_pop(item)) {
    }
    queue_->items.abort();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (producer_.joinable()) producer_.join();
}

Batch BatchStream::make_batch(const std::vector<uint64_t>& order, uint64_t epoch, uint64_t batch_in_epoch) {
  const int n = options_.batch / options_.shards, size = options_.size, c = reader_.channels();
  // This shard's images: positions first..first+n-1 of the global batch.
  const uint64_t first = batch_in_epoch * static_cast<uint64_t>(options_.batch) + static_cast<uint64_t>(options_.shard) * n;
  Batch batch;
  batch.count = n;
  batch.channels = c;
  batch.size = size;
  batch.epoch = epoch;
  batch.batch_in_epoch = batch_in_epoch;
  batch.pixels.resize(static_cast<size_t>(n) * c * size * size);
  if (options_.labels)
    for (int i = 0; i < n; ++i) batch.labels.push_back(labels_[order[first + static_cast<uint64_t>(i)]]);
  const size_t plane = static_cast<size_t>(size) * size;
  // Chunks of the batch share one read transaction each.
  tbb::parallel_for(tbb::blocked_range<int>(0, n, 8), [&](const tbb::blocked_range<int>& range) {
    std::vector<std::string> keys;
    for (int i = range.begin(); i < range.end(); ++i)
      keys.push_back(record_key(size, order[first + static_cast<uint64_t>(i)]));
    reader_.visit(options_.split, keys, [&](size_t k, std::string_view value) {
      const int i = range.begin() + static_cast<int>(k);
      const uint64_t index = order[first + static_cast<uint64_t>(i)];
      Image8 image = decode_record(value, reader_.encoding(), size, c, keys[k]);
      const bool flip = options_.mirror && mirrored_in_epoch(index, options_.seed, epoch);
      float* out = &batch.pixels[static_cast<size_t>(i) * c * plane];
      // HWC bytes -> CHW floats, x / 127.5 - 1 (the reference's ToTensor + Normalize(0.5, 0.5)).
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
          const uint8_t* src = &image.pixels[(static_cast<size_t>(y) * size + (flip ? size - 1 - x : x)) * c];
          for (int ch = 0; ch < c; ++ch)
            out[ch * plane + static_cast<size_t>(y) * size + x] = static_cast<float>(src[ch]) * (1.f / 127.5f) - 1.f;
        }
    });
  });
  return batch;
}

void BatchStream::produce() {
  struct Done {
    std::atomic<bool>& flag;
    ~Done() { flag = true; }
  } done{producer_done_};
  try {
    const int threads = options_.threads > 0 ? options_.threads : tbb::info::default_concurrency();
    tbb::task_arena arena(threads);
    uint64_t epoch = options_.start_epoch, first = options_.start_batch;
    while (!stop_) {
      const std::vector<uint64_t> order = epoch_order(length_, options_.seed, epoch);
      for (uint64_t b = first; b < batches_per_epoch_ && !stop_; ++b) {
        auto batch = std::make_shared<Batch>();
        arena.execute([&] { *batch = make_batch(order, epoch, b); });
        queue_->items.push(batch);
      }
      first = 0;
      ++epoch;
    }
  } catch (const tbb::user_abort&) {
    // the stream is being destroyed
  } catch (...) {
    try {
      queue_->items.push(std::current_exception());
    } catch (const tbb::user_abort&) {
    }
  }
}

Batch BatchStream::next() {
  Queue::Item item;
  queue_->items.pop(item);
  if (auto* error = std::get_if<std::exception_ptr>(&item)) std::rethrow_exception(*error);
  return std::move(*std::get<std::shared_ptr<Batch>>(item));
}

}  // namespace sg
