/* SPDX-License-Identifier: Apache-2.0 */
/* Reporter: the canonical JSON document, schema hwtune.results/1 (docs/results-schema.md). */
#include <stdlib.h>

#include "hwt_common.h"
#include "reporters.h"

hwt_status hwt_report_json(const hwt_bench_doc *doc, hwt_buf *out, char *err, size_t errlen) {
  json_t *root = json_object();
  json_t *results = json_array();
  if (root == NULL || results == NULL) goto oom;
  json_object_set_new(root, "schema", json_string(HWT_RESULTS_SCHEMA));
  json_object_set_new(root, "partial", json_boolean(doc->partial));
  json_object_set(root, "context", doc->context ? doc->context : json_object());
  for (size_t i = 0; i < doc->count; i++) {
    json_t *r = hwt_bench_result_to_json(&doc->results[i]);
    if (r == NULL) goto oom;
    json_array_append_new(results, r);
  }
  json_object_set_new(root, "results", results);
  results = NULL;
  char *text = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
  json_decref(root);
  if (text == NULL) {
    hwt_errf(err, errlen, "json: cannot serialize the results document");
    return hwt_status_out_of_memory;
  }
  hwt_buf_puts(out, text);
  hwt_buf_puts(out, "\n");
  free(text);
  return hwt_status_ok;
oom:
  json_decref(root);
  json_decref(results);
  hwt_errf(err, errlen, "json: out of memory");
  return hwt_status_out_of_memory;
}
