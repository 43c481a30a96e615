#include "checkpoint/h5.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>
#include <type_traits>

#include "core/error.h"

namespace maca::checkpoint::h5 {

namespace {

// The file and memory types of a dataset element.
template <class T>
struct Element;
template <>
struct Element<uint8_t> {
  static hid_t file() { return H5T_STD_U8LE; }
  static hid_t memory() { return H5T_NATIVE_UINT8; }
  static constexpr H5T_class_t kClass = H5T_INTEGER;
  static constexpr const char* kName = "uint8";
};
template <>
struct Element<int32_t> {
  static hid_t file() { return H5T_STD_I32LE; }
  static hid_t memory() { return H5T_NATIVE_INT32; }
  static constexpr H5T_class_t kClass = H5T_INTEGER;
  static constexpr const char* kName = "int32";
};
template <>
struct Element<float> {
  static hid_t file() { return H5T_IEEE_F32LE; }
  static hid_t memory() { return H5T_NATIVE_FLOAT; }
  static constexpr H5T_class_t kClass = H5T_FLOAT;
  static constexpr const char* kName = "float32";
};

herr_t collect(unsigned, const H5E_error2_t* err, void* out) {
  auto& messages = *static_cast<std::vector<std::string>*>(out);
  if (err->desc != nullptr && *err->desc != '\0') messages.emplace_back(err->desc);
  return 0;
}

Id file_access() {
  Id fapl(check(H5Pcreate(H5P_FILE_ACCESS), "cannot create file access properties"), H5Pclose);
  check(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18), "cannot set the file format");
  check(H5Pset_file_locking(fapl, false, true), "cannot turn off file locking");
  return fapl;
}

Id scalar_space() { return Id(check(H5Screate(H5S_SCALAR), "cannot create a dataspace"), H5Sclose); }

void write_attribute(hid_t object, const char* name, hid_t file_type, hid_t memory_type, const void* value) {
  const Id space = scalar_space();
  const Id attr(check(H5Acreate2(object, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT),
                      fmt::format("cannot create attribute '{}'", name)),
                H5Aclose);
  check(H5Awrite(attr, memory_type, value), fmt::format("cannot write attribute '{}'", name));
}

// Opens a scalar attribute of the given type class.
Id open_attribute(hid_t object, const char* name, H5T_class_t type_class, const char* type_name) {
  if (check(H5Aexists(object, name), fmt::format("cannot look up attribute '{}'", name)) == 0)
    MACA_THROW(Error, "attribute '{}' is missing", name);
  Id attr(check(H5Aopen(object, name, H5P_DEFAULT), fmt::format("cannot open attribute '{}'", name)), H5Aclose);
  const Id space(check(H5Aget_space(attr), fmt::format("attribute '{}'", name)), H5Sclose);
  const Id type(check(H5Aget_type(attr), fmt::format("attribute '{}'", name)), H5Tclose);
  if (H5Sget_simple_extent_type(space) != H5S_SCALAR || H5Tget_class(type) != type_class)
    MACA_THROW(Error, "attribute '{}' is not {}", name, type_name);
  return attr;
}

}  // namespace

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Id& Id::operator=(Id&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    close_ = other.close_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

hid_t Id::release() {
  const hid_t id = id_;
  id_ = H5I_INVALID_HID;
  return id;
}

void Id::reset() {
  if (id_ >= 0) close_(id_);
  id_ = H5I_INVALID_HID;
}

std::string last_error() {
  std::vector<std::string> messages;  // outermost (the API call) first
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &messages);
  if (messages.empty()) return {};
  // The outermost message says what failed, the innermost why (often with errno text).
  if (messages.size() == 1) return messages.front();
  return fmt::format("{} ({})", messages.front(), messages.back());
}

hid_t check(hid_t status, const std::string& what) {
  if (status < 0) {
    const std::string why = last_error();
    MACA_THROW(Error, "{}{}{}", what, why.empty() ? "" : ": ", why);
  }
  return status;
}

Id create_file(const std::filesystem::path& path) {
  const Id fapl = file_access();
  return Id(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), "cannot create the file"), H5Fclose);
}

Id open_file(const std::filesystem::path& path) {
  const Id fapl = file_access();
  return Id(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), "cannot open it as an HDF5 file"), H5Fclose);
}

Id create_group(hid_t parent, const std::string& name) {
  return Id(check(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                  fmt::format("cannot create group '{}'", name)),
            H5Gclose);
}

Id open_group(hid_t parent, const std::string& name) {
  if (check(H5Lexists(parent, name.c_str(), H5P_DEFAULT), fmt::format("cannot look up group '{}'", name)) == 0)
    MACA_THROW(Error, "group '{}' is missing", name);
  return Id(check(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), fmt::format("cannot open group '{}'", name)), H5Gclose);
}

