#include "stages/dicom_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "common/errors.hpp"

extern char** environ;

namespace sg {

namespace {

void put_text(std::string& out, const std::string& text) {
  const uint32_t n = static_cast<uint32_t>(text.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out += text;
}

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

class Reply {
 public:
  Reply(std::string bytes, std::string name) : bytes_(std::move(bytes)), name_(std::move(name)) {}
  template <typename T>
  T get() {
    T value;
    need(sizeof value);
    std::memcpy(&value, bytes_.data() + pos_, sizeof value);
    pos_ += sizeof value;
    return value;
  }
  std::string text() {
    const uint32_t n = get<uint32_t>();
    need(n);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  size_t left() const { return bytes_.size() - pos_; }

 private:
  void need(size_t n) const {
    if (bytes_.size() - pos_ < n) throw InputError(name_, "the DICOM reader's reply was cut short");
  }
  std::string bytes_;
  std::string name_;
  size_t pos_ = 0;
};

// Runs the reader on one file and returns its reply after the status byte:
// 'O' and the payload, or 'E' and the reason (an InputError here).
std::string run_reader(const std::string& mode, const std::string& path, const std::string& name,
                       const std::string& extra) {
  const std::string program = dicom_reader_program();
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  // GDCM and its decoders talk on stderr; a skip's reason comes back on stdout.
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {program, mode, path, name, extra};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    throw std::runtime_error(program + ": cannot start the DICOM reader: " + std::strerror(rc));
  }
  std::string reply;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n > 0) reply.append(buffer, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    throw InputError(name, std::string("GDCM crashed reading it (") + strsignal(WTERMSIG(status)) +
                               "): a malformed DICOM file");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || reply.empty())
    throw InputError(name, "the DICOM reader failed on it (exit status " +
                               std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  if (reply[0] == 'E') throw InputError(name, reply.substr(1));
  if (reply[0] != 'O') throw InputError(name, "the DICOM reader's reply makes no sense");
  return reply.substr(1);
}

}  // namespace

std::string dicom_reader_program() {
  if (const char* given = std::getenv("SG_DICOM_READER"); given && *given) return given;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string beside = ec ? "sg_dicom_reader" : (self.parent_path() / "sg_dicom_reader").string();
  if (!std::filesystem::exists(beside, ec))
    throw std::runtime_error(beside + ": the DICOM reader is missing (it is built with sg_prep; or set SG_DICOM_READER)");
  return beside;
}

std::string encode_dicom_slice(const DicomSlice& s) {
  std::string out = "O";
  for (const std::string* text : {&s.series_uid, &s.patient_id, &s.modality}) put_text(out, *text);
  for (double v : s.position) put(out, v);
  for (double v : s.orientation) put(out, v);
  put(out, static_cast<int32_t>(s.rows));
  put(out, static_cast<int32_t>(s.columns));
  put(out, s.window_center);
  put(out, s.window_width);
  return out;
}

std::string encode_dicom_pixels(const std::vector<float>& pixels) {
  std::string out = "O";
  put(out, static_cast<uint64_t>(pixels.size()));
  out.append(reinterpret_cast<const char*>(pixels.data()), pixels.size() * sizeof(float));
  return out;
}

DicomSlice read_dicom_slice_isolated(const std::string& path, const std::string& name, uint64_t max_bytes) {
  Reply reply(run_reader("header", path, name, std::to_string(max_bytes)), name);
  DicomSlice s;
  s.path = path;
  s.name = name;
  s.series_uid = reply.text();
  s.patient_id = reply.text();
  s.modality = reply.text();
  for (double& v : s.position) v = reply.get<double>();
  for (double& v : s.orientation) v = reply.get<double>();
  s.rows = reply.get<int32_t>();
  s.columns = reply.get<int32_t>();
  s.window_center = reply.get<double>();
  s.window_width = reply.get<double>();
  return s;
}

std::vector<float> read_dicom_pixels_isolated(const DicomSlice& slice) {
  const std::string extra = std::to_string(slice.columns) + "x" + std::to_string(slice.rows);
  Reply reply(run_reader("pixels", slice.path, slice.name, extra), slice.name);
  const uint64_t count = reply.get<uint64_t>();
  if (count != static_cast<uint64_t>(slice.rows) * static_cast<uint64_t>(slice.columns) ||
      reply.left() != count * sizeof(float))
    throw InputError(slice.name, "the DICOM reader returned another image than its header describes");
  std::vector<float> pixels(count);
  for (float& p : pixels) p = reply.get<float>();
  return pixels;
}

}  // namespace sg
