#include <gtest/gtest.h>

#include "core/error.h"
#include "core/tensor.h"

using namespace maca;

TEST(Tensor, EmptyZerosAndShape) {
  Tensor t = Tensor::zeros({2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(t.dim(-1), 3);
  EXPECT_EQ(t.str(), "f32[2, 3] cpu");
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
}

TEST(Tensor, SliceRowsSharesStorage) {
  Tensor t = Tensor::zeros({4, 2});
  Tensor s = t.slice_rows(1, 3);
  s.data<float>()[0] = 5.0f;
  EXPECT_EQ(t.data<float>()[2], 5.0f);
  EXPECT_EQ(s.dim(0), 2);
}

TEST(Tensor, WrongDtypeAccessIsAnInternalError) {
  Tensor t = Tensor::zeros({2}, DType::I32);
  EXPECT_THROW(t.data<float>(), std::logic_error);
}

TEST(Tensor, BadReshapeThrows) {
  Tensor t = Tensor::zeros({2, 3});
  EXPECT_THROW(t.reshape({4, 2}), std::logic_error);
  EXPECT_EQ(t.reshape({3, 2}).dim(0), 3);
}
