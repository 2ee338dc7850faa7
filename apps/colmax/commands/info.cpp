// `colmax info`: what this build and this machine offer.
#include <cstdio>
#include <cstdlib>

#include "../args.hpp"
#include "colmax/colmax.hpp"
#include "commands.hpp"

namespace colmax::cli {

int info_command(std::span<const std::string> argv, Streams io) {
  Args args("info", "",
            "Prints the version, the CPU SIMD level in use, the default thread count, "
            "the CUDA architectures built in and the GPUs visible.",
            {});
  if (!args.parse(argv, io.out)) return 0;

  io.out << "colmax " << version() << "\n";
  io.out << "cpu simd:     " << cpu_simd_level();
  if (const char* forced = std::getenv("COLMAX_SIMD")) io.out << " (COLMAX_SIMD=" << forced << ")";
  io.out << "\n";
  io.out << "cpu threads:  " << default_num_threads();
  if (const char* env = std::getenv("COLMAX_NUM_THREADS")) {
    io.out << " (COLMAX_NUM_THREADS=" << env << ")";
  }
  io.out << "\n";
  io.out << "cuda:         ";
  if (!cuda_built()) {
    io.out << "not built in\n";
  } else {
    const auto archs = cuda_archs();
    for (size_t i = 0; i < archs.size(); ++i) io.out << (i ? ", " : "") << archs[i];
    io.out << "\n";
  }
  const auto gpus = cuda_devices();
  io.out << (gpus.empty() ? "gpus:         none visible\n" : "gpus:\n");
  for (const GpuInfo& g : gpus) {
    char mem[32];
    std::snprintf(mem, sizeof mem, "%.1f GiB", double(g.memory_bytes) / (1 << 30));
    io.out << "  cuda:" << g.id << "  " << g.name << ", sm_" << g.compute_capability << ", "
           << g.multiprocessors << " SMs, " << mem << "\n";
  }
  return 0;
}

}  // namespace colmax::cli
