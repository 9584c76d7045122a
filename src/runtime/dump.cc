// runtime/dump.cc — see dump.h.
#include "runtime/dump.h"

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/data_source.h"
#include "data/npy.h"
#include "ir/subgraph.h"
#include "runtime/engine.h"

namespace calib8::runtime {

namespace {

// One .npy file written batch by batch under a temporary name.
struct Sink {
  DumpedTensor info;
  std::string tmp;
  std::ofstream out;
  bool started = false;
};

}  // namespace

Result<std::vector<DumpedTensor>> DumpTensors(const ir::Graph& full, const DumpOptions& o) {
  if (o.tensors.empty()) return InvalidArgument("--dump needs --tensors T1,T2,...");
  if (o.data_specs.empty()) return InvalidArgument("--dump needs --data SPEC");
  if (o.batch < 1) return InvalidArgument("--batch must be at least 1");
  ir::Graph g = full;
  CALIB8_RETURN_IF_ERROR(ir::ExtractSubgraph(g, {{}, o.tensors}));
  data::OpenOptions oo = DataOptionsFor(g, o.preprocess, o.max_samples);
  CALIB8_ASSIGN_OR_RETURN(data::MultiInputData d, data::MultiInputData::Open(o.data_specs, oo));
  if (d.NumSamples() == 0) return InvalidArgument("the data set is empty (", o.data_specs[0], ")");
  std::vector<std::string> names;
  CALIB8_RETURN_IF_ERROR(CheckDataFitsModel(g, d, o.batch, &names));
  exec::SessionOptions so;
  so.num_threads = o.threads;
  so.fuse_epilogues = false;  // as calibration runs it: the same kernels, the same bits
  CALIB8_ASSIGN_OR_RETURN(auto session, CreateSession(g, so));

  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  if (ec) return IoError("cannot create directory '", o.dir, "': ", ec.message());
  std::vector<Sink> sinks(o.tensors.size());
  auto cleanup = [&sinks]() {
    for (auto& s : sinks) {
      if (s.out.is_open()) s.out.close();
      if (!s.tmp.empty()) std::remove(s.tmp.c_str());
    }
  };
  for (size_t i = 0; i < o.tensors.size(); ++i) {
    Sink& s = sinks[i];
    s.info.name = o.tensors[i];
    s.info.path =
        (std::filesystem::path(o.dir) / (SanitizeFileName(o.tensors[i]) + ".npy")).string();
    s.tmp = (std::filesystem::path(o.dir) /
             ("." + SanitizeFileName(o.tensors[i]) + ".npy.tmp." + std::to_string(getpid())))
                .string();
  }
  const int64_t total = d.NumSamples();
  for (int64_t first = 0; first < total; first += o.batch) {
    int64_t count = std::min<int64_t>(o.batch, total - first);
    auto tensors = d.Read(first, count);
    if (!tensors.ok()) {
      cleanup();
      return tensors.status();
    }
    exec::TensorMap feeds;
    for (size_t i = 0; i < names.size(); ++i) feeds[names[i]] = std::move((*tensors)[i]);
    auto out = session->Run(feeds);
    if (!out.ok()) {
      cleanup();
      return out.status().WithContext("samples " + std::to_string(first) + "-" +
                                      std::to_string(first + count - 1));
    }
    for (Sink& s : sinks) {
      const Tensor& t = out->at(s.info.name);
      if (t.shape().empty() || t.shape()[0] != count) {
        cleanup();
        return InvalidArgument("--dump: tensor '", s.info.name, "' has shape ",
                               ShapeToString(t.shape()), " for a batch of ", count,
                               " sample(s): its first axis is not the batch "
                               "axis, so it cannot be stored per sample");
      }
      if (!s.started) {
        s.info.shape = t.shape();
        s.info.shape[0] = total;
        s.out.open(s.tmp, std::ios::binary | std::ios::trunc);
        std::string header = data::NpyHeaderBytes(t.dtype(), s.info.shape);
        s.out.write(header.data(), static_cast<std::streamsize>(header.size()));
        s.started = true;
      } else {
        Shape want = s.info.shape, got = t.shape();
        want[0] = got[0] = 0;
        if (want != got) {
          cleanup();
          return InvalidArgument("--dump: tensor '", s.info.name,
                                 "' changes shape between batches (", ShapeToString(t.shape()),
                                 "); .npy needs one sample shape");
        }
      }
      s.out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
      if (!s.out) {
        cleanup();
        return IoError("cannot write '", s.tmp, "' (disk full?)");
      }
    }
  }
  std::vector<DumpedTensor> done;
  for (Sink& s : sinks) {
    s.out.close();
    if (!s.out || std::rename(s.tmp.c_str(), s.info.path.c_str()) != 0) {
      cleanup();
      return IoError("cannot write '", s.info.path, "'");
    }
    s.tmp.clear();
    done.push_back(s.info);
  }
  return done;
}

}  // namespace calib8::runtime
