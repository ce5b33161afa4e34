// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * bench-read4k: 4 KiB reads at random offsets of a 32 MiB file that sits
 * in the page cache (tmpfs), 1 and 32 in flight.
 *
 *   kpool-D        READ into the arena; the ring API submits D and waits;
 *                  tasks run on the submitting CPU's workers (the default)
 *   kpool-unbound-D  the same with KPOOL_SQE_UNBOUND: any CPU's workers
 *   kpool-crc-D    READ, then CRC32C of the block: the CRC32C tasks are
 *                  submitted when the READs' CQEs are in (two round trips)
 *   kpool-chain-crc-D  the same pairs as chains (KPOOL_SQE_LINK): one
 *                  submit, and the CRC32C starts when its READ is done
 *   uring-D        io_uring READ, as the kernel chooses (inline if it can)
 *   uring-async-D  the same with IOSQE_ASYNC: always an io-wq worker
 *   libuv-D        uv_fs_read(), D in flight on libuv's thread pool
 *   glib-D         a GThreadPool running pread(), D in flight
 *   pread-1        a plain pread() loop
 *
 * Every contender reads the same offsets, and checks the first word of
 * each block (the file holds its own offsets).
 */
#include <fcntl.h>
#include <glib.h>
#include <uv.h>
#include "rings.h"

#define FILE_SIZE	(32UL << 20)
#define BLOCK		4096
#define MAX_DEPTH	32

static int data_fd = -1;
static const char data_path[] = "/tmp/kpool-bench-read4k";
static uint32_t block_crc[FILE_SIZE / BLOCK];	/* what CRC32C must say */

static uint32_t crc32c(const void *data, size_t len)
{
	static uint32_t table[256];
	const unsigned char *p = data;
	uint32_t crc = ~0u;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
			table[i] = c;
		}
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint64_t offset_of(unsigned int thread, unsigned int i)
{
	uint32_t x = (i + 1) * 2654435761U + thread * 40503U;

	return (uint64_t)(x % (FILE_SIZE / BLOCK)) * BLOCK;
}

static int check_block(const void *buf, uint64_t off)
{
	uint64_t first;

	memcpy(&first, buf, sizeof(first));
	return first == off ? 0 : -1;
}

static void make_file(void)
{
	uint64_t *block = malloc(BLOCK), off;
	int fd = open(data_path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || !block)
		BENCH_DIE("read4k: cannot create %s\n", data_path);
	for (off = 0; off < FILE_SIZE; off += BLOCK) {
		for (unsigned int w = 0; w < BLOCK / 8; w++)
			block[w] = off + w * 8;
		if (pwrite(fd, block, BLOCK, (off_t)off) != BLOCK)
			BENCH_DIE("read4k: cannot write %s\n", data_path);
		block_crc[off / BLOCK] = crc32c(block, BLOCK);
	}
	free(block);
	data_fd = fd;
}

/* ---- kpool: task i reads into arena slot `slot` ---- */

static int kpool_setup(struct bench_thread *t)
{
	return bench_kpool_open(t, 64, MAX_DEPTH * BLOCK);
}

static void kpool_prep_block(struct bench_thread *t, struct kpool_sqe *sqe,
			     unsigned int i, unsigned int slot)
{
	kpool_prep_read(sqe, data_fd, slot * BLOCK, BLOCK, offset_of(t->id, i));
}

static void kpool_prep_block_unbound(struct bench_thread *t,
				     struct kpool_sqe *sqe, unsigned int i,
				     unsigned int slot)
{
	kpool_prep_block(t, sqe, i, slot);
	kpool_sqe_set_unbound(sqe);
}

static int kpool_check_block(struct bench_thread *t, const struct kpool_cqe *cqe,
			     unsigned int i, unsigned int slot)
{
	struct bench_kpool *k = t->priv;

	return cqe->res != BLOCK ||
	       check_block((char *)k->ring.arena + slot * BLOCK,
			   offset_of(t->id, i));
}

static int kpool_run(struct bench_thread *t, unsigned int n)
{
	return bench_kpool_batches(t, n, kpool_prep_block, kpool_check_block);
}

static int kpool_unbound_run(struct bench_thread *t, unsigned int n)
{
	return bench_kpool_batches(t, n, kpool_prep_block_unbound,
				   kpool_check_block);
}

/*
 * ---- kpool: READ then CRC32C of each block, by the program or chained ----
 * Task i is the pair; its time runs from its batch's start to the CRC32C's
 * CQE.  user_data: i, with bit 32 set on the CRC32C.
 */

#define CRC_TAG		(1ull << 32)

static void kpool_queue_crc(struct kpool_ring *ring, unsigned int i,
			    unsigned int slot)
{
	struct kpool_sqe *sqe = kpool_get_sqe(ring);

	kpool_prep_crc32c(sqe, slot * BLOCK, BLOCK, 0);
	kpool_sqe_set_data(sqe, CRC_TAG | i);
}

