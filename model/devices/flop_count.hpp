#pragma once
// The arithmetic a piece of work does, counted while it runs: every
// convolution (forward, and the input and weight gradients of its backward)
// and matrix product dispatched on any thread, from the operands' shapes, a
// multiply-add counted as 2 FLOPs. An operation nested in a counted one (a
// convolution lowered to a matrix product) is not counted again. Elementwise
// work is left out: it is memory-bound and small beside these. Used by the
// benchmarks to put attained GFLOP/s beside the machine's measured peak.
#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

namespace sg {

class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;

  void stop();  // also done at destruction
  double flops() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
  uint64_t handle_ = 0;
  bool active_ = false;
};

// FLOPs of a convolution from its operands' shapes: input [n, c, h, w],
// weight [c_out, c/groups, kh, kw] ([c, c_out/groups, kh, kw] transposed),
// output [n, c_out, h', w'].
double convolution_flops(at::IntArrayRef input, at::IntArrayRef weight, at::IntArrayRef output, bool transposed);

// This machine's attained peak in GFLOP/s, measured now in `dtype` (fp32,
// or bf16 for bf16 autocast runs): the best of a dense matrix product
// (2,048²) and a 3x3 convolution at 512 channels (16x16, batch 16), each
// timed over about `seconds`.
struct MeasuredPeak {
  double matmul_gflops = 0, conv_gflops = 0;
  double best() const { return matmul_gflops > conv_gflops ? matmul_gflops : conv_gflops; }
};
MeasuredPeak measure_peak(const torch::Device& device, torch::ScalarType dtype = torch::kFloat, double seconds = 1.0);

// "Intel(R) Xeon(R) ...; peak measured now: fp32 matmul 2048^2 31 GFLOP/s,
// conv 3x3 512ch 16^2 280 GFLOP/s": the line the benchmarks print above
// their tables.
std::string describe_peak(const torch::Device& device, torch::ScalarType dtype, const MeasuredPeak& peak);

}  // namespace sg
