// DICOM series in sg_prep: files grouped by series and sorted by position
// into volumes, PatientID as the subject, the series' window; and every way
// a file or a series can be unusable named as its reason. The files are
// written here, byte by byte (explicit VR little endian), so each broken
// case is exactly what it claims to be.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/errors.hpp"
#include "datasets/dataset_config.hpp"
#include "datasets/lmdb_reader.hpp"
#include "pipeline/prep_graph.hpp"
#include "stages/dicom_process.hpp"
#include "stages/dicom_series.hpp"
#include "stages/normalize.hpp"
#include "stages/volume_reader.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

constexpr const char* kMrImage = "1.2.840.10008.5.1.4.1.1.4";
constexpr const char* kExplicitLittle = "1.2.840.10008.1.2.1";

void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}
void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v & 0xffff));
  put16(out, static_cast<uint16_t>(v >> 16));
}

// One data element, explicit VR little endian, its value padded to even length.
void element(std::string& out, uint16_t group, uint16_t tag, const char* vr, std::string value) {
  if (value.size() % 2) value += std::strcmp(vr, "UI") == 0 || std::strcmp(vr, "OB") == 0 ? '\0' : ' ';
  put16(out, group);
  put16(out, tag);
  out += vr;
  if (!std::strcmp(vr, "OB") || !std::strcmp(vr, "OW") || !std::strcmp(vr, "SQ") || !std::strcmp(vr, "UN")) {
    put16(out, 0);
    put32(out, static_cast<uint32_t>(value.size()));
  } else {
    put16(out, static_cast<uint16_t>(value.size()));
  }
  out += value;
}

std::string us(uint16_t v) {
  std::string s;
  put16(s, v);
  return s;
}

struct SliceSpec {
  std::string patient = "PAT-1", series = "1.2.3.4.1", sop_class = kMrImage, modality = "MR";
  std::string transfer_syntax = kExplicitLittle;
  double z = 0;
  std::string orientation = "1\\0\\0\\0\\1\\0";
  int size = 32;
  int width = 0;        // columns, when not `size`
  int16_t value = 0;    // the voxels: value + x + y
  bool pixels = true;   // false: no pixel data (a report)
  bool garbage_jpeg2000 = false;  // encapsulated pixel data that does not decode
  std::string window_center, window_width;
  const std::vector<int16_t>* voxels = nullptr;  // size x size, row by row, instead of value + x + 2y
};

