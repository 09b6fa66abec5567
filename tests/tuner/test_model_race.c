/* SPDX-License-Identifier: Apache-2.0 */
/* tune --model's end: the plans' decision rule, the profile's "models" section (libhwtune loads it, old profiles
 * still load, the writer merges it), the model identity (SHA-256), the engine applying a model entry (a lost race
 * does not run the losing plan), and one short race of the built-in MLP. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "hwtune/profile.h"
#include "profile_model.h"
#include "tuner.h"

/* ---------------------------------------------------------------- the rule */

static hwt_tune_measurement meas(double median, double half_ci) {
  return (hwt_tune_measurement){.median_ns = median, .ci_low_ns = median - half_ci, .ci_high_ns = median + half_ci,
                                .p99_ns = median * 1.2, .samples = 100};
}

Test(model_rule, ties_go_to_the_simpler_plan) {
  /* index = hwt_profile_plan: single-thread, default, tuned */
  hwt_tune_measurement m[3] = {meas(100, 2), meas(99, 2), meas(98, 2)};
  bool all[3] = {true, true, true};
  cr_assert_eq(hwt_tune_model_choose(m, all), hwt_profile_plan_single_thread, "no plan beats single-thread beyond noise");
  m[1] = meas(80, 2);
  cr_assert_eq(hwt_tune_model_choose(m, all), hwt_profile_plan_default, "default beats it; tuned does not beat default");
  m[2] = meas(79, 1.5);
  cr_assert_eq(hwt_tune_model_choose(m, all), hwt_profile_plan_default, "tuned 1% faster, CIs overlap: default");
  m[2] = meas(70, 1);
  cr_assert_eq(hwt_tune_model_choose(m, all), hwt_profile_plan_tuned, "tuned faster beyond the noise wins");
  bool no_tuned[3] = {true, true, false};
  cr_assert_eq(hwt_tune_model_choose(m, no_tuned), hwt_profile_plan_default);
  bool none[3] = {false, false, false};
  cr_assert_eq(hwt_tune_model_choose(m, none), hwt_profile_plan_count);
}

/* ---------------------------------------------------------------- identity */

