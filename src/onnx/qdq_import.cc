// onnx/qdq_import.cc — `calib8 import-qdq` (ImportQdqFile; qdq.h): parses the Q/DQ model, builds
// calib8's IR (no shape inference) and reads the table with the IR pass quant::ReadQdqTable,
// giving it the model's metadata and the file's node order and names. A model the IR cannot hold
// (GraphFromModel refuses it: an initializer or attribute it cannot convert, a dangling input, a
// cycle, no nodes, two nodes under one IR name) is read from the protobuf by the reader below, as
// before the IR pass, so that import-qdq accepts every model it accepted before.
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "core/file_util.h"
#include "onnx/onnx_import.h"
#include "onnx/qdq.h"
#include "onnx/qdq_util.h"
#include "quant/qdq_read.h"
#include "quant/quant_params.h"

namespace calib8::onnx_io {
namespace fs = std::filesystem;
using namespace qdq_detail;  // NOLINT(google-build-using-namespace): the Q/DQ files' own helpers

namespace {

// The protobuf reader, for the models GraphFromModel refuses (ImportQdqFile): the model's
// constants and calib8's export record in its metadata, and the table built from its Q/DQ nodes.
struct QdqImporter {
  QdqImporter(const onnx::GraphProto& g, const std::string& source, const std::string& dir,
              QdqImportReport& rep)
      : g(g), source(source), dir(dir), rep(rep) {}

  // Indexes the constants: initializers, Constant nodes and Identity nodes reading a constant.
  void IndexConstants() {
    for (const auto& i : g.initializer()) constants[i.name()] = &i;
    for (const auto& n : g.node()) {
      if (n.op_type() == "Constant" && IsDefaultDomain(n.domain()) && n.output_size() == 1)
        for (const auto& a : n.attribute())
          if (a.name() == "value" && a.has_t()) constants[n.output(0)] = &a.t();
      // torch's export deduplicates equal constants and reads the copies through Identity nodes
      // (`Identity(onnx::QuantizeLinear_59) -> onnx::QuantizeLinear_61`, a shared zero point).
      if (n.op_type() == "Identity" && IsDefaultDomain(n.domain()) && n.input_size() == 1 &&
          n.output_size() == 1 && constants.count(n.input(0)))
        constants[n.output(0)] = constants[n.input(0)];
    }
  }

  // Restores the table's header from the export's metadata (calib8.table_header).
  void ReadHeader(const onnx::ModelProto& model, const std::string& path) {
    for (const auto& kv : model.metadata_props()) {
      if (kv.key() != kHeaderKey) continue;
      auto parsed = table::ParseTable(kv.value() + "\n", path, table::TableFormat::kTensorRt);
      if (parsed.ok())
        out.header = parsed->header;
      else
        rep.warnings.push_back(source + ": metadata " + kHeaderKey + " is not a TensorRT header");
    }
  }

  // Reads the --target ort export's record (calib8.qdq_sources): Q input -> (table entry, its int8
  // scale bits), or carried-over scales, and the scale bits of the asymmetric pairs.
  void ReadExportRecord(const onnx::ModelProto& model) {
    for (const auto& kv : model.metadata_props()) {
      if (kv.key() != kSourcesKey) continue;
      std::istringstream in(kv.value());
      std::string line;
      while (std::getline(in, line)) {
        auto t1 = line.find('\t'), t2 = line.rfind('\t');
        if (t1 == std::string::npos || t2 == t1) continue;
        std::string q = line.substr(0, t1), entry = line.substr(t1 + 1, t2 - t1 - 1),
                    last = line.substr(t2 + 1);
        const bool hex =
            last.size() == 8 && last.find_first_not_of("0123456789abcdef") == std::string::npos;
        if (entry == "-") {
          carried[q] = last;
        } else if (entry == "@asym") {
          if (hex) asym_scale[q] = static_cast<uint32_t>(std::stoul(last, nullptr, 16));
        } else if (last.size() == 8 &&
                   last.find_first_not_of("0123456789abcdef") == std::string::npos) {
          sources[q] = {entry, static_cast<uint32_t>(std::stoul(last, nullptr, 16))};
        }
      }
    }
  }