std::string dicom_file(const SliceSpec& s) {
  std::string meta;
  element(meta, 0x0002, 0x0001, "OB", std::string("\0\1", 2));
  element(meta, 0x0002, 0x0002, "UI", s.sop_class);
  element(meta, 0x0002, 0x0003, "UI", s.series + "." + std::to_string(static_cast<int>(s.z * 10 + 1000)));
  element(meta, 0x0002, 0x0010, "UI", s.garbage_jpeg2000 ? "1.2.840.10008.1.2.4.90" : s.transfer_syntax);
  element(meta, 0x0002, 0x0012, "UI", "1.2.3.999");
  std::string out(128, '\0');
  out += "DICM";
  element(out, 0x0002, 0x0000, "UL", std::string(4, '\0'));
  const uint32_t length = static_cast<uint32_t>(meta.size());
  std::memcpy(out.data() + out.size() - 4, &length, 4);
  out += meta;
  char text[64];
  element(out, 0x0008, 0x0016, "UI", s.sop_class);
  element(out, 0x0008, 0x0018, "UI", s.series + "." + std::to_string(static_cast<int>(s.z * 10 + 1000)));
  element(out, 0x0008, 0x0060, "CS", s.modality);
  element(out, 0x0010, 0x0020, "LO", s.patient);
  element(out, 0x0020, 0x000d, "UI", "1.2.3.4");
  element(out, 0x0020, 0x000e, "UI", s.series);
  if (s.pixels) {
    std::snprintf(text, sizeof text, "-10\\-20\\%g", s.z);
    element(out, 0x0020, 0x0032, "DS", text);
    element(out, 0x0020, 0x0037, "DS", s.orientation);
    element(out, 0x0028, 0x0002, "US", us(1));
    element(out, 0x0028, 0x0004, "CS", "MONOCHROME2");
    element(out, 0x0028, 0x0010, "US", us(static_cast<uint16_t>(s.size)));
    element(out, 0x0028, 0x0011, "US", us(static_cast<uint16_t>(s.width > 0 ? s.width : s.size)));
    element(out, 0x0028, 0x0030, "DS", "1\\1");
    element(out, 0x0028, 0x0100, "US", us(16));
    element(out, 0x0028, 0x0101, "US", us(16));
    element(out, 0x0028, 0x0102, "US", us(15));
    element(out, 0x0028, 0x0103, "US", us(1));
    if (!s.window_center.empty()) {
      element(out, 0x0028, 0x1050, "DS", s.window_center);
      element(out, 0x0028, 0x1051, "DS", s.window_width);
    }
    if (s.garbage_jpeg2000) {
      // Encapsulated: undefined length, an empty offset table, one fragment, the delimiter.
      put16(out, 0x7fe0);
      put16(out, 0x0010);
      out += "OB";
      put16(out, 0);
      put32(out, 0xffffffff);
      put16(out, 0xfffe);
      put16(out, 0xe000);
      put32(out, 0);
      put16(out, 0xfffe);
      put16(out, 0xe000);
      put32(out, 16);
      out += std::string(16, '\x5a');
      put16(out, 0xfffe);
      put16(out, 0xe0dd);
      put32(out, 0);
    } else {
      std::string pixels;
      const int columns = s.width > 0 ? s.width : s.size;
      for (int y = 0; y < s.size; ++y)
        for (int x = 0; x < columns; ++x)
          put16(pixels, static_cast<uint16_t>(s.voxels ? (*s.voxels)[static_cast<size_t>(y * columns + x)]
                                                        : static_cast<int16_t>(s.value + x + 2 * y)));
      element(out, 0x7fe0, 0x0010, "OW", pixels);
    }
  }
  return out;
}

void write_series(const fs::path& folder, SliceSpec spec, const std::vector<double>& positions) {
  fs::create_directories(folder);
  for (size_t i = 0; i < positions.size(); ++i) {
    spec.z = positions[i];
    spec.value = static_cast<int16_t>(100 * (i + 1));
    // Names in another order than the positions: the reader sorts by position.
    test::write_file((folder / ("IM" + std::to_string(positions.size() - i) + ".dcm")).string(), dicom_file(spec));
  }
}

std::string refusal(const std::string& path) {
  try {
    read_dicom_slice(path, fs::path(path).filename().string());
  } catch (const InputError& e) {
    return e.reason();
  }
  return "(read)";
}

std::string volume_refusal(const fs::path& folder) {
  std::vector<DicomSlice> slices;
  for (const auto& file : fs::directory_iterator(folder)) slices.push_back(read_dicom_slice(file.path(), file.path().filename()));
  try {
    read_dicom_volume(group_dicom_series(slices).at(0), 1u << 30);
  } catch (const InputError& e) {
    return e.reason();
  }
  return "(read)";
}

