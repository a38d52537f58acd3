// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: buffer pools (BMan model).  The pool is what the "hardware" holds:
 * DMA addresses of empty Rx buffers.  The driver seeds it per CPU, counts
 * per CPU what it put in and what its portal consumed, and refills in
 * batches of SGNIC_BPOOL_CMD_MAX when a CPU's count falls below the
 * low-water mark.
 *
 * The buffers are pages of a page_pool per CPU, mapped once by the
 * page_pool and kept mapped while they cycle: a received skb or XDP frame
 * returns its pages to their page_pool when freed, and the next refill
 * takes them from there, already mapped.  Only this CPU's page_pool is
 * allocated from, always with BH disabled (NAPI, or the seed in process
 * context): that is the page_pool's single-consumer rule.
 */
#include <linux/dma-mapping.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/page_pool.h>

#include "sgnic.h"

#if !IS_ENABLED(CONFIG_PAGE_POOL)
#error "sgnic needs CONFIG_PAGE_POOL (drivers such as bnxt, mlx5 and xen-netfront select it)"
#endif

/* The largest frame must fit one S/G table of the smallest buffers. */
static_assert(DIV_ROUND_UP(SGNIC_FRAME_MAX, SGNIC_RX_BUF_LEN_MIN) <
	      SGNIC_SGT_MAX_ENTRIES);
/* A whole Rx buffer, skb_shared_info included, fits one page. */
static_assert(SGNIC_RX_BUF_ALLOC(SGNIC_RX_BUF_LEN_MAX) <= PAGE_SIZE);
/* The Rx headroom must be expressible as an FD and S/G entry offset. */
static_assert(SGNIC_RX_HEADROOM <= SGNIC_FD_OFFSET_MAX);

/*
 * The shadow: one record per buffer the pool can own (its capacity bounds
 * the live buffers: every CPU's count stays at or below the seed), hashed by
 * bus address, twice as many buckets as records.
 */
static int sgnic_bpool_shadow_init(struct sgnic_bpool *pool)
{
	u32 i;

	spin_lock_init(&pool->shadow_lock);
	pool->shadow = kvcalloc(pool->capacity, sizeof(*pool->shadow), GFP_KERNEL);
	if (!pool->shadow)
		goto shadow_alloc_failed;
	pool->shadow_bits = order_base_2(pool->capacity) + 1;
	pool->shadow_hash = kvcalloc(BIT(pool->shadow_bits),
				     sizeof(*pool->shadow_hash), GFP_KERNEL);
	if (!pool->shadow_hash)
		goto hash_alloc_failed;
	INIT_HLIST_HEAD(&pool->shadow_free);
	for (i = 0; i < pool->capacity; i++)
		hlist_add_head(&pool->shadow[i].node, &pool->shadow_free);
	return 0;

hash_alloc_failed:
	kvfree(pool->shadow);
shadow_alloc_failed:
	return -ENOMEM;
}

static void sgnic_bpool_shadow_fini(struct sgnic_bpool *pool)
{
	u32 i;

	/* Every buffer was freed (drained) or handed to the stack (claimed). */
	for (i = 0; i < BIT(pool->shadow_bits); i++)
		WARN_ON_ONCE(!hlist_empty(&pool->shadow_hash[i]));
	kvfree(pool->shadow_hash);
	kvfree(pool->shadow);
}

static struct hlist_head *sgnic_bpool_shadow_bucket(struct sgnic_bpool *pool,
						    dma_addr_t addr)
{
	return &pool->shadow_hash[hash_64(addr, pool->shadow_bits)];
}

/* Records a new buffer; false when every record is in use. */
static bool sgnic_bpool_shadow_add(struct sgnic_bpool *pool, dma_addr_t addr,
				   void *va)
{
	struct sgnic_bpool_buf *buf = NULL;

	spin_lock_bh(&pool->shadow_lock);
	if (!hlist_empty(&pool->shadow_free)) {
		buf = hlist_entry(pool->shadow_free.first, struct sgnic_bpool_buf, node);
		hlist_del(&buf->node);
		buf->addr = addr;
		buf->va = va;
		hlist_add_head(&buf->node, sgnic_bpool_shadow_bucket(pool, addr));
	}
	spin_unlock_bh(&pool->shadow_lock);
	return buf;
}

static struct sgnic_bpool_buf *
sgnic_bpool_shadow_find(struct sgnic_bpool *pool, dma_addr_t addr)
{
	struct sgnic_bpool_buf *buf;

	hlist_for_each_entry(buf, sgnic_bpool_shadow_bucket(pool, addr), node)
		if (buf->addr == addr)
			return buf;
	return NULL;
}

