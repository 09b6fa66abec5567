/* SPDX-License-Identifier: Apache-2.0 */
/* The context block of a results document: detect's machine description plus build and run metadata. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "bench.h"
#include "hwt_common.h"
#include "hwtune/hw_json.h"
#include "hwtune_build_info.h"
#include "noise.h"
#include "session_internal.h"

static void iso_now(char *buf, size_t len) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* argv joined with spaces; arguments with shell metacharacters are single-quoted. */
static char *join_command_line(int argc, char **argv) {
  size_t cap = 1;
  for (int i = 0; i < argc; i++) cap += 4 * strlen(argv[i]) + 3;
  char *s = malloc(cap), *p = s;
  if (s == NULL) return NULL;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    bool quote = *a == '\0' || strpbrk(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") != NULL;
    if (i) *p++ = ' ';
    if (!quote) {
      p += sprintf(p, "%s", a);
      continue;
    }
    *p++ = '\'';
    for (; *a; a++) {
      if (*a == '\'') {
        memcpy(p, "'\\''", 4);
        p += 4;
      } else {
        *p++ = *a;
      }
    }
    *p++ = '\'';
  }
  *p = '\0';
  return s;
}

json_t *hwt_bench_context_json(const hwt_bench_session *s, int argc, char **argv) {
  json_t *ctx = hwt_hw_to_json(hwt_bench_session_hw(s));
  if (ctx == NULL) ctx = json_object();
  if (ctx == NULL) return NULL;
  /* One schema key per document: the hw document's moves to hw_schema. */
  json_t *hw_schema = json_object_get(ctx, "schema");
  if (hw_schema != NULL) {
    json_object_set(ctx, "hw_schema", hw_schema);
    json_object_del(ctx, "schema");
  } else {
    json_object_set_new(ctx, "hw_schema", json_string(HWT_HW_SCHEMA));
  }
  json_t *build = json_object();
  json_object_set_new(build, "hwtune_version", json_string(HWTUNE_VERSION_STRING));
  json_object_set_new(build, "git_commit", json_string(HWTUNE_GIT_COMMIT));
  json_object_set_new(build, "compiler", json_string(HWTUNE_C_COMPILER));
  json_object_set_new(build, "c_flags", json_string(HWTUNE_C_FLAGS));
  json_object_set_new(build, "build_type", json_string(HWTUNE_BUILD_TYPE));
  json_object_set_new(build, "xnnpack_version", json_string(hwt_bench_xnnpack_version()));
  json_object_set_new(ctx, "build", build);
  char *cmd = argc > 0 ? join_command_line(argc, argv) : NULL;
  json_object_set_new(ctx, "command_line", json_string(cmd ? cmd : ""));
  free(cmd);
  json_object_set_new(ctx, "start_time", json_string(hwt_bench_session_start_time(s)));
  json_object_set_new(ctx, "end_time", json_null());
  json_object_set_new(ctx, "timer_overhead_ns", json_real(hwt_bench_session_timer_overhead(s)));
  json_t *w = json_array();
  const char *const *ws;
  size_t nw = hwt_bench_session_warnings(s, &ws);
  for (size_t i = 0; i < nw; i++) json_array_append_new(w, json_string(ws[i]));
  json_object_set_new(ctx, "warnings", w);
  return ctx;
}

void hwt_bench_context_finish(json_t *context, const hwt_bench_session *s) {
  if (context == NULL || s == NULL) return;
  char now[32];
  iso_now(now, sizeof(now));
  json_object_set_new(context, "end_time", json_string(now));
  json_t *w = json_object_get(context, "warnings");
  if (!json_is_array(w)) {
    w = json_array();
    json_object_set_new(context, "warnings", w);
  }
  const char *const *ws;
  size_t nw = hwt_bench_session_warnings(s, &ws);
  for (size_t i = 0; i < nw; i++) {
    bool seen = false;
    size_t j;
    json_t *v;
    json_array_foreach(w, j, v) if (json_is_string(v) && strcmp(json_string_value(v), ws[i]) == 0) seen = true;
    if (!seen) json_array_append_new(w, json_string(ws[i]));
  }
  /* Frequency over the whole run: the calibration loop at the start against now. */
  double before = hwt_bench_session_freq_probe(s), after = hwt_freq_probe_ns(100000, 5);
  if (before > 0 && after > 0 && fabs(after / before - 1.0) > 0.05) {
    char msg[160];
    snprintf(msg, sizeof(msg), "frequency changed over the run: calibration loop %.1f us at start, %.1f us at end",
             before / 1e3, after / 1e3);
    json_array_append_new(w, json_string(msg));
  }
}
