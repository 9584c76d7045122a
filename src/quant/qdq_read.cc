// quant/qdq_read.cc — import-qdq's table reading as an IR pass (ReadQdqTable; qdq_read.h): every
// QuantizeLinear on an activation gives a table entry (or a report line saying why not), calib8's
// export record in the metadata restores the exact table bits, and the DequantizeLinear after an
// INT8 custom op gives that op's output scale.
#include "quant/qdq_read.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "quant/quant_params.h"

namespace calib8::quant {
namespace {

// One read (ReadQdqTable): the graph's constants, calib8's export record and the table built
// from the Q/DQ nodes, which are visited in the file's order.
struct QdqReader {
  QdqReader(const ir::Graph& g, const QdqModelInfo& meta, QdqImportReport& rep)
      : g(g), meta(meta), source(meta.source), rep(rep) {}

  static bool IsDefaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

  // The nodes in file order, each with its index in the file.
  void OrderNodes() {
    for (const auto& n : g.nodes) {
      auto it = meta.nodes.find(n.name);
      order.push_back(
          {it == meta.nodes.end() ? static_cast<int>(g.nodes.size()) + 1000000 : it->second.first,
           &n});
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }

  // "node 'name' (Op)", "#<file index>" for an unnamed node.
  std::string Label(const ir::Node& n, int index) const {
    std::string name = FileName(n);
    if (name.empty()) name.append("#").append(std::to_string(index));
    return "node '" + name + "' (" + n.op_type + ")";
  }
  std::string FileName(const ir::Node& n) const {
    auto it = meta.nodes.find(n.name);
    return it == meta.nodes.end() ? n.name : it->second.second;
  }

  // The constants: initializers, `value` Constant nodes, and Identity nodes reading a constant
  // that the file defines before them (torch's export reads deduplicated constants through them).
  void IndexConstants() {
    for (const auto& [name, t] : g.initializers)
      if (!meta.other_constants.count(name)) constants[name] = &t;
    for (const auto& [index, n] : order) {
      if (n->op_type != "Identity" || !IsDefaultDomain(n->domain) || n->inputs.size() != 1 ||
          n->outputs.size() != 1)
        continue;
      auto c = constants.find(n->inputs[0]);
      auto cn = meta.constant_nodes.find(n->inputs[0]);
      if (c != constants.end() && (cn == meta.constant_nodes.end() || cn->second < index))
        constants[n->outputs[0]] = c->second;
    }
  }

  // Restores the table's header (calib8.table_header) and reads the --target ort export's record
  // (calib8.qdq_sources): Q input -> (table entry, its int8 scale bits), or carried-over scales,
  // and the scale bits of the asymmetric pairs.
  void ReadMetadata() {
    for (const auto& [key, value] : meta.metadata) {
      if (key != kQdqHeaderKey) continue;
      auto parsed = table::ParseTable(value + "\n", meta.path, table::TableFormat::kTensorRt);
      if (parsed.ok())
        out.header = parsed->header;
      else
        rep.warnings.push_back(source + ": metadata " + kQdqHeaderKey +
                               " is not a TensorRT header");
    }
    for (const auto& [key, value] : meta.metadata) {
      if (key != kQdqSourcesKey) continue;
      std::istringstream in(value);
      std::string line;
      while (std::getline(in, line)) ReadSourceLine(line);
    }
  }
  void ReadSourceLine(const std::string& line) {
    auto t1 = line.find('\t'), t2 = line.rfind('\t');
    if (t1 == std::string::npos || t2 == t1) return;
    std::string q = line.substr(0, t1), entry = line.substr(t1 + 1, t2 - t1 - 1),
                last = line.substr(t2 + 1);
    const bool hex =
        last.size() == 8 && last.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (entry == "-") {
      carried[q] = last;
    } else if (entry == "@asym") {
      if (hex) asym_scale[q] = static_cast<uint32_t>(std::stoul(last, nullptr, 16));
    } else if (hex) {
      sources[q] = {entry, static_cast<uint32_t>(std::stoul(last, nullptr, 16))};
    }
  }

  const Tensor* Constant(const std::string& name) const {
    auto it = constants.find(name);
    return it == constants.end() ? nullptr : it->second;
  }

  // One QuantizeLinear node `n` (file index `i`): a table entry for its activation, or a line in
  // the report saying why there is none (weights, carried scales, other zero points).
  Status ReadQuantize(const ir::Node& n, int i) {
    const std::string label = Label(n, i);
    if (n.inputs.size() < 2) {
      rep.skipped.push_back(label + ": no y_scale input");
      return Status::Ok();
    }
    const std::string& x = n.inputs[0];
    const Tensor* scale = Constant(n.inputs[1]);
    if (!scale) {
      rep.skipped.push_back(label + ": y_scale '" + n.inputs[1] + "' is not a constant");
      return Status::Ok();
    }
    if (scale->dtype() != DataType::kFloat32) {
      rep.skipped.push_back(label + ": y_scale is " + DataTypeName(scale->dtype()) +
                            ", expected float32");
      return Status::Ok();
    }
    if (constants.count(x) || scale->numel() != 1) {
      std::string axis = scale->numel() > 1 ? ", axis " + std::to_string(n.GetInt("axis", 1)) : "";
      rep.weights.push_back(x + ": " + std::to_string(scale->numel()) + " scale(s)" + axis);
      return Status::Ok();
    }
    if (carried.count(x)) {
      rep.skipped.push_back(label + ": tensor '" + x + "': scale carried over from '" + carried[x] +
                            "' by calib8's --target ort export (not its own table entry)");
      return Status::Ok();
    }
    bool u8_zero = false;
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      bool done = false;
      u8_zero = ReadZeroPoint(n, label, *scale, &done);
      if (done) return Status::Ok();
    }
    return AddEntry(label, x, *scale, u8_zero);
  }

