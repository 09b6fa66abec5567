/* SPDX-License-Identifier: Apache-2.0 */
/* libhwtune loader: golden profiles (each bad file's specific status and message), machine check, lookups. */
#define _GNU_SOURCE 1  /* sched_setaffinity, CPU_COUNT */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hwtune/profile.h"

#define FIX(name) HWTUNE_FIXTURES "/profiles/" name
/* The smallest machine field set the loader accepts (an empty one would match every machine). */
#define TEST_FIELDS "{\"arch\":\"x86_64\",\"brand\":\"Test CPU\"}"

static hwt_profile *load_ok(const char *path) {
  hwt_profile *p = NULL;
  char msg[512];
  hwt_status st = hwt_profile_load(path, &p, msg, sizeof msg);
  cr_assert_eq(st, hwt_status_ok, "%s: %s", path, msg);
  cr_assert_not_null(p);
  return p;
}

/* Loads a bad fixture and checks the status and the whole message after the directory. */
static void expect_error(const char *name, hwt_status want, const char *want_msg) {
  char path[1024], msg[512];
  snprintf(path, sizeof path, "%s/profiles/%s", HWTUNE_FIXTURES, name);
  hwt_profile *p = (hwt_profile *)0x1;
  hwt_status st = hwt_profile_load(path, &p, msg, sizeof msg);
  cr_assert_eq(st, want, "%s: status %s, want %s (%s)", name, hwt_status_string(st), hwt_status_string(want), msg);
  cr_assert_null(p, "%s: out must be NULL on failure", name);
  const char *rel = strstr(msg, "/profiles/");
  cr_assert_not_null(rel, "%s: message must name the file: %s", name, msg);
  cr_assert_str_eq(rel + strlen("/profiles/"), want_msg);
}

/* The machine valid.json was "tuned" on. */
static void test_machine(hwt_profile_machine *m) {
  static const char *const kv[][2] = {{"arch", "x86_64"},  {"vendor", "TestVendor"},
                                      {"brand", "Test CPU 9000"}, {"family", "6"},
                                      {"model", "85"},     {"stepping", "7"},
                                      {"isa", "sse4_2 avx avx2 fma f16c"}, {"l1d", "32768"},
                                      {"l2", "1048576"},   {"l3", "16777216"},
                                      {"cpus", "2"}};
  memset(m, 0, sizeof *m);
  strcpy(m->fingerprint, "00112233445566778899aabbccddeeff");
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
    strcpy(m->fields[i].name, kv[i][0]);
    strcpy(m->fields[i].value, kv[i][1]);
  }
  m->nfields = sizeof kv / sizeof kv[0];
}

Test(profile_golden, valid) {
  hwt_profile *p = load_ok(FIX("valid.json"));
  cr_assert_eq(hwt_profile_count(p), 5);
  cr_assert_str_eq(hwt_profile_meta(p, "fingerprint"), "00112233445566778899aabbccddeeff");
  cr_assert_str_eq(hwt_profile_meta(p, "objective"), "latency");
  cr_assert_str_eq(hwt_profile_meta(p, "xnnpack_version"), "0.0~git20221221");
  cr_assert_str_eq(hwt_profile_meta(p, "created"), "2026-11-22T23:50:00Z");
  cr_assert_null(hwt_profile_meta(p, "no_such_key"));
  /* Sorted by (op, dtype, n, k, batch): the first entry is gemm_f32 10x512. */
  hwt_profile_choice c;
  cr_assert(hwt_profile_entry(p, 0, &c));
  cr_assert_str_eq(c.shape, "10x512");
  cr_assert(!hwt_profile_entry(p, 5, &c));
  hwt_profile_free(p);
}

Test(profile_golden, truncated) {
  expect_error("truncated.json", hwt_status_parse_error,
               "truncated.json:19:69: unexpected end of file (truncated?), expected ':' after a member name");
}

Test(profile_golden, not_json) {
  expect_error("not_json.json", hwt_status_parse_error,
               "not_json.json:1:1: unexpected character 't', expected a JSON value");
}

Test(profile_golden, empty) {
  expect_error("empty.json", hwt_status_parse_error, "empty.json:1:1: empty file: not a JSON document");
}

Test(profile_golden, wrong_types) {
  expect_error("wrong_types.json", hwt_status_schema_error,
               "wrong_types.json: entries[1].choice.threads (17:149): expected an integer, got a string");
}

Test(profile_golden, unknown_schema_version) {
  expect_error("future_version.json", hwt_status_schema_error,
               "future_version.json: schema (2:3): unknown schema version 'hwtune.profile/2' (this libhwtune reads "
               "hwtune.profile/1)");
}

Test(profile_golden, huge_number) {
  expect_error("huge_number.json", hwt_status_parse_error,
               "huge_number.json:18:163: number out of range (not representable as a double)");
}

