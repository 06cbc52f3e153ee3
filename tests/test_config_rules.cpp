// Dataset configs (parsing, validation with line numbers) and dataset rules
// (take/skip globs, subject ids, splits, flips) on real file names.
#include <gtest/gtest.h>

#include "datasets/dataset_config.hpp"
#include "datasets/dataset_rules.hpp"
#include "datasets/glob.hpp"
#include "pipeline/errors.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

std::string config_error(const std::string& text) {
  try {
    parse_dataset_config(text, "c.textproto");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Glob, StarsQuestionMarksAndClasses) {
  EXPECT_TRUE(glob_match("*.png", "a.png"));
  EXPECT_FALSE(glob_match("*.png", "d/a.png"));
  EXPECT_TRUE(glob_match("**/*.png", "a.png"));
  EXPECT_TRUE(glob_match("**/*.png", "d/e/a.png"));
  EXPECT_TRUE(glob_match("**/seg_*/**", "x/seg_train/a.png"));
  EXPECT_TRUE(glob_match("**/seg_*/**", "seg_train/a.png"));
  EXPECT_FALSE(glob_match("**/seg_*/**", "x/train/seg_a.png"));
  EXPECT_TRUE(glob_match("case_??.png", "case_01.png"));
  EXPECT_TRUE(glob_match("[ab]*.jp[e]g", "b1.jpeg"));
  EXPECT_FALSE(glob_match("[!ab]*", "a1"));
}

TEST(Config, ShippedConfigsLoad) {
  for (const char* name : {"demo", "oasis", "akoa", "adni"}) {
    DatasetConfig c = load_dataset_config(test::source_path(std::string("configs/") + name + ".textproto"));
    EXPECT_EQ(c.name(), name);
  }
}

TEST(Config, UnknownFieldsAndBadValuesNameFileLineAndReason) {
  EXPECT_EQ(config_error("name: \"x\"\n"), "");
  std::string e = config_error("name: \"x\"\ncolour: 3\n");
  EXPECT_NE(e.find("c.textproto:2"), std::string::npos) << e;
  EXPECT_NE(e.find("colour"), std::string::npos) << e;

  e = config_error("name: \"x\"\npyramid {\n  resolutions: [8, 12]\n}\n");
  EXPECT_NE(e.find("c.textproto:3"), std::string::npos) << e;
  EXPECT_NE(e.find("12 is not a power of two"), std::string::npos) << e;

  e = config_error("crop {\n  mode: FOREGROUND\n  margin: 3\n}\n");
  EXPECT_NE(e.find("c.textproto:3"), std::string::npos) << e;
  EXPECT_NE(e.find("crop.margin"), std::string::npos) << e;

  e = config_error("slicing { axis: 5 }\n");
  EXPECT_NE(e.find("slicing.axis"), std::string::npos) << e;
  e = config_error("subject { pattern { regex: \"([\" } }\n");
  EXPECT_NE(e.find("bad regex"), std::string::npos) << e;
  e = config_error("channels: 2\n");
  EXPECT_NE(e.find("must be 1 or 3"), std::string::npos) << e;
  e = config_error("split { mode: FOLDERS }\n");
  EXPECT_NE(e.find("FOLDERS needs"), std::string::npos) << e;
  e = config_error("crop { mode: SIDEWAYS }\n");
  EXPECT_NE(e.find("c.textproto:1"), std::string::npos) << e;
}

// libstdc++'s regex compiler overflows an int on long repeat counts and
// back-references and recurses per term: such patterns are refused before it
// sees them (found by fuzz_config).
TEST(Config, RegexesStdRegexCannotTakeAreRefusedInOneLine) {
  auto subject = [](const std::string& regex) {
    return config_error("subject {\n  pattern { regex: \"" + regex + "\" }\n}\n");
  };
  std::string e = subject("^a{99999999999}");
  EXPECT_NE(e.find("c.textproto:2"), std::string::npos) << e;
  EXPECT_NE(e.find("repeat count past 1000"), std::string::npos) << e;
  e = subject("(a)\\\\99999999999");
  EXPECT_NE(e.find("back-reference"), std::string::npos) << e;
  e = subject(std::string(40, '(') + "a" + std::string(40, ')'));
  EXPECT_NE(e.find("nested deeper than 32"), std::string::npos) << e;
  e = subject(std::string(2000, 'a'));
  EXPECT_NE(e.find("longer than 1024"), std::string::npos) << e;

  // Digits elsewhere, braces in a class, escaped braces and real rules stay fine.
  for (const char* fine : {"^ADNI_(\\\\d{3}_S_\\\\d{4})_MR_.*_20110602123456", "^(OAS1_[0-9]{4})_MR[0-9]+",
                           "[{]99999999999", "\\\\{99999999999\\\\}", "^(a)\\\\1$", "x{2,1000}"})
    EXPECT_EQ(subject(fine), "") << fine;
  EXPECT_EQ(regex_pattern_problem("a{1001}"), "a repeat count past 1000");
  EXPECT_EQ(regex_pattern_problem("[\\](((((((((((((((((((((((((((((((((((]"), "");

  DatasetConfig direct;
  direct.mutable_subject()->mutable_pattern()->set_regex("a{4294967296}");
  EXPECT_THROW(DatasetRules{direct}, ConfigError);
}

TEST(Rules, OasisTakesImagesSkipsMasksAndSplitsByFolder) {
  DatasetRules rules(load_dataset_config(test::source_path("configs/oasis.textproto")));
  for (const char* root : {"", "keras_png_slices_data/", "keras_png_slices_data/keras_png_slices_data/"}) {
    std::string train = std::string(root) + "keras_png_slices_train/case_001_slice_0.nii.png";
    std::string val = std::string(root) + "keras_png_slices_validate/case_402_slice_31.nii.png";
    std::string test = std::string(root) + "keras_png_slices_test/case_441_slice_5.nii.png";
    std::string seg = std::string(root) + "keras_png_slices_seg_train/seg_001_slice_0.nii.png";
    EXPECT_TRUE(rules.selects(train, true)) << train;
    EXPECT_FALSE(rules.selects(seg, true)) << seg;
    EXPECT_EQ(rules.subject_of(train), "001");
    EXPECT_EQ(rules.split_of(train, "001"), TRAIN);
    EXPECT_EQ(rules.split_of(val, "402"), VALIDATE);
    EXPECT_EQ(rules.split_of(test, "441"), TEST);
  }
  EXPECT_FALSE(rules.split_of("elsewhere/case_001_slice_0.nii.png", "001").has_value());
}

TEST(Rules, AkoaSplitsByPatientAndMirrorsEveryLeftSpelling) {
  DatasetRules rules(load_dataset_config(test::source_path("configs/akoa.textproto")));
  const std::string right = "AKOA_Analysis/OAI9014797_BaseLine_3_de3d1_SAG_3D_DESS_WE_RIGHT.nii.gz_0.png";
  EXPECT_EQ(rules.subject_of(right), "9014797");
  EXPECT_FALSE(rules.mirrors(right));
  for (const char* side : {"LEFT", "Left", "left", "L_E_F_T"}) {
    std::string left = std::string("OAI9062645_BaseLine_3_de3d1_SAG_3D_DESS_WE_") + side + ".nii.gz_12.png";
    EXPECT_TRUE(rules.mirrors(left)) << left;
  }
  for (const char* side : {"RIGHT", "Right", "right", "R_I_G_H_T"})
    EXPECT_FALSE(rules.mirrors(std::string("OAI9062645_BaseLine_3_de3d1_SAG_3D_DESS_WE_") + side + ".nii.gz_1.png"));
  // Both knees and every slice of a patient land in the same split, and the
  // split of 200 patients is near the configured fractions.
  int counts[3] = {0, 0, 0};
  for (int p = 0; p < 200; ++p) {
    std::string id = std::to_string(9000000 + p * 7919);
    auto a = rules.split_of("OAI" + id + "_BaseLine_3_x_LEFT.nii.gz_0.png", rules.subject_of("OAI" + id + "_"));
    auto b = rules.split_of("OAI" + id + "_BaseLine_4_x_RIGHT.nii.gz_9.png", rules.subject_of("OAI" + id + "_"));
    ASSERT_EQ(a, b);
    ++counts[*a];
  }
  EXPECT_GT(counts[TRAIN], 120);
  EXPECT_GT(counts[VALIDATE], 5);
  EXPECT_GT(counts[TEST], 15);
  // Deterministic from the seed.
  EXPECT_EQ(rules.split_of("x", "9014797"), DatasetRules(load_dataset_config(test::source_path("configs/akoa.textproto")))
                                                 .split_of("x", "9014797"));
}

TEST(Rules, AdniKeepsTestAndCarvesValidationFromTrainByPatient) {
  DatasetRules rules(load_dataset_config(test::source_path("configs/adni.textproto")));
  const std::string test = "ADNI_AD_NC_2D/AD_NC/test/AD/1003730_100.jpeg";
  EXPECT_TRUE(rules.selects(test, true));
  EXPECT_EQ(rules.subject_of(test), "1003730");
  EXPECT_EQ(rules.split_of(test, "1003730"), TEST);
  int validate = 0;
  for (int p = 0; p < 300; ++p) {
    std::string id = std::to_string(200000 + p * 31);
    std::string path = "AD_NC/train/NC/" + id + "_78.jpeg";
    auto split = rules.split_of(path, rules.subject_of(path));
    ASSERT_TRUE(split == TRAIN || split == VALIDATE);
    validate += split == VALIDATE;
  }
  EXPECT_GT(validate, 10);
  EXPECT_LT(validate, 60);
}

}  // namespace
}  // namespace sg
