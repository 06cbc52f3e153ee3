#include "stages/dicom_series.hpp"

#include <gdcmImageReader.h>
#include <gdcmStringFilter.h>
#include <gdcmTransferSyntax.h>
#include <itkGDCMImageIO.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <sstream>

#include "common/errors.hpp"
#include "stages/dicom_structure.hpp"
#include "stages/source.hpp"

namespace sg {

namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
  size_t first = 0;
  while (first < text.size() && text[first] == ' ') ++first;
  return text.substr(first);
}

std::string tag_text(const gdcm::StringFilter& filter, const gdcm::DataSet& data, uint16_t group, uint16_t element) {
  const gdcm::Tag tag(group, element);
  return data.FindDataElement(tag) ? trimmed(filter.ToString(tag)) : "";
}

// "a\b\c" as numbers; false when there are not `count` of them.
bool numbers(const std::string& text, double* out, int count) {
  std::string spaced = text;
  std::replace(spaced.begin(), spaced.end(), '\\', ' ');
  std::istringstream in(spaced);
  for (int i = 0; i < count; ++i)
    if (!(in >> out[i]) || !std::isfinite(out[i])) return false;
  return true;
}

void normal_of(const double (&o)[6], double (&n)[3]) {
  n[0] = o[1] * o[5] - o[2] * o[4];
  n[1] = o[2] * o[3] - o[0] * o[5];
  n[2] = o[0] * o[4] - o[1] * o[3];
}

double along(const double (&p)[3], const double (&n)[3]) { return p[0] * n[0] + p[1] * n[1] + p[2] * n[2]; }

}  // namespace

bool is_dicom_file_name(const std::string& n) {
  auto ends = [&](const char* s) { return n.size() >= std::strlen(s) && n.compare(n.size() - std::strlen(s), std::strlen(s), s) == 0; };
  return ends(".dcm") || ends(".dicom");
}

DicomSlice read_dicom_slice(const std::string& path, const std::string& name, uint64_t max_bytes) {
  check_dicom_structure(read_file_bytes(path, name, max_bytes), name);
  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  if (!reader.Read()) {
    // ImageReader also fails on a valid DICOM object without an image.
    gdcm::Reader plain;
    plain.SetFileName(path.c_str());
    if (!plain.Read()) throw InputError(name, "not a DICOM file (GDCM cannot parse it)");
    gdcm::StringFilter filter;
    filter.SetFile(plain.GetFile());
    const gdcm::DataSet& data = plain.GetFile().GetDataSet();
    if (!data.FindDataElement(gdcm::Tag(0x7fe0, 0x0010))) {
      const std::string modality = tag_text(filter, data, 0x0008, 0x0060);
      throw InputError(name, "not an image: a " + (modality.empty() ? std::string("DICOM") : modality) +
                                 " object without pixel data (SOP class " + tag_text(filter, data, 0x0008, 0x0016) +
                                 ")");
    }
    throw InputError(name, "GDCM cannot read its image (transfer syntax " +
                               std::string(plain.GetFile().GetHeader().GetDataSetTransferSyntax().GetString()) + ")");
  }
  const gdcm::Image& image = reader.GetImage();
  const gdcm::DataSet& data = reader.GetFile().GetDataSet();
  gdcm::StringFilter filter;
  filter.SetFile(reader.GetFile());
  DicomSlice slice;
  slice.path = path;
  slice.name = name;
  if (image.GetNumberOfDimensions() != 2 && !(image.GetNumberOfDimensions() == 3 && image.GetDimension(2) == 1))
    throw InputError(name, "a multi-frame object (" + std::to_string(image.GetDimension(2)) +
                               " frames): series of single-frame files only");
  slice.columns = static_cast<int>(image.GetDimension(0));
  slice.rows = static_cast<int>(image.GetDimension(1));
  // Decoding the pixel data now names the file GDCM cannot decode.
  std::vector<char> pixels(image.GetBufferLength());
  if (!image.GetBuffer(pixels.data()))
    throw InputError(name, "GDCM cannot decode its pixel data (transfer syntax " +
                               std::string(image.GetTransferSyntax().GetString()) + ")");
  slice.series_uid = tag_text(filter, data, 0x0020, 0x000e);
  if (slice.series_uid.empty()) throw InputError(name, "no SeriesInstanceUID (0020,000E)");
  slice.patient_id = tag_text(filter, data, 0x0010, 0x0020);
  slice.modality = tag_text(filter, data, 0x0008, 0x0060);
  if (!numbers(tag_text(filter, data, 0x0020, 0x0032), slice.position, 3))
    throw InputError(name, "no usable ImagePositionPatient (0020,0032): its place in the series is unknown");
  if (!numbers(tag_text(filter, data, 0x0020, 0x0037), slice.orientation, 6))
    throw InputError(name, "no usable ImageOrientationPatient (0020,0037)");
  double window[2];
  if (numbers(tag_text(filter, data, 0x0028, 0x1050), window, 1) &&
      numbers(tag_text(filter, data, 0x0028, 0x1051), window + 1, 1) && window[1] > 0) {
    slice.window_center = window[0];
    slice.window_width = window[1];
  }
  return slice;
}

