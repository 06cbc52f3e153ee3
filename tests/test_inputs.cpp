// Decoding and reading inputs: codecs, archives, NIfTI headers, bad files.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "common/errors.hpp"
#include "common/images/image_codec.hpp"
#include "dataset.pb.h"
#include "stages/decode.hpp"
#include "stages/nifti_header.hpp"
#include "stages/nifti_reader.hpp"
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


// ---- Truncated and damaged files are input errors, whatever the format.

std::string gzip_bytes(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(Truncation, GzipVolumeCutAnywhereOrWithABadTrailerIsRefused) {
  const std::string colin = "/usr/share/mricron/templates/ch2bet.nii.gz";
  if (!std::filesystem::exists(colin)) GTEST_SKIP() << "mricron-data not installed";
  TempDir dir;
  const std::string whole = test::read_file(colin);
  std::vector<std::string> warnings;
  // The interrupted download of the issue: sg_prep wrote 68 slices of it.
  for (double fraction : {0.05, 0.3, 0.5, 0.9, 0.999}) {
    test::write_file(dir / "cut.nii.gz", whole.substr(0, static_cast<size_t>(fraction * static_cast<double>(whole.size()))));
    const std::string reason = reason_of([&] { read_volume_with_itk(dir / "cut.nii.gz", "cut.nii.gz", 1ull << 31, warnings); });
    EXPECT_NE(reason.find("gzip stream ends early"), std::string::npos) << fraction << ": " << reason;
  }
  // Only the trailer's length (or part of it) missing: the data is all there, the stream is not.
  for (size_t cut : {1, 4, 7}) {
    test::write_file(dir / "tail.nii.gz", whole.substr(0, whole.size() - cut));
    EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "tail.nii.gz", "t", 1ull << 31, warnings); }).find("ends early"),
              std::string::npos) << cut;
  }
  std::string bad_crc = whole;
  bad_crc[bad_crc.size() - 6] ^= 0x5a;
  test::write_file(dir / "crc.nii.gz", bad_crc);
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "crc.nii.gz", "c", 1ull << 31, warnings); }).find("incorrect data check"),
            std::string::npos);
  std::string bad_length = whole;
  bad_length[bad_length.size() - 2] ^= 0x01;
  test::write_file(dir / "length.nii.gz", bad_length);
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "length.nii.gz", "l", 1ull << 31, warnings); }).find("incorrect length check"),
            std::string::npos);
  // A damaged byte inside the deflate stream.
  std::string flipped = whole;
  flipped[whole.size() / 2] ^= 0x10;
  test::write_file(dir / "flip.nii.gz", flipped);
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "flip.nii.gz", "f", 1ull << 31, warnings); }).find("corrupt gzip"),
            std::string::npos);
  // Two members one after the other are one valid file.
  std::vector<int16_t> voxels(6 * 5 * 4, 7);
  const std::string nii = test::nifti1_bytes({6, 5, 4}, voxels);
  test::write_file(dir / "two.nii.gz", gzip_bytes(nii.substr(0, 400)) + gzip_bytes(nii.substr(400)));
  EXPECT_EQ(read_volume_with_itk(dir / "two.nii.gz", "two", 1ull << 31, warnings).at(5, 4, 3), 7.f);
}

TEST(Truncation, UncompressedNiftiEndingBeforeItsVoxelsIsRefused) {
  TempDir dir;
  std::vector<int16_t> voxels(8 * 8 * 8, 3);
  const std::string nii = test::nifti1_bytes({8, 8, 8}, voxels);
  std::vector<std::string> warnings;
  for (size_t keep : {size_t{0}, size_t{300}, size_t{352}, nii.size() / 2, nii.size() - 1}) {
    test::write_file(dir / "cut.nii", nii.substr(0, keep));
    EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "cut.nii", "cut.nii", 1ull << 31, warnings); }), "") << keep;
  }
  // vox_offset counts: a file cut by exactly the header's extension bytes is short.
  std::string offset = nii;
  float far = 1352.f;
  std::memcpy(&offset[108], &far, 4);
  test::write_file(dir / "offset.nii", offset);
  EXPECT_NE(reason_of([&] { check_nifti_header(dir / "offset.nii", "o", 1ull << 31); }).find("header needs"),
            std::string::npos);
}

