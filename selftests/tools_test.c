// SPDX-License-Identifier: GPL-2.0
/*
 * The example tools, as a user runs them: kpool-sum must print what
 * sha256sum prints, kpool-cp must reproduce its input, and both must fail
 * the way coreutils users expect; the pool-API examples must print the
 * right CRCs (kpool-crc) and finish every task (kpool-epoll), and the
 * user-function demo must pass its own checks (kpool-workers), and the
 * pool to watch (kpool-busy) must run.  The tools are looked up next to this
 * binary (build/examples/), else on PATH.
 */
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

static void tool_path(const char *name, char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = 0;
		snprintf(out, len, "%s/../examples/%s", dirname(self), name);
		if (!access(out, X_OK))
			return;
	}
	snprintf(out, len, "%s", name);
}

/* Run a shell command; its stdout (one line) into @out; its exit status. */
static int run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	int status;

	out[0] = 0;
	if (!p)
		return -1;
	if (!fgets(out, len, p))
		out[0] = 0;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void make_file(const char *path, size_t size, unsigned int seed)
{
	FILE *f = fopen(path, "w");
	uint32_t x = seed * 2654435761u + 1;

	while (size--) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		fputc(x & 0xff, f);
	}
	fclose(f);
}

FIXTURE(tool) {
	char dir[64];
	char in[96];
	char out[96];
	char sum[PATH_MAX];
	char cp[PATH_MAX];
};

FIXTURE_VARIANT(tool) {
	size_t size;
};

FIXTURE_VARIANT_ADD(tool, empty) { .size = 0 };
FIXTURE_VARIANT_ADD(tool, one_byte) { .size = 1 };
FIXTURE_VARIANT_ADD(tool, one_page) { .size = 4096 };
FIXTURE_VARIANT_ADD(tool, one_mib_and_one) { .size = (1 << 20) + 1 };
FIXTURE_VARIANT_ADD(tool, sixty_four_mib) { .size = 64 << 20 };

FIXTURE_SETUP(tool)
{
	KP_REQUIRE_MODULE();
	snprintf(self->dir, sizeof(self->dir), "/tmp/kpool-tools-%d", getpid());
	ASSERT_EQ(0, mkdir(self->dir, 0700));
	snprintf(self->in, sizeof(self->in), "%s/input", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/output", self->dir);
	tool_path("kpool-sum", self->sum, sizeof(self->sum));
	tool_path("kpool-cp", self->cp, sizeof(self->cp));
	make_file(self->in, variant->size, variant->size + 1);
}

FIXTURE_TEARDOWN(tool)
{
	unlink(self->in);
	unlink(self->out);
	rmdir(self->dir);
}

TEST_F_TIMEOUT(tool, kpool_sum_prints_what_sha256sum_prints, 120)
{
	char cmd[PATH_MAX + 128], ours[256], theirs[256];

	snprintf(cmd, sizeof(cmd), "%s %s", self->sum, self->in);
	ASSERT_EQ(0, run(cmd, ours, sizeof(ours)));
	snprintf(cmd, sizeof(cmd), "sha256sum %s", self->in);
	ASSERT_EQ(0, run(cmd, theirs, sizeof(theirs)));
	ASSERT_STREQ(theirs, ours);
}

TEST_F_TIMEOUT(tool, kpool_cp_copies_every_byte, 120)
{
	char cmd[2 * PATH_MAX], line[256];

	snprintf(cmd, sizeof(cmd), "%s %s %s", self->cp, self->in, self->out);
	ASSERT_EQ(0, run(cmd, line, sizeof(line)));
	snprintf(cmd, sizeof(cmd), "cmp %s %s", self->in, self->out);
	ASSERT_EQ(0, run(cmd, line, sizeof(line)));
}

/* Errors, as coreutils users expect them: a message, exit status 1. */
TEST(kpool_sum_reports_a_missing_file)
{
	char sum[PATH_MAX], cmd[PATH_MAX + 64], line[256];

	KP_REQUIRE_MODULE();
	tool_path("kpool-sum", sum, sizeof(sum));
	snprintf(cmd, sizeof(cmd), "%s /nonexistent/x 2>&1", sum);
	ASSERT_EQ(1, run(cmd, line, sizeof(line)));
	ASSERT_STREQ("kpool-sum: /nonexistent/x: No such file or directory\n", line);
}

TEST(kpool_sum_reports_a_directory)
{
	char sum[PATH_MAX], cmd[PATH_MAX + 64], line[256];

	KP_REQUIRE_MODULE();
	tool_path("kpool-sum", sum, sizeof(sum));
	snprintf(cmd, sizeof(cmd), "%s /tmp 2>&1", sum);
	ASSERT_EQ(1, run(cmd, line, sizeof(line)));
	ASSERT_STREQ("kpool-sum: /tmp: Is a directory\n", line);
}

TEST(kpool_sum_refuses_what_kpool_cannot_read)
{
	char sum[PATH_MAX], cmd[PATH_MAX + 64], line[256];

	KP_REQUIRE_MODULE();
	tool_path("kpool-sum", sum, sizeof(sum));
	snprintf(cmd, sizeof(cmd), "%s /dev/null 2>&1", sum);
	ASSERT_EQ(1, run(cmd, line, sizeof(line)));
	ASSERT_STREQ("kpool-sum: /dev/null: not a regular file or block device\n",
		     line);
}

TEST(kpool_sum_goes_on_after_a_bad_file)
{
	char sum[PATH_MAX], cmd[2 * PATH_MAX], ours[256], theirs[256];
	char path[64];

	KP_REQUIRE_MODULE();
	tool_path("kpool-sum", sum, sizeof(sum));
	snprintf(path, sizeof(path), "/tmp/kpool-good-%d", getpid());
	make_file(path, 5000, 3);
	snprintf(cmd, sizeof(cmd), "%s /nonexistent %s 2>/dev/null", sum, path);
	EXPECT_EQ(1, run(cmd, ours, sizeof(ours)));
	snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
	EXPECT_EQ(0, run(cmd, theirs, sizeof(theirs)));
	unlink(path);
	ASSERT_STREQ(theirs, ours);
}

TEST(kpool_cp_reports_a_missing_source)
{
	char cp[PATH_MAX], cmd[PATH_MAX + 64], line[256];

	KP_REQUIRE_MODULE();
	tool_path("kpool-cp", cp, sizeof(cp));
	snprintf(cmd, sizeof(cmd), "%s /nonexistent/x /tmp/y 2>&1", cp);
	ASSERT_EQ(1, run(cmd, line, sizeof(line)));
	ASSERT_STREQ("kpool-cp: cannot stat '/nonexistent/x': No such file or directory\n",
		     line);
}

/* kpool-crc prints each 64 KiB block's CRC32C, then a summary line. */
TEST(kpool_crc_prints_each_blocks_crc32c)
{
	char crc[PATH_MAX], cmd[PATH_MAX + 128], path[64], line[128], want[128];
	size_t size = 3 * 65536 + 100, off;
	unsigned char *data = malloc(size);
	int bad = 0, lines = 0;
	FILE *f, *p;

	KP_REQUIRE_MODULE();
	tool_path("kpool-crc", crc, sizeof(crc));
	snprintf(path, sizeof(path), "/tmp/kpool-crc-%d", getpid());
	make_file(path, size, 9);
	f = fopen(path, "r");
	ASSERT_EQ(size, fread(data, 1, size, f));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s %s | grep ^block | sort", crc, path);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	for (off = 0; off < size; off += 65536, lines++) {
		size_t len = size - off < 65536 ? size - off : 65536;

		snprintf(want, sizeof(want), "block %2zu: crc32c %08x\n",
			 off / 65536, kp_crc32c_ref(0, data + off, len));
		if (!fgets(line, sizeof(line), p) || strcmp(line, want))
			bad++;
	}
	pclose(p);
	unlink(path);
	free(data);
	EXPECT_EQ(0, bad);
}

