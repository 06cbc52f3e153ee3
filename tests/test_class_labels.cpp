// Class labels from the dataset config through sg_prep into the LMDB and the
// batch stream: path rules (ADNI's AD/NC folders, AKOA's LEFT/RIGHT), CSV
// subject tables with numeric bands (OASIS ages), unlabelled inputs as bad
// inputs, the meta's class counts.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include "common/errors.hpp"
#include "datasets/batch_stream.hpp"
#include "datasets/class_labels.hpp"
#include "datasets/dataset_config.hpp"
#include "datasets/lmdb_reader.hpp"
#include "datasets/record_codec.hpp"
#include "pipeline/prep_graph.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

LabelRule rule_from(const std::string& text) {
  return parse_dataset_config("labels { " + text + " }", "test.textproto").labels();
}

std::string config_error(const std::string& text) {
  try {
    parse_dataset_config(text, "c.textproto");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string label_error(const ClassLabeller& labeller, const std::string& path, const std::string& subject) {
  try {
    labeller.class_of(path, subject);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Csv, QuotesLineEndsAndAByteOrderMark) {
  const auto rows = parse_csv("\xEF\xBB\xBFID,Age,Note\r\nOAS1_0001,74,\"says \"\"hi\"\", twice\"\r\n\nOAS1_0002,,\"two\nlines\"\n"
                              "last,1,x",
                              "t.csv");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"ID", "Age", "Note"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"OAS1_0001", "74", "says \"hi\", twice"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"OAS1_0002", "", "two\nlines"}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"last", "1", "x"}));
  EXPECT_THROW(parse_csv("a,\"open\n", "t.csv"), InputError);
}

