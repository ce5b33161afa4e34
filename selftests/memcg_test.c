// SPDX-License-Identifier: GPL-2.0
/*
 * A pool's shared memory is charged to the memory cgroup of the process
 * that sets it up: memory.max bounds the arena like any other memory of
 * the process, the charge shows in memory.current, and the charged pages
 * map as before, the module and the program seeing the same bytes.
 *
 * Each test runs in a child that moves itself into a fresh cgroup with
 * memory.max of 16 MiB.  cgroup2 is mounted at a temporary directory if
 * /sys/fs/cgroup is not cgroup2 (as in the test guests), and the memory
 * controller is enabled in its root; both are undone afterwards.  Without
 * a memory controller the tests skip.
 */
#define _GNU_SOURCE		/* sched_getcpu(), sched_setaffinity() */
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif

#define MIB		(1ul << 20)
#define MEMORY_MAX	(16 * MIB)
#define BIG_ARENA	(64 * MIB)	/* four times memory.max */
#define ARENA		(4 * MIB)

/* In the child: report the first broken expectation and stop. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: in the cgroup: %s\n", __FILE__,	\
			__LINE__, #cond);				\
		_exit(1);						\
	}								\
} while (0)

/* 0, or -errno. */
static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? (int)n : n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* The first line of a cgroup file (at most @len - 1 bytes), or "". */
static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* Whether the space-separated list in @path holds @word. */
static int has_word(const char *path, const char *word)
{
	char buf[512], *tok, *save;

	read_line(path, buf, sizeof(buf));
	for (tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		if (!strcmp(tok, word))
			return 1;
	return 0;
}

FIXTURE(memcg) {
	char root[64];		/* the cgroup2 root */
	char cg[128];		/* the test's cgroup */
	int mounted;		/* root is our own mount */
	int enabled;		/* we enabled +memory in root */
	int created;		/* cg exists */
};

/* @buf (PATH_MAX bytes) = @dir/@file; cgroup paths here are short. */
static void cg_path(char *buf, const char *dir, const char *file)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", dir, file) >= PATH_MAX)
		abort();
}

/* Undo what cg_prepare() did, whatever part of it; again is a no-op. */
static void cg_cleanup(FIXTURE_DATA(memcg) *self)
{
	char path[PATH_MAX];
	int i;

	if (self->created) {
		/* A child left behind (a timed-out test) goes first. */
		for (i = 0; i < 100 && rmdir(self->cg) && errno == EBUSY; i++) {
			cg_path(path, self->cg, "cgroup.kill");
			write_str(path, "1");
			usleep(10000);
		}
		self->created = 0;
	}
	if (self->enabled) {
		cg_path(path, self->root, "cgroup.subtree_control");
		write_str(path, "-memory");
		self->enabled = 0;
	}
	if (self->mounted) {
		umount2(self->root, 0);
		rmdir(self->root);
		self->mounted = 0;
	}
}

/*
 * Find or mount cgroup2, enable the memory controller and make the test's
 * cgroup.  0; 1 and @why: skip; -1 and @why: fail.  Cleans up on failure
 * (the harness runs no teardown when the setup does not complete).
 */
static int cg_prepare(FIXTURE_DATA(memcg) *self, char *why, size_t len)
{
	char path[PATH_MAX], max[32];
	struct statfs sfs;
	int ret = 1;

	if (!statfs("/sys/fs/cgroup", &sfs) &&
	    sfs.f_type == CGROUP2_SUPER_MAGIC) {
		strcpy(self->root, "/sys/fs/cgroup");
	} else {
		strcpy(self->root, "/tmp/kpool-cgroup2-XXXXXX");
		if (!mkdtemp(self->root)) {
			snprintf(why, len, "mkdtemp: %s", strerror(errno));
			return -1;
		}
		if (mount("cgroup2", self->root, "cgroup2", 0, NULL)) {
			snprintf(why, len, "cannot mount cgroup2: %s",
				 strerror(errno));
			rmdir(self->root);
			return 1;
		}
		self->mounted = 1;
	}

	cg_path(path, self->root, "cgroup.controllers");
	if (!has_word(path, "memory")) {
		snprintf(why, len, "no memory controller in cgroup2 (disabled, or bound to cgroup v1)");
		goto fail;
	}
	cg_path(path, self->root, "cgroup.subtree_control");
	if (!has_word(path, "memory")) {
		int err = write_str(path, "+memory");

		if (err) {
			snprintf(why, len, "cannot enable the memory controller: %s",
				 strerror(-err));
			goto fail;
		}
		self->enabled = 1;
	}

	ret = -1;
	if (snprintf(self->cg, sizeof(self->cg), "%s/kpool-memcg-%d",
		     self->root, (int)getpid()) >= (int)sizeof(self->cg)) {
		snprintf(why, len, "cgroup path too long");
		goto fail;
	}
	if (mkdir(self->cg, 0755)) {
		snprintf(why, len, "mkdir %s: %s", self->cg, strerror(errno));
		goto fail;
	}
	self->created = 1;
	cg_path(path, self->cg, "memory.max");
	snprintf(max, sizeof(max), "%lu", MEMORY_MAX);
	if (write_str(path, max)) {
		snprintf(why, len, "cannot set memory.max");
		goto fail;
	}
	return 0;
fail:
	cg_cleanup(self);
	return ret;
}

