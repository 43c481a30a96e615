# CUDA is optional: AUTO enables it when nvcc is found, ON requires it, OFF skips
# it. The CUDA backend is its own library target (maca_kernels_cuda), built only
# when enabled; MACA_HAVE_CUDA is a compile definition of the dispatch sources
# only, never of public headers.
set(MACA_CUDA_ENABLED OFF)
if(NOT MACA_WITH_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # nvcc has compiled C++20 since CUDA 12, but CMake 3.25 does not know its
    # flag: tell it, so targets get the project's C++20 for device code too.
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(MACA_CUDA_ENABLED ON)
  elseif(MACA_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "MACA_WITH_CUDA=ON but no CUDA compiler (nvcc) was found. "
                        "Install the CUDA toolkit or configure with -DMACA_WITH_CUDA=OFF.")
  endif()
endif()
set(MACA_NCCL_ENABLED OFF)
if(MACA_CUDA_ENABLED AND NOT MACA_WITH_NCCL STREQUAL "OFF")
  find_library(MACA_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  find_path(MACA_NCCL_INCLUDE nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  if(MACA_NCCL_LIBRARY AND MACA_NCCL_INCLUDE)
    set(MACA_NCCL_ENABLED ON)
  elseif(MACA_WITH_NCCL STREQUAL "ON")
    message(FATAL_ERROR "MACA_WITH_NCCL=ON but nccl.h/libnccl were not found.")
  endif()
endif()
message(STATUS "maca: CUDA backend ${MACA_CUDA_ENABLED}, NCCL ${MACA_NCCL_ENABLED}, MPI ${MACA_WITH_MPI}")
