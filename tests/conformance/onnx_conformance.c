/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX's own backend tests (Debian's libonnx-testdata) through hwtune's importer and engine: every test whose
 * operators hwtune claims to support is imported, run on each of its data sets with one thread, and compared
 * with the expected outputs. See docs/onnx-conformance.md for the tolerance, the strategies and the xfail list.
 *
 * Each test runs in a child process (a crash or a test over its time budget is a failure of that test, not of
 * the runner); the parent lists the operators of each model first so unsupported ones are skipped cheaply. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "hwt_common.h"
#include "onnx.h"
#include "onnx.pb-c.h"

#define DEFAULT_DATA "/usr/share/libonnx-testdata/data"
#define RTOL 1e-4
#define ATOL 1e-5
#define MSG_MAX 1024
#define MAX_INPUTS HWT_GRAPH_MAX_IO
#define MAX_SETS 16

/* snprintf for paths and messages built from other buffers: truncation is cut short silently (test names
 * and paths here are far below the sizes), without format-truncation warnings on every call. */
static void fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t len, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, len, f, ap);
  va_end(ap);
}

static const char *const default_suites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

typedef enum { res_pass = 0, res_fail, res_skip } result_kind;

typedef struct test_case {
  char suite[32];
  char name[160];
  char dir[512];
  result_kind result;
  bool xfail;        /* listed in the expected-failure file */
  char op[128];      /* skip: the operator (or the refusal) it is grouped under */
  char msg[MSG_MAX]; /* skip reason / first mismatch / strategy */
  char strategy[48];
  pid_t pid;
  int fd;
} test_case;

typedef struct options {
  const char *data, *filter, *xfail_path;
  bool verbose, list_failed;
  double budget_s;
  unsigned jobs, threads;
  bool reference;                /* run hwt_model_reference_io instead of the engine */
  const char *suites[8];
  size_t nsuites;
} options;

/* ---- the model's operators, before any import ---- */
static hwt_list supported;

static bool op_supported(const char *domain, const char *op) {
  if (domain != NULL && domain[0] != '\0' && strcmp(domain, "ai.onnx") != 0) return false;
  for (size_t i = 0; i < supported.count; i++)
    if (strcmp(supported.items[i], op) == 0) return true;
  return false;
}

typedef struct model_info {
  char live[MAX_INPUTS][HWT_IO_NAME_MAX]; /* graph inputs that are not initializers, in order */
  size_t nlive;
  char unsupported[256];                  /* "Foo, Bar" */
  char first_unsupported[64];
  char type_skip[64];                     /* "(float16 tensors)", "(sequence values)": data the runner cannot feed */
} model_info;

/* Element types hwt_tensor_read_pb reads; the others get their ONNX name. */
static const char *elem_type_problem(const Onnx__TypeProto *t) {
  static const char *const names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                      "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
                                      "complex128", "bfloat16"};
  if (t == NULL) return NULL;
  switch (t->value_case) {
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE: break;
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: return "sequence";
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: return "map";
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: return "optional";
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: return "sparse tensor";
    default: return NULL;
  }
  if (t->tensor_type == NULL || !t->tensor_type->has_elem_type) return NULL;
  int e = t->tensor_type->elem_type;
  switch (e) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return NULL;
    default: return e >= 0 && (size_t) e < sizeof names / sizeof names[0] ? names[e] : "unknown";
  }
}

