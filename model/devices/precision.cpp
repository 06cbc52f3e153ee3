#include "model/devices/precision.hpp"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <c10/core/Device.h>
#include <torch/version.h>

#include <stdexcept>

// LibTorch 2.4 replaced the per-device autocast switches by ones taking the
// device type; 1.13 (Debian) has only the old ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SG_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace sg {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::Fp32;
  if (name == "tf32") return Precision::Tf32;
  if (name == "bf16") return Precision::Bf16;
  throw std::invalid_argument("unknown precision '" + name + "' (fp32, tf32 or bf16)");
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::Tf32: return "tf32";
    case Precision::Bf16: return "bf16";
    default: return "fp32";
  }
}

Precision resolve_precision(const std::string& requested, const std::string& device_name) {
  if (!requested.empty()) return parse_precision(requested);
  return device_name == "cuda" ? Precision::Bf16 : Precision::Fp32;
}

void apply_float32_math(Precision precision) {
  // The legacy pair of switches only: LibTorch 2.9+ refuses a mix of these
  // and its newer per-backend precision settings, and 1.13 has only these.
  const bool tf32 = precision != Precision::Fp32;
  at::globalContext().setAllowTF32CuDNN(tf32);
  at::globalContext().setAllowTF32CuBLAS(tf32);
}

namespace {

bool autocast_enabled(bool cuda) {
#ifdef SG_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

at::ScalarType autocast_dtype(bool cuda) {
#ifdef SG_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_autocast(bool cuda, bool enabled) {
#ifdef SG_AUTOCAST_BY_DEVICE_TYPE
  const auto type = cuda ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_dtype(type, at::kBFloat16);
  at::autocast::set_autocast_enabled(type, enabled);
#else
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

}  // namespace

at::Tensor autocast_input(const at::Tensor& x) {
  const bool cuda = x.is_cuda();
  if (!(cuda || x.is_cpu()) || !autocast_enabled(cuda)) return x;
  return at::autocast::cached_cast(autocast_dtype(cuda), x, cuda ? at::kCUDA : at::kCPU);
}

at::Tensor parameter_like(const at::Tensor& parameter, const at::Tensor& like) {
  const auto dtype = like.scalar_type();
  if (parameter.scalar_type() == dtype) return parameter;
  const bool cuda = parameter.is_cuda();
  if ((cuda || parameter.is_cpu()) && autocast_enabled(cuda) && dtype == autocast_dtype(cuda))
    return autocast_input(parameter);
  return parameter.to(dtype);
}

AutocastScope::AutocastScope(const c10::Device& device, Precision precision) {
  if (precision != Precision::Bf16) return;
  active_ = true;
  cuda_ = device.is_cuda();
  previous_ = autocast_enabled(cuda_);
  at::autocast::increment_nesting();
  set_autocast(cuda_, true);
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  set_autocast(cuda_, previous_);
  // The cast weights are cached for the scope; drop them when the last one ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

at::Tensor full_precision(const at::Tensor& x) {
  const at::ScalarType t = x.scalar_type();
  return t == at::kBFloat16 || t == at::kHalf ? x.to(at::kFloat) : x;
}

}  // namespace sg
