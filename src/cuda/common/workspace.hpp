// Scratch device memory for calls that need it (retrieve): the caller's Options::workspace
// when given, else a cached buffer per (device, stream) that only grows. Growing allocates
// (cudaFree of the old buffer synchronises the device), so it happens on the first calls of a
// new size only; a call that would grow the pool while the stream is being captured into a
// CUDA graph throws instead, asking for Options::workspace or a warm-up call.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "colmax/options.hpp"

namespace colmax::cuda {

// Returns `bytes` of device memory valid for work enqueued on `stream` by this call.
void* acquire_workspace(const Workspace& given, size_t bytes, int device, cudaStream_t stream,
                        const char* fn);

}  // namespace colmax::cuda