static int kpool_crc_batches(struct bench_thread *t, unsigned int n, int chain)
{
	struct kpool_ring *ring = &((struct bench_kpool *)t->priv)->ring;
	unsigned int done = 0, i;

	while (done < n) {
		unsigned int batch = n - done < t->depth ? n - done : t->depth;
		unsigned int want = chain ? 2 * batch : batch, crcs = 0;
		uint64_t t0 = bench_now();
		struct kpool_cqe *cqe;

		for (i = 0; i < batch; i++) {
			struct kpool_sqe *sqe = kpool_get_sqe(ring);

			kpool_prep_read(sqe, data_fd, i * BLOCK, BLOCK,
					offset_of(t->id, done + i));
			kpool_sqe_set_data(sqe, done + i);
			if (chain) {
				kpool_sqe_set_link(sqe);
				kpool_queue_crc(ring, done + i, i);
			}
		}
		while (crcs < batch) {
			if (kpool_submit_and_wait(ring, want) < 0)
				return -1;
			want = 0;
			while (!kpool_peek_cqe(ring, &cqe)) {
				unsigned int task = (unsigned int)cqe->user_data;
				uint64_t off = offset_of(t->id, task);

				if (task - done >= batch)
					return -1;
				if (!(cqe->user_data & CRC_TAG)) {
					if (cqe->res != BLOCK)
						return -1;
					if (!chain) {
						kpool_queue_crc(ring, task, task - done);
						want++;
					}
				} else if (cqe->res || cqe->aux != block_crc[off / BLOCK]) {
					return -1;
				} else {
					t->lat[task] = bench_now() - t0;
					crcs++;
				}
				kpool_cqe_seen(ring, cqe);
			}
			if (!want && crcs < batch)
				want = 1;
		}
		done += batch;
	}
	return 0;
}

static int kpool_crc_run(struct bench_thread *t, unsigned int n)
{
	return kpool_crc_batches(t, n, 0);
}

static int kpool_chain_crc_run(struct bench_thread *t, unsigned int n)
{
	return kpool_crc_batches(t, n, 1);
}

/* ---- io_uring: task i reads into buffer `slot` ---- */

static int uring_setup(struct bench_thread *t)
{
	int err = bench_uring_open(t, 64);

	if (!err) {
		((struct bench_uring *)t->priv)->data =
			aligned_alloc(BLOCK, MAX_DEPTH * BLOCK);
		err = !((struct bench_uring *)t->priv)->data;
	}
	return err;
}

static char *uring_buf(struct bench_thread *t, unsigned int slot)
{
	return (char *)((struct bench_uring *)t->priv)->data + slot * BLOCK;
}

static void uring_prep_block(struct bench_thread *t, struct io_uring_sqe *sqe,
			     unsigned int i, unsigned int slot)
{
	io_uring_prep_read(sqe, data_fd, uring_buf(t, slot), BLOCK,
			   offset_of(t->id, i));
}

static void uring_prep_block_async(struct bench_thread *t,
				   struct io_uring_sqe *sqe, unsigned int i,
				   unsigned int slot)
{
	uring_prep_block(t, sqe, i, slot);
	sqe->flags |= IOSQE_ASYNC;
}

static int uring_check_block(struct bench_thread *t,
			     const struct io_uring_cqe *cqe, unsigned int i,
			     unsigned int slot)
{
	return cqe->res != BLOCK ||
	       check_block(uring_buf(t, slot), offset_of(t->id, i));
}

static int uring_run(struct bench_thread *t, unsigned int n)
{
	return bench_uring_batches(t, n, uring_prep_block, uring_check_block);
}

static int uring_async_run(struct bench_thread *t, unsigned int n)
{
	return bench_uring_batches(t, n, uring_prep_block_async,
				   uring_check_block);
}

/* ---- libuv ---- */

struct uv_slot {
	uv_fs_t req;
	char buf[BLOCK];
	unsigned int i;
};

struct uv_inst {
	uv_loop_t loop;
	struct uv_slot slot[MAX_DEPTH];
	uint64_t *submitted_at, *lat;
	unsigned int next, n, id;
	int bad;
};

static void uv_read_done(uv_fs_t *req);

static void uv_read_next(struct uv_inst *u, struct uv_slot *s)
{
	uv_buf_t b = uv_buf_init(s->buf, BLOCK);

	s->i = u->next++;
	s->req.data = u;
	u->submitted_at[s->i] = bench_now();
	uv_fs_read(&u->loop, &s->req, data_fd, &b, 1,
		   (int64_t)offset_of(u->id, s->i), uv_read_done);
}

static void uv_read_done(uv_fs_t *req)
{
	struct uv_inst *u = req->data;
	struct uv_slot *s = (struct uv_slot *)req;

	if (req->result != BLOCK || check_block(s->buf, offset_of(u->id, s->i)))
		u->bad = 1;
	u->lat[s->i] = bench_now() - u->submitted_at[s->i];
	uv_fs_req_cleanup(req);
	if (u->next < u->n)
		uv_read_next(u, s);
}

static int libuv_setup(struct bench_thread *t)
{
	struct uv_inst *u = calloc(1, sizeof(*u));

	t->priv = u;
	return !u || uv_loop_init(&u->loop);
}

