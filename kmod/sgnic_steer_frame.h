/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The match key of a frame, as the frame manager's parser builds it.
 * A header of its own so that the KUnit suite (a separate module) runs the
 * very code the data path runs, on frames it builds itself.
 */
#ifndef _SGNIC_STEER_FRAME_H
#define _SGNIC_STEER_FRAME_H

#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <net/ip.h>

#include "sgnic_hw.h"
#include "sgnic_steer_key.h"

/*
 * Builds the key of a frame from its first @len bytes at @frame, the
 * Ethernet header first: what the frame manager's parser sees on the wire.
 * @vlan_id is a VLAN id the frame carries outside its bytes (a Tx tag
 * offloaded to the skb), or -1.  Fields the frame lacks, or has beyond @len,
 * stay zero.
 */
static inline void sgnic_steer_frame_key_buf(const u8 *frame, u32 len, int vlan_id,
					     struct sgnic_steer_key *key)
{
	u8 *k = sgnic_steer_key_bytes(key);
	const struct vlan_hdr *vh;
	const struct ipv6hdr *ip6;
	const struct ethhdr *eth;
	const struct iphdr *ip4;
	__be16 vid, ethertype;
	u32 off = ETH_HLEN;
	u8 proto;

	sgnic_steer_key_clear(key);
	if (len < ETH_HLEN)
		return;
	eth = (const struct ethhdr *)frame;
	memcpy(k + SGNIC_STEER_KEY_DMAC, eth->h_dest, ETH_ALEN);
	memcpy(k + SGNIC_STEER_KEY_SMAC, eth->h_source, ETH_ALEN);
	ethertype = eth->h_proto;
	if (vlan_id >= 0) {
		vid = htons(vlan_id & VLAN_VID_MASK);
		memcpy(k + SGNIC_STEER_KEY_VLAN_ID, &vid, sizeof(vid));
	} else if (eth_type_vlan(ethertype)) {
		if (len < off + VLAN_HLEN)
			return;
		vh = (const struct vlan_hdr *)(frame + off);
		vid = vh->h_vlan_TCI & htons(VLAN_VID_MASK);
		memcpy(k + SGNIC_STEER_KEY_VLAN_ID, &vid, sizeof(vid));
		ethertype = vh->h_vlan_encapsulated_proto;
		off += VLAN_HLEN;
	}
	memcpy(k + SGNIC_STEER_KEY_ETHERTYPE, &ethertype, sizeof(ethertype));
	if (ethertype == htons(ETH_P_IP)) {
		if (len < off + sizeof(*ip4))
			return;
		ip4 = (const struct iphdr *)(frame + off);
		if (ip4->ihl < 5)
			return;
		memcpy(k + SGNIC_STEER_KEY_IPV4_SRC, &ip4->saddr, 4);
		memcpy(k + SGNIC_STEER_KEY_IPV4_DST, &ip4->daddr, 4);
		k[SGNIC_STEER_KEY_IP_PROTO] = ip4->protocol;
		/* Only the first fragment carries the L4 header. */
		proto = ip4->frag_off & htons(IP_OFFSET) ? 0 : ip4->protocol;
		off += ip4->ihl * 4;
	} else if (ethertype == htons(ETH_P_IPV6)) {
		if (len < off + sizeof(*ip6))
			return;
		ip6 = (const struct ipv6hdr *)(frame + off);
		memcpy(k + SGNIC_STEER_KEY_IPV6_SRC, &ip6->saddr, 16);
		memcpy(k + SGNIC_STEER_KEY_IPV6_DST, &ip6->daddr, 16);
		proto = ip6->nexthdr;
		k[SGNIC_STEER_KEY_IP_PROTO] = proto;
		off += sizeof(*ip6);
	} else {
		return;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP)
		return;
	/* Source and destination port: the first four bytes of all three. */
	if (len < off + 4)
		return;
	memcpy(k + SGNIC_STEER_KEY_L4_SPORT, frame + off, 2);
	memcpy(k + SGNIC_STEER_KEY_L4_DPORT, frame + off + 2, 2);
}

/*
 * The key of a Tx skb (the Ethernet header at skb->data): its first
 * SGNIC_FMAN_PARSE_LEN bytes go through the same parser, and a VLAN tag
 * offloaded to the skb counts as the frame's.
 */
static inline void sgnic_steer_frame_key(const struct sk_buff *skb,
					 struct sgnic_steer_key *key)
{
	u8 buf[SGNIC_FMAN_PARSE_LEN] __aligned(8);
	u32 len = min_t(u32, skb->len, sizeof(buf));
	const u8 *frame = skb_header_pointer(skb, 0, len, buf);

	sgnic_steer_frame_key_buf(frame, frame ? len : 0,
				  skb_vlan_tag_present(skb) ? skb_vlan_tag_get_id(skb) : -1,
				  key);
}

#endif /* _SGNIC_STEER_FRAME_H */
