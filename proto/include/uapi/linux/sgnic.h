/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Generated from proto/sgnic.yaml by proto/gen-uapi.py: do not edit. */

#ifndef _UAPI_LINUX_SGNIC_H
#define _UAPI_LINUX_SGNIC_H

#include <linux/types.h>

#define SGNIC_FAMILY_NAME	"sgnic"
#define SGNIC_FAMILY_VERSION	1

/* The owner tag of what sgnicd creates (0 is none given, by hand). */
#define SGNIC_OWNER_SGNICD	1
/* Longest match field value or mask, in bytes (an IPv6 address). */
#define SGNIC_FIELD_MAX_LEN	16

/**
 * enum sgnic_direction - Steering directions; a rule's direction set is a mask
 *   of these.
 * @SGNIC_DIRECTION_RX: Frames the port receives from the wire (flow source
 *   uplink).
 * @SGNIC_DIRECTION_TX: Frames the port transmits (flow source local).
 * @SGNIC_DIRECTION_MASK: valid values mask
 */
enum sgnic_direction {
	SGNIC_DIRECTION_RX = 1,
	SGNIC_DIRECTION_TX = 2,

	/* private: */
	SGNIC_DIRECTION_MASK = 3,
};

/**
 * enum sgnic_match_field - Packet fields a match template can name. A value is
 *   given in network byte order with exactly the field's length;
 *   supported-fields in the caps is a bit mask indexed by these values.
 * @SGNIC_MATCH_FIELD_DMAC: Destination MAC address, 6 bytes.
 * @SGNIC_MATCH_FIELD_SMAC: Source MAC address, 6 bytes.
 * @SGNIC_MATCH_FIELD_ETHERTYPE: EtherType after any VLAN tag, 2 bytes.
 * @SGNIC_MATCH_FIELD_VLAN_ID: VLAN id of the outer tag, 2 bytes, 12 bits used.
 * @SGNIC_MATCH_FIELD_IPV4_SRC: IPv4 source address, 4 bytes.
 * @SGNIC_MATCH_FIELD_IPV4_DST: IPv4 destination address, 4 bytes.
 * @SGNIC_MATCH_FIELD_IPV6_SRC: IPv6 source address, 16 bytes.
 * @SGNIC_MATCH_FIELD_IPV6_DST: IPv6 destination address, 16 bytes.
 * @SGNIC_MATCH_FIELD_IP_PROTO: IPv4 protocol or IPv6 next header, 1 byte.
 * @SGNIC_MATCH_FIELD_L4_SPORT: TCP, UDP or SCTP source port, 2 bytes.
 * @SGNIC_MATCH_FIELD_L4_DPORT: TCP, UDP or SCTP destination port, 2 bytes.
 * @SGNIC_MATCH_FIELD_MAX: max valid value
 */
enum sgnic_match_field {
	SGNIC_MATCH_FIELD_DMAC = 0,
	SGNIC_MATCH_FIELD_SMAC = 1,
	SGNIC_MATCH_FIELD_ETHERTYPE = 2,
	SGNIC_MATCH_FIELD_VLAN_ID = 3,
	SGNIC_MATCH_FIELD_IPV4_SRC = 4,
	SGNIC_MATCH_FIELD_IPV4_DST = 5,
	SGNIC_MATCH_FIELD_IPV6_SRC = 6,
	SGNIC_MATCH_FIELD_IPV6_DST = 7,
	SGNIC_MATCH_FIELD_IP_PROTO = 8,
	SGNIC_MATCH_FIELD_L4_SPORT = 9,
	SGNIC_MATCH_FIELD_L4_DPORT = 10,

	/* private: */
	__SGNIC_MATCH_FIELD_MAX,
	SGNIC_MATCH_FIELD_MAX = (__SGNIC_MATCH_FIELD_MAX - 1)
};

/**
 * enum sgnic_action_type - Rule actions. drop, queue and accept are terminal:
 *   at most one, and last. A list without a terminal action accepts.
 * @SGNIC_ACTION_TYPE_DROP: Drop the frame; counted as a steering drop.
 * @SGNIC_ACTION_TYPE_COUNT: Count the frame's packets and bytes in the rule's
 *   counters. Only a rule with this action has counters (rx-counters,
 *   tx-counters for the directions it has); others keep none.
 * @SGNIC_ACTION_TYPE_MARK: Set skb->mark to the action's mark (RX only; refused
 *   in a rule with direction tx).
 * @SGNIC_ACTION_TYPE_QUEUE: Deliver on the receive queue given by the action's
 *   queue: the frame is processed by that queue's NAPI on its CPU (queue N is
 *   served by CPU N's portal). RX only; refused in a rule with direction tx.
 * @SGNIC_ACTION_TYPE_ACCEPT: Stop steering and let the frame through.
 * @SGNIC_ACTION_TYPE_MAX: max valid value
 */