/* Lists the graph's live inputs and its operators missing from the supported list. false: unreadable. */
static bool inspect_model(const char *path, model_info *mi, char *why, size_t whylen) {
  memset(mi, 0, sizeof *mi);
  char *data = NULL;
  size_t len = 0;
  char err[512];
  if (hwt_read_file(path, &data, &len, err, sizeof err) != hwt_status_ok) {
    fmt(why, whylen, "%s", err);
    return false;
  }
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, (const uint8_t *) data);
  free(data);
  if (mp == NULL || mp->graph == NULL) {
    fmt(why, whylen, "%s: protobuf-c cannot decode the model", path);
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    return false;
  }
  const Onnx__GraphProto *g = mp->graph;
  for (size_t i = 0; i < g->n_node; i++) {
    const Onnx__NodeProto *n = g->node[i];
    const char *op = n->op_type ? n->op_type : "?";
    if (op_supported(n->domain, op)) continue;
    char full[96];
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
      snprintf(full, sizeof full, "%s.%s", n->domain, op);
    else
      snprintf(full, sizeof full, "%s", op);
    if (mi->first_unsupported[0] == '\0') fmt(mi->first_unsupported, sizeof mi->first_unsupported, "%s", full);
    /* Each operator once in the list. */
    char pat[100];
    snprintf(pat, sizeof pat, "%s,", full);
    char hay[260];
    snprintf(hay, sizeof hay, "%s,", mi->unsupported);
    bool seen = false;
    for (char *p = hay; (p = strstr(p, pat)) != NULL; p++)
      if (p == hay || p[-1] == ' ') seen = true;
    if (!seen) {
      size_t l = strlen(mi->unsupported);
      snprintf(mi->unsupported + l, sizeof mi->unsupported - l, "%s%s", l ? ", " : "", full);
    }
  }
  for (size_t i = 0; i < g->n_input; i++) {
    const char *name = g->input[i]->name ? g->input[i]->name : "";
    bool init = false;
    for (size_t k = 0; k < g->n_initializer && !init; k++)
      init = g->initializer[k]->name && strcmp(g->initializer[k]->name, name) == 0;
    if (init) continue;
    if (mi->nlive >= MAX_INPUTS) {
      snprintf(why, whylen, "more than %d graph inputs", MAX_INPUTS);
      onnx__model_proto__free_unpacked(mp, NULL);
      return false;
    }
    snprintf(mi->live[mi->nlive++], HWT_IO_NAME_MAX, "%s", name);
    const char *bad = elem_type_problem(g->input[i]->type);
    if (bad && !mi->type_skip[0]) fmt(mi->type_skip, sizeof mi->type_skip, "(%s values)", bad);
  }
  for (size_t i = 0; i < g->n_output; i++) {
    const char *bad = elem_type_problem(g->output[i]->type);
    if (bad && !mi->type_skip[0]) fmt(mi->type_skip, sizeof mi->type_skip, "(%s values)", bad);
  }
  onnx__model_proto__free_unpacked(mp, NULL);
  return true;
}

/* ---- one test, in a child process ---- */
typedef struct data_set {
  hwt_tensor in[MAX_INPUTS], out[MAX_INPUTS];
  size_t nin, nout;
} data_set;

static void free_set(data_set *s) {
  for (size_t i = 0; i < s->nin; i++) hwt_tensor_free(&s->in[i]);
  for (size_t i = 0; i < s->nout; i++) hwt_tensor_free(&s->out[i]);
  s->nin = s->nout = 0;
}

static bool exists(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0;
}

/* Reads test_data_set_<k>/{input,output}_*.pb. */
static hwt_status read_set(const char *dir, data_set *s, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  char p[1024];
  for (int io = 0; io < 2; io++) {
    for (size_t k = 0;; k++) {
      fmt(p, sizeof p, "%s/%s_%zu.pb", dir, io ? "output" : "input", k);
      if (!exists(p)) break;
      if (k >= MAX_INPUTS) {
        hwt_errf(err, errlen, "%s: more than %d tensors", dir, MAX_INPUTS);
        return hwt_status_unsupported;
      }
      hwt_tensor *t = io ? &s->out[k] : &s->in[k];
      hwt_status st = hwt_tensor_read_pb(p, t, err, errlen);
      if (st != hwt_status_ok) return st;
      if (io)
        s->nout++;
      else
        s->nin++;
    }
  }
  return hwt_status_ok;
}

/* The child's verdict: writes "<kind>\t<op>\t<strategy>\t<message>" to fd and exits. */
static void verdict(int fd, result_kind kind, const char *op, const char *strategy, const char *fmt, ...)
    __attribute__((format(printf, 5, 6), noreturn));
