// ggml block formats to fp32. Each kernel mirrors gguf-py's NumPy code
// (gguf/quants.py) operation by operation: fp16 scales are widened to fp32
// first, products such as d*sc are rounded to fp32 before they meet the code,
// and every multiply and subtract is its own statement so no compiler fuses
// them into an FMA. That is what makes the results bit-identical.
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "io/gguf.h"

namespace maca::io {
namespace {

constexpr int kQK = 32;    // block size of the legacy quants
constexpr int kQKK = 256;  // block size of the K-quants

struct TypeTraits {
  int block_size;
  int type_size;
};

// {0, 0} for types maca cannot dequantize.
TypeTraits traits(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return {1, 4};
    case GgmlType::F16: return {1, 2};
    case GgmlType::BF16: return {1, 2};
    case GgmlType::Q4_0: return {kQK, 2 + 16};
    case GgmlType::Q4_1: return {kQK, 2 + 2 + 16};
    case GgmlType::Q5_0: return {kQK, 2 + 4 + 16};
    case GgmlType::Q5_1: return {kQK, 2 + 2 + 4 + 16};
    case GgmlType::Q8_0: return {kQK, 2 + 32};
    case GgmlType::Q2_K: return {kQKK, 16 + 64 + 2 + 2};
    case GgmlType::Q3_K: return {kQKK, 32 + 64 + 12 + 2};
    case GgmlType::Q4_K: return {kQKK, 2 + 2 + 12 + 128};
    case GgmlType::Q5_K: return {kQKK, 2 + 2 + 12 + 32 + 128};
    case GgmlType::Q6_K: return {kQKK, 128 + 64 + 16 + 2};
    default: return {0, 0};
  }
}

float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// out = d * q, for signed or unsigned integer codes.
inline float scaled(float d, int q) { return d * static_cast<float>(q); }

// out = d * q - m (gguf-py: `d * q - dm`), the product rounded first.
inline float scaled_minus(float d, int q, float m) {
  const float prod = d * static_cast<float>(q);
  return prod - m;
}

// out = d * q + m (gguf-py: `(d * qs) + m`).
inline float scaled_plus(float d, int q, float m) {
  const float prod = d * static_cast<float>(q);
  return prod + m;
}

void deq_q4_0(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = scaled(d, (qs[j] & 0x0F) - 8);
    y[j + 16] = scaled(d, (qs[j] >> 4) - 8);
  }
}

void deq_q4_1(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const float m = load_f16(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = scaled_plus(d, qs[j] & 0x0F, m);
    y[j + 16] = scaled_plus(d, qs[j] >> 4, m);
  }
}

// Q5_0/Q5_1: 4 bytes of high bits (bit i for value i), then 16 bytes of nibbles.
int q5_code(const uint8_t* qh_bytes, const uint8_t* qs, int i) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  const int lo = i < 16 ? (qs[i] & 0x0F) : (qs[i - 16] >> 4);
  return lo | static_cast<int>(((qh >> i) & 1u) << 4);
}

void deq_q5_0(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  for (int i = 0; i < kQK; ++i) y[i] = scaled(d, q5_code(b + 2, b + 6, i) - 16);
}

void deq_q5_1(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const float m = load_f16(b + 2);
  for (int i = 0; i < kQK; ++i) y[i] = scaled_plus(d, q5_code(b + 4, b + 8, i), m);
}

void deq_q8_0(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  for (int i = 0; i < kQK; ++i) y[i] = scaled(d, static_cast<int8_t>(b[2 + i]));
}

void deq_q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = load_f16(b + 80);
  const float dmin = load_f16(b + 82);
  for (int e = 0; e < kQKK; ++e) {
    const int half = e / 128, shift = (e / 32) % 4, l = e % 32;
    const int q = (qs[half * 32 + l] >> (2 * shift)) & 3;
    const int g = e / 16;
    const float dl = scaled(d, scales[g] & 0x0F);
    const float ml = scaled(dmin, scales[g] >> 4);
    y[e] = scaled_minus(dl, q, ml);
  }
}

void deq_q3_k(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* sc = b + 96;
  const float d = load_f16(b + 108);
  float dl[16];
  for (int j = 0; j < 16; ++j) {
    const int lo = (sc[j % 8] >> (4 * (j / 8))) & 0x0F;
    const int hi = (sc[8 + j % 4] >> (2 * (j / 4))) & 0x03;
    dl[j] = scaled(d, static_cast<int8_t>(lo | (hi << 4)) - 32);
  }
  for (int e = 0; e < kQKK; ++e) {
    const int half = e / 128, shift = (e / 32) % 4, l = e % 32;
    const int ql = (qs[half * 32 + l] >> (2 * shift)) & 3;
    const int qh = ((hmask[l] >> (e / 32)) & 1) ^ 1;
    y[e] = scaled(dl[e / 16], ql - (qh << 2));
  }
}

