// SPDX-License-Identifier: GPL-2.0
/*
 * File ops: READ, WRITE and FSYNC.
 *
 * The fd is resolved by prep, in the submitter's context: the task takes
 * its own reference to the file and to the submitter's credentials, and
 * cleanup drops both exactly once, whatever happens to the task.  The
 * work runs in a thread of the submitting process (KPOOL_OPF_OWNER,
 * owner.c), so its namespaces, limits and cgroups are the submitter's;
 * the credentials are the submitter's own too, even if that thread's
 * differ.  It runs in chunks between which cancel and deadline are
 * checked.
 */
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include "ops.h"

#define KPOOL_RW_CHUNK	SZ_1M

struct kpool_file_io {
	struct file		*file;
	const struct cred	*cred;
	void			*buf;	/* in the arena, which never moves */
	loff_t			pos;
	u32			len;
	bool			datasync;
};

/* Take @fd for an op that needs the file open with @need (FMODE_*). */
static int kpool_file_get(struct kpool_file_io *io, int fd, fmode_t need)
{
	struct file *file = fget(fd);
	umode_t mode;
	int ret = 0;

	if (!file)
		return -EBADF;
	mode = file_inode(file)->i_mode;
	if (S_ISDIR(mode))
		ret = -EISDIR;
	else if (S_ISFIFO(mode) || S_ISSOCK(mode))
		ret = -ESPIPE;
	else if (!S_ISREG(mode) && !S_ISBLK(mode))
		ret = -EINVAL;
	else if ((file->f_mode & need) != need)
		ret = -EBADF;
	else if (file->f_flags & O_DIRECT)
		ret = -EINVAL;	/* the arena is vmap()ed memory */
	if (ret) {
		fput(file);
		return ret;
	}
	io->file = file;
	io->cred = get_current_cred();
	return 0;
}

static int kpool_rw_prep(struct kpool_task *task, const struct kpool_sqe *sqe,
			 fmode_t need)
{
	struct kpool_file_io *io = kpool_task_data(task, struct kpool_file_io);

	if (sqe->off > LLONG_MAX - sqe->len)
		return -EINVAL;
	io->buf = kpool_arena_range(task->pool, sqe->addr, sqe->len, false);
	if (!io->buf)
		return -EINVAL;
	io->pos = sqe->off;
	io->len = sqe->len;
	return kpool_file_get(io, sqe->fd, need);	/* last: takes refs */
}

int kpool_read_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	return kpool_rw_prep(task, sqe, FMODE_READ);
}

int kpool_write_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	return kpool_rw_prep(task, sqe, FMODE_WRITE);
}

/*
 * Move io->len bytes in chunks.  Like pread/pwrite: the bytes moved, a
 * short count at end of file, an error only if nothing moved; but a task
 * stopped by cancel or deadline says so.
 */
static int kpool_rw_issue(struct kpool_task *task, bool write)
{
	struct kpool_file_io *io = kpool_task_data(task, struct kpool_file_io);
	const struct cred *old = override_creds(io->cred);
	u32 done = 0;
	int res = 0;

	while (done < io->len) {
		size_t chunk = min_t(u32, io->len - done, KPOOL_RW_CHUNK);
		ssize_t n;

		if (kpool_task_should_stop(task, &res))
			break;
		if (write)
			n = kernel_write(io->file, io->buf + done, chunk, &io->pos);
		else
			n = kernel_read(io->file, io->buf + done, chunk, &io->pos);
		if (n < 0) {
			res = n;
			break;
		}
		done += n;
		if (n < chunk)
			break;
		cond_resched();
	}
	revert_creds(old);
	if (res == -ECANCELED || res == -ETIME || (res && !done))
		return res;
	return done;
}

int kpool_read_issue(struct kpool_task *task)
{
	return kpool_rw_issue(task, false);
}

int kpool_write_issue(struct kpool_task *task)
{
	return kpool_rw_issue(task, true);
}

int kpool_fsync_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	struct kpool_file_io *io = kpool_task_data(task, struct kpool_file_io);

	io->datasync = sqe->op_flags & KPOOL_FSYNC_DATASYNC;
	return kpool_file_get(io, sqe->fd, 0);
}

int kpool_fsync_issue(struct kpool_task *task)
{
	struct kpool_file_io *io = kpool_task_data(task, struct kpool_file_io);
	const struct cred *old = override_creds(io->cred);
	int ret = vfs_fsync(io->file, io->datasync);

	revert_creds(old);
	return ret;
}

void kpool_file_cleanup(struct kpool_task *task)
{
	struct kpool_file_io *io = kpool_task_data(task, struct kpool_file_io);

	fput(io->file);
	put_cred(io->cred);
}
