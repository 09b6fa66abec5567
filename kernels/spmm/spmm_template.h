/* SPDX-License-Identifier: Apache-2.0 */
/* The sparse-weight kernels in portable C (GCC/Clang vector extensions), built once per ISA: each spmm_<isa>.c
 * defines HWT_SPMM_ISA and HWT_SPMM_VB (bytes of its float vector register) and includes this with its own flags.
 *
 * Rows of A go in tiles of 32, 16 or 8 rows (the tail tile is zero-padded to 8). A tile is transposed once into
 * the workspace, At[k][row], so a nonzero w[n][k] costs one broadcast multiply-add per vector of rows:
 * acc[rows] += w * At[k][rows], as XNNPACK's NCHW spmm does over pixels. Each output channel's nonzeros run in U
 * independent partial sums (U * vectors >= 4 chains hide the multiply-add latency). Eight channels' results are
 * transposed back into C (NHWC) with 8x8 register transposes. A single row (M = 1, the fully-connected batch-1
 * case) skips the transposition: a dot product per channel, its inputs inserted four at a time into a vector (the
 * hardware gathers of AVX2 and AVX-512 measured about 2x slower on this Zen 4 VM: docs/kernels-sparse.md). Weights
 * pruned in blocks of 4 output channels x 1 input run the block kernels: one input load per 4 multiply-adds. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spmm/spmm_ukernel.h"

#if !defined(HWT_SPMM_ISA) || !defined(HWT_SPMM_VB)
#error "define HWT_SPMM_ISA and HWT_SPMM_VB before including spmm_template.h"
#endif
/* 32-byte vectors in the 16-byte builds are split by the compiler; every helper is inlined, no ABI is crossed. */
#pragma GCC diagnostic ignored "-Wpsabi"
#define SP_CAT2(a, b) a##b
#define SP_CAT(a, b) SP_CAT2(a, b)
#define SP_INLINE static inline __attribute__((always_inline))

typedef float sp_v4 __attribute__((vector_size(16)));
typedef float sp_v8 __attribute__((vector_size(32)));
typedef float sp_v16 __attribute__((vector_size(64)));

SP_INLINE sp_v8 ld8(const float *p) {
  sp_v8 v;
  memcpy(&v, p, sizeof v);
  return v;
}
SP_INLINE void st8(float *p, sp_v8 v) { memcpy(p, &v, sizeof v); }

