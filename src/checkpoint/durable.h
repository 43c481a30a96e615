// Durable replacement of a file: the content is written to a temporary name,
// synced, and renamed over the final name, so a crash (SIGKILL, power loss)
// at any moment leaves either the old file or the complete new one
// (design.md "Checkpoint and resume"). Shared by the block files and the
// run's fingerprint.
#pragma once

#include <filesystem>
#include <string>

namespace maca::checkpoint {

// `target` with ".tmp" appended ("block-00007.h5" -> "block-00007.h5.tmp").
std::filesystem::path temporary_path(const std::filesystem::path& target);

// Syncs the finished file `tmp` to disk, renames it onto `target` and syncs
// the directory (where the file system allows) so the rename itself survives
// a crash. Throws maca::Error saying which step failed and why (errno text);
// `tmp` is then left for the caller to remove.
void publish(const std::filesystem::path& tmp, const std::filesystem::path& target);

// Writes `text` to `target` through a synced temporary file and publish().
// On failure the temporary is removed, `target` is untouched, and a
// maca::FileError names the file.
void write_text_durably(const std::filesystem::path& target, const std::string& text);

}  // namespace maca::checkpoint