Test(model_id, sha256_test_vectors) {
  char hex[65];
  hwt_sha256_hex("", 0, hex);
  cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  hwt_sha256_hex("abc", 3, hex);
  cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  hwt_sha256_hex(two, strlen(two), hex);
  cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  /* a million 'a' (many blocks, the streaming path) */
  char *a = malloc(1000000);
  cr_assert_not_null(a);
  memset(a, 'a', 1000000);
  hwt_sha256_hex(a, 1000000, hex);
  free(a);
  cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(model_id, a_file_is_its_bytes_and_a_missing_one_is_named) {
  hwt_model_id id;
  char err[512];
  cr_assert_eq(hwt_model_identify(HWTUNE_FIXTURES "/digits/digits_mlp.onnx", &id, err, sizeof err), hwt_status_ok,
               "%s", err);
  cr_assert_str_eq(id.file, "digits_mlp.onnx");
  cr_assert_eq(strlen(id.sha256), 64);
  hwt_model_id mlp, mlp2, mob;
  cr_assert_eq(hwt_model_identify("mlp", &mlp, err, sizeof err), hwt_status_ok);
  cr_assert_eq(hwt_model_identify("mlp", &mlp2, err, sizeof err), hwt_status_ok);
  cr_assert_eq(hwt_model_identify("mobilenet", &mob, err, sizeof err), hwt_status_ok);
  cr_assert_str_eq(mlp.sha256, mlp2.sha256);
  cr_assert_str_neq(mlp.sha256, mob.sha256);
  cr_assert_str_neq(mlp.sha256, id.sha256);
  cr_assert_eq(hwt_model_identify("/nonexistent/m.onnx", &id, err, sizeof err), hwt_status_io_error);
  cr_assert(strstr(err, "/nonexistent/m.onnx") != NULL, "%s", err);
}

/* ---------------------------------------------------------------- the profile's models section */

static const char *head =
    "{\"schema\": \"hwtune.profile/1\", \"machine\": {\"fingerprint\": \"fp\", \"fields\": {\"arch\": \"x86_64\", "
    "\"brand\": \"Test CPU\"}}, \"objective\": \"latency\",\n \"entries\": [\n"
    "  {\"op\": \"gemm_f32\", \"dtype\": \"f32\", \"shape\": \"256x784\", \"batch\": 1, \"n\": 256, \"k\": 784, "
    "\"choice\": {\"impl\": \"own\", \"isa\": \"avx2\", \"threads\": 1}, \"median_ns\": 1000},\n"
    "  {\"op\": \"gemm_f32\", \"dtype\": \"f32\", \"shape\": \"128x256\", \"batch\": 1, \"n\": 128, \"k\": 256, "
    "\"choice\": {\"impl\": \"own\", \"isa\": \"avx2\", \"threads\": 1}, \"median_ns\": 1000},\n"
    "  {\"op\": \"gemm_f32\", \"dtype\": \"f32\", \"shape\": \"10x128\", \"batch\": 1, \"n\": 10, \"k\": 128, "
    "\"choice\": {\"impl\": \"own\", \"isa\": \"avx2\", \"threads\": 1}, \"median_ns\": 1000}]";

/* A profile with per-layer entries for the built-in MLP and (when winner) its model entry at batch 1. */
static hwt_profile *profile_with(const char *winner, const char *models_json, char *msg, size_t msglen,
                                 hwt_status *st) {
  char text[8192];
  hwt_model_id id;
  char err[256];
  cr_assert_eq(hwt_model_identify("mlp", &id, err, sizeof err), hwt_status_ok);
  if (models_json)
    snprintf(text, sizeof text, "%s,\n \"models\": %s}\n", head, models_json);
  else if (winner)
    snprintf(text, sizeof text,
             "%s,\n \"models\": [{\"file\": \"mlp\", \"sha256\": \"%s\", \"precision\": \"fp32\", \"batch\": 1, "
             "\"winner\": \"%s\", \"objective\": \"latency\", \"plans\": {\"single-thread\": {\"p50_ns\": 900, "
             "\"p99_ns\": 990, \"ci_low_ns\": 890, \"samples\": 50}, \"default\": {\"p50_ns\": 800, \"p99_ns\": 880}, "
             "\"tuned\": {\"p50_ns\": 790, \"p99_ns\": 870}}, \"rounds\": 40}]}\n",
             head, id.sha256, winner);
  else
    snprintf(text, sizeof text, "%s}\n", head);
  hwt_profile *p = NULL;
  *st = hwt_profile_load_buffer(text, strlen(text), "p.json", &p, msg, msglen);
  return p;
}

Test(model_section, loads_and_finds_by_hash_precision_batch) {
  char msg[512];
  hwt_status st;
  hwt_profile *p = profile_with("default", NULL, msg, sizeof msg, &st);
  cr_assert_eq(st, hwt_status_ok, "%s", msg);
  cr_assert_eq(hwt_profile_count(p), 3);
  cr_assert_eq(hwt_profile_model_count(p), 1);
  hwt_model_id id;
  char err[256];
  hwt_model_identify("mlp", &id, err, sizeof err);
  hwt_profile_model m;
  cr_assert(hwt_profile_model_find(p, id.sha256, "fp32", 1, &m));
  cr_assert_eq(m.winner, hwt_profile_plan_default);
  cr_assert_str_eq(m.file, "mlp");
  cr_assert_eq(m.choice_batch, 1);
  cr_assert_float_eq(m.p50_ns[hwt_profile_plan_tuned], 790.0, 1e-9);
  cr_assert_float_eq(m.p99_ns[hwt_profile_plan_single_thread], 990.0, 1e-9);
  cr_assert_not(hwt_profile_model_find(p, id.sha256, "int8", 1, &m), "precision is part of the key");
  cr_assert_not(hwt_profile_model_find(p, id.sha256, "fp32", 8, &m), "batch is part of the key");
  cr_assert_str_eq(hwt_profile_plan_name(hwt_profile_plan_single_thread), "single-thread");
  hwt_profile_free(p);
}

Test(model_section, old_profiles_without_it_still_load) {
  char msg[512];
  hwt_status st;
  hwt_profile *p = profile_with(NULL, NULL, msg, sizeof msg, &st);
  cr_assert_eq(st, hwt_status_ok, "%s", msg);
  cr_assert_eq(hwt_profile_model_count(p), 0);
  cr_assert_not(hwt_profile_model_entry(p, 0, NULL));
  hwt_profile_free(p);
  cr_assert_eq(hwt_profile_model_count(NULL), 0);
}

Test(model_section, bad_entries_are_schema_errors_naming_the_field) {
  static const struct { const char *models, *says; } bad[] = {
      {"[{\"file\": \"m\", \"sha256\": \"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
       "\", \"precision\": \"fp32\", \"batch\": 1, \"winner\": \"fastest\"}]", "models[0].winner"},
      {"[{\"file\": \"m\", \"sha256\": \"XYZ\", \"precision\": \"fp32\", \"batch\": 1, \"winner\": \"tuned\"}]",
       "models[0].sha256"},
      {"[{\"file\": \"m\", \"sha256\": \"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
       "\", \"precision\": \"fp16\", \"batch\": 1, \"winner\": \"tuned\"}]", "models[0].precision"},
      {"[{\"file\": \"m\", \"sha256\": \"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
       "\", \"precision\": \"fp32\", \"batch\": 0, \"winner\": \"tuned\"}]", "models[0].batch"},
      {"[{\"file\": \"m\", \"precision\": \"fp32\", \"batch\": 1, \"winner\": \"tuned\"}]", "sha256"},
      {"[{\"file\": \"m\", \"sha256\": \"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
       "\", \"precision\": \"fp32\", \"batch\": 1, \"winner\": \"tuned\", \"plans\": {\"best\": {}}}]",
       "models[0].plans"},
      {"[{\"file\": \"m\", \"sha256\": \"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
       "\", \"precision\": \"fp32\", \"batch\": 1, \"winner\": \"tuned\"}, {\"file\": \"n\", \"sha256\": \""
       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
       "\", \"precision\": \"fp32\", \"batch\": 1, \"winner\": \"default\"}]", "duplicate model"},
      {"{}", "models"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char msg[512];
    hwt_status st;
    hwt_profile *p = profile_with(NULL, bad[i].models, msg, sizeof msg, &st);
    cr_assert_null(p);
    cr_assert_eq(st, hwt_status_schema_error, "case %zu: %s", i, msg);
    cr_assert(strstr(msg, bad[i].says) != NULL, "case %zu: '%s' does not say '%s'", i, msg, bad[i].says);
    cr_assert(strstr(msg, "p.json") != NULL, "%s", msg);
  }
}

/* ---------------------------------------------------------------- the engine applies the model entry */

static hwt_engine *engine_with(hwt_profile *p, const hwt_model *m, size_t batch, hwt_profile_binding *b) {
  hwt_engine_options o = {0};
  char err[512];
  cr_assert_eq(hwt_engine_profile_bind(p, "mlp", m, batch, b, &o, err, sizeof err), hwt_status_ok, "%s", err);
  hwt_engine *e = NULL;
  cr_assert_eq(hwt_engine_create(m, batch, &o, &e, err, sizeof err), hwt_status_ok, "%s", err);
  return e;
}

Test(model_apply, the_winner_decides_what_the_engine_runs) {
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_gen_mlp(42, &m), hwt_status_ok);
  char msg[512];
  hwt_status st;
  static const char *const winners[] = {"tuned", "default", "single-thread", NULL};
  for (size_t w = 0; w < 4; w++) {
    hwt_profile *p = profile_with(winners[w], NULL, msg, sizeof msg, &st);
    cr_assert_eq(st, hwt_status_ok, "%s", msg);
    for (size_t batch = 1; batch <= 2; batch++) {
      hwt_profile_binding b;
      hwt_engine *e = engine_with(p, m, batch, &b);
      /* the model entry is for batch 1: at batch 2 (and without one) the per-layer entries apply as before */
      bool entry = winners[w] != NULL && batch == 1;
      cr_assert_eq(b.has_model, entry, "winner %s batch %zu", winners[w] ? winners[w] : "(none)", batch);
      const char *plan = entry ? winners[w] : "tuned";
      for (size_t i = 0; i < m->nlayers; i++) {
        if (m->layers[i].type != hwt_layer_fc) continue;
        const hwt_layer_choice *c = hwt_engine_layer_choice(e, i);
        if (strcmp(plan, "tuned") == 0) {
          cr_assert(strncmp(c->source, "profile", 7) == 0, "layer %zu: '%s'", i, c->source);
        } else {
          /* a lost race: the per-layer entries (own kernels) are not used */
          cr_assert(strncmp(c->source, "model race", 10) == 0, "layer %zu: '%s'", i, c->source);
          cr_assert_eq(c->impl, hwt_impl_xnnpack, "layer %zu", i);
          if (strcmp(plan, "single-thread") == 0) cr_assert_eq(c->threads, 1);
          else cr_assert_eq(c->threads, hwt_engine_usable_cpus(), "default: every usable CPU");
        }
      }
      if (entry) cr_assert(strstr(b.note, plan) != NULL, "%s", b.note);
      hwt_engine_destroy(e);
    }
    hwt_profile_free(p);
  }
  /* no profile: nothing bound, the engine's defaults */
  hwt_profile_binding b;
  hwt_engine_options o = {0};
  char err[256];
  cr_assert_eq(hwt_engine_profile_bind(NULL, "mlp", m, 1, &b, &o, err, sizeof err), hwt_status_ok);
  cr_assert_null(o.chooser);
  hwt_model_free(m);
}

/* ---------------------------------------------------------------- the writer keeps and replaces model entries */

static json_t *model_entry(const char *sha, size_t batch, const char *winner) {
  return json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "file", "m.onnx", "sha256", sha, "precision", "fp32", "batch",
                   (json_int_t)batch, "winner", winner, "objective", "latency");
}

