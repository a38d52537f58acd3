// SPDX-License-Identifier: GPL-2.0
/*
 * XDP programs of tests/vm/cases/xdp.sh (gro_hw.sh loads its pass): one
 * object, one program per section; built there with clang -target bpf
 * -DTARGET_IFINDEX=N.
 */
typedef unsigned char __u8;
typedef unsigned int __u32;
typedef unsigned long long __u64;

struct xdp_md {
	__u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex;
};
enum { XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT };

/* Helper ids of include/uapi/linux/bpf.h (no libbpf headers needed). */
static long (*bpf_redirect)(__u32 ifindex, __u64 flags) = (void *)23;
static long (*bpf_xdp_adjust_head)(struct xdp_md *ctx, int delta) = (void *)44;
static long (*bpf_xdp_adjust_tail)(struct xdp_md *ctx, int delta) = (void *)65;

#define SEC(s) __attribute__((section(s), used))
#define DATA(ctx) ((__u8 *)(long)(ctx)->data)
#define END(ctx) ((__u8 *)(long)(ctx)->data_end)
char _license[] SEC("license") = "GPL";

SEC("xdp_pass") int prog_pass(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp_drop") int prog_drop(struct xdp_md *ctx) { return XDP_DROP; }
SEC("xdp_aborted") int prog_aborted(struct xdp_md *ctx) { return XDP_ABORTED; }
SEC("xdp_bogus") int prog_bogus(struct xdp_md *ctx) { return 42; }
SEC("xdp_redirect") int prog_redirect(struct xdp_md *ctx) { return bpf_redirect(TARGET_IFINDEX, 0); }

/*
 * XDP_PACKET_HEADROOM: 256 bytes in front of the frame, of which the core
 * keeps 40 for the xdp_frame record; 192 can be pushed.  Drops the frame
 * if they can, passes it if not.
 */
SEC("xdp_headroom") int prog_headroom(struct xdp_md *ctx)
{
	return bpf_xdp_adjust_head(ctx, -192) ? XDP_PASS : XDP_DROP;
}

/* Back where it came from, the MAC addresses swapped. */
SEC("xdp_tx") int prog_tx(struct xdp_md *ctx)
{
	__u8 *d = DATA(ctx), t;
	int i;

	if (d + 14 > END(ctx))
		return XDP_ABORTED;
	for (i = 0; i < 6; i++) {
		t = d[i];
		d[i] = d[i + 6];
		d[i + 6] = t;
	}
	return XDP_TX;
}

/* Type 0x88b5: 32 bytes pushed in front (the MACs, type 0x88b6, 18 x 0xa5),
 * 16 x 0x5a appended; the stack must get the result. */
SEC("xdp_mangle") int prog_mangle(struct xdp_md *ctx)
{
	__u8 *d = DATA(ctx), *p;
	long off;
	int i;

	if (d + 14 > END(ctx) || d[12] != 0x88 || d[13] != 0xb5)
		return XDP_PASS;
	if (bpf_xdp_adjust_head(ctx, -32))
		return XDP_ABORTED;
	d = DATA(ctx);
	if (d + 46 > END(ctx))
		return XDP_ABORTED;
	for (i = 0; i < 12; i++)
		d[i] = d[i + 32];
	d[12] = 0x88;
	d[13] = 0xb6;
	for (i = 14; i < 32; i++)
		d[i] = 0xa5;
	if (bpf_xdp_adjust_tail(ctx, 16))
		return XDP_ABORTED;
	d = DATA(ctx);
	off = END(ctx) - d - 16;
	asm volatile("" : "+r"(off));	/* no folding of -16 into p's fixed offset */
	if (off < 46 || off > 9600)
		return XDP_ABORTED;
	p = d + off;
	if (p + 16 > END(ctx))
		return XDP_ABORTED;
	for (i = 0; i < 16; i++)
		p[i] = 0x5a;
	return XDP_PASS;
}

/* With frags support (BPF_F_XDP_HAS_FRAGS): drops type 0x88b5, passes the rest. */
SEC("xdp.frags") int prog_frags(struct xdp_md *ctx)
{
	__u8 *d = DATA(ctx);

	if (d + 14 > END(ctx))
		return XDP_ABORTED;
	return d[12] == 0x88 && d[13] == 0xb5 ? XDP_DROP : XDP_PASS;
}
