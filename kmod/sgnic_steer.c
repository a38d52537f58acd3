// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: the steering engine — matchers, tables, rules, the lookup of the
 * data path and the resize primitives.  Locking is described in
 * sgnic_steer.h.  The module provides mechanism only: it never picks a size
 * and never rehashes by itself; a full row fails the insert with ENOSPC.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/ip.h>
#include <linux/mm.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>

#include "sgnic.h"
#include "sgnic_steer.h"
#include "sgnic_steer_frame.h"

/*
 * Rules and matchers come from caches of their own, so that the robustness
 * tier can fail exactly these allocations (failslab's cache filter, set per
 * cache in /sys/kernel/slab/<cache>/failslab).
 */
static struct kmem_cache *sgnic_steer_rule_cache;
static struct kmem_cache *sgnic_steer_matcher_cache;

static const struct rhashtable_params sgnic_steer_ht_params[SGNIC_STEER_DIRS] = {
	[SGNIC_STEER_RX] = {
		.head_offset = offsetof(struct sgnic_steer_rule, node[SGNIC_STEER_RX]),
		.key_offset = offsetof(struct sgnic_steer_rule, key),
		.key_len = sizeof(struct sgnic_steer_key),
		.automatic_shrinking = true,
	},
	[SGNIC_STEER_TX] = {
		.head_offset = offsetof(struct sgnic_steer_rule, node[SGNIC_STEER_TX]),
		.key_offset = offsetof(struct sgnic_steer_rule, key),
		.key_len = sizeof(struct sgnic_steer_key),
		.automatic_shrinking = true,
	},
};

static u8 sgnic_steer_dir_bit(unsigned int dir)
{
	return dir == SGNIC_STEER_RX ? SGNIC_DIRECTION_RX : SGNIC_DIRECTION_TX;
}

static struct sgnic_steer_rule *sgnic_steer_ht_lookup(struct sgnic_steer_table *t,
						      unsigned int dir,
						      const struct sgnic_steer_key *key)
{
	/* Constant params per branch, so that the lookup is inlined. */
	if (dir == SGNIC_STEER_RX)
		return rhashtable_lookup(&t->ht, key, sgnic_steer_ht_params[SGNIC_STEER_RX]);
	return rhashtable_lookup(&t->ht, key, sgnic_steer_ht_params[SGNIC_STEER_TX]);
}

static int sgnic_steer_ht_insert(struct sgnic_steer_table *t, unsigned int dir,
				 struct sgnic_steer_rule *rule)
{
	if (dir == SGNIC_STEER_RX)
		return rhashtable_lookup_insert_fast(&t->ht, &rule->node[dir],
						     sgnic_steer_ht_params[SGNIC_STEER_RX]);
	return rhashtable_lookup_insert_fast(&t->ht, &rule->node[dir],
					     sgnic_steer_ht_params[SGNIC_STEER_TX]);
}

static void sgnic_steer_ht_remove(struct sgnic_steer_table *t, unsigned int dir,
				  struct sgnic_steer_rule *rule)
{
	int err;

	if (dir == SGNIC_STEER_RX)
		err = rhashtable_remove_fast(&t->ht, &rule->node[dir],
					     sgnic_steer_ht_params[SGNIC_STEER_RX]);
	else
		err = rhashtable_remove_fast(&t->ht, &rule->node[dir],
					     sgnic_steer_ht_params[SGNIC_STEER_TX]);
	WARN_ON_ONCE(err);
}

/* ---- table occupancy: the accounted geometry ---- */

u64 sgnic_steer_table_pages(const struct sgnic_steer_table *t)
{
	return sgnic_steer_pages(&t->geom);
}

