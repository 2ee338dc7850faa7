// Helpers for the command-line tests: a temporary folder, running `colmax` in-process, and
// writing arrays as .npy files.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "npy.hpp"

namespace colmax::cli::test {

// A fresh folder under the system temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("colmax_cli_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct CliResult {
  int code = -1;
  std::string out, err;
};

inline CliResult run_cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  CliResult r;
  r.code = run(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

template <class T>
void save(const std::string& path, NpyType type, std::vector<int64_t> shape,
          const std::vector<T>& values) {
  write_npy(path, type, shape, std::as_bytes(std::span<const T>(values)));
}

template <class T>
std::vector<T> values_of(const NpyArray& a) {
  return std::vector<T>(a.as<T>(), a.as<T>() + a.numel());
}

inline std::string data_file(const std::string& name) {
  return std::string(COLMAX_TEST_DATA_DIR) + "/" + name;
}

}  // namespace colmax::cli::test
