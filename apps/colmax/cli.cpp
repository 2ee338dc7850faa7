// Dispatch to the subcommands, and the one place where errors become messages and exit codes.
#include "cli.hpp"

#include <new>
#include <stdexcept>

#include "args.hpp"
#include "colmax/colmax.hpp"
#include "commands/commands.hpp"

namespace colmax::cli {
namespace {

struct Command {
  const char* name;
  int (*run)(std::span<const std::string>, Streams);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"demo", demo_command,
     "synthetic corpus, top-k retrieval, self-check, throughput and speedup over naive"},
    {"score", score_command, "MaxSim scores of .npy queries against .npy documents"},
    {"topk", topk_command, "top-k documents per query from .npy files"},
    {"bench", bench_command, "benchmark table for named or custom shapes"},
    {"info", info_command, "version, SIMD level, threads, CUDA architectures and GPUs"},
};

void usage(std::ostream& out) {
  out << "usage: colmax <command> [options]\n\n"
         "Fused late-interaction (MaxSim) scoring.\n\ncommands:\n";
  for (const Command& c : kCommands) {
    out << "  " << c.name << std::string(8 - std::string(c.name).size(), ' ') << c.summary << "\n";
  }
  out << "\n'colmax <command> --help' describes a command's options.\n";
}

}  // namespace

int run(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    usage(args.empty() ? err : out);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    out << "colmax " << version() << "\n";
    return 0;
  }
  const std::string name = args[0];
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(args.subspan(1), Streams{out, err});
    } catch (const UsageError& e) {
      err << e.what() << "\n";
      return 2;
    } catch (const std::bad_alloc&) {
      err << "colmax " << name << ": error: out of memory\n";
    } catch (const std::exception& e) {
      err << "colmax " << name << ": error: " << e.what() << "\n";
    } catch (...) {
      err << "colmax " << name << ": error: unknown exception\n";
    }
    return 1;
  }
  err << "colmax: unknown command '" << name << "'\n\n";
  usage(err);
  return 2;
}

}  // namespace colmax::cli