/* Allocates the occupancy bytes at the first rule of the direction. */
static int sgnic_steer_table_prepare(struct sgnic_steer_table *t)
{
	if (t->rows)
		return 0;
	t->rows = kvzalloc(sgnic_steer_rows(&t->geom), GFP_KERNEL);
	if (!t->rows)
		return -ENOMEM;
	if (t->geom.has_col) {
		t->col_rows = kvzalloc(sgnic_steer_col_rows(&t->geom), GFP_KERNEL);
		if (!t->col_rows) {
			kvfree(t->rows);
			t->rows = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

static void sgnic_steer_table_release_rows(struct sgnic_steer_table *t)
{
	kvfree(t->rows);
	kvfree(t->col_rows);
	t->rows = NULL;
	t->col_rows = NULL;
}

/* Whether an entry of this hash still fits: its main row, else its collision row. */
static bool sgnic_steer_table_has_room(const struct sgnic_steer_table *t, u32 hash)
{
	if (!t->rows)
		return true;	/* empty table */
	if (t->rows[sgnic_steer_row(&t->geom, hash)] < sgnic_steer_depth(&t->geom))
		return true;
	return t->geom.has_col &&
	       t->col_rows[sgnic_steer_col_row(&t->geom, hash)] <
	       sgnic_steer_col_depth(&t->geom);
}

/* Takes an entry (the table has room); returns whether it is a collision entry. */
static bool sgnic_steer_table_take(struct sgnic_steer_table *t, u32 hash)
{
	u32 row = sgnic_steer_row(&t->geom, hash);

	t->rules++;
	if (t->rows[row] < sgnic_steer_depth(&t->geom)) {
		t->rows[row]++;
		return false;
	}
	t->col_rows[sgnic_steer_col_row(&t->geom, hash)]++;
	return true;
}

static void sgnic_steer_table_put(struct sgnic_steer_table *t, u32 hash, bool col)
{
	if (col)
		t->col_rows[sgnic_steer_col_row(&t->geom, hash)]--;
	else
		t->rows[sgnic_steer_row(&t->geom, hash)]--;
	/* An empty direction gives its occupancy bytes back. */
	if (!--t->rules)
		sgnic_steer_table_release_rows(t);
}

static int sgnic_steer_table_init(struct sgnic_steer_table *t, unsigned int dir,
				  u32 size_log)
{
	sgnic_steer_geom_init(&t->geom, size_log);
	t->rows = NULL;
	t->col_rows = NULL;
	t->rules = 0;
	return rhashtable_init(&t->ht, &sgnic_steer_ht_params[dir]);
}

static void sgnic_steer_table_fini(struct sgnic_steer_table *t)
{
	rhashtable_destroy(&t->ht);
	sgnic_steer_table_release_rows(t);
}

/* ---- action templates ---- */

static struct sgnic_steer_acts *
sgnic_steer_acts_get(struct sgnic_steer_matcher *m,
		     const struct sgnic_steer_rule_spec *spec,
		     struct netlink_ext_ack *extack)
{
	struct sgnic_steer_acts *a;
	unsigned int i;

	list_for_each_entry(a, &m->acts, node) {
		if (a->n == spec->n_acts && !memcmp(a->types, spec->types, a->n)) {
			a->users++;
			return a;
		}
	}
	if (m->n_acts >= SGNIC_STEER_MAX_ACTION_TEMPLATES) {
		NL_SET_ERR_MSG_MOD(extack, "too many distinct action lists in the matcher");
		return ERR_PTR(-EDQUOT);
	}
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return ERR_PTR(-ENOMEM);
	a->n = spec->n_acts;
	memcpy(a->types, spec->types, a->n);
	a->terminal = SGNIC_ACTION_TYPE_ACCEPT;
	for (i = 0; i < a->n; i++) {
		if (a->types[i] == SGNIC_ACTION_TYPE_MARK)
			a->mark = true;
		else if (a->types[i] != SGNIC_ACTION_TYPE_COUNT)
			a->terminal = a->types[i];
	}
	a->users = 1;
	list_add_tail(&a->node, &m->acts);
	m->n_acts++;
	return a;
}

static void sgnic_steer_acts_put(struct sgnic_steer_matcher *m, struct sgnic_steer_acts *a)
{
	if (--a->users)
		return;
	list_del(&a->node);
	m->n_acts--;
	kfree_rcu(a, rcu);
}

/* ---- matchers ---- */

struct sgnic_steer_matcher *sgnic_steer_matcher_find(struct sgnic_steer *st, u32 id)
{
	struct sgnic_steer_matcher *m;

	lockdep_assert_held(&st->lock);
	list_for_each_entry(m, &st->matchers, node)
		if (m->id == id)
			return m;
	return NULL;
}

static u32 sgnic_steer_matcher_free_id(struct sgnic_steer *st)
{
	u32 id = 1;

	while (sgnic_steer_matcher_find(st, id))
		id++;
	return id;
}

/* Inserts into the priority order: lower priority first, then lower id. */
static void sgnic_steer_matcher_link(struct sgnic_steer *st, struct sgnic_steer_matcher *m)
{
	struct sgnic_steer_matcher *pos;

	list_for_each_entry(pos, &st->matchers, node) {
		if (pos->priority > m->priority ||
		    (pos->priority == m->priority && pos->id > m->id)) {
			list_add_tail_rcu(&m->node, &pos->node);
			return;
		}
	}
	list_add_tail_rcu(&m->node, &st->matchers);
}

struct sgnic_steer_matcher *
sgnic_steer_matcher_create(struct sgnic_steer *st, u32 id, u32 priority,
			   u64 cookie, u8 owner,
			   const struct sgnic_steer_template *tmpl,
			   const u32 size_log[SGNIC_STEER_DIRS],
			   struct netlink_ext_ack *extack)
{
	struct sgnic_steer_matcher *m;
	unsigned int dir;
	int err;

	lockdep_assert_held(&st->lock);
	if (st->n_matchers >= SGNIC_STEER_MAX_MATCHERS) {
		NL_SET_ERR_MSG_MOD(extack, "too many matchers on the port (caps max-matchers)");
		return ERR_PTR(-EDQUOT);
	}
	if (id && sgnic_steer_matcher_find(st, id)) {
		NL_SET_ERR_MSG_MOD(extack, "matcher id already in use on the port");
		return ERR_PTR(-EEXIST);
	}
	m = kmem_cache_zalloc(sgnic_steer_matcher_cache, GFP_KERNEL);
	if (!m)
		return ERR_PTR(-ENOMEM);
	m->st = st;
	m->id = id ?: sgnic_steer_matcher_free_id(st);
	m->priority = priority;
	m->cookie = cookie;
	m->owner = owner;
	m->tmpl = *tmpl;
	INIT_LIST_HEAD(&m->acts);
	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		err = sgnic_steer_table_init(&m->tbl[dir], dir, size_log[dir]);
		if (err)
			goto table_init_failed;
	}
	sgnic_steer_matcher_link(st, m);
	st->n_matchers++;
	return m;

table_init_failed:
	while (dir--)
		sgnic_steer_table_fini(&m->tbl[dir]);
	kmem_cache_free(sgnic_steer_matcher_cache, m);
	return ERR_PTR(err);
}

/*
 * Resize links change under lookups that read them one matcher at a time, in
 * list order, and a resize target may come before or after its source.  A
 * lookup that skipped a target must still find it through its source, and
 * one that read a source's link as empty must not skip the target later, so
 * a grace period separates the step that stops (or starts) skipping the
 * target from the one that removes (or follows) the source's link.
 */
static void sgnic_steer_resize_link(struct sgnic_steer_matcher *m,
				    struct sgnic_steer_matcher *t)
{
	WRITE_ONCE(m->resize_target, t);
	synchronize_rcu();	/* every lookup that reaches m runs t */
	WRITE_ONCE(t->resize_source, m);
}

static void sgnic_steer_resize_unlink(struct sgnic_steer_matcher *m,
				      struct sgnic_steer_matcher *t)
{
	WRITE_ONCE(t->resize_source, NULL);
	synchronize_rcu();	/* no lookup still skips t */
	WRITE_ONCE(m->resize_target, NULL);
}

int sgnic_steer_matcher_destroy(struct sgnic_steer_matcher *m,
				struct netlink_ext_ack *extack)
{
	struct sgnic_steer *st = m->st;
	struct sgnic_steer_matcher *t;
	unsigned int dir;

	lockdep_assert_held(&st->lock);
	if (m->rules) {
		NL_SET_ERR_MSG_MOD(extack, "matcher still has rules");
		return -EBUSY;
	}
	if (m->resize_source) {
		NL_SET_ERR_MSG_MOD(extack, "matcher is the target of a resize in progress");
		return -EBUSY;
	}
	/* The empty source of a resize: its deletion ends the resize. */
	t = m->resize_target;
	if (t) {
		sgnic_steer_resize_unlink(m, t);
		t->moved_in = 0;
	}
	list_del_rcu(&m->node);
	st->n_matchers--;
	synchronize_rcu();
	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++)
		sgnic_steer_table_fini(&m->tbl[dir]);
	kmem_cache_free(sgnic_steer_matcher_cache, m);
	return 0;
}

/*
 * Turns the resize from @src into @m around: @m becomes the source and @src
 * its target, so that rules moved into @m can move back (a rolled-back
 * rehash).  Lookups reach both matchers throughout: @m runs @src before @m
 * stops being skipped, no lookup still skips @m when @src starts being
 * skipped, and @src is skipped before it stops running @m.
 */
static void sgnic_steer_matcher_reverse_resize(struct sgnic_steer_matcher *m,
					       struct sgnic_steer_matcher *src)
{
	WRITE_ONCE(m->resize_target, src);
	smp_wmb();	/* m runs src before m stops being skipped */
	WRITE_ONCE(m->resize_source, NULL);
	synchronize_rcu();	/* no lookup still skips m */
	WRITE_ONCE(src->resize_source, m);
	smp_wmb();	/* src is skipped before it stops running m */
	WRITE_ONCE(src->resize_target, NULL);
	m->moved_in = 0;
	src->moved_in = 0;
}

/*
 * Sets (target_id != 0) or clears the resize target of @m (see
 * sgnic_steer_resize_link for the publication order).  Naming the current
 * target again is a no-op; naming the current source reverses the resize.
 */
int sgnic_steer_matcher_set_resize(struct sgnic_steer_matcher *m, u32 target_id,
				   struct netlink_ext_ack *extack)
{
	struct sgnic_steer_matcher *t;

	lockdep_assert_held(&m->st->lock);
	if (!target_id) {
		t = m->resize_target;
		if (!t)
			return 0;
		if (t->moved_in) {
			NL_SET_ERR_MSG_MOD(extack,
					   "the resize target holds rules moved from this matcher");
			return -EBUSY;
		}
		sgnic_steer_resize_unlink(m, t);
		return 0;
	}
	if (m->resize_target && m->resize_target->id == target_id)
		return 0;
	if (m->resize_source && m->resize_source->id == target_id && !m->resize_target) {
		sgnic_steer_matcher_reverse_resize(m, m->resize_source);
		return 0;
	}
	if (m->resize_target || m->resize_source) {
		NL_SET_ERR_MSG_MOD(extack, "matcher is already part of a resize");
		return -EBUSY;
	}
	if (target_id == m->id) {
		NL_SET_ERR_MSG_MOD(extack, "a matcher cannot be its own resize target");
		return -EINVAL;
	}
	t = sgnic_steer_matcher_find(m->st, target_id);
	if (!t) {
		NL_SET_ERR_MSG_MOD(extack, "unknown resize-target matcher");
		return -ENOENT;
	}
	if (t->resize_target || t->resize_source) {
		NL_SET_ERR_MSG_MOD(extack, "resize target is already part of a resize");
		return -EBUSY;
	}
	if (!sgnic_steer_template_equal(&m->tmpl, &t->tmpl)) {
		NL_SET_ERR_MSG_MOD(extack, "resize target has a different template");
		return -EINVAL;
	}
	t->moved_in = 0;
	sgnic_steer_resize_link(m, t);
	return 0;
}

/* ---- rules ---- */

struct sgnic_steer_rule *sgnic_steer_rule_find(struct sgnic_steer *st, u32 id)
{
	return xa_load(&st->rules, id);
}

static void sgnic_steer_rule_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(sgnic_steer_rule_cache,
			container_of(head, struct sgnic_steer_rule, rcu));
}