Test(model_writer, merges_by_hash_precision_batch) {
  char dir[] = "/tmp/hwtune-model-race-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256], err[512], msg[512];
  snprintf(path, sizeof path, "%s/p.json", dir);
  json_t *meta = json_pack("{s:s}", "objective", "latency");
  json_t *fields = json_pack("{s:s, s:s}", "arch", "x86_64", "brand", "Test CPU");
  json_t *none = json_array();
  const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  json_t *first = json_pack("[o, o]", model_entry(sha, 1, "tuned"), model_entry(sha, 8, "default"));
  cr_assert_eq(hwt_tune_write_profile_models(path, 0, meta, "fp", fields, none, first, NULL, NULL, err, sizeof err),
               hwt_status_ok, "%s", err);
  /* a run without --model keeps them */
  cr_assert_eq(hwt_tune_write_profile(path, 0, meta, "fp", fields, none, NULL, NULL, err, sizeof err), hwt_status_ok,
               "%s", err);
  /* a new race at batch 1 replaces that one only */
  json_t *second = json_pack("[o]", model_entry(sha, 1, "single-thread"));
  cr_assert_eq(hwt_tune_write_profile_models(path, 0, meta, "fp", fields, none, second, NULL, NULL, err, sizeof err),
               hwt_status_ok, "%s", err);
  hwt_profile *p = NULL;
  cr_assert_eq(hwt_profile_load(path, &p, msg, sizeof msg), hwt_status_ok, "%s", msg);
  cr_assert_eq(hwt_profile_model_count(p), 2);
  hwt_profile_model m;
  cr_assert(hwt_profile_model_find(p, sha, "fp32", 1, &m));
  cr_assert_eq(m.winner, hwt_profile_plan_single_thread);
  cr_assert(hwt_profile_model_find(p, sha, "fp32", 8, &m));
  cr_assert_eq(m.winner, hwt_profile_plan_default);
  hwt_profile_free(p);
  json_decref(meta);
  json_decref(fields);
  json_decref(none);
  json_decref(first);
  json_decref(second);
  unlink(path);
  rmdir(dir);
}

