#pragma once
// TensorBoard event files written by hand: TFRecord framing (length, masked
// CRC-32C of the length, data, masked CRC-32C of the data) around
// tensorflow.Event messages. A new file per process start, never appended.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace sg {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
uint32_t crc32c(std::string_view bytes);
// TFRecord's mask: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(std::string_view bytes);

// The framed record for `data`.
std::string tfrecord_frame(std::string_view data);

class EventWriter {
 public:
  // Creates DIR/events.out.tfevents.<seconds>.<host>.<pid> and writes the
  // file_version record. Throws OutputError when it cannot.
  explicit EventWriter(const std::string& directory);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void scalar(const std::string& tag, float value, int64_t step);
  // `png` is an encoded PNG of width x height with 1 or 3 channels.
  void image(const std::string& tag, const std::string& png, int width, int height, int channels, int64_t step);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& serialized);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace sg