void sgnic_steer_rule_read(const struct sgnic_steer_rule *rule, unsigned int dir,
			   u64 *packets, u64 *bytes)
{
	*packets = atomic64_read(&rule->cnt[dir].packets);
	*bytes = atomic64_read(&rule->cnt[dir].bytes);
}

static void sgnic_steer_rule_fold(struct sgnic_steer_rule *to,
				  const struct sgnic_steer_rule *from)
{
	unsigned int dir;
	u64 p, b;

	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		sgnic_steer_rule_read(from, dir, &p, &b);
		atomic64_add(p, &to->cnt[dir].packets);
		atomic64_add(b, &to->cnt[dir].bytes);
	}
}

/*
 * Checks what does not depend on the tables' state: the values are within
 * the template (the caller checked each field), the actions fit the rule's
 * directions.
 */
static int sgnic_steer_rule_check(struct sgnic_steer_matcher *m,
				  const struct sgnic_steer_rule_spec *spec,
				  struct netlink_ext_ack *extack)
{
	unsigned int i;

	if (!sgnic_steer_key_within(&spec->key, &m->tmpl.mask)) {
		NL_SET_ERR_MSG_MOD(extack, "match value outside the template mask");
		return -EINVAL;
	}
	/* mark and queue act on a received frame: a sent one would ignore them. */
	if (!(spec->dirs & SGNIC_DIRECTION_TX))
		return 0;
	for (i = 0; i < spec->n_acts; i++) {
		if (spec->types[i] == SGNIC_ACTION_TYPE_MARK ||
		    spec->types[i] == SGNIC_ACTION_TYPE_QUEUE) {
			NL_SET_ERR_MSG_MOD(extack,
					   "mark and queue are RX actions: not in a TX rule");
			return -EINVAL;
		}
	}
	return 0;
}

