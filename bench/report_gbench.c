/* SPDX-License-Identifier: Apache-2.0 */
/* Reporter: Google Benchmark's JSON (context + benchmarks), one "iteration" run per sample plus mean, median,
 * stddev and cv aggregates, so benchmark's tools/compare.py (libbenchmark-tools) accepts our files. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hwt_common.h"
#include "reporters.h"
#include "hwt_stats.h"

static json_t *run(const hwt_bench_result *r, size_t family, const char *name, const char *type, double t,
                   uint64_t iterations) {
  json_t *b = json_object();
  json_object_set_new(b, "name", json_string(name));
  json_object_set_new(b, "family_index", json_integer((json_int_t)family));
  json_object_set_new(b, "per_family_instance_index", json_integer(0));
  json_object_set_new(b, "run_name", json_string(r->name));
  json_object_set_new(b, "run_type", json_string(type));
  json_object_set_new(b, "repetitions", json_integer((json_int_t)r->samples));
  json_object_set_new(b, "threads", json_integer(r->config.threads));
  json_object_set_new(b, "iterations", json_integer((json_int_t)iterations));
  json_object_set_new(b, "real_time", json_real(t));
  json_object_set_new(b, "cpu_time", json_real(t));
  json_object_set_new(b, "time_unit", json_string("ns"));
  return b;
}

hwt_status hwt_report_gbench(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen) {
  json_t *root = json_object(), *ctx = json_object(), *benches = json_array();
  json_t *c = doc->context;
  char host[256] = "unknown";
  gethostname(host, sizeof(host) - 1);
  const char *date = c ? json_string_value(json_object_get(c, "start_time")) : NULL;
  json_object_set_new(ctx, "date", json_string(date ? date : ""));
  json_object_set_new(ctx, "host_name", json_string(host));
  json_object_set_new(ctx, "executable", json_string("hwtune bench"));
  json_t *usable = c ? json_object_get(json_object_get(c, "usable"), "cpus") : NULL;
  json_object_set_new(ctx, "num_cpus", json_is_integer(usable) ? json_incref(usable) : json_integer(1));
  json_object_set_new(ctx, "mhz_per_cpu", json_integer(0));
  json_object_set_new(ctx, "cpu_scaling_enabled", json_false());
  json_object_set_new(ctx, "caches", json_array());
  json_object_set_new(ctx, "load_avg", json_array());
  json_t *bt = c ? json_object_get(json_object_get(c, "build"), "build_type") : NULL;
  json_object_set_new(ctx, "library_build_type",
                      json_string(json_is_string(bt) && json_string_value(bt)[0] == 'D' ? "debug" : "release"));
  json_object_set_new(ctx, "json_schema_version", json_integer(1));
  json_object_set_new(ctx, "hwtune_schema", json_string(HWT_RESULTS_SCHEMA));
  json_object_set_new(ctx, "partial", json_boolean(doc->partial));
  json_object_set_new(root, "context", ctx);
  for (size_t i = 0; i < doc->count; i++) {
    const hwt_bench_result *r = &doc->results[i];
    for (size_t j = 0; j < r->samples; j++) {
      json_t *b = run(r, i, r->name, "iteration", r->samples_ns[j], r->iterations_per_sample);
      json_object_set_new(b, "repetition_index", json_integer((json_int_t)j));
      json_array_append_new(benches, b);
    }
    static const char *const agg[] = {"mean", "median", "stddev", "cv"};
    const double val[] = {r->mean_ns, r->median_ns, r->stddev_ns, r->cv};
    for (int a = 0; a < 4; a++) {
      char name[224];
      snprintf(name, sizeof(name), "%s_%s", r->name, agg[a]);
      json_t *b = run(r, i, name, "aggregate", val[a], r->samples);
      json_object_set_new(b, "aggregate_name", json_string(agg[a]));
      json_object_set_new(b, "aggregate_unit", json_string(a == 3 ? "percentage" : "time"));
      json_array_append_new(benches, b);
    }
  }
  json_object_set_new(root, "benchmarks", benches);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
  json_decref(root);
  if (text == NULL) {
    hwt_errf(err, errlen, "gbench: cannot serialize");
    return hwt_status_out_of_memory;
  }
  hwt_buf_puts(out, text);
  hwt_buf_puts(out, "\n");
  free(text);
  return hwt_status_ok;
}