FIXTURE_SETUP(memcg)
{
	char why[256] = "";
	int ret;

	self->mounted = self->enabled = self->created = 0;
	KP_REQUIRE_MODULE();
	ret = cg_prepare(self, why, sizeof(why));
	if (ret > 0)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(memcg)
{
	cg_cleanup(self);
}

/*
 * In the child: stay on the CPU it runs on, then move into @cg.  One CPU
 * keeps the cgroup's per-CPU charge cache (up to 64 pages charged ahead,
 * per CPU) to a single one, so memory.current moves predictably.
 */
static void join(const char *cg)
{
	char path[PATH_MAX], pid[16];
	cpu_set_t set;
	int cpu = sched_getcpu();

	CHECK(cpu >= 0);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	CHECK(sched_setaffinity(0, sizeof(set), &set) == 0);
	cg_path(path, cg, "cgroup.procs");
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	CHECK(write_str(path, pid) == 0);
}

/* The cgroup's memory.current, in bytes. */
static unsigned long long memory_current(const char *cg)
{
	char path[PATH_MAX], buf[64];

	cg_path(path, cg, "memory.current");
	read_line(path, buf, sizeof(buf));
	CHECK(buf[0] >= '0' && buf[0] <= '9');
	return strtoull(buf, NULL, 10);
}

/*
 * Run @fn(@cg) in a child; its exit status (0: every CHECK held), or -1
 * if it could not run or was killed (by the OOM killer, say).
 */
static int in_child(const char *cg, void (*fn)(const char *cg))
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		fn(cg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "the child in the cgroup was killed by signal %d\n",
			WTERMSIG(status));
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void big_arena_refused(const char *cg)
{
	struct kpool_ring_params p = { .arena_size = BIG_ARENA };
	struct kpool_ring r;

	/* Outside the cgroup, the same pool is fine... */
	CHECK(kpool_ring_open(&r, 8, &p) == 0);
	kpool_ring_close(&r);
	/* ...inside, a clean ENOMEM: no OOM kill, the child lives on. */
	join(cg);
	CHECK(kpool_ring_open(&r, 8, &p) == -ENOMEM);
}

TEST_F(memcg, arena_beyond_memory_max_is_refused)
{
	if (kp_param("max_arena_mb") < BIG_ARENA / MIB)
		SKIP(return, "max_arena_mb is below %lu", BIG_ARENA / MIB);
	ASSERT_EQ(0, in_child(self->cg, big_arena_refused));
}

static void arena_charged(const char *cg)
{
	struct kpool_ring_params p = { .arena_size = ARENA };
	unsigned long entries = kp_param("max_entries");
	unsigned long long before, after;
	struct kpool_ring r;

	/*
	 * A big SQ adds ring pages (about 100 at 4096 entries) beyond the
	 * arena: more than the charge cache can have taken ahead of SETUP,
	 * so the growth reaches the arena's size only if the arena counts.
	 */
	if (entries > 4096)
		entries = 4096;
	CHECK(entries >= 8);
	join(cg);
	before = memory_current(cg);
	CHECK(kpool_ring_open(&r, entries, &p) == 0);
	after = memory_current(cg);
	if (after < before + ARENA)
		fprintf(stderr, "memory.current %llu -> %llu\n", before, after);
	CHECK(after >= before + ARENA);
	kpool_ring_close(&r);
}

TEST_F(memcg, arena_is_charged)
{
	ASSERT_EQ(0, in_child(self->cg, arena_charged));
}

static void charged_arena_maps(const char *cg)
{
	struct kpool_ring_params p = { .arena_size = ARENA };
	unsigned char *arena;
	struct kpool_ring r;
	struct kpool_cqe *cqe;
	uint32_t x = 0x12345678, want;
	size_t i;

	join(cg);
	CHECK(kpool_ring_open(&r, 8, &p) == 0);
	CHECK(r.arena && r.arena_size == ARENA);
	arena = r.arena;
	/* Different bytes on every page: a page out of place changes the CRC. */
	for (i = 0; i < ARENA; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		arena[i] = x;
	}
	want = kp_crc32c_ref(0, arena, ARENA);

	/* What the program wrote, the module reads... */
	kpool_prep_crc32c(kpool_get_sqe(&r), 0, ARENA, 0);
	CHECK(kpool_submit_and_wait(&r, 1) == 1);
	CHECK(kpool_peek_cqe(&r, &cqe) == 0);
	CHECK(cqe->res == 0 && cqe->aux == want);
	kpool_cqe_seen(&r, cqe);

	/* ...and what the module writes, the program reads. */
	kpool_prep_copy(kpool_get_sqe(&r), ARENA - 4096, 0, 4096);
	CHECK(kpool_submit_and_wait(&r, 1) == 1);
	CHECK(kpool_peek_cqe(&r, &cqe) == 0 && cqe->res == 4096);
	kpool_cqe_seen(&r, cqe);
	CHECK(!memcmp(arena + ARENA - 4096, arena, 4096));
	kpool_ring_close(&r);
}

TEST_F(memcg, mmap_of_accounted_arena_works)
{
	ASSERT_EQ(0, in_child(self->cg, charged_arena_maps));
}

TEST_HARNESS_MAIN
