// table/codecs.h — internal: one reader and writer pair per format, and the text helpers they
// share (line splitting with CR tolerance, binary detection, message shaping). Only
// calibration_table.cc dispatches to these; users call ParseTable / SerializeTable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "table/calibration_table.h"

namespace calib8::table::codec {

// One physical line: text without its LF (and without a trailing CR), 1-based number.
struct Line {
  std::string_view text;
  int number = 0;
  bool had_cr = false;
};
struct SplitText {
  std::vector<Line> lines;
  bool final_newline = true;
  bool any_cr = false;
};
SplitText SplitLines(std::string_view bytes);

// The same lines one at a time, with nothing stored (the readers of big tables use this).
class LineCursor {
 public:
  explicit LineCursor(std::string_view bytes) : bytes_(bytes) {}
  // The next line into `line`; false after the last one.
  bool Next(Line& line);
  bool any_cr() const { return any_cr_; }
  bool final_newline() const { return final_newline_; }

 private:
  std::string_view bytes_;
  size_t start_ = 0;
  int number_ = 1;
  bool any_cr_ = false;
  bool final_newline_ = true;
};
// How many lines SplitLines would return.
size_t CountLines(std::string_view bytes);

// Fails when `bytes` holds a NUL or other control bytes that no text table contains; the message
// names the line and shows the bytes escaped.
Status CheckText(std::string_view bytes, std::string_view file_name);

// "'3c01zz'" with control and non-ASCII bytes escaped, cut at 60 characters.
std::string Quote(std::string_view text);
// "table 'x.cache': line 7: " (line 0: no line part).
std::string Where(std::string_view file_name, int line);

// Strict decimal parse of a whole token (std::from_chars, general format, also inf/nan).
bool ParseDecimal(std::string_view token, double* out);

// Shared bookkeeping for duplicates and NaN in every reader.
class EntrySink {
 public:
  EntrySink(std::string_view file_name, const ReadOptions& options, ReadReport* report,
            CalibrationTable* table)
      : file_name_(file_name), options_(options), report_(report), table_(table) {}
  // Adds the entry after the duplicate / NaN / negative checks.
  Status Add(TableEntry entry);
  void Warn(std::string message);
  void Note(std::string message);
  bool lenient() const { return options_.lenient; }

 private:
  std::string_view file_name_;
  const ReadOptions& options_;
  ReadReport* report_;
  CalibrationTable* table_;
};

Status ReadTensorRt(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                    CalibrationTable& table);
Result<std::string> WriteTensorRt(const CalibrationTable& table, const WriteOptions& options,
                                  WriteReport* report);

Status ReadNcnn(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                CalibrationTable& table);
Result<std::string> WriteNcnn(const CalibrationTable& table, WriteReport* report);

Status ReadRange(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                 CalibrationTable& table);
Result<std::string> WriteRange(const CalibrationTable& table, WriteReport* report);

Status ReadOrtCache(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                    CalibrationTable& table);
Status ReadOrtJson(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                   CalibrationTable& table);
Status ReadOrtFlatBuffers(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                          CalibrationTable& table);

Status ReadCalib8Json(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                      CalibrationTable& table);
Result<std::string> WriteCalib8Json(const CalibrationTable& table, WriteReport* report);

}  // namespace calib8::table::codec
