// data/image_source_test.cc — images:DIR on PNG/JPEG files written here with stb_image_write:
// preprocessing by hand on 2x2 images, resize and centre crop, batching, the spec's canonical
// text, and the message of each bad image (corrupt, truncated, lying headers, fuzz findings).
#include "data/data_source.h"

#include <gtest/gtest.h>
#include <stb/stb_image_write.h>

#include <string>
#include <vector>

#include "data/data_test_util.h"

namespace calib8::data {
namespace {

using test_util::ExpectBatchingEquivalent;
using test_util::k2x2;
using test_util::MustOpen;
using test_util::OpenError;
using test_util::ReadBytes;
using test_util::ReadError;
using test_util::TempDir;
using test_util::Values;
using test_util::WriteBytes;
using test_util::WritePng;

// ------------------------------------------------------------------------------------------------
// Images

TEST(ImageSourceTest, PreprocessingByHandOn2x2) {
  TempDir tmp;
  std::string dir = tmp.Sub("img");
  WritePng(dir + "/a.png", 2, 2, k2x2);

  // Defaults: NCHW, RGB, [0,1].
  auto s = MustOpen("images:" + dir);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->SampleShape(), (Shape{3, 2, 2}));
  auto r = s->Read(0, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->shape(), (Shape{1, 3, 2, 2}));
  // Channel R plane: 255, 0, 0, 51 -> 1, 0, 0, 0.2; G plane: 0, 1, 0, 0.4; B plane: 0, 0, 1, 0.6.
  std::vector<float> expect = {1, 0, 0, 0.2f, 0, 1, 0, 0.4f, 0, 0, 1, 0.6f};
  auto v = Values(*r);
  for (size_t i = 0; i < expect.size(); ++i) EXPECT_NEAR(v[i], expect[i], 1e-6) << i;

  // mean/std per channel, scale 255, NHWC, BGR: pixel (1,1) = (51,102,153) becomes
  // B: (153 - 10) / 2 = 71.5, G: (102 - 20) / 4 = 20.5, R: (51 - 30) / 5 = 4.2 (mean/std in BGR).
  auto s2 = MustOpen("images:" + dir + "@mean=10/20/30,std=2/4/5,scale=255,layout=nhwc,order=bgr");
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->SampleShape(), (Shape{2, 2, 3}));
  auto r2 = s2->Read(0, 1);
  ASSERT_TRUE(r2.ok());
  auto v2 = Values(*r2);
  EXPECT_NEAR(v2[9], 71.5f, 1e-5);
  EXPECT_NEAR(v2[10], 20.5f, 1e-5);
  EXPECT_NEAR(v2[11], 4.2f, 1e-5);
  // Pixel (0,0) = red: B (0-10)/2 = -5, G (0-20)/4 = -5, R (255-30)/5 = 45.
  EXPECT_NEAR(v2[0], -5.0f, 1e-5);
  EXPECT_NEAR(v2[1], -5.0f, 1e-5);
  EXPECT_NEAR(v2[2], 45.0f, 1e-5);
  auto pp = s2->Describe()["preprocessing"];
  EXPECT_EQ(pp["layout"], "nhwc");
  EXPECT_EQ(pp["order"], "bgr");
  EXPECT_EQ(pp["text"],
            "resize=none,crop=none,mean=10/20/30,std=2/4/5,layout=nhwc,order=bgr,scale=255");

  // Grayscale: gray pixels (r = g = b) keep their value; one channel.
  std::string gdir = tmp.Sub("gray");
  WritePng(gdir + "/g.png", 2, 2, {0, 0, 0, 51, 51, 51, 102, 102, 102, 255, 255, 255});
  auto g = MustOpen("images:" + gdir + "@order=gray,mean=0.5,std=0.5");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->SampleShape(), (Shape{1, 2, 2}));
  auto rg = g->Read(0, 1);
  ASSERT_TRUE(rg.ok());
  auto vg = Values(*rg);
  EXPECT_NEAR(vg[0], -1.0f, 1e-6);
  EXPECT_NEAR(vg[1], (0.2f - 0.5f) / 0.5f, 1e-6);
  EXPECT_NEAR(vg[2], (0.4f - 0.5f) / 0.5f, 1e-6);
  EXPECT_NEAR(vg[3], 1.0f, 1e-6);
}