static void verdict(int fd, result_kind kind, const char *op, const char *strategy, const char *fmt, ...) {
  char msg[MSG_MAX], line[MSG_MAX + 160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (char *c = msg; *c; c++)
    if (*c == '\n' || *c == '\t') *c = ' ';
  int n = snprintf(line, sizeof line, "%d\t%s\t%s\t%s", (int) kind, op ? op : "", strategy ? strategy : "", msg);
  if (n > (int) sizeof line - 1) n = (int) sizeof line - 1;
  ssize_t w = write(fd, line, (size_t) n);
  (void) w;
  /* A pass has freed everything it made: exit() lets LeakSanitizer (ASan builds) check the import and the
   * engine, and a report turns the pass into a failure (collect). Other verdicts leave at once. */
  if (kind == res_pass) exit(0);
  _exit(0);
}

/* The operator named in an importer message "...: node 3 'n' (Conv): ...", else "". */
static void op_from_message(const char *msg, char *op, size_t oplen) {
  op[0] = '\0';
  const char *p = strstr(msg, ": node ");
  if (p == NULL) return;
  const char *open = strchr(p, '(');
  const char *close = open ? strchr(open, ')') : NULL;
  if (open == NULL || close == NULL || close - open - 1 <= 0 || (size_t) (close - open) > oplen) return;
  memcpy(op, open + 1, (size_t) (close - open - 1));
  op[close - open - 1] = '\0';
}

/* A refusal that names no node is grouped by its message with names and numbers blanked:
 * "m.onnx: opset 6 of ai.onnx not supported (7 to 17 are)" -> "(opset N of ai.onnx not supported (N to N are))". */
static void refusal_key(const char *msg, char *key, size_t len) {
  const char *p = strstr(msg, ".onnx: ");
  p = p ? p + 7 : msg;
  size_t n = 0;
  if (len < 8) return;
  key[n++] = '(';
  while (*p && *p != '\n' && n + 3 < len) {
    if (*p == '\'') {
      const char *q = strchr(p + 1, '\'');
      key[n++] = '#';
      p = q ? q + 1 : p + strlen(p);
    } else if (*p >= '0' && *p <= '9') {
      key[n++] = 'N';
      while (*p >= '0' && *p <= '9') p++;
    } else {
      key[n++] = *p++;
    }
  }
  key[n++] = ')';
  key[n] = '\0';
}

static bool close_enough(float got, double want, bool exact) {
  if (isnan(want)) return isnan(got);
  if (isnan(got)) return false;
  if ((double) got == want) return true;
  if (exact || isinf(want) || isinf(got)) return false;
  return fabs((double) got - want) <= ATOL + RTOL * fabs(want);
}

static void run_test(const test_case *tc, const model_info *mi, const options *o, int fd) {
  char model_path[1024], err[2048] = "", setdir[1024];
  snprintf(model_path, sizeof model_path, "%s/model.onnx", tc->dir);
  data_set sets[MAX_SETS];
  size_t nsets = 0;
  for (size_t k = 0; k < MAX_SETS; k++) {
    snprintf(setdir, sizeof setdir, "%s/test_data_set_%zu", tc->dir, k);
    if (!exists(setdir)) break;
    if (read_set(setdir, &sets[nsets], err, sizeof err) != hwt_status_ok)
      verdict(fd, res_fail, NULL, NULL, "test data: %s", err);
    nsets++;
  }
  if (nsets == 0) verdict(fd, res_skip, "(no test data)", NULL, "no test_data_set_0");
  if (hwt_engine_global_init(err, sizeof err) != hwt_status_ok) verdict(fd, res_fail, NULL, NULL, "%s", err);
  for (size_t s = 0; s < nsets; s++) {
    data_set *ds = &sets[s];
    if (ds->nin != mi->nlive)
      verdict(fd, res_fail, NULL, NULL, "data set %zu has %zu inputs, the graph %zu", s, ds->nin, mi->nlive);
    size_t batch = ds->nin > 0 && ds->in[0].rank > 0 ? (size_t) ds->in[0].dims[0] : 1;
    if (batch == 0) verdict(fd, res_skip, "(empty batch)", NULL, "input 0 has batch 0");
    hwt_onnx_options opt = {.batch = (uint32_t) batch};
    hwt_onnx_binding bind[MAX_INPUTS];
    const char *strategy = "inputs live";
    hwt_model *m = NULL;
    hwt_status st = hwt_onnx_import(model_path, &opt, &m, err, sizeof err);
    size_t first_bound = ds->nin;
    if (st != hwt_status_ok && mi->nlive > 1) {
      for (size_t k = 1; k < mi->nlive; k++) bind[k - 1] = (hwt_onnx_binding){mi->live[k], &ds->in[k]};
      opt.bind = bind;
      opt.nbind = mi->nlive - 1;
      strategy = "inputs 1.. bound";
      first_bound = 1;
      st = hwt_onnx_import(model_path, &opt, &m, err, sizeof err);
      /* refused twice: the bound attempt's reason is reported (the live one is mostly "this weight input must
       * be a constant") */
    }
    if (st != hwt_status_ok) {
      char op[128];
      op_from_message(err, op, sizeof op);
      char *nl = strchr(err, '\n');
      if (nl) *nl = '\0';
      if (op[0] == '\0') refusal_key(err, op, sizeof op);
      verdict(fd, res_skip, op, first_bound == 1 ? "inputs 1.. bound" : "inputs live", "%s", err);
    }
    if (m->ninputs != first_bound || m->noutputs != ds->nout) {
      size_t ni = m->ninputs, no = m->noutputs;
      hwt_model_free(m);
      verdict(fd, res_fail, NULL, strategy, "imported graph has %zu inputs and %zu outputs, the test %zu and %zu", ni,
              no, first_bound, ds->nout);
    }
    hwt_engine_options eo = {.threads = o->threads};
    hwt_engine *e = NULL;
    if (!o->reference && hwt_engine_create(m, batch, &eo, &e, err, sizeof err) != hwt_status_ok) {
      hwt_model_free(m);
      verdict(fd, res_fail, NULL, strategy, "engine: %s", err);
    }
    float *ins[MAX_INPUTS] = {0}, *outs[MAX_INPUTS] = {0};
    for (size_t k = 0; k < first_bound; k++) {
      size_t want = batch * hwt_model_input_size(m, k);
      if (ds->in[k].count != want)
        verdict(fd, res_fail, NULL, strategy, "input %zu: %zu elements, the imported graph expects %zu", k,
                ds->in[k].count, want);
      ins[k] = malloc((want ? want : 1) * sizeof(float));
      if (ins[k] == NULL) verdict(fd, res_fail, NULL, strategy, "out of memory");
      hwt_tensor_to_f32(&ds->in[k], ins[k]);
    }
    for (size_t k = 0; k < ds->nout; k++) {
      size_t n = batch * hwt_model_output_size(m, k);
      if (ds->out[k].count != n)
        verdict(fd, res_fail, NULL, strategy, "output %zu: the graph gives %zu elements, the test expects %zu", k, n,
                ds->out[k].count);
      outs[k] = malloc((n ? n : 1) * sizeof(float));
      if (outs[k] == NULL) verdict(fd, res_fail, NULL, strategy, "out of memory");
      for (size_t i = 0; i < n; i++) outs[k][i] = -12345.678f; /* a value no test expects */
    }
    hwt_status rs = o->reference ? hwt_model_reference_io(m, batch, (const float *const *) ins, outs)
                                 : hwt_engine_run_io(e, (const float *const *) ins, outs, NULL);
    if (rs != hwt_status_ok)
      verdict(fd, res_fail, NULL, strategy, "data set %zu: the %s failed: %s", s, o->reference ? "reference" : "run",
              hwt_status_string(rs));
    for (size_t k = 0; k < ds->nout; k++) {
      const hwt_tensor *w = &ds->out[k];
      bool exact = w->dtype != hwt_dtype_f32 && w->dtype != hwt_dtype_f64;
      for (size_t i = 0; i < w->count; i++) {
        double want = w->dtype == hwt_dtype_f64   ? ((const double *) w->data)[i]
                      : w->dtype == hwt_dtype_f32 ? (double) ((const float *) w->data)[i]
                                                  : 0;
        if (w->dtype != hwt_dtype_f32 && w->dtype != hwt_dtype_f64) {
          float f;
          hwt_tensor one = *w;
          one.count = 1;
          one.data = (char *) w->data + i * hwt_dtype_size(w->dtype);
          hwt_tensor_to_f32(&one, &f);
          want = f;
        }
        if (!close_enough(outs[k][i], want, exact))
          verdict(fd, res_fail, NULL, strategy,
                  "data set %zu, output %zu, element %zu of %zu: got %.9g, want %.9g (|diff| %.3g, allowed %.3g)", s,
                  k, i, w->count, (double) outs[k][i], want, fabs((double) outs[k][i] - want),
                  exact ? 0.0 : ATOL + RTOL * fabs(want));
      }
    }
    for (size_t k = 0; k < MAX_INPUTS; k++) free(ins[k]), free(outs[k]);
    hwt_engine_destroy(e);
    hwt_model_free(m);
    free_set(ds);
    if (s + 1 == nsets) verdict(fd, res_pass, NULL, strategy, "%zu data set%s", nsets, nsets > 1 ? "s" : "");
  }
  verdict(fd, res_fail, NULL, NULL, "unreachable");
}

/* ---- the parent ---- */
static void usage(FILE *f) {
  fprintf(f,
          "usage: onnx_conformance [--data DIR] [--suite NAME]... [--filter TEXT] [--xfail FILE] [--verbose]\n"
          "                        [--list-failed] [--time-budget S] [--jobs N] [--threads N] [--reference]\n\n"
          "Runs ONNX's backend tests (libonnx-testdata) through hwtune's importer and engine, compares\n"
          "every output with |got - want| <= %g + %g * |want| (float; integer outputs exact; NaN matches NaN).\n"
          "Tests using operators outside hwt_onnx_supported_ops(), or that the importer refuses, are skipped.\n\n"
          "  --data DIR       the test data root (default " DEFAULT_DATA ")\n"
          "  --suite NAME     node, pytorch-converted, pytorch-operator, simple (default: all four)\n"
          "  --filter TEXT    only tests whose suite/name contains TEXT\n"
          "  --xfail FILE     expected failures, one suite/name per line ('#' comments): listed failures do not\n"
          "                   fail the run; a listed test that passes does (remove it from the list)\n"
          "  --verbose        one line per test run, with the import strategy\n"
          "  --list-failed    print only the failed tests' suite/name, one per line\n"
          "  --time-budget S  seconds per test before it counts as failed (default 20)\n"
          "  --jobs N         tests run at once (default 1)\n"
          "  --threads N      engine threads per layer (default 1)\n"
          "  --reference      run hwt_model_reference_io (the plain-loop reference) instead of the engine\n\n"
          "Exit: 0 when no test failed (outside the xfail list) and no listed test passed, 1 otherwise, 2 usage.\n",
          ATOL, RTOL);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *) a, *(char *const *) b);
}