/* In-register 8x8 transpose (unpack, shuffle, swap 128-bit halves). */
SP_INLINE void transpose8(sp_v8 r[8]) {
  sp_v8 t[8], s[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4) {
    s[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    s[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    s[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    s[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = __builtin_shufflevector(s[i], s[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    r[i + 4] = __builtin_shufflevector(s[i], s[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

/* At[k * mr_cap + i] = A[i][k] for i < mr, 0 for mr <= i < mr_cap (mr_cap a multiple of 8). */
static void pack_tile(const float *a, size_t lda, size_t mr, size_t mr_cap, size_t k, float *restrict at) {
  size_t k8 = k & ~(size_t) 7;
  for (size_t i0 = 0; i0 < mr_cap; i0 += 8) {
    size_t rows = mr > i0 ? (mr - i0 < 8 ? mr - i0 : 8) : 0;
    const float *ar = a + i0 * lda;
    for (size_t k0 = 0; k0 < k8; k0 += 8) {
      sp_v8 r[8];
      for (size_t i = 0; i < 8; i++) r[i] = i < rows ? ld8(ar + i * lda + k0) : (sp_v8){0};
      transpose8(r);
      for (size_t j = 0; j < 8; j++) st8(at + (k0 + j) * mr_cap + i0, r[j]);
    }
    for (size_t kk = k8; kk < k; kk++)
      for (size_t i = 0; i < 8; i++) at[kk * mr_cap + i0 + i] = i < rows ? ar[i * lda + kk] : 0.0f;
  }
}

/* C[i][n0 + g] = ct[g * mr_cap + i] for i < mr, g < ng <= 8. */
static void unpack_group(const float *ct, size_t mr, size_t mr_cap, size_t ng, float *c, size_t ldc) {
  for (size_t i0 = 0; i0 < mr; i0 += 8) {
    size_t rows = mr - i0 < 8 ? mr - i0 : 8;
    sp_v8 r[8];
    for (size_t g = 0; g < 8; g++) r[g] = ld8(ct + g * mr_cap + i0);
    transpose8(r);
    if (ng == 8) {
      for (size_t i = 0; i < rows; i++) st8(c + (i0 + i) * ldc, r[i]);
    } else {
      for (size_t i = 0; i < rows; i++) {
        float tmp[8];
        st8(tmp, r[i]);
        memcpy(c + (i0 + i) * ldc, tmp, ng * sizeof(float));
      }
    }
  }
}

/* Four input indices in one 64-bit load, split in general registers. */
SP_INLINE void idx4_u16(const uint16_t *p, size_t i[4]) {
  uint64_t q;
  memcpy(&q, p, sizeof q);
  i[0] = q & 0xffff, i[1] = (q >> 16) & 0xffff, i[2] = (q >> 32) & 0xffff, i[3] = q >> 48;
}
SP_INLINE sp_v4 ld4(const float *p) {
  sp_v4 v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* One tile of MR rows (NV vectors of type VT, U partial sums per vector) against channels [n0, n1). Each channel's
 * nonzeros are padded to a multiple of 4 at create: four indices come in one 64-bit load, no tail loop; the values
 * are broadcast from memory (broadcasting lanes of a loaded vector measured slower: the compiler spills it). */
#define SP_TILE(NAME, MR, VT, NV, U)                                                                               \
  static void NAME(const hwt_spmm_args *p, const float *restrict at, size_t mr, size_t n0, size_t n1, float *c) {  \
    enum { L = (MR) / (NV) };                                                                                      \
    const uint32_t *rs = p->row_start;                                                                             \
    const uint16_t *restrict idx = p->idx16;                                                                       \
    const float *restrict val = p->val;                                                                            \
    const VT vlo = p->min - (VT){0}, vhi = p->max - (VT){0};                                                       \
    float ct[8 * (MR)] __attribute__((aligned(64)));                                                               \
    for (size_t n = n0; n < n1; n += 8) {                                                                          \
      size_t ng = n1 - n < 8 ? n1 - n : 8;                                                                         \
      for (size_t g = 0; g < 8; g++) {                                                                             \
        if (g >= ng) {                                                                                             \
          memset(ct + g * (MR), 0, (MR) * sizeof(float));                                                         \
          continue;                                                                                                \
        }                                                                                                          \
        size_t ch = n + g;                                                                                         \
        VT acc[U][NV];                                                                                             \
        for (int v = 0; v < (NV); v++) {                                                                           \
          acc[0][v] = p->bias[ch] - (VT){0};                                                                       \
          for (int u = 1; u < (U); u++) acc[u][v] = (VT){0};                                                       \
        }                                                                                                          \
        for (size_t z = rs[ch], e = rs[ch + 1]; z < e; z += 4) {                                                   \
          size_t i[4];                                                                                             \
          idx4_u16(idx + z, i);                                                                                    \
          for (int q = 0; q < 4; q++) {                                                                            \
            const VT w = val[z + q] - (VT){0};                                                                     \
            for (int v = 0; v < (NV); v++) {                                                                       \
              VT x;                                                                                                \
              memcpy(&x, at + i[q] * (MR) + v * L, sizeof x);                                                      \
              acc[q % (U)][v] += w * x;                                                                            \
            }                                                                                                      \
          }                                                                                                        \
        }                                                                                                          \
        for (int v = 0; v < (NV); v++) {                                                                           \
          for (int u = 1; u < (U); u++) acc[0][v] += acc[u][v];                                                    \
          VT r = acc[0][v];                                                                                        \
          typedef int32_t ivt __attribute__((vector_size(sizeof(VT))));                                            \
          ivt m = r < vlo;                                                                                         \
          r = (VT) (((ivt) r & ~m) | ((ivt) vlo & m));                                                             \
          m = r > vhi;                                                                                             \
          r = (VT) (((ivt) r & ~m) | ((ivt) vhi & m));                                                             \
          memcpy(ct + g * (MR) + v * L, &r, sizeof r);                                                             \
        }                                                                                                          \
      }                                                                                                            \
      unpack_group(ct, mr, (MR), ng, c + n, p->c_stride);                                                          \
    }                                                                                                              \
  }

#if HWT_SPMM_VB >= 64
SP_TILE(tile32, 32, sp_v16, 2, 2)
SP_TILE(tile16, 16, sp_v16, 1, 4)
#else
SP_TILE(tile32, 32, sp_v8, 4, 1)
SP_TILE(tile16, 16, sp_v8, 2, 2)
#endif
SP_TILE(tile8, 8, sp_v8, 1, 4)

/* Blocks of 4 output channels x 1 input (format "block 4x1"): one load of At[k] feeds 4 channels' multiply-adds.
 * A group of 4 channels holds its blocks [row_start[g], row_start[g + 1]), block b's input in idx16[b] and its 4
 * weights in val[4b .. 4b + 3] (zeros where a channel of the block is pruned alone, or past N). */
#define SP_BTILE(NAME, MR, VT, NV)                                                                                 \
  static void NAME(const hwt_spmm_args *p, const float *restrict at, size_t mr, size_t n0, size_t n1, float *c) {  \
    enum { L = (MR) / (NV) };                                                                                      \
    const uint32_t *rs = p->row_start;                                                                             \
    const uint16_t *restrict idx = p->idx16;                                                                       \
    const float *restrict val = p->val;                                                                            \
    const VT vlo = p->min - (VT){0}, vhi = p->max - (VT){0};                                                       \
    float ct[8 * (MR)] __attribute__((aligned(64)));                                                               \
    for (size_t n = n0; n < n1; n += 8) {                                                                          \
      size_t ng = n1 - n < 8 ? n1 - n : 8;                                                                         \
      for (size_t h = 0; h < 8; h += 4) {                                                                          \
        if (h >= ng) {                                                                                             \
          memset(ct + h * (MR), 0, 4 * (MR) * sizeof(float));                                                     \
          continue;                                                                                                \
        }                                                                                                          \
        size_t grp = (n + h) / 4;                                                                                  \
        VT acc[4][NV];                                                                                             \
        for (int q = 0; q < 4; q++)                                                                                \
          for (int v = 0; v < (NV); v++) acc[q][v] = p->bias[4 * grp + q] - (VT){0};                               \
        for (size_t z = rs[grp], e = rs[grp + 1]; z < e; z++) {                                                    \
          const float *ap = at + (size_t) idx[z] * (MR);                                                           \
          VT x[NV];                                                                                                \
          for (int v = 0; v < (NV); v++) memcpy(&x[v], ap + v * L, sizeof x[v]);                                   \
          for (int q = 0; q < 4; q++) {                                                                            \
            const VT w = val[4 * z + q] - (VT){0};                                                                 \
            for (int v = 0; v < (NV); v++) acc[q][v] += w * x[v];                                                  \
          }                                                                                                        \
        }                                                                                                          \
        for (int q = 0; q < 4; q++)                                                                                \
          for (int v = 0; v < (NV); v++) {                                                                         \
            VT r = acc[q][v];                                                                                      \
            typedef int32_t ivt __attribute__((vector_size(sizeof(VT))));                                          \
            ivt m = r < vlo;                                                                                       \
            r = (VT) (((ivt) r & ~m) | ((ivt) vlo & m));                                                           \
            m = r > vhi;                                                                                           \
            r = (VT) (((ivt) r & ~m) | ((ivt) vhi & m));                                                           \
            memcpy(ct + (h + q) * (MR) + v * L, &r, sizeof r);                                                     \
          }                                                                                                        \
      }                                                                                                            \
      unpack_group(ct, mr, (MR), ng, c + n, p->c_stride);                                                          \
    }                                                                                                              \
  }

#if HWT_SPMM_VB >= 64
SP_BTILE(btile32, 32, sp_v16, 2)
SP_BTILE(btile16, 16, sp_v16, 1)
#else
SP_BTILE(btile32, 32, sp_v8, 4)
SP_BTILE(btile16, 16, sp_v8, 2)
#endif
SP_BTILE(btile8, 8, sp_v8, 1)

/* One row against 4x1 blocks: the input broadcast times the block's 4 weights, in two partial sums. */
static void bgemv(const hwt_spmm_args *p, const float *restrict a, size_t n0, size_t n1, float *restrict c) {
  const uint32_t *rs = p->row_start;
  const uint16_t *restrict idx = p->idx16;
  const float *restrict val = p->val;
  for (size_t n = n0; n < n1; n += 4) {
    size_t grp = n / 4, z = rs[grp], e = rs[grp + 1];
    sp_v4 s0 = ld4(p->bias + n), s1 = {0};
    for (; z + 2 <= e; z += 2) {
      s0 += a[idx[z]] * ld4(val + 4 * z);
      s1 += a[idx[z + 1]] * ld4(val + 4 * z + 4);
    }
    if (z < e) s0 += a[idx[z]] * ld4(val + 4 * z);
    s0 += s1;
    for (size_t q = 0; q < 4 && n + q < n1; q++) {
      float r = s0[q];
      r = r < p->min ? p->min : r;
      c[n + q] = r > p->max ? p->max : r;
    }
  }
}

/* One row (M = 1): per channel, a dot product of its nonzeros with the inputs they select, four at a time (the
 * inputs inserted into one vector, the values loaded as one), in two partial sums. */
static void gemv(const hwt_spmm_args *p, const float *restrict a, size_t n0, size_t n1, float *restrict c) {
  const uint32_t *rs = p->row_start;
  const uint16_t *restrict idx = p->idx16;
  const float *restrict val = p->val;
  for (size_t n = n0; n < n1; n++) {
    size_t z = rs[n], e = rs[n + 1];
    sp_v4 s0 = {0}, s1 = {0};
    size_t i[4], j[4];
    for (; z + 8 <= e; z += 8) {
      idx4_u16(idx + z, i);
      idx4_u16(idx + z + 4, j);
      s0 += (sp_v4){a[i[0]], a[i[1]], a[i[2]], a[i[3]]} * ld4(val + z);
      s1 += (sp_v4){a[j[0]], a[j[1]], a[j[2]], a[j[3]]} * ld4(val + z + 4);
    }
    if (z < e) {
      idx4_u16(idx + z, i);
      s0 += (sp_v4){a[i[0]], a[i[1]], a[i[2]], a[i[3]]} * ld4(val + z);
    }
    s0 += s1;
    float r = p->bias[n] + ((s0[0] + s0[1]) + (s0[2] + s0[3]));
    r = r < p->min ? p->min : r;
    c[n] = r > p->max ? p->max : r;
  }
}

void SP_CAT(hwt_spmm_f32_rows__, HWT_SPMM_ISA)(const hwt_spmm_args *p, size_t m0, size_t m1, size_t n0, size_t n1,
                                               float *ws) {
  const float *a = p->a;
  float *c = p->c;
  size_t lda = p->a_stride, ldc = p->c_stride;
  for (size_t m = m0; m < m1;) {
    size_t left = m1 - m;
    if (left == 1) {
      (p->block4 ? bgemv : gemv)(p, a + m * lda, n0, n1, c + m * ldc);
      break;
    }
    size_t cap = left >= 32 ? 32 : left >= 16 ? 16 : 8;
    size_t mr = left < cap ? left : cap;
    pack_tile(a + m * lda, lda, mr, cap, p->k, ws);
    float *cm = c + m * ldc;
    if (p->block4) {
      if (cap == 32)
        btile32(p, ws, mr, n0, n1, cm);
      else if (cap == 16)
        btile16(p, ws, mr, n0, n1, cm);
      else
        btile8(p, ws, mr, n0, n1, cm);
    } else if (cap == 32) {
      tile32(p, ws, mr, n0, n1, cm);
    } else if (cap == 16) {
      tile16(p, ws, mr, n0, n1, cm);
    } else {
      tile8(p, ws, mr, n0, n1, cm);
    }
    m += mr;
  }
}