  // One QuantizeLinear node `n` (node `i`): a table entry for its activation, or a line in the
  // report saying why there is none (weights, carried scales, other zero points).
  Status ImportQuantize(const onnx::NodeProto& n, int i) {
    const std::string label = NodeLabel(n, i);
    if (n.input_size() < 2) {
      rep.skipped.push_back(label + ": no y_scale input");
      return Status::Ok();
    }
    std::string x = n.input(0);
    auto sp = constants.find(n.input(1));
    if (sp == constants.end()) {
      rep.skipped.push_back(label + ": y_scale '" + n.input(1) + "' is not a constant");
      return Status::Ok();
    }
    CALIB8_ASSIGN_OR_RETURN(Tensor scale,
                            TensorFromProto(*sp->second, source + ": " + label + ": y_scale", dir));
    if (scale.dtype() != DataType::kFloat32) {
      rep.skipped.push_back(label + ": y_scale is " + DataTypeName(scale.dtype()) +
                            ", expected float32");
      return Status::Ok();
    }
    if (constants.count(x) || scale.numel() != 1) {
      std::string axis = scale.numel() > 1 ? ", axis " + std::to_string(IntAttr(n, "axis", 1)) : "";
      rep.weights.push_back(x + ": " + std::to_string(scale.numel()) + " scale(s)" + axis);
      return Status::Ok();
    }
    if (carried.count(x)) {
      rep.skipped.push_back(label + ": tensor '" + x + "': scale carried over from '" + carried[x] +
                            "' by calib8's --target ort export (not its own table entry)");
      return Status::Ok();
    }
    // Zero point: int8 0 (or none), uint8 128 (the int8 grid shifted) or uint8 0 (non-negative).
    bool u8_zero = false;
    if (n.input_size() > 2 && !n.input(2).empty()) {
      auto zp = constants.find(n.input(2));
      if (zp == constants.end()) {
        rep.skipped.push_back(label + ": zero point '" + n.input(2) + "' is not a constant");
        return Status::Ok();
      }
      CALIB8_ASSIGN_OR_RETURN(Tensor z, TensorFromProto(*zp->second, source + ": " + label, dir));
      if (z.dtype() != DataType::kInt8 && z.dtype() != DataType::kUint8) {
        rep.skipped.push_back(label + ": tensor '" + x + "': zero point is " +
                              DataTypeName(z.dtype()) + ", expected int8 or uint8");
        return Status::Ok();
      }
      int zv = z.numel() != 1                 ? -1
               : z.dtype() == DataType::kInt8 ? z.data<int8_t>()[0]
                                              : z.data<uint8_t>()[0];
      bool ok = z.dtype() == DataType::kInt8 ? zv == 0 : (zv == 0 || zv == 128);
      auto as = asym_scale.find(x);
      const bool own_asym = z.dtype() == DataType::kUint8 && as != asym_scale.end() &&
                            sources.count(x) &&
                            as->second == table::FloatToBits(scale.data<float>()[0]);
      if (own_asym) {
        // calib8's own asymmetric pair (zero point from the sidecar's range): the table entry
        // is the export's record.
        const auto& rec = sources[x];
        int idx = out.Find(rec.first);
        if (idx < 0) {
          table::TableEntry e;
          e.name = rec.first;
          e.kind = table::EntryKind::kActivation;
          e.scale_bits = {rec.second};
          out.Put(std::move(e));
        }
        return Status::Ok();
      }
      if (!ok) {
        rep.skipped.push_back(
            label + ": tensor '" + x + "': " + DataTypeName(z.dtype()) + " zero point " +
            std::to_string(zv) +
            (z.dtype() == DataType::kInt8 ? ", expected 0" : ", expected 0 or 128") +
            " (asymmetric quantization has no TensorRT entry)");
        return Status::Ok();
      }
      u8_zero = z.dtype() == DataType::kUint8 && zv == 0;
    }
    return AddEntry(label, x, scale, u8_zero);
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
    // The export's own record, used only when it agrees with the model's scale.
    bool from_meta = false;
    if (src != sources.end()) {
      float s127 = table::BitsToFloat(src->second.second);
      float want = u8_zero ? quant::ScaleFromAmax(quant::AmaxFromScale(s127), true) : s127;
      if (table::FloatToBits(want) == bits) {
        entry_name = src->second.first;
        bits = src->second.second;
        from_meta = true;
      } else {
        rep.warnings.push_back(source + ": " + label + ": tensor '" + x +
                               "': scale does not match the export's record in " + kSourcesKey +
                               " (model edited?): the scale in the graph is used");
      }
    }
    if (u8_zero && !from_meta) {
      // amax = 255 * scale, written as a TensorRT scale amax / 127.
      bits = table::FloatToBits(quant::ScaleFromAmax(quant::AmaxFromScale(s, true)));
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
    table::TableEntry e;
    e.name = x;
    e.kind = table::EntryKind::kActivation;
    e.scale_bits = {bits};
    out.Put(std::move(e));
    return Status::Ok();
  }

  // The outputs of INT8 custom ops (export-qdq --target tensorrt: input -> Q -> plugin -> DQ):
  // their scale is on the DequantizeLinear that reads the plugin's int8 output.
  Status ImportPluginOutputs() {
    std::map<std::string, const onnx::NodeProto*> producer;
    for (const auto& n : g.node())
      for (const auto& o : n.output()) producer[o] = &n;
    for (int i = 0; i < g.node_size(); ++i) {
      const auto& n = g.node(i);
      if (n.op_type() != "DequantizeLinear" || !IsDefaultDomain(n.domain()) || n.input_size() < 2 ||
          n.output_size() != 1 || out.Find(n.output(0)) >= 0)
        continue;
      auto p = producer.find(n.input(0));
      auto sp = constants.find(n.input(1));
      if (p == producer.end() || IsDefaultDomain(p->second->domain()) ||
          p->second->domain() == "com.microsoft" || sp == constants.end())
        continue;
      const std::string label = NodeLabel(n, i);
      CALIB8_ASSIGN_OR_RETURN(
          Tensor scale, TensorFromProto(*sp->second, source + ": " + label + ": x_scale", dir));
      if (scale.dtype() != DataType::kFloat32 || scale.numel() != 1) continue;
      if (n.input_size() > 2 && !n.input(2).empty()) {
        auto zp = constants.find(n.input(2));
        if (zp == constants.end()) continue;
        CALIB8_ASSIGN_OR_RETURN(Tensor z, TensorFromProto(*zp->second, source + ": " + label, dir));
        if (z.dtype() != DataType::kInt8 || z.numel() != 1 || z.data<int8_t>()[0] != 0) {
          rep.skipped.push_back(label + ": the output of custom op '" + p->second->name() +
                                "' has a zero point other than int8 0 (no TensorRT entry)");
          continue;
        }
      }
      const float s = scale.data<float>()[0];
      if (!std::isfinite(s) || !(s > 0.0f))
        return InvalidArgument(source, ": ", label, ": x_scale ", table::ShortestDecimal(s),
                               ": expected a finite positive scale");
      table::TableEntry e;
      e.name = n.output(0);
      e.kind = table::EntryKind::kActivation;
      e.scale_bits = {table::FloatToBits(s)};
      out.Put(std::move(e));
    }
    return Status::Ok();
  }

  const onnx::GraphProto& g;
  const std::string& source;
  const std::string& dir;
  QdqImportReport& rep;
  std::map<std::string, const onnx::TensorProto*> constants;
  table::CalibrationTable out;
  // --target ort exports: Q input -> (table entry, its int8 scale bits), or carried-over scales.
  std::map<std::string, std::pair<std::string, uint32_t>> sources;
  std::map<std::string, std::string> carried;
  std::map<std::string, uint32_t> asym_scale;  // asymmetric pairs: their scale bits
};

// The protobuf reader (QdqImporter) on `model`, for a model the IR cannot hold.
Result<table::CalibrationTable> ImportFromProto(const onnx::ModelProto& model,
                                                const std::string& path, const std::string& source,
                                                const std::string& dir, QdqImportReport& rep) {
  const auto& g = model.graph();
  QdqImporter im(g, source, dir, rep);
  im.IndexConstants();
  im.ReadHeader(model, path);
  im.ReadExportRecord(model);
  int quantize_nodes = 0;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (n.op_type() != "QuantizeLinear" ||
        !(IsDefaultDomain(n.domain()) || n.domain() == "com.microsoft"))
      continue;
    ++quantize_nodes;
    CALIB8_RETURN_IF_ERROR(im.ImportQuantize(n, i));
  }
  CALIB8_RETURN_IF_ERROR(im.ImportPluginOutputs());
  if (quantize_nodes == 0)
    return InvalidArgument(source, ": no QuantizeLinear node: expected a Q/DQ model");
  return std::move(im.out);
}

// What quant::ReadQdqTable needs from the file besides the graph: the metadata, each node's file
// index and name under the name GraphFromModel gives it, and the Constant nodes it turned into
// initializers. Sets *unique to false when two nodes end up with the same IR name (a renamed
// duplicate that meets another node's name), which the pass could not tell apart.
quant::QdqModelInfo ModelInfo(const onnx::ModelProto& model, const std::string& path,
                              const std::string& source, bool* unique) {
  quant::QdqModelInfo meta;
  meta.source = source;
  meta.path = path;
  for (const auto& kv : model.metadata_props()) meta.metadata.emplace_back(kv.key(), kv.value());
  std::map<std::string, int> name_count;
  const auto& g = model.graph();
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    // GraphFromModel's naming: "<op>_<index>" when unnamed, "_<index>" added to a repeated name.
    std::string ir_name = n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
    if (name_count[ir_name]++) ir_name += "_" + std::to_string(i);
    *unique = meta.nodes.emplace(ir_name, std::make_pair(i, n.name())).second && *unique;
    if (n.op_type() != "Constant" || !IsDefaultDomain(n.domain()) || n.output_size() != 1) continue;
    bool value = false;
    for (const auto& a : n.attribute()) value = value || (a.name() == "value" && a.has_t());
    (value ? meta.constant_nodes : meta.other_constants)[n.output(0)] = i;
  }
  return meta;
}

}  // namespace

Result<table::CalibrationTable> ImportQdqFile(const std::string& path, QdqImportReport* report) {
  QdqImportReport local;
  QdqImportReport& rep = report ? *report : local;
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "model"));
  const std::string source = "model '" + path + "'";
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  onnx::ModelProto model;
  CALIB8_RETURN_IF_ERROR(ParseModelProto(bytes, source, &model, true));
  ImportOptions io;
  io.infer_shapes = false;
  auto g = GraphFromModel(model, source, dir, io);
  bool unique = true;
  quant::QdqModelInfo meta = ModelInfo(model, path, source, &unique);
  if (!g.ok() || !unique) return ImportFromProto(model, path, source, dir, rep);
  return quant::ReadQdqTable(*g, meta, &rep);
}

}  // namespace calib8::onnx_io