static test_case *tests;
static size_t ntests, captests;

static bool add_tests(const options *o, const char *suite) {
  char root[1024];
  snprintf(root, sizeof root, "%s/%s", o->data, suite);
  DIR *d = opendir(root);
  if (d == NULL) {
    fprintf(stderr, "onnx_conformance: cannot open '%s': %s\n", root, strerror(errno));
    return false;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 256;
      char **nn = realloc(names, cap * sizeof *names);
      if (nn == NULL) break;
      names = nn;
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    char full[256];
    snprintf(full, sizeof full, "%s/%s", suite, names[i]);
    if (o->filter == NULL || strstr(full, o->filter) != NULL) {
      if (ntests == captests) {
        captests = captests ? captests * 2 : 1024;
        test_case *nt = realloc(tests, captests * sizeof *tests);
        if (nt == NULL) return false;
        tests = nt;
      }
      test_case *t = &tests[ntests++];
      memset(t, 0, sizeof *t);
      snprintf(t->suite, sizeof t->suite, "%s", suite);
      snprintf(t->name, sizeof t->name, "%s", names[i]);
      fmt(t->dir, sizeof t->dir, "%s/%s", root, names[i]);
      t->fd = -1;
    }
    free(names[i]);
  }
  free(names);
  return true;
}

