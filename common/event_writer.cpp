#include "common/event_writer.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>

#include "common/errors.hpp"
#include "tensorboard.pb.h"

namespace sg {

namespace {

std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

uint32_t crc32c(std::string_view bytes) {
  static const std::array<uint32_t, 256> table = make_crc32c_table();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::string_view bytes) {
  const uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string tfrecord_frame(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  put_u64(out, data.size());  // little-endian, whatever the host
  put_u32(out, masked_crc32c(std::string_view(out.data(), 8)));
  out.append(data);
  put_u32(out, masked_crc32c(data));
  return out;
}

EventWriter::EventWriter(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  path_ = directory + "/events.out.tfevents." + std::to_string(static_cast<long long>(now_seconds())) + "." + host +
          "." + std::to_string(::getpid());
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw OutputError(path_, "cannot create the event file");
  tensorflow::Event event;
  event.set_wall_time(now_seconds());
  event.set_file_version("brain.Event:2");
  write_event(event.SerializeAsString());
  flush();
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::write_event(const std::string& serialized) {
  const std::string record = tfrecord_frame(serialized);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    throw OutputError(path_, "cannot write the event file");
}

void EventWriter::scalar(const std::string& tag, float value, int64_t step) {
  tensorflow::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  auto* v = event.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(value);
  write_event(event.SerializeAsString());
}

void EventWriter::image(const std::string& tag, const std::string& png, int width, int height, int channels,
                        int64_t step) {
  tensorflow::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  auto* v = event.mutable_summary()->add_value();
  v->set_tag(tag);
  auto* image = v->mutable_image();
  image->set_width(width);
  image->set_height(height);
  image->set_colorspace(channels);
  image->set_encoded_image_string(png);
  write_event(event.SerializeAsString());
}

void EventWriter::flush() { std::fflush(file_); }

}  // namespace sg
