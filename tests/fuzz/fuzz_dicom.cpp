// DICOM files: our structure walk in this process, then the reading sg_prep
// does (GDCM's parser and decoders, ITK's GDCMImageIO) in sg_dicom_reader's
// child processes: whatever GDCM does with the bytes, this process sees an
// sg::Error at most (a dead child is one).
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "fuzz_common.hpp"
#include "stages/dicom_process.hpp"
#include "stages/dicom_series.hpp"
#include "stages/dicom_structure.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    sg::check_dicom_structure(bytes, "f.dcm");
  } catch (const sg::Error&) {
  }
  const std::string path = sg::fuzz::write_scratch("f.dcm", bytes);
  try {
    std::vector<sg::DicomSlice> slices{sg::read_dicom_slice_isolated(path, "f.dcm", uint64_t{64} << 20)};
    sg::read_dicom_volume(sg::group_dicom_series(std::move(slices)).at(0), uint64_t{64} << 20,
                          sg::read_dicom_pixels_isolated);
  } catch (const sg::Error&) {
  }
  return 0;
}
