// TensorBoard event files: CRC-32C against the known vectors, and a reader
// that re-parses the file, checks both CRCs and decodes the events.
#include <gtest/gtest.h>

#include <cstring>

#include "common/event_writer.hpp"
#include "tensorboard.pb.h"
#include "test_util.hpp"

namespace sg {
namespace {

TEST(EventWriter, Crc32cKnownVectors) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  std::string length(8, '\0');
  length[0] = 24;  // uint64 24, little-endian
  EXPECT_EQ(masked_crc32c(length), 0x224b7fa3u);
}

std::vector<tensorflow::Event> read_events(const std::string& path) {
  std::string bytes = test::read_file(path);
  std::vector<tensorflow::Event> events;
  size_t at = 0;
  auto u32 = [&](size_t p) {
    uint32_t v;
    std::memcpy(&v, &bytes[p], 4);
    return v;
  };
  while (at < bytes.size()) {
    uint64_t length;
    std::memcpy(&length, &bytes[at], 8);
    EXPECT_EQ(u32(at + 8), masked_crc32c(std::string_view(&bytes[at], 8)));
    std::string_view data(&bytes[at + 12], length);
    EXPECT_EQ(u32(at + 12 + length), masked_crc32c(data));
    tensorflow::Event event;
    EXPECT_TRUE(event.ParseFromArray(data.data(), static_cast<int>(data.size())));
    events.push_back(event);
    at += 12 + length + 4;
  }
  EXPECT_EQ(at, bytes.size());
  return events;
}

TEST(EventWriter, WritesAReadableEventFile) {
  test::TempDir dir;
  std::string path;
  {
    EventWriter writer(dir.path().string());
    path = writer.path();
    writer.scalar("loss/d", 1.5f, 10);
    writer.image("samples", "not really a png", 4, 2, 1, 10);
  }
  EXPECT_NE(path.find("/events.out.tfevents."), std::string::npos);
  auto events = read_events(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_EQ(events[1].step(), 10);
  EXPECT_EQ(events[1].summary().value(0).tag(), "loss/d");
  EXPECT_FLOAT_EQ(events[1].summary().value(0).simple_value(), 1.5f);
  EXPECT_EQ(events[2].summary().value(0).image().width(), 4);
  EXPECT_EQ(events[2].summary().value(0).image().encoded_image_string(), "not really a png");
}

}  // namespace
}  // namespace sg
