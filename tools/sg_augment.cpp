// sg_augment LMDB --p P --out SHEET.png: what the discriminator sees under
// `sg_train --augment` at probability p — dataset records, each beside a
// draw of ADA's augmentations. Thin over augment_sheet().
#include <cstdio>

#include "common/cli.hpp"
#include "model/core/drawing.hpp"
#include "model/evaluation/augment_sheet.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_augment: a contact sheet of records beside their ADA augmentations at a given p"};
  std::string lmdb, out = "augment_sheet.png";
  sg::AugmentSheetOptions o;
  app.add_option("lmdb", lmdb, "dataset LMDB (from sg_prep)")->required();
  sg::cli::add_number(app, "--p", o.p, "probability of each transform (the p of sg_train's log.csv)", sg::cli::below(0, 1));
  app.add_option("--out", out, "PNG to write");
  sg::cli::add_choice(app, "--size", o.size, "record size (default: the LMDB's largest)", {4, 8, 16, 32, 64, 128, 256, 512, 1024});
  sg::cli::add_number(app, "--count", o.count, "records on the sheet", sg::cli::between(1, 10000));
  sg::cli::add_number(app, "--columns", o.columns, "record pairs per row", sg::cli::between(1, 1000));
  sg::cli::add_number(app, "--seed", o.seed, "seed of the augmentations drawn", sg::cli::any_number());
  if (int code = sg::cli::parse_flags(app, argc, argv, "sg_augment"); code >= 0) return code;
  try {
    const sg::Image8 sheet = sg::augment_sheet(lmdb, o);
    sg::write_png(out, sheet);
    std::printf("%s: %d records, each beside its augmentation at p %.3g (%dx%d pixels)\n", out.c_str(), o.count, o.p,
                sheet.width, sheet.height);
    return 0;
  } catch (const std::exception& e) {
    sg::cli::print_error("sg_augment", e);
    return 1;
  }
}
