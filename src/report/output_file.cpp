#include <faultline/report/output_file.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <system_error>

#include <unistd.h>

namespace faultline::report {
namespace {

// The temporary files alive in this process. A process-wide list is the one way a thread that
// handles SIGINT can find them; it touches no simulation, so runs stay independent.
struct Pending {
  std::mutex mutex;
  std::set<std::string> paths;
};

Pending& pending() {
  static Pending p;  // process-wide by design, see above
  return p;
}

void track(const std::string& path) {
  std::lock_guard lock(pending().mutex);
  pending().paths.insert(path);
}

void untrack(const std::string& path) {
  std::lock_guard lock(pending().mutex);
  pending().paths.erase(path);
}

std::string reason(int err) { return err == 0 ? std::string("write failed") : std::strerror(err); }

}  // namespace

void check_writable(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw OutputError("cannot write " + path + ": it is a directory; name a file");
  }
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) {
    parent = ".";
  }
  if (!fs::is_directory(parent, ec)) {
    throw OutputError("cannot write " + path + ": the directory " + parent.string() +
                      " does not exist; create it first");
  }
  if (::access(parent.c_str(), W_OK) != 0) {
    throw OutputError("cannot write " + path + ": the directory " + parent.string() +
                      " is not writable (" + std::strerror(errno) + ")");
  }
}

OutputFile::OutputFile(std::string path)
    : path_(std::move(path)),
      temp_path_(path_ + ".tmp-" + std::to_string(static_cast<long>(::getpid()))) {
  check_writable(path_);
  track(temp_path_);
  errno = 0;
  out_.open(temp_path_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    const int err = errno;
    untrack(temp_path_);
    throw OutputError("cannot write " + path_ + ": " + reason(err));
  }
}

OutputFile::~OutputFile() {
  if (!committed_) {
    out_.close();
    std::remove(temp_path_.c_str());
    untrack(temp_path_);
  }
}

void OutputFile::commit() {
  errno = 0;
  out_.flush();
  bool good = static_cast<bool>(out_);
  int err = errno;
  out_.close();
  if (good && out_.fail()) {
    good = false;
    err = errno;
  }
  if (good && std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    good = false;
    err = errno;
  }
  committed_ = true;
  if (!good) {
    std::remove(temp_path_.c_str());
    untrack(temp_path_);
    throw OutputError("cannot write " + path_ + ": " + reason(err) +
                      " (disk full, a file size limit, or not writable); nothing was written");
  }
  untrack(temp_path_);
}

void write_file_atomically(const std::string& path, const std::string& content) {
  OutputFile file(path);
  file.stream() << content;
  file.commit();
}

void remove_temporary_outputs() {
  std::lock_guard lock(pending().mutex);
  for (const auto& p : pending().paths) {
    std::remove(p.c_str());
  }
  pending().paths.clear();
}

}  // namespace faultline::report
