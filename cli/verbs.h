/* SPDX-License-Identifier: Apache-2.0 */
/* The verbs of the hwtune executable. Each takes argv starting at the verb itself and returns the exit code:
 * 0 ok, 1 runtime failure, 2 usage error. Each verb prints its own --help to stdout. */
#pragma once

typedef struct hwt_verb {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
} hwt_verb;

int hwt_cmd_detect(int argc, char **argv);
int hwt_cmd_bench(int argc, char **argv);
int hwt_cmd_tune(int argc, char **argv);
int hwt_cmd_report(int argc, char **argv);
int hwt_cmd_compare(int argc, char **argv);
int hwt_cmd_audit(int argc, char **argv);
int hwt_cmd_run(int argc, char **argv);
int hwt_cmd_model(int argc, char **argv);
int hwt_cmd_quantize(int argc, char **argv);
int hwt_cmd_prune(int argc, char **argv);
