#include "checkpoint/block_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "checkpoint/durable.h"
#include "checkpoint/h5.h"
#include "core/error.h"

namespace maca::checkpoint {

namespace {

constexpr std::string_view kPrefix = "block-";
constexpr std::string_view kSuffix = ".h5";
constexpr std::string_view kTmpSuffix = ".h5.tmp";
// No real layer dimension comes near this; a larger one is damage.
constexpr int64_t kMaxDim = int64_t{1} << 24;

// MACA_FAULT_CHECKPOINT (see block_file.h).
struct Fault {
  enum Kind { None, NoSpace, Kill } kind = None;
  int block = -1;
};

Fault fault_from_env() {
  const char* value = std::getenv("MACA_FAULT_CHECKPOINT");
  if (value == nullptr || *value == '\0') return {};
  const std::string_view text(value);
  if (text == "enospc") return {Fault::NoSpace};
  if (text.starts_with("kill:")) {
    const std::string_view number = text.substr(5);
    int block = -1;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), block);
    if (ec == std::errc() && end == number.data() + number.size() && !number.empty()) return {Fault::Kill, block};
  }
  MACA_THROW(Error, "MACA_FAULT_CHECKPOINT='{}' is not understood; use enospc or kill:<block>", text);
}

// Called with the temporary file partly written.
void fault_point(const Fault& fault, hid_t file, int block) {
  const bool kill = fault.kind == Fault::Kill && fault.block == block;
  if (!kill && fault.kind != Fault::NoSpace) return;
  h5::check(H5Fflush(file, H5F_SCOPE_LOCAL), "cannot flush the file");  // the partial block reaches the file
  if (kill) std::raise(SIGKILL);
  MACA_THROW(Error, "{} (simulated by MACA_FAULT_CHECKPOINT=enospc)", std::strerror(ENOSPC));
}

void write_layer(hid_t file, const std::string& name, const QuantizedLinear& q) {
  MACA_ASSERT(!name.empty() && name != "." && name.find('/') == std::string::npos,
              "layer name '{}' cannot name an HDF5 group", name);
  const int64_t n_groups = q.n_groups();
  MACA_ASSERT(q.rows > 0 && q.cols > 0 && n_groups > 0 && q.codes.size() == static_cast<size_t>(q.rows * q.cols) &&
                  q.scales.size() == static_cast<size_t>(n_groups * q.rows) && q.zeros.size() == q.scales.size() &&
                  q.g_idx.size() == static_cast<size_t>(q.cols) && q.perm.size() == static_cast<size_t>(q.cols),
              "layer '{}' has inconsistent sizes", name);
  const h5::Id group = h5::create_group(file, name);
  h5::write_int(group, "rows", q.rows);
  h5::write_int(group, "cols", q.cols);
  h5::write_int(group, "bits", q.bits);
  h5::write_int(group, "group_size", q.group_size);
  h5::write_int(group, "sym", q.sym);
  h5::write_int(group, "act_order", q.act_order);
  h5::write_int(group, "static_groups", q.static_groups);
  h5::write_double(group, "loss", q.loss);
  h5::write_double(group, "damp", q.damp);
  h5::write_double(group, "alpha", q.alpha);
  h5::write_string(group, "method", q.method);
  const auto rows = static_cast<hsize_t>(q.rows), cols = static_cast<hsize_t>(q.cols);
  h5::write_dataset(group, "codes", q.codes, {rows, cols});
  h5::write_dataset(group, "scales", q.scales, {static_cast<hsize_t>(n_groups), rows});
  h5::write_dataset(group, "zeros", q.zeros, {static_cast<hsize_t>(n_groups), rows});
  h5::write_dataset(group, "g_idx", q.g_idx, {cols});
  h5::write_dataset(group, "perm", q.perm, {cols});
}

void write_file(const std::filesystem::path& tmp, const BlockCheckpoint& ck, const Fault& fault) {
  h5::Id file = h5::create_file(tmp);
  h5::write_int(file, "format_version", kBlockFormatVersion);
  h5::write_int(file, "block", ck.block);
  h5::write_string(file, "fingerprint", ck.fingerprint);
  h5::write_string(file, "maca_version", MACA_VERSION);
  nlohmann::json names = nlohmann::json::array();
  for (const auto& layer : ck.layers) names.push_back(layer.first);
  h5::write_string(file, "layers", names.dump());
  h5::write_string(file, "skipped", nlohmann::json(ck.skipped).dump());
  h5::write_string(file, "stats", ck.stats.dump());
  for (size_t i = 0; i < ck.layers.size(); ++i) {
    write_layer(file, ck.layers[i].first, ck.layers[i].second);
    if (i == 0) fault_point(fault, file, ck.block);
  }
  h5::check(H5Fflush(file, H5F_SCOPE_LOCAL), "cannot flush the file");
  h5::check(H5Fclose(file.release()), "cannot close the file");
}