/* Finds which of @dirs have no room for @key; 0 when all have. */
static u8 sgnic_steer_full_dirs(struct sgnic_steer_matcher *m, u8 dirs, u32 hash)
{
	unsigned int dir;
	u8 full = 0;

	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++)
		if ((dirs & sgnic_steer_dir_bit(dir)) &&
		    !sgnic_steer_table_has_room(&m->tbl[dir], hash))
			full |= sgnic_steer_dir_bit(dir);
	return full;
}

static void sgnic_steer_collision_msg(u8 full, struct netlink_ext_ack *extack)
{
	if (full == SGNIC_DIRECTION_MASK)
		NL_SET_ERR_MSG_MOD(extack, "collision: RX and TX table rows full");
	else if (full == SGNIC_DIRECTION_RX)
		NL_SET_ERR_MSG_MOD(extack, "collision: RX table row full");
	else
		NL_SET_ERR_MSG_MOD(extack, "collision: TX table row full");
}

/* Links @rule into the tables of its directions of @m; undone on failure. */
static int sgnic_steer_rule_link(struct sgnic_steer_matcher *m,
				 struct sgnic_steer_rule *rule, u8 *full_dirs,
				 struct netlink_ext_ack *extack)
{
	u32 hash = sgnic_steer_key_hash(&rule->key);
	unsigned int dir;
	u8 full;
	int err;

	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		if ((rule->dirs & sgnic_steer_dir_bit(dir)) &&
		    rhashtable_lookup_fast(&m->tbl[dir].ht, &rule->key,
					   sgnic_steer_ht_params[dir])) {
			NL_SET_ERR_MSG_MOD(extack,
					   "a rule with the same direction and match is in the matcher");
			return -EEXIST;
		}
	}
	full = sgnic_steer_full_dirs(m, rule->dirs, hash);
	if (full) {
		if (full_dirs)
			*full_dirs = full;
		sgnic_steer_collision_msg(full, extack);
		return -ENOSPC;
	}
	rule->in_col = 0;
	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		if (!(rule->dirs & sgnic_steer_dir_bit(dir)))
			continue;
		err = sgnic_steer_table_prepare(&m->tbl[dir]);
		if (err)
			goto link_failed;
		if (sgnic_steer_table_take(&m->tbl[dir], hash))
			rule->in_col |= BIT(dir);
		err = sgnic_steer_ht_insert(&m->tbl[dir], dir, rule);
		if (err) {
			sgnic_steer_table_put(&m->tbl[dir], hash, rule->in_col & BIT(dir));
			goto link_failed;
		}
	}
	rule->matcher = m;
	m->rules++;
	return 0;