TEST(Dicom, ASeriesIsReadInPositionOrderWithItsPatientAndWindow) {
  TempDir dir;
  SliceSpec spec;
  spec.window_center = "300";
  spec.window_width = "400";
  write_series(dir / "s", spec, {4.5, 0, 1.5, 3});  // 1.5 mm apart, files out of order
  std::vector<DicomSlice> slices;
  for (const auto& file : fs::directory_iterator(dir / "s")) slices.push_back(read_dicom_slice(file.path(), "s/" + file.path().filename().string()));
  const auto series = group_dicom_series(slices);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].patient_id, "PAT-1");
  EXPECT_EQ(series[0].name, "s/1.2.3.4.1");
  const Volume v = read_dicom_volume(series[0], 1u << 30);
  ASSERT_EQ(v.nx, 32);
  ASSERT_EQ(v.ny, 32);
  ASSERT_EQ(v.nz, 4);
  // Slice k (by position) was written with value 100 * (its file's index + 1):
  // positions 0, 1.5, 3, 4.5 came from files 2, 3, 4, 1.
  const int expected[4] = {200, 300, 400, 100};
  for (int z = 0; z < 4; ++z) {
    EXPECT_EQ(v.at(0, 0, z), expected[z]) << z;
    EXPECT_EQ(v.at(5, 3, z), expected[z] + 5 + 6) << z;
  }
  EXPECT_EQ(v.window_low, 100.f);
  EXPECT_EQ(v.window_high, 500.f);
}

TEST(Dicom, EveryUnusableFileOrSeriesIsNamedWithItsReason) {
  TempDir dir;
  test::write_file(dir / "text.dcm", "this is not DICOM at all, just text padded out to look long enough........");
  EXPECT_NE(refusal(dir / "text.dcm").find("not a DICOM file"), std::string::npos) << refusal(dir / "text.dcm");
  SliceSpec report;
  report.sop_class = "1.2.840.10008.5.1.4.1.1.88.11";
  report.modality = "SR";
  report.pixels = false;
  test::write_file(dir / "report.dcm", dicom_file(report));
  EXPECT_EQ(refusal(dir / "report.dcm"),
            "not an image: a SR object without pixel data (SOP class 1.2.840.10008.5.1.4.1.1.88.11)");
  SliceSpec jpeg;
  jpeg.garbage_jpeg2000 = true;
  test::write_file(dir / "jpeg2000.dcm", dicom_file(jpeg));
  EXPECT_NE(refusal(dir / "jpeg2000.dcm").find("transfer syntax"), std::string::npos) << refusal(dir / "jpeg2000.dcm");

  // Broken structure is refused by our own walk before GDCM sees it (its
  // assertions abort the process): a length past the end, a cut file.
  std::string broken = dicom_file(SliceSpec{});
  const size_t photometric = broken.find("MONOCHROME2") - 2;  // its 2-byte length
  broken[photometric + 1] = '\x04';
  test::write_file(dir / "long.dcm", broken);
  EXPECT_NE(refusal(dir / "long.dcm").find("malformed DICOM at byte"), std::string::npos) << refusal(dir / "long.dcm");
  SliceSpec odd;
  odd.size = 8;
  std::string samples = dicom_file(odd);
  samples[samples.find(std::string("\x28\x00\x02\x00US", 6)) + 8] = '\x09';  // samples per pixel 9
  test::write_file(dir / "samples.dcm", samples);
  EXPECT_EQ(refusal(dir / "samples.dcm"), "malformed DICOM image: samples per pixel 9 (1 or 3 read)");
  const std::string whole = dicom_file(SliceSpec{});
  for (size_t cut : {size_t{140}, size_t{300}, whole.size() - 1}) {
    test::write_file(dir / "cut.dcm", whole.substr(0, cut));
    EXPECT_NE(refusal(dir / "cut.dcm").find("malformed DICOM"), std::string::npos) << cut << ": " << refusal(dir / "cut.dcm");
  }

  SliceSpec spec;
  write_series(dir / "gap", spec, {0, 1, 2, 4, 5});
  EXPECT_NE(volume_refusal(dir / "gap").find("a gap in the series: 2 mm between"), std::string::npos)
      << volume_refusal(dir / "gap");
  write_series(dir / "twice", spec, {0, 1, 1, 2});
  EXPECT_NE(volume_refusal(dir / "twice").find("two slices at one position"), std::string::npos)
      << volume_refusal(dir / "twice");
  write_series(dir / "sizes", spec, {0, 1, 2});
  SliceSpec small = spec;
  small.size = 16;
  small.z = 3;
  test::write_file(dir / "sizes/IM9.dcm", dicom_file(small));
  EXPECT_NE(volume_refusal(dir / "sizes").find("mixed slice sizes in one series: 32x32"), std::string::npos)
      << volume_refusal(dir / "sizes");
  write_series(dir / "turned", spec, {0, 1, 2});
  SliceSpec turned = spec;
  turned.orientation = "0\\1\\0\\0\\0\\-1";
  turned.z = 3;
  test::write_file(dir / "turned/IM9.dcm", dicom_file(turned));
  EXPECT_NE(volume_refusal(dir / "turned").find("mixed orientations in one series"), std::string::npos)
      << volume_refusal(dir / "turned");
}