// The 12-byte packed 6-bit scales and mins of Q4_K and Q5_K.
void k_scale_min(const uint8_t* s, int sc[8], int mn[8]) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 0x3F;
    mn[j] = s[4 + j] & 0x3F;
    sc[4 + j] = (s[8 + j] & 0x0F) | ((s[j] >> 2) & 0x30);
    mn[4 + j] = (s[8 + j] >> 4) | ((s[4 + j] >> 2) & 0x30);
  }
}

// Q4_K and Q5_K share everything but the fifth bit (qh null for Q4_K).
void deq_q45_k(const uint8_t* b, const uint8_t* qh, const uint8_t* qs, float* y) {
  const float d = load_f16(b);
  const float dmin = load_f16(b + 2);
  int sc[8], mn[8];
  k_scale_min(b + 4, sc, mn);
  for (int sb = 0; sb < 8; ++sb) {
    const float ds = scaled(d, sc[sb]);
    const float ms = scaled(dmin, mn[sb]);
    const int chunk = sb / 2, shift = 4 * (sb % 2);
    for (int l = 0; l < 32; ++l) {
      int q = (qs[chunk * 32 + l] >> shift) & 0x0F;
      if (qh) q |= ((qh[l] >> sb) & 1) << 4;
      y[sb * 32 + l] = scaled_minus(ds, q, ms);
    }
  }
}

void deq_q4_k(const uint8_t* b, float* y) { deq_q45_k(b, nullptr, b + 16, y); }
void deq_q5_k(const uint8_t* b, float* y) { deq_q45_k(b, b + 16, b + 48, y); }

void deq_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = load_f16(b + 208);
  for (int e = 0; e < kQKK; ++e) {
    const int half = e / 128, r = e % 128;
    const int lo = (ql[half * 64 + r % 64] >> (4 * (r / 64))) & 0x0F;
    const int hi = (qh[half * 32 + r % 32] >> (2 * (r / 32))) & 0x03;
    y[e] = scaled(scaled(d, scales[e / 16]), (lo | (hi << 4)) - 32);
  }
}

using BlockFn = void (*)(const uint8_t*, float*);

BlockFn block_fn(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_0: return deq_q4_0;
    case GgmlType::Q4_1: return deq_q4_1;
    case GgmlType::Q5_0: return deq_q5_0;
    case GgmlType::Q5_1: return deq_q5_1;
    case GgmlType::Q8_0: return deq_q8_0;
    case GgmlType::Q2_K: return deq_q2_k;
    case GgmlType::Q3_K: return deq_q3_k;
    case GgmlType::Q4_K: return deq_q4_k;
    case GgmlType::Q5_K: return deq_q5_k;
    case GgmlType::Q6_K: return deq_q6_k;
    default: return nullptr;
  }
}

}  // namespace

const char* ggml_type_name(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return "F32";
    case GgmlType::F16: return "F16";
    case GgmlType::Q4_0: return "Q4_0";
    case GgmlType::Q4_1: return "Q4_1";
    case GgmlType::Q5_0: return "Q5_0";
    case GgmlType::Q5_1: return "Q5_1";
    case GgmlType::Q8_0: return "Q8_0";
    case GgmlType::Q8_1: return "Q8_1";
    case GgmlType::Q2_K: return "Q2_K";
    case GgmlType::Q3_K: return "Q3_K";
    case GgmlType::Q4_K: return "Q4_K";
    case GgmlType::Q5_K: return "Q5_K";
    case GgmlType::Q6_K: return "Q6_K";
    case GgmlType::Q8_K: return "Q8_K";
    case GgmlType::BF16: return "BF16";
  }
  return "unknown";
}

bool ggml_type_supported(GgmlType t) { return traits(t).block_size != 0; }

int ggml_block_size(GgmlType t) {
  const TypeTraits tt = traits(t);
  if (tt.block_size == 0)
    MACA_THROW(FileError, "ggml type {} (id {}) is not supported by maca", ggml_type_name(t), static_cast<uint32_t>(t));
  return tt.block_size;
}

uint64_t ggml_nbytes(GgmlType type, int64_t n) {
  const int bs = ggml_block_size(type);
  if (n < 0 || n % bs != 0)
    MACA_THROW(FileError, "{} values of ggml type {} are not a whole number of {}-value blocks", n,
               ggml_type_name(type), bs);
  return static_cast<uint64_t>(n / bs) * static_cast<uint64_t>(traits(type).type_size);
}

void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  ggml_nbytes(type, n);  // validates type and length
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = load_f16(src + 2 * i);
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    default: break;
  }
  const TypeTraits tt = traits(type);
  const BlockFn fn = block_fn(type);
  for (int64_t b = 0; b < n / tt.block_size; ++b) fn(src + b * tt.type_size, dst + b * tt.block_size);
}

}  // namespace maca::io
