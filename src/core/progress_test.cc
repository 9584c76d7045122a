// Progress reporter: rate limits by time (fake clock), quiet, terminal redraw in place.
#include "core/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace calib8::core {
namespace {

// Captures what the reporter writes (a tmpfile read back as a string).
struct Capture {
  std::FILE* f = std::tmpfile();
  ~Capture() { std::fclose(f); }
  std::string Text() {
    std::fflush(f);
    std::string s;
    std::rewind(f);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    return s;
  }
  int Lines() {
    std::string s = Text();
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
  }
};

ProgressStyle Style(ProgressMode mode, std::FILE* out, double* now) {
  ProgressStyle s;
  s.mode = mode;
  s.out = out;
  s.clock = [now] { return *now; };
  return s;
}

// `n` updates of one stage spread evenly over `seconds`.
void Feed(ProgressReporter& r, double* now, int n, double seconds,
          const std::string& stage = "pass 1/2") {
  const double t0 = *now;
  for (int i = 1; i <= n; ++i) {
    *now = t0 + seconds * i / n;
    r.Update({stage, i * 10, n * 10, "samples", ""});
  }
}

TEST(ProgressTest, LinesModeIsSilentForShortWork) {
  // The case: 500 samples in 50 batches, 0.05 s of work -> no line at all.
  Capture c;
  double now = 100;
  {
    ProgressReporter r(Style(ProgressMode::kLines, c.f, &now));
    Feed(r, &now, 50, 0.05);
    Feed(r, &now, 50, 0.05, "pass 2/2");
  }
  EXPECT_EQ(c.Text(), "");
}

TEST(ProgressTest, LinesModeIsRateLimitedByTime) {
  Capture c;
  double now = 0;
  ProgressReporter r(Style(ProgressMode::kLines, c.f, &now));
  Feed(r, &now, 10000, 60);  // 10000 updates over a minute
  r.Finish();
  // Nothing in the first 2 s, then at most one line per 5 s, plus the final line.
  const int lines = c.Lines();
  EXPECT_GE(lines, 10) << c.Text();
  EXPECT_LE(lines, 13) << c.Text();
  const std::string text = c.Text();
  EXPECT_EQ(text.find('\r'), std::string::npos);  // plain lines, no carriage returns
  EXPECT_NE(text.find("100000/100000 samples (100%)"), std::string::npos) << text;
  EXPECT_NE(text.find("samples/s"), std::string::npos) << text;
  EXPECT_NE(text.find("ETA"), std::string::npos) << text;
}

TEST(ProgressTest, RateAndEtaFollowTheClock) {
  Capture c;
  double now = 0;
  ProgressStyle s = Style(ProgressMode::kLines, c.f, &now);
  s.first_after_s = 0;
  s.every_s = 0;
  ProgressReporter r(s);
  r.Update({"compare", 0, 1000, "samples", ""});
  now = 10;
  r.Update({"compare", 250, 1000, "samples", ""});  // 25 samples/s, 750 left -> 30 s
  EXPECT_NE(c.Text().find("250/1000 samples (25%), 25.0 samples/s, ETA 30s"), std::string::npos)
      << c.Text();
}

TEST(ProgressTest, QuietWritesNothingAndGivesNoCallback) {
  Capture c;
  double now = 0;
  ProgressReporter r(Style(ProgressMode::kQuiet, c.f, &now));
  EXPECT_FALSE(static_cast<bool>(r.Callback()));
  Feed(r, &now, 1000, 100);
  r.Finish();
  EXPECT_EQ(c.Text(), "");
  EXPECT_EQ(r.lines_written(), 0);
}

TEST(ProgressTest, TerminalUpdatesOneLineInPlace) {
  Capture c;
  double now = 0;
  ProgressReporter r(Style(ProgressMode::kTerminal, c.f, &now));
  Feed(r, &now, 1000, 10);  // 10 s, redraws at most every 0.1 s
  r.Finish();
  const std::string text = c.Text();
  EXPECT_EQ(c.Lines(), 1) << text;  // one line, ended once
  EXPECT_GT(r.lines_written(), 10);
  EXPECT_LE(r.lines_written(), 10 / 0.1 + 3);
  EXPECT_NE(text.find("\r\033[K"), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
}

TEST(ProgressTest, TerminalKeepsOneLinePerStage) {
  Capture c;
  double now = 0;
  ProgressReporter r(Style(ProgressMode::kTerminal, c.f, &now));
  Feed(r, &now, 100, 5, "pass 1/2");
  Feed(r, &now, 100, 5, "pass 2/2");
  r.Finish();
  EXPECT_EQ(c.Lines(), 2) << c.Text();
}

}  // namespace
}  // namespace calib8::core
