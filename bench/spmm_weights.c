/* SPDX-License-Identifier: Apache-2.0 */
/* spmm_f32's pruned weights: a given fraction of exact zeros, unstructured or in whole blocks. */
#include <stdlib.h>

#include "bench.h"

static uint64_t mix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool hwt_bench_sparsify_f32(float *w, size_t n, size_t k, double sparsity, uint32_t bn, uint32_t bk,
                            uint64_t seed) {
  if (n == 0 || k == 0) return true;
  if (!(sparsity > 0)) return true;
  if (sparsity > 1) sparsity = 1;
  if (bn == 0) bn = 1;
  if (bk == 0) bk = 1;
  const size_t rows = (n + bn - 1) / bn, cols = (k + bk - 1) / bk, blocks = rows * cols;
  size_t zero = (size_t)((double)blocks * sparsity + 0.5);
  if (zero > blocks) zero = blocks;
  /* Partial Fisher-Yates: the first `zero` entries of a random permutation of the blocks. */
  size_t *idx = malloc(blocks * sizeof(size_t));
  if (idx == NULL) return false;
  for (size_t i = 0; i < blocks; i++) idx[i] = i;
  for (size_t i = 0; i < zero; i++) {
    size_t j = i + (size_t)(mix(&seed) % (uint64_t)(blocks - i));
    size_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
    const size_t r0 = idx[i] / cols * bn, c0 = idx[i] % cols * bk;
    for (size_t r = r0; r < r0 + bn && r < n; r++)
      for (size_t c = c0; c < c0 + bk && c < k; c++) w[r * k + c] = 0.0f;
  }
  free(idx);
  return true;
}
