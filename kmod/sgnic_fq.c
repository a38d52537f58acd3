// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: frame queues (QMan model).  A frame queue is a FIFO of frame
 * descriptors; a Tx FQ also belongs to a congestion group that stops the
 * netdev Tx queue feeding it and wakes it once the frame manager drained it.
 */
#include <linux/slab.h>

#include "sgnic.h"

const char *sgnic_fq_type_name(enum sgnic_fq_type type)
{
	switch (type) {
	case SGNIC_FQ_TX:
		return "tx";
	case SGNIC_FQ_TX_CONF:
		return "tx_conf";
	case SGNIC_FQ_RX:
		return "rx";
	}
	return "?";
}

int sgnic_fq_init(struct sgnic_fq *fq, struct sgnic_port *port,
		  enum sgnic_fq_type type, unsigned int cpu, u32 depth)
{
	fq->ring = kcalloc(depth, sizeof(*fq->ring), GFP_KERNEL);
	if (!fq->ring)
		return -ENOMEM;
	spin_lock_init(&fq->lock);
	fq->fqid = atomic_inc_return(&port->sd->next_fqid);
	fq->type = type;
	fq->cpu = cpu;
	fq->port = port;
	fq->depth = depth;
	return 0;
}

void sgnic_fq_fini(struct sgnic_fq *fq)
{
	WARN_ON_ONCE(fq->count);
	kfree(fq->ring);
	fq->ring = NULL;
}

/* Caller serializes (see struct sgnic_fq).  False when the ring is full. */
bool sgnic_fq_push(struct sgnic_fq *fq, const struct sgnic_fd *fd)
{
	u32 tail;

	if (fq->count == fq->depth)
		return false;
	tail = fq->head + fq->count;
	if (tail >= fq->depth)
		tail -= fq->depth;
	fq->ring[tail] = *fd;
	fq->count++;
	fq->enqueued++;
	return true;
}

/* Caller serializes (see struct sgnic_fq).  False when the ring is empty. */
bool sgnic_fq_pop(struct sgnic_fq *fq, struct sgnic_fd *fd)
{
	if (!fq->count)
		return false;
	*fd = fq->ring[fq->head];
	if (++fq->head == fq->depth)
		fq->head = 0;
	fq->count--;
	fq->dequeued++;
	return true;
}

/* Rx FQs take frames from any portal's frame manager: under @fq->lock. */
bool sgnic_fq_rx_push(struct sgnic_fq *fq, const struct sgnic_fd *fd)
{
	bool pushed;

	spin_lock(&fq->lock);
	pushed = sgnic_fq_push(fq, fd);
	spin_unlock(&fq->lock);
	return pushed;
}

/*
 * Moves up to @max FDs of Rx FQ @fq into @dqrr; returns how many.  They are
 * in hand (see struct sgnic_fq) before they leave @count.
 */
unsigned int sgnic_fq_rx_take(struct sgnic_fq *fq, struct sgnic_dqrr_entry *dqrr,
			      unsigned int max)
{
	unsigned int n = 0;

	if (!READ_ONCE(fq->count))
		return 0;
	spin_lock(&fq->lock);
	WRITE_ONCE(fq->in_hand, fq->in_hand + min(max, fq->count));
	/* Pairs with smp_rmb() in sgnic_fq_rx_held(). */
	smp_wmb();
	while (n < max && sgnic_fq_pop(fq, &dqrr[n].fd))
		dqrr[n++].fq = fq;
	spin_unlock(&fq->lock);
	return n;
}

/*
 * The portal of @fq's CPU refilled the pools after taking FDs: none in hand.
 * The refill's buffers are visible to whoever then sees none in hand.
 */
void sgnic_fq_rx_taken(struct sgnic_fq *fq)
{
	if (!fq->in_hand)
		return;
	/* Pairs with smp_load_acquire() in sgnic_fq_rx_held(). */
	smp_store_release(&fq->in_hand, 0);
}

/*
 * How many FDs Rx FQ @fq holds, queued or in hand; *@queued gets the
 * queued ones.  Unlocked: another portal's frame manager asks.
 */
u32 sgnic_fq_rx_held(struct sgnic_fq *fq, u32 *queued)
{
	*queued = READ_ONCE(fq->count);
	/* Pairs with smp_wmb() in sgnic_fq_rx_take(): count, then in_hand. */
	smp_rmb();
	/* Pairs with sgnic_fq_rx_taken(): no FD in hand, the refill seen. */
	return *queued + smp_load_acquire(&fq->in_hand);
}

/*
 * Enqueue from ndo_start_xmit of a frame of @bytes.  Entering the congestion
 * group stops @txq; both that and the wake in sgnic_fq_tx_dequeue() happen
 * under @fq->lock, so a wake can never be lost between a full check and a
 * stop.  The bytes are accounted to @txq's byte queue limit under the lock
 * too, before the frame manager can dequeue (and so confirm) the frame.
 * *@ring says whether to ring the doorbell now: not while the stack has
 * more frames for this queue (xmit_more) and the queue runs.
 */
int sgnic_fq_tx_enqueue(struct sgnic_fq *fq, const struct sgnic_fd *fd,
			struct netdev_queue *txq, unsigned int bytes, bool *ring)
{
	int err = 0;

	spin_lock(&fq->lock);
	if (!sgnic_fq_push(fq, fd)) {
		fq->busy++;
		err = -EBUSY;
		goto out;
	}
	*ring = __netdev_tx_sent_queue(txq, bytes, netdev_xmit_more());
	if (fq->count >= SGNIC_CGR_ENTER && !fq->congested) {
		fq->congested = true;
		fq->cgr_entered++;
		netif_tx_stop_queue(txq);
		*ring = true;
	}
out:
	spin_unlock(&fq->lock);
	return err;
}

/*
 * Enqueue of an XDP frame (XDP_TX, ndo_xdp_xmit): neither in the byte queue
 * limits nor able to stop a queue, since XDP has none to stop; a full FQ
 * refuses the frame.
 */
int sgnic_fq_tx_enqueue_xdp(struct sgnic_fq *fq, const struct sgnic_fd *fd)
{
	int err = 0;

	spin_lock(&fq->lock);
	if (!sgnic_fq_push(fq, fd)) {
		fq->busy++;
		err = -EBUSY;
	}
	spin_unlock(&fq->lock);
	return err;
}

bool sgnic_fq_tx_dequeue(struct sgnic_fq *fq, struct sgnic_fd *fd,
			 struct netdev_queue *txq)
{
	bool got;

	spin_lock(&fq->lock);
	got = sgnic_fq_pop(fq, fd);
	if (fq->congested && fq->count < SGNIC_CGR_EXIT) {
		fq->congested = false;
		netif_tx_wake_queue(txq);
	}
	spin_unlock(&fq->lock);
	return got;
}

/* The frame manager's look at the oldest FD of a Tx FQ, left queued. */
bool sgnic_fq_tx_peek(struct sgnic_fq *fq, struct sgnic_fd *fd)
{
	bool got;

	spin_lock(&fq->lock);
	got = fq->count;
	if (got)
		*fd = fq->ring[fq->head];
	spin_unlock(&fq->lock);
	return got;
}