std::string itk_example(const std::string& name) {
  return "/usr/share/doc/insighttoolkit5-examples/examples/Data/" + name;
}

TEST(Truncation, PngCutWithoutIendOrWithABadCrcIsRefused) {
  const std::string path = itk_example("BrainProtonDensitySlice.png");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "insighttoolkit5-examples not installed";
  const std::string png = test::read_file(path);
  ASSERT_NO_THROW(decode_png(png, "whole.png", 1 << 24));
  for (double fraction : {0.1, 0.5, 0.9, 0.999})
    EXPECT_NE(reason_of([&] { decode_png(png.substr(0, static_cast<size_t>(fraction * static_cast<double>(png.size()))), "cut.png", 1 << 24); }),
              "") << fraction;
  // Everything up to IEND, but not IEND itself (its 12 bytes).
  EXPECT_NE(reason_of([&] { decode_png(png.substr(0, png.size() - 12), "no-iend.png", 1 << 24); }), "");
  // An ancillary chunk with a wrong CRC, which libpng would only warn of.
  std::string text = std::string("\0\0\0\x05tEXta=bcd", 13) + "XXXX";  // length 5, type, data, bad CRC
  const std::string with_bad_text = png.substr(0, 33) + text + png.substr(33);
  EXPECT_NE(reason_of([&] { decode_png(with_bad_text, "crc.png", 1 << 24); }).find("CRC"), std::string::npos)
      << reason_of([&] { decode_png(with_bad_text, "crc.png", 1 << 24); });
  std::string bad_idat = png;
  const size_t idat = png.find("IDAT");
  bad_idat[idat + 20] ^= 0x01;
  EXPECT_NE(reason_of([&] { decode_png(bad_idat, "idat.png", 1 << 24); }), "");
}

// A PNG chunk: length, type, data, CRC over type and data.
std::string png_chunk(const std::string& type, const std::string& data) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  const std::string body = type + data;
  const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  return be32(static_cast<uint32_t>(data.size())) + body + be32(crc);
}

// Metadata chunks never change a pixel: libpng skips them instead of
// allocating their declared length (a 2 GB sCAL in a 200-byte file, found by
// fuzz_image; the fuzz regression replay holds the allocation under 1 GB).
TEST(Codec, PngMetadataChunksAreSkippedWhateverTheyDeclare) {
  Image8 image = test::synthetic_slice(20, 12, 5);
  const std::string png = encode_png(image, 6);
  const std::string metadata = png_chunk("tEXt", std::string("Title\0brain", 11)) +
                               png_chunk("sCAL", std::string("\x01" "1.5\0" "1.5", 8)) +
                               png_chunk("pHYs", std::string(9, '\x01'));
  const std::string with_metadata = png.substr(0, 33) + metadata + png.substr(33);
  EXPECT_EQ(decode_png8(with_metadata, "meta.png"), image);

  std::string huge = png.substr(0, 33) + std::string("\x78\0\0\x06sCAL", 8) + "1.0" + png.substr(33);
  EXPECT_NE(reason_of([&] { decode_png(huge, "huge-scal.png", 1 << 20); }), "");
}

