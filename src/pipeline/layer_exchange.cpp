#include "pipeline/layer_exchange.h"

#include <cstring>
#include <string>

#include "core/error.h"

namespace maca::pipeline {
namespace {

class Writer {
 public:
  template <class T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  template <class T>
  void put_vec(const std::vector<T>& v) {
    put<int64_t>(static_cast<int64_t>(v.size()));
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    out.insert(out.end(), p, p + v.size() * sizeof(T));
  }
  std::vector<uint8_t> out;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  template <class T>
  T get() {
    T v;
    std::memcpy(&v, take(sizeof(T)), sizeof(T));
    return v;
  }
  template <class T>
  std::vector<T> get_vec() {
    const auto n = get<int64_t>();
    MACA_CHECK(n >= 0 && static_cast<uint64_t>(n) <= (in_.size() - at_) / sizeof(T),
               "layer exchange: a vector of {} elements does not fit the remaining {} bytes", n, in_.size() - at_);
    std::vector<T> v(static_cast<size_t>(n));
    std::memcpy(v.data(), take(v.size() * sizeof(T)), v.size() * sizeof(T));
    return v;
  }
  bool done() const { return at_ == in_.size(); }

 private:
  const uint8_t* take(size_t n) {
    MACA_CHECK(n <= in_.size() - at_, "layer exchange: truncated buffer ({} bytes, needed {} more at {})", in_.size(),
               n, at_);
    const uint8_t* p = in_.data() + at_;
    at_ += n;
    return p;
  }
  std::span<const uint8_t> in_;
  size_t at_ = 0;
};

}  // namespace

std::vector<uint8_t> pack_layer(const QuantizedLinear& q) {
  Writer w;
  w.put(q.rows), w.put(q.cols), w.put(q.bits), w.put(q.group_size);
  w.put<uint8_t>(q.sym), w.put<uint8_t>(q.act_order), w.put<uint8_t>(q.static_groups);
  w.put_vec(q.codes), w.put_vec(q.scales), w.put_vec(q.zeros), w.put_vec(q.g_idx), w.put_vec(q.perm);
  w.put(q.loss), w.put(q.damp), w.put(q.alpha), w.put_vec(q.alpha_terms);
  w.put_vec(std::vector<char>(q.method.begin(), q.method.end()));
  w.put_vec(std::vector<char>(q.alpha_source.begin(), q.alpha_source.end()));
  return std::move(w.out);
}

QuantizedLinear unpack_layer(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  QuantizedLinear q;
  q.rows = r.get<int64_t>(), q.cols = r.get<int64_t>(), q.bits = r.get<int>(), q.group_size = r.get<int64_t>();
  q.sym = r.get<uint8_t>() != 0, q.act_order = r.get<uint8_t>() != 0, q.static_groups = r.get<uint8_t>() != 0;
  q.codes = r.get_vec<uint8_t>(), q.scales = r.get_vec<float>(), q.zeros = r.get_vec<int32_t>();
  q.g_idx = r.get_vec<int32_t>(), q.perm = r.get_vec<int32_t>();
  q.loss = r.get<double>(), q.damp = r.get<double>(), q.alpha = r.get<double>();
  q.alpha_terms = r.get_vec<double>();
  const std::vector<char> method = r.get_vec<char>();
  q.method.assign(method.begin(), method.end());
  const std::vector<char> source = r.get_vec<char>();
  q.alpha_source.assign(source.begin(), source.end());
  MACA_CHECK(r.done(), "layer exchange: {} trailing bytes", bytes.size());
  MACA_CHECK(static_cast<int64_t>(q.codes.size()) == q.rows * q.cols && q.scales.size() == q.zeros.size() &&
                 static_cast<int64_t>(q.g_idx.size()) == q.cols,
             "layer exchange: inconsistent layer ({}x{}, {} codes, {} scales, {} zeros, {} g_idx)", q.rows, q.cols,
             q.codes.size(), q.scales.size(), q.zeros.size(), q.g_idx.size());
  return q;
}

QuantizedLinear join_row_slices(const std::vector<QuantizedLinear>& slices) {
  const QuantizedLinear* first = nullptr;
  int64_t rows = 0;
  for (const auto& s : slices) {
    if (s.rows == 0) continue;
    if (!first) first = &s;
    MACA_ASSERT(s.cols == first->cols && s.bits == first->bits && s.group_size == first->group_size &&
                    s.sym == first->sym && s.g_idx == first->g_idx && s.perm == first->perm,
                "row slices of one layer disagree on shape, format, groups or act-order permutation");
    rows += s.rows;
  }
  MACA_ASSERT(first != nullptr, "no row slice holds any row");
  QuantizedLinear out = *first;
  out.rows = rows;
  out.loss = 0;
  const int64_t n_groups = first->n_groups();
  out.codes.clear();
  out.alpha_terms.clear();
  out.scales.assign(static_cast<size_t>(n_groups * rows), 0.0f);
  out.zeros.assign(static_cast<size_t>(n_groups * rows), 0);
  int64_t r0 = 0;
  for (const auto& s : slices) {
    if (s.rows == 0) continue;
    out.codes.insert(out.codes.end(), s.codes.begin(), s.codes.end());
    out.alpha_terms.insert(out.alpha_terms.end(), s.alpha_terms.begin(), s.alpha_terms.end());
    for (int64_t g = 0; g < n_groups; ++g)
      for (int64_t r = 0; r < s.rows; ++r) {
        out.scales[static_cast<size_t>(g * rows + r0 + r)] = s.scales[static_cast<size_t>(g * s.rows + r)];
        out.zeros[static_cast<size_t>(g * rows + r0 + r)] = s.zeros[static_cast<size_t>(g * s.rows + r)];
      }
    out.loss += s.loss;
    out.damp = std::max(out.damp, s.damp);
    r0 += s.rows;
  }
  return out;
}

}  // namespace maca::pipeline