enum sgnic_action_type {
	SGNIC_ACTION_TYPE_DROP = 0,
	SGNIC_ACTION_TYPE_COUNT = 1,
	SGNIC_ACTION_TYPE_MARK = 2,
	SGNIC_ACTION_TYPE_QUEUE = 3,
	SGNIC_ACTION_TYPE_ACCEPT = 4,

	/* private: */
	__SGNIC_ACTION_TYPE_MAX,
	SGNIC_ACTION_TYPE_MAX = (__SGNIC_ACTION_TYPE_MAX - 1)
};

/**
 * enum sgnic_bulk_flags - Modifiers of the bulk rule operations.
 * @SGNIC_BULK_FLAGS_CONTINUE: Apply each rule independently and report the
 *   failed ones in result nests instead of undoing the message on the first
 *   failure.
 * @SGNIC_BULK_FLAGS_MASK: valid values mask
 */
enum sgnic_bulk_flags {
	SGNIC_BULK_FLAGS_CONTINUE = 1,

	/* private: */
	SGNIC_BULK_FLAGS_MASK = 1,
};

enum {
	SGNIC_A_CAPS_STE_ALLOC_LOG_MAX = 1,
	SGNIC_A_CAPS_RTC_LOG_DEPTH_MAX,
	SGNIC_A_CAPS_MAX_MATCHERS,
	SGNIC_A_CAPS_MAX_ACTION_TEMPLATES,
	SGNIC_A_CAPS_SUPPORTED_FIELDS,

	__SGNIC_A_CAPS_MAX,
	SGNIC_A_CAPS_MAX = (__SGNIC_A_CAPS_MAX - 1)
};

enum {
	SGNIC_A_TABLE_SIZE_LOG = 1,
	SGNIC_A_TABLE_RULES,
	SGNIC_A_TABLE_PAGES,
	SGNIC_A_TABLE_PAD,

	__SGNIC_A_TABLE_MAX,
	SGNIC_A_TABLE_MAX = (__SGNIC_A_TABLE_MAX - 1)
};

enum {
	SGNIC_A_DEV_IFINDEX = 1,
	SGNIC_A_DEV_NAME,
	SGNIC_A_DEV_PEER_IFINDEX,
	SGNIC_A_DEV_CAPS,
	SGNIC_A_DEV_RX,
	SGNIC_A_DEV_TX,
	SGNIC_A_DEV_MATCHERS,
	SGNIC_A_DEV_RULE_LIMIT,
	SGNIC_A_DEV_RULE_OPS,
	SGNIC_A_DEV_PAD,
	SGNIC_A_DEV_STEER_GEN,

	__SGNIC_A_DEV_MAX,
	SGNIC_A_DEV_MAX = (__SGNIC_A_DEV_MAX - 1)
};

enum {
	SGNIC_A_PORTAL_ID = 1,
	SGNIC_A_PORTAL_CPU,
	SGNIC_A_PORTAL_DQRR_SIZE,
	SGNIC_A_PORTAL_DQRR_FILL,
	SGNIC_A_PORTAL_ENQUEUED,
	SGNIC_A_PORTAL_ENQUEUE_BUSY,
	SGNIC_A_PORTAL_DEQUEUED,
	SGNIC_A_PORTAL_PAD,

	__SGNIC_A_PORTAL_MAX,
	SGNIC_A_PORTAL_MAX = (__SGNIC_A_PORTAL_MAX - 1)
};

enum {
	SGNIC_A_POOL_PERCPU_CPU = 1,
	SGNIC_A_POOL_PERCPU_COUNT,

	__SGNIC_A_POOL_PERCPU_MAX,
	SGNIC_A_POOL_PERCPU_MAX = (__SGNIC_A_POOL_PERCPU_MAX - 1)
};

enum {
	SGNIC_A_POOL_BPID = 1,
	SGNIC_A_POOL_IFINDEX,
	SGNIC_A_POOL_BUFFER_SIZE,
	SGNIC_A_POOL_COUNT,
	SGNIC_A_POOL_REFILL_THRESHOLD,
	SGNIC_A_POOL_ACQUIRED,
	SGNIC_A_POOL_RELEASED,
	SGNIC_A_POOL_REFILLS,
	SGNIC_A_POOL_DEPLETED,
	SGNIC_A_POOL_PAD,
	SGNIC_A_POOL_PERCPU,

	__SGNIC_A_POOL_MAX,
	SGNIC_A_POOL_MAX = (__SGNIC_A_POOL_MAX - 1)
};

enum {
	SGNIC_A_TEMPLATE_ENTRY_FIELD = 1,
	SGNIC_A_TEMPLATE_ENTRY_MASK,

	__SGNIC_A_TEMPLATE_ENTRY_MAX,
	SGNIC_A_TEMPLATE_ENTRY_MAX = (__SGNIC_A_TEMPLATE_ENTRY_MAX - 1)
};

