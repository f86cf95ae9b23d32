// Writing output files all-or-nothing: content goes to a temporary file beside the target,
// which is renamed over it only when complete, so an interrupted or failed run never leaves a
// half-written results or trace file behind.
//
// Temporary files are also removed when the process is stopped by a signal: the `faultline`
// executable blocks SIGINT, SIGTERM and SIGHUP and calls remove_temporary_outputs() from the
// thread that waits for them, before it exits.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>

namespace faultline::report {

/// An output that cannot be created or written (missing directory, a directory in the way,
/// disk full, file size limit): the user's environment, not faultline, is at fault.
class OutputError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// An output file under construction. stream() writes to "<path>.tmp-<n>"; commit() renames it
/// to `path`; destroying it uncommitted removes the temporary file.
class OutputFile {
public:
  /// Throws OutputError naming the path when the file cannot be created (or `path` is a
  /// directory).
  explicit OutputFile(std::string path);
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  std::ofstream& stream() { return out_; }
  const std::string& path() const { return path_; }
  /// False once a write to the stream has failed (disk full, file size limit).
  bool good() const { return static_cast<bool>(out_); }
  /// Flushes, closes and renames into place; throws OutputError on failure.
  void commit();

private:
  std::string path_;
  std::string temp_path_;
  std::ofstream out_;
  bool committed_ = false;
};

/// Writes `content` to `path` through an OutputFile.
void write_file_atomically(const std::string& path, const std::string& content);

/// Throws OutputError when `path` could not be created: its directory is missing or not
/// writable, or `path` is a directory. Creates nothing.
void check_writable(const std::string& path);

/// Removes every temporary file of an OutputFile not yet committed or destroyed. Safe to call
/// from any thread (not from a signal handler); for a process that is about to exit.
void remove_temporary_outputs();

}  // namespace faultline::report
