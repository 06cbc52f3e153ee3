#pragma once
// Numeric precision of the training step: fp32 throughout, or bf16
// autocast for the forward passes of G and D (convolutions and matrix
// products in bfloat16 on CPUs with AVX512-BF16 and on CUDA; losses,
// gradient penalty, optimiser and weights stay fp32).
#include <string>

namespace at {
class Tensor;
}
namespace c10 {
struct Device;
}

namespace sg {

enum class Precision { Fp32, Bf16 };

// "fp32" or "bf16"; throws std::invalid_argument otherwise.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision precision);

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

}  // namespace sg
