// colmax/colmax.hpp — everything public, in one include.
#pragma once

#include "colmax/backward.hpp"
#include "colmax/error.hpp"
#include "colmax/maxsim.hpp"
#include "colmax/options.hpp"
#include "colmax/retrieve.hpp"
#include "colmax/runtime.hpp"
#include "colmax/tensor.hpp"
