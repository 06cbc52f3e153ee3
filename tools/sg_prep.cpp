// sg_prep: raw scans (a .zip, a folder, or volume files) -> one LMDB with
// every resolution. Thin: flags, config, then the library's run_prep.
#include "common/cli.hpp"

#include <cstdio>
#include <thread>

#include "common/errors.hpp"
#include "common/progress.hpp"
#include "datasets/dataset_config.hpp"
#include "pipeline/prep_graph.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_prep: raw scans -> multi-resolution LMDB for sg_train"};
  std::string config_path, input, output, encoding, on_error = "skip";
  int threads = 0;
  bool force = false, quiet = false;
  app.add_option("--config", config_path, "dataset config (configs/*.textproto)")->required()->check(CLI::ExistingFile);
  app.add_option("--input", input, "a .zip, a folder, or a volume file (default: the config's default_input)");
  app.add_option("--out", output, "output LMDB directory")->required();
  app.add_option("--encoding", encoding, "record encoding (overrides the config)")
      ->check(CLI::IsMember({"raw", "png"}, CLI::ignore_case));
  sg::cli::add_number(app, "--threads", threads, "worker threads (0, the default: all cores)", sg::cli::between(0, 1024));
  app.add_option("--on-error,--on_error", on_error, "bad inputs: skip them (with a summary) or fail the run")
      ->check(CLI::IsMember({"skip", "fail"}));
  app.add_flag("--force", force, "replace an existing output");
  app.add_flag("--quiet", quiet, "no progress line");
  std::string key, key_file;
  auto* key_option = app.add_option("--pseudonymise,--pseudonymize", key,
                                    "store each subject as its keyed hash (HMAC-SHA256 under KEY, at least 16 "
                                    "characters) instead of its id; the key is not stored");
  app.add_option("--pseudonymise-key-file", key_file, "the same, the key read from a file (kept out of the "
                                                      "process list and shell history)")
      ->check(CLI::ExistingFile)
      ->excludes(key_option);
  if (int code = sg::cli::parse_flags(app, argc, argv, "sg_prep"); code >= 0) return code;

  try {
    sg::DatasetConfig config = sg::load_dataset_config(config_path);
    if (!encoding.empty()) config.set_encoding(encoding == "png" || encoding == "PNG" ? sg::PNG : sg::RAW);
    sg::PrepOptions options;
    options.input = input.empty() ? config.default_input() : input;
    if (options.input.empty()) throw sg::ConfigError(config_path, "no --input given and the config has no default_input");
    options.output = output;
    options.threads = threads;
    options.on_error = on_error == "fail" ? sg::OnError::Fail : sg::OnError::Skip;
    options.force = force;
    options.show_progress = !quiet && sg::stderr_is_terminal();
    options.pseudonymise_key = key_file.empty() ? key : sg::read_pseudonym_key(key_file);
    if ((!key.empty() || !key_file.empty()) && options.pseudonymise_key.size() < 16)
      throw std::invalid_argument("--pseudonymise: the key has " + std::to_string(options.pseudonymise_key.size()) +
                                  " characters; at least 16 are needed, or the ids can be guessed back");
    sg::PrepSummary summary = sg::run_prep(config, options);
    std::fputs(sg::format_summary(summary, config).c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    sg::cli::print_error("sg_prep", e);
    return 1;
  }
}