int64_t read_dim(hid_t group, const char* name) {
  const int64_t v = h5::read_int(group, name);
  if (v < 1 || v > kMaxDim) MACA_THROW(Error, "attribute '{}' = {} is out of range 1..{}", name, v, kMaxDim);
  return v;
}

bool read_flag(hid_t group, const char* name) {
  const int64_t v = h5::read_int(group, name);
  if (v != 0 && v != 1) MACA_THROW(Error, "attribute '{}' = {} is not 0 or 1", name, v);
  return v == 1;
}

// The ranges that dequantization and export index with.
void check_values(const QuantizedLinear& q) {
  const int maxq = (1 << q.bits) - 1;
  const auto code = std::max_element(q.codes.begin(), q.codes.end());
  if (*code > maxq) MACA_THROW(Error, "dataset 'codes' holds {}, above 2^bits - 1 = {}", *code, maxq);
  for (const int32_t z : q.zeros)
    if (z < 0 || z > maxq) MACA_THROW(Error, "dataset 'zeros' holds {}, outside 0..{}", z, maxq);
  const int64_t n_groups = q.n_groups();
  for (const int32_t g : q.g_idx)
    if (g < 0 || g >= n_groups) MACA_THROW(Error, "dataset 'g_idx' holds {}, outside 0..{}", g, n_groups - 1);
  std::vector<bool> seen(static_cast<size_t>(q.cols), false);
  for (const int32_t k : q.perm) {
    if (k < 0 || k >= q.cols || seen[static_cast<size_t>(k)])
      MACA_THROW(Error, "dataset 'perm' is not a permutation of 0..{}", q.cols - 1);
    seen[static_cast<size_t>(k)] = true;
  }
}

QuantizedLinear read_layer(hid_t file, const std::string& name, bool with_data) {
  try {
    const h5::Id group = h5::open_group(file, name);
    QuantizedLinear q;
    q.rows = read_dim(group, "rows");
    q.cols = read_dim(group, "cols");
    const int64_t bits = h5::read_int(group, "bits");
    if (bits < 1 || bits > 8) MACA_THROW(Error, "attribute 'bits' = {} is out of range 1..8", bits);
    q.bits = static_cast<int>(bits);
    q.group_size = h5::read_int(group, "group_size");
    q.sym = read_flag(group, "sym");
    q.act_order = read_flag(group, "act_order");
    q.static_groups = read_flag(group, "static_groups");
    q.loss = h5::read_double(group, "loss");
    q.damp = h5::read_double(group, "damp");
    q.alpha = h5::read_double(group, "alpha");
    q.method = h5::read_string(group, "method");
    const auto rows = static_cast<hsize_t>(q.rows), cols = static_cast<hsize_t>(q.cols);
    const std::vector<hsize_t> groups_shape = h5::dataset_shape(group, "scales");
    if (groups_shape.size() != 2 || groups_shape[0] < 1 || groups_shape[0] > cols || groups_shape[1] != rows)
      MACA_THROW(Error, "dataset 'scales' has shape [{}], expected [n_groups <= {}, {}]", fmt::join(groups_shape, ", "),
                 cols, rows);
    if (!with_data) return q;
    q.codes = h5::read_dataset<uint8_t>(group, "codes", {rows, cols});
    q.scales = h5::read_dataset<float>(group, "scales", groups_shape);
    q.zeros = h5::read_dataset<int32_t>(group, "zeros", groups_shape);
    q.g_idx = h5::read_dataset<int32_t>(group, "g_idx", {cols});
    q.perm = h5::read_dataset<int32_t>(group, "perm", {cols});
    check_values(q);
    return q;
  } catch (const Error& e) {
    MACA_THROW(Error, "layer '{}': {}", name, e.what());
  }
}

nlohmann::json read_json(hid_t file, const char* name) {
  const std::string text = h5::read_string(file, name);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) MACA_THROW(Error, "attribute '{}' is not valid JSON", name);
  return j;
}

std::vector<std::string> read_names(hid_t file, const char* name) {
  const nlohmann::json j = read_json(file, name);
  const bool strings = j.is_array() && std::all_of(j.begin(), j.end(), [](const auto& e) { return e.is_string(); });
  if (!strings) MACA_THROW(Error, "attribute '{}' is not a JSON list of names", name);
  return j.get<std::vector<std::string>>();
}