TEST(kpool_epoll_finishes_every_task)
{
	char tool[PATH_MAX], cmd[PATH_MAX + 64], line[256];

	KP_REQUIRE_MODULE();
	tool_path("kpool-epoll", tool, sizeof(tool));
	snprintf(cmd, sizeof(cmd), "%s 300 | tail -n 1", tool);
	ASSERT_EQ(0, run(cmd, line, sizeof(line)));
	EXPECT_EQ(0, strncmp(line, "all 300 done, 0 failed", 22));
}

/* The demo of user functions checks what it shows; it must pass them. */
TEST(kpool_workers_passes_its_own_checks)
{
	char tool[PATH_MAX], cmd[PATH_MAX + 64], line[256];

	KP_REQUIRE_MODULE();
	tool_path("kpool-workers", tool, sizeof(tool));
	snprintf(cmd, sizeof(cmd), "%s | tail -n 1", tool);
	ASSERT_EQ(0, run(cmd, line, sizeof(line)));
	if (strstr(line, "no KPOOL_FEAT_CALL"))
		SKIP(return, "the module has no user functions");
	EXPECT_EQ(0, strncmp(line, "ok: every task ran once", 23)) {
		TH_LOG("last line: %s", line);
	}
}

/* The pool to watch (docs/observability.md) runs and reports its numbers. */
TEST(kpool_busy_keeps_a_pool_busy_and_reports)
{
	char tool[PATH_MAX], cmd[PATH_MAX + 64], line[256];
	unsigned long long submitted = 0, completed = 0, stuck = 0;

	KP_REQUIRE_MODULE();
	tool_path("kpool-busy", tool, sizeof(tool));
	snprintf(cmd, sizeof(cmd), "%s --seconds 1 | tail -n 1", tool);
	ASSERT_EQ(0, run(cmd, line, sizeof(line)));
	TH_LOG("%s", line);
	EXPECT_TRUE(sscanf(line, "submitted %llu, completed %llu, stuck %llu",
			   &submitted, &completed, &stuck) == 3 &&
		    submitted > 50 && completed < submitted);
}

TEST_HARNESS_MAIN