TEST(ClassLabels, FromThePathAsAdniAndAkoaNameThem) {
  const ClassLabeller adni(rule_from(R"(pattern { regex: "(?:^|/)(AD|NC)/" } classes { name: "AD" } classes { name: "NC" })"));
  EXPECT_EQ(adni.class_of("train/AD/1234_56.jpeg", "1234"), 0);
  EXPECT_EQ(adni.class_of("test/nc/1234_56.jpeg", "1234"), 1);  // the pattern ignores case by default
  EXPECT_NE(label_error(adni, "train/MCI/9_1.jpeg", "9").find("train/MCI/9_1.jpeg: no label: the label pattern"),
            std::string::npos);
  EXPECT_EQ(adni.class_names(), (std::vector<std::string>{"AD", "NC"}));

  const ClassLabeller akoa(rule_from(R"(pattern { regex: "_([^_]+|l_e_f_t|r_i_g_h_t)\\.nii" }
      classes { name: "left" values: "left|l_e_f_t" } classes { name: "right" values: "right|r_i_g_h_t" })"));
  EXPECT_EQ(akoa.class_of("OAI9_BaseLine_3_LEFT.nii.gz_12.png", "9"), 0);
  EXPECT_EQ(akoa.class_of("OAI9_BaseLine_3_Right.nii.gz_12.png", "9"), 1);
  EXPECT_EQ(akoa.class_of("OAI9_BaseLine_3_L_E_F_T.nii.gz_12.png", "9"), 0);
  EXPECT_NE(label_error(akoa, "OAI9_BaseLine_3_both.nii.gz_1.png", "9").find("'both' is none of the classes (left, right)"),
            std::string::npos);
}

TEST(ClassLabels, FromASubjectTableWithAgeBands) {
  TempDir dir;
  test::write_file(dir / "subjects.csv", "ID,M/F,Age\nOAS1_0001_MR1,F,74\nOAS1_0002_MR1,M,55\nOAS1_0003_MR1,F,88\n"
                                         "OAS1_0004_MR1,F,\nOAS1_0005_MR1,M,old\n");
  const std::string table = "table { path: \"" + (dir / "subjects.csv") + "\" subject_column: \"id\" label_column: \"Age\" }";
  const ClassLabeller ages(
      rule_from(table + R"( classes { name: "under 60" below: 60 } classes { name: "60-79" below: 80 } classes { name: "80+" })"));
  EXPECT_EQ(ages.class_of("a.nii", "OAS1_0002_MR1"), 0);
  EXPECT_EQ(ages.class_of("a.nii", "OAS1_0001_MR1"), 1);
  EXPECT_EQ(ages.class_of("a.nii", "OAS1_0003_MR1"), 2);
  EXPECT_NE(label_error(ages, "a.nii", "OAS1_0009_MR1").find("no label: subject OAS1_0009_MR1 is not in"), std::string::npos);
  EXPECT_NE(label_error(ages, "a.nii", "OAS1_0004_MR1").find("has an empty Age"), std::string::npos);
  EXPECT_NE(label_error(ages, "a.nii", "OAS1_0005_MR1").find("'old' is not a number"), std::string::npos);

  // A table that cannot serve is named with its reason.
  const std::string bad_column = "table { path: \"" + (dir / "subjects.csv") +
                                 "\" subject_column: \"ID\" label_column: \"CDR\" } classes { name: \"a\" } classes { name: \"b\" }";
  try {
    ClassLabeller labeller(rule_from(bad_column));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no column 'CDR' in the header (it has: ID, M/F, Age)"), std::string::npos) << e.what();
  }
  test::write_file(dir / "twice.csv", "ID,Group\nS1,AD\nS1,NC\n");
  EXPECT_THROW(ClassLabeller(rule_from("table { path: \"" + (dir / "twice.csv") +
                                       "\" subject_column: \"ID\" label_column: \"Group\" } classes { name: \"AD\" } "
                                       "classes { name: \"NC\" }")),
               InputError);
  EXPECT_THROW(ClassLabeller(rule_from("table { path: \"" + (dir / "missing.csv") +
                                       "\" subject_column: \"ID\" label_column: \"Group\" } classes { name: \"AD\" } "
                                       "classes { name: \"NC\" }")),
               InputError);
}

TEST(ClassLabels, TheConfigRefusesRulesThatCannotWork) {
  EXPECT_NE(config_error(R"(labels { classes { name: "a" } classes { name: "b" } })").find("exactly one label source"),
            std::string::npos);
  EXPECT_NE(config_error(R"(labels { pattern { regex: "a|b" } classes { name: "a" } })").find("at least two classes"),
            std::string::npos);
  EXPECT_NE(config_error(R"(labels { pattern { regex: "a|b" } classes { name: "a" } classes { name: "a" } })")
                .find("'a' is listed twice"),
            std::string::npos);
  EXPECT_NE(config_error(R"(labels {
      table { path: "t.csv" subject_column: "ID" label_column: "Age" }
      classes { name: "young" below: 60 } classes { name: "mid" below: 50 } classes { name: "old" } })")
                .find("labels.classes[1]: `below` must grow"),
            std::string::npos);
  EXPECT_NE(config_error(R"(labels { pattern { regex: "a|b" } classes { name: "a" } classes { name: "b" below: 3 } })")
                .find("`below` needs every class"),
            std::string::npos);
  EXPECT_NE(config_error(R"(labels { table { path: "t.csv" label_column: "Age" } classes { name: "a" } classes { name: "b" } })")
                .find("subject_column"),
            std::string::npos);
  EXPECT_NE(config_error(R"(labels { pattern { regex: "a|b" } classes { name: "a,b" } classes { name: "c" } })")
                .find("no comma"),
            std::string::npos);
}

TEST(ClassLabels, ATableIsReadFromTheConfigsFolder) {
  TempDir dir;
  fs::create_directories(dir.path() / "configs");
  test::write_file(dir / "configs/c.textproto", R"(labels { table { path: "../tables/s.csv" subject_column: "ID"
      label_column: "Group" } classes { name: "AD" } classes { name: "NC" } })");
  const DatasetConfig config = load_dataset_config(dir / "configs/c.textproto");
  EXPECT_EQ(fs::path(config.labels().table().path()), (dir.path() / "tables/s.csv").lexically_normal());
}

// ADNI-shaped folders: discs are AD, squares NC, and an MCI folder no class names.
DatasetConfig adni_like_config() {
  DatasetConfig config = parse_dataset_config(R"(
      include: "**/*.png"
      subject { pattern { regex: "([^/_]+)_\\d+\\.png$" } }
      split { mode: FOLDERS folders { folder { regex: "^train$" } split: TRAIN }
              folders { folder { regex: "^test$" } split: TEST } }
      labels { pattern { regex: "(?:^|/)(AD|NC|MCI)/" } classes { name: "AD" } classes { name: "NC" } }
      pyramid { resolutions: [8, 16] })",
                                              "adni-like");
  return config;
}

