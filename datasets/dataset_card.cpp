#include "datasets/dataset_card.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include <cstdio>
#include <sstream>

#include "common/hashing.hpp"

namespace sg {

std::string skip_reason_kind(const std::string& reason) {
  const size_t colon = reason.find(": ");
  std::string kind = colon == std::string::npos ? reason : reason.substr(0, colon);
  constexpr size_t kLongest = 160;  // a hostile input's reason may quote it at length
  if (kind.size() > kLongest) kind = kind.substr(0, kLongest) + "...";
  return kind;
}

void SkipTally::add(const std::string& name, const std::string& reason) {
  const std::string kind = skip_reason_kind(reason);
  const auto [it, added] = index_.emplace(kind, counts_.size());
  if (added) {
    SkipCount count;
    count.set_reason(kind);
    count.set_example(name);
    counts_.push_back(count);
  }
  SkipCount& count = counts_[it->second];
  count.set_inputs(count.inputs() + 1);
}

void SkipTally::store(DatasetMeta& meta) const {
  meta.clear_skipped();
  for (const SkipCount& count : counts_) *meta.add_skipped() = count;
}

std::string dataset_card_digest(const DatasetMeta& meta) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    meta.SerializeToCodedStream(&coded);
  }
  return "fnv1a64:" + hex64(mix64(fnv1a64(bytes.data(), bytes.size())));
}

namespace {

const char* split_name(Split split) {
  return split == TRAIN ? "train" : split == VALIDATE ? "validate" : "test";
}

std::string number(uint64_t n) { return std::to_string(n); }

// A Markdown table cell: no pipes or line breaks from a name.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : c == '\n' || c == '\r' ? std::string(" ") : std::string(1, c);
  return out;
}

void write_synthetic(std::ostringstream& s, const SyntheticOrigin& origin) {
  s << "**SYNTHETIC: every image here was drawn by a generator. These are not scans of any patient.**\n\n"
    << "## How it was made\n\n"
    << "| | |\n|---|---|\n"
    << "| generator | " << cell(origin.generator()) << " |\n"
    << "| generator digest | " << origin.generator_digest() << " |\n"
    << "| card of the data it trained on | "
    << (origin.data_card_digest().empty() ? "not recorded in the checkpoint" : origin.data_card_digest()) << " |\n"
    << "| images | " << origin.images() << " |\n"
    << "| truncation (psi) | " << origin.truncation() << " |\n"
    << "| seed | " << origin.seed() << " |\n";
  if (!origin.class_name().empty()) s << "| class | " << cell(origin.class_name()) << " |\n";
  s << "\n";
}

}  // namespace

std::string dataset_card_markdown(const DatasetMeta& meta, const std::string& path) {
  std::ostringstream s;
  const std::string name = meta.has_config() && !meta.config().name().empty() ? meta.config().name() : path;
  s << "# Dataset card: " << cell(name) << "\n\n";
  if (meta.has_synthetic()) write_synthetic(s, meta.synthetic());

  s << "## Source\n\n| | |\n|---|---|\n"
    << "| LMDB | " << cell(path) << " |\n"
    << "| card digest | " << dataset_card_digest(meta) << " |\n";
  if (!meta.input().empty()) s << "| input | " << cell(meta.input()) << " |\n";
  if (!meta.inputs_digest().empty()) s << "| inputs digest | " << meta.inputs_digest() << " |\n";
  s << "| made by | " << cell(meta.created_by().empty() ? "unknown" : meta.created_by())
    << (meta.tool_version().empty() ? "" : ", " + cell(meta.tool_version())) << " |\n"
    << "| made at | " << (meta.created_at().empty() ? "not recorded" : meta.created_at()) << " |\n\n";

  s << "## Contents\n\n";
  const bool subjects = !meta.has_synthetic();
  s << "| split | slices |" << (subjects ? " subjects |" : "");
  for (const std::string& c : meta.class_names()) s << " " << cell(c) << " |";
  s << "\n|---|---|" << (subjects ? "---|" : "");
  for (int i = 0; i < meta.class_names_size(); ++i) s << "---|";
  s << "\n";
  for (const SplitCount& count : meta.counts()) {
    s << "| " << split_name(count.split()) << " | " << count.records() << " |";
    if (subjects) s << " " << count.subjects() << " |";
    for (int i = 0; i < meta.class_names_size(); ++i)
      s << " " << (i < count.class_records_size() ? number(count.class_records(i)) : "?") << " |";
    s << "\n";
  }
  s << "\nImages: ";
  for (int i = 0; i < meta.resolutions_size(); ++i) s << (i ? ", " : "") << meta.resolutions(i) << "²";
  s << "; " << meta.channels() << (meta.channels() == 1 ? " channel" : " channels") << "; records encoded "
    << Encoding_Name(meta.encoding()) << ".";
  if (subjects && meta.has_config()) {
    s << " Subjects are counted here, never named; no subject is in two splits (split rule version "
      << meta.split_rule_version() << "). ";
    if (!meta.has_inputs_read())
      s << "The records keep no subject (an LMDB made before sg_prep stored them).";
    else
      s << "Each record's subject is stored "
        << (meta.subjects_pseudonymised() ? "as a keyed hash (sg_prep --pseudonymise; the key is not stored)"
                                          : "as the id the config's subject rule gives (not pseudonymised)")
        << ".";
  }
  s << "\n\n";

  if (!meta.has_synthetic()) {
    s << "## Left out\n\n";
    uint64_t skipped = 0;
    for (const SkipCount& c : meta.skipped()) skipped += c.inputs();
    if (meta.has_inputs_read())
      s << meta.inputs_read() << " inputs read, " << skipped << " skipped, " << meta.empty_slices_dropped()
        << " empty slices dropped.\n";
    else
      s << "Not recorded: this LMDB was made before sg_prep kept its card (prepare it again to have one).\n";
    if (meta.skipped_size() > 0) {
      s << "\n| reason | inputs | first |\n|---|---|---|\n";
      for (const SkipCount& c : meta.skipped())
        s << "| " << cell(c.reason()) << " | " << c.inputs() << " | " << cell(c.example()) << " |\n";
    }
    s << "\n";
  }

  if (meta.has_config()) {
    std::string text;
    google::protobuf::TextFormat::PrintToString(meta.config(), &text);
    s << "## Config\n\n```\n" << text << "```\n";
  }
  return s.str();
}

}  // namespace sg