// sg_prep on a folder of two patients' series among broken files: one
// volume per series, the patients as subjects, each broken input skipped
// with its reason (or failing the run under --on-error fail).
TEST(Dicom, PrepTurnsSeriesIntoSlicesAndSkipsWhatItCannotRead) {
  TempDir dir;
  SliceSpec a, b;
  a.patient = "ALICE";
  a.series = "1.2.3.4.10";
  b.patient = "BOB";
  b.series = "1.2.3.4.20";
  write_series(dir / "in/study1/series1", a, {0, 2, 4, 6, 8, 10});
  write_series(dir / "in/study2/deep/series", b, {0, 2, 4, 6, 8});
  write_series(dir / "in/study3/gappy", [] {
    SliceSpec c;
    c.patient = "CAROL";
    c.series = "1.2.3.4.30";
    return c;
  }(), {0, 2, 6});
  test::write_file(dir / "in/notes.dcm", "plain text");
  SliceSpec report;
  report.pixels = false;
  report.modality = "SR";
  report.sop_class = "1.2.840.10008.5.1.4.1.1.88.11";
  test::write_file(dir / "in/study1/report.dcm", dicom_file(report));

  DatasetConfig config = load_dataset_config(test::source_path("configs/dicom.textproto"));
  config.mutable_split()->set_validate_fraction(0);
  config.mutable_pyramid()->clear_resolutions();
  for (int s : {8, 16, 32}) config.mutable_pyramid()->add_resolutions(s);
  config.mutable_slicing()->set_min_foreground_fraction(0);
  PrepOptions o;
  o.input = dir / "in";
  o.output = dir / "out.lmdb";
  o.threads = 2;
  const PrepSummary s = run_prep(config, o);
  EXPECT_EQ(s.inputs_read, 2u);
  EXPECT_EQ(s.records[TRAIN], 11u);  // 6 + 5 slices
  EXPECT_EQ(s.subjects[TRAIN], 2u);
  ASSERT_EQ(s.skipped.size(), 3u);
  std::string all;
  for (const std::string& line : s.skipped) all += line + "\n";
  EXPECT_NE(all.find("notes.dcm: not a DICOM file"), std::string::npos) << all;
  EXPECT_NE(all.find("study1/report.dcm: not an image: a SR object"), std::string::npos) << all;
  EXPECT_NE(all.find("study3/gappy/1.2.3.4.30: a gap in the series"), std::string::npos) << all;
  LmdbReader reader(dir / "out.lmdb");
  std::vector<std::string> subjects = reader.subjects(TRAIN);
  EXPECT_EQ(std::count(subjects.begin(), subjects.end(), "ALICE"), 6);
  EXPECT_EQ(std::count(subjects.begin(), subjects.end(), "BOB"), 5);

  o.on_error = OnError::Fail;
  o.output = dir / "fail.lmdb";
  try {
    run_prep(config, o);
    FAIL() << "a broken input under --on-error fail";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("notes.dcm"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "fail.lmdb"));

  // The same series in a zip: extracted privately, read, and cleaned up.
  std::vector<std::pair<std::string, std::string>> members;
  for (const auto& file : fs::recursive_directory_iterator(dir / "in/study1"))
    if (file.is_regular_file())
      members.push_back({fs::relative(file.path(), dir / "in").string(), test::read_file(file.path())});
  test::write_zip(dir / "study1.zip", members);
  o.on_error = OnError::Skip;
  o.input = dir / "study1.zip";
  o.output = dir / "zip.lmdb";
  const PrepSummary zipped = run_prep(config, o);
  EXPECT_EQ(zipped.records[TRAIN], 6u);
  EXPECT_EQ(zipped.inputs_skipped, 1u);  // the report
}

