#include <faultline/report/output_file.hpp>

#include <cstdio>
#include <stdexcept>
#include <system_error>

#include <unistd.h>

namespace faultline::report {

OutputFile::OutputFile(std::string path)
    : path_(std::move(path)),
      temp_path_(path_ + ".tmp-" + std::to_string(static_cast<long>(::getpid()))) {
  out_.open(temp_path_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    throw std::runtime_error("cannot write " + path_ +
                             ": the directory does not exist or is not writable");
  }
}

OutputFile::~OutputFile() {
  if (!committed_) {
    out_.close();
    std::remove(temp_path_.c_str());
  }
}

void OutputFile::commit() {
  out_.flush();
  bool good = static_cast<bool>(out_);
  out_.close();
  if (!good || std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    std::remove(temp_path_.c_str());
    committed_ = true;
    throw std::runtime_error("cannot write " + path_ + " (disk full or not writable?)");
  }
  committed_ = true;
}

void write_file_atomically(const std::string& path, const std::string& content) {
  OutputFile file(path);
  file.stream() << content;
  file.commit();
}

}  // namespace faultline::report