void write_int(hid_t object, const char* name, int64_t value) {
  write_attribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void write_double(hid_t object, const char* name, double value) {
  write_attribute(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

void write_string(hid_t object, const char* name, const std::string& value) {
  const Id type(check(H5Tcopy(H5T_C_S1), "cannot create a string type"), H5Tclose);
  check(H5Tset_size(type, std::max<size_t>(value.size(), 1)), "cannot size a string type");
  check(H5Tset_strpad(type, H5T_STR_NULLPAD), "cannot set string padding");
  std::string padded = value;
  padded.resize(std::max<size_t>(value.size(), 1), '\0');
  write_attribute(object, name, type, type, padded.data());
}

int64_t read_int(hid_t object, const char* name) {
  const Id attr = open_attribute(object, name, H5T_INTEGER, "an integer");
  int64_t value = 0;
  check(H5Aread(attr, H5T_NATIVE_INT64, &value), fmt::format("cannot read attribute '{}'", name));
  return value;
}

double read_double(hid_t object, const char* name) {
  const Id attr = open_attribute(object, name, H5T_FLOAT, "a number");
  double value = 0;
  check(H5Aread(attr, H5T_NATIVE_DOUBLE, &value), fmt::format("cannot read attribute '{}'", name));
  return value;
}

std::string read_string(hid_t object, const char* name) {
  const Id attr = open_attribute(object, name, H5T_STRING, "a string");
  const Id type(check(H5Aget_type(attr), fmt::format("attribute '{}'", name)), H5Tclose);
  if (H5Tis_variable_str(type) != 0) MACA_THROW(Error, "attribute '{}' is not a fixed-length string", name);
  std::string value(H5Tget_size(type), '\0');
  check(H5Aread(attr, type, value.data()), fmt::format("cannot read attribute '{}'", name));
  value.resize(value.find_last_not_of('\0') + 1);  // npos + 1 == 0: all padding
  return value;
}

template <class T>
void write_dataset(hid_t group, const char* name, const std::vector<T>& data, const std::vector<hsize_t>& shape) {
  const Id space(check(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr),
                       fmt::format("cannot create the dataspace of '{}'", name)),
                 H5Sclose);
  const Id set(check(H5Dcreate2(group, name, Element<T>::file(), space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     fmt::format("cannot create dataset '{}'", name)),
               H5Dclose);
  check(H5Dwrite(set, Element<T>::memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
        fmt::format("cannot write dataset '{}'", name));
}

std::vector<hsize_t> dataset_shape(hid_t group, const char* name) {
  if (check(H5Lexists(group, name, H5P_DEFAULT), fmt::format("cannot look up dataset '{}'", name)) == 0)
    MACA_THROW(Error, "dataset '{}' is missing", name);
  const Id set(check(H5Dopen2(group, name, H5P_DEFAULT), fmt::format("cannot open dataset '{}'", name)), H5Dclose);
  const Id space(check(H5Dget_space(set), fmt::format("dataset '{}'", name)), H5Sclose);
  const int rank = static_cast<int>(check(H5Sget_simple_extent_ndims(space), fmt::format("dataset '{}'", name)));
  std::vector<hsize_t> shape(static_cast<size_t>(rank));
  check(H5Sget_simple_extent_dims(space, shape.data(), nullptr), fmt::format("dataset '{}'", name));
  return shape;
}

template <class T>
std::vector<T> read_dataset(hid_t group, const char* name, const std::vector<hsize_t>& shape) {
  const std::vector<hsize_t> actual = dataset_shape(group, name);
  if (actual != shape)
    MACA_THROW(Error, "dataset '{}' has shape [{}], expected [{}]", name, fmt::join(actual, ", "),
               fmt::join(shape, ", "));
  const Id set(check(H5Dopen2(group, name, H5P_DEFAULT), fmt::format("cannot open dataset '{}'", name)), H5Dclose);
  const Id type(check(H5Dget_type(set), fmt::format("dataset '{}'", name)), H5Tclose);
  if (H5Tget_class(type) != Element<T>::kClass || H5Tget_size(type) != sizeof(T) ||
      (std::is_integral_v<T> && (H5Tget_sign(type) == H5T_SGN_2) != std::is_signed_v<T>))
    MACA_THROW(Error, "dataset '{}' does not hold {} values", name, Element<T>::kName);
  const hsize_t n = std::accumulate(shape.begin(), shape.end(), hsize_t{1}, std::multiplies<>());
  const hsize_t stored = H5Dget_storage_size(set);
  if (stored != n * sizeof(T))
    MACA_THROW(Error, "dataset '{}' is incomplete: {} of {} bytes stored", name, stored, n * sizeof(T));
  std::vector<T> data(static_cast<size_t>(n));
  check(H5Dread(set, Element<T>::memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
        fmt::format("cannot read dataset '{}'", name));
  return data;
}

template void write_dataset(hid_t, const char*, const std::vector<uint8_t>&, const std::vector<hsize_t>&);
template void write_dataset(hid_t, const char*, const std::vector<int32_t>&, const std::vector<hsize_t>&);
template void write_dataset(hid_t, const char*, const std::vector<float>&, const std::vector<hsize_t>&);
template std::vector<uint8_t> read_dataset(hid_t, const char*, const std::vector<hsize_t>&);
template std::vector<int32_t> read_dataset(hid_t, const char*, const std::vector<hsize_t>&);
template std::vector<float> read_dataset(hid_t, const char*, const std::vector<hsize_t>&);

}  // namespace maca::checkpoint::h5
