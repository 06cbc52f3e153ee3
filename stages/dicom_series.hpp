#pragma once
// DICOM series as volumes: each .dcm file's header read (GDCM), the files
// grouped into series by SeriesInstanceUID, a series sorted by position
// along its slice normal and read (ITK's GDCMImageIO, rescale applied) as
// one volume. What cannot be a slice of a series is refused with its
// reason: not DICOM, no pixel data (a structured report, an RT structure
// set), pixel data GDCM cannot decode; what cannot be a volume too: mixed
// sizes or orientations, a missing slice.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/images/image.hpp"

namespace sg {

struct DicomSlice {
  std::string path;  // on disk (archive members are extracted first)
  std::string name;  // as reports name the input
  std::string series_uid, patient_id, modality;
  double position[3] = {0, 0, 0};     // ImagePositionPatient
  double orientation[6] = {1, 0, 0, 0, 1, 0};  // ImageOrientationPatient (row, column cosines)
  int rows = 0, columns = 0;
  double window_center = 0, window_width = 0;  // 0 width: none given
};

// The header of one file, and a check that its pixel data decodes.
// InputError(name, reason) when it cannot be a slice.
// The file's structure is checked by our own walk first (dicom_structure.hpp);
// files over max_bytes are refused.
DicomSlice read_dicom_slice(const std::string& path, const std::string& name, uint64_t max_bytes = uint64_t{1} << 30);

struct DicomSeries {
  std::string name;  // the first file's folder, "/", the series UID: what the config's rules match
  std::string uid, patient_id;
  std::vector<DicomSlice> slices;  // in file-name order until read
};

// Slices grouped by series UID, in order of each series' first file.
std::vector<DicomSeries> group_dicom_series(std::vector<DicomSlice> slices);

// The series as a volume (x along rows, y down columns, z along the slice
// normal), voxels after the modality rescale; the first slice's window
// (centre/width) as window_low/high when given. InputError(series name,
// reason) for mixed sizes or orientations, repeated or missing positions,
// or pixel data ITK cannot read.
// One file's pixels (rows x columns, rescale applied) through ITK's
// GDCMImageIO, in this process; InputError(name, reason) otherwise.
std::vector<float> read_dicom_pixels(const DicomSlice& slice);

// Every slice's pixels, in order (InputError naming a file that fails).
using DicomPixelReader = std::function<std::vector<std::vector<float>>(const std::vector<DicomSlice>&)>;
std::vector<std::vector<float>> read_dicom_series_pixels(const std::vector<DicomSlice>& slices);

// `read_pixels` reads the sorted slices (sg_prep: read_dicom_pixels_isolated).
Volume read_dicom_volume(DicomSeries series, uint64_t max_bytes,
                         const DicomPixelReader& read_pixels = read_dicom_series_pixels);

// True for the file names read as DICOM (lower-case): .dcm, .dicom.
bool is_dicom_file_name(const std::string& lower_name);

}  // namespace sg
