// A growable, uninitialised, 64-byte aligned scratch buffer: packed query panels and
// converted document rows live in these so that vector loads never split a cache line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace colmax::detail::cpu {

template <class T>
class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  T* data() noexcept { return ptr_.get(); }
  const T* data() const noexcept { return ptr_.get(); }
  size_t size() const noexcept { return size_; }

  // Makes room for n elements; the contents are lost when it grows.
  T* reserve(size_t n) {
    if (n > size_) {
      ptr_.reset(static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kAlignment))));
      size_ = n;
    }
    return ptr_.get();
  }

 private:
  struct Free {
    void operator()(T* p) const noexcept { ::operator delete(p, std::align_val_t(kAlignment)); }
  };
  std::unique_ptr<T, Free> ptr_;
  size_t size_ = 0;
};

}  // namespace colmax::detail::cpu
