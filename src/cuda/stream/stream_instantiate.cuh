// The tables of stream_kernel and stream_tma_kernel instantiations for one element type, one entry
// per compiled embedding width (kStreamKSteps).
#pragma once

#include <utility>

#include "cuda/stream/stream_kernel.cuh"
#include "cuda/stream/stream_kernels.hpp"
#include "cuda/stream/stream_tma_kernel.cuh"
#include "cuda/stream/stream_wg_kernel.cuh"
#include "cuda/stream/stream_wgq_kernel.cuh"

namespace colmax::cuda {

template <Elem E, int... I>
const void* stream_kernel_table(int ks_index, std::integer_sequence<int, I...>) {
  static const void* const table[] = {
      reinterpret_cast<const void*>(&stream::stream_kernel<E, kStreamKSteps[I]>)...};
  return table[ks_index >= 0 && ks_index < kNumStreamKSteps ? ks_index : 0];
}

template <Elem E, int... I>
const void* stream_tma_kernel_table(int ks_index, std::integer_sequence<int, I...>) {
  static const void* const table[] = {
      reinterpret_cast<const void*>(&stream::stream_tma_kernel<E, kStreamKSteps[I], false>)...};
  return table[ks_index >= 0 && ks_index < kNumStreamKSteps ? ks_index : 0];
}

// The winners variant, for the wgmma kernels' widths (training's forward runs on those).
template <Elem E, int... I>
const void* stream_tma_winners_kernel_table(int wg_index, std::integer_sequence<int, I...>) {
  static const void* const table[] = {
      reinterpret_cast<const void*>(&stream::stream_tma_kernel<E, kWgKSteps[I], true>)...};
  return table[wg_index >= 0 && wg_index < kNumWgKSteps ? wg_index : 0];
}

template <Elem E, bool kW, int G, int... I>
const void* stream_wg_kernel_table(int wg_index, std::integer_sequence<int, I...>) {
  static const void* const table[] = {
      reinterpret_cast<const void*>(&stream::stream_wg_kernel<E, kWgKSteps[I], kW, G>)...};
  return table[wg_index >= 0 && wg_index < kNumWgKSteps ? wg_index : 0];
}

template <Elem E, bool kW, int G = 1>
const void* instantiate_stream_wg_kernels(int wg_index) {
  return stream_wg_kernel_table<E, kW, G>(wg_index,
                                          std::make_integer_sequence<int, kNumWgKSteps>{});
}

template <Elem E, bool kW, int NB, int... I>
const void* stream_wgq_kernel_table(int wg_index, std::integer_sequence<int, I...>) {
  static const void* const table[] = {reinterpret_cast<const void*>(
      &stream::stream_wgq_kernel<E, kWgKSteps[I], kW, kWgqWarpgroups, NB>)...};
  return table[wg_index >= 0 && wg_index < kNumWgKSteps ? wg_index : 0];
}

template <Elem E, bool kW, int NB = 1>
const void* instantiate_stream_wgq_kernels(int wg_index) {
  return stream_wgq_kernel_table<E, kW, NB>(wg_index,
                                            std::make_integer_sequence<int, kNumWgKSteps>{});
}

template <Elem E>
const void* instantiate_stream_kernels(int ks_index) {
  return stream_kernel_table<E>(ks_index, std::make_integer_sequence<int, kNumStreamKSteps>{});
}

template <Elem E>
const void* instantiate_stream_tma_kernels(int ks_index) {
  return stream_tma_kernel_table<E>(ks_index, std::make_integer_sequence<int, kNumStreamKSteps>{});
}

template <Elem E>
const void* instantiate_stream_tma_winners_kernels(int wg_index) {
  return stream_tma_winners_kernel_table<E>(wg_index,
                                            std::make_integer_sequence<int, kNumWgKSteps>{});
}

}  // namespace colmax::cuda
