// table/fingerprint.cc — model and data fingerprints with XXH3 (Debian libxxhash-dev). The model
// is hashed field by field through the IR, with every string and array length-prefixed, so
// that no two different graphs serialise to the same byte stream.
#include "table/fingerprint.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace calib8::table {

namespace {

std::string FormatDigest(uint64_t h) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "xxh3-64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Length-prefixed writes into one XXH3 stream.
class Hasher {
 public:
  Hasher() : s_(XXH3_createState()) { XXH3_64bits_reset(s_); }
  ~Hasher() { XXH3_freeState(s_); }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Raw(const void* p, size_t n) { XXH3_64bits_update(s_, p, n); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void I64(int64_t v) { Raw(&v, sizeof v); }
  void Str(std::string_view s) {
    U64(s.size());
    Raw(s.data(), s.size());
  }
  void Tag(char c) { Raw(&c, 1); }
  uint64_t Digest() const { return XXH3_64bits_digest(s_); }

 private:
  XXH3_state_t* s_;
};

void HashTensor(Hasher& h, const Tensor& t) {
  h.I64(static_cast<int64_t>(t.dtype()));
  h.U64(t.shape().size());
  for (int64_t d : t.shape()) h.I64(d);
  h.U64(t.nbytes());
  if (t.nbytes()) h.Raw(t.raw(), t.nbytes());
}

void HashValueInfo(Hasher& h, const ir::ValueInfo& v) {
  h.Str(v.name);
  h.I64(static_cast<int64_t>(v.dtype));
  h.Tag(v.has_shape ? 'S' : 'U');
  h.U64(v.dims.size());
  for (const auto& d : v.dims) {
    h.I64(d.value);
    h.Str(d.param);
  }
}

void HashAttribute(Hasher& h, const ir::Attribute& a) {
  using K = ir::Attribute::Kind;
  h.I64(static_cast<int64_t>(a.kind));
  switch (a.kind) {
    case K::kInt:
      h.I64(a.i);
      break;
    case K::kFloat:
      h.Raw(&a.f, sizeof a.f);
      break;
    case K::kString:
      h.Str(a.s);
      break;
    case K::kTensor:
      HashTensor(h, a.t);
      break;
    case K::kInts:
      h.U64(a.ints.size());
      for (int64_t v : a.ints) h.I64(v);
      break;
    case K::kFloats:
      h.U64(a.floats.size());
      if (!a.floats.empty()) h.Raw(a.floats.data(), a.floats.size() * sizeof(float));
      break;
    case K::kStrings:
      h.U64(a.strings.size());
      for (const auto& s : a.strings) h.Str(s);
      break;
    case K::kGraph:
      h.Tag('G');
      break;  // sub-graphs are unsupported by calib8
  }
}

}  // namespace

std::string ModelFingerprint(const ir::Graph& g) {
  Hasher h;
  h.Str("calib8-model-fingerprint-v1");
  h.U64(g.opsets.size());
  for (const auto& [domain, version] : g.opsets) {  // std::map: sorted
    h.Str(domain);
    h.I64(version);
  }
  h.U64(g.inputs.size());
  for (const auto& v : g.inputs) HashValueInfo(h, v);
  h.U64(g.outputs.size());
  for (const auto& v : g.outputs) HashValueInfo(h, v);
  h.U64(g.nodes.size());
  for (const auto& n : g.nodes) {
    h.Str(n.op_type);
    h.Str(n.domain);
    h.U64(n.inputs.size());
    for (const auto& s : n.inputs) h.Str(s);
    h.U64(n.outputs.size());
    for (const auto& s : n.outputs) h.Str(s);
    h.U64(n.attrs.size());
    for (const auto& [key, attr] : n.attrs) {  // std::map: sorted by name
      h.Str(key);
      HashAttribute(h, attr);
    }
  }
  std::vector<const std::string*> names;
  names.reserve(g.initializers.size());
  for (const auto& [name, t] : g.initializers) names.push_back(&name);
  std::sort(names.begin(), names.end(), [](auto* a, auto* b) { return *a < *b; });
  h.U64(names.size());
  for (const auto* name : names) {
    h.Str(*name);
    HashTensor(h, g.initializers.at(*name));
  }
  return FormatDigest(h.Digest());
}

struct DataFingerprintBuilder::State {
  Hasher hasher;
};

DataFingerprintBuilder::DataFingerprintBuilder() : state_(std::make_unique<State>()) {
  state_->hasher.Str("calib8-data-fingerprint-v1");
}
DataFingerprintBuilder::~DataFingerprintBuilder() = default;

void DataFingerprintBuilder::AddSample(std::string_view name, std::string_view bytes) {
  state_->hasher.Tag('S');
  state_->hasher.Str(name);
  state_->hasher.Str(bytes);
  ++num_samples_;
}

void DataFingerprintBuilder::SetPreprocessing(std::string_view description) {
  preprocessing_ = std::string(description);
}

std::string DataFingerprintBuilder::Digest() const {
  // Finish on a copy so the stream can go on: hash the running digest with the preprocessing.
  Hasher h;
  h.U64(state_->hasher.Digest());
  h.I64(num_samples_);
  h.Str(preprocessing_);
  return FormatDigest(h.Digest());
}

std::string BytesFingerprint(std::string_view bytes) {
  return FormatDigest(XXH3_64bits(bytes.data(), bytes.size()));
}

}  // namespace calib8::table
