// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * bench-read4k: 4 KiB reads at random offsets of a 32 MiB file that sits
 * in the page cache (tmpfs), 1 and 32 in flight.
 *
 *   kpool-D        READ into the arena; the ring API submits D and waits;
 *                  tasks run on the submitting CPU's workers (the default)
 *   kpool-unbound-D  the same with KPOOL_SQE_UNBOUND: any CPU's workers
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