TEST(ImageSourceTest, ResizeAndCentreCrop) {
  TempDir tmp;
  std::string dir = tmp.Sub("img");
  // 4 wide x 6 high, pixel value = 10 * row + col in every channel.
  std::vector<uint8_t> px;
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 4; ++x)
      for (int c = 0; c < 3; ++c) px.push_back(static_cast<uint8_t>(10 * y + x));
  WritePng(dir + "/a.png", 4, 6, px);
  // crop=2x2 from 4x6: left 1, top 2 -> rows 2..3, cols 1..2: 21 22 31 32.
  auto c = MustOpen("images:" + dir + "@crop=2,scale=255,order=gray");
  ASSERT_TRUE(c);
  auto rc = c->Read(0, 1);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(Values(*rc), (std::vector<float>{21, 22, 31, 32}));
  // crop=2x3 (W x H) from 4 x 6: left 1, top round-half-even(1.5) = 2 -> rows 2..4.
  auto c2 = MustOpen("images:" + dir + "@crop=2x3,scale=255,order=gray");
  EXPECT_EQ(c2->SampleShape(), (Shape{1, 3, 2}));
  auto rc2 = c2->Read(0, 1);
  ASSERT_TRUE(rc2.ok());
  EXPECT_EQ(Values(*rc2), (std::vector<float>{21, 22, 31, 32, 41, 42}));
  // resize=2: shorter side (width 4) -> 2, height 6 -> 3 (torchvision rule).
  auto r = MustOpen("images:" + dir + "@resize=2");
  EXPECT_EQ(r->SampleShape(), (Shape{3, 3, 2}));
  // resize=WxH exact.
  auto r2 = MustOpen("images:" + dir + "@resize=5x7,layout=nhwc");
  EXPECT_EQ(r2->SampleShape(), (Shape{7, 5, 3}));
  ASSERT_TRUE(r2->Read(0, 1).ok());
  // A uniform image stays uniform through the resize filter.
  std::string udir = tmp.Sub("uniform");
  WritePng(udir + "/u.png", 5, 3, std::vector<uint8_t>(45, 128));
  auto u = MustOpen("images:" + udir + "@resize=8,crop=6,scale=255");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->SampleShape(), (Shape{3, 6, 6}));
  auto ru = u->Read(0, 1);
  ASSERT_TRUE(ru.ok());
  for (float v : Values(*ru)) EXPECT_NEAR(v, 128.0f, 1e-3);
  // Crop larger than the image.
  auto big = OpenDataSource("images:" + dir + "@crop=10");
  ASSERT_TRUE(big.ok());  // size is fixed by the spec; the image is checked on Read
  std::string msg = ReadError(**big);
  EXPECT_NE(msg.find("a.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("larger than the image"), std::string::npos) << msg;
}

TEST(ImageSourceTest, JpegAndPngInNameOrderWithBatching) {
  TempDir tmp;
  std::string dir = tmp.Sub("img");
  WritePng(dir + "/1.png", 8, 8, std::vector<uint8_t>(192, 200));
  ASSERT_NE(
      stbi_write_jpg((dir + "/2.jpg").c_str(), 8, 8, 3, std::vector<uint8_t>(192, 40).data(), 100),
      0);
  WritePng(dir + "/3.png", 8, 8, std::vector<uint8_t>(192, 90));
  ASSERT_NE(stbi_write_jpg((dir + "/4.JPEG").c_str(), 8, 8, 3,
                           std::vector<uint8_t>(192, 160).data(), 100),
            0);
  auto s = MustOpen("images:" + dir + "@scale=255");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->NumSamples(), 4);
  auto r = s->Read(0, 4);
  ASSERT_TRUE(r.ok());
  auto v = Values(*r);
  EXPECT_NEAR(v[0], 200, 0.5);
  EXPECT_NEAR(v[192], 40, 2.0);  // JPEG at quality 100: within 2 levels
  EXPECT_NEAR(v[384], 90, 0.5);
  EXPECT_NEAR(v[576], 160, 2.0);
  ExpectBatchingEquivalent(*s, 4, 2);
  EXPECT_EQ(s->Describe()["files"], nlohmann::json({"1.png", "2.jpg", "3.png", "4.JPEG"}));
}

