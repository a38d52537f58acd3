/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sgnic: the steering engine.  Per port, matchers ordered by priority; each
 * matcher has a match template and one table per direction (RX: frames the
 * port receives from the wire, TX: frames it transmits).  A table has the
 * rows of sgnic_steer_geom.h: a chain head per row, each chain holding the
 * rules whose match value hashes to the row (its entries up to the row's
 * depth, then its keys' collision entries); entries are accounted in device
 * pages, the host stores only the rules.
 *
 * Locking:
 *   - sgnic_steer.lock (a mutex) serializes every control operation on a
 *     port: matchers, rules, action templates, occupancy, resize links.
 *   - The data path (sgnic_steer_rx/_tx) runs under RCU (BH disabled): it
 *     walks sgnic_steer.matchers with list_for_each_entry_rcu and the row
 *     chains; matchers, rules and action templates are freed only after a
 *     grace period (deleted rules in batches: sgnic_steer_reap()).
 *   - Rule counters are atomic64: written by the data path of any CPU,
 *     read and folded (on a move) by the control path.
 */
#ifndef _SGNIC_STEER_H
#define _SGNIC_STEER_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/skbuff.h>
#include <linux/u64_stats_sync.h>
#include <linux/xarray.h>

#include "sgnic_steer_key.h"

struct sgnic_port;

enum sgnic_steer_dir {
	SGNIC_STEER_RX,
	SGNIC_STEER_TX,
	SGNIC_STEER_DIRS
};

/* Actions of one rule: count and mark, then at most one terminal action. */
#define SGNIC_STEER_ACTIONS_MAX		3
/* Queue actions name one of the first this many queues (ethtool counters). */
#define SGNIC_STEER_RXQ_MAX		16

/*
 * An action template: a distinct action-type list used by rules of one
 * matcher (the caps limit their number).  Owned by the matcher, @users
 * counted under the port lock; freed after a grace period because the data
 * path reads @terminal, @mark and @count through rule->acts.
 */
struct sgnic_steer_acts {
	struct list_head node;		/* in sgnic_steer_matcher.acts */
	u32 users;
	u8 n;
	u8 types[SGNIC_STEER_ACTIONS_MAX];
	u8 terminal;			/* SGNIC_ACTION_TYPE_DROP/QUEUE/ACCEPT */
	bool mark;
	bool count;			/* rules have counters */
	struct rcu_head rcu;
};

struct sgnic_steer_counters {
	atomic64_t packets;
	atomic64_t bytes;
};

/*
 * A rule: this header, then what only some rules need, in this order (see
 * sgnic_steer_rule_key() and the functions after it):
 *   - one chain link per direction in @dirs (RX first): the rule's entry in
 *     the row @hash selects in that direction's table;
 *   - its match value packed at the matcher's template width (the bytes of
 *     the template's fields, in key order), then its mark when it marks,
 *     the two together rounded up to 8 bytes;
 *   - when it counts, packets and bytes per direction in @dirs.
 * Rules of one matcher with the same directions and action types have the
 * same size and come from the rule cache of that size (@cache).  This is
 * the host memory a rule costs, with its xarray slot and its table's row
 * heads (8 bytes per row).
 */
struct sgnic_steer_rule {
	struct sgnic_steer_acts *acts;
	union {
		u64 cookie;		/* the creator's, kept by moves */
		/*
		 * Once deleted (out of the tables and the id xarray, and the
		 * data path never reads the cookie): the port's list of rules
		 * freed after the next grace period.
		 */
		struct sgnic_steer_rule *reap_next;
	};
	u32 id;
	u32 hash;			/* of the match value: the row */
	u16 queue;
	u8 dirs;			/* SGNIC_DIRECTION_* mask */
	u8 in_col;			/* bit dir: the entry is a collision entry */
	u8 busy;			/* claimed by the bulk request running */
	u8 owner;			/* the creator's owner tag */
	u8 slot;			/* its matcher: sgnic_steer.slots[slot] */
	u8 cache;			/* the size class it came from */
	struct sgnic_steer_rule __rcu *next[];
};

/*
 * One direction's table of a matcher: the heads of its rows' chains, which
 * hold the row's entries and the collision entries of keys hashing to it;
 * allocated (2^size_log of them) at the direction's first rule and kept
 * until the matcher goes, so nothing is rehashed behind the caller's back.
 */
struct sgnic_steer_table {
	struct sgnic_steer_geom geom;
	struct sgnic_steer_rule __rcu **rows;	/* published with release */
	u8 *col_rows;			/* entries used per collision row */
	u32 rules;
};

struct sgnic_steer_matcher {
	struct list_head node;		/* sgnic_steer.matchers, RCU */
	struct sgnic_steer *st;
	u64 cookie;			/* the creator's */
	u32 id;
	u32 priority;
	u8 owner;			/* the creator's owner tag */
	u8 slot;			/* in sgnic_steer.slots */
	struct sgnic_steer_template tmpl;
	struct sgnic_steer_packing packing;	/* of tmpl.fields: rules' values */
	struct sgnic_steer_table tbl[SGNIC_STEER_DIRS];
	/* Resize links, set under the port lock, read by the data path. */
	struct sgnic_steer_matcher *resize_target;
	struct sgnic_steer_matcher *resize_source;
	u32 moved_in;			/* rules moved in from resize_source */
	struct list_head acts;
	u32 n_acts;
	u32 rules;
};

enum sgnic_steer_stat {
	SGNIC_STEER_STAT_RX_HITS,
	SGNIC_STEER_STAT_RX_DROPS,
	SGNIC_STEER_STAT_TX_HITS,
	SGNIC_STEER_STAT_TX_DROPS,
	SGNIC_STEER_STAT_RX_MARKED,
	SGNIC_STEER_STAT_RX_QUEUED,
	SGNIC_STEER_STAT_NUM
};

/* Per CPU, written with BH disabled by the data path, read under @syncp. */
struct sgnic_steer_stats {
	u64 v[SGNIC_STEER_STAT_NUM];
	u64 rxq[SGNIC_STEER_RXQ_MAX];
	struct u64_stats_sync syncp;
};

/* The steering state of one port. */
struct sgnic_steer {
	struct sgnic_port *port;
	struct mutex lock;		/* control operations, see above */
	struct list_head matchers;	/* by priority, then id; RCU readers */
	u32 n_matchers;
	u32 n_rules;			/* read by the data path: nothing to do */
	u32 rule_limit;			/* devlink resource /pN/rules; under @lock */
	u64 rule_ops;			/* rules a bulk request applied; under @lock */
	/*
	 * Moves on with every change of the port's matchers and rules, from a
	 * random start when the port is made: a manager that reads the same
	 * value twice knows nothing changed in between, even across a module
	 * reload.  Under @lock.
	 */
	u64 steer_gen;
	struct xarray rules;		/* rules by id, written under @lock */
	struct sgnic_steer_matcher *slots[SGNIC_STEER_MAX_MATCHERS];	/* under @lock */
	struct sgnic_steer_rule *reap;	/* deleted rules, see sgnic_steer_reap() */
	struct sgnic_steer_stats __percpu *stats;
};

/* A rule as a request describes it. */
struct sgnic_steer_rule_spec {
	u64 cookie;
	u32 id;
	u8 owner;
	u8 dirs;
	u8 n_acts;
	u8 types[SGNIC_STEER_ACTIONS_MAX];
	u32 mark;
	u32 queue;
	struct sgnic_steer_key key;	/* within the template mask */
};

/* Module and port lifetime. */
int sgnic_steer_init(void);
void sgnic_steer_fini(void);
int sgnic_steer_port_init(struct sgnic_port *port);
void sgnic_steer_port_fini(struct sgnic_port *port);

/* What the RX tables decided for a received frame. */
struct sgnic_steer_verdict {
	bool drop;
	u32 mark;		/* 0: none (a new skb's mark) */
	int queue;		/* the receive queue a rule chose, or -1 */
};

/* The data path has nothing to look up while a port has no rule. */
static inline bool sgnic_steer_active(const struct sgnic_steer *st)
{
	return READ_ONCE(st->n_rules);
}

/*
 * Data path hooks.  RX runs in the frame manager, on the key the parser
 * built of a frame that the wire carried as @packets frames of @bytes in
 * all (coalesced TCP segments share every field a rule matches), before a
 * buffer is taken, on a port with rules (sgnic_steer_active()); the
 * verdict, cleared by the caller, drops the frame or chooses its receive
 * queue and mark.  TX runs in ndo_start_xmit: true when a rule dropped (and
 * freed) the skb.
 */
void sgnic_steer_rx_classify(struct sgnic_port *port,
			     const struct sgnic_steer_key *key, u32 packets,
			     u64 bytes, struct sgnic_steer_verdict *v);
bool sgnic_steer_tx(struct sgnic_port *port, struct sk_buff *skb);

/* ethtool -S: the steering counters of a port, appended to the others. */
int sgnic_steer_ethtool_count(void);
void sgnic_steer_ethtool_strings(u8 **data);
void sgnic_steer_ethtool_stats(struct sgnic_port *port, u64 *data);

/* Control operations: caller holds st->lock. */
struct sgnic_steer_matcher *sgnic_steer_matcher_find(struct sgnic_steer *st, u32 id);
struct sgnic_steer_matcher *
sgnic_steer_matcher_create(struct sgnic_steer *st, u32 id, u32 priority,
			   u64 cookie, u8 owner,
			   const struct sgnic_steer_template *tmpl,
			   const u32 size_log[SGNIC_STEER_DIRS],
			   struct netlink_ext_ack *extack);
int sgnic_steer_matcher_destroy(struct sgnic_steer_matcher *m,
				struct netlink_ext_ack *extack);
int sgnic_steer_matcher_set_resize(struct sgnic_steer_matcher *m, u32 target_id,
				   struct netlink_ext_ack *extack);
u64 sgnic_steer_table_pages(const struct sgnic_steer_table *t);

void sgnic_steer_usage(struct sgnic_steer *st, u32 rules[SGNIC_STEER_DIRS],
		       u64 pages[SGNIC_STEER_DIRS]);
void sgnic_steer_set_rule_limit(struct sgnic_steer *st, u32 limit);
int sgnic_steer_rule_insert(struct sgnic_steer_matcher *m,
			    const struct sgnic_steer_rule_spec *spec,
			    u8 *full_dirs, struct netlink_ext_ack *extack);
void sgnic_steer_rule_delete(struct sgnic_steer *st, struct sgnic_steer_rule *rule);
void sgnic_steer_reap(struct sgnic_steer *st);
struct sgnic_steer_rule *sgnic_steer_rule_find(struct sgnic_steer *st, u32 id);
struct sgnic_steer_matcher *sgnic_steer_rule_matcher(const struct sgnic_steer *st,
						     const struct sgnic_steer_rule *rule);
void sgnic_steer_rule_match(const struct sgnic_steer_matcher *m,
			    const struct sgnic_steer_rule *rule, struct sgnic_steer_key *key);
u32 sgnic_steer_rule_mark(const struct sgnic_steer_matcher *m,
			  const struct sgnic_steer_rule *rule);

/* Moves: stage copies in the target, then commit or abort the lot. */
struct sgnic_steer_rule *sgnic_steer_rule_stage_move(struct sgnic_steer_matcher *m,
						     struct sgnic_steer_rule *rule,
						     u8 *full_dirs,
						     struct netlink_ext_ack *extack);
void sgnic_steer_rule_commit_moves(struct sgnic_steer *st,
				   struct sgnic_steer_rule **copies, u32 n);
void sgnic_steer_rule_abort_moves(struct sgnic_steer *st,
				  struct sgnic_steer_rule **copies, u32 n);
bool sgnic_steer_rule_read(const struct sgnic_steer_matcher *m,
			   const struct sgnic_steer_rule *rule, unsigned int dir,
			   u64 *packets, u64 *bytes);

#endif /* _SGNIC_STEER_H */