link_failed:
	while (dir--) {
		if (!(rule->dirs & sgnic_steer_dir_bit(dir)))
			continue;
		sgnic_steer_ht_remove(&m->tbl[dir], dir, rule);
		sgnic_steer_table_put(&m->tbl[dir], hash, rule->in_col & BIT(dir));
	}
	/* The host's table, not the modelled one: say which limit it hit. */
	switch (err) {
	case -EBUSY:
		NL_SET_ERR_MSG_MOD(extack, "steering table busy growing, retry the rule");
		break;
	case -E2BIG:
		NL_SET_ERR_MSG_MOD(extack, "steering table holds its maximum of entries");
		break;
	case -EEXIST:
		NL_SET_ERR_MSG_MOD(extack,
				   "a rule with the same direction and match is in the matcher");
		break;
	default:
		NL_SET_ERR_MSG_MOD(extack, "out of memory for the rule");
		err = -ENOMEM;
	}
	return err;
}

static void sgnic_steer_rule_unlink(struct sgnic_steer_rule *rule)
{
	struct sgnic_steer_matcher *m = rule->matcher;
	u32 hash = sgnic_steer_key_hash(&rule->key);
	unsigned int dir;

	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		if (!(rule->dirs & sgnic_steer_dir_bit(dir)))
			continue;
		sgnic_steer_ht_remove(&m->tbl[dir], dir, rule);
		sgnic_steer_table_put(&m->tbl[dir], hash, rule->in_col & BIT(dir));
	}
	m->rules--;
}

/* Rules and device pages per direction over the port's matchers. */
void sgnic_steer_usage(struct sgnic_steer *st, u32 rules[SGNIC_STEER_DIRS],
		       u64 pages[SGNIC_STEER_DIRS])
{
	struct sgnic_steer_matcher *m;
	unsigned int dir;

	lockdep_assert_held(&st->lock);
	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		rules[dir] = 0;
		pages[dir] = 0;
	}
	list_for_each_entry(m, &st->matchers, node) {
		for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
			rules[dir] += m->tbl[dir].rules;
			pages[dir] += sgnic_steer_table_pages(&m->tbl[dir]);
		}
	}
}

/*
 * A limit below the rules already there refuses new rules until enough
 * are deleted; the rules stay (like a quota lowered below the usage).
 */
void sgnic_steer_set_rule_limit(struct sgnic_steer *st, u32 limit)
{
	mutex_lock(&st->lock);
	st->rule_limit = limit;
	mutex_unlock(&st->lock);
}

