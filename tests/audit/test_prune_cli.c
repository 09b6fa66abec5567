/* SPDX-License-Identifier: Apache-2.0 */
/* `hwtune prune` through the executable: one file per sparsity under the documented names, the weights of each
 * file bit for bit those of hwt_model_prune in-process, the table, and every refusal with its exit code. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cli_run.h"

#include "engine.h"
#include "onnx.h"

#define DIGITS HWTUNE_SOURCE_DIR "/tests/fixtures/digits/"

static char dir[256];
static char out_text[1 << 16], err_text[1 << 14];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/hwt_prunecli_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}
static void teardown(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}
TestSuite(prune_cli, .init = setup, .fini = teardown, .timeout = 120);

static const char *path(const char *name) {
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

/* Runs `hwtune prune <args>` in the test's folder; stdout and stderr land in out_text and err_text. */
static int prune(const char *fmt, ...) {
  char args[2048], cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "cd '%s' && %s prune %s", dir, HWTUNE_BINARY, args);
  return hwt_test_run(cmd, out_text, sizeof out_text, err_text, sizeof err_text);
}

static bool exists(const char *name) {
  struct stat st;
  return stat(path(name), &st) == 0;
}

/* .onnx files in the test folder. */
static int onnx_files(void) {
  char cmd[512], buf[64];
  snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '\\.onnx$'", dir);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  buf[0] = '\0';
  cr_assert_not_null(fgets(buf, sizeof buf, p));
  pclose(p);
  return atoi(buf);
}

static hwt_model *import(const char *file) {
  hwt_model *m = NULL;
  char err[1024] = "";
  cr_assert_eq(hwt_onnx_import(file, NULL, &m, err, sizeof err), hwt_status_ok, "%s", err);
  return m;
}

static size_t zeros(const hwt_layer *l) {
  size_t z = 0, n = hwt_layer_weight_count(l);
  for (size_t i = 0; i < n; i++) z += l->w[i] == 0.0f;
  return z;
}