/* The xfail list: "suite/name" lines. */
static char **xfail;
static size_t nxfail;
static bool *xfail_seen;

static bool load_xfail(const char *path) {
  char *text = NULL, err[512];
  if (hwt_read_file(path, &text, NULL, err, sizeof err) != hwt_status_ok) {
    fprintf(stderr, "onnx_conformance: --xfail: %s\n", err);
    return false;
  }
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    while (*line == ' ' || *line == '\t') line++;
    size_t l = strlen(line);
    while (l && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r')) line[--l] = '\0';
    if (l == 0) continue;
    char **nx = realloc(xfail, (nxfail + 1) * sizeof *xfail);
    if (nx == NULL) break;
    xfail = nx;
    xfail[nxfail++] = strdup(line);
  }
  free(text);
  xfail_seen = calloc(nxfail ? nxfail : 1, sizeof *xfail_seen);
  return true;
}

static bool in_xfail(const test_case *t) {
  char full[256];
  snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
  for (size_t i = 0; i < nxfail; i++)
    if (strcmp(xfail[i], full) == 0) {
      xfail_seen[i] = true;
      return true;
    }
  return false;
}

static void record_skip(test_case *t, const char *op, const char *fmt, const char *arg) {
  t->result = res_skip;
  snprintf(t->op, sizeof t->op, "%s", op);
  snprintf(t->msg, sizeof t->msg, fmt, arg);
}

