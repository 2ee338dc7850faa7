// commands.hpp — the subcommands of `colmax`. Each takes the words after its name and
// returns the process exit code; errors are thrown (see cli.cpp for how they are reported).
#pragma once

#include <ostream>
#include <span>
#include <string>

namespace colmax::cli {

struct Streams {
  std::ostream& out;  // results
  std::ostream& err;  // progress, notes
};

int demo_command(std::span<const std::string> args, Streams io);
int score_command(std::span<const std::string> args, Streams io);
int topk_command(std::span<const std::string> args, Streams io);
int bench_command(std::span<const std::string> args, Streams io);
int info_command(std::span<const std::string> args, Streams io);

}  // namespace colmax::cli