// GDCM runs in a child process: a child that dies, or says why it cannot
// read a file, is a skipped input; the real reader gives what this process
// would have read itself.
TEST(Dicom, ADyingReaderIsASkippedInputNotADeadProcess) {
  TempDir dir;
  SliceSpec spec;
  test::write_file(dir / "one.dcm", dicom_file(spec));
  const DicomSlice here = read_dicom_slice(dir / "one.dcm", "one.dcm");
  const DicomSlice there = read_dicom_slice_isolated(dir / "one.dcm", "one.dcm", 1u << 20);
  EXPECT_EQ(there.series_uid, here.series_uid);
  EXPECT_EQ(there.rows, 32);
  EXPECT_EQ(read_dicom_pixels_isolated({there}).at(0), read_dicom_pixels(here));
  test::write_file(dir / "text.dcm", "plain text, no DICOM");
  try {
    read_dicom_slice_isolated(dir / "text.dcm", "text.dcm", 1u << 20);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.reason(), "not a DICOM file (no DICM marker at byte 128)");
  }
  test::write_file(dir / "abort.sh", "#!/bin/sh\nkill -ABRT $$\n");
  fs::permissions(dir / "abort.sh", fs::perms::owner_all);
  ::setenv("SG_DICOM_READER", (dir / "abort.sh").c_str(), 1);
  std::string reason;
  try {
    read_dicom_slice_isolated(dir / "one.dcm", "one.dcm", 1u << 20);
  } catch (const InputError& e) {
    reason = e.reason();
  }
  ::unsetenv("SG_DICOM_READER");
  EXPECT_EQ(reason, "GDCM crashed reading it (Aborted): a malformed DICOM file");

  // In a batch, the file that kills its child is found and the others read.
  test::write_file(dir / "a.dcm", dicom_file(spec));
  test::write_file(dir / "c.dcm", dicom_file(spec));
  test::write_file(dir / "picky.sh", "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = bad.dcm ] && kill -SEGV $$; done\nexec '" +
                                         dicom_reader_program() + "' \"$@\"\n");
  fs::permissions(dir / "picky.sh", fs::perms::owner_all);
  ::setenv("SG_DICOM_READER", (dir / "picky.sh").c_str(), 1);
  const auto batch = read_dicom_slices_isolated({{dir / "a.dcm", "a.dcm"}, {dir / "one.dcm", "bad.dcm"}, {dir / "c.dcm", "c.dcm"}},
                                                1u << 20);
  ::unsetenv("SG_DICOM_READER");
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].refusal, "");
  EXPECT_EQ(batch[0].slice.rows, 32);
  EXPECT_EQ(batch[1].refusal, "GDCM crashed reading it (Segmentation fault): a malformed DICOM file");
  EXPECT_EQ(batch[2].refusal, "");
  EXPECT_EQ(batch[2].slice.name, "c.dcm");
}

