#pragma once
// GDCM in a child process. Debian's GDCM is built with assertions and its
// decoders trust their input: a malformed file can abort, or divide by zero
// in, whatever process reads it (fuzz_dicom found six ways in minutes, past
// every check of ours). sg_prep therefore never calls GDCM itself: each
// file's header and pixels are read by `sg_dicom_reader` (tools/), spawned
// beside the running program, and a child that dies is one more skipped
// input with its reason.
#include <cstdint>
#include <string>
#include <vector>

#include "stages/dicom_series.hpp"

namespace sg {

// read_dicom_slice in a child process: the same result, or InputError(name,
// reason) — including "GDCM crashed reading it (...)" when the child died.
DicomSlice read_dicom_slice_isolated(const std::string& path, const std::string& name, uint64_t max_bytes);

// One file's pixels (rows x columns floats, rescale applied) through ITK's
// GDCMImageIO in a child process; InputError(name, reason) otherwise.
std::vector<float> read_dicom_pixels_isolated(const DicomSlice& slice);

// The helper's side: what it writes to stdout for the parent above.
std::string encode_dicom_slice(const DicomSlice& slice);
std::string encode_dicom_pixels(const std::vector<float>& pixels);

// The reader program: $SG_DICOM_READER, else sg_dicom_reader beside the
// running executable.
std::string dicom_reader_program();

}  // namespace sg