// Bad images: each message names the file and what is wrong with it.
TEST(ImageSourceTest, BadPngFilesAreNamed) {
  TempDir tmp;
  // Corrupt: PNG magic then garbage.
  std::string d1 = tmp.Sub("corrupt");
  WriteBytes(d1 + "/bad.png", std::string("\x89PNG\r\n\x1a\n", 8) + "garbage garbage garbage");
  std::string msg = OpenError("images:" + d1);
  EXPECT_NE(msg.find("bad.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupt"), std::string::npos) << msg;
  // Truncated PNG with a fixed-size spec: found on Read.
  std::string d2 = tmp.Sub("trunc");
  WritePng(d2 + "/a.png", 4, 4, std::vector<uint8_t>(48, 7));
  WritePng(d2 + "/b.png", 4, 4, std::vector<uint8_t>(48, 9));
  std::string b = ReadBytes(d2 + "/b.png");
  WriteBytes(d2 + "/b.png", b.substr(0, b.size() / 2));
  auto s = MustOpen("images:" + d2 + "@crop=4");
  ASSERT_TRUE(s);
  msg = ReadError(*s);
  EXPECT_NE(msg.find("b.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupt or truncated"), std::string::npos) << msg;
  // A chunk that claims more bytes than follow it (3.7 GB in a 2x2 image: stb_image would reserve
  // that much before reading; found by fuzz_image): refused before decoding, naming the chunk.
  std::string d2b = tmp.Sub("claims");
  WritePng(d2b + "/c.png", 2, 2, k2x2);
  std::string c = ReadBytes(d2b + "/c.png");
  size_t idat = c.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  c.replace(idat - 4, 4, std::string("\xe0\xad\x5c\x7b", 4));
  WriteBytes(d2b + "/c.png", c);
  msg = OpenError("images:" + d2b);
  EXPECT_NE(msg.find("c.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("PNG chunk 49 44 41 54 at byte " + std::to_string(idat - 4) +
                     " claims 3769457787 data bytes"),
            std::string::npos)
      << msg;
  // An empty IDAT chunk before any image data (stb_image would memcpy to a null pointer; found by
  // fuzz_image): an empty IDAT chunk inserted in front of the image data.
  std::string d2d = tmp.Sub("emptyidat");
  WritePng(d2d + "/e.png", 2, 2, k2x2);
  std::string e = ReadBytes(d2d + "/e.png");
  const size_t first_idat = e.find("IDAT") - 4;
  e.insert(first_idat, std::string("\0\0\0\0IDAT\x35\xaf\x06\x1e", 12));
  WriteBytes(d2d + "/e.png", e);
  msg = OpenError("images:" + d2d);
  EXPECT_NE(msg.find("e.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("PNG chunk IDAT at byte " + std::to_string(first_idat) + " is empty"),
            std::string::npos)
      << msg;
}

TEST(ImageSourceTest, BadJpegFilesAreNamed) {
  TempDir tmp;
  std::string msg;
  // A JPEG whose frame header claims far more blocks than the file has bytes for (stb_image
  // would pad the missing data with zeros and decode 11524 x 1024 pixels; found by fuzz_image).
  std::string d2c = tmp.Sub("jpegclaims");
  const std::vector<uint8_t> grey(192, 40);
  ASSERT_NE(stbi_write_jpg((d2c + "/big.jpg").c_str(), 8, 8, 3, grey.data(), 90), 0);
  std::string jpg = ReadBytes(d2c + "/big.jpg");
  size_t sof = jpg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  jpg.replace(sof + 5, 4, std::string("\x2d\x04\x04\x00", 4));  // height 11524, width 1024
  WriteBytes(d2c + "/big.jpg", jpg);
  msg = OpenError("images:" + d2c);
  EXPECT_NE(msg.find("big.jpg"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1024 x 11524 pixels (184448 blocks"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  // The same image with its true header decodes.
  jpg.replace(sof + 5, 4, std::string("\x00\x08\x00\x08", 4));
  WriteBytes(d2c + "/big.jpg", jpg);
  EXPECT_TRUE(MustOpen("images:" + d2c));
  // A scan reading a Huffman table no DHT segment defines (stb_image would decode with an
  // uninitialised table: a wild read; found by fuzz_image): the second table of the DHT segment
  // (AC 0) relabelled DC 2.
  size_t dht = jpg.find("\xff\xc4");
  ASSERT_NE(dht, std::string::npos);
  size_t second = dht + 4 + 17;
  for (size_t i = 1; i <= 16; ++i) second += static_cast<uint8_t>(jpg[dht + 4 + i]);
  ASSERT_EQ(static_cast<uint8_t>(jpg[second]), 0x10);
  jpg[second] = 0x02;
  WriteBytes(d2c + "/big.jpg", jpg);
  msg = OpenError("images:" + d2c);
  EXPECT_NE(msg.find("big.jpg"), std::string::npos) << msg;
  EXPECT_NE(msg.find("reads AC Huffman table 0, which no table segment before it defines"),
            std::string::npos)
      << msg;
  // The same, with stray bytes before the DHT segment: stb_image skips them to the next marker,
  // so the check must too (the walk once stopped there; found by fuzz_image).
  jpg.insert(dht, std::string("\x00\x14\x14", 3));
  WriteBytes(d2c + "/big.jpg", jpg);
  msg = OpenError("images:" + d2c);
  EXPECT_NE(msg.find("reads AC Huffman table 0, which no table segment before it defines"),
            std::string::npos)
      << msg;
}

TEST(ImageSourceTest, MislabelledAndEmptyFilesAreNamed) {
  TempDir tmp;
  std::string msg;
  // Text named .png; JPEG named .png; empty file.
  std::string d3 = tmp.Sub("liar");
  WriteBytes(d3 + "/text.png", "<html>not an image</html>");
  msg = OpenError("images:" + d3);
  EXPECT_NE(msg.find("text.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a PNG image"), std::string::npos) << msg;
  std::string d4 = tmp.Sub("jpegpng");
  ASSERT_NE(stbi_write_jpg((d4 + "/photo.png").c_str(), 2, 2, 3, k2x2.data(), 90), 0);
  msg = OpenError("images:" + d4);
  EXPECT_NE(msg.find("photo.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("extension says PNG but the contents are JPEG"), std::string::npos) << msg;
  std::string d5 = tmp.Sub("zero");
  WriteBytes(d5 + "/z.jpg", "");
  msg = OpenError("images:" + d5);
  EXPECT_NE(msg.find("z.jpg"), std::string::npos) << msg;
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
}

TEST(ImageSourceTest, MismatchedSizesAndBadSpecsAreNamed) {
  TempDir tmp;
  std::string msg;
  // Different sizes without a crop.
  std::string d6 = tmp.Sub("sizes");
  WritePng(d6 + "/a.png", 2, 2, k2x2);
  WritePng(d6 + "/b.png", 3, 2, std::vector<uint8_t>(18, 1));
  auto s6 = MustOpen("images:" + d6);
  ASSERT_TRUE(s6);
  msg = ReadError(*s6);
  EXPECT_NE(msg.find("b.png' is [3,2,3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'a.png' is [3,2,2]"), std::string::npos) << msg;
  // Unknown key and bad values in the spec.
  msg = OpenError("images:" + d6 + "@resise=3");
  EXPECT_NE(msg.find("unknown key 'resise'"), std::string::npos) << msg;
  msg = OpenError("images:" + d6 + "@mean=1/2");
  EXPECT_NE(msg.find("2 values for 3 channel"), std::string::npos) << msg;
  msg = OpenError("images:" + d6 + "@std=0");
  EXPECT_NE(msg.find("non-zero"), std::string::npos) << msg;
  msg = OpenError("images:" + d6 + "@layout=chw");
  EXPECT_NE(msg.find("nchw or nhwc"), std::string::npos) << msg;
}

TEST(ImageSourceTest, SpecRoundTripsThroughItsCanonicalText) {
  auto s = PreprocessSpec::Parse(
      "resize=256,crop=224,mean=0.485/0.456/0.406,std=0.229/0.224/"
      "0.225,layout=nchw,order=rgb,scale=1");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->resize_shorter, 256);
  EXPECT_EQ(s->crop_w, 224);
  EXPECT_EQ(s->crop_h, 224);
  auto again = PreprocessSpec::Parse(s->ToString());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->ToString(), s->ToString());
  EXPECT_EQ(s->ToString(),
            "resize=256,crop=224x224,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,layout=nchw,"
            "order=rgb,scale=1");
  auto wh = PreprocessSpec::Parse("resize=320x240,crop=300x200");
  ASSERT_TRUE(wh.ok());
  EXPECT_EQ(wh->resize_w, 320);
  EXPECT_EQ(wh->resize_h, 240);
  EXPECT_EQ(wh->FixedWidth(), 300);
  EXPECT_EQ(wh->FixedHeight(), 200);
  EXPECT_EQ(PreprocessSpec::Parse("").value().ToString(),
            "resize=none,crop=none,mean=0,std=1,layout=nchw,order=rgb,scale=1");
}

}  // namespace
}  // namespace calib8::data
