// NIfTI-1/-2 and Analyze headers and voxels (our checks, our NIfTI-2 reader,
// ITK's NIfTI-1 reader behind them), MetaImage and NRRD headers. The first
// byte picks the file name the rest is written under.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "common/errors.hpp"
#include "fuzz_common.hpp"
#include "stages/volume_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* kNames[] = {"v.nii", "v.nii.gz", "v.hdr", "v.mha", "v.nrrd", "v.nhdr"};
  const std::string name = kNames[data[0] % 6];
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string path;
  if (name == "v.hdr") {
    // A pair: the first 348 bytes are the header, the rest the .img.
    const size_t split = std::min<size_t>(bytes.size(), 348);
    path = sg::fuzz::write_scratch("v.hdr", bytes.substr(0, split));
    sg::fuzz::write_scratch("v.img", bytes.substr(split));
  } else if (name == "v.nhdr") {
    // A detached NRRD header and its data file "v.raw".
    const size_t split = bytes.find("\n\n") == std::string_view::npos ? bytes.size() : bytes.find("\n\n") + 2;
    path = sg::fuzz::write_scratch("v.nhdr", bytes.substr(0, split));
    sg::fuzz::write_scratch("v.raw", bytes.substr(split));
  } else {
    path = sg::fuzz::write_scratch(name, bytes);
  }
  std::vector<std::string> warnings;
  try {
    sg::read_volume_with_itk(path, name, uint64_t{64} << 20, warnings);
  } catch (const sg::Error&) {
  }
  return 0;
}
