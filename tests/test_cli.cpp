// The programs' flag checks: numbers in words, NaN and infinity refused,
// whole numbers where the variable is whole, one error line.
#include <gtest/gtest.h>

#include <cstdint>

#include "common/cli.hpp"

namespace sg::cli {
namespace {

// What parsing `value` for a flag of type T with `bounds` says ("" if taken).
template <typename T>
std::string problem(const std::string& value, Bounds bounds, T* parsed = nullptr) {
  CLI::App app;
  T v{};
  add_number(app, "--flag", v, "a flag", bounds);
  std::vector<std::string> args = {value, "--flag"};  // CLI11 takes them reversed
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  if (parsed) *parsed = v;
  return "";
}

TEST(Cli, NumbersOutOfRangeAreSaidInWords) {
  EXPECT_EQ(problem<int>("0", at_least(1)), "--flag: must be at least 1 (got 0)");
  EXPECT_EQ(problem<int>("-3", at_least(0)), "--flag: must be at least 0 (got -3)");
  // The side that was crossed, not the whole interval.
  EXPECT_EQ(problem<double>("2", between(0, 1)), "--flag: must be at most 1 (got 2)");
  EXPECT_EQ(problem<double>("-0.5", between(0, 1)), "--flag: must be at least 0 (got -0.5)");
  EXPECT_EQ(problem<double>("1", below(0, 1)), "--flag: must be below 1 (got 1)");
  EXPECT_EQ(describe(between(0, 1)), "in [0, 1]");
  EXPECT_EQ(describe(below(0, 1)), "in [0, 1)");
  EXPECT_EQ(describe(at_least(1)), "at least 1");
  EXPECT_EQ(describe(any_number()), "");
  EXPECT_EQ(problem<double>("0", above(0)), "--flag: must be above 0 (got 0)");
  EXPECT_EQ(problem<double>("1e-8", between(0, 1)), "");
}

TEST(Cli, NanInfinityAndNonNumbersAreRefused) {
  for (const char* bad : {"nan", "NaN", "-nan", "inf", "-inf", "infinity", "1e5000"}) {
    EXPECT_EQ(problem<double>(bad, any_number()), std::string("--flag: must be a finite number (got ") + bad + ")");
    EXPECT_EQ(problem<int>(bad, any_number()), std::string("--flag: must be a whole number (got ") + bad + ")");
  }
  EXPECT_EQ(problem<double>("abc", any_number()), "--flag: must be a number (got abc)");
  EXPECT_EQ(problem<double>("", any_number()), "--flag: must be a number (got )");
  EXPECT_EQ(problem<double>(" 1", any_number()), "--flag: must be a number (got  1)");
  EXPECT_EQ(problem<int>("1.5", any_number()), "--flag: must be a whole number (got 1.5)");
}

TEST(Cli, WholeNumbersStayWithinTheirType) {
  EXPECT_EQ(problem<int>("1e308", at_least(1)), "--flag: must be at most 2147483647 (got 1e308)");
  EXPECT_EQ(problem<uint64_t>("-1", any_number()), "--flag: must be at least 0 (got -1)");
  EXPECT_EQ(problem<uint64_t>("18446744073709551616", any_number()),
            "--flag: must be at most 18446744073709551615 (got 18446744073709551616)");
  uint64_t big = 0;
  EXPECT_EQ(problem<uint64_t>("18446744073709551615", any_number(), &big), "");
  EXPECT_EQ(big, UINT64_MAX);
  int thousand = 0;
  EXPECT_EQ(problem<int>("1e3", at_least(1), &thousand), "");  // scientific notation, whole
  EXPECT_EQ(thousand, 1000);
  int64_t negative = 0;
  EXPECT_EQ(problem<int64_t>("-12", any_number(), &negative), "");
  EXPECT_EQ(negative, -12);
}

TEST(Cli, ChoicesListWhatIsAllowed) {
  CLI::App app;
  int v = 0;
  add_choice(app, "--size", v, "a size", {8, 16, 32});
  std::vector<std::string> args = {"12", "--size"};
  try {
    app.parse(args);
    FAIL();
  } catch (const CLI::ParseError& e) {
    EXPECT_EQ(std::string(e.what()), "--size: must be 8, 16 or 32 (got 12)");
  }
  args = {"16", "--size"};
  app.parse(args);
  EXPECT_EQ(v, 16);
}

TEST(Cli, AnErrorIsOneLineUnlessDebugging) {
  const std::string what = "Invalid learning rate: -1\nException raised from Adam at adam.h:12\nframe #0: c10::Error";
  unsetenv("SG_DEBUG");
  EXPECT_EQ(error_line("sg_train", what), "sg_train: error: Invalid learning rate: -1");
  setenv("SG_DEBUG", "1", 1);
  EXPECT_EQ(error_line("sg_train", what), "sg_train: error: " + what);
  unsetenv("SG_DEBUG");
}

TEST(Cli, ParseFlagsPrintsOneLineAndReturnsTwo) {
  CLI::App app{"demo"};
  int batch = 1;
  add_number(app, "--batch", batch, "batch", at_least(1));
  const char* bad[] = {"prog", "--batch", "0"};
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse_flags(app, 3, const_cast<char**>(bad), "prog"), 2);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "prog: error: --batch: must be at least 1 (got 0)\n");
  CLI::App fine{"demo"};
  add_number(fine, "--batch", batch, "batch", at_least(1));
  const char* good[] = {"prog", "--batch", "4"};
  EXPECT_EQ(parse_flags(fine, 3, const_cast<char**>(good), "prog"), -1);
  EXPECT_EQ(batch, 4);
}

}  // namespace
}  // namespace sg::cli
