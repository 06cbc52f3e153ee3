// Dataset configs (parsing, validation with line numbers) and dataset rules
// (take/skip globs, subject ids, splits, flips) on real file names.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "common/errors.hpp"
#include "datasets/class_labels.hpp"
#include "datasets/dataset_config.hpp"
#include "datasets/dataset_rules.hpp"
#include "datasets/glob.hpp"
#include "datasets/held_out.hpp"
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
  for (const char* name : {"demo", "oasis", "akoa", "adni", "dicom"}) {
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
    EXPECT_EQ(rules.split_of(train), TRAIN);
    EXPECT_EQ(rules.split_of(val), VALIDATE);
    EXPECT_EQ(rules.split_of(test), TEST);
  }
  EXPECT_FALSE(rules.split_of("elsewhere/case_001_slice_0.nii.png").has_value());
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
  // The side is the class, whichever way it is spelled.
  const ClassLabeller sides(load_dataset_config(test::source_path("configs/akoa.textproto")).labels());
  EXPECT_EQ(sides.class_names(), (std::vector<std::string>{"left", "right"}));
  for (const char* side : {"LEFT", "Left", "left", "L_E_F_T", "RIGHT", "Right", "right", "R_I_G_H_T"}) {
    const std::string path = std::string("OAI9062645_BaseLine_3_de3d1_SAG_3D_DESS_WE_") + side + ".nii.gz_12.png";
    EXPECT_EQ(sides.class_of(path, "9062645"), rules.mirrors(path) ? 0 : 1) << path;
  }
  // Both knees of a patient are one subject; 200 patients split as configured
  // (0.1 validate, 0.15 test).
  const DatasetConfig config = load_dataset_config(test::source_path("configs/akoa.textproto"));
  std::vector<std::string> subjects;
  for (int p = 0; p < 200; ++p) {
    std::string id = std::to_string(9000000 + p * 7919);
    std::string left = "OAI" + id + "_BaseLine_3_x_LEFT.nii.gz_0.png", right = "OAI" + id + "_BaseLine_4_x_RIGHT.nii.gz_9.png";
    ASSERT_EQ(rules.subject_of(left), rules.subject_of(right));
    ASSERT_EQ(rules.split_of(left), TRAIN);
    subjects.push_back(rules.subject_of(left));
    subjects.push_back(rules.subject_of(right));
  }
  const HeldOutSubjects held_out(config.split(), subjects);
  EXPECT_EQ(held_out.subject_counts(), (std::array<uint64_t, 3>{150, 20, 30}));
  // Deterministic from the seed.
  const HeldOutSubjects again(config.split(), subjects);
  for (const std::string& s : subjects) EXPECT_EQ(held_out.split_of(s), again.split_of(s));
}

TEST(Rules, AdniKeepsTestAndCarvesValidationFromTrainByPatient) {
  const DatasetConfig config = load_dataset_config(test::source_path("configs/adni.textproto"));
  DatasetRules rules(config);
  const std::string test = "ADNI_AD_NC_2D/AD_NC/test/AD/1003730_100.jpeg";
  EXPECT_TRUE(rules.selects(test, true));
  EXPECT_EQ(rules.subject_of(test), "1003730");
  EXPECT_EQ(rules.split_of(test), TEST);
  const ClassLabeller groups(config.labels());
  EXPECT_EQ(groups.class_of(test, "1003730"), 0);
  EXPECT_EQ(groups.class_of("ADNI_AD_NC_2D/AD_NC/train/NC/1003731_9.jpeg", "1003731"), 1);
  std::vector<std::string> train_subjects;
  for (int p = 0; p < 300; ++p) {
    std::string path = "AD_NC/train/NC/" + std::to_string(200000 + p * 31) + "_78.jpeg";
    ASSERT_EQ(rules.split_of(path), TRAIN);
    train_subjects.push_back(rules.subject_of(path));
  }
  EXPECT_EQ(HeldOutSubjects(config.split(), train_subjects).subject_counts(), (std::array<uint64_t, 3>{270, 30, 0}));
}

