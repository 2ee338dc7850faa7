// The built `colmax` executable: exit codes seen by a shell, and no crash on bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli_test_util.hpp"

namespace colmax::cli::test {
namespace {

struct ProcessResult {
  int code = -1;
  bool signalled = false;
  std::string out, err;
};

ProcessResult run_binary(const std::string& args, const TempDir& dir) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const std::string cmd =
      std::string("'") + COLMAX_EXECUTABLE + "' " + args + " >'" + out + "' 2>'" + err + "'";
  const int status = std::system(cmd.c_str());
  ProcessResult r;
  r.signalled = WIFSIGNALED(status);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

TEST(Executable, InfoSucceeds) {
  TempDir dir;
  const ProcessResult r = run_binary("info", dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("cpu simd:"), std::string::npos);
}

TEST(Executable, BadFilesFailCleanly) {
  TempDir dir;
  {
    std::ofstream f(dir.file("bad.npy"));
    f << "\x93NUMPY\x01";
  }
  const ProcessResult r =
      run_binary("score --queries '" + dir.file("bad.npy") + "' --docs x --out y", dir);
  EXPECT_FALSE(r.signalled);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.npy: truncated"), std::string::npos) << r.err;
  const ProcessResult u = run_binary("score --nope", dir);
  EXPECT_FALSE(u.signalled);
  EXPECT_EQ(u.code, 2);
}

TEST(Executable, SmallDemo) {
  TempDir dir;
  const ProcessResult r =
      run_binary("demo --docs 200 --queries 2 --naive-docs 10 --progress plain", dir);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("self-check passed"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace colmax::cli::test
