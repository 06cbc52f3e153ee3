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

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void put_text(std::string& out, const std::string& text) {
  put(out, static_cast<uint32_t>(text.size()));
  out += text;
}

class Reader {
 public:
  Reader(const std::string& bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {}
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
  const std::string& bytes_;
  std::string name_;
  size_t pos_ = 0;
};

struct Reply {
  bool ok = false;
  std::string payload;  // or the reason
};

struct Job {
  std::string path, name, extra;
};

// One child for `jobs`: the replies it gave (fewer when it died), and how it ended.
std::vector<Reply> run_child(const std::string& mode, const std::vector<Job>& jobs, std::string* death) {
  const std::string program = dicom_reader_program();
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  // GDCM and its decoders talk on stderr; a skip's reason comes back on stdout.
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {program, mode};
  for (const Job& j : jobs) {
    args.push_back(j.path);
    args.push_back(j.name);
    args.push_back(j.extra);
  }
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
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n > 0) bytes.append(buffer, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  death->clear();
  if (WIFSIGNALED(status)) *death = std::string("GDCM crashed reading it (") + strsignal(WTERMSIG(status)) + ")";
  else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    *death = "the DICOM reader failed on it (exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
  // Complete replies only: a child that died mid-reply left the rest unanswered.
  std::vector<Reply> replies;
  size_t pos = 0;
  while (pos + 9 <= bytes.size() && replies.size() < jobs.size()) {
    uint64_t length;
    std::memcpy(&length, bytes.data() + pos + 1, sizeof length);
    if (bytes.size() - pos - 9 < length) break;
    replies.push_back({bytes[pos] == 'O', bytes.substr(pos + 9, length)});
    pos += 9 + length;
  }
  if (death->empty() && replies.size() < jobs.size()) *death = "the DICOM reader's reply was cut short";
  return replies;
}

// Every job answered: in one child while it lives; the jobs after a death
// again, the first alone (it is the one that died, and gets the death as
// its reason), the rest in a new child.
std::vector<Reply> run_jobs(const std::string& mode, const std::vector<Job>& jobs) {
  std::vector<Reply> replies;
  size_t next = 0;
  while (next < jobs.size()) {
    const std::vector<Job> rest(jobs.begin() + static_cast<std::ptrdiff_t>(next), jobs.end());
    std::string death;
    std::vector<Reply> got = run_child(mode, rest, &death);
    next += got.size();
    for (Reply& r : got) replies.push_back(std::move(r));
    if (next < jobs.size()) {
      // Which file killed it: the next one, alone.
      std::string alone_death;
      std::vector<Reply> alone = run_child(mode, {jobs[next]}, &alone_death);
      replies.push_back(alone.empty() ? Reply{false, alone_death + ": a malformed DICOM file"} : alone[0]);
      ++next;
    }
  }
  return replies;
}

DicomSlice decode_slice(const Reply& reply, const std::string& path, const std::string& name) {
  Reader in(reply.payload, name);
  DicomSlice s;
  s.path = path;
  s.name = name;
  s.series_uid = in.text();
  s.patient_id = in.text();
  s.modality = in.text();
  for (double& v : s.position) v = in.get<double>();
  for (double& v : s.orientation) v = in.get<double>();
  s.rows = in.get<int32_t>();
  s.columns = in.get<int32_t>();
  s.window_center = in.get<double>();
  s.window_width = in.get<double>();
  return s;
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

std::string encode_dicom_reply(bool ok, const std::string& payload) {
  std::string out(1, ok ? 'O' : 'E');
  put(out, static_cast<uint64_t>(payload.size()));
  return out + payload;
}

std::string encode_dicom_slice(const DicomSlice& s) {
  std::string out;
  for (const std::string* text : {&s.series_uid, &s.patient_id, &s.modality}) put_text(out, *text);
  for (double v : s.position) put(out, v);
  for (double v : s.orientation) put(out, v);
  put(out, static_cast<int32_t>(s.rows));
  put(out, static_cast<int32_t>(s.columns));
  put(out, s.window_center);
  put(out, s.window_width);
  return encode_dicom_reply(true, out);
}

std::string encode_dicom_pixels(const std::vector<float>& pixels) {
  return encode_dicom_reply(true, std::string(reinterpret_cast<const char*>(pixels.data()), pixels.size() * sizeof(float)));
}

std::vector<DicomSliceResult> read_dicom_slices_isolated(const std::vector<std::pair<std::string, std::string>>& files,
                                                         uint64_t max_bytes) {
  std::vector<Job> jobs;
  for (const auto& [path, name] : files) jobs.push_back({path, name, std::to_string(max_bytes)});
  const std::vector<Reply> replies = run_jobs("header", jobs);
  std::vector<DicomSliceResult> out(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    if (!replies[i].ok) {
      out[i].refusal = replies[i].payload;
      continue;
    }
    try {
      out[i].slice = decode_slice(replies[i], files[i].first, files[i].second);
    } catch (const InputError& e) {
      out[i].refusal = e.reason();
    }
  }
  return out;
}

DicomSlice read_dicom_slice_isolated(const std::string& path, const std::string& name, uint64_t max_bytes) {
  DicomSliceResult result = read_dicom_slices_isolated({{path, name}}, max_bytes).at(0);
  if (!result.refusal.empty()) throw InputError(name, result.refusal);
  return result.slice;
}

std::vector<std::vector<float>> read_dicom_pixels_isolated(const std::vector<DicomSlice>& slices) {
  std::vector<Job> jobs;
  for (const DicomSlice& s : slices) jobs.push_back({s.path, s.name, std::to_string(s.columns) + "x" + std::to_string(s.rows)});
  const std::vector<Reply> replies = run_jobs("pixels", jobs);
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < slices.size(); ++i) {
    if (!replies[i].ok) throw InputError(slices[i].name, replies[i].payload);
    const size_t count = static_cast<size_t>(slices[i].rows) * static_cast<size_t>(slices[i].columns);
    if (replies[i].payload.size() != count * sizeof(float))
      throw InputError(slices[i].name, "the DICOM reader returned another image than its header describes");
    std::vector<float> pixels(count);
    std::memcpy(pixels.data(), replies[i].payload.data(), replies[i].payload.size());
    out.push_back(std::move(pixels));
  }
  return out;
}

}  // namespace sg
