// CUDA context on a real GPU: device memory round trip through the context's
// stream. Skips at run time when no GPU is visible (label gpu).
#include <gtest/gtest.h>

#include "backend/context.h"

using namespace maca;

TEST(CudaContext, HostDeviceRoundTrip) {
  if (backend::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  const auto ctx = backend::Context::create(Device::cuda(0));
  EXPECT_NE(ctx->stream(), nullptr);
  EXPECT_NE(ctx->blas_handle(), nullptr);
  Tensor host = Tensor::empty({5, 7});
  for (int i = 0; i < 35; ++i) host.data<float>()[i] = static_cast<float>(i) * 0.5f;
  const Tensor dev = ctx->to_device(host);
  EXPECT_EQ(dev.device(), Device::cuda(0));
  const Tensor back = ctx->to_host(dev);
  for (int i = 0; i < 35; ++i) EXPECT_EQ(back.data<float>()[i], host.data<float>()[i]);
}
