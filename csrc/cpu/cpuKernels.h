// The CPU kernels of core/backend.h's MP_BACKEND_KERNELS, declared from that list: every
// *Kernels.cpp file includes this header, so a definition whose signature drifts from its line
// fails to compile or link instead of overloading it.
#pragma once
#include "../core/backend.h"

namespace mp::cpu {

#define MP_CPU_KERNEL_DECLARE(name, params, args) void name params;
MP_BACKEND_KERNELS(MP_CPU_KERNEL_DECLARE)
#undef MP_CPU_KERNEL_DECLARE

}  // namespace mp::cpu
