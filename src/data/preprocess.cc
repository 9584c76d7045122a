// data/preprocess.cc — PreprocessSpec (the "resize=256,crop=224,..." text form, its canonical
// string and JSON) and PreprocessImage, the pixel pipeline the images:DIR source runs per image:
// resize (stb_image_resize, triangle filter) -> centre crop -> scale -> mean/std -> layout.
#include <stb/stb_image_resize.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "data/data_source.h"

namespace calib8::data {

namespace {

std::vector<std::string> Split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t p = text.find(sep, start);
    parts.emplace_back(text.substr(start, p == std::string_view::npos ? p : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return parts;
}

bool ParsePositiveInt(const std::string& s, int* out) {
  if (s.empty() || s.size() > 6) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  *out = std::atoi(s.c_str());
  return *out > 0;
}

// "S" -> (S, 0) or "WxH" -> (W, H).
bool ParseSize(const std::string& s, int* a, int* b) {
  size_t x = s.find_first_of("xX");
  if (x == std::string::npos) {
    *b = 0;
    return ParsePositiveInt(s, a);
  }
  return ParsePositiveInt(s.substr(0, x), a) && ParsePositiveInt(s.substr(x + 1), b);
}

bool ParseFloats(const std::string& s, std::vector<float>* out) {
  out->clear();
  for (const auto& part : Split(s, '/')) {
    if (part.empty()) return false;
    char* end = nullptr;
    float v = std::strtof(part.c_str(), &end);
    if (end != part.c_str() + part.size() || !std::isfinite(v)) return false;
    out->push_back(v);
  }
  return !out->empty();
}

std::string JoinFloats(const std::vector<float>& v, float dflt) {
  if (v.empty()) return JoinFloats({dflt}, dflt);
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), v[i]);  // shortest text that reads back exactly
    if (i) out += '/';
    out.append(buf, r.ptr);
  }
  return out;
}

// torchvision's center_crop offset: int(round((size - crop) / 2.0)), Python rounding half to even.
int CropOffset(int size, int crop) {
  int d = size - crop;
  if (d % 2 == 0) return d / 2;
  int k = d / 2;  // d / 2.0 == k + 0.5
  return (k % 2 == 0) ? k : k + 1;
}

const char* LayoutName(PreprocessSpec::Layout l) {
  return l == PreprocessSpec::Layout::kNCHW ? "nchw" : "nhwc";
}
const char* OrderName(PreprocessSpec::Order o) {
  return o == PreprocessSpec::Order::kRGB   ? "rgb"
         : o == PreprocessSpec::Order::kBGR ? "bgr"
                                            : "gray";
}

}  // namespace

int PreprocessSpec::FixedHeight() const { return crop_h ? crop_h : resize_h; }
int PreprocessSpec::FixedWidth() const { return crop_w ? crop_w : resize_w; }

Shape PreprocessSpec::SampleShape(int h, int w) const {
  if (layout == Layout::kNCHW) return {Channels(), h, w};
  return {h, w, Channels()};
}

Result<PreprocessSpec> PreprocessSpec::Parse(std::string_view text) {
  PreprocessSpec s;
  if (text.empty()) return s;
  for (const auto& item : Split(text, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string::npos)
      return InvalidArgument("preprocessing '", text, "': item '", item,
                             "' is not key=value: expected e.g. resize=256,crop=224");
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    auto bad = [&](const char* expected) {
      return InvalidArgument("preprocessing '", text, "': ", key, "='", value, "': expected ",
                             expected);
    };
    if (key == "resize") {
      int a, b;
      if (!ParseSize(value, &a, &b)) return bad("a shorter side S or WxH, positive integers");
      s.resize_shorter = b ? 0 : a;
      s.resize_w = b ? a : 0;
      s.resize_h = b;
    } else if (key == "crop") {
      int a, b;
      if (!ParseSize(value, &a, &b)) return bad("a size S or WxH, positive integers");
      s.crop_w = a;
      s.crop_h = b ? b : a;
    } else if (key == "mean") {
      if (!ParseFloats(value, &s.mean))
        return bad("numbers separated by '/', e.g. 0.485/0.456/0.406");
    } else if (key == "std") {
      if (!ParseFloats(value, &s.std))
        return bad("numbers separated by '/', e.g. 0.229/0.224/0.225");
      for (float v : s.std)
        if (v == 0) return bad("non-zero values");
    } else if (key == "layout") {
      if (value == "nchw")
        s.layout = Layout::kNCHW;
      else if (value == "nhwc")
        s.layout = Layout::kNHWC;
      else
        return bad("nchw or nhwc");
    } else if (key == "order" || key == "color") {
      if (value == "rgb")
        s.order = Order::kRGB;
      else if (value == "bgr")
        s.order = Order::kBGR;
      else if (value == "gray" || value == "grey")
        s.order = Order::kGray;
      else
        return bad("rgb, bgr or gray");
    } else if (key == "scale") {
      if (value == "1")
        s.scale = 1;
      else if (value == "255")
        s.scale = 255;
      else
        return bad("1 (pixels in [0,1]) or 255 (pixels in [0,255])");
    } else {
      return InvalidArgument("preprocessing '", text, "': unknown key '", key,
                             "': expected resize, crop, mean, std, layout, order or scale");
    }
  }
  for (const auto* v : {&s.mean, &s.std}) {
    if (v->size() > 1 && static_cast<int>(v->size()) != s.Channels())
      return InvalidArgument("preprocessing '", text, "': ", v == &s.mean ? "mean" : "std", " has ",
                             v->size(), " values for ", s.Channels(), " channel(s): expected 1 or ",
                             s.Channels());
  }
  return s;
}

