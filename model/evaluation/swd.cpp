#include "model/evaluation/swd.hpp"

#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

#include "model/evaluation/parallel.hpp"

namespace sg {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Order-preserving map of IEEE floats onto unsigned integers.
inline uint32_t float_key(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

inline float key_float(uint32_t k) {
  const uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// LSD radix sort of the keys of n (< 2^32) floats into `out` (three passes
// of 11 bits, `spare` holds n): 4 ms for 1.28 million projections here,
// 25 ms with std::sort, and sorting is most of the metric's time.
void sort_float_keys(const float* values, uint32_t* out, uint32_t* spare, size_t n) {
  constexpr int kPasses = 3, kBits = 11, kBuckets = 1 << kBits;
  uint32_t counts[kPasses * kBuckets] = {};
  for (size_t i = 0; i < n; ++i) {
    const uint32_t k = float_key(values[i]);
    out[i] = k;
    ++counts[k & (kBuckets - 1)];
    ++counts[kBuckets + ((k >> kBits) & (kBuckets - 1))];
    ++counts[2 * kBuckets + (k >> (2 * kBits))];
  }
  uint32_t* src = out;
  uint32_t* dst = spare;
  for (int p = 0; p < kPasses; ++p) {
    uint32_t* count = counts + p * kBuckets;
    // One bucket holding everything: this digit orders nothing.
    if (std::find(count, count + kBuckets, n) != count + kBuckets) continue;
    uint32_t offset = 0;
    for (int b = 0; b < kBuckets; ++b) {
      const uint32_t c = count[b];
      count[b] = offset;
      offset += c;
    }
    const int shift = p * kBits;
    for (size_t i = 0; i < n; ++i) dst[count[(src[i] >> shift) & (kBuckets - 1)]++] = src[i];
    std::swap(src, dst);
  }
  if (src != out) std::memcpy(out, src, n * sizeof(uint32_t));
}

torch::Tensor binomial_row(double scale, const torch::Tensor& like) {
  return (torch::tensor({1.0, 4.0, 6.0, 4.0, 1.0}, like.options()) * (scale / 16.0)).view({1, 1, 1, 5});
}

// Separable 5x5 binomial filter (scaled) with mirrored borders, sampled
// every `stride` pixels, on [m, 1, h, w].
torch::Tensor binomial_filter(const torch::Tensor& planes, double scale, int stride) {
  const torch::Tensor row = binomial_row(scale, planes);
  auto padded = torch::reflection_pad2d(planes, {2, 2, 2, 2});
  auto x = torch::conv2d(padded, row, {}, {1, stride});
  return torch::conv2d(x, row.view({1, 1, 5, 1}), {}, {stride, 1});
}

}  // namespace

std::vector<int> swd_resolutions(int size, int min_resolution) {
  std::vector<int> resolutions;
  for (int r = size; r >= min_resolution && r >= 1; r /= 2) resolutions.push_back(r);
  return resolutions;
}

torch::Tensor pyramid_down(const torch::Tensor& images) {
  const auto n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  auto planes = images.reshape({n * c, 1, h, w});
  return binomial_filter(planes, 1.0, 2).view({n, c, (h + 1) / 2, (w + 1) / 2});
}

torch::Tensor pyramid_up(const torch::Tensor& images) {
  const auto n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  using torch::indexing::None;
  using torch::indexing::Slice;
  auto up = torch::zeros({n * c, 1, 2 * h, 2 * w}, images.options());
  up.index_put_({Slice(), Slice(), Slice(0, None, 2), Slice(0, None, 2)}, images.reshape({n * c, 1, h, w}));
  // Zeros fill three quarters of the samples, so the filter is scaled by 4.
  return binomial_filter(up, 2.0, 1).view({n, c, 2 * h, 2 * w});
}

std::vector<torch::Tensor> laplacian_pyramid(const torch::Tensor& images, int levels) {
  std::vector<torch::Tensor> pyramid{images};
  for (int i = 1; i < levels; ++i) {
    pyramid.push_back(pyramid_down(pyramid.back()));
    pyramid[i - 1] = pyramid[i - 1] - pyramid_up(pyramid[i]);
  }
  return pyramid;
}

std::vector<torch::Tensor> patch_descriptors(const torch::Tensor& images, int levels, const SwdOptions& options,
                                             uint64_t seed) {
  if (images.dim() != 4 || images.scalar_type() != torch::kUInt8)
    throw std::invalid_argument("patch_descriptors: expected uint8 images [n, c, h, w]");
  const int64_t n = images.size(0), c = images.size(1);
  const int ps = options.patch_size, half = ps / 2, per_image = options.patches_per_image;
  const int64_t width = c * ps * ps;
  std::vector<torch::Tensor> out;
  for (int l = 0; l < levels; ++l) out.push_back(torch::empty({n * per_image, width}, torch::kFloat));
  // Chunks one after another (the filters parallelise inside LibTorch),
  // the patches of a chunk's images in parallel.
  const int64_t chunk = 64;
  for (int64_t b0 = 0; b0 < n; b0 += chunk) {
    const int64_t b1 = std::min(n, b0 + chunk);
    auto pyramid = laplacian_pyramid(images.slice(0, b0, b1).to(torch::kFloat), levels);
    for (int l = 0; l < levels; ++l) {
      const torch::Tensor level = pyramid[l].contiguous();
      const int64_t h = level.size(2), w = level.size(3);
      if (h < ps || w < ps) throw std::invalid_argument("patch_descriptors: level smaller than a patch");
      const float* pixels = level.data_ptr<float>();
      float* dst = out[l].data_ptr<float>();
      parallel_items(b1 - b0, [&](int64_t k) {
        const int64_t i = b0 + k;
        uint64_t state = seed ^ (static_cast<uint64_t>(i) * 0xd1b54a32d192ed03ull) ^ (static_cast<uint64_t>(l) << 58);
        const float* image = pixels + k * c * h * w;
        for (int p = 0; p < per_image; ++p) {
          // Centres as the reference: uniform in [half, size - half).
          const int64_t y = half + static_cast<int64_t>(splitmix64(state) % static_cast<uint64_t>(h - 2 * half));
          const int64_t x = half + static_cast<int64_t>(splitmix64(state) % static_cast<uint64_t>(w - 2 * half));
          float* row = dst + (i * per_image + p) * width;
          for (int64_t ch = 0; ch < c; ++ch)
            for (int dy = -half; dy <= half; ++dy) {
              std::memcpy(row, image + (ch * h + y + dy) * w + x - half, sizeof(float) * ps);
              row += ps;
            }
        }
      });
    }
  }
  return out;
}

namespace {

// Per channel (a block of columns): the mean and 1 / std (numpy's, ddof 0)
// over all rows, in double, from fixed row chunks so threads do not change it.
struct ChannelStats {
  std::vector<double> mean, inv_std;
};

ChannelStats channel_stats(const torch::Tensor& rows, int channels) {
  const int64_t n = rows.size(0), width = rows.size(1), per_channel = width / channels;
  const float* data = rows.data_ptr<float>();
  constexpr int64_t kChunks = 64;
  std::vector<double> partial(static_cast<size_t>(kChunks * channels * 2), 0.0);
  parallel_items(kChunks, [&](int64_t chunk) {
    double* sums = partial.data() + chunk * channels * 2;
    for (int64_t i = n * chunk / kChunks; i < n * (chunk + 1) / kChunks; ++i)
      for (int c = 0; c < channels; ++c) {
        const float* x = data + i * width + c * per_channel;
        double s = 0, s2 = 0;
        for (int64_t k = 0; k < per_channel; ++k) {
          s += x[k];
          s2 += static_cast<double>(x[k]) * x[k];
        }
        sums[2 * c] += s;
        sums[2 * c + 1] += s2;
      }
  });
  ChannelStats stats;
  const double count = static_cast<double>(n * per_channel);
  for (int c = 0; c < channels; ++c) {
    double s = 0, s2 = 0;
    for (int64_t chunk = 0; chunk < kChunks; ++chunk) {
      s += partial[static_cast<size_t>((chunk * channels + c) * 2)];
      s2 += partial[static_cast<size_t>((chunk * channels + c) * 2 + 1)];
    }
    const double mean = s / count, variance = std::max(0.0, s2 / count - mean * mean);
    stats.mean.push_back(mean);
    // A constant channel (a blank set) normalises to zeros rather than NaN.
    stats.inv_std.push_back(1.0 / std::max(std::sqrt(variance), 1e-8));
  }
  return stats;
}

constexpr int kBlock = 16;  // directions projected together
constexpr int kRows = 4;    // rows in flight: independent accumulators

using Float8 = float __attribute__((vector_size(32)));
using Float4 = float __attribute__((vector_size(16)));

// out[j * n + i] = rows[i] . weights[:, j] - offsets[j] for a block of
// directions (weights [width][kBlock]). Written with explicit vectors: the
// compiler's own vectorisation of this loop ran at a tenth of the speed.
template <typename Vector>
inline __attribute__((always_inline)) void project_block_body(const float* __restrict rows, int64_t n, int64_t width,
                                                              const float* __restrict weights,
                                                              const float* __restrict offsets, float* __restrict out) {
  constexpr int kLanes = sizeof(Vector) / sizeof(float), kParts = kBlock / kLanes;
  Vector offset[kParts];
  for (int p = 0; p < kParts; ++p) std::memcpy(&offset[p], offsets + p * kLanes, sizeof(Vector));
  for (int64_t i = 0; i < n; i += kRows) {
    const int m = static_cast<int>(std::min<int64_t>(kRows, n - i));
    const float* x[kRows];
    for (int r = 0; r < kRows; ++r) x[r] = rows + (i + (r < m ? r : 0)) * width;
    Vector acc[kRows][kParts];
    for (int r = 0; r < kRows; ++r)
      for (int p = 0; p < kParts; ++p) acc[r][p] = -offset[p];
    for (int64_t k = 0; k < width; ++k) {
      Vector w[kParts];
      for (int p = 0; p < kParts; ++p) std::memcpy(&w[p], weights + k * kBlock + p * kLanes, sizeof(Vector));
      for (int r = 0; r < kRows; ++r) {
        const float v = x[r][k];
        for (int p = 0; p < kParts; ++p) acc[r][p] += v * w[p];
      }
    }
    alignas(32) float tile[kRows][kBlock];
    for (int r = 0; r < kRows; ++r) std::memcpy(tile[r], acc[r], sizeof(float) * kBlock);
    for (int j = 0; j < kBlock; ++j)
      for (int r = 0; r < m; ++r) out[j * n + i + r] = tile[r][j];
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) void project_block_avx2(const float* rows, int64_t n, int64_t width,
                                                            const float* weights, const float* offsets, float* out) {
  project_block_body<Float8>(rows, n, width, weights, offsets, out);
}
#endif

void project_block(const float* rows, int64_t n, int64_t width, const float* weights, const float* offsets,
                   float* out) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2) return project_block_avx2(rows, n, width, weights, offsets, out);
#endif
  project_block_body<Float4>(rows, n, width, weights, offsets, out);
}

// The projections of a set normalised per channel, without a normalised
// copy: (x - mean) / std . u = x . (u / std) - sum(u * mean / std).
void project_normalised(const torch::Tensor& rows, const ChannelStats& stats, const torch::Tensor& directions,
                        int64_t first, float* out) {
  const int64_t width = rows.size(1), per_channel = width / static_cast<int64_t>(stats.mean.size());
  const int64_t k = directions.size(1);
  const auto u = directions.accessor<float, 2>();
  std::vector<float> weights(static_cast<size_t>(width * kBlock), 0.f), offsets(kBlock, 0.f);
  for (int j = 0; j < kBlock && first + j < k; ++j) {
    double offset = 0;
    for (int64_t c = 0; c < width; ++c) {
      const size_t channel = static_cast<size_t>(c / per_channel);
      const double w = u[c][first + j] * stats.inv_std[channel];
      weights[static_cast<size_t>(c * kBlock + j)] = static_cast<float>(w);
      offset += w * stats.mean[channel];
    }
    offsets[static_cast<size_t>(j)] = static_cast<float>(offset);
  }
  project_block(rows.data_ptr<float>(), rows.size(0), width, weights.data(), offsets.data(), out);
}

// Sum over i of |sorted(a)_i - sorted(b)_i| for one direction.
class SortedDistance {
 public:
  explicit SortedDistance(size_t n) : a_(n), b_(n), spare_(n) {}

  double operator()(const float* a, const float* b) {
    sort_float_keys(a, a_.data(), spare_.data(), a_.size());
    sort_float_keys(b, b_.data(), spare_.data(), b_.size());
    double sum = 0;
    for (size_t i = 0; i < a_.size(); ++i) sum += std::abs(static_cast<double>(key_float(a_[i])) - key_float(b_[i]));
    return sum;
  }

 private:
  std::vector<uint32_t> a_, b_, spare_;
};

}  // namespace

torch::Tensor normalize_descriptors(const torch::Tensor& descriptors, int channels) {
  const auto rows = descriptors.to(torch::kFloat).contiguous();
  const ChannelStats stats = channel_stats(rows, channels);
  auto out = rows.view({rows.size(0), channels, -1}).clone();
  for (int c = 0; c < channels; ++c)
    out.select(1, c).sub_(stats.mean[static_cast<size_t>(c)]).mul_(stats.inv_std[static_cast<size_t>(c)]);
  return out.view({rows.size(0), -1});
}

void radix_sort_floats(float* values, size_t n) {
  std::vector<uint32_t> keys(n), spare(n);
  sort_float_keys(values, keys.data(), spare.data(), n);
  for (size_t i = 0; i < n; ++i) values[i] = key_float(keys[i]);
}

double sliced_wasserstein(const torch::Tensor& a, const torch::Tensor& b, int channels, const SwdOptions& options) {
  if (a.sizes() != b.sizes() || a.dim() != 2 || a.size(1) % channels != 0)
    throw std::invalid_argument("sliced_wasserstein: both sets must be [n, channels * k] of the same shape");
  const int64_t n = a.size(0), d = a.size(1), k = options.directions_per_repeat;
  if (n == 0) throw std::invalid_argument("sliced_wasserstein: empty sets");
  const auto rows_a = a.to(torch::kFloat).contiguous(), rows_b = b.to(torch::kFloat).contiguous();
  const ChannelStats stats_a = channel_stats(rows_a, channels), stats_b = channel_stats(rows_b, channels);
  auto generator = at::detail::createCPUGenerator(options.seed);
  std::vector<torch::Tensor> directions;
  for (int r = 0; r < options.repeats; ++r) {
    auto u = torch::randn({d, k}, generator);
    directions.push_back((u / u.norm(2, 0, true)).contiguous());  // unit columns
  }
  // Each item projects and sorts one block of directions of one repeat; the
  // sums land in fixed slots, so the thread count does not change the result.
  struct Workspace {
    explicit Workspace(size_t n) : distance(n), pa(n * kBlock), pb(n * kBlock) {}
    SortedDistance distance;
    std::vector<float> pa, pb;
  };
  tbb::enumerable_thread_specific<Workspace> workspaces([n] { return Workspace(static_cast<size_t>(n)); });
  const int64_t blocks = (k + kBlock - 1) / kBlock;
  std::vector<double> per_direction(static_cast<size_t>(options.repeats * k), 0.0);
  parallel_items(options.repeats * blocks, [&](int64_t item) {
    Workspace& w = workspaces.local();
    const int64_t r = item / blocks, d0 = (item % blocks) * kBlock;
    project_normalised(rows_a, stats_a, directions[static_cast<size_t>(r)], d0, w.pa.data());
    project_normalised(rows_b, stats_b, directions[static_cast<size_t>(r)], d0, w.pb.data());
    for (int64_t j = 0; j < kBlock && d0 + j < k; ++j)
      per_direction[static_cast<size_t>(r * k + d0 + j)] =
          w.distance(w.pa.data() + j * n, w.pb.data() + j * n) / static_cast<double>(n);
  });
  return std::accumulate(per_direction.begin(), per_direction.end(), 0.0) / static_cast<double>(per_direction.size());
}

SwdResult swd_from_descriptors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                               int channels, const std::vector<int>& resolutions, const SwdOptions& options) {
  if (a.size() != resolutions.size() || b.size() != resolutions.size())
    throw std::invalid_argument("swd_from_descriptors: one descriptor set per resolution expected");
  SwdResult result;
  result.resolutions = resolutions;
  for (size_t l = 0; l < resolutions.size(); ++l) {
    SwdOptions level = options;
    level.seed = options.seed * 1000003ull + l;
    const double distance = sliced_wasserstein(a[l], b[l], channels, level);
    result.per_level.push_back(distance * 1e3);
  }
  if (!result.per_level.empty())
    result.average = std::accumulate(result.per_level.begin(), result.per_level.end(), 0.0) /
                     static_cast<double>(result.per_level.size());
  return result;
}

SwdResult swd(const torch::Tensor& a, const torch::Tensor& b, const SwdOptions& options) {
  if (a.dim() != 4 || a.sizes() != b.sizes())
    throw std::invalid_argument("swd: both sets must be uint8 [n, c, s, s] of the same shape");
  const int size = static_cast<int>(a.size(2));
  const std::vector<int> resolutions = swd_resolutions(size, options.min_resolution);
  if (resolutions.empty() || a.size(3) != size)
    throw std::invalid_argument("swd: images must be square and at least " + std::to_string(options.min_resolution) +
                                " pixels");
  const int levels = static_cast<int>(resolutions.size());
  // Independent patch positions per set, as the reference draws them.
  const auto da = patch_descriptors(a, levels, options, options.seed * 2 + 1);
  const auto db = patch_descriptors(b, levels, options, options.seed * 2 + 2);
  return swd_from_descriptors(da, db, static_cast<int>(a.size(1)), resolutions, options);
}

}  // namespace sg
