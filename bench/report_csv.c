/* SPDX-License-Identifier: Apache-2.0 */
/* Reporter: CSV, one header row and one row per result (RFC 4180 quoting; warnings joined with "; "). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reporters.h"

static void csv_string(hwt_buf *b, const char *s) {
  if (strpbrk(s, ",\"\n\r") == NULL) {
    hwt_buf_puts(b, s);
    return;
  }
  hwt_buf_puts(b, "\"");
  for (; *s; s++) {
    if (*s == '"')
      hwt_buf_puts(b, "\"\"");
    else
      hwt_buf_printf(b, "%c", *s);
  }
  hwt_buf_puts(b, "\"");
}

static void csv_num(hwt_buf *b, double v) {
  if (isfinite(v))
    hwt_buf_printf(b, ",%.6g", v);
  else
    hwt_buf_puts(b, ",");
}

hwt_status hwt_report_csv(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen) {
  (void)err, (void)errlen;
  hwt_buf_puts(out,
               "name,op,impl,isa,dtype,shape,m,n,k,threads,cache,samples,iterations_per_sample,median_ns,mean_ns,"
               "stddev_ns,mad_ns,min_ns,p90_ns,p99_ns,ci_low_ns,ci_high_ns,cv,gflops,pct_peak,bytes_moved,"
               "arithmetic_intensity,bound,op_bytes,peak_rss_bytes,partial,warnings\n");
  for (size_t i = 0; i < doc->count; i++) {
    const hwt_bench_result *r = &doc->results[i];
    const hwt_bench_config *c = &r->config;
    csv_string(out, r->name);
    hwt_buf_printf(out, ",%s,%s,", hwt_bench_op_name(c->op), hwt_bench_impl_name(c->impl));
    csv_string(out, r->isa);
    hwt_buf_printf(out, ",%s,", hwt_bench_op_is_qs8(c->op) ? "qs8" : "f32");
    char shape[96];
    hwt_bench_config_shape(c, shape, sizeof(shape));
    csv_string(out, shape);
    hwt_buf_printf(out, ",%zu,%zu,%zu,%u,%s,%zu,%llu", r->m, r->n, r->k, c->threads, c->cold ? "cold" : "warm",
                   r->samples, (unsigned long long)r->iterations_per_sample);
    const double v[] = {r->median_ns, r->mean_ns,  r->stddev_ns, r->mad_ns, r->min_ns, r->p90_ns, r->p99_ns,
                        r->ci_low_ns, r->ci_high_ns, r->cv,     r->gflops};
    for (size_t j = 0; j < sizeof(v) / sizeof(v[0]); j++) csv_num(out, v[j]);
    csv_num(out, r->pct_peak >= 0 ? r->pct_peak : NAN);
    csv_num(out, r->bytes_moved);
    csv_num(out, r->arithmetic_intensity);
    hwt_buf_printf(out, ",%s,%llu,%llu,%s,", r->bound, (unsigned long long)r->op_bytes,
                   (unsigned long long)r->peak_rss_bytes, r->interrupted ? "true" : "false");
    hwt_buf w = {0};
    hwt_buf_puts(&w, "");
    for (size_t j = 0; j < r->nwarnings; j++) hwt_buf_printf(&w, "%s%s", j ? "; " : "", r->warnings[j]);
    csv_string(out, w.data ? w.data : "");
    free(w.data);
    hwt_buf_puts(out, "\n");
  }
  return hwt_status_ok;
}
