// Device selection and contexts: CPU always; CUDA asked for where it cannot
// run is a clear error, never a crash.
#include <gtest/gtest.h>

#include "backend/context.h"
#include "backend/op_table.h"
#include "core/error.h"

using namespace maca;

TEST(Context, ParseDevice) {
  EXPECT_EQ(backend::parse_device("cpu"), Device::cpu());
  EXPECT_EQ(backend::parse_device("cuda"), Device::cuda(0));
  EXPECT_EQ(backend::parse_device("cuda:3"), Device::cuda(3));
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", ""}) EXPECT_THROW(backend::parse_device(bad), Error) << bad;
}

TEST(Context, CpuContextIsHostMemory) {
  const auto ctx = backend::Context::create(Device::cpu());
  const Tensor t = ctx->empty({3, 4});
  EXPECT_TRUE(t.device().is_cpu());
  EXPECT_EQ(ctx->stream(), nullptr);
}

TEST(Context, CudaWithoutAGpuIsAClearError) {
  if (backend::cuda_device_count() > 0) GTEST_SKIP() << "a GPU is visible";
  try {
    backend::Context::create(Device::cuda(0));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    const std::string want = backend::built_with_cuda() ? "0 CUDA device(s) are visible" : "without the CUDA backend";
    EXPECT_NE(msg.find(want), std::string::npos) << msg;
    EXPECT_NE(msg.find("--device cpu"), std::string::npos) << msg;
  }
}

TEST(Context, CpuBackendImplementsEveryOp) {
  const auto ctx = backend::Context::create(Device::cpu());
  EXPECT_STREQ(ctx->ops().backend, "cpu");
  const auto ops = backend::op_support(ctx->ops());
  // One name per function pointer of the table (its other member is the backend's name).
  EXPECT_EQ(ops.size(), (sizeof(backend::OpTable) - sizeof(const char*)) / sizeof(void (*)()));
  EXPECT_EQ(ops.size(), 27u);
  for (const auto& s : ops) EXPECT_TRUE(s.supported) << s.op;
  EXPECT_TRUE(backend::supports(*ctx, "attention_cached"));
  EXPECT_THROW(backend::supports(*ctx, "no_such_op"), Error);
}

TEST(Context, JobDevice) {
  EXPECT_EQ(backend::job_device("cpu", "quantize"), Device::cpu());
  EXPECT_EQ(backend::job_device("cuda:1", "eval"), Device::cuda(1));
  EXPECT_THROW(backend::job_device("gpu", "eval"), Error);
  // Until the CUDA path has passed its GPU check, auto computes on the CPU (with a GPU visible or not).
  EXPECT_EQ(backend::job_device("auto", "quantize"), Device::cpu());
}

TEST(Context, EveryBackendBuiltHasEveryOp) {
  for (const DeviceKind kind : {DeviceKind::Cpu, DeviceKind::Cuda}) {
    const backend::OpTable* t = backend::backend_ops(kind);
    if (!t) continue;  // not built
    for (const auto& s : backend::op_support(*t)) EXPECT_TRUE(s.supported) << t->backend << ": " << s.op;
  }
  EXPECT_EQ(backend::backend_ops(DeviceKind::Cuda) != nullptr, backend::built_with_cuda());
}