/* The written file's weights are, bit for bit, hwt_model_prune's on the imported model with the same options. */
static void expect_same_as_in_process(const char *file, const hwt_model *orig, hwt_prune_options o) {
  hwt_model *got = import(file), *want = NULL;
  char err[512] = "";
  cr_assert_eq(hwt_model_prune(orig, &o, &want, NULL, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(got->nlayers, want->nlayers);
  for (size_t i = 0; i < got->nlayers; i++) {
    size_t n = hwt_layer_weight_count(&want->layers[i]);
    if (want->layers[i].w == NULL || n == 0) continue;
    cr_assert(memcmp(got->layers[i].w, want->layers[i].w, n * sizeof(float)) == 0, "%s: layer %zu '%s' differs",
              file, i, want->layers[i].name);
  }
  hwt_model_free(want);
  hwt_model_free(got);
}

Test(prune_cli, help_says_no_fine_tuning_and_points_to_the_audit) {
  cr_assert_eq(prune("--help"), 0);
  cr_assert(strstr(out_text, "WITHOUT fine-tuning") != NULL, "%s", out_text);
  cr_assert(strstr(out_text, "hwtune audit") != NULL && strstr(out_text, "--prune") != NULL);
  cr_assert(strstr(out_text, "m-s50.onnx") != NULL, "the naming is documented");
}

Test(prune_cli, digits_mlp_one_file_per_sparsity) {
  cr_assert_eq(prune("--model " DIGITS "digits_mlp.onnx --sparsity 0.5,0.75,0.9 --out p.onnx"), 0, "%s", err_text);
  cr_assert(!exists("p.onnx"), "with several sparsities the --out name itself is not written");
  cr_assert_eq(onnx_files(), 3);
  hwt_model *orig = import(DIGITS "digits_mlp.onnx");
  const char *names[] = {"p-s50.onnx", "p-s75.onnx", "p-s90.onnx"};
  const double sp[] = {0.5, 0.75, 0.9};
  for (int k = 0; k < 3; k++) {
    cr_assert(exists(names[k]), "%s missing", names[k]);
    hwt_model *p = import(path(names[k]));
    cr_assert_eq(p->nlayers, orig->nlayers);
    /* fc0 (first) and fc2 (classifier) dense, fc1 at round(s x 4096) zeros */
    size_t fc[3], nfc = 0;
    for (size_t i = 0; i < p->nlayers; i++)
      if (p->layers[i].type == hwt_layer_fc) fc[nfc++] = i;
    cr_assert_eq(nfc, 3);
    cr_assert_eq(zeros(&p->layers[fc[0]]), 0);
    cr_assert_eq(zeros(&p->layers[fc[2]]), 0);
    cr_assert_eq(zeros(&p->layers[fc[1]]), (size_t) floor(sp[k] * 4096 + 0.5));
    hwt_model_free(p);
    expect_same_as_in_process(path(names[k]), orig, (hwt_prune_options) {.sparsity = sp[k]});
    cr_assert(strstr(out_text, names[k]) != NULL, "a table per file: %s", out_text);
  }
  cr_assert(strstr(out_text, "dense: first layer") != NULL && strstr(out_text, "dense: classifier") != NULL);
  cr_assert(strstr(out_text, "total: 2048 of 8832 weights newly zeroed") != NULL, "%s", out_text);
  cr_assert(strstr(out_text, "model nonzero fraction 76.81%") != NULL, "%s", out_text);
  hwt_model_free(orig);
}

Test(prune_cli, one_sparsity_writes_out_and_options_reach_the_pruner) {
  cr_assert_eq(prune("--model " DIGITS "digits_cnn.onnx --sparsity 0.6 --scope global --pattern block --block 2x3 "
                     "--prune-first --prune-classifier --out c.onnx"),
               0, "%s", err_text);
  cr_assert(exists("c.onnx"));
  cr_assert_eq(onnx_files(), 1);
  cr_assert(strstr(out_text, "blocks 2x3, one global threshold") != NULL, "%s", out_text);
  hwt_model *orig = import(DIGITS "digits_cnn.onnx");
  expect_same_as_in_process(path("c.onnx"), orig,
                            (hwt_prune_options) {.sparsity = 0.6, .scope = hwt_prune_global,
                                                 .pattern = hwt_prune_block, .block_n = 2, .block_k = 3,
                                                 .prune_first = true, .prune_classifier = true});
  hwt_model_free(orig);
  /* a built-in with default blocks */
  cr_assert_eq(prune("--model mlp --sparsity 0,1 --pattern block --out m.onnx"), 0, "%s", err_text);
  cr_assert(exists("m-s0.onnx") && exists("m-s100.onnx"));
  hwt_model *p100 = import(path("m-s100.onnx"));
  cr_assert_eq(zeros(&p100->layers[1]), 256u * 128u);
  cr_assert_eq(zeros(&p100->layers[0]), 0);
  hwt_model_free(p100);
}

Test(prune_cli, usage_errors_exit_2_and_write_nothing) {
  const char *bad[] = {
      "--model mlp --sparsity 1.5 --out x.onnx",
      "--model mlp --sparsity abc --out x.onnx",
      "--model mlp --sparsity '' --out x.onnx",
      "--model mlp --sparsity 0.5,0.5 --out x.onnx",
      "--model mlp --sparsity 0.5,0.50 --out x.onnx",
      "--model mlp --sparsity 0.5, --out x.onnx",
      "--model mlp --sparsity ,0.5 --out x.onnx",
      "--model mlp --sparsity -0.1 --out x.onnx",
      "--model mlp --sparsity nan --out x.onnx",
      "--model mlp --sparsity 0.5 --out x.json",
      "--model mlp --sparsity 0.5 --out .onnx",
      "--model mlp --sparsity 0.5",
      "--model mlp --out x.onnx",
      "--sparsity 0.5 --out x.onnx",
      "--model mlp --sparsity 0.5 --out x.onnx --block 4x4",
      "--model mlp --sparsity 0.5 --out x.onnx --pattern block --block 4",
      "--model mlp --sparsity 0.5 --out x.onnx --pattern block --block 0x4",
      "--model mlp --sparsity 0.5 --out x.onnx --pattern block --block 4x-1",
      "--model mlp --sparsity 0.5 --out x.onnx --pattern diagonal",
      "--model mlp --sparsity 0.5 --out x.onnx --scope model",
      "--model mlp --sparsity 0.5 --out x.onnx --batch 0",
      "--model mlp --sparsity 0.5 --out x.onnx --fine-tune",
      "--model mlp --sparsity 0.5 --out x.onnx extra",
      "--model mlp --sparsity 0.5,0.9 --out nodir/x.onnx",
      "--model mlp --sparsity 0.1234567,0.12345671 --out x.onnx",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(prune("%s", bad[i]), 2, "`%s`: %s", bad[i], err_text);
    cr_assert(strncmp(err_text, "hwtune prune: ", 14) == 0, "`%s`: %s", bad[i], err_text);
    cr_assert_eq(onnx_files(), 0, "`%s` wrote a file", bad[i]);
  }
  cr_assert_eq(prune("--model mlp --sparsity 1.5 --out x.onnx"), 2);
  cr_assert(strstr(err_text, "'1.5'") != NULL && strstr(err_text, "usage:") != NULL, "%s", err_text);
  cr_assert_eq(prune("--model mlp --sparsity 0.5,0.9 --out nodir/x.onnx"), 2);
  cr_assert(strstr(err_text, "nodir") != NULL, "%s", err_text);
  cr_assert_eq(prune("--model mlp --sparsity 0.1234567,0.12345671 --out x.onnx"), 2);
  cr_assert(strstr(err_text, "too close") != NULL && strstr(err_text, "'x-s12.3457.onnx'") != NULL, "%s", err_text);
}

Test(prune_cli, refused_models_exit_1_naming_the_file) {
  cr_assert_eq(prune("--model missing.onnx --sparsity 0.5 --out x.onnx"), 1);
  cr_assert(strstr(err_text, "missing.onnx") != NULL, "%s", err_text);
  /* an int8 model */
  hwt_model *m = NULL, *q = NULL;
  cr_assert_eq(hwt_model_gen_mlp(3, &m), hwt_status_ok);
  float cal[2 * 784];
  hwt_model_gen_inputs(m, 1, 2, cal);
  char err[512] = "";
  cr_assert_eq(hwt_model_quantize(m, cal, 2, &q, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_onnx_export(q, path("q8.onnx"), err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(prune("--model q8.onnx --sparsity 0.5 --out x.onnx"), 1);
  cr_assert(strstr(err_text, "q8.onnx") != NULL && strstr(err_text, "int8") != NULL, "%s", err_text);
  cr_assert(!exists("x.onnx"));
  hwt_model_free(q);
  hwt_model_free(m);
}

Test(prune_cli, nothing_prunable_is_said) {
  /* a two-layer MLP (the built-in's fc0 and fc1): its fc layers are the first and the classifier */
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_gen_mlp(3, &m), hwt_status_ok);
  for (size_t i = 2; i < m->nlayers; i++) {
    hwt_rt_free(m->layers[i].w);
    hwt_rt_free(m->layers[i].b);
  }
  m->nlayers = 2;
  m->outputs[0].value = 1;
  char err[512] = "";
  cr_assert_eq(hwt_model_finalize(m, "two", err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(hwt_onnx_export(m, path("two.onnx"), err, sizeof err), hwt_status_ok, "%s", err);
  hwt_model_free(m);
  cr_assert_eq(prune("--model two.onnx --sparsity 0.5 --out a.onnx"), 0, "%s", err_text);
  cr_assert(strstr(err_text, "no layer was pruned") != NULL, "%s", err_text);
  cr_assert(strstr(out_text, "dense: first layer") != NULL && strstr(out_text, "dense: classifier") != NULL);
  cr_assert_eq(prune("--model two.onnx --sparsity 0.5 --prune-first --out b.onnx"), 0, "%s", err_text);
  cr_assert(strstr(err_text, "no layer was pruned") == NULL, "%s", err_text);
  hwt_model *b = import(path("b.onnx"));
  cr_assert_eq(zeros(&b->layers[0]), 784u * 256u / 2);
  hwt_model_free(b);
}