static const char *label(const test_case *t) {
  return t->result == res_pass ? (t->xfail ? "XPASS" : "PASS") : t->result == res_fail ? (t->xfail ? "XFAIL" : "FAIL")
                                                                                       : "SKIP";
}

/* Collects a finished child's verdict into its test. */
static void collect(test_case *t, int status, const options *o) {
  char buf[MSG_MAX + 200];
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf - 1 && (r = read(t->fd, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t) r;
  buf[n] = '\0';
  close(t->fd);
  t->fd = -1;
  if (WIFSIGNALED(status)) {
    t->result = res_fail;
    if (WTERMSIG(status) == SIGALRM)
      snprintf(t->msg, sizeof t->msg, "over the time budget of %g s", o->budget_s);
    else
      snprintf(t->msg, sizeof t->msg, "crashed: %s", strsignal(WTERMSIG(status)));
  } else if (n == 0) {
    t->result = res_fail;
    snprintf(t->msg, sizeof t->msg, "exited (status %d) without a verdict", WEXITSTATUS(status));
  } else {
    char *f[4] = {buf, NULL, NULL, NULL};
    for (int k = 1; k < 4; k++) {
      f[k] = f[k - 1] ? strchr(f[k - 1], '\t') : NULL;
      if (f[k]) *f[k]++ = '\0';
    }
    int kind = atoi(f[0]);
    t->result = kind == res_pass ? res_pass : kind == res_skip ? res_skip : res_fail;
    snprintf(t->op, sizeof t->op, "%s", f[1] ? f[1] : "");
    snprintf(t->strategy, sizeof t->strategy, "%s", f[2] ? f[2] : "");
    snprintf(t->msg, sizeof t->msg, "%s", f[3] ? f[3] : "");
    if (t->result == res_pass && WEXITSTATUS(status) != 0) {
      t->result = res_fail;
      snprintf(t->msg, sizeof t->msg, "outputs match, but the process exited with status %d (a leak or sanitizer "
               "report on its stderr)", WEXITSTATUS(status));
    }
  }
  if (o->verbose)
    fprintf(stderr, "%-5s %s/%s%s%s%s: %s\n", label(t), t->suite, t->name, t->strategy[0] ? " (" : "", t->strategy,
            t->strategy[0] ? ")" : "", t->msg);
}

int main(int argc, char **argv) {
  options o = {.data = DEFAULT_DATA, .budget_s = 20, .jobs = 1, .threads = 1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      o.verbose = true;
      continue;
    }
    if (strcmp(a, "--reference") == 0) {
      o.reference = true;
      continue;
    }
    if (strcmp(a, "--list-failed") == 0) {
      o.list_failed = true;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "onnx_conformance: unknown option or missing value: '%s'\n\n", a);
      usage(stderr);
      return 2;
    }
    const char *v = argv[++i];
    uint64_t u;
    if (strcmp(a, "--data") == 0) {
      o.data = v;
    } else if (strcmp(a, "--suite") == 0) {
      if (o.nsuites >= sizeof o.suites / sizeof o.suites[0]) {
        fprintf(stderr, "onnx_conformance: too many --suite\n");
        return 2;
      }
      o.suites[o.nsuites++] = v;
    } else if (strcmp(a, "--filter") == 0) {
      o.filter = v;
    } else if (strcmp(a, "--xfail") == 0) {
      o.xfail_path = v;
    } else if (strcmp(a, "--time-budget") == 0) {
      if (!hwt_parse_double(v, &o.budget_s) || !(o.budget_s >= 1 && o.budget_s <= 3600)) {
        fprintf(stderr, "onnx_conformance: --time-budget takes seconds in [1, 3600], not '%s'\n", v);
        return 2;
      }
    } else if (strcmp(a, "--threads") == 0) {
      if (!hwt_parse_u64(v, 1, 256, &u)) {
        fprintf(stderr, "onnx_conformance: --threads takes an integer in [1, 256], not '%s'\n", v);
        return 2;
      }
      o.threads = (unsigned) u;
    } else if (strcmp(a, "--jobs") == 0) {
      if (!hwt_parse_u64(v, 1, 64, &u)) {
        fprintf(stderr, "onnx_conformance: --jobs takes an integer in [1, 64], not '%s'\n", v);
        return 2;
      }
      o.jobs = (unsigned) u;
    } else {
      fprintf(stderr, "onnx_conformance: unknown option '%s'\n\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (o.nsuites == 0)
    for (size_t k = 0; k < sizeof default_suites / sizeof default_suites[0]; k++) o.suites[o.nsuites++] = default_suites[k];
  if (o.xfail_path && !load_xfail(o.xfail_path)) return 2;
  if (hwt_list_split(hwt_onnx_supported_ops(), &supported) != hwt_status_ok) {
    fprintf(stderr, "onnx_conformance: out of memory\n");
    return 1;
  }
  for (size_t k = 0; k < o.nsuites; k++)
    if (!add_tests(&o, o.suites[k])) return 2;

  /* Skips the parent can decide; the rest run in children, o.jobs at a time. */
  model_info *infos = calloc(ntests ? ntests : 1, sizeof *infos);
  if (infos == NULL) return 1;
  size_t next = 0, running = 0;
  for (;;) {
    while (running < o.jobs && next < ntests) {
      test_case *t = &tests[next];
      model_info *mi = &infos[next];
      next++;
      t->xfail = in_xfail(t);
      char model[1024], why[600];
      snprintf(model, sizeof model, "%s/model.onnx", t->dir);
      if (!exists(model)) {
        record_skip(t, "(no model.onnx)", "%s", "no model.onnx");
        continue;
      }
      if (!inspect_model(model, mi, why, sizeof why)) {
        record_skip(t, "(malformed model)", "%s", why);
        continue;
      }
      if (mi->unsupported[0]) {
        record_skip(t, mi->first_unsupported, "unsupported op %s", mi->unsupported);
        if (o.verbose) fprintf(stderr, "SKIP  %s/%s: %s\n", t->suite, t->name, t->msg);
        continue;
      }
      if (mi->type_skip[0]) {
        record_skip(t, mi->type_skip, "graph inputs or outputs of a type the runner does not feed: %s", mi->type_skip);
        if (o.verbose) fprintf(stderr, "SKIP  %s/%s: %s\n", t->suite, t->name, t->msg);
        continue;
      }
      int p[2];
      if (pipe(p) != 0) {
        fprintf(stderr, "onnx_conformance: pipe: %s\n", strerror(errno));
        return 1;
      }
      fflush(stdout);
      fflush(stderr);
      pid_t pid = fork();
      if (pid < 0) {
        fprintf(stderr, "onnx_conformance: fork: %s\n", strerror(errno));
        return 1;
      }
      if (pid == 0) {
        close(p[0]);
        alarm((unsigned) ceil(o.budget_s));
        run_test(t, mi, &o, p[1]);
        _exit(3);
      }
      close(p[1]);
      t->pid = pid;
      t->fd = p[0];
      running++;
    }
    if (running == 0) break;
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "onnx_conformance: waitpid: %s\n", strerror(errno));
      return 1;
    }
    for (size_t i = 0; i < next; i++)
      if (tests[i].pid == pid && tests[i].fd >= 0) {
        collect(&tests[i], status, &o);
        running--;
        break;
      }
  }

  /* Report. */
  size_t pass = 0, fail = 0, skip = 0, xf = 0, xpass = 0;
  if (o.list_failed) {
    for (size_t i = 0; i < ntests; i++)
      if (tests[i].result == res_fail) printf("%s/%s\n", tests[i].suite, tests[i].name);
  } else {
    for (size_t k = 0; k < o.nsuites; k++) {
      size_t sp = 0, sf = 0, ss = 0, sx = 0;
      for (size_t i = 0; i < ntests; i++) {
        if (strcmp(tests[i].suite, o.suites[k]) != 0) continue;
        sp += tests[i].result == res_pass;
        sf += tests[i].result == res_fail && !tests[i].xfail;
        sx += tests[i].result == res_fail && tests[i].xfail;
        ss += tests[i].result == res_skip;
      }
      printf("%-18s %4zu passed, %4zu failed, %4zu skipped", o.suites[k], sp, sf, ss);
      if (sx) printf(" (and %zu expected failures)", sx);
      printf("\n");
    }
  }
  for (size_t i = 0; i < ntests; i++) {
    pass += tests[i].result == res_pass;
    xpass += tests[i].result == res_pass && tests[i].xfail;
    fail += tests[i].result == res_fail && !tests[i].xfail;
    xf += tests[i].result == res_fail && tests[i].xfail;
    skip += tests[i].result == res_skip;
  }
  if (!o.list_failed) {
    printf("%zu passed, %zu failed, %zu skipped", pass, fail, skip);
    if (xf) printf(" (and %zu expected failures from %s)", xf, o.xfail_path);
    printf("\n");
    /* Skips by operator, most frequent first. */
    test_case **order = malloc((ntests ? ntests : 1) * sizeof *order);
    size_t nsk = 0;
    for (size_t i = 0; i < ntests; i++)
      if (tests[i].result == res_skip) order[nsk++] = &tests[i];
    if (nsk) printf("\nskipped, by operator (the first unsupported one of each test):\n");
    bool *done = calloc(nsk ? nsk : 1, sizeof *done);
    for (;;) {
      size_t best = nsk, bestn = 0;
      for (size_t i = 0; i < nsk; i++) {
        if (done[i]) continue;
        size_t c = 0;
        for (size_t j = i; j < nsk; j++) c += !done[j] && strcmp(order[j]->op, order[i]->op) == 0;
        if (c > bestn || (c == bestn && best < nsk && strcmp(order[i]->op, order[best]->op) < 0)) best = i, bestn = c;
      }
      if (best == nsk) break;
      char example[200];
      snprintf(example, sizeof example, "%s/%s", order[best]->suite, order[best]->name);
      bool refused = strncmp(order[best]->msg, "unsupported op", 14) != 0;
      const char *why = strstr(order[best]->msg, "model.onnx: "); /* the path is in the example's name */
      why = why ? why + 12 : order[best]->msg;
      printf("  %-28s %4zu  e.g. %s%s%s\n", order[best]->op, bestn, example, refused ? ": " : "", refused ? why : "");
      for (size_t j = best; j < nsk; j++)
        if (strcmp(order[j]->op, order[best]->op) == 0) done[j] = true;
    }
    free(done);
    free(order);
    if (fail + xf) printf("\nfailed:\n");
    for (size_t i = 0; i < ntests; i++)
      if (tests[i].result == res_fail)
        printf("  %s%s/%s%s%s%s: %s\n", tests[i].xfail ? "(xfail) " : "", tests[i].suite, tests[i].name,
               tests[i].strategy[0] ? " [" : "", tests[i].strategy, tests[i].strategy[0] ? "]" : "", tests[i].msg);
    if (xpass) {
      printf("\npassed but listed in %s (remove them from the list):\n", o.xfail_path);
      for (size_t i = 0; i < ntests; i++)
        if (tests[i].result == res_pass && tests[i].xfail) printf("  %s/%s\n", tests[i].suite, tests[i].name);
    }
    bool stale_header = false;
    for (size_t i = 0; i < nxfail; i++) {
      if (xfail_seen[i] || o.filter != NULL) continue;
      if (!stale_header) printf("\nlisted in %s but not among the tests:\n", o.xfail_path);
      stale_header = true;
      printf("  %s\n", xfail[i]);
    }
  }
  for (size_t i = 0; i < nxfail; i++) free(xfail[i]);
  free(xfail);
  free(xfail_seen);
  free(infos);
  free(tests);
  hwt_list_free(&supported);
  return fail > 0 || xpass > 0 ? 1 : 0;
}