TEST(Truncation, JpegCutShortIsRefused) {
  const std::string jpeg = test::jpeg_bytes([] {
    Image8 rgb(48, 40, 3);
    for (size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = static_cast<uint8_t>((i * 7) % 251);
    return rgb;
  }());
  ASSERT_NO_THROW(decode_jpeg(jpeg, "whole.jpg", 1 << 24));
  for (double fraction : {0.3, 0.6, 0.9}) {
    const std::string reason = reason_of([&] { decode_jpeg(jpeg.substr(0, static_cast<size_t>(fraction * static_cast<double>(jpeg.size()))), "cut.jpg", 1 << 24); });
    EXPECT_NE(reason, "") << fraction;
  }
  EXPECT_NE(reason_of([&] { decode_jpeg(jpeg.substr(0, jpeg.size() - 2), "no-eoi.jpg", 1 << 24); }), "");
}

TEST(Truncation, MetaImageAndNrrdWithShortDataAreRefused) {
  if (!std::filesystem::exists(itk_example("BrainProtonDensity3Slices.mha"))) GTEST_SKIP() << "insighttoolkit5-examples not installed";
  TempDir dir;
  std::vector<std::string> warnings;
  const std::string mha = test::read_file(itk_example("BrainProtonDensity3Slices.mha"));
  for (double fraction : {0.5, 0.99}) {
    test::write_file(dir / "cut.mha", mha.substr(0, static_cast<size_t>(fraction * static_cast<double>(mha.size()))));
    EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "cut.mha", "cut.mha", 1ull << 31, warnings); }), "") << fraction;
  }
  // A detached header whose raw file is short, and a compressed one cut.
  for (const char* ext : {".mhd", ".nhdr"}) {
    const std::string header = test::read_file(itk_example(std::string("BrainProtonDensitySliceBorder20") + ext));
    const std::string raw = test::read_file(itk_example("BrainProtonDensitySliceBorder20.raw"));
    test::write_file(dir / (std::string("short") + ext), header);
    test::write_file(dir / "BrainProtonDensitySliceBorder20.raw", raw.substr(0, raw.size() - 100));
    EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / (std::string("short") + ext), ext, 1ull << 31, warnings); }), "")
        << ext;
  }
  // Voxels in the header's own file (LOCAL), cut.
  const std::string raw = test::read_file(itk_example("BrainProtonDensitySliceBorder20.raw"));
  const std::string local = "ObjectType = Image\nNDims = 2\nDimSize = 221 257\nElementType = MET_UCHAR\n"
                            "ElementDataFile = LOCAL\n";
  test::write_file(dir / "local.mha", local + raw);
  EXPECT_EQ(read_volume_with_itk(dir / "local.mha", "local.mha", 1ull << 31, warnings).nx, 221);
  test::write_file(dir / "local-cut.mha", local + raw.substr(0, raw.size() - 1));
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "local-cut.mha", "m", 1ull << 31, warnings); }).find("header needs"),
            std::string::npos);
  // Compressed voxels cut short: the inflate fails (MetaImage .zraw, NRRD gzip).
  const std::string mhd = "ObjectType = Image\nNDims = 2\nDimSize = 221 257\nElementType = MET_UCHAR\n"
                          "CompressedData = True\nElementDataFile = z.zraw\n";
  std::string zlib_stream(compressBound(raw.size()), '\0');
  uLongf zlib_size = zlib_stream.size();
  compress(reinterpret_cast<Bytef*>(zlib_stream.data()), &zlib_size, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  zlib_stream.resize(zlib_size);
  test::write_file(dir / "z.mhd", mhd);
  test::write_file(dir / "z.zraw", zlib_stream);
  EXPECT_EQ(read_volume_with_itk(dir / "z.mhd", "z.mhd", 1ull << 31, warnings).ny, 257);
  test::write_file(dir / "z.zraw", zlib_stream.substr(0, zlib_stream.size() / 2));
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "z.mhd", "z.mhd", 1ull << 31, warnings); }), "");
  const std::string nrrd = "NRRD0004\ntype: unsigned char\ndimension: 2\nsizes: 221 257\nencoding: gzip\n\n";
  const std::string gz = gzip_bytes(raw);
  test::write_file(dir / "g.nrrd", nrrd + gz);
  EXPECT_EQ(read_volume_with_itk(dir / "g.nrrd", "g.nrrd", 1ull << 31, warnings).nx, 221);
  for (size_t cut : {gz.size() / 2, size_t{4}}) {
    test::write_file(dir / "g-cut.nrrd", nrrd + gz.substr(0, gz.size() - cut));
    EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "g-cut.nrrd", "g", 1ull << 31, warnings); }), "") << cut;
  }
}

// Found by fuzz_volume: MetaIO formats a malformed slice pattern into a
// std::length_error, which went past our ITK handler and ended the process.
TEST(Regression, MetaImageWithAPercentPatternIsAnInputError) {
  TempDir dir;
  const std::string input = test::read_file(test::source_path("tests/fuzz/regressions/fuzz_volume/metaimage-percent-pattern"));
  test::write_file(dir / "v.mha", input.substr(1));  // the fuzz input's first byte picks the name: .mha
  std::vector<std::string> warnings;
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "v.mha", "v.mha", 1ull << 31, warnings); }), "");
}