// The block index of a file name "block-<digits><suffix>", or -1.
int parse_name(std::string_view name, std::string_view suffix) {
  if (!name.starts_with(kPrefix) || !name.ends_with(suffix)) return -1;
  const std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - suffix.size());
  int block = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), block);
  const bool all_digits = std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  return ec == std::errc() && end == digits.data() + digits.size() && all_digits ? block : -1;
}

// The files in ckpt_dir named "block-<digits><suffix>" with their block index, ascending.
std::vector<std::pair<int, std::filesystem::path>> list_blocks(const std::filesystem::path& ckpt_dir,
                                                               std::string_view suffix) {
  std::vector<std::pair<int, std::filesystem::path>> found;
  std::error_code ec;
  if (!std::filesystem::exists(ckpt_dir, ec)) return found;
  std::filesystem::directory_iterator it(ckpt_dir, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const int block = parse_name(it->path().filename().string(), suffix);
    if (block >= 0) found.emplace_back(block, it->path());
  }
  if (ec) MACA_THROW(FileError, "cannot list checkpoint directory '{}': {}", ckpt_dir.string(), ec.message());
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

std::filesystem::path block_path(const std::filesystem::path& ckpt_dir, int block) {
  return ckpt_dir / fmt::format("{}{:05d}{}", kPrefix, block, kSuffix);
}

void write_block(const std::filesystem::path& ckpt_dir, const BlockCheckpoint& ck) {
  h5::silence_errors();
  const Fault fault = fault_from_env();
  const std::filesystem::path target = block_path(ckpt_dir, ck.block);
  const std::filesystem::path tmp = temporary_path(target);
  std::error_code ignored;
  try {
    std::error_code ec;
    std::filesystem::create_directories(ckpt_dir, ec);
    if (ec) MACA_THROW(Error, "cannot create directory '{}': {}", ckpt_dir.string(), ec.message());
    write_file(tmp, ck, fault);
    publish(tmp, target);
  } catch (const Error& e) {
    std::filesystem::remove(tmp, ignored);
    MACA_THROW(FileError,
               "cannot write checkpoint '{}': {}. Check free space and write permission there (or choose another "
               "run.dir), then rerun: finished blocks resume",
               target.string(), e.what());
  } catch (...) {
    std::filesystem::remove(tmp, ignored);
    throw;
  }
}

static BlockCheckpoint read_block_file(const std::filesystem::path& file, bool with_data) {
  h5::silence_errors();
  try {
    const h5::Id f = h5::open_file(file);
    const int64_t version = h5::read_int(f, "format_version");
    if (version != kBlockFormatVersion)
      MACA_THROW(Error, "format version {}, but this maca reads version {}", version, kBlockFormatVersion);
    BlockCheckpoint ck;
    const int64_t block = h5::read_int(f, "block");
    if (block < 0 || block > kMaxDim) MACA_THROW(Error, "attribute 'block' = {} is out of range", block);
    ck.block = static_cast<int>(block);
    ck.fingerprint = h5::read_string(f, "fingerprint");
    ck.skipped = read_names(f, "skipped");
    ck.stats = read_json(f, "stats");
    for (const std::string& name : read_names(f, "layers")) ck.layers.emplace_back(name, read_layer(f, name, with_data));
    return ck;
  } catch (const Error& e) {
    MACA_THROW(FileError,
               "cannot read checkpoint '{}': {}. If the file is damaged, delete it and rerun: that block is "
               "quantized again",
               file.string(), e.what());
  }
}

BlockCheckpoint read_block(const std::filesystem::path& file) { return read_block_file(file, true); }

BlockCheckpoint read_block_headers(const std::filesystem::path& file) { return read_block_file(file, false); }

std::vector<int> finished_blocks(const std::filesystem::path& ckpt_dir) {
  std::vector<int> blocks;
  for (const auto& [block, path] : list_blocks(ckpt_dir, kSuffix)) blocks.push_back(block);
  return blocks;
}

int remove_stale_temporaries(const std::filesystem::path& ckpt_dir) {
  int removed = 0;
  for (const auto& [block, path] : list_blocks(ckpt_dir, kTmpSuffix)) {
    std::error_code ec;
    if (!std::filesystem::remove(path, ec) && ec)
      MACA_THROW(FileError, "cannot remove the unfinished checkpoint '{}': {}", path.string(), ec.message());
    ++removed;
  }
  return removed;
}

}  // namespace maca::checkpoint
