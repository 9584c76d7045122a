/* calib8/plugin.h — the C ABI of custom-layer plugins (issue 12).
 *
 * A plugin is a shared library that exports one function,
 *
 *     const calib8_plugin* calib8_plugin_get(void);
 *
 * returning a static description of the operators it implements. `calib8 --plugin LIB.so ...`
 * (repeatable, before or after the subcommand) loads it with dlopen before the model is read; each
 * operator is then an ordinary op of the executor: the observer sees its outputs, so `calibrate`
 * gives them table entries like any other tensor. The INT8 runtime calls compute_int8 when the op
 * has one (else it runs compute_fp32 between dequantize/quantize borders).
 *
 * Rules of the boundary:
 * - Only C types cross it: no C++ object, exception or allocator. Every call returns
 *   CALIB8_PLUGIN_OK or CALIB8_PLUGIN_ERROR; on error it writes a NUL-terminated message of at most
 *   `message_size` bytes into `message` (calib8 prefixes the node name). A function must not
 *   throw or longjmp out; the C++ helper (calib8/plugin_helper.hpp) catches for you.
 * - Tensors are dense, row-major (the last axis varies fastest). Inputs are read-only; outputs
 *   are allocated by calib8 with the shapes `infer` returned, and `compute_fp32` fills them.
 * - `struct_size` fields let later ABI versions append members: calib8 reads only what the
 *   plugin's sizes say it has. `abi_version` must equal CALIB8_PLUGIN_ABI_VERSION.
 * - Everything a plugin returns (names, the op table) must stay valid until the process exits.
 *
 * docs/custom-layers.md has a complete minimal plugin and the workflow.
 */
#ifndef CALIB8_PLUGIN_H_
#define CALIB8_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CALIB8_PLUGIN_ABI_VERSION 1u
#define CALIB8_PLUGIN_ENTRY "calib8_plugin_get"
#define CALIB8_PLUGIN_MAX_RANK 8

enum calib8_plugin_status { CALIB8_PLUGIN_OK = 0, CALIB8_PLUGIN_ERROR = 1 };

/* Element types: the ONNX TensorProto.DataType codes. */
enum calib8_plugin_dtype {
  CALIB8_PLUGIN_FLOAT32 = 1,
  CALIB8_PLUGIN_UINT8 = 2,
  CALIB8_PLUGIN_INT8 = 3,
  CALIB8_PLUGIN_INT32 = 6,
  CALIB8_PLUGIN_INT64 = 7
};

/* Operator flags (calib8_op_def.flags). */
enum calib8_plugin_flags {
  /* compute may run on several nodes at once (else calib8 serialises the calls of this op). */
  CALIB8_PLUGIN_THREAD_SAFE = 1u << 0,
  /* the same inputs always give the same bits (calib8's results stay reproducible). */
  CALIB8_PLUGIN_DETERMINISTIC = 1u << 1,
  /* output 0 takes input 0's scale in INT8 (a max, a data movement: like MaxPool or Reshape),
   * not its own table entry: used by the INT8 plan and by export-qdq for ops with compute_int8. */
  CALIB8_PLUGIN_OUTPUT_HAS_INPUT_SCALE = 1u << 2
};

typedef struct calib8_tensor_desc {
  int32_t dtype; /* calib8_plugin_dtype */
  int32_t rank;  /* 0 .. CALIB8_PLUGIN_MAX_RANK */
  int64_t dims[CALIB8_PLUGIN_MAX_RANK];
} calib8_tensor_desc;

typedef struct calib8_tensor {
  calib8_tensor_desc desc;
  void* data; /* desc.dims product elements of desc.dtype; read-only for inputs */
} calib8_tensor;

enum calib8_attribute_kind {
  CALIB8_ATTR_INT = 1,
  CALIB8_ATTR_FLOAT = 2,
  CALIB8_ATTR_STRING = 3,
  CALIB8_ATTR_INTS = 4,
  CALIB8_ATTR_FLOATS = 5,
  CALIB8_ATTR_OTHER = 6 /* tensors, graphs, string lists: not passed in ABI version 1 */
};

typedef struct calib8_attribute {
  const char* name;
  int32_t kind; /* calib8_attribute_kind */
  int64_t i;
  float f;
  const char* s;
  size_t count; /* elements of ints or floats */
  const int64_t* ints;
  const float* floats;
} calib8_attribute;

/* The node being inferred or computed. Valid for the duration of the call only. */
typedef struct calib8_node_info {
  const char* name;
  const char* domain;
  const char* op_type;
  int64_t opset; /* the model's opset for this domain */
  size_t num_attributes;
  const calib8_attribute* attributes;
} calib8_node_info;

/* Output types and shapes from input types and shapes. */
typedef int (*calib8_infer_fn)(const calib8_node_info* node, const calib8_tensor_desc* inputs,
                               size_t num_inputs, calib8_tensor_desc* outputs, size_t num_outputs,
                               char* message, size_t message_size);

/* The FP32 (reference) computation: required. */
typedef int (*calib8_compute_fn)(const calib8_node_info* node, const calib8_tensor* inputs,
                                 size_t num_inputs, calib8_tensor* outputs, size_t num_outputs,
                                 char* message, size_t message_size);

/* Optional 8-bit computation: inputs and outputs are INT8 (symmetric: real = q * scale, zero
 * point 0) with the scales given, one per tensor, as TensorRT hands a plugin that supports kINT8.
 * The output shapes are those `infer` returned when asked with the model's float32 input types
 * (calib8 asks it that way in both modes); only float32 outputs are written as int8. Called by
 * calib8's INT8 runtime (`run --int8`, `compare`, ...) when the table has a scale for every input
 * and output; without it the op runs compute_fp32 there. docs/custom-layers.md. */
typedef int (*calib8_compute_int8_fn)(const calib8_node_info* node, const calib8_tensor* inputs,
                                      const float* input_scales, size_t num_inputs,
                                      calib8_tensor* outputs, const float* output_scales,
                                      size_t num_outputs, char* message, size_t message_size);

typedef struct calib8_op_def {
  uint32_t struct_size; /* sizeof(calib8_op_def) as the plugin was compiled */
  const char* domain;   /* e.g. "com.example"; "" is the default ONNX domain */
  const char* op_type;  /* e.g. "Mish" */
  int64_t min_opset;    /* inclusive range of the domain's opset this op follows */
  int64_t max_opset;
  uint32_t flags; /* calib8_plugin_flags */
  calib8_infer_fn infer;
  calib8_compute_fn compute_fp32;
  calib8_compute_int8_fn compute_int8; /* may be NULL */
} calib8_op_def;

typedef struct calib8_plugin {
  uint32_t abi_version; /* CALIB8_PLUGIN_ABI_VERSION */
  uint32_t struct_size; /* sizeof(calib8_plugin) */
  const char* name;
  const char* version;
  size_t num_ops;
  const calib8_op_def* ops;
} calib8_plugin;

typedef const calib8_plugin* (*calib8_plugin_get_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* CALIB8_PLUGIN_H_ */