/* ---------------------------------------------------------------- one short race */

Test(model_race, three_plans_run_the_same_model_and_agree) {
  hwt_model *m = NULL;
  cr_assert_eq(hwt_model_gen_mlp(42, &m), hwt_status_ok);
  char msg[512], err[512];
  hwt_status st;
  hwt_profile *p = profile_with(NULL, NULL, msg, sizeof msg, &st);
  cr_assert_eq(st, hwt_status_ok, "%s", msg);
  hwt_tune_model_race r;
  cr_assert_eq(hwt_tune_race_model(m, 2, p, 0.05, NULL, &r, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(r.batch, 2);
  cr_assert_geq(r.rounds, 5);
  for (int i = 0; i < hwt_profile_plan_count; i++) {
    cr_assert(r.measured[i], "plan %d", i);
    cr_assert_gt(r.meas[i].samples, 0);
    cr_assert_leq(r.meas[i].ci_low_ns, r.meas[i].median_ns);
    cr_assert_leq(r.meas[i].median_ns, r.meas[i].ci_high_ns);
  }
  cr_assert_lt(r.winner, hwt_profile_plan_count);
  cr_assert_lt(r.max_diff, 1e-4, "the plans compute the same function (%g)", r.max_diff);
  hwt_model_id id;
  cr_assert_eq(hwt_model_identify("mlp", &id, err, sizeof err), hwt_status_ok);
  json_t *j = hwt_tune_model_json(&id, "fp32", &r, "throughput", 2, 5.0, NULL);
  cr_assert_not_null(j);
  cr_assert_str_eq(json_string_value(json_object_get(j, "winner")), hwt_profile_plan_name(r.winner));
  cr_assert_eq(json_integer_value(json_object_get(j, "choice_batch")), 2);
  cr_assert_not_null(json_object_get(json_object_get(j, "plans"), "single-thread"));
  json_decref(j);
  /* no tuned profile: the tuned plan is not raced, and cannot win */
  cr_assert_eq(hwt_tune_race_model(m, 1, NULL, 0.02, NULL, &r, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_not(r.measured[hwt_profile_plan_tuned]);
  cr_assert_neq(r.winner, hwt_profile_plan_tuned);
  hwt_profile_free(p);
  hwt_model_free(m);
}

Test(model_race, an_int8_model_races_as_it_is) {
  /* the model's own precision: an int8 graph's three plans run int8 (own qs8 kernels when the profile says) */
  hwt_model *m = NULL, *q = NULL;
  cr_assert_eq(hwt_model_gen_mlp(42, &m), hwt_status_ok);
  float cal[4 * 784];
  hwt_model_gen_inputs(m, 7, 4, cal);
  char err[512];
  cr_assert_eq(hwt_model_quantize(m, cal, 4, &q, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_eq(q->precision, hwt_prec_int8);
  hwt_tune_model_race r;
  cr_assert_eq(hwt_tune_race_model(q, 1, NULL, 0.02, NULL, &r, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert(r.measured[hwt_profile_plan_single_thread] && r.measured[hwt_profile_plan_default]);
  cr_assert_lt(r.winner, hwt_profile_plan_tuned);
  cr_assert_eq(r.max_diff, 0.0, "XNNPACK on 1 and on every CPU compute the same int8 arithmetic (%g)", r.max_diff);
  /* a model entry keyed fp32 does not bind the int8 model (precision is part of the key) */
  char msg[512];
  hwt_status st;
  hwt_profile *p = profile_with("single-thread", NULL, msg, sizeof msg, &st);
  cr_assert_eq(st, hwt_status_ok, "%s", msg);
  hwt_profile_binding b;
  hwt_engine_options o = {0};
  cr_assert_eq(hwt_engine_profile_bind(p, "mlp", q, 1, &b, &o, err, sizeof err), hwt_status_ok, "%s", err);
  cr_assert_not(b.has_model);
  cr_assert_eq(o.threads, 0);
  hwt_profile_free(p);
  hwt_model_free(q);
  hwt_model_free(m);
}