// DICOM_WINDOW: the series' own window maps centre - width/2 .. centre +
// width/2 to 0..255; without one, the percentiles.
TEST(Dicom, TheWindowModeTakesTheSeriesWindow) {
  DatasetConfig config;
  config.mutable_window()->set_mode(IntensityWindow::DICOM_WINDOW);
  PrepItem item;
  SliceF slice;
  slice.width = 4;
  slice.height = 1;
  slice.pixels = {0.f, 100.f, 300.f, 1000.f};
  item.raw_slices = {slice};
  item.volume.window_low = 100.f;  // centre 300, width 400
  item.volume.window_high = 500.f;
  normalize_stage(item, config);
  ASSERT_EQ(item.slices.size(), 1u);
  EXPECT_EQ(item.slices[0].pixels, (std::vector<uint8_t>{0, 0, 128, 255}));
  PrepItem plain;
  plain.raw_slices = {slice};
  normalize_stage(plain, config);  // no window given: the 0.5-99.5 percentiles
  EXPECT_EQ(plain.slices[0].pixels, (std::vector<uint8_t>{0, 26, 76, 255}));
}

// The Colin27 brain written as a DICOM series (rows top to bottom, as
// DICOM stores them) gives exactly the slices its NIfTI file gives.
TEST(Dicom, TheColinBrainAsASeriesGivesTheSlicesOfItsNifti) {
  const std::string colin = "/usr/share/mricron/templates/ch2bet.nii.gz";
  if (!fs::exists(colin)) GTEST_SKIP() << "mricron-data not installed";
  TempDir dir;
  std::vector<std::string> warnings;
  const Volume v = read_volume_with_itk(colin, "ch2bet", 1u << 30, warnings);
  SliceSpec spec;
  spec.patient = "COLIN27";
  spec.size = v.ny;  // rows
  spec.width = v.nx;
  std::vector<int16_t> plane(static_cast<size_t>(v.nx) * v.ny);
  fs::create_directories(dir / "colin");
  for (int z = 0; z < v.nz; ++z) {
    for (int y = 0; y < v.ny; ++y)
      for (int x = 0; x < v.nx; ++x)  // NIfTI's y points up: DICOM's first row is its last
        plane[static_cast<size_t>((v.ny - 1 - y) * v.nx + x)] = static_cast<int16_t>(std::lround(v.at(x, y, z)));
    spec.voxels = &plane;
    spec.z = z;
    test::write_file(dir / ("colin/slice" + std::to_string(z) + ".dcm"), dicom_file(spec));
  }
  DatasetConfig demo = load_dataset_config(test::source_path("configs/demo.textproto"));
  demo.mutable_flip()->set_mirrored_copies(false);
  demo.mutable_crop()->set_mode(Crop::PAD_SQUARE);
  demo.mutable_pyramid()->clear_resolutions();
  for (int s : {8, 16, 32, 64}) demo.mutable_pyramid()->add_resolutions(s);
  DatasetConfig dicom = demo;
  dicom.clear_include();
  dicom.add_include("**/*.dcm");
  dicom.mutable_slicing()->set_flip_rows(false);
  dicom.mutable_window()->set_mode(IntensityWindow::DICOM_WINDOW);  // none given: the same percentiles
  PrepOptions o;
  o.threads = 2;
  o.input = colin;
  o.output = dir / "nifti.lmdb";
  const PrepSummary from_nifti = run_prep(demo, o);
  o.input = dir / "colin";
  o.output = dir / "dicom.lmdb";
  const PrepSummary from_dicom = run_prep(dicom, o);
  EXPECT_EQ(from_dicom.inputs_read, 1u);
  EXPECT_GT(from_dicom.records[TRAIN], 50u);
  EXPECT_EQ(from_dicom.records[TRAIN], from_nifti.records[TRAIN]);
  LmdbReader a(dir / "nifti.lmdb"), b(dir / "dicom.lmdb");
  EXPECT_EQ(b.subjects(TRAIN).front(), "COLIN27");
  for (uint64_t i = 0; i < std::min(a.length(TRAIN), b.length(TRAIN)); ++i)
    ASSERT_EQ(a.record(TRAIN, 64, i), b.record(TRAIN, 64, i)) << "slice " << i;
}

}  // namespace
}  // namespace sg