int sgnic_steer_rule_insert(struct sgnic_steer_matcher *m,
			    const struct sgnic_steer_rule_spec *spec,
			    u8 *full_dirs, struct netlink_ext_ack *extack)
{
	struct sgnic_steer *st = m->st;
	struct sgnic_steer_rule *rule;
	int err;

	lockdep_assert_held(&st->lock);
	if (xa_load(&st->rules, spec->id)) {
		NL_SET_ERR_MSG_MOD(extack, "rule id already in use on the port");
		return -EEXIST;
	}
	if (st->n_rules >= st->rule_limit) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the port's rule limit is reached (devlink resource rules)");
		return -EDQUOT;
	}
	err = sgnic_steer_rule_check(m, spec, extack);
	if (err)
		return err;
	rule = kmem_cache_zalloc(sgnic_steer_rule_cache, GFP_KERNEL);
	if (!rule)
		return -ENOMEM;
	rule->id = spec->id;
	rule->cookie = spec->cookie;
	rule->owner = spec->owner;
	rule->dirs = spec->dirs;
	rule->mark = spec->mark;
	rule->queue = spec->queue;
	rule->key = spec->key;
	rule->acts = sgnic_steer_acts_get(m, spec, extack);
	if (IS_ERR(rule->acts)) {
		err = PTR_ERR(rule->acts);
		goto acts_get_failed;
	}
	err = xa_insert(&st->rules, rule->id, rule, GFP_KERNEL);
	if (err)
		goto xa_insert_failed;
	err = sgnic_steer_rule_link(m, rule, full_dirs, extack);
	if (err)
		goto link_failed;
	WRITE_ONCE(st->n_rules, st->n_rules + 1);
	return 0;

link_failed:
	xa_erase(&st->rules, rule->id);
xa_insert_failed:
	sgnic_steer_acts_put(m, rule->acts);
acts_get_failed:
	kmem_cache_free(sgnic_steer_rule_cache, rule);
	return err;
}

void sgnic_steer_rule_delete(struct sgnic_steer_rule *rule)
{
	struct sgnic_steer_matcher *m = rule->matcher;
	struct sgnic_steer *st = m->st;

	lockdep_assert_held(&st->lock);
	sgnic_steer_rule_unlink(rule);
	if (m->resize_source && m->moved_in)
		m->moved_in--;
	xa_erase(&st->rules, rule->id);
	sgnic_steer_acts_put(m, rule->acts);
	WRITE_ONCE(st->n_rules, st->n_rules - 1);
	call_rcu(&rule->rcu, sgnic_steer_rule_free_rcu);
}

/*
 * A move copies the rule into the resize target first, so that at every
 * moment the rule is in at least one table the lookup tries (the target
 * before the source); the original leaves when the lot commits.  Hits on
 * either object are folded together after a grace period.
 */
struct sgnic_steer_rule *sgnic_steer_rule_stage_move(struct sgnic_steer_rule *rule,
						     u8 *full_dirs,
						     struct netlink_ext_ack *extack)
{
	struct sgnic_steer_matcher *t = rule->matcher->resize_target;
	struct sgnic_steer_rule_spec spec = {};
	struct sgnic_steer_rule *copy;
	int err;

	if (!t) {
		NL_SET_ERR_MSG_MOD(extack, "the rule's matcher has no resize target");
		return ERR_PTR(-EINVAL);
	}
	copy = kmem_cache_zalloc(sgnic_steer_rule_cache, GFP_KERNEL);
	if (!copy)
		return ERR_PTR(-ENOMEM);
	copy->id = rule->id;
	copy->cookie = rule->cookie;
	copy->owner = rule->owner;
	copy->dirs = rule->dirs;
	copy->mark = rule->mark;
	copy->queue = rule->queue;
	copy->key = rule->key;
	spec.n_acts = rule->acts->n;
	memcpy(spec.types, rule->acts->types, spec.n_acts);
	copy->acts = sgnic_steer_acts_get(t, &spec, extack);
	if (IS_ERR(copy->acts)) {
		err = PTR_ERR(copy->acts);
		goto acts_get_failed;
	}
	err = sgnic_steer_rule_link(t, copy, full_dirs, extack);
	if (err)
		goto link_failed;
	return copy;

link_failed:
	sgnic_steer_acts_put(t, copy->acts);
acts_get_failed:
	kmem_cache_free(sgnic_steer_rule_cache, copy);
	return ERR_PTR(err);
}

void sgnic_steer_rule_commit_moves(struct sgnic_steer *st,
				   struct sgnic_steer_rule **copies, u32 n)
{
	struct sgnic_steer_rule *old;
	u32 i;

	lockdep_assert_held(&st->lock);
	for (i = 0; i < n; i++) {
		copies[i]->matcher->moved_in++;
		old = xa_store(&st->rules, copies[i]->id, copies[i], GFP_KERNEL);
		/* The slot exists: replacing never allocates. */
		copies[i] = old;
		sgnic_steer_rule_unlink(old);
	}
	synchronize_rcu();	/* no reader counts on the originals any more */
	for (i = 0; i < n; i++) {
		old = copies[i];
		sgnic_steer_rule_fold(xa_load(&st->rules, old->id), old);
		sgnic_steer_acts_put(old->matcher, old->acts);
		kmem_cache_free(sgnic_steer_rule_cache, old);
	}
}

void sgnic_steer_rule_abort_moves(struct sgnic_steer *st,
				  struct sgnic_steer_rule **copies, u32 n)
{
	struct sgnic_steer_rule *copy;
	u32 i;