// Each split's share of 1,000 subjects against its fraction, and no subject
// in two splits.
void expect_shares_follow_fractions(const std::vector<std::string>& ids, const SplitRule& rule) {
  const HeldOutSubjects held_out(rule, ids);
  int counts[3] = {0, 0, 0};
  for (const std::string& id : ids) ++counts[held_out.split_of(id)];
  const double n = static_cast<double>(ids.size());
  EXPECT_NEAR(counts[VALIDATE] / n, rule.validate_fraction(), 0.03) << ids.front();
  EXPECT_NEAR(counts[TEST] / n, rule.test_fraction(), 0.03) << ids.front();
  EXPECT_EQ(counts[TRAIN] + counts[VALIDATE] + counts[TEST], static_cast<int>(ids.size()));
  EXPECT_EQ(held_out.subject_counts()[VALIDATE], static_cast<uint64_t>(counts[VALIDATE]));
}

TEST(HeldOut, SharesFollowFractionsForConsecutiveAndRandomIds) {
  SplitRule rule;
  rule.set_mode(SplitRule::SUBJECT_HASH);
  rule.set_validate_fraction(0.1);
  rule.set_test_fraction(0.15);
  rule.set_seed(3710);
  std::vector<std::string> consecutive, oai, random;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    consecutive.push_back(std::to_string(3000 + i));
    oai.push_back(std::to_string(9000060 + 3 * i));
    random.push_back(std::to_string(rng() % 100000000));
  }
  for (const auto* ids : {&consecutive, &oai, &random}) expect_shares_follow_fractions(*ids, rule);
}

TEST(HeldOut, EachIdsDrawIsSpreadOverTheUnitInterval) {
  // The draw alone (before ranking) must spread consecutive ids: FNV-1a's top
  // bits put 1,000 consecutive patient numbers in one narrow band.
  int below[10] = {};
  for (int i = 0; i < 1000; ++i) {
    const double u = subject_draw(std::to_string(3000 + i), 3710);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ++below[static_cast<int>(u * 10)];
  }
  for (int decile = 0; decile < 10; ++decile) EXPECT_NEAR(below[decile], 100, 30) << "decile " << decile;
}

TEST(HeldOut, SmallSetsGetTheirHeldOutSubjectsAndKeepOneForTraining) {
  SplitRule rule;
  rule.set_mode(SplitRule::SUBJECT_HASH);
  rule.set_validate_fraction(0.1);
  rule.set_test_fraction(0.15);
  std::vector<std::string> twenty;  // the AKOA-like set: OAI ids 9000060, 9000063, ...
  for (int i = 0; i < 20; ++i) twenty.push_back(std::to_string(9000060 + 3 * i));
  EXPECT_EQ(HeldOutSubjects(rule, twenty).subject_counts(), (std::array<uint64_t, 3>{15, 2, 3}));
  EXPECT_EQ(HeldOutSubjects(rule, {"a", "b", "a", "c"}).subject_counts(), (std::array<uint64_t, 3>{1, 1, 1}));
  EXPECT_EQ(HeldOutSubjects(rule, {"a", "b"}).subject_counts(), (std::array<uint64_t, 3>{1, 0, 1}));
  EXPECT_EQ(HeldOutSubjects(rule, {"only"}).subject_counts(), (std::array<uint64_t, 3>{1, 0, 0}));
  EXPECT_EQ(HeldOutSubjects(rule, {}).subject_counts(), (std::array<uint64_t, 3>{0, 0, 0}));
  rule.set_mode(SplitRule::ALL_TRAIN);
  EXPECT_EQ(HeldOutSubjects(rule, twenty).subject_counts(), (std::array<uint64_t, 3>{20, 0, 0}));
}

TEST(HeldOut, FractionsAreCheckedIncludingNaN) {
  EXPECT_NE(config_error("split { mode: SUBJECT_HASH validate_fraction: nan }").find("validate_fraction"),
            std::string::npos);
  EXPECT_NE(config_error("split { mode: SUBJECT_HASH test_fraction: inf }").find("test_fraction"), std::string::npos);
  EXPECT_NE(config_error("split { validate_fraction: 0.1 }").find("ALL_TRAIN holds out nothing"), std::string::npos);
  EXPECT_NE(config_error("window { mode: PERCENTILE low_percentile: nan }").find("low_percentile"), std::string::npos);
  EXPECT_NE(config_error("crop { margin: nan }").find("margin"), std::string::npos);
  EXPECT_EQ(config_error("split { mode: SUBJECT_HASH validate_fraction: 0.1 test_fraction: 0.2 }"), "");
}

}  // namespace
}  // namespace sg