/*
 * The driver's pointer to the pool buffer at bus address @addr, which stays
 * the pool's; NULL (and a warning: the hardware broke the contract) if the
 * pool has no such buffer.
 */
void *sgnic_bpool_buf_va(struct sgnic_bpool *pool, dma_addr_t addr)
{
	struct sgnic_bpool_buf *buf;
	void *va = NULL;

	spin_lock_bh(&pool->shadow_lock);
	buf = sgnic_bpool_shadow_find(pool, addr);
	if (buf)
		va = buf->va;
	spin_unlock_bh(&pool->shadow_lock);
	WARN_ON_ONCE(!va);
	return va;
}

/*
 * Forgets the buffer at @addr; returns the driver's pointer to it, or NULL
 * (and a warning) if the pool has no such buffer.
 */
static void *sgnic_bpool_shadow_take(struct sgnic_bpool *pool, dma_addr_t addr)
{
	struct sgnic_bpool_buf *buf;
	void *va = NULL;

	spin_lock_bh(&pool->shadow_lock);
	buf = sgnic_bpool_shadow_find(pool, addr);
	if (buf) {
		va = buf->va;
		hlist_del(&buf->node);
		hlist_add_head(&buf->node, &pool->shadow_free);
	}
	spin_unlock_bh(&pool->shadow_lock);
	WARN_ON_ONCE(!va);
	return va;
}

static void sgnic_bpool_pages_fini(struct sgnic_bpool *pool)
{
	unsigned int cpu;

	/* Pages still in skbs or XDP frames keep their page_pool alive. */
	for_each_possible_cpu(cpu)
		page_pool_destroy(pool->pages[cpu]);
	kfree(pool->pages);
}

/* One page_pool per CPU, its pages mapped for the device to write. */
static int sgnic_bpool_pages_init(struct sgnic_bpool *pool)
{
	struct page_pool_params params = {
		.flags = PP_FLAG_DMA_MAP,
		.order = 0,
		.pool_size = SGNIC_BPOOL_PAGE_RING,
		.dev = pool->sd->dma_dev,
		.dma_dir = DMA_FROM_DEVICE,
	};
	struct page_pool *pp;
	unsigned int cpu;

	pool->pages = kcalloc(nr_cpu_ids, sizeof(*pool->pages), GFP_KERNEL);
	if (!pool->pages)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		params.nid = cpu_to_node(cpu);
		pp = page_pool_create(&params);
		if (IS_ERR(pp)) {
			sgnic_bpool_pages_fini(pool);
			return PTR_ERR(pp);
		}
		pool->pages[cpu] = pp;
	}
	return 0;
}

int sgnic_bpool_init(struct sgnic_bpool *pool, struct sgnic_dev *sd, u8 bpid)
{
	int err;

	pool->bpid = bpid;
	pool->sd = sd;
	spin_lock_init(&pool->lock);
	pool->capacity = SGNIC_BPOOL_SEED_PER_CPU * nr_cpu_ids;
	pool->stack = kvcalloc(pool->capacity, sizeof(*pool->stack), GFP_KERNEL);
	if (!pool->stack) {
		err = -ENOMEM;
		goto stack_alloc_failed;
	}
	pool->held = kvcalloc(pool->capacity, sizeof(*pool->held), GFP_KERNEL);
	if (!pool->held) {
		err = -ENOMEM;
		goto held_alloc_failed;
	}
	pool->count = alloc_percpu(int);
	if (!pool->count) {
		err = -ENOMEM;
		goto count_alloc_failed;
	}
	err = sgnic_bpool_shadow_init(pool);
	if (err)
		goto shadow_init_failed;
	err = sgnic_bpool_pages_init(pool);
	if (err)
		goto pages_init_failed;
	sgnic_bpool_set_buf_len(pool, SGNIC_RX_BUF_LEN_DEFAULT);
	return 0;

pages_init_failed:
	sgnic_bpool_shadow_fini(pool);
shadow_init_failed:
	free_percpu(pool->count);
count_alloc_failed:
	kvfree(pool->held);
held_alloc_failed:
	kvfree(pool->stack);
stack_alloc_failed:
	return err;
}

void sgnic_bpool_fini(struct sgnic_bpool *pool)
{
	WARN_ON_ONCE(pool->avail || pool->nheld);
	sgnic_bpool_pages_fini(pool);
	sgnic_bpool_shadow_fini(pool);
	free_percpu(pool->count);
	kvfree(pool->held);
	kvfree(pool->stack);
}