Test(profile_golden, huge_integer) {
  expect_error("huge_integer.json", hwt_status_schema_error,
               "huge_integer.json: entries[4].choice.threads (20:150): 340282366920938463463374607431768211457 is "
               "out of range [1, 4096]");
}

Test(profile_golden, duplicate_entries) {
  expect_error("duplicate_entries.json", hwt_status_schema_error,
               "duplicate_entries.json: entries[5] (21:5): duplicate entry: op 'gemm_f32', dtype 'f32', shape "
               "'10x512', batch 1 already in entries[2]");
}

Test(profile_golden, duplicate_key) {
  expect_error("duplicate_key.json", hwt_status_schema_error,
               "duplicate_key.json: objective (13:3): duplicate key 'objective'");
}

Test(profile_golden, missing_field) {
  expect_error("missing_field.json", hwt_status_schema_error,
               "missing_field.json: entries[2] (18:5): missing required field 'choice'");
}

Test(profile_golden, empty_machine_fields) {
  /* `"fields": {}` matched every machine (issue 17): a profile must say which machine it was tuned on. */
  expect_error("empty_fields.json", hwt_status_schema_error,
               "empty_fields.json: machine.fields (5:15): an empty field set would match every machine: name "
               "\"arch\" and one of \"brand\", \"model\", \"isa\" (not \"unknown\")");
  expect_error("unknown_fields.json", hwt_status_schema_error,
               "unknown_fields.json: machine.fields (5:15): fields that identify no machine would match every "
               "machine: name \"arch\" and one of \"brand\", \"model\", \"isa\" (not \"unknown\")");
}

Test(profile_golden, invalid_utf8) {
  /* Latin-1 "caf\xe9" in a string: Python's json rejects the file, so does libhwtune (RFC 8259). */
  expect_error("invalid_utf8.json", hwt_status_parse_error,
               "invalid_utf8.json:5:85: invalid UTF-8 in a string (byte 0xe9: a lead byte without its continuation "
               "bytes); profiles are UTF-8 (RFC 8259)");
}

Test(profile_golden, shape_contradicts_n_k) {
  expect_error("shape_mismatch.json", hwt_status_schema_error,
               "shape_mismatch.json: entries[2] (18:40): op 'gemm_f32' shape '10x512' batch 1: the shape means n 10, "
               "k 512 but the entry says n 10, k 1024");
}

Test(profile_golden, missing_file) {
  hwt_profile *p = NULL;
  char msg[512];
  cr_assert_eq(hwt_profile_load("/nonexistent/hwtune/p.json", &p, msg, sizeof msg), hwt_status_io_error);
  cr_assert_str_eq(msg, "cannot open profile '/nonexistent/hwtune/p.json': No such file or directory");
  cr_assert_null(p);
}

Test(profile_golden, wrong_machine) {
  hwt_profile *p = load_ok(FIX("wrong_machine.json"));
  hwt_profile_machine here;
  test_machine(&here);
  hwt_profile_mismatch d;
  char msg[1024];
  cr_assert_eq(hwt_profile_check(p, &here, &d, msg, sizeof msg), hwt_status_mismatch);
  cr_assert_eq(d.ndiffs, 3);
  cr_assert_str_eq(d.diffs[0].field, "brand");
  cr_assert_str_eq(d.diffs[0].profile_value, "Other CPU 1234");
  cr_assert_str_eq(d.diffs[0].current_value, "Test CPU 9000");
  cr_assert_str_eq(d.diffs[1].field, "l2");
  cr_assert_str_eq(d.diffs[2].field, "fingerprint");
  const char *rel = strstr(msg, "/profiles/");
  cr_assert_not_null(rel);
  cr_assert_str_eq(rel, "/profiles/wrong_machine.json' was tuned on another machine: brand 'Other CPU 1234' here "
                        "'Test CPU 9000'; l2 '2097152' here '1048576'; fingerprint "
                        "'ffeeddccbbaa99887766554433221100' here '00112233445566778899aabbccddeeff'");
  hwt_profile_free(p);

  /* open() refuses it by default and keeps it when asked to. */
  p = (hwt_profile *)0x1;
  cr_assert_eq(hwt_profile_open(FIX("wrong_machine.json"), &here, 0, &p, msg, sizeof msg), hwt_status_mismatch);
  cr_assert_null(p);
  cr_assert(strstr(msg, "(refused; re-run `hwtune tune` on this machine)") != NULL, "%s", msg);
  cr_assert_eq(hwt_profile_open(FIX("wrong_machine.json"), &here, HWT_PROFILE_ACCEPT_MISMATCH, &p, msg, sizeof msg),
               hwt_status_ok);
  cr_assert_not_null(p);
  cr_assert(strstr(msg, "brand 'Other CPU 1234'") != NULL, "a kept mismatch still says what differs: %s", msg);
  hwt_profile_free(p);
}

