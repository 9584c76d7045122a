// core/progress.cc — see progress.h.
#include "core/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>

namespace calib8 {

ProgressMode DefaultProgressMode(bool quiet) {
  if (quiet) return ProgressMode::kQuiet;
  return isatty(STDERR_FILENO) ? ProgressMode::kTerminal : ProgressMode::kLines;
}

ProgressStyle DefaultProgressStyle(bool quiet) {
  ProgressStyle s;
  s.mode = DefaultProgressMode(quiet);
  return s;
}

ProgressReporter::ProgressReporter(ProgressStyle style) : style_(std::move(style)) {
  if (style_.first_after_s < 0)
    style_.first_after_s = style_.mode == ProgressMode::kTerminal ? 0.5 : 2.0;
  if (!style_.out) style_.out = stderr;
  start_ = Now();
}

ProgressReporter::~ProgressReporter() { Finish(); }

double ProgressReporter::Now() const {
  if (style_.clock) return style_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {
std::string Duration(double s) {
  char buf[32];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600,
                  static_cast<int>(s) / 60 % 60);
  return buf;
}
}  // namespace

std::string ProgressReporter::Format(const ProgressUpdate& u, double now) const {
  // Appended piece by piece: g++ 12 warns (-Wrestrict, a false positive) on "x" + std::string&&.
  std::string s = u.stage;
  s.append(": ").append(std::to_string(u.done));
  if (u.total > 0) s.append("/").append(std::to_string(u.total));
  s.append(" ").append(u.unit);
  if (u.total > 0) s.append(" (").append(std::to_string(100 * u.done / u.total)).append("%)");
  const double elapsed = now - stage_start_;
  const double rate = elapsed > 0 ? (u.done - stage_done0_) / elapsed : 0;
  char buf[96];
  if (rate > 0) {
    std::snprintf(buf, sizeof buf, ", %.*f %s/s", rate < 10 ? 2 : 1, rate, u.unit.c_str());
    s += buf;
    if (u.total > 0 && u.done < u.total)
      s.append(", ETA ").append(Duration((u.total - u.done) / rate));
  }
  if (u.total > 0 && u.done >= u.total) s.append(", done in ").append(Duration(elapsed));
  if (!u.detail.empty()) s.append(" — ").append(u.detail);
  return s;
}

void ProgressReporter::Update(const ProgressUpdate& u) {
  if (style_.mode == ProgressMode::kQuiet) return;
  const double now = Now();
  const bool new_stage = !have_last_ || u.stage != last_.stage;
  if (new_stage) {
    // Terminal: the finished stage keeps its line.
    if (line_open_ && have_last_) {
      if (last_written_)
        std::fputc('\n', style_.out);
      else
        std::fprintf(style_.out, "\r\033[K%s\n", Format(last_, now).c_str());
      line_open_ = false;
    }
    stage_start_ = now;
    stage_done0_ = u.done;
  }
  last_ = u;
  have_last_ = true;
  last_written_ = false;
  if (now - start_ < style_.first_after_s) return;
  if (style_.mode == ProgressMode::kTerminal) {
    if (now - last_write_ < style_.redraw_s && !(u.total > 0 && u.done >= u.total)) return;
    std::fprintf(style_.out, "\r\033[K%s", Format(u, now).c_str());
    std::fflush(style_.out);
    line_open_ = true;
  } else {
    if (now - last_write_ < style_.every_s) return;
    std::fprintf(style_.out, "%s\n", Format(u, now).c_str());
    std::fflush(style_.out);
  }
  last_write_ = now;
  last_written_ = true;
  ++lines_;
}

void ProgressReporter::Finish() {
  if (style_.mode == ProgressMode::kQuiet || !have_last_) return;
  const double now = Now();
  if (style_.mode == ProgressMode::kTerminal) {
    if (line_open_ && last_written_) {
      std::fputc('\n', style_.out);
    } else if (line_open_) {
      std::fprintf(style_.out, "\r\033[K%s\n", Format(last_, now).c_str());
      ++lines_;
    }
  } else if (lines_ > 0 && !last_written_) {
    std::fprintf(style_.out, "%s\n", Format(last_, now).c_str());
    ++lines_;
  }
  std::fflush(style_.out);
  line_open_ = false;
  have_last_ = false;
}

ProgressCallback ProgressReporter::Callback() {
  if (style_.mode == ProgressMode::kQuiet) return {};
  return [this](const ProgressUpdate& u) { Update(u); };
}

}  // namespace calib8
