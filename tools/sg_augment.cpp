// sg_augment LMDB --p P --out SHEET.png: what the discriminator sees under
// `sg_train --augment` at probability p — dataset records, each beside a
// draw of ADA's augmentations. Thin over augment_sheet().
#include <CLI/CLI.hpp>

#include <cstdio>

#include "model/augment/sheet.hpp"
#include "model/evaluation/sampler.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_augment: a contact sheet of records beside their ADA augmentations at a given p"};
  std::string lmdb, out = "augment_sheet.png";
  sg::AugmentSheetOptions o;
  app.add_option("lmdb", lmdb, "dataset LMDB (from sg_prep)")->required();
  app.add_option("--p", o.p, "probability of each transform, in [0, 1) (the p of sg_train's log.csv)");
  app.add_option("--out", out, "PNG to write");
  app.add_option("--size", o.size, "record size (default: the LMDB's largest)");
  app.add_option("--count", o.count, "records on the sheet")->check(CLI::PositiveNumber);
  app.add_option("--columns", o.columns, "record pairs per row")->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "seed of the augmentations drawn");
  CLI11_PARSE(app, argc, argv);
  try {
    const sg::Image8 sheet = sg::augment_sheet(lmdb, o);
    sg::write_png(out, sheet);
    std::printf("%s: %d records, each beside its augmentation at p %.3g (%dx%d pixels)\n", out.c_str(), o.count, o.p,
                sheet.width, sheet.height);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sg_augment: error: %s\n", e.what());
    return 1;
  }
}
