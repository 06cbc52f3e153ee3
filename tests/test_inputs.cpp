// Decoding and reading inputs: codecs, archives, NIfTI headers, bad files.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "dataset.pb.h"
#include "pipeline/errors.hpp"
#include "stages/decode.hpp"
#include "stages/image_codec.hpp"
#include "stages/nifti_header.hpp"
#include "stages/source.hpp"
#include "stages/volume_reader.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

using test::TempDir;

std::string reason_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.reason();
  }
  return "";
}

TEST(Codec, PngRoundTripGreyAndRgb) {
  Image8 image = test::synthetic_slice(33, 17, 3);
  std::string bytes = encode_png(image, 6);
  EXPECT_EQ(sniff_image_format(bytes), ImageFormat::Png);
  Volume v = decode_png(bytes, "x.png", 1 << 20);
  ASSERT_EQ(v.nx, 33);
  ASSERT_EQ(v.ny, 17);
  for (size_t i = 0; i < image.pixels.size(); ++i) ASSERT_EQ(v.voxels[i], image.pixels[i]);
  EXPECT_EQ(decode_png8(bytes, "x"), image);
}

TEST(Codec, SixteenBitPngKeepsItsBits) {
  std::vector<uint16_t> pixels = {0, 1, 257, 65535, 40000, 12345};
  Volume v = decode_png(test::png16_bytes(3, 2, pixels), "deep.png", 1 << 20);
  EXPECT_EQ(v.type_max, 65535.f);
  for (size_t i = 0; i < pixels.size(); ++i) EXPECT_EQ(v.voxels[i], pixels[i]);
}

TEST(Codec, RealBrainSlicePngFromItkExamples) {
  const std::string path = "/usr/share/doc/insighttoolkit5-examples/examples/Data/BrainProtonDensitySlice.png";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "insighttoolkit5-examples not installed";
  Limits limits;
  Volume v = decode_image_bytes(read_file_bytes(path, "slice", 1 << 26), "slice", limits);
  EXPECT_GT(v.nx, 100);
  EXPECT_GT(v.ny, 100);
}

TEST(Codec, RgbJpegBecomesGrey) {
  Image8 rgb(16, 8, 3);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) rgb.pixels[(static_cast<size_t>(y) * 16 + x) * 3 + c] = static_cast<uint8_t>(x < 8 ? 40 : 200);
  Limits limits;
  Volume v = decode_image_bytes(test::jpeg_bytes(rgb), "scan.jpeg", limits);
  ASSERT_EQ(v.nx, 16);
  ASSERT_EQ(v.ny, 8);
  EXPECT_NEAR(v.at(2, 4, 0), 40, 3);
  EXPECT_NEAR(v.at(13, 4, 0), 200, 3);
}

TEST(Codec, BadImagesAreReportedNotCrashed) {
  Limits limits;
  EXPECT_NE(reason_of([&] { decode_image_bytes("hello, I am text", "a.png", limits); }).find("not a PNG or JPEG"),
            std::string::npos);
  EXPECT_NE(reason_of([&] { decode_image_bytes("", "empty.png", limits); }).find("empty"), std::string::npos);
  std::string good = encode_png(test::synthetic_slice(64, 64, 1), 6);
  std::string truncated = good.substr(0, good.size() / 2);
  EXPECT_NE(reason_of([&] { decode_image_bytes(truncated, "t.png", limits); }).find("corrupt PNG"), std::string::npos);
  std::string jpeg_head = "\xFF\xD8\xFF\xE0 garbage after a JPEG signature";
  EXPECT_NE(reason_of([&] { decode_image_bytes(jpeg_head, "t.jpg", limits); }).find("corrupt JPEG"), std::string::npos);
  Limits tiny;
  tiny.set_max_pixels(100);
  EXPECT_NE(reason_of([&] { decode_image_bytes(good, "big.png", tiny); }).find("pixel limit"), std::string::npos);
}

