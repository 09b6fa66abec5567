/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune quantize`: the post-training int8 quantization the audit measures (hwt_model_quantize), calibrated on
 * the user's samples and written as a standard QDQ ONNX model that other runtimes load too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/verbs.h"
#include "cmd_io.h"
#include "hwt_common.h"
#include "onnx.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: hwtune quantize --model M --calibration C --out Q.onnx [--batch B]\n\n"
          "Post-training int8 quantization, exactly the one `hwtune audit` measures: activation ranges calibrated\n"
          "on your samples (per tensor, affine int8), per-channel symmetric int8 weights, int32 biases; node types\n"
          "without an int8 implementation stay float. Written as a QDQ ONNX model (opset 13: QuantizeLinear /\n"
          "DequantizeLinear pairs), which ONNX Runtime and hwtune load. See docs/quantize.md.\n\n"
          "  --model M        an fp32 ONNX file (.onnx), a hwtune model JSON, mlp or mobilenet\n"
          "  --calibration C  the calibration samples (required): a NumPy .npy (float32, uint8 or int8; converted\n"
          "                   to float) or an ONNX TensorProto .pb. Dim 0 is the sample count N >= 1; the other\n"
          "                   dims must be the model input's, in the file's layout (ONNX: [N, C, H, W]; hwtune\n"
          "                   models: [N, H, W, C] or [N, K]). Use samples like the ones the model will see, never\n"
          "                   the ones you score it on.\n"
          "  --out Q.onnx     the QDQ model, written atomically (a temporary file renamed into place)\n"
          "  --batch B        the value of a symbolic batch dimension in the written file's shapes is kept\n"
          "                   symbolic; B is the batch an ONNX model is imported at (default 1, or the batch the\n"
          "                   file fixes), as `hwtune run --batch`\n\n"
          "Exit codes: 0 written, 1 the model or the calibration refused or the quantization failed, 2 usage error\n"
          "(an --out that cannot be written included, refused before anything runs).\n");
}

static int bad(const char *msg, const char *arg) {
  fprintf(stderr, "hwtune quantize: %s%s%s%s\n\n", msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
  usage(stderr);
  return 2;
}

/* The calibration file's dims after the first must be graph input 0's logical dims (a native flat input also
 * takes the same count in any dims, as `hwtune run`). */
static bool sample_shape_ok(const hwt_tensor *t, const hwt_graph_io *gi) {
  int64_t want[3];
  unsigned nw = hwt_cli_value_dims(gi->shape, gi->rank, want);
  bool ok = t->rank == nw + 1;
  for (unsigned d = 0; ok && d < nw; d++) ok = t->dims[d + 1] == want[d];
  if (!ok && gi->rank == 0 && gi->shape.h == 1 && gi->shape.w == 1 && t->rank >= 2) {
    size_t per = 1;
    for (unsigned d = 1; d < t->rank; d++) per *= (size_t) t->dims[d];
    ok = per == hwt_shape_size(gi->shape);
  }
  return ok;
}

int hwt_cmd_quantize(int argc, char **argv) {
  const char *model_arg = NULL, *calib_path = NULL, *out_path = NULL;
  size_t batch_arg = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strncmp(a, "--", 2) != 0) return bad("unexpected argument", a);
    if (i + 1 >= argc) return bad("option needs a value:", a);
    const char *v = argv[++i];
    uint64_t u;
    if (strcmp(a, "--model") == 0) {
      model_arg = v;
    } else if (strcmp(a, "--calibration") == 0) {
      if (*v == '\0') return bad("--calibration needs a file", NULL);
      calib_path = v;
    } else if (strcmp(a, "--out") == 0) {
      if (*v == '\0') return bad("--out needs a file name", NULL);
      out_path = v;
    } else if (strcmp(a, "--batch") == 0) {
      if (!hwt_parse_u64(v, 1, 65536, &u)) return bad("--batch takes an integer in [1, 65536], not", v);
      batch_arg = (size_t) u;
    } else {
      return bad("unknown option", a);
    }
  }
  if (model_arg == NULL) return bad("--model is required (an fp32 .onnx file, a model JSON, mlp or mobilenet)", NULL);
  if (calib_path == NULL)
    return bad("--calibration is required: a .npy or .pb file of calibration samples (N along dim 0) whose "
               "ranges set the int8 activation parameters", NULL);
  if (out_path == NULL) return bad("--out is required (the QDQ .onnx file to write)", NULL);
  if (!hwt_cli_ends_with(out_path, ".onnx")) return bad("--out writes ONNX: the name must end in .onnx, not", out_path);
  char err[2048] = "";
  if (hwt_check_out_dir(out_path, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune quantize: --out: %s\n", err);
    return 2;
  }

  int rc = 1;
  hwt_model *m = NULL, *q = NULL;
  hwt_tensor t;
  memset(&t, 0, sizeof t);
  float *calib = NULL;
  if (hwt_tensor_read(calib_path, &t, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune quantize: --calibration: %s\n", err);
    goto done;
  }
  if (t.dtype != hwt_dtype_f32 && t.dtype != hwt_dtype_u8 && t.dtype != hwt_dtype_i8) {
    fprintf(stderr, "hwtune quantize: %s: element type %s not supported (float32, uint8 or int8)\n", calib_path,
            hwt_dtype_name(t.dtype));
    goto done;
  }
  if (t.rank == 0 || t.dims[0] == 0) {
    fprintf(stderr, "hwtune quantize: %s: %s; dim 0 counts the calibration samples and must be at least 1\n",
            calib_path, t.rank == 0 ? "a scalar" : "no samples (dim 0 is 0)");
    goto done;
  }
  size_t n = (size_t) t.dims[0];
  if (hwt_cli_open_model(model_arg, (uint32_t) (batch_arg ? batch_arg : 1), &m, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune quantize: %s\n", err);
    goto done;
  }
  if (batch_arg != 0 && m->fixed_batch != 0 && m->fixed_batch != batch_arg) {
    fprintf(stderr, "hwtune quantize: --batch %zu, but %s fixes the batch at %u\n", batch_arg, model_arg,
            m->fixed_batch);
    goto done;
  }
  if (m->precision != hwt_prec_fp32) {
    fprintf(stderr, "hwtune quantize: %s: already an int8 model (give the fp32 one)\n", model_arg);
    goto done;
  }
  if (m->ninputs != 1) {
    fprintf(stderr, "hwtune quantize: %s: %zu graph inputs; calibration feeds one input only\n", model_arg,
            m->ninputs);
    goto done;
  }
  if (!sample_shape_ok(&t, &m->inputs[0])) {
    char exp[96], got[160];
    hwt_cli_dims_string(m->inputs[0].shape, m->inputs[0].rank, 0, exp, sizeof exp);
    size_t used = (size_t) snprintf(got, sizeof got, "[");
    for (unsigned d = 0; d < t.rank && used < sizeof got; d++)
      used += (size_t) snprintf(got + used, sizeof got - used, "%s%lld", d ? ", " : "", (long long) t.dims[d]);
    if (used < sizeof got) snprintf(got + used, sizeof got - used, "]");
    fprintf(stderr, "hwtune quantize: %s: shape %s does not fit the model's input '%s': expected %s\n", calib_path,
            got, m->inputs[0].name, exp);
    goto done;
  }
  size_t bytes;
  if (__builtin_mul_overflow(t.count, sizeof(float), &bytes) || (calib = malloc(bytes ? bytes : 1)) == NULL) {
    fprintf(stderr, "hwtune quantize: %s: out of memory for %zu samples\n", calib_path, n);
    goto done;
  }
  hwt_tensor_to_f32(&t, calib);
  if (hwt_model_quantize(m, calib, n, &q, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune quantize: %s: %s\n", model_arg, err);
    goto done;
  }
  if (hwt_onnx_export(q, out_path, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "hwtune quantize: %s\n", err);
    goto done;
  }
  size_t nq = 0;
  for (size_t i = 0; i < q->nlayers; i++) nq += q->layers[i].q8 || q->layers[i].wq != NULL;
  fprintf(stderr, "hwtune quantize: %s: %zu calibration sample%s from %s, %zu of %zu nodes int8, output '%s' step "
          "%.6g; wrote %s\n", model_arg, n, n == 1 ? "" : "s", calib_path, nq, q->nlayers, q->outputs[0].name,
          (double) hwt_model_value_q(q, q->outputs[0].value).scale, out_path);
  rc = 0;
done:
  free(calib);
  hwt_tensor_free(&t);
  hwt_model_free(q);
  hwt_model_free(m);
  return rc;
}