enum {
	SGNIC_A_MATCH_ENTRY_FIELD = 1,
	SGNIC_A_MATCH_ENTRY_VALUE,

	__SGNIC_A_MATCH_ENTRY_MAX,
	SGNIC_A_MATCH_ENTRY_MAX = (__SGNIC_A_MATCH_ENTRY_MAX - 1)
};

enum {
	SGNIC_A_ACTION_TYPE = 1,
	SGNIC_A_ACTION_MARK,
	SGNIC_A_ACTION_QUEUE,

	__SGNIC_A_ACTION_MAX,
	SGNIC_A_ACTION_MAX = (__SGNIC_A_ACTION_MAX - 1)
};

enum {
	SGNIC_A_COUNTERS_PACKETS = 1,
	SGNIC_A_COUNTERS_BYTES,
	SGNIC_A_COUNTERS_PAD,

	__SGNIC_A_COUNTERS_MAX,
	SGNIC_A_COUNTERS_MAX = (__SGNIC_A_COUNTERS_MAX - 1)
};

enum {
	SGNIC_A_MATCHER_ID = 1,
	SGNIC_A_MATCHER_IFINDEX,
	SGNIC_A_MATCHER_PRIORITY,
	SGNIC_A_MATCHER_TEMPLATE,
	SGNIC_A_MATCHER_RX_TABLE,
	SGNIC_A_MATCHER_TX_TABLE,
	SGNIC_A_MATCHER_RESIZE_TARGET,
	SGNIC_A_MATCHER_RESIZE_SOURCE,
	SGNIC_A_MATCHER_ACTION_TEMPLATES,
	SGNIC_A_MATCHER_COOKIE,
	SGNIC_A_MATCHER_OWNER,
	SGNIC_A_MATCHER_PAD,
	SGNIC_A_MATCHER_RULES,

	__SGNIC_A_MATCHER_MAX,
	SGNIC_A_MATCHER_MAX = (__SGNIC_A_MATCHER_MAX - 1)
};

enum {
	SGNIC_A_RULE_ID = 1,
	SGNIC_A_RULE_IFINDEX,
	SGNIC_A_RULE_MATCHER_ID,
	SGNIC_A_RULE_DIRECTION,
	SGNIC_A_RULE_MATCH,
	SGNIC_A_RULE_ACTION,
	SGNIC_A_RULE_RX_COUNTERS,
	SGNIC_A_RULE_TX_COUNTERS,
	SGNIC_A_RULE_COOKIE,
	SGNIC_A_RULE_OWNER,
	SGNIC_A_RULE_PAD,
	SGNIC_A_RULE_LAST_ID,

	__SGNIC_A_RULE_MAX,
	SGNIC_A_RULE_MAX = (__SGNIC_A_RULE_MAX - 1)
};

enum {
	SGNIC_A_RULE_RESULT_INDEX = 1,
	SGNIC_A_RULE_RESULT_ID,
	SGNIC_A_RULE_RESULT_ERRNO,
	SGNIC_A_RULE_RESULT_DIRECTION,
	SGNIC_A_RULE_RESULT_MSG,

	__SGNIC_A_RULE_RESULT_MAX,
	SGNIC_A_RULE_RESULT_MAX = (__SGNIC_A_RULE_RESULT_MAX - 1)
};

enum {
	SGNIC_A_RULES_IFINDEX = 1,
	SGNIC_A_RULES_MATCHER_ID,
	SGNIC_A_RULES_FLAGS,
	SGNIC_A_RULES_RULE,
	SGNIC_A_RULES_APPLIED,
	SGNIC_A_RULES_FAILED,
	SGNIC_A_RULES_RESULT,

	__SGNIC_A_RULES_MAX,
	SGNIC_A_RULES_MAX = (__SGNIC_A_RULES_MAX - 1)
};

enum {
	SGNIC_CMD_DEV_GET = 1,
	SGNIC_CMD_DEV_ADD_NTF,
	SGNIC_CMD_DEV_DEL_NTF,
	SGNIC_CMD_PORTAL_GET,
	SGNIC_CMD_POOL_GET,
	SGNIC_CMD_MATCHER_NEW,
	SGNIC_CMD_MATCHER_DEL,
	SGNIC_CMD_MATCHER_GET,
	SGNIC_CMD_MATCHER_RESIZE,
	SGNIC_CMD_MATCHER_NEW_NTF,
	SGNIC_CMD_MATCHER_DEL_NTF,
	SGNIC_CMD_MATCHER_RESIZED_NTF,
	SGNIC_CMD_RULE_NEW,
	SGNIC_CMD_RULE_DEL,
	SGNIC_CMD_RULE_MOVE,
	SGNIC_CMD_RULE_GET,

	__SGNIC_CMD_MAX,
	SGNIC_CMD_MAX = (__SGNIC_CMD_MAX - 1)
};

#define SGNIC_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_SGNIC_H */