std::string PreprocessSpec::ToString() const {
  std::ostringstream os;
  os << "resize=";
  if (resize_shorter)
    os << resize_shorter;
  else if (resize_w)
    os << resize_w << "x" << resize_h;
  else
    os << "none";
  os << ",crop=";
  if (crop_w)
    os << crop_w << "x" << crop_h;
  else
    os << "none";
  os << ",mean=" << JoinFloats(mean, 0) << ",std=" << JoinFloats(std, 1)
     << ",layout=" << LayoutName(layout) << ",order=" << OrderName(order)
     << ",scale=" << (scale == 1 ? "1" : "255");
  return os.str();
}

nlohmann::json PreprocessSpec::ToJson() const {
  nlohmann::json j;
  if (resize_shorter)
    j["resize"] = {{"shorter_side", resize_shorter}};
  else if (resize_w)
    j["resize"] = {{"width", resize_w}, {"height", resize_h}};
  else
    j["resize"] = nullptr;
  if (resize_shorter || resize_w) j["resize_filter"] = "triangle (bilinear, antialiased)";
  if (crop_w)
    j["center_crop"] = {{"width", crop_w}, {"height", crop_h}};
  else
    j["center_crop"] = nullptr;
  j["mean"] = mean.empty() ? std::vector<float>{0.0f} : mean;
  j["std"] = std.empty() ? std::vector<float>{1.0f} : std;
  j["layout"] = LayoutName(layout);
  j["order"] = OrderName(order);
  j["scale"] = scale == 1 ? "[0,1]" : "[0,255]";
  j["text"] = ToString();
  return j;
}

Result<std::vector<float>> PreprocessImage(const uint8_t* pixels, int h, int w, int c,
                                           const PreprocessSpec& spec, const std::string& what,
                                           int* out_h, int* out_w) {
  if (c != spec.Channels())
    return Internal(what, ": decoded with ", c, " channels, expected ", spec.Channels());
  std::vector<float> img(static_cast<size_t>(h) * w * c);
  for (size_t i = 0; i < img.size(); ++i) img[i] = pixels[i];

  int rh = h, rw = w;
  if (spec.resize_shorter) {
    // torchvision Resize(S): the shorter side becomes S, the longer int(S * long / short).
    if (w <= h) {
      rw = spec.resize_shorter;
      rh = static_cast<int>(static_cast<int64_t>(spec.resize_shorter) * h / w);
    } else {
      rh = spec.resize_shorter;
      rw = static_cast<int>(static_cast<int64_t>(spec.resize_shorter) * w / h);
    }
  } else if (spec.resize_w) {
    rw = spec.resize_w;
    rh = spec.resize_h;
  }
  if (rh != h || rw != w) {
    std::vector<float> resized(static_cast<size_t>(rh) * rw * c);
    int ok = stbir_resize_float_generic(img.data(), w, h, 0, resized.data(), rw, rh, 0, c,
                                        STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP,
                                        STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, nullptr);
    if (!ok) return Internal(what, ": resizing from ", w, "x", h, " to ", rw, "x", rh, " failed");
    img.swap(resized);
  }

  int top = 0, left = 0, oh = rh, ow = rw;
  if (spec.crop_w) {
    if (spec.crop_w > rw || spec.crop_h > rh)
      return InvalidArgument(what, ": centre crop ", spec.crop_w, "x", spec.crop_h,
                             " is larger than the image (", rw, "x", rh,
                             (rw != w || rh != h) ? " after resize" : "",
                             "): expected a crop no larger than the image, or a larger resize=");
    oh = spec.crop_h;
    ow = spec.crop_w;
    top = CropOffset(rh, oh);
    left = CropOffset(rw, ow);
  }

  std::vector<float> mean(static_cast<size_t>(c), 0.0f), stdev(static_cast<size_t>(c), 1.0f);
  for (int k = 0; k < c; ++k) {
    if (!spec.mean.empty()) mean[k] = spec.mean[spec.mean.size() == 1 ? 0 : k];
    if (!spec.std.empty()) stdev[k] = spec.std[spec.std.size() == 1 ? 0 : k];
  }
  const float unit = spec.scale / 255.0f;
  bool bgr = spec.order == PreprocessSpec::Order::kBGR;
  bool nchw = spec.layout == PreprocessSpec::Layout::kNCHW;
  std::vector<float> out(static_cast<size_t>(oh) * ow * c);
  for (int y = 0; y < oh; ++y) {
    for (int x = 0; x < ow; ++x) {
      const float* px = &img[(static_cast<size_t>(y + top) * rw + (x + left)) * c];
      for (int k = 0; k < c; ++k) {
        int src_k = bgr ? c - 1 - k : k;  // output channel k takes input channel src_k
        // Mean and std belong to the output channel (BGR models list them in BGR order).
        float v = (px[src_k] * unit - mean[k]) / stdev[k];
        size_t idx = nchw ? (static_cast<size_t>(k) * oh + y) * ow + x
                          : (static_cast<size_t>(y) * ow + x) * c + k;
        out[idx] = v;
      }
    }
  }
  *out_h = oh;
  *out_w = ow;
  return out;
}

}  // namespace calib8::data
