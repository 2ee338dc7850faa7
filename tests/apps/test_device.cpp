// Device choice and the host side of Arena.
#include "device.hpp"

#include <gtest/gtest.h>

namespace colmax::cli {
namespace {

TEST(Device, ChoiceFollowsTheBuild) {
  const bool gpu = cuda_built() && !cuda_devices().empty();
  EXPECT_EQ(choose_device("auto").kind, gpu ? DeviceKind::cuda : DeviceKind::cpu);
  EXPECT_EQ(choose_device("cpu").kind, DeviceKind::cpu);
  EXPECT_THROW(choose_device("tpu"), std::runtime_error);
  if (!cuda_built()) {
    try {
      choose_device("cuda");
      ADD_FAILURE();
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("built without CUDA"), std::string::npos);
    }
  } else if (gpu) {
    EXPECT_THROW(choose_device("cuda:999"), std::runtime_error);
    EXPECT_THROW(choose_device("cuda:x"), std::runtime_error);
  }
  EXPECT_NE(describe_device(Device{}, 3).find("cpu ("), std::string::npos);
  EXPECT_NE(describe_device(Device{}, 3).find("3 threads"), std::string::npos);
}

TEST(Device, HostArena) {
  Arena arena(Device{});
  EXPECT_FALSE(arena.on_gpu());
  std::vector<float> host{1, 2, 3, 4, 5, 6};
  const TensorView h(host.data(), DType::float32, {2, 3});
  EXPECT_EQ(arena.upload(h).data(), host.data());  // the CPU reads host memory directly
  EXPECT_FALSE(arena.upload(TensorView()).present());
  const TensorView t = arena.allocate(DType::float32, {2, 3});
  arena.copy_in(host.data(), t);
  std::vector<float> back(6);
  arena.download(t, back.data());
  arena.synchronize();
  EXPECT_EQ(back, host);
  const TensorView empty = arena.allocate(DType::int64, {0});
  arena.download(empty, nullptr);
}

}  // namespace
}  // namespace colmax::cli
