// calib8/progress.h — progress of long work (calibrate, compare, sensitivity): the one reporter
// the CLI uses, and the update type the library calls back with. Implemented by core/progress.cc.
//
// The library reports what it did (ProgressUpdate: a stage, done of total units); the reporter
// decides what to show, on stderr so that stdout stays clean:
//   terminal (stderr is a tty)  one line updated in place: stage, done/total, %, rate, ETA; redrawn
//                               at most every `redraw_s`, nothing for work under `first_after_s`
//                               (0.5 s), ended by a newline when the work ends
//   lines (stderr is a file/pipe)  plain lines, nothing for work under `first_after_s` (2 s), then
//                               at most one line every `every_s` (5 s), and a last line for the
//                               final stage when any line was written
//   quiet (--quiet)             nothing
// Time comes from `clock` (seconds), so tests can drive the reporter with a fake clock.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace calib8 {

struct ProgressUpdate {
  std::string stage;             // "calibrate pass 1/2", "compare FP32 vs INT8", ...
  int64_t done = 0;              // units done in this stage
  int64_t total = 0;             // units in this stage (0: unknown)
  std::string unit = "samples";  // what done/total count
  std::string detail;            // optional last event ("layer conv1: alone 98.5")
};

using ProgressCallback = std::function<void(const ProgressUpdate&)>;

enum class ProgressMode { kQuiet, kTerminal, kLines };

// kQuiet when `quiet`, else kTerminal when stderr is a terminal, else kLines.
ProgressMode DefaultProgressMode(bool quiet);

struct ProgressStyle {
  ProgressMode mode = ProgressMode::kLines;
  double first_after_s = -1;  // < 0: 0.5 s on a terminal, 2 s for lines
  double every_s = 5.0;       // lines: at most one per this many seconds
  double redraw_s = 0.1;      // terminal: at most one redraw per this many seconds
  std::FILE* out = stderr;
  std::function<double()> clock;  // seconds; default: steady clock
};

// The CLI's style: DefaultProgressMode(quiet), stderr, the default limits.
ProgressStyle DefaultProgressStyle(bool quiet);

class ProgressReporter {
 public:
  explicit ProgressReporter(ProgressStyle style);
  ~ProgressReporter();  // Finish()
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  void Update(const ProgressUpdate& u);
  // Ends the terminal line / writes the final line of the last stage (if anything was shown).
  void Finish();
  // A callback for the library that forwards to Update (the reporter must outlive its use);
  // empty in quiet mode, so the library skips the work of reporting.
  ProgressCallback Callback();

  int lines_written() const { return lines_; }  // lines (or terminal redraws) written

 private:
  double Now() const;
  std::string Format(const ProgressUpdate& u, double now) const;

  ProgressStyle style_;
  double start_ = 0;         // reporter created
  double stage_start_ = 0;   // first update of the current stage
  int64_t stage_done0_ = 0;  // done at that update
  double last_write_ = -1e300;
  bool last_written_ = false;  // the latest update has been written
  bool line_open_ = false;     // terminal: a line without its newline is on screen
  ProgressUpdate last_;
  bool have_last_ = false;
  int lines_ = 0;
};

}  // namespace calib8
