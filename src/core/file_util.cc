// core/file_util.cc — file I/O helpers used by every module that reads or writes user files.
#include "core/file_util.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace calib8 {
namespace fs = std::filesystem;

Result<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    return InvalidArgument(what, " '", path, "': is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!fs::exists(path, ec)) return NotFound(what, " '", path, "': no such file");
    return IoError(what, " '", path, "': cannot be opened: ", std::strerror(errno));
  }
  // One read into a buffer of the file's size (a stream copy doubles and copies again: a third of
  // the time of `inspect` on a 17 MB cache); pipes and growing files take the loop below.
  std::string bytes;
  std::error_code size_ec;
  const auto size = fs::is_regular_file(path, size_ec) ? fs::file_size(path, size_ec) : 0;
  if (!size_ec && size > 0) {
    bytes.resize(static_cast<size_t>(size));
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    bytes.resize(static_cast<size_t>(in.gcount()));  // shorter if the file shrank meanwhile
  }
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0)
    bytes.append(buf, static_cast<size_t>(in.gcount()));
  if (in.bad()) return IoError(what, " '", path, "': read error");
  return bytes;
}

namespace {
// Removes `.NAME.tmp.PID` files in `dir` left by a writer of `name` that was killed before its
// rename (kill -9, power loss): PID is no longer running. A live writer's file is left alone.
void RemoveStaleTemps(const fs::path& dir, const std::string& name) {
  const std::string prefix = "." + name + ".tmp.";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string f = it->path().filename().string();
    if (f.size() <= prefix.size() || f.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid = f.substr(prefix.size());
    if (pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t p = static_cast<pid_t>(std::stol(pid));
    if (p == getpid() || (kill(p, 0) != 0 && errno == ESRCH)) {
      std::error_code rm;
      fs::remove(it->path(), rm);
    }
  }
}
}  // namespace

Status WriteFileAtomic(const std::string& path, const std::string& bytes) {
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return IoError("cannot write '", path, "': directory '", dir.string(), "' does not exist");
  // Appended piece by piece: g++ 12 warns (-Wrestrict, a false positive) on "." + std::string&&.
  std::string tmp_name = ".";
  tmp_name += target.filename().string();
  tmp_name += ".tmp.";
  tmp_name += std::to_string(getpid());
  std::string tmp = (dir / tmp_name).string();
  RemoveStaleTemps(dir, target.filename().string());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return IoError("cannot write '", path, "': ", std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      return IoError("cannot write '", path, "': write failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    std::remove(tmp.c_str());
    return IoError("cannot write '", path, "': rename failed: ", err);
  }
  return Status::Ok();
}

}  // namespace calib8
