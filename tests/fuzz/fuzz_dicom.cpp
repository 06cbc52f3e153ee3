// DICOM files (GDCM's parser and decoders, our header checks, ITK's
// GDCMImageIO): one file read as a slice, then as a one-slice series.
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "fuzz_common.hpp"
#include "stages/dicom_series.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      sg::fuzz::write_scratch("f.dcm", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    std::vector<sg::DicomSlice> slices{sg::read_dicom_slice(path, "f.dcm")};
    sg::read_dicom_volume(sg::group_dicom_series(std::move(slices)).at(0), uint64_t{64} << 20);
  } catch (const sg::Error&) {
  }
  return 0;
}