Test(profile_check, match_and_missing_field) {
  hwt_profile *p = load_ok(FIX("valid.json"));
  hwt_profile_machine here;
  test_machine(&here);
  char msg[512];
  cr_assert_eq(hwt_profile_check(p, &here, NULL, msg, sizeof msg), hwt_status_ok);
  cr_assert_str_eq(msg, "");
  /* Without a fingerprint only fields are compared. */
  here.fingerprint[0] = '\0';
  cr_assert_eq(hwt_profile_check(p, &here, NULL, msg, sizeof msg), hwt_status_ok);
  /* A field this machine does not report differs. */
  here.nfields--;
  hwt_profile_mismatch d;
  cr_assert_eq(hwt_profile_check(p, &here, &d, msg, sizeof msg), hwt_status_mismatch);
  cr_assert_eq(d.ndiffs, 1);
  cr_assert_str_eq(d.diffs[0].field, "cpus");
  cr_assert_str_eq(d.diffs[0].current_value, "(absent)");
  cr_assert_eq(hwt_profile_check(NULL, &here, NULL, msg, sizeof msg), hwt_status_invalid_argument);
  hwt_profile_free(p);
}

Test(profile_check, probe_describes_this_machine) {
  hwt_profile_machine m;
  cr_assert_eq(hwt_profile_machine_probe(&m), hwt_status_ok);
  cr_assert_eq(m.nfields, 11);
  const char *names[] = {"arch", "vendor", "brand", "family", "model", "stepping", "isa", "l1d", "l2", "l3", "cpus"};
  for (size_t i = 0; i < 11; i++) {
    cr_assert_str_eq(m.fields[i].name, names[i]);
    cr_assert(m.fields[i].value[0] != '\0');
  }
  cr_assert_str_eq(m.fingerprint, "");
  cr_assert_eq(hwt_profile_machine_probe(NULL), hwt_status_invalid_argument);
}

Test(profile_lookup, exact_nearest_default) {
  hwt_profile *p = load_ok(FIX("valid.json"));
  hwt_profile_choice c;
  hwt_profile_query q = {.op = "gemm_f32", .dtype = "f32", .n = 512, .k = 784, .batch = 1};
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_exact);
  cr_assert_str_eq(c.impl, "own");
  cr_assert_str_eq(c.isa, "avx2");
  cr_assert_eq(c.threads, 1);
  cr_assert_eq(c.mc, 72);
  cr_assert_eq(c.kc, 256);
  cr_assert_eq(c.nc, 512);
  cr_assert_eq(c.distance, 0.0);
  cr_assert_eq(c.median_ns, 41000.5);
  cr_assert_str_eq(c.shape, "512x784");

  /* Shape given and equal: exact; given and different (same n, k, batch): nearest at distance 0. */
  q.shape = "512x784";
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_exact);
  q.shape = "conv-like-512x784";
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_nearest);
  cr_assert_eq(c.distance, 0.0);
  q.shape = NULL;

  /* batch 32: 1 doubling from 64, 5 from 1 -> the batch-64 entry; distance |log2(32/64)| = 1. */
  q.batch = 32;
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_nearest);
  cr_assert_eq(c.entry_batch, 64);
  cr_assert_float_eq(c.distance, 1.0, 1e-12);
  cr_assert_str_eq(c.impl, "xnnpack");
  cr_assert_eq(c.batch, 32, "latency profile: run with the caller's batch");

  /* n=1024, k=784, batch 1: 1 doubling from 512x784 batch 1. */
  q = (hwt_profile_query){.op = "gemm_f32", .n = 1024, .k = 784, .batch = 1};
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_nearest);
  cr_assert_str_eq(c.shape, "512x784");
  cr_assert_eq(c.entry_batch, 1);
  cr_assert_float_eq(c.distance, 1.0, 1e-12);

  /* max_distance: too far falls back to the default. */
  q.max_distance = 0.5;
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_default);

  /* dtype filters: qs8 has one entry; an unknown op gets the default. */
  q = (hwt_profile_query){.op = "gemm_qs8", .dtype = "qs8", .n = 100, .k = 100, .batch = 1};
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_nearest);
  cr_assert_str_eq(c.isa, "avx512vnni");
  q.dtype = "f32";
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_default);
  q = (hwt_profile_query){.op = "conv_f32", .n = 64, .k = 27, .batch = 1};
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_default);
  cr_assert_str_eq(c.impl, "xnnpack");
  cr_assert_str_eq(c.isa, "auto");
  cr_assert_eq(c.threads, 1);
  cr_assert_eq(c.batch, 1);
  cr_assert(isinf(c.distance));
  cr_assert_eq(c.entry, SIZE_MAX);
  cr_assert_null(c.shape);
  hwt_profile_free(p);
}