TEST(Source, ZipMemberNamesThatEscapeAreRefused) {
  EXPECT_EQ(unsafe_member_name_reason("a/b/c.png"), "");
  EXPECT_EQ(unsafe_member_name_reason("a/..b/c.png"), "");
  EXPECT_NE(unsafe_member_name_reason("../evil.png"), "");
  EXPECT_NE(unsafe_member_name_reason("a/../../evil.png"), "");
  EXPECT_NE(unsafe_member_name_reason("/etc/passwd"), "");
  EXPECT_NE(unsafe_member_name_reason("C:/x.png"), "");
  EXPECT_NE(unsafe_member_name_reason("a\\..\\x.png"), "");
}

TEST(Source, ListsAndReadsArchiveMembersInMemory) {
  TempDir dir;
  std::string png = test::png_bytes(test::synthetic_slice(16, 16, 2));
  test::write_zip(dir / "set.zip", {{"b/2.png", png}, {"a/1.png", png}, {"../up.png", png}});
  InputListing listing = list_inputs(dir / "set.zip");
  ASSERT_TRUE(listing.is_archive);
  ASSERT_EQ(listing.entries.size(), 3u);
  EXPECT_EQ(listing.entries[0].name, "../up.png");  // sorted by name
  EXPECT_NE(listing.entries[0].refusal, "");
  EXPECT_EQ(listing.entries[1].name, "a/1.png");
  ArchiveReader reader(dir / "set.zip");
  EXPECT_EQ(reader.read_member(listing.entries[1], 1 << 20), png);
  // Nothing was extracted next to the archive.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 1);
}

TEST(Source, ZipBombCapStopsReading) {
  TempDir dir;
  test::write_zip(dir / "bomb.zip", {{"zeros.png", std::string(1 << 20, '\0')}});
  InputListing listing = list_inputs(dir / "bomb.zip");
  ArchiveReader reader(dir / "bomb.zip");
  EXPECT_NE(reason_of([&] { reader.read_member(listing.entries[0], 1000); }).find("zip bomb"), std::string::npos);
  // A lying header: declared small, inflates large.
  InputEntry lying = listing.entries[0];
  lying.declared_size = 10;
  EXPECT_NE(reason_of([&] { reader.read_member(lying, 1000); }).find("zip bomb"), std::string::npos);
}

TEST(Source, CorruptArchiveIsAnError) {
  TempDir dir;
  test::write_file(dir / "bad.zip", "PK\x03\x04 this is not really a zip");
  EXPECT_THROW(list_inputs(dir / "bad.zip"), InputError);
  EXPECT_THROW(list_inputs(dir / "missing"), InputError);
}

TEST(Nifti, ReadsAVolumeThroughItk) {
  TempDir dir;
  std::vector<int16_t> voxels(4 * 3 * 2);
  for (size_t i = 0; i < voxels.size(); ++i) voxels[i] = static_cast<int16_t>(i * 100);
  test::write_file(dir / "v.nii", test::nifti1_bytes({4, 3, 2}, voxels));
  std::vector<std::string> warnings;
  Volume v = read_volume_with_itk(dir / "v.nii", "v.nii", 1 << 20, warnings);
  EXPECT_EQ(v.nx, 4);
  EXPECT_EQ(v.ny, 3);
  EXPECT_EQ(v.nz, 2);
  EXPECT_EQ(v.at(3, 2, 1), 2300.f);
  EXPECT_TRUE(warnings.empty());
}

TEST(Nifti, FourDimensionalTakesTheFirstVolumeWithAWarning) {
  TempDir dir;
  std::vector<int16_t> voxels(2 * 2 * 2 * 3);
  for (size_t i = 0; i < voxels.size(); ++i) voxels[i] = static_cast<int16_t>(i);
  test::write_file(dir / "t.nii", test::nifti1_bytes({2, 2, 2, 3}, voxels));
  std::vector<std::string> warnings;
  Volume v = read_volume_with_itk(dir / "t.nii", "t.nii", 1 << 20, warnings);
  EXPECT_EQ(v.voxels.size(), 8u);
  EXPECT_EQ(v.at(1, 1, 1), 7.f);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("using the first"), std::string::npos);
}

