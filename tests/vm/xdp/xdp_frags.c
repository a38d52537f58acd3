// SPDX-License-Identifier: GPL-2.0
/*
 * XDP programs with frags support for tests/vm/cases/xdp_frags.sh, one per
 * build (-DCHECK, -DBOUNCE or -DREDIRECT=ifindex), loaded by iproute2 from
 * section "xdp.frags" (or "xdp" with -DNO_FRAGS).  Built with clang -target bpf against the UAPI
 * headers only: no libbpf headers needed.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>

/* No kernel or libbpf headers here: the attributes they would name. */
#define __section(name) __attribute__((section(name)))
#define __used __attribute__((__used__))
#define __maybe_unused __attribute__((__unused__))	/* a build uses some helpers */
#define SEC(name) __section(name) __used

static long (*bpf_xdp_get_buff_len)(struct xdp_md *ctx) __maybe_unused =
	(void *)BPF_FUNC_xdp_get_buff_len;
static long (*bpf_xdp_load_bytes)(struct xdp_md *ctx, __u32 off, void *buf,
				  __u32 len) __maybe_unused = (void *)BPF_FUNC_xdp_load_bytes;
static long (*bpf_redirect)(__u32 ifindex, __u64 flags) __maybe_unused =
	(void *)BPF_FUNC_redirect;

#define CHUNK 256
/* ping -s N -p 5a: Ethernet, IPv4, ICMP, a 16-byte timestamp, then 0x5a. */
#define PATTERN_START (14 + 20 + 8 + 16)
#define PATTERN 0x5a5a5a5a5a5a5a5aULL

static int __maybe_unused chunk_is_pattern(struct xdp_md *ctx, __u32 off)
{
	__u64 buf[CHUNK / 8];
	int i;

	if (bpf_xdp_load_bytes(ctx, off, buf, CHUNK))
		return 0;
	for (i = 0; i < CHUNK / 8; i++)
		if (buf[i] != PATTERN)
			return 0;
	return 1;
}

/* -DNO_FRAGS: the same program without frags support, for its refusal. */
#ifdef NO_FRAGS
SEC("xdp")
#else
SEC("xdp.frags")
#endif
int sgnic_test(struct xdp_md *ctx)
{
#if defined(CHECK)
	/*
	 * XDP_DROP a frame of at least 9000 bytes only if the program can read
	 * all of it: its length is what the IPv4 header says and every byte of
	 * the ping pattern, head and frags, is 0x5a.  Anything else passes.
	 */
	__u32 len = bpf_xdp_get_buff_len(ctx), off;
	unsigned char ip[4];
	int i;

	if (len < 9000 || len > 16384)
		return XDP_PASS;
	if (bpf_xdp_load_bytes(ctx, ETH_HLEN, ip, sizeof(ip)))
		return XDP_PASS;
	if (ETH_HLEN + ((__u32)ip[2] << 8 | ip[3]) != len)
		return XDP_PASS;
	for (i = 0, off = PATTERN_START; i < 16384 / CHUNK && off + CHUNK <= len;
	     i++, off += CHUNK)
		if (!chunk_is_pattern(ctx, off))
			return XDP_PASS;
	/* The tail that is no whole chunk: the last CHUNK bytes. */
	if (!chunk_is_pattern(ctx, len - CHUNK))
		return XDP_PASS;
	return XDP_DROP;
#elif defined(BOUNCE)
	/* XDP_TX with the MAC addresses swapped. */
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	unsigned char t;
	int i;

	if (data + 2 * ETH_ALEN > end)
		return XDP_DROP;
	for (i = 0; i < ETH_ALEN; i++) {
		t = data[i];
		data[i] = data[i + ETH_ALEN];
		data[i + ETH_ALEN] = t;
	}
	return XDP_TX;
#elif defined(REDIRECT)
	return bpf_redirect(REDIRECT, 0);
#else
#error "build with -DCHECK, -DBOUNCE or -DREDIRECT=ifindex"
#endif
}

char _license[] SEC("license") = "GPL";