// Found by fuzz_volume: MetaIO strcpy's a key of up to 500 characters into
// a 255-byte buffer (glibc's fortify check aborts the process).
TEST(Regression, MetaImageWithAnOverlongFieldNameIsRefusedBeforeItk) {
  TempDir dir;
  const std::string input = test::read_file(test::source_path("tests/fuzz/regressions/fuzz_volume/metaimage-long-field-name"));
  test::write_file(dir / "v.mha", input.substr(1));
  std::vector<std::string> warnings;
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "v.mha", "v.mha", 1ull << 31, warnings); }).find("not a MetaImage header"),
            std::string::npos);
  test::write_file(dir / "w.mha", "ObjectType = Image\n" + std::string(300, 'K') + " = 1\nElementDataFile = LOCAL\n");
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "w.mha", "w.mha", 1ull << 31, warnings); }).find("line 2"),
            std::string::npos);
}

// Found by fuzz_volume: ITK's factory picked its PNG reader for a damaged
// PNG named .nhdr, and that reader aborts the process on libpng errors.
TEST(Regression, AVolumeNameIsReadByItsOwnReaderOnly) {
  TempDir dir;
  const std::string input = test::read_file(test::source_path("tests/fuzz/regressions/fuzz_volume/png-named-nhdr"));
  const size_t split = input.find("\n\n");
  test::write_file(dir / "v.nhdr", input.substr(1, split == std::string::npos ? std::string::npos : split + 1));
  test::write_file(dir / "v.raw", split == std::string::npos ? "" : input.substr(split + 2));
  std::vector<std::string> warnings;
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "v.nhdr", "v.nhdr", 1ull << 31, warnings); }), "");
  test::write_file(dir / "png.nii", test::png_bytes(test::synthetic_slice(8, 8, 1)));
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "png.nii", "png.nii", 1ull << 31, warnings); }), "");
}

// Found by fuzz_volume: ITK checks a NIfTI-1 sform by a singular value
// decomposition that aborts the process on a non-finite element.
TEST(Regression, NiftiSformWithANanIsRefusedBeforeItk) {
  TempDir dir;
  const std::string input = test::read_file(test::source_path("tests/fuzz/regressions/fuzz_volume/nifti-sform-nan"));
  test::write_file(dir / "fuzz.nii", input.substr(1));  // the first byte picks the name: .nii
  std::vector<std::string> warnings;
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "fuzz.nii", "fuzz.nii", 1ull << 31, warnings); }).find("sform"),
            std::string::npos);

  std::vector<int16_t> voxels(4 * 3 * 2, 7);
  std::string nii = test::nifti1_bytes({4, 3, 2}, voxels);
  auto put_sform = [&](int16_t code, float offset_x) {
    std::memcpy(&nii[254], &code, 2);
    const float rows[12] = {2, 0, 0, offset_x, 0, 2, 0, -5, 0, 0, 2, 9};
    std::memcpy(&nii[280], rows, sizeof rows);
    test::write_file(dir / "v.nii", nii);
  };
  put_sform(1, std::numeric_limits<float>::quiet_NaN());
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "v.nii", "v.nii", 1ull << 31, warnings); }).find("srow_x[3]"),
            std::string::npos);
  put_sform(1, std::numeric_limits<float>::infinity());
  EXPECT_NE(reason_of([&] { check_nifti_header(dir / "v.nii", "v.nii", 1ull << 31); }).find("srow_x[3]"),
            std::string::npos);
  // Unused (sform_code 0) it does not matter; a finite sform reads.
  put_sform(0, std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(read_volume_with_itk(dir / "v.nii", "v.nii", 1ull << 31, warnings).at(3, 2, 1), 7.f);
  put_sform(1, 1.5f);
  const int16_t qform_code = 1;  // the identity quaternion beside it
  std::memcpy(&nii[252], &qform_code, 2);
  test::write_file(dir / "v.nii", nii);
  EXPECT_EQ(read_volume_with_itk(dir / "v.nii", "v.nii", 1ull << 31, warnings).at(3, 2, 1), 7.f);
}

// ---- NIfTI-2, written here as nibabel's Nifti2Image writes it.

struct NiftiSpec {
  std::vector<int64_t> dims;
  int datatype = 4;
  int bitpix = 16;
  std::string data;  // the voxels, little-endian
  double slope = 0, inter = 0;
  bool big_endian = false;
};

