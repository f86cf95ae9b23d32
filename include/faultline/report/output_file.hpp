// Writing output files all-or-nothing: content goes to a temporary file beside the target,
// which is renamed over it only when complete, so an interrupted or failed run never leaves a
// half-written results or trace file behind.
#pragma once

#include <fstream>
#include <string>

namespace faultline::report {

/// An output file under construction. stream() writes to "<path>.tmp-<n>"; commit() renames it
/// to `path`; destroying it uncommitted removes the temporary file.
class OutputFile {
public:
  /// Throws std::runtime_error naming the path when the file cannot be created.
  explicit OutputFile(std::string path);
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  std::ofstream& stream() { return out_; }
  const std::string& path() const { return path_; }
  /// Flushes, closes and renames into place; throws std::runtime_error on failure.
  void commit();

private:
  std::string path_;
  std::string temp_path_;
  std::ofstream out_;
  bool committed_ = false;
};

/// Writes `content` to `path` through an OutputFile.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace faultline::report
