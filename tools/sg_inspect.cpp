// sg_inspect: what an LMDB holds (meta, counts per split and size) and,
// with --sheet, a contact sheet PNG of its records.
#include <google/protobuf/text_format.h>

#include <cstdio>
#include <fstream>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/images/image_codec.hpp"
#include "common/images/image_grid.hpp"
#include "datasets/class_labels.hpp"
#include "datasets/dataset_card.hpp"
#include "datasets/held_out.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_reader.hpp"
#include "datasets/record_codec.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_inspect: describe a dataset LMDB"};
  std::string path, sheet, split_name = "train";
  int size = 0, count = 64, columns = 8;
  bool show_config = false;
  app.add_option("lmdb", path, "dataset LMDB directory")->required();
  app.add_option("--sheet", sheet, "write a contact sheet PNG of the first records");
  sg::cli::add_choice(app, "--size", size, "resolution for the sheet (default: the largest)", {4, 8, 16, 32, 64, 128, 256, 512, 1024});
  sg::cli::add_number(app, "--count", count, "records on the sheet", sg::cli::between(1, 100000));
  sg::cli::add_number(app, "--columns", columns, "records per row", sg::cli::between(1, 1000));
  app.add_option("--split", split_name, "split for the sheet")->check(CLI::IsMember({"train", "validate", "test"}));
  app.add_flag("--config", show_config, "print the config the LMDB was made with");
  bool card = false;
  app.add_flag("--card", card, "print the dataset card (Markdown): source, counts, what was left out and why, config");
  if (int code = sg::cli::parse_flags(app, argc, argv, "sg_inspect"); code >= 0) return code;

  try {
    sg::LmdbReader reader(path);
    const auto& meta = reader.meta();
    if (card) {
      if (!meta) throw sg::InputError(path, "no meta record, so no card (made by the reference prepare_data.py?)");
      std::printf("%s", sg::dataset_card_markdown(*meta, path).c_str());
      return 0;
    }
    std::printf("%s\n", path.c_str());
    if (!meta) {
      std::printf("  no meta record (made by the reference prepare_data.py?); length %llu\n",
                  static_cast<unsigned long long>(reader.length(sg::TRAIN)));
      return 0;
    }
    std::printf("  format %u, %s, %d channel(s), sizes", meta->format_version(),
                sg::Encoding_Name(meta->encoding()).c_str(), meta->channels());
    for (int s : meta->resolutions()) std::printf(" %d", s);
    std::printf("\n  records: train %llu, validate %llu, test %llu\n",
                static_cast<unsigned long long>(reader.length(sg::TRAIN)),
                static_cast<unsigned long long>(reader.length(sg::VALIDATE)),
                static_cast<unsigned long long>(reader.length(sg::TEST)));
    std::printf("%s", sg::describe_held_out(*meta).c_str());
    std::printf("%s", sg::describe_classes(*meta).c_str());
    if (meta->has_synthetic()) std::printf("  SYNTHETIC: generated images, not scans (--card: how they were made)\n");
    std::printf("  input: %s\n  inputs digest: %s\n  card: %s (--card)\n", meta->input().c_str(),
                meta->inputs_digest().c_str(), sg::dataset_card_digest(*meta).c_str());
    if (show_config) {
      std::string text;
      google::protobuf::TextFormat::PrintToString(meta->config(), &text);
      std::printf("  config:\n%s", text.c_str());
    }
    if (!sheet.empty()) {
      sg::Split split = split_name == "validate" ? sg::VALIDATE : split_name == "test" ? sg::TEST : sg::TRAIN;
      if (size == 0) size = meta->resolutions(meta->resolutions_size() - 1);
      uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(count), reader.length(split));
      if (n == 0) throw sg::InputError(path, "the " + split_name + " split is empty");
      std::vector<sg::Image8> images;
      for (uint64_t i = 0; i < n; ++i)
        images.push_back(sg::decode_record(reader.record(split, size, i), meta->encoding(), size, meta->channels(),
                                           sg::record_key(size, i)));
      std::string png = sg::encode_png(sg::make_grid(images, columns), 6);
      std::ofstream(sheet, std::ios::binary).write(png.data(), static_cast<std::streamsize>(png.size()));
      std::printf("  sheet: %s (%llu records at %dx%d)\n", sheet.c_str(), static_cast<unsigned long long>(n), size, size);
    }
    return 0;
  } catch (const std::exception& e) {
    sg::cli::print_error("sg_inspect", e);
    return 1;
  }
}