Test(profile_lookup, ties_go_to_the_smaller_entry) {
  /* 64x64 and 256x64 are both one doubling from 128x64. */
  const char *doc =
      "{\"schema\":\"hwtune.profile/1\",\"machine\":{\"fingerprint\":\"\",\"fields\":" TEST_FIELDS "},\"objective\":\"latency\","
      "\"entries\":["
      "{\"op\":\"gemm_f32\",\"dtype\":\"f32\",\"shape\":\"256x64\",\"batch\":1,\"n\":256,\"k\":64,"
      "\"choice\":{\"impl\":\"own\",\"isa\":\"avx2\",\"threads\":2},\"median_ns\":2},"
      "{\"op\":\"gemm_f32\",\"dtype\":\"f32\",\"shape\":\"64x64\",\"batch\":1,\"n\":64,\"k\":64,"
      "\"choice\":{\"impl\":\"own\",\"isa\":\"scalar\",\"threads\":1},\"median_ns\":1}]}";
  hwt_profile *p = NULL;
  char msg[256];
  cr_assert_eq(hwt_profile_load_buffer(doc, strlen(doc), "tie", &p, msg, sizeof msg), hwt_status_ok, "%s", msg);
  hwt_profile_choice c;
  hwt_profile_query q = {.op = "gemm_f32", .n = 128, .k = 64, .batch = 1};
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_nearest);
  cr_assert_str_eq(c.shape, "64x64");
  cr_assert_float_eq(c.distance, 1.0, 1e-12);
  hwt_profile_free(p);
}

Test(profile_lookup, threads_clamped_to_usable_cpus) {
  hwt_profile *p = load_ok(FIX("valid.json"));
  hwt_profile_choice c;
  hwt_profile_query q = {.op = "gemm_f32", .n = 2048, .k = 2048, .batch = 16, .max_threads = 1};
  cr_assert_eq(hwt_profile_lookup(p, &q, &c), hwt_profile_match_exact);
  cr_assert_eq(c.threads, 1);
  cr_assert(c.threads_clamped);
  q.max_threads = 0;
  hwt_profile_lookup(p, &q, &c);
  unsigned cpus = hwt_profile_usable_cpus();
  cr_assert(cpus >= 1);
  cr_assert_eq(c.threads, cpus >= 2 ? 2 : 1);
  cr_assert_eq(c.threads_clamped, cpus < 2);
  hwt_profile_free(p);
}

Test(profile_lookup, threads_clamped_to_the_callers_affinity) {
  /* Issue 17: a profile tuned on 2 CPUs gave threads=2 to a caller under `taskset -c 0`. Narrow this thread to
   * one CPU (sched_getaffinity is per thread), look up with no max_threads, restore the mask. */
  hwt_profile *p = load_ok(FIX("valid.json"));
  cpu_set_t old, one;
  cr_assert_eq(sched_getaffinity(0, sizeof old, &old), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &old)) cpu++;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
  unsigned usable = hwt_profile_usable_cpus();
  hwt_profile_choice c, c_max, entry;
  hwt_profile_query q = {.op = "gemm_f32", .n = 2048, .k = 2048, .batch = 16};
  hwt_profile_match m = hwt_profile_lookup(p, &q, &c);
  q.max_threads = 8;  /* a caller's bound above the usable CPUs: the smaller one wins */
  hwt_profile_lookup(p, &q, &c_max);
  cr_assert_eq(sched_setaffinity(0, sizeof old, &old), 0);
  cr_assert_eq(usable, 1);
  cr_assert_eq(m, hwt_profile_match_exact);
  cr_assert_eq(c.threads, 1, "tuned on 2 CPUs, this thread may use 1");
  cr_assert(c.threads_clamped, "the clamp is reported");
  cr_assert(hwt_profile_entry(p, c.entry, &entry));
  cr_assert_eq(entry.threads, 2, "the tuned count stays available");
  cr_assert_eq(c_max.threads, 1);
  cr_assert(c_max.threads_clamped);
  /* A one-thread choice is not "clamped". */
  q = (hwt_profile_query){.op = "gemm_f32", .n = 512, .k = 784, .batch = 1};
  hwt_profile_lookup(p, &q, &c);
  cr_assert_eq(c.threads, 1);
  cr_assert(!c.threads_clamped);
  cr_assert_eq(hwt_profile_usable_cpus(), (unsigned)CPU_COUNT(&old), "mask restored");
  hwt_profile_free(p);
}

Test(profile_lookup, null_profile_and_query_give_default) {
  hwt_profile_choice c;
  hwt_profile_query q = {.op = "gemm_f32", .n = 1, .k = 1, .batch = 7};
  cr_assert_eq(hwt_profile_lookup(NULL, &q, &c), hwt_profile_match_default);
  cr_assert_eq(c.batch, 7);
  cr_assert_eq(hwt_profile_lookup(NULL, NULL, &c), hwt_profile_match_default);
  cr_assert_eq(c.batch, 1);
  cr_assert_eq(hwt_profile_lookup(NULL, &q, NULL), hwt_profile_match_default);
  hwt_profile_free(NULL);
  cr_assert_eq(hwt_profile_count(NULL), 0);
}

