#include "cuda/forward.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace colmax::cuda {
namespace {

ForwardFamily initial_family() {
  const char* env = std::getenv("COLMAX_CUDA_KERNEL");
  if (env == nullptr) return ForwardFamily::automatic;
  if (std::strcmp(env, "tile") == 0) return ForwardFamily::tile;
  if (std::strcmp(env, "stream") == 0) return ForwardFamily::stream;
  if (std::strcmp(env, "stream-registers") == 0) return ForwardFamily::stream_registers;
  if (std::strcmp(env, "stream-wgmma") == 0) return ForwardFamily::stream_wgmma;
  return ForwardFamily::automatic;
}

std::atomic<ForwardFamily>& family_state() {
  static std::atomic<ForwardFamily> f{initial_family()};
  return f;
}

std::atomic<uint64_t> stream_launches{0};

}  // namespace

uint64_t stream_launch_count() {
  return stream_launches.load();
}

void set_forward_family(ForwardFamily f) {
  family_state().store(f);
}

ForwardFamily forward_family() {
  return family_state().load();
}

ForwardLaunch run_forward(const ProblemView& v, bool exact_fp32, int device, cudaStream_t stream,
                          const char* fn) {
  ForwardLaunch L;
  const ForwardFamily f = forward_family();
  if ((f == ForwardFamily::stream_wgmma || f == ForwardFamily::automatic) &&
      tile_override().shape < 0 && wg_available(device) && wg_plan(v, L.stream_launch) &&
      (L.stream_launch.preferred || f == ForwardFamily::stream_wgmma)) {
    L.stream = true;
    stream_launches.fetch_add(1, std::memory_order_relaxed);
    L.stream_launch = run_stream(v, L.stream_launch, true, device, stream, fn);
    return L;
  }
  L.stream_launch = StreamLaunch{};
  if (f != ForwardFamily::tile && tile_override().shape < 0 && stream_plan(v, L.stream_launch) &&
      (L.stream_launch.preferred || f != ForwardFamily::automatic)) {
    L.stream = true;
    stream_launches.fetch_add(1, std::memory_order_relaxed);
    L.stream_launch =
        run_stream(v, L.stream_launch, f != ForwardFamily::stream_registers, device, stream, fn);
    return L;
  }
  L.tile_launch = run_tile(v, exact_fp32, device, stream, fn);
  return L;
}

}  // namespace colmax::cuda