std::vector<DicomSeries> group_dicom_series(std::vector<DicomSlice> slices) {
  std::vector<DicomSeries> series;
  std::map<std::string, size_t> index;
  for (DicomSlice& slice : slices) {
    const auto [it, added] = index.emplace(slice.series_uid, series.size());
    if (added) {
      DicomSeries s;
      const size_t slash = slice.name.rfind('/');
      s.name = (slash == std::string::npos ? "" : slice.name.substr(0, slash + 1)) + slice.series_uid;
      s.uid = slice.series_uid;
      s.patient_id = slice.patient_id;
      series.push_back(std::move(s));
    }
    series[it->second].slices.push_back(std::move(slice));
  }
  return series;
}

std::vector<float> read_dicom_pixels(const DicomSlice& s) {
  try {
    auto io = itk::GDCMImageIO::New();
    io->SetFileName(s.path);
    io->ReadImageInformation();
    if (io->GetDimensions(0) != static_cast<size_t>(s.columns) || io->GetDimensions(1) != static_cast<size_t>(s.rows) ||
        io->GetNumberOfComponents() != 1)
      throw InputError(s.name, "ITK reads it as another image than its header describes");
    itk::ImageIORegion region(io->GetNumberOfDimensions());
    for (unsigned d = 0; d < io->GetNumberOfDimensions(); ++d) {
      region.SetIndex(d, 0);
      region.SetSize(d, io->GetDimensions(d));
    }
    io->SetIORegion(region);
    std::vector<char> raw(io->GetImageSizeInBytes());
    io->Read(raw.data());
    const size_t plane = static_cast<size_t>(s.columns) * static_cast<size_t>(s.rows);
    std::vector<float> out(plane);
    using C = itk::IOComponentEnum;
    auto copy = [&](auto typed) {
      using T = decltype(typed);
      if (raw.size() < plane * sizeof(T)) throw InputError(s.name, "ITK read fewer pixels than the image has");
      const T* p = reinterpret_cast<const T*>(raw.data());
      for (size_t i = 0; i < plane; ++i) out[i] = static_cast<float>(p[i]);
    };
    switch (io->GetComponentType()) {
      case C::UCHAR: copy(uint8_t{}); break;
      case C::CHAR: copy(int8_t{}); break;
      case C::USHORT: copy(uint16_t{}); break;
      case C::SHORT: copy(int16_t{}); break;
      case C::UINT: copy(uint32_t{}); break;
      case C::INT: copy(int32_t{}); break;
      case C::FLOAT: copy(float{}); break;
      case C::DOUBLE: copy(double{}); break;
      default: throw InputError(s.name, "unsupported pixel type " + io->GetComponentTypeAsString(io->GetComponentType()));
    }
    return out;
  } catch (const Error&) {
    throw;
  } catch (const itk::ExceptionObject& e) {
    std::string what = e.GetDescription();
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    throw InputError(s.name, "ITK could not read it: " + what);
  }
}