	lockdep_assert_held(&st->lock);
	for (i = 0; i < n; i++)
		sgnic_steer_rule_unlink(copies[i]);
	synchronize_rcu();
	for (i = 0; i < n; i++) {
		copy = copies[i];
		sgnic_steer_rule_fold(xa_load(&st->rules, copy->id), copy);
		sgnic_steer_acts_put(copy->matcher, copy->acts);
		kmem_cache_free(sgnic_steer_rule_cache, copy);
	}
}

/* ---- the data path ---- */

static struct sgnic_steer_rule *sgnic_steer_matcher_lookup(struct sgnic_steer_matcher *m,
							   unsigned int dir,
							   const struct sgnic_steer_key *key)
{
	struct sgnic_steer_key masked;

	if (!READ_ONCE(m->tbl[dir].rules))
		return NULL;
	sgnic_steer_key_and(&masked, key, &m->tmpl.mask);
	return sgnic_steer_ht_lookup(&m->tbl[dir], dir, &masked);
}

/* Priority order, first match wins; a resize target runs just before its source. */
static struct sgnic_steer_rule *sgnic_steer_lookup(struct sgnic_steer *st,
						   unsigned int dir,
						   const struct sgnic_steer_key *key)
{
	struct sgnic_steer_matcher *m, *t;
	struct sgnic_steer_rule *rule;

	list_for_each_entry_rcu(m, &st->matchers, node) {
		if (READ_ONCE(m->resize_source))
			continue;
		t = READ_ONCE(m->resize_target);
		if (t) {
			rule = sgnic_steer_matcher_lookup(t, dir, key);
			if (rule)
				return rule;
		}
		rule = sgnic_steer_matcher_lookup(m, dir, key);
		if (rule)
			return rule;
	}
	return NULL;
}

static void sgnic_steer_stat_add(struct sgnic_steer *st, enum sgnic_steer_stat stat,
				 int rxq)
{
	struct sgnic_steer_stats *s = this_cpu_ptr(st->stats);

	u64_stats_update_begin(&s->syncp);
	s->v[stat]++;
	if (rxq >= 0)
		s->rxq[rxq]++;
	u64_stats_update_end(&s->syncp);
}

/* Runs the tables of @dir on a frame; true when the frame is to be dropped. */
static bool sgnic_steer_frame(struct sgnic_steer *st, unsigned int dir,
			      struct sk_buff *skb, int mac)
{
	struct sgnic_steer_rule *rule;
	struct sgnic_steer_key key;
	struct sgnic_steer_acts *a;
	bool drop = false;

	rcu_read_lock();
	sgnic_steer_frame_key(skb, mac, &key);
	rule = sgnic_steer_lookup(st, dir, &key);
	if (!rule)
		goto out;
	/* A TSO superframe on Tx counts as the frames it becomes. */
	atomic64_add(sgnic_skb_wire_packets(skb), &rule->cnt[dir].packets);
	atomic64_add(sgnic_skb_wire_bytes(skb, skb->len - mac), &rule->cnt[dir].bytes);
	a = rule->acts;
	sgnic_steer_stat_add(st, dir == SGNIC_STEER_RX ? SGNIC_STEER_STAT_RX_HITS :
			     SGNIC_STEER_STAT_TX_HITS, -1);
	if (a->mark && dir == SGNIC_STEER_RX) {
		skb->mark = rule->mark;
		sgnic_steer_stat_add(st, SGNIC_STEER_STAT_RX_MARKED, -1);
	}
	switch (a->terminal) {
	case SGNIC_ACTION_TYPE_DROP:
		drop = true;
		sgnic_steer_stat_add(st, dir == SGNIC_STEER_RX ? SGNIC_STEER_STAT_RX_DROPS :
				     SGNIC_STEER_STAT_TX_DROPS, -1);
		break;
	case SGNIC_ACTION_TYPE_QUEUE:
		if (dir != SGNIC_STEER_RX)
			break;
		skb_record_rx_queue(skb, rule->queue);
		sgnic_steer_stat_add(st, SGNIC_STEER_STAT_RX_QUEUED, rule->queue);
		break;
	default:
		break;
	}
out:
	rcu_read_unlock();
	return drop;
}

bool sgnic_steer_rx(struct sgnic_port *port, struct sk_buff *skb)
{
	struct sgnic_steer *st = port->steer;

	if (!READ_ONCE(st->n_rules))
		return false;
	/* eth_type_trans() has pulled the Ethernet header. */
	if (!sgnic_steer_frame(st, SGNIC_STEER_RX, skb, -ETH_HLEN))
		return false;
	kfree_skb(skb);
	return true;
}

bool sgnic_steer_tx(struct sgnic_port *port, struct sk_buff *skb)
{
	struct sgnic_steer *st = port->steer;

	if (!READ_ONCE(st->n_rules))
		return false;
	if (!sgnic_steer_frame(st, SGNIC_STEER_TX, skb, 0))
		return false;
	dev_kfree_skb_any(skb);
	return true;
}

