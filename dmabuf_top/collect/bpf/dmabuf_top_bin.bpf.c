// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/* dmabuf-top's kernel-side scan with binary records: dmabuf_top.bpf.c's iterators,
 * writing packed structs (struct rec_*) instead of text lines. */
#define DMABUF_RECORDS_BINARY 1
#include "dmabuf_top.bpf.c"
