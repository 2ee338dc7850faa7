// The option parser: values, flags, numbers, choices, help, and each usage error.
#include "args.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace colmax::cli {
namespace {

Args make() {
  return Args("try", "[options]", "A command for tests.",
              {{"docs", "N", "documents"},
               {"name", "TEXT", "a name"},
               {"rate", "X", "a number"},
               {"mode", "M", "a choice"},
               {"fast", "", "a flag"}});
}

std::string usage_error(const std::vector<std::string>& argv) {
  Args a = make();
  std::ostringstream out;
  try {
    a.parse(argv, out);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Args, ValuesFlagsAndDefaults) {
  Args a = make();
  std::ostringstream out;
  ASSERT_TRUE(a.parse(std::vector<std::string>{"--docs", "20k", "--name=x=y", "--fast"}, out));
  EXPECT_EQ(a.integer("docs", 5), 20000);
  EXPECT_EQ(a.text("name"), "x=y");
  EXPECT_TRUE(a.flag("fast"));
  EXPECT_FALSE(a.has("rate"));
  EXPECT_EQ(a.number("rate", 1.5, 0, 2), 1.5);
  EXPECT_EQ(a.choice("mode", {"a", "b"}, "b"), "b");
  EXPECT_TRUE(out.str().empty());
}

TEST(Args, IntegerSuffixes) {
  EXPECT_EQ(parse_integer("12"), 12);
  EXPECT_EQ(parse_integer("-3"), -3);
  EXPECT_EQ(parse_integer("2k"), 2000);
  EXPECT_EQ(parse_integer("1M"), 1000000);
  EXPECT_THROW(parse_integer(""), std::invalid_argument);
  EXPECT_THROW(parse_integer("k"), std::invalid_argument);
  EXPECT_THROW(parse_integer("1.5"), std::invalid_argument);
  EXPECT_THROW(parse_integer("99999999999999999999"), std::invalid_argument);
  EXPECT_THROW(parse_integer("9999999999999999M"), std::invalid_argument);
}

TEST(Args, HelpIsPrintedAndStopsTheCommand) {
  Args a = make();
  std::ostringstream out;
  EXPECT_FALSE(a.parse(std::vector<std::string>{"--docs", "3", "--help"}, out));
  EXPECT_NE(out.str().find("usage: colmax try [options]"), std::string::npos);
  EXPECT_NE(out.str().find("--docs N"), std::string::npos);
  EXPECT_NE(out.str().find("--fast"), std::string::npos);
  EXPECT_NE(out.str().find("--help"), std::string::npos);
}

TEST(Args, UsageErrors) {
  EXPECT_NE(usage_error({"--bogus"}).find("unknown option --bogus"), std::string::npos);
  EXPECT_NE(usage_error({"stray"}).find("unexpected argument 'stray'"), std::string::npos);
  EXPECT_NE(usage_error({"--docs"}).find("--docs needs a value (N)"), std::string::npos);
  EXPECT_NE(usage_error({"--fast=1"}).find("--fast takes no value"), std::string::npos);
  EXPECT_NE(usage_error({"--docs", "1", "--docs", "2"}).find("given twice"), std::string::npos);
  EXPECT_NE(usage_error({"--bogus"}).find("colmax try --help"), std::string::npos);
}

TEST(Args, ValueErrors) {
  Args a = make();
  std::ostringstream out;
  ASSERT_TRUE(a.parse(
      std::vector<std::string>{"--docs", "x1", "--rate", "3", "--mode", "c", "--name", "n"}, out));
  EXPECT_THROW(a.integer("docs", 0), UsageError);
  EXPECT_THROW(a.number("rate", 0, 0, 2), UsageError);
  EXPECT_THROW(a.choice("mode", {"a", "b"}, "a"), UsageError);
  EXPECT_THROW(a.required("fast"), UsageError);
  EXPECT_EQ(a.required("name"), "n");
  try {
    a.choice("mode", {"a", "b"}, "a");
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--mode: expected one of a, b, got 'c'"),
              std::string::npos);
  }
  Args b = make();
  ASSERT_TRUE(b.parse(std::vector<std::string>{"--docs", "-1"}, out));
  try {
    b.integer("docs", 0, 1);
    ADD_FAILURE();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--docs: expected an integer >= 1, got -1"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace colmax::cli