/* ---- ethtool ---- */

static const char * const sgnic_steer_stat_names[SGNIC_STEER_STAT_NUM] = {
	[SGNIC_STEER_STAT_RX_HITS] = "steer_rx_hits",
	[SGNIC_STEER_STAT_RX_DROPS] = "steer_rx_drops",
	[SGNIC_STEER_STAT_TX_HITS] = "steer_tx_hits",
	[SGNIC_STEER_STAT_TX_DROPS] = "steer_tx_drops",
	[SGNIC_STEER_STAT_RX_MARKED] = "steer_rx_marked",
	[SGNIC_STEER_STAT_RX_QUEUED] = "steer_rx_queued",
};

int sgnic_steer_ethtool_count(void)
{
	return SGNIC_STEER_STAT_NUM + SGNIC_STEER_RXQ_MAX;
}

void sgnic_steer_ethtool_strings(u8 **data)
{
	unsigned int i;

	for (i = 0; i < SGNIC_STEER_STAT_NUM; i++)
		ethtool_sprintf(data, "%s", sgnic_steer_stat_names[i]);
	for (i = 0; i < SGNIC_STEER_RXQ_MAX; i++)
		ethtool_sprintf(data, "steer_rxq%u", i);
}

void sgnic_steer_ethtool_stats(struct sgnic_port *port, u64 *data)
{
	const struct sgnic_steer_stats *s;
	unsigned int cpu, i, start;
	struct sgnic_steer_stats v;

	memset(data, 0, sgnic_steer_ethtool_count() * sizeof(*data));
	for_each_possible_cpu(cpu) {
		s = per_cpu_ptr(port->steer->stats, cpu);
		do {
			start = u64_stats_fetch_begin(&s->syncp);
			memcpy(v.v, s->v, sizeof(v.v));
			memcpy(v.rxq, s->rxq, sizeof(v.rxq));
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (i = 0; i < SGNIC_STEER_STAT_NUM; i++)
			data[i] += v.v[i];
		for (i = 0; i < SGNIC_STEER_RXQ_MAX; i++)
			data[SGNIC_STEER_STAT_NUM + i] += v.rxq[i];
	}
}

/* ---- lifetime ---- */

int sgnic_steer_port_init(struct sgnic_port *port)
{
	struct sgnic_steer *st;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	st->stats = netdev_alloc_pcpu_stats(struct sgnic_steer_stats);
	if (!st->stats) {
		kfree(st);
		return -ENOMEM;
	}
	st->port = port;
	st->rule_limit = SGNIC_STEER_PORT_RULES_DEFAULT;
	mutex_init(&st->lock);
	INIT_LIST_HEAD(&st->matchers);
	xa_init(&st->rules);
	port->steer = st;
	return 0;
}

/* The data path no longer runs for the port. */
void sgnic_steer_port_fini(struct sgnic_port *port)
{
	struct sgnic_steer *st = port->steer;
	struct sgnic_steer_matcher *m, *tmp;
	struct sgnic_steer_rule *rule;
	unsigned long id;

	if (!st)
		return;
	mutex_lock(&st->lock);
	/* A port may hold millions of rules: yield between them (a debug
	 * kernel's rmmod of 1M rules tripped the soft-lockup watchdog).
	 */
	xa_for_each(&st->rules, id, rule) {
		sgnic_steer_rule_delete(rule);
		cond_resched();
	}
	list_for_each_entry_safe(m, tmp, &st->matchers, node) {
		WRITE_ONCE(m->resize_target, NULL);
		WRITE_ONCE(m->resize_source, NULL);
	}
	list_for_each_entry_safe(m, tmp, &st->matchers, node)
		WARN_ON(sgnic_steer_matcher_destroy(m, NULL));
	mutex_unlock(&st->lock);
	xa_destroy(&st->rules);
	mutex_destroy(&st->lock);
	free_percpu(st->stats);
	kfree(st);
	port->steer = NULL;
}

int sgnic_steer_init(void)
{
	sgnic_steer_rule_cache = KMEM_CACHE(sgnic_steer_rule, 0);
	if (!sgnic_steer_rule_cache)
		return -ENOMEM;
	sgnic_steer_matcher_cache = KMEM_CACHE(sgnic_steer_matcher, 0);
	if (!sgnic_steer_matcher_cache) {
		kmem_cache_destroy(sgnic_steer_rule_cache);
		return -ENOMEM;
	}
	return 0;
}

void sgnic_steer_fini(void)
{
	rcu_barrier();	/* rules and action templates freed after a grace period */
	kmem_cache_destroy(sgnic_steer_matcher_cache);
	kmem_cache_destroy(sgnic_steer_rule_cache);
}