TEST(Nifti, AbsurdHeadersAreRefusedBeforeAllocation) {
  TempDir dir;
  // 30000^3 int16 voxels claimed by a few hundred bytes.
  test::write_file(dir / "huge.nii", test::nifti1_bytes({30000, 30000, 30000}, {}));
  EXPECT_NE(reason_of([&] { check_nifti_header(dir / "huge.nii", "huge.nii", 1ull << 31); }).find("absurd header"),
            std::string::npos);
  // Plausible dimensions, but the data is not there.
  test::write_file(dir / "short.nii", test::nifti1_bytes({64, 64, 64}, {}));
  EXPECT_NE(reason_of([&] { check_nifti_header(dir / "short.nii", "short.nii", 1ull << 31); }).find("header needs"),
            std::string::npos);
  std::string bad_rank = test::nifti1_bytes({4, 4}, std::vector<int16_t>(16));
  bad_rank[40] = 9;  // dim[0] = 9
  test::write_file(dir / "rank.nii", bad_rank);
  EXPECT_NE(reason_of([&] { check_nifti_header(dir / "rank.nii", "rank.nii", 1ull << 31); }).find("dim[0]"),
            std::string::npos);
  test::write_file(dir / "tiny.nii", "short");
  EXPECT_NE(reason_of([&] { check_nifti_header(dir / "tiny.nii", "tiny.nii", 1ull << 31); }).find("too short"),
            std::string::npos);
}

TEST(Volumes, MetaImageFromItkExamples) {
  const std::string path = "/usr/share/doc/insighttoolkit5-examples/examples/Data/BrainProtonDensity3Slices.mha";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "insighttoolkit5-examples not installed";
  std::vector<std::string> warnings;
  Volume v = read_volume_with_itk(path, "BrainProtonDensity3Slices.mha", 1ull << 31, warnings);
  EXPECT_GT(v.nx, 100);
  EXPECT_EQ(v.nz, 3);
}

TEST(Volumes, AnalyzeHeaderAndImagePair) {
  TempDir dir;
  std::vector<int16_t> voxels(5 * 4 * 3);
  for (size_t i = 0; i < voxels.size(); ++i) voxels[i] = static_cast<int16_t>(10 * i);
  std::string nii = test::nifti1_bytes({5, 4, 3}, voxels);
  std::string header = nii.substr(0, 348);
  std::memcpy(&header[344], "ni1\0", 4);  // a two-file NIfTI-1 / Analyze pair
  float zero = 0.f;
  std::memcpy(&header[108], &zero, 4);
  test::write_file(dir / "pair.hdr", header);
  test::write_file(dir / "pair.img", nii.substr(352));
  std::vector<std::string> warnings;
  Volume v = read_volume_with_itk(dir / "pair.hdr", "pair.hdr", 1 << 20, warnings);
  EXPECT_EQ(v.nx, 5);
  EXPECT_EQ(v.nz, 3);
  EXPECT_EQ(v.at(4, 3, 2), 590.f);
  // The image file is checked against the header before ITK reads it.
  test::write_file(dir / "pair.img", nii.substr(352, 20));
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "pair.hdr", "pair.hdr", 1 << 20, warnings); }).find("header needs"),
            std::string::npos);
}

TEST(Nifti, ColinBrainFromMricronData) {
  const std::string path = "/usr/share/mricron/templates/ch2bet.nii.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "mricron-data not installed";
  std::vector<std::string> warnings;
  Volume v = read_volume_with_itk(path, "ch2bet.nii.gz", 1ull << 31, warnings);
  EXPECT_EQ(v.nx, 181);
  EXPECT_EQ(v.ny, 217);
  EXPECT_EQ(v.nz, 181);
}

}  // namespace
}  // namespace sg
