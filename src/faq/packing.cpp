#include "faq/packing.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace maca::faq {

PackResult pack(const PackInput& in) {
  MACA_ASSERT(in.seq_len > 0 && in.mix >= 0 && in.mix <= 1, "pack: seq_len {} mix {}", in.seq_len, in.mix);
  PackResult r;
  const auto n_orig = static_cast<int64_t>(in.originals.size());
  if (in.concat) {
    const auto want = static_cast<int64_t>(std::llround(static_cast<double>(n_orig) * (1.0 - in.mix)));
    std::vector<int32_t> stream;
    for (const calib::CalibSample& w : in.winners) stream.insert(stream.end(), w.tokens.begin(), w.tokens.end());
    const int64_t windows = std::min<int64_t>(want, static_cast<int64_t>(stream.size()) / in.seq_len);
    for (int64_t i = 0; i < windows; ++i) {
      calib::CalibSample s;
      s.tokens.assign(stream.begin() + i * in.seq_len, stream.begin() + (i + 1) * in.seq_len);
      s.kind = "regenerated";
      r.samples.push_back(std::move(s));
    }
    r.regenerated = windows;
    r.shortfall = want - windows;
    // Originals: the mixed-in share and any shortfall, from the end of the
    // original set (the regenerated windows came from its first sources).
    for (int64_t i = windows; i < n_orig; ++i) r.samples.push_back(in.originals[i]);
    r.original = n_orig - windows;
  } else {
    for (const calib::CalibSample& w : in.winners) {
      calib::CalibSample s = w;
      if (static_cast<int64_t>(s.tokens.size()) > in.seq_len) s.tokens.resize(static_cast<size_t>(in.seq_len));
      r.samples.push_back(std::move(s));
    }
    r.regenerated = static_cast<int64_t>(r.samples.size());
    const int64_t extra =
        in.mix >= 1
            ? n_orig
            : std::min<int64_t>(n_orig, std::llround(static_cast<double>(r.regenerated) * in.mix / (1.0 - in.mix)));
    if (in.mix >= 1) r.samples.clear(), r.regenerated = 0;
    for (int64_t i = 0; i < extra; ++i) r.samples.push_back(in.originals[i]);
    r.original = extra;
  }
  double mean = 0;
  for (const calib::CalibSample& s : r.samples) mean += static_cast<double>(s.tokens.size());
  mean /= std::max<size_t>(r.samples.size(), 1);
  for (calib::CalibSample& s : r.samples) s.weight = in.normalize ? mean / static_cast<double>(s.tokens.size()) : 1.0;
  return r;
}

}  // namespace maca::faq