/* Only while the pool is empty (port down). */
int sgnic_bpool_set_buf_len(struct sgnic_bpool *pool, u32 buf_len)
{
	if (buf_len < SGNIC_RX_BUF_LEN_MIN || buf_len > SGNIC_RX_BUF_LEN_MAX)
		return -ERANGE;
	if (WARN_ON_ONCE(pool->avail || pool->nheld))
		return -EBUSY;
	pool->buf_len = buf_len;
	pool->map_size = SGNIC_RX_HEADROOM + buf_len;
	pool->alloc_size = SGNIC_RX_BUF_ALLOC(buf_len);
	return 0;
}

/* The "hardware" commands: all or nothing, at most SGNIC_BPOOL_CMD_MAX. */
int sgnic_bpool_acquire(struct sgnic_bpool *pool, dma_addr_t *bufs, u32 n)
{
	unsigned long flags;
	int err = 0;
	u32 i;

	if (WARN_ON_ONCE(n > SGNIC_BPOOL_CMD_MAX))
		return -EINVAL;
	spin_lock_irqsave(&pool->lock, flags);
	if (pool->avail < n) {
		pool->acquire_failed++;
		err = -ENOBUFS;
	} else {
		for (i = 0; i < n; i++)
			bufs[i] = pool->stack[--pool->avail];
		pool->acquired += n;
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	return err;
}

int sgnic_bpool_release(struct sgnic_bpool *pool, const dma_addr_t *bufs, u32 n)
{
	unsigned long flags;
	int err = 0;
	u32 i;

	if (WARN_ON_ONCE(n > SGNIC_BPOOL_CMD_MAX))
		return -EINVAL;
	spin_lock_irqsave(&pool->lock, flags);
	if (pool->avail + n > pool->capacity) {
		err = -ENOSPC;
	} else {
		for (i = 0; i < n; i++)
			pool->stack[pool->avail++] = bufs[i];
		pool->released += n;
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	return err;
}

/*
 * Gives a page back to its page_pool: straight into the allocation cache
 * when @napi says this is NAPI context (or BH disabled) and the page is this
 * CPU's, through the page_pool's ring otherwise.
 */
void sgnic_bpool_page_free(struct sgnic_bpool *pool, struct page *page, bool napi)
{
	struct page_pool *pp = page->pp;

	page_pool_put_full_page(pp, page, napi && pp == pool->pages[smp_processor_id()]);
}

/* Frees a buffer the pool owned (process context). */
static void sgnic_bpool_buf_free(struct sgnic_bpool *pool, dma_addr_t addr)
{
	void *va = sgnic_bpool_shadow_take(pool, addr);

	if (!va)
		return;
	sgnic_bpool_page_free(pool, virt_to_page(va), false);
}

/*
 * Hands the device Rx buffer @va (a page of the page_pools, mapped) and
 * records it; it stays the caller's on failure.
 */
static int sgnic_bpool_buf_give(struct sgnic_bpool *pool, void *va, dma_addr_t *addr)
{
	*addr = page_pool_get_dma_addr(virt_to_page(va));
	/* The CPU may have written the page since: nothing of it may land late. */
	dma_sync_single_for_device(pool->sd->dma_dev, *addr, pool->map_size,
				   DMA_FROM_DEVICE);
	if (unlikely(!sgnic_bpool_shadow_add(pool, *addr, va)))
		return -ENOMEM;
	return 0;
}

/* Takes one Rx buffer from this CPU's page_pool and records it; BH disabled. */
static int sgnic_bpool_buf_new(struct sgnic_bpool *pool, dma_addr_t *addr)
{
	struct page *page = page_pool_dev_alloc_pages(pool->pages[smp_processor_id()]);

	if (unlikely(!page))
		return -ENOMEM;
	if (unlikely(sgnic_bpool_buf_give(pool, page_address(page), addr))) {
		sgnic_bpool_page_free(pool, page, true);
		return -ENOMEM;
	}
	return 0;
}

/*
 * A buffer the driver claimed goes back into the pool unused (XDP dropped
 * its frame): recorded again, released, counted on this CPU; back to its
 * page_pool if the pool cannot take it.  NAPI context.
 */
void sgnic_bpool_recycle(struct sgnic_bpool *pool, void *va)
{
	dma_addr_t addr;

	if (unlikely(sgnic_bpool_buf_give(pool, va, &addr))) {
		sgnic_bpool_page_free(pool, virt_to_page(va), true);
		return;
	}
	if (unlikely(sgnic_bpool_release(pool, &addr, 1))) {
		sgnic_bpool_shadow_take(pool, addr);
		sgnic_bpool_page_free(pool, virt_to_page(va), true);
		return;
	}
	this_cpu_inc(*pool->count);
}

/*
 * Allocates, maps and releases one batch of up to @want buffers; returns how
 * many went into the pool.
 */
static int sgnic_bpool_add_batch(struct sgnic_bpool *pool, int want)
{
	dma_addr_t bufs[SGNIC_BPOOL_CMD_MAX];
	int i, n;

	for (n = 0; n < min(want, SGNIC_BPOOL_CMD_MAX); n++)
		if (sgnic_bpool_buf_new(pool, &bufs[n]))
			break;
	if (n && sgnic_bpool_release(pool, bufs, n)) {
		for (i = 0; i < n; i++)
			sgnic_bpool_buf_free(pool, bufs[i]);
		n = 0;
	}
	return n;
}

/* Tops up this CPU's share to the seed count; caller has BH disabled. */
static int sgnic_bpool_fill_cpu(struct sgnic_bpool *pool, int *count)
{
	int added;

	while (*count < SGNIC_BPOOL_SEED_PER_CPU) {
		added = sgnic_bpool_add_batch(pool, SGNIC_BPOOL_SEED_PER_CPU - *count);
		if (!added)
			return -ENOMEM;
		*count += added;
	}
	return 0;
}

/* NAPI context, at the end of a poll. */
void sgnic_bpool_refill(struct sgnic_bpool *pool)
{
	int *count = this_cpu_ptr(pool->count);
	int before;

	if (likely(*count >= SGNIC_BPOOL_LOW_WATER) || READ_ONCE(pool->depleted))
		return;
	/* Out of memory: the next poll tries again; Rx counts rx_nobuf. */
	before = *count;
	sgnic_bpool_fill_cpu(pool, count);
	if (*count > before)
		atomic64_inc(&pool->refills);
}

/*
 * A received buffer leaves the pool (it becomes an skb or an XDP frame,
 * whose free returns the page to its page_pool, still mapped): synced for
 * the CPU, forgotten by the shadow, uncounted on this CPU.  Returns the
 * driver's pointer to it, or NULL if the pool has no buffer at @addr
 * (nothing was done then).  NAPI context.
 */
void *sgnic_bpool_buf_claim(struct sgnic_bpool *pool, dma_addr_t addr)
{
	void *va = sgnic_bpool_shadow_take(pool, addr);

	if (unlikely(!va))
		return NULL;
	dma_sync_single_for_cpu(pool->sd->dma_dev, addr, pool->map_size, DMA_FROM_DEVICE);
	this_cpu_dec(*pool->count);
	return va;
}

/* Process context, port down: every online CPU gets its share. */
int sgnic_bpool_seed(struct sgnic_bpool *pool)
{
	unsigned int cpu;
	int err = 0;

	local_bh_disable();
	for_each_online_cpu(cpu) {
		err = sgnic_bpool_fill_cpu(pool, per_cpu_ptr(pool->count, cpu));
		if (err)
			break;
	}
	local_bh_enable();
	if (!err && pool->depleted)
		sgnic_bpool_set_depleted(pool, true);
	return err;
}

/* Process context, port down and portals quiesced: frees every buffer. */
void sgnic_bpool_drain(struct sgnic_bpool *pool)
{
	dma_addr_t bufs[SGNIC_BPOOL_CMD_MAX];
	unsigned int cpu;
	bool depleted = pool->depleted;
	u32 n, i;

	sgnic_bpool_set_depleted(pool, false);
	pool->depleted = depleted;	/* the knob survives a down/up */
	for (;;) {
		n = min_t(u32, sgnic_bpool_avail(pool), SGNIC_BPOOL_CMD_MAX);
		if (!n || sgnic_bpool_acquire(pool, bufs, n))
			break;
		for (i = 0; i < n; i++)
			sgnic_bpool_buf_free(pool, bufs[i]);
	}
	for_each_possible_cpu(cpu)
		per_cpu(*pool->count, cpu) = 0;
}

/*
 * Fault knob: a depleted pool has all its buffers taken out (held, still
 * mapped, still counted per CPU), so the frame manager finds none and the
 * receiver counts rx_nobuf.  Clearing puts them back.
 */
void sgnic_bpool_set_depleted(struct sgnic_bpool *pool, bool depleted)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	pool->depleted = depleted;
	if (depleted) {
		while (pool->avail)
			pool->held[pool->nheld++] = pool->stack[--pool->avail];
	} else {
		while (pool->nheld && pool->avail < pool->capacity)
			pool->stack[pool->avail++] = pool->held[--pool->nheld];
	}
	spin_unlock_irqrestore(&pool->lock, flags);
}

u32 sgnic_bpool_avail(struct sgnic_bpool *pool)
{
	return READ_ONCE(pool->avail);
}

int sgnic_bpool_count_sum(struct sgnic_bpool *pool)
{
	unsigned int cpu;
	int sum = 0;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(pool->count, cpu));
	return sum;
}