template <typename T>
void put(std::string& s, size_t at, T v, bool big_endian) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  if (big_endian)
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  std::memcpy(&s[at], b, sizeof(T));
}

std::string swap_voxels(const std::string& data, int bytes_per_value) {
  std::string out = data;
  for (size_t i = 0; i + bytes_per_value <= out.size(); i += static_cast<size_t>(bytes_per_value))
    std::reverse(out.begin() + static_cast<std::ptrdiff_t>(i), out.begin() + static_cast<std::ptrdiff_t>(i) + bytes_per_value);
  return out;
}

int value_bytes(int datatype, int bitpix) { return datatype == 128 || datatype == 2304 ? 1 : bitpix / 8; }

std::string nifti2_file(const NiftiSpec& n) {
  std::string h(544, '\0');
  const bool be = n.big_endian;
  put<int32_t>(h, 0, 540, be);
  std::memcpy(&h[4], "n+2\0\r\n\x1a\n", 8);
  put<int16_t>(h, 12, static_cast<int16_t>(n.datatype), be);
  put<int16_t>(h, 14, static_cast<int16_t>(n.bitpix), be);
  put<int64_t>(h, 16, static_cast<int64_t>(n.dims.size()), be);
  for (size_t i = 0; i < 7; ++i) put<int64_t>(h, 24 + 8 * i, i < n.dims.size() ? n.dims[i] : 1, be);
  for (int i = 0; i < 8; ++i) put<double>(h, 104 + 8 * i, 1.0, be);  // pixdim
  put<int64_t>(h, 168, 544, be);                                      // vox_offset
  put<double>(h, 176, n.slope, be);
  put<double>(h, 184, n.inter, be);
  return h + (be ? swap_voxels(n.data, value_bytes(n.datatype, n.bitpix)) : n.data);
}

std::string nifti1_file(const NiftiSpec& n) {
  std::string h(352, '\0');
  const bool be = n.big_endian;
  put<int32_t>(h, 0, 348, be);
  put<int16_t>(h, 40, static_cast<int16_t>(n.dims.size()), be);
  for (size_t i = 0; i < 7; ++i) put<int16_t>(h, 42 + 2 * i, static_cast<int16_t>(i < n.dims.size() ? n.dims[i] : 1), be);
  put<int16_t>(h, 70, static_cast<int16_t>(n.datatype), be);
  put<int16_t>(h, 72, static_cast<int16_t>(n.bitpix), be);
  for (int i = 0; i < 8; ++i) put<float>(h, 76 + 4 * i, 1.f, be);
  put<float>(h, 108, 352.f, be);
  put<float>(h, 112, static_cast<float>(n.slope), be);
  put<float>(h, 116, static_cast<float>(n.inter), be);
  std::memcpy(&h[344], "n+1\0", 4);
  return h + (be ? swap_voxels(n.data, value_bytes(n.datatype, n.bitpix)) : n.data);
}

template <typename T>
std::string values(size_t n, double scale, double offset) {
  std::string out(n * sizeof(T), '\0');
  for (size_t i = 0; i < n; ++i) {
    const T v = static_cast<T>(offset + scale * static_cast<double>((i * 37) % 101));
    std::memcpy(&out[i * sizeof(T)], &v, sizeof(T));
  }
  return out;
}

