// A thin layer over the HDF5 C API for the checkpoint files: identifiers that
// close themselves, every failing call turned into a maca::Error carrying
// HDF5's own message, and typed attributes and datasets whose reads check
// presence, type and shape before touching the data, so a damaged file gives
// a message instead of a crash. Callers add the file name to the message.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace maca::checkpoint::h5 {

// Stops HDF5 from printing its error stack to stderr; errors surface as
// exceptions instead. Cheap; called by every entry point.
void silence_errors();

// An HDF5 identifier, closed when the object goes away.
class Id {
 public:
  Id() = default;
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Id() { reset(); }
  Id(Id&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = H5I_INVALID_HID; }
  Id& operator=(Id&& other) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;

  operator hid_t() const { return id_; }  // NOLINT(google-explicit-constructor): used like the raw id
  // Gives up ownership, e.g. to close a file with a checked H5Fclose.
  hid_t release();

 private:
  void reset();

  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

// Throws maca::Error "<what>: <HDF5's message>" when `status` is negative.
hid_t check(hid_t status, const std::string& what);
// HDF5's description of the error it just reported (empty when none).
std::string last_error();

// A new file (truncating `path`) or an existing one opened read-only. No file
// locking (cluster file systems often lack it, and every checkpoint file has a
// single writer); objects in the HDF5 1.8 format, which checksums metadata.
Id create_file(const std::filesystem::path& path);
Id open_file(const std::filesystem::path& path);

Id create_group(hid_t parent, const std::string& name);
// Throws "group '<name>' is missing" when absent.
Id open_group(hid_t parent, const std::string& name);

// Scalar attributes: integers as 64-bit, doubles, fixed-length strings.
void write_int(hid_t object, const char* name, int64_t value);
void write_double(hid_t object, const char* name, double value);
void write_string(hid_t object, const char* name, const std::string& value);
// Reads throw "attribute '<name>' is missing" or "... is not an integer", ....
int64_t read_int(hid_t object, const char* name);
double read_double(hid_t object, const char* name);
std::string read_string(hid_t object, const char* name);

// A contiguous little-endian dataset of `data` with the given shape.
// Instantiated for uint8_t, int32_t and float.
template <class T>
void write_dataset(hid_t group, const char* name, const std::vector<T>& data, const std::vector<hsize_t>& shape);
// The shape of dataset `name`; throws when it is missing.
std::vector<hsize_t> dataset_shape(hid_t group, const char* name);
// Reads dataset `name`, which must have exactly `shape`, the element type T
// and all of its data stored (a truncated write shows as missing storage).
template <class T>
std::vector<T> read_dataset(hid_t group, const char* name, const std::vector<hsize_t>& shape);

}  // namespace maca::checkpoint::h5
