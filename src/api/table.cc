// api/table.cc — calib8::Table (include/calib8/table.h) over the table module's readers and
// writers.
#include "calib8/table.h"

#include "api/access.h"
#include "core/file_util.h"
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

Result<Table> Table::Read(const std::string& path) {
  auto impl = std::make_shared<detail::TableImpl>();
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "table"));
  CALIB8_ASSIGN_OR_RETURN(impl->format, table::DetectFormat(bytes, path));
  CALIB8_ASSIGN_OR_RETURN(impl->table, table::ParseTable(bytes, path, impl->format));
  return detail::Access::Wrap(std::shared_ptr<const detail::TableImpl>(std::move(impl)));
}

TableFormat Table::format() const { return ToPublic(impl_->format); }
std::string Table::header() const { return impl_->table.header.raw; }
size_t Table::size() const { return impl_->table.size(); }

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

Status Table::Write(const std::string& path, TableFormat format) const {
  return table::WriteTableFile(impl_->table, path, ToInternal(format));
}

}  // namespace calib8