  // The zero point of Q node `n`: int8 0 (or none), uint8 128 (the int8 grid shifted) or uint8 0
  // (non-negative; the return value). Sets *done when the node gives no further entry (skipped,
  // or calib8's own asymmetric pair, whose entry is the export's record).
  bool ReadZeroPoint(const ir::Node& n, const std::string& label, const Tensor& scale, bool* done) {
    const std::string& x = n.inputs[0];
    *done = true;
    const Tensor* z = Constant(n.inputs[2]);
    if (!z) {
      rep.skipped.push_back(label + ": zero point '" + n.inputs[2] + "' is not a constant");
      return false;
    }
    if (z->dtype() != DataType::kInt8 && z->dtype() != DataType::kUint8) {
      rep.skipped.push_back(label + ": tensor '" + x + "': zero point is " +
                            DataTypeName(z->dtype()) + ", expected int8 or uint8");
      return false;
    }
    const bool s8 = z->dtype() == DataType::kInt8;
    int zv = z->numel() != 1 ? -1 : s8 ? z->data<int8_t>()[0] : z->data<uint8_t>()[0];
    bool ok = s8 ? zv == 0 : (zv == 0 || zv == 128);
    auto as = asym_scale.find(x);
    if (!s8 && as != asym_scale.end() && sources.count(x) &&
        as->second == table::FloatToBits(scale.data<float>()[0])) {
      // calib8's own asymmetric pair (zero point from the sidecar's range): the table entry is
      // the export's record.
      const auto& rec = sources[x];
      if (out.Find(rec.first) < 0) Put(rec.first, rec.second);
      return false;
    }
    if (!ok) {
      rep.skipped.push_back(label + ": tensor '" + x + "': " + DataTypeName(z->dtype()) +
                            " zero point " + std::to_string(zv) +
                            (s8 ? ", expected 0" : ", expected 0 or 128") +
                            " (asymmetric quantization has no TensorRT entry)");
      return false;
    }
    *done = false;
    return !s8 && zv == 0;
  }

  void Put(const std::string& name, uint32_t bits) {
    table::TableEntry e;
    e.name = name;
    e.kind = table::EntryKind::kActivation;
    e.scale_bits = {bits};
    out.Put(std::move(e));
  }

  // Puts activation `x` into the table with the scale of its Q node `label`: the export's record
  // when it agrees with the model's scale; uint8 with zero point 0 (`u8_zero`) is converted to
  // amax / 127. A tensor already in the table keeps its first scale.
  Status AddEntry(const std::string& label, std::string x, const Tensor& scale, bool u8_zero) {
    float s = scale.data<float>()[0];
    uint32_t bits = table::FloatToBits(s);
    if (!std::isfinite(s) || !(s > 0.0f))
      return InvalidArgument(source, ": ", label, ": tensor '", x, "': y_scale ",
                             table::ShortestDecimal(s), " (bits ", table::HexBits(bits),
                             "): expected a finite positive scale");
    std::string entry_name = x;
    auto src = sources.find(x);
    bool from_meta = false;  // the export's own record, used only when it agrees with the model
    if (src != sources.end()) {
      float s127 = table::BitsToFloat(src->second.second);
      float want = u8_zero ? ScaleFromAmax(AmaxFromScale(s127), true) : s127;
      if (table::FloatToBits(want) == bits) {
        entry_name = src->second.first;
        bits = src->second.second;
        from_meta = true;
      } else {
        rep.warnings.push_back(source + ": " + label + ": tensor '" + x +
                               "': scale does not match the export's record in " + kQdqSourcesKey +
                               " (model edited?): the scale in the graph is used");
      }
    }
    if (u8_zero && !from_meta) {
      // amax = 255 * scale, written as a TensorRT scale amax / 127.
      bits = table::FloatToBits(ScaleFromAmax(AmaxFromScale(s, true)));
      rep.converted.push_back(x + ": uint8 with zero point 0, amax = 255 x scale");
    }
    x = entry_name;
    int idx = out.Find(x);
    if (idx >= 0) {
      if (out.entries()[idx].bits() != bits)
        rep.warnings.push_back(source + ": " + label + ": tensor '" + x +
                               "' is quantized again with another scale (" + table::HexBits(bits) +
                               " vs " + table::HexBits(out.entries()[idx].bits()) +
                               "): the first is kept");
      return Status::Ok();
    }
    Put(x, bits);
    return Status::Ok();
  }

