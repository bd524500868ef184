// Marks functions shared by host C++ and CUDA device code.
#pragma once
#if defined(__CUDACC__)
#define MP_HD __host__ __device__ __forceinline__
#else
#define MP_HD inline
#endif