static int libuv_run(struct bench_thread *t, unsigned int n)
{
	struct uv_inst *u = t->priv;
	unsigned int i;

	u->submitted_at = calloc(n ? n : 1, sizeof(uint64_t));
	u->lat = t->lat;
	u->n = n;
	u->next = 0;
	u->id = t->id;
	u->bad = 0;
	for (i = 0; i < t->depth && u->next < n; i++)
		uv_read_next(u, &u->slot[i]);
	uv_run(&u->loop, UV_RUN_DEFAULT);
	free(u->submitted_at);
	return u->bad ? -1 : 0;
}

static void libuv_teardown(struct bench_thread *t)
{
	struct uv_inst *u = t->priv;

	uv_loop_close(&u->loop);
	free(u);
}

/* ---- GLib ---- */

struct glib_job {
	char buf[BLOCK];
	uint64_t off;
	ssize_t res;
	unsigned int i;
};

struct glib_inst {
	GThreadPool *pool;
	GAsyncQueue *done;
	struct glib_job job[MAX_DEPTH];
};

static void glib_pread(gpointer data, gpointer user)
{
	struct glib_job *j = data;

	j->res = pread(data_fd, j->buf, BLOCK, (off_t)j->off);
	g_async_queue_push(user, j);
}

static int glib_setup(struct bench_thread *t)
{
	struct glib_inst *g = calloc(1, sizeof(*g));

	t->priv = g;
	if (!g)
		return 1;
	g->done = g_async_queue_new();
	g->pool = g_thread_pool_new(glib_pread, g->done,
				    (gint)sysconf(_SC_NPROCESSORS_ONLN), FALSE,
				    NULL);
	return !g->pool;
}

static int glib_run(struct bench_thread *t, unsigned int n)
{
	struct glib_inst *g = t->priv;
	uint64_t *submitted_at = calloc(n ? n : 1, sizeof(uint64_t));
	unsigned int next = 0, done = 0, free_slot = 0;
	struct glib_job *free_jobs[MAX_DEPTH];
	int bad = 0;

	for (unsigned int i = 0; i < t->depth; i++)
		free_jobs[free_slot++] = &g->job[i];
	while (done < n) {
		while (next < n && free_slot) {
			struct glib_job *j = free_jobs[--free_slot];

			j->i = next;
			j->off = offset_of(t->id, next);
			submitted_at[next++] = bench_now();
			g_thread_pool_push(g->pool, j, NULL);
		}
		struct glib_job *j = g_async_queue_pop(g->done);

		if (j->res != BLOCK || check_block(j->buf, j->off))
			bad = 1;
		t->lat[j->i] = bench_now() - submitted_at[j->i];
		free_jobs[free_slot++] = j;
		done++;
	}
	free(submitted_at);
	return bad ? -1 : 0;
}

static void glib_teardown(struct bench_thread *t)
{
	struct glib_inst *g = t->priv;

	g_thread_pool_free(g->pool, FALSE, TRUE);
	g_async_queue_unref(g->done);
	free(g);
}

/* ---- plain pread ---- */

static int pread_setup(struct bench_thread *t)
{
	t->priv = malloc(BLOCK);
	return !t->priv;
}

static int pread_run(struct bench_thread *t, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t t0 = bench_now(), off = offset_of(t->id, i);

		if (pread(data_fd, t->priv, BLOCK, (off_t)off) != BLOCK ||
		    check_block(t->priv, off))
			return -1;
		t->lat[i] = bench_now() - t0;
	}
	return 0;
}

static void pread_teardown(struct bench_thread *t)
{
	free(t->priv);
}

static const struct contender contenders[] = {
	{ "kpool-1", 1, kpool_setup, kpool_run, bench_kpool_close },
	{ "kpool-32", 32, kpool_setup, kpool_run, bench_kpool_close },
	{ "kpool-unbound-32", 32, kpool_setup, kpool_unbound_run, bench_kpool_close },
	{ "kpool-crc-32", 32, kpool_setup, kpool_crc_run, bench_kpool_close },
	{ "kpool-chain-crc-32", 32, kpool_setup, kpool_chain_crc_run, bench_kpool_close },
	{ "uring-1", 1, uring_setup, uring_run, bench_uring_close },
	{ "uring-32", 32, uring_setup, uring_run, bench_uring_close },
	{ "uring-async-1", 1, uring_setup, uring_async_run, bench_uring_close },
	{ "uring-async-32", 32, uring_setup, uring_async_run, bench_uring_close },
	{ "libuv-1", 1, libuv_setup, libuv_run, libuv_teardown },
	{ "libuv-32", 32, libuv_setup, libuv_run, libuv_teardown },
	{ "glib-1", 1, glib_setup, glib_run, glib_teardown },
	{ "glib-32", 32, glib_setup, glib_run, glib_teardown },
	{ "pread-1", 1, pread_setup, pread_run, pread_teardown },
};

int main(int argc, char **argv)
{
	int ret;

	make_file();
	ret = bench_main(argc, argv, "read4k", contenders,
			 sizeof(contenders) / sizeof(contenders[0]));
	close(data_fd);
	unlink(data_path);
	return ret;
}