  // The outputs of INT8 custom ops (export-qdq --target tensorrt: input -> Q -> plugin -> DQ):
  // their scale is on the DequantizeLinear that reads the plugin's int8 output.
  Status ReadPluginOutputs() {
    // The last producer in the file of each value; Constant nodes (default domain, never custom
    // ops: they clear a custom op's earlier entry) are initializers in the IR.
    std::map<std::string, std::pair<int, const ir::Node*>> last;
    for (const auto& [index, n] : order)
      for (const auto& o : n->outputs) last[o] = {index, n};
    for (const auto* cs : {&meta.constant_nodes, &meta.other_constants})
      for (const auto& [name, index] : *cs) {
        auto it = last.find(name);
        if (it != last.end() && it->second.first < index) last.erase(it);
      }
    std::map<std::string, const ir::Node*> producer;
    for (const auto& [name, p] : last) producer[name] = p.second;
    for (const auto& [i, n] : order) {
      if (n->op_type != "DequantizeLinear" || !IsDefaultDomain(n->domain) || n->inputs.size() < 2 ||
          n->outputs.size() != 1 || out.Find(n->outputs[0]) >= 0)
        continue;
      auto p = producer.find(n->inputs[0]);
      const Tensor* scale = Constant(n->inputs[1]);
      if (p == producer.end() || IsDefaultDomain(p->second->domain) ||
          p->second->domain == "com.microsoft" || !scale)
        continue;
      const std::string label = Label(*n, i);
      if (scale->dtype() != DataType::kFloat32 || scale->numel() != 1) continue;
      if (n->inputs.size() > 2 && !n->inputs[2].empty()) {
        const Tensor* z = Constant(n->inputs[2]);
        if (!z) continue;
        if (z->dtype() != DataType::kInt8 || z->numel() != 1 || z->data<int8_t>()[0] != 0) {
          rep.skipped.push_back(label + ": the output of custom op '" + FileName(*p->second) +
                                "' has a zero point other than int8 0 (no TensorRT entry)");
          continue;
        }
      }
      const float s = scale->data<float>()[0];
      if (!std::isfinite(s) || !(s > 0.0f))
        return InvalidArgument(source, ": ", label, ": x_scale ", table::ShortestDecimal(s),
                               ": expected a finite positive scale");
      Put(n->outputs[0], table::FloatToBits(s));
    }
    return Status::Ok();
  }

  const ir::Graph& g;
  const QdqModelInfo& meta;
  const std::string& source;
  QdqImportReport& rep;
  std::vector<std::pair<int, const ir::Node*>> order;
  std::map<std::string, const Tensor*> constants;
  table::CalibrationTable out;
  std::map<std::string, std::pair<std::string, uint32_t>> sources;
  std::map<std::string, std::string> carried;
  std::map<std::string, uint32_t> asym_scale;
};

}  // namespace

Result<table::CalibrationTable> ReadQdqTable(const ir::Graph& g, const QdqModelInfo& meta,
                                             QdqImportReport* report) {
  QdqImportReport local;
  QdqReader r(g, meta, report ? *report : local);
  r.OrderNodes();
  r.IndexConstants();
  r.ReadMetadata();
  int quantize_nodes = 0;
  for (const auto& [i, n] : r.order) {
    if (n->op_type != "QuantizeLinear" ||
        !(QdqReader::IsDefaultDomain(n->domain) || n->domain == "com.microsoft"))
      continue;
    ++quantize_nodes;
    CALIB8_RETURN_IF_ERROR(r.ReadQuantize(*n, i));
  }
  CALIB8_RETURN_IF_ERROR(r.ReadPluginOutputs());
  if (quantize_nodes == 0)
    return InvalidArgument(meta.source, ": no QuantizeLinear node: expected a Q/DQ model");
  return std::move(r.out);
}

}  // namespace calib8::quant