typedef struct lookup_job {
  const hwt_profile *p;
  int mismatches;
} lookup_job;

static void *lookup_worker(void *arg) {
  lookup_job *job = arg;
  for (int i = 0; i < 20000; i++) {
    hwt_profile_choice c;
    hwt_profile_query q = {.op = "gemm_f32", .n = (uint64_t)(8 + i % 3000), .k = 784, .batch = 1 + (uint64_t)(i % 80)};
    hwt_profile_lookup(job->p, &q, &c);
    hwt_profile_choice again;
    hwt_profile_lookup(job->p, &q, &again);
    if (memcmp(&c, &again, sizeof c) != 0) job->mismatches++;
  }
  return NULL;
}

Test(profile_lookup, concurrent_lookups_agree) {
  hwt_profile *p = load_ok(FIX("valid.json"));
  pthread_t t[4];
  lookup_job jobs[4] = {{p, 0}, {p, 0}, {p, 0}, {p, 0}};
  for (int i = 0; i < 4; i++) cr_assert_eq(pthread_create(&t[i], NULL, lookup_worker, &jobs[i]), 0);
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    cr_assert_eq(jobs[i].mismatches, 0);
  }
  hwt_profile_free(p);
}

Test(profile_paths, default_path_order) {
  char buf[512];
  setenv("HWTUNE_PROFILE", "/tmp/explicit.json", 1);
  setenv("XDG_DATA_HOME", "/xdg", 1);
  setenv("HOME", "/home/u", 1);
  cr_assert_eq(hwt_profile_default_path(buf, sizeof buf), hwt_status_ok);
  cr_assert_str_eq(buf, "/tmp/explicit.json");
  setenv("HWTUNE_PROFILE", "", 1);
  cr_assert_eq(hwt_profile_default_path(buf, sizeof buf), hwt_status_ok);
  cr_assert_str_eq(buf, "/xdg/hwtune/profile.json");
  setenv("XDG_DATA_HOME", "relative", 1);
  cr_assert_eq(hwt_profile_default_path(buf, sizeof buf), hwt_status_ok);
  cr_assert_str_eq(buf, "/home/u/.local/share/hwtune/profile.json");
  unsetenv("HOME");
  cr_assert_eq(hwt_profile_default_path(buf, sizeof buf), hwt_status_not_found);
  setenv("HOME", "/home/u", 1);
  cr_assert_eq(hwt_profile_default_path(buf, 8), hwt_status_invalid_argument);
}

