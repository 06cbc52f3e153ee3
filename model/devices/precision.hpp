#pragma once
// Numeric precision of the training step: fp32 throughout; tf32, fp32 with
// TF32 tensor-core convolutions and matrix products on CUDA (PyTorch's
// default for convolutions, so the reference's); or bf16 autocast for the
// forward passes of G and D (convolutions and matrix products in bfloat16
// on CPUs with AVX512-BF16 and on CUDA; losses, gradient penalty, optimiser
// and weights stay fp32).
#include <string>

namespace at {
class Tensor;
}
namespace c10 {
struct Device;
}

namespace sg {

enum class Precision { Fp32, Tf32, Bf16 };

// "fp32", "tf32" or "bf16"; throws std::invalid_argument otherwise.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision precision);
// --precision as a program resolves it: `requested` when given (as
// parse_precision), else bf16 on CUDA (tensor cores, half the bytes) and
// fp32 on a CPU (where bf16 pays only with AVX512-BF16). `device_name` is
// "cpu" or "cuda", as resolve_device_name gives it.
Precision resolve_precision(const std::string& requested, const std::string& device_name);

// Whether CUDA's fp32 convolutions and matrix products may use TF32 tensor
// cores: yes for tf32 and for bf16's fp32 remainder, no for fp32, which
// must match the CPU. Process-wide; no effect on a CPU.
void apply_float32_math(Precision precision);

// Autocast to bf16 on `device` for the scope's lifetime when enabled; the
// previous state comes back at exit. Backward passes run outside it.
class AutocastScope {
 public:
  AutocastScope(const c10::Device& device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false, cuda_ = false, previous_ = false;
};

// The input as autocast would hand it to a convolution: cast to the
// autocast dtype where autocast is on for its device, else unchanged. For
// custom autograd Functions, whose forward autocast does not see.
at::Tensor autocast_input(const at::Tensor& x);

// A parameter in the dtype of the activation `like`, for the elementwise
// steps autocast does not cast (bias, noise weight): under autocast the cast
// autocast caches for leaves, else a plain conversion (none where the dtypes
// agree).
at::Tensor parameter_like(const at::Tensor& parameter, const at::Tensor& like);

// A reduced-precision result (bf16, fp16) in fp32 for losses and
// statistics; fp32 and fp64 unchanged, so a network trained in fp64 (the
// lock-step comparison with the reference) keeps every digit.
at::Tensor full_precision(const at::Tensor& x);

}  // namespace sg
