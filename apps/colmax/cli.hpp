// cli.hpp — the `colmax` command line as a function, so tests can run it in-process.
#pragma once

#include <ostream>
#include <span>
#include <string>

namespace colmax::cli {

// Runs `colmax args...` (args exclude the program name). Returns the exit code: 0 success,
// 1 an error (bad input file, failed self-check, colmax::Error), 2 a usage error. Never
// throws.
int run(std::span<const std::string> args, std::ostream& out, std::ostream& err);

}  // namespace colmax::cli