Test(profile_paths, open_uses_env_and_probe) {
  /* A profile with this machine's probed fields opens through HWTUNE_PROFILE with no further arguments. */
  hwt_profile_machine m;
  hwt_profile_machine_probe(&m);
  char path[] = "/tmp/hwtune-test-profile-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "{\"schema\": \"hwtune.profile/1\", \"machine\": {\"fingerprint\": \"\", \"fields\": {");
  for (size_t i = 0; i < m.nfields; i++) {
    fprintf(f, "%s\"%s\": \"", i ? ", " : "", m.fields[i].name);
    for (const char *s = m.fields[i].value; *s; s++) fprintf(f, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
    fprintf(f, "\"");
  }
  fprintf(f, "}}, \"objective\": \"latency\", \"entries\": []}\n");
  fclose(f);
  setenv("HWTUNE_PROFILE", path, 1);
  hwt_profile *p = NULL;
  char msg[1024];
  hwt_status st = hwt_profile_open(NULL, NULL, 0, &p, msg, sizeof msg);
  unlink(path);
  cr_assert_eq(st, hwt_status_ok, "%s", msg);
  cr_assert_str_eq(msg, "");
  cr_assert_eq(hwt_profile_count(p), 0);
  hwt_profile_free(p);
}

Test(profile_robustness, every_prefix_of_valid_fails_cleanly) {
  /* Each truncation of a valid profile is a parse error (never ok, never a crash), with a short message. */
  FILE *f = fopen(FIX("valid.json"), "rb");
  cr_assert_not_null(f);
  char doc[8192];
  size_t len = fread(doc, 1, sizeof doc, f);
  fclose(f);
  while (len > 0 && (doc[len - 1] == '\n')) len--;
  for (size_t n = 0; n < len; n++) {
    hwt_profile *p = NULL;
    char msg[64];
    hwt_status st = hwt_profile_load_buffer(doc, n, "cut", &p, msg, sizeof msg);
    cr_assert_neq(st, hwt_status_ok, "prefix of %zu bytes loaded", n);
    cr_assert(st == hwt_status_parse_error || st == hwt_status_schema_error, "prefix %zu: %s", n, msg);
    cr_assert_null(p);
  }
}

Test(profile_robustness, escapes_and_nesting) {
  const char *doc = "{\"schema\":\"hwtune.profile/1\",\"machine\":{\"fingerprint\":\"\",\"fields\":"
                    "{\"arch\":\"x86_64\",\"br\\u0061nd\":\"caf\\u00e9 \\ud83d\\ude00\"}},\"objective\":\"latency\",\"entries\":[]}";
  hwt_profile *p = NULL;
  char msg[256];
  cr_assert_eq(hwt_profile_load_buffer(doc, strlen(doc), NULL, &p, msg, sizeof msg), hwt_status_ok, "%s", msg);
  hwt_profile_machine m = {.nfields = 2};
  strcpy(m.fields[0].name, "arch");
  strcpy(m.fields[0].value, "x86_64");
  strcpy(m.fields[1].name, "brand");
  strcpy(m.fields[1].value, "caf\xc3\xa9 \xf0\x9f\x98\x80");
  cr_assert_eq(hwt_profile_check(p, &m, NULL, msg, sizeof msg), hwt_status_ok, "%s", msg);
  cr_assert_str_eq(hwt_profile_meta(p, "path"), "<buffer>");
  hwt_profile_free(p);

  char deep[400];
  size_t n = (size_t)snprintf(deep, sizeof deep, "{\"x\":");
  for (int i = 0; i < 100; i++) deep[n++] = '[';
  deep[n] = '\0';
  cr_assert_eq(hwt_profile_load_buffer(deep, n, "deep", &p, msg, sizeof msg), hwt_status_parse_error);
  cr_assert(strstr(msg, "nesting deeper than 64 levels") != NULL, "%s", msg);
  const char *bad_surrogate = "{\"x\":\"\\ud83d\"}";
  cr_assert_eq(hwt_profile_load_buffer(bad_surrogate, strlen(bad_surrogate), "s", &p, msg, sizeof msg),
               hwt_status_parse_error);
  cr_assert_str_eq(msg, "s:1:7: unpaired UTF-16 surrogate in \\u escape");
}

/* A document with the given machine fields and entries (JSON text). */
static hwt_status load_doc(const char *fields, const char *entries, char *msg, size_t msglen) {
  char doc[4096];
  int n = snprintf(doc, sizeof doc,
                   "{\"schema\":\"hwtune.profile/1\",\"machine\":{\"fingerprint\":\"\",\"fields\":%s},"
                   "\"objective\":\"latency\",\"entries\":[%s]}",
                   fields, entries);
  cr_assert(n > 0 && (size_t)n < sizeof doc);
  hwt_profile *p = NULL;
  hwt_status st = hwt_profile_load_buffer(doc, (size_t)n, "d", &p, msg, msglen);
  cr_assert_eq(p != NULL, st == hwt_status_ok);
  hwt_profile_free(p);
  return st;
}

Test(profile_robustness, machine_fields_must_identify_a_machine) {
  char msg[512];
  static const char *const bad[] = {
      "{}",                                               /* matched every machine */
      "{\"cpus\":\"2\"}",                                  /* no arch */
      "{\"arch\":\"x86_64\"}",                             /* every x86_64 machine */
      "{\"arch\":\"x86_64\",\"brand\":\"unknown\",\"model\":\"\"}",
      "{\"arch\":\"unknown\",\"brand\":\"Test CPU\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(load_doc(bad[i], "", msg, sizeof msg), hwt_status_schema_error, "%s loaded", bad[i]);
    cr_assert(strncmp(msg, "d: machine.fields (1:67): ", 26) == 0 && strstr(msg, "would match every machine"),
              "%s: %s", bad[i], msg);
  }
  static const char *const good[] = {TEST_FIELDS, "{\"arch\":\"aarch64\",\"model\":\"0xd0c\"}",
                                     "{\"arch\":\"x86_64\",\"isa\":\"avx2 fma\",\"brand\":\"unknown\"}"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    cr_assert_eq(load_doc(good[i], "", msg, sizeof msg), hwt_status_ok, "%s: %s", good[i], msg);
}

Test(profile_robustness, strings_must_be_utf8) {
  /* Each string below is the brand value, at 1:93 (or in a member name / ignored value where said). */
  static const struct { const char *bytes, *why; } bad[] = {
      {"caf\xe9", "byte 0xe9: a lead byte without its continuation bytes"},  /* Latin-1 */
      {"\x80", "byte 0x80: a continuation byte without a lead byte"},
      {"\xc0\xaf", "byte 0xc0: an overlong encoding"},                       /* '/' in two bytes */
      {"\xc1\xbf", "byte 0xc1: an overlong encoding"},
      {"\xe0\x80\xaf", "byte 0xe0: an overlong encoding"},                   /* '/' in three bytes */
      {"\xf0\x80\x80\xaf", "byte 0xf0: an overlong encoding"},               /* '/' in four bytes */
      {"\xed\xa0\x80", "byte 0xed: a UTF-16 surrogate encoded in UTF-8"},    /* U+D800 */
      {"\xed\xbf\xbf", "byte 0xed: a UTF-16 surrogate encoded in UTF-8"},    /* U+DFFF */
      {"\xf4\x90\x80\x80", "byte 0xf4: a code point beyond U+10FFFF"},       /* U+110000 */
      {"\xf5\x80\x80\x80", "byte 0xf5: a byte that never occurs in UTF-8"},
      {"\xff", "byte 0xff: a byte that never occurs in UTF-8"},
      {"\xe2\x82", "byte 0xe2: a lead byte without its continuation bytes"}, /* euro sign cut short */
  };
  char fields[256], msg[512], want[256];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(fields, sizeof fields, "{\"arch\":\"x86_64\",\"brand\":\"%s\"}", bad[i].bytes);
    cr_assert_eq(load_doc(fields, "", msg, sizeof msg), hwt_status_parse_error, "case %zu loaded", i);
    snprintf(want, sizeof want, "d:1:%d: invalid UTF-8 in a string (%s); profiles are UTF-8 (RFC 8259)",
             bad[i].bytes[0] == 'c' ? 96 : 93, bad[i].why);
    cr_assert_str_eq(msg, want, "case %zu", i);
  }
  /* Also in a member name, in a value the loader skips, and after an escape in the same string. */
  cr_assert_eq(load_doc("{\"arch\":\"x86_64\",\"brand\":\"T\",\"\xc0\xaf\":\"1\"}", "", msg, sizeof msg),
               hwt_status_parse_error);
  cr_assert(strstr(msg, "overlong"), "%s", msg);
  cr_assert_eq(load_doc(TEST_FIELDS, "{\"op\":\"gemm_f32\",\"dtype\":\"f32\",\"shape\":\"8x8\",\"batch\":1,\"n\":8,"
                                     "\"k\":8,\"choice\":{\"impl\":\"xnnpack\",\"isa\":\"auto\",\"threads\":1},"
                                     "\"median_ns\":1,\"note\":[\"\xed\xa0\x80\"]}",
                        msg, sizeof msg),
               hwt_status_parse_error);
  cr_assert(strstr(msg, "surrogate encoded in UTF-8"), "%s", msg);
  cr_assert_eq(load_doc("{\"arch\":\"x86_64\",\"brand\":\"a\\n\xff\"}", "", msg, sizeof msg), hwt_status_parse_error);
  cr_assert(strstr(msg, "d:1:96: invalid UTF-8"), "%s", msg);
  /* Valid UTF-8 at the edges of each length loads: U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000,
   * U+10FFFF. (Lone \ud800 escapes stay rejected; see escapes_and_nesting and the header.) */
  cr_assert_eq(load_doc("{\"arch\":\"x86_64\",\"brand\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
                        "\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf caf\xc3\xa9\"}",
                        "", msg, sizeof msg),
               hwt_status_ok, "%s", msg);
}

Test(profile_robustness, shape_must_agree_with_n_and_k) {
  char msg[512], entry[512];
  static const struct { const char *op, *shape; unsigned n, k; hwt_status want; } cases[] = {
      {"gemm_f32", "512x784", 512, 784, hwt_status_ok},
      {"gemm_qs8", "512x784", 784, 512, hwt_status_schema_error},        /* n and k swapped */
      {"gemm_f32", "512x784", 512, 1024, hwt_status_schema_error},
      {"gemm_f32", "512x784x3", 512, 784, hwt_status_schema_error},      /* not NxK */
      {"gemm_f32", "0512x784", 512, 784, hwt_status_schema_error},
      {"conv_f32", "56x56x64:128:k3s1p1", 128, 576, hwt_status_ok},      /* k = 3*3*64 */
      {"conv_f32", "56x56x64::k3", 64, 576, hwt_status_ok},              /* OC omitted: OC = C */
      {"conv_f32", "7x7x32:16:k1x7s2p0", 16, 224, hwt_status_ok},        /* k = 1*7*32 */
      {"conv_qs8", "56x56x64:128:k3s1p1", 128, 64, hwt_status_schema_error},
      {"conv_f32", "56x56x64:128:k3s1p1", 64, 576, hwt_status_schema_error},
      {"dwconv_f32", "56x56x64::k3s1p1", 64, 9, hwt_status_ok},          /* depthwise: k = 3*3 */
      {"dwconv_f32", "56x56x64:64:k3s2p1", 64, 9, hwt_status_ok},
      {"dwconv_qs8", "56x56x64:64:k3s2p1", 64, 576, hwt_status_schema_error},
      {"dwconv_f32", "56x56x64:32:k3", 32, 9, hwt_status_schema_error},  /* depthwise OC != C */
      {"conv_f32", "512x784", 512, 784, hwt_status_schema_error},        /* a gemm shape for a conv */
      {"attention_f32", "seq128:heads8", 128, 64, hwt_status_ok},        /* unknown op: shape is opaque */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(entry, sizeof entry,
             "{\"op\":\"%s\",\"dtype\":\"f32\",\"shape\":\"%s\",\"batch\":1,\"n\":%u,\"k\":%u,"
             "\"choice\":{\"impl\":\"xnnpack\",\"isa\":\"auto\",\"threads\":1},\"median_ns\":1}",
             cases[i].op, cases[i].shape, cases[i].n, cases[i].k);
    hwt_status st = load_doc(TEST_FIELDS, entry, msg, sizeof msg);
    cr_assert_eq(st, cases[i].want, "%s %s n %u k %u: %s (%s)", cases[i].op, cases[i].shape, cases[i].n, cases[i].k,
                 hwt_status_string(st), msg);
    if (st != hwt_status_ok)
      cr_assert(strncmp(msg, "d: entries[0] (1:", 17) == 0 && strstr(msg, cases[i].shape), "names the entry: %s",
                msg);
  }
}

Test(profile_lookup, nearest_agrees_with_brute_force) {
  /* Dimensions from small sets so that many distances tie; the pruned search must match a full scan. */
  static const unsigned dims[] = {8, 12, 16, 24, 32, 64, 100, 128, 256, 1000};
  static const unsigned batches[] = {1, 2, 3, 8, 64};
  size_t cap = 1 << 17, len = 0;
  char *doc = malloc(cap);
  cr_assert_not_null(doc);
  len += (size_t)snprintf(doc + len, cap - len,
                          "{\"schema\":\"hwtune.profile/1\",\"machine\":{\"fingerprint\":\"\",\"fields\":" TEST_FIELDS
                          "},\"objective\":\"latency\",\"entries\":[");
  unsigned seed = 12345, count = 0;
  bool seen[10][10][5] = {{{false}}};  /* a gemm shape is its n and k: one entry per (n, k, batch) */
  for (unsigned i = 0; i < 400; i++) {
    seed = seed * 1103515245u + 12345u;
    unsigned ni = (seed >> 8) % 10, ki = (seed >> 16) % 10, bi = (seed >> 24) % 5;
    if (seen[ni][ki][bi]) continue;
    seen[ni][ki][bi] = true;
    unsigned n = dims[ni], k = dims[ki], b = batches[bi];
    len += (size_t)snprintf(doc + len, cap - len,
                            "%s{\"op\":\"gemm_f32\",\"dtype\":\"f32\",\"shape\":\"%ux%u\",\"batch\":%u,\"n\":%u,"
                            "\"k\":%u,\"choice\":{\"impl\":\"own\",\"isa\":\"avx2\",\"threads\":1},\"median_ns\":1}",
                            count ? "," : "", n, k, b, n, k);
    count++;
  }
  cr_assert(count > 150, "%u distinct entries", count);
  len += (size_t)snprintf(doc + len, cap - len, "]}");
  hwt_profile *p = NULL;
  char msg[256];
  cr_assert_eq(hwt_profile_load_buffer(doc, len, "brute", &p, msg, sizeof msg), hwt_status_ok, "%s", msg);
  size_t total = hwt_profile_count(p);
  for (unsigned qi = 0; qi < 3000; qi++) {
    seed = seed * 1103515245u + 12345u;
    hwt_profile_query q = {.op = "gemm_f32", .n = 1 + (seed >> 8) % 1200, .k = 1 + (seed >> 4) % 1100,
                           .batch = 1 + (seed >> 20) % 80};
    if (qi % 3 == 0) q.n = dims[(seed >> 3) % 10];  /* also queries sitting exactly on tuned dimensions */
    hwt_profile_choice c;
    hwt_profile_lookup(p, &q, &c);
    double best = INFINITY;
    size_t best_i = SIZE_MAX;
    for (size_t i = 0; i < total; i++) {
      hwt_profile_choice e;
      hwt_profile_entry(p, i, &e);
      double d = fabs(log2((double)e.entry_n) - log2((double)q.n)) + fabs(log2((double)e.entry_k) - log2((double)q.k)) +
                 fabs(log2((double)e.entry_batch) - log2((double)q.batch));
      if (d < best) {
        best = d;
        best_i = i;
      }
    }
    if (best == 0.0) {
      cr_assert_eq(c.match, hwt_profile_match_exact, "query %u", qi);
    } else {
      cr_assert_eq(c.match, hwt_profile_match_nearest, "query %u", qi);
      cr_assert_eq(c.entry, best_i, "query %u (n=%llu k=%llu b=%llu): entry %zu d=%.6f, brute force %zu d=%.6f", qi,
                   (unsigned long long)q.n, (unsigned long long)q.k, (unsigned long long)q.batch, c.entry,
                   c.distance, best_i, best);
      cr_assert_float_eq(c.distance, best, 1e-12);
    }
  }
  hwt_profile_free(p);
  free(doc);
}