std::vector<std::vector<float>> read_dicom_series_pixels(const std::vector<DicomSlice>& slices) {
  std::vector<std::vector<float>> out;
  for (const DicomSlice& s : slices) out.push_back(read_dicom_pixels(s));
  return out;
}

Volume read_dicom_volume(DicomSeries series, uint64_t max_bytes, const DicomPixelReader& read_pixels) {
  const std::string& name = series.name;
  if (series.slices.empty()) throw InputError(name, "a series without slices");
  const DicomSlice& first = series.slices.front();
  for (const DicomSlice& s : series.slices) {
    if (s.rows != first.rows || s.columns != first.columns)
      throw InputError(name, "mixed slice sizes in one series: " + std::to_string(first.columns) + "x" +
                                 std::to_string(first.rows) + " (" + first.name + ") and " +
                                 std::to_string(s.columns) + "x" + std::to_string(s.rows) + " (" + s.name + ")");
    for (int i = 0; i < 6; ++i)
      if (std::abs(s.orientation[i] - first.orientation[i]) > 1e-3)
        throw InputError(name, "mixed orientations in one series (" + first.name + ", " + s.name + ")");
  }
  double normal[3];
  normal_of(first.orientation, normal);
  std::stable_sort(series.slices.begin(), series.slices.end(), [&](const DicomSlice& a, const DicomSlice& b) {
    return along(a.position, normal) < along(b.position, normal);
  });
  // Equal steps along the normal: a repeated position or a gap means the
  // files do not make one volume.
  const size_t n = series.slices.size();
  if (n >= 2) {
    std::vector<double> steps;
    for (size_t i = 1; i < n; ++i)
      steps.push_back(along(series.slices[i].position, normal) - along(series.slices[i - 1].position, normal));
    // The spacing: the smallest step (a missing slice only makes one larger).
    const double step = *std::min_element(steps.begin(), steps.end());
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i] < 1e-4)
        throw InputError(name, "two slices at one position (" + series.slices[i].name + ", " +
                                   series.slices[i + 1].name + ")");
      if (step > 1e-4 && std::abs(steps[i] - step) > 0.1 * step) {
        char text[256];
        std::snprintf(text, sizeof text, "a gap in the series: %.3g mm between %s and %s where the slices are %.3g mm apart",
                      steps[i], series.slices[i].name.c_str(), series.slices[i + 1].name.c_str(), step);
        throw InputError(name, std::string(text) + " (a missing slice?)");
      }
    }
  }
  const uint64_t bytes = static_cast<uint64_t>(first.rows) * static_cast<uint64_t>(first.columns) * n * sizeof(float);
  if (bytes > max_bytes) throw InputError(name, "the series exceeds the size limit of " + std::to_string(max_bytes) + " bytes");

  Volume v;
  v.nx = first.columns;
  v.ny = first.rows;
  v.nz = static_cast<int>(n);
  v.voxels.resize(static_cast<size_t>(v.nx) * v.ny * v.nz);
  const size_t plane = static_cast<size_t>(v.nx) * v.ny;
  std::vector<std::vector<float>> pixels;
  try {
    pixels = read_pixels(series.slices);
  } catch (const InputError& e) {
    throw InputError(name, e.what());  // "file: reason", under the series' name
  }
  if (pixels.size() != n) throw InputError(name, "the reader returned " + std::to_string(pixels.size()) + " slices");
  for (size_t z = 0; z < n; ++z) {
    if (pixels[z].size() != plane) throw InputError(name, series.slices[z].name + ": another image than its header describes");
    std::copy(pixels[z].begin(), pixels[z].end(), v.voxels.begin() + static_cast<std::ptrdiff_t>(z * plane));
  }
  for (float& x : v.voxels)
    if (!std::isfinite(x)) x = 0.f;
  if (first.window_width > 0) {
    v.window_low = static_cast<float>(first.window_center - first.window_width / 2);
    v.window_high = static_cast<float>(first.window_center + first.window_width / 2);
  }
  return v;
}

}  // namespace sg