TEST(Nifti2, ReadsAsItkReadsTheSameVolumeAsNifti1) {
  TempDir dir;
  const std::vector<int64_t> dims{7, 6, 5};
  const size_t n = 7 * 6 * 5;
  std::vector<NiftiSpec> specs = {
      {dims, 2, 8, values<uint8_t>(n, 2, 3)},          {dims, 256, 8, values<int8_t>(n, 1, -50)},
      {dims, 4, 16, values<int16_t>(n, 300, -9000)},   {dims, 512, 16, values<uint16_t>(n, 600, 7)},
      {dims, 8, 32, values<int32_t>(n, 7e5, -3e7)},    {dims, 768, 32, values<uint32_t>(n, 9e5, 11)},
      {dims, 1024, 64, values<int64_t>(n, 1e6, -5e7)}, {dims, 1280, 64, values<uint64_t>(n, 1e6, 5)},
      {dims, 16, 32, values<float>(n, 0.25, -3)},      {dims, 64, 64, values<double>(n, 1.5, 2)},
      {dims, 128, 24, values<uint8_t>(3 * n, 2, 1)},   {dims, 2304, 32, values<uint8_t>(4 * n, 2, 1)},
  };
  // Scaling, the other byte order, and a 4-D file (its first volume).
  specs.push_back({dims, 4, 16, values<int16_t>(n, 30, -900), 0.5, 100.0});
  specs.push_back({dims, 16, 32, values<float>(n, 0.5, 1), 2.0, -1.0, true});
  specs.push_back({dims, 4, 16, values<int16_t>(n, 3, 0), 0, 0, true});
  specs.push_back({{7, 6, 5, 3}, 4, 16, values<int16_t>(3 * n, 30, 0)});
  for (size_t k = 0; k < specs.size(); ++k) {
    const NiftiSpec& spec = specs[k];
    const std::string tag = "case " + std::to_string(k) + " datatype " + std::to_string(spec.datatype);
    test::write_file(dir / "v1.nii", nifti1_file(spec));
    std::vector<std::string> itk_warnings, warnings;
    const Volume expected = read_volume_with_itk(dir / "v1.nii", "v1.nii", 1ull << 31, itk_warnings);
    const std::string v2 = nifti2_file(spec);
    for (const std::string& file : {std::string("v2.nii"), std::string("v2.nii.gz")}) {
      test::write_file(dir / file, file == "v2.nii" ? v2 : gzip_bytes(v2));
      warnings.clear();
      const Volume got = read_volume_with_itk(dir / file, file, 1ull << 31, warnings);
      EXPECT_EQ(got.nx, expected.nx) << tag;
      EXPECT_EQ(got.ny, expected.ny) << tag;
      EXPECT_EQ(got.nz, expected.nz) << tag;
      EXPECT_EQ(got.type_min, expected.type_min) << tag;
      EXPECT_EQ(got.type_max, expected.type_max) << tag;
      ASSERT_EQ(got.voxels.size(), expected.voxels.size()) << tag;
      for (size_t i = 0; i < got.voxels.size(); ++i)
        ASSERT_FLOAT_EQ(got.voxels[i], expected.voxels[i]) << tag << " " << file << " voxel " << i;
      EXPECT_EQ(warnings, itk_warnings) << tag;
    }
  }
}

TEST(Nifti2, AbsurdOrShortFilesAreRefusedBeforeAllocation) {
  TempDir dir;
  std::vector<std::string> warnings;
  NiftiSpec huge{{int64_t{1} << 30, int64_t{1} << 30, 64}, 4, 16, ""};
  test::write_file(dir / "huge.nii", nifti2_file(huge));
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "huge.nii", "huge.nii", 1ull << 31, warnings); }).find("absurd header"),
            std::string::npos);
  NiftiSpec negative{{8, -8, 8}, 4, 16, ""};
  test::write_file(dir / "negative.nii", nifti2_file(negative));
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "negative.nii", "n", 1ull << 31, warnings); }).find("absurd header"),
            std::string::npos);
  NiftiSpec whole{{8, 8, 8}, 4, 16, values<int16_t>(512, 1, 0)};
  const std::string bytes = nifti2_file(whole);
  test::write_file(dir / "short.nii", bytes.substr(0, bytes.size() - 2));
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "short.nii", "s", 1ull << 31, warnings); }).find("header needs"),
            std::string::npos);
  test::write_file(dir / "short.nii.gz", gzip_bytes(bytes.substr(0, bytes.size() - 2)));
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "short.nii.gz", "s", 1ull << 31, warnings); }).find("header needs"),
            std::string::npos);
  const std::string gz = gzip_bytes(bytes);
  test::write_file(dir / "cut.nii.gz", gz.substr(0, gz.size() / 2));
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "cut.nii.gz", "c", 1ull << 31, warnings); }).find("ends early"),
            std::string::npos);
  NiftiSpec complex{{4, 4, 4}, 32, 64, std::string(4 * 4 * 4 * 8, '\0')};
  test::write_file(dir / "complex.nii", nifti2_file(complex));
  EXPECT_NE(reason_of([&] { read_volume_with_itk(dir / "complex.nii", "c", 1ull << 31, warnings); }).find("complex"),
            std::string::npos);
}

}  // namespace
}  // namespace sg