void write_adni_like(const TempDir& dir) {
  for (const char* split : {"train", "test"})
    for (const char* group : {"AD", "NC", "MCI"}) {
      const fs::path folder = dir.path() / "in" / split / group;
      fs::create_directories(folder);
      const int n = std::string(split) == "train" ? (std::string(group) == "AD" ? 5 : 7) : 2;
      for (int i = 0; i < n; ++i)
        test::write_file((folder / (std::string(group) + std::to_string(i) + "_" + std::to_string(i) + ".png")).string(),
                         test::png_bytes(test::shape_slice(16, std::string(group) == "NC", i)));
    }
}

// The square (NC) fills its bounding box, the disc (AD) about pi/4 of it.
bool looks_square(const Image8& image) {
  return test::bright_box_fill(image.pixels.data(), image.width, uint8_t{100}) > 0.9;
}

TEST(ClassLabels, PrepStoresALabelPerRecordAndCountsThem) {
  TempDir dir;
  write_adni_like(dir);
  PrepOptions options;
  options.input = dir / "in";
  options.output = dir / "out.lmdb";
  options.threads = 2;
  const PrepSummary summary = run_prep(adni_like_config(), options);
  EXPECT_EQ(summary.class_names, (std::vector<std::string>{"AD", "NC"}));
  EXPECT_EQ(summary.class_records[TRAIN], (std::vector<uint64_t>{5, 7}));
  EXPECT_EQ(summary.class_records[TEST], (std::vector<uint64_t>{2, 2}));
  ASSERT_EQ(summary.skipped.size(), 9u);  // every MCI image, by name
  EXPECT_NE(summary.skipped[0].find("MCI0_0.png: no label: 'MCI' is none of the classes (AD, NC)"), std::string::npos)
      << summary.skipped[0];
  EXPECT_NE(format_summary(summary, adni_like_config()).find("  classes: AD: train 5, validate 0, test 2\n"
                                                             "           NC: train 7, validate 0, test 2\n"),
            std::string::npos);

  LmdbReader reader(dir / "out.lmdb");
  ASSERT_TRUE(reader.has_labels());
  EXPECT_EQ(reader.class_names(), (std::vector<std::string>{"AD", "NC"}));
  for (Split split : {TRAIN, TEST}) {
    const std::vector<int> labels = reader.labels(split);
    ASSERT_EQ(labels.size(), reader.length(split));
    for (size_t i = 0; i < labels.size(); ++i) {
      const Image8 image = decode_record(reader.record(split, 16, i), reader.encoding(), 16, 1, "r");
      EXPECT_EQ(looks_square(image), labels[i] == 1) << "record " << i;
    }
  }
  EXPECT_EQ(describe_classes(*reader.meta()), "  classes: AD: train 5, validate 0, test 2\n"
                                              "           NC: train 7, validate 0, test 2\n");

  // Batches carry the labels of their images, whatever the order and mirroring.
  BatchStreamOptions o;
  o.size = 16;
  o.batch = 4;
  o.labels = true;
  o.seed = 7;
  BatchStream stream(reader, o);
  for (int b = 0; b < 6; ++b) {
    const Batch batch = stream.next();
    ASSERT_EQ(batch.labels.size(), 4u);
    for (int i = 0; i < 4; ++i) {
      const double fill = test::bright_box_fill(&batch.pixels[static_cast<size_t>(i) * 256], 16, 0.f);
      EXPECT_EQ(fill > 0.9, batch.labels[static_cast<size_t>(i)] == 1) << "batch " << b << " image " << i;
    }
  }

  // Under --on-error fail the first unlabelled input stops the run, named.
  options.on_error = OnError::Fail;
  options.output = dir / "fail.lmdb";
  try {
    run_prep(adni_like_config(), options);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("MCI0_0.png: no label"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "fail.lmdb"));
}

TEST(ClassLabels, AnLmdbWithoutLabelsSaysSo) {
  TempDir dir;
  write_adni_like(dir);
  DatasetConfig config = adni_like_config();
  config.clear_labels();
  PrepOptions options;
  options.input = dir / "in";
  options.output = dir / "out.lmdb";
  run_prep(config, options);
  LmdbReader reader(dir / "out.lmdb");
  EXPECT_FALSE(reader.has_labels());
  EXPECT_EQ(describe_classes(*reader.meta()), "");
  try {
    reader.labels(TRAIN);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("holds no class labels"), std::string::npos);
  }
  BatchStreamOptions o;
  o.size = 8;
  o.batch = 4;
  o.labels = true;
  EXPECT_THROW(BatchStream(reader, o), InputError);
}

}  // namespace
}  // namespace sg
