// api/table.cc — calib8::Table (include/calib8/table.h) over the table module's readers and
// writers.
#include "calib8/table.h"

#include "api/access.h"
#include "table/calibration_table.h"

namespace calib8 {

namespace {

// The public enum mirrors table::TableFormat member for member (checked below).
table::TableFormat ToInternal(TableFormat f) { return static_cast<table::TableFormat>(f); }
TableFormat ToPublic(table::TableFormat f) { return static_cast<TableFormat>(f); }
#define CALIB8_SAME(id) \
  static_assert(static_cast<int>(table::TableFormat::id) == static_cast<int>(TableFormat::id))
CALIB8_SAME(kTensorRt);
CALIB8_SAME(kCalib8Json);
CALIB8_SAME(kNcnn);
CALIB8_SAME(kRange);
CALIB8_SAME(kOrtJson);
CALIB8_SAME(kOrtCache);
CALIB8_SAME(kOrtFlatBuffers);
#undef CALIB8_SAME

}  // namespace

std::string FormatName(TableFormat format) { return table::FormatName(ToInternal(format)); }

Result<TableFormat> ParseFormatName(const std::string& name) {
  CALIB8_ASSIGN_OR_RETURN(table::TableFormat f, table::ParseFormatName(name));
  return ToPublic(f);
}

std::string FormatTitle(TableFormat format) { return table::FormatTitle(ToInternal(format)); }
bool CanWrite(TableFormat format) { return table::CanWrite(ToInternal(format)); }

Result<Table> Table::Read(const std::string& path, const TableReadOptions& options,
                          std::vector<std::string>* warnings) {
  auto impl = std::make_shared<detail::TableImpl>();
  table::ReadOptions ro;
  ro.lenient = options.lenient;
  table::ReadReport report;
  std::optional<table::TableFormat> given;
  if (options.format) given = ToInternal(*options.format);
  auto t = table::ReadTableFile(path, given ? &*given : nullptr, ro, &report, &impl->format);
  if (warnings) warnings->insert(warnings->end(), report.warnings.begin(), report.warnings.end());
  if (!t.ok()) return t.status();
  impl->table = std::move(t).value();
  Table out = detail::Access::Wrap(std::shared_ptr<const detail::TableImpl>(std::move(impl)));
  out.path_ = path;
  return out;
}

TableFormat Table::format() const { return ToPublic(impl_->format); }
const std::string& Table::path() const { return path_; }
std::string Table::header() const { return impl_->table.header.raw; }
size_t Table::size() const { return impl_->table.size(); }

TableHeaderInfo Table::header_info() const {
  const table::TableHeader& h = impl_->table.header;
  TableHeaderInfo info;
  info.source_format = ToPublic(h.source_format);
  info.raw = h.raw;
  info.writer_version = h.writer_version;
  info.tensorrt = table::DecodeTrtVersion(h.writer_version);
  info.algorithm = h.algorithm;
  info.legacy_header = h.legacy_header;
  return info;
}

std::vector<TableEntryInfo> Table::entries() const {
  std::vector<TableEntryInfo> out;
  out.reserve(impl_->table.size());
  for (const table::TableEntry& e : impl_->table.entries()) {
    TableEntryInfo info;
    info.name = e.name;
    info.weight = e.kind == table::EntryKind::kWeight;
    for (uint32_t b : e.scale_bits) info.scales.push_back(table::BitsToFloat(b));
    info.line = e.line;
    out.push_back(std::move(info));
  }
  return out;
}

std::optional<float> Table::Scale(const std::string& tensor) const {
  int i = impl_->table.Find(tensor);
  if (i < 0) return std::nullopt;
  const table::TableEntry& e = impl_->table.entries()[static_cast<size_t>(i)];
  if (e.kind != table::EntryKind::kActivation) return std::nullopt;
  return e.scale();
}

Status Table::Write(const std::string& path, TableFormat format, const TableWriteOptions& options,
                    std::vector<std::string>* warnings) const {
  table::WriteOptions wo;
  wo.trt_version = options.trt_version;
  wo.algorithm = options.algorithm;
  table::WriteReport report;
  Status s = table::WriteTableFile(impl_->table, path, ToInternal(format), wo, &report);
  if (s.ok() && warnings)
    warnings->insert(warnings->end(), report.warnings.begin(), report.warnings.end());
  return s;
}

}  // namespace calib8
