/* Id map text, subordinate id lookup, and writing maps for a real child. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "lunshare.h"

int main(void)
{
	struct lsh_idmap_range r[4] = { { 0, 1000, 1 }, { 1, 100000, 65536 } };
	char buf[256];

	ok(lsh_idmap_format(r, 2, buf, sizeof buf) > 0 && strcmp(buf, "0 1000 1\n1 100000 65536\n") == 0,
	   "format two ranges");
	ok(lsh_idmap_format(r, 2, buf, 5) == -ENOSPC, "format reports a short buffer");
	struct lsh_idmap_range p[4];
	ok(lsh_idmap_parse("0 1000 1\n1 100000 65536\n", p, 4) == 2 && p[1].outside == 100000 &&
	   p[1].count == 65536, "parse two ranges");
	ok(lsh_idmap_parse("0 1000", p, 4) == -EINVAL, "parse rejects a short line");
	ok(lsh_idmap_parse("0 1000 0", p, 4) == -EINVAL, "parse rejects a zero count");
	ok(lsh_idmap_parse("0 1000 1 junk", p, 4) == -EINVAL, "parse rejects trailing words");
	ok(lsh_idmap_parse("1 2 3\n4 5 6\n", p, 1) == -EINVAL, "parse respects max");
	ok(lsh_idmap_parse("0 99999999999 1", p, 4) == -EINVAL, "parse rejects ids over 32 bits");

	char tmpl[] = "/tmp/lsh-subid-XXXXXX";
	int fd = mkstemp(tmpl);
	dprintf(fd, "alice:100000:65536\n1234:200000:1000\nbroken\n");
	close(fd);
	uint32_t start = 0, count = 0;
	ok(lsh_idmap_subid(tmpl, "alice", 1, &start, &count, NULL) == 1 && start == 100000 && count == 65536,
	   "subid by name");
	ok(lsh_idmap_subid(tmpl, "bob", 1234, &start, &count, NULL) == 1 && start == 200000,
	   "subid by uid");
	ok(lsh_idmap_subid(tmpl, "carol", 5, &start, &count, NULL) == 0, "no range for carol");
	unlink(tmpl);
	ok(lsh_idmap_subid("/nonexistent/subuid", "x", 1, &start, &count, NULL) == 0,
	   "a missing file has no ranges");

	/* A child in a new user namespace gets its map from us. */
	int sv[2], unshared[2];
	if (pipe(sv) < 0 || pipe(unshared) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(sv[1]);
		close(unshared[0]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(3);
		if (write(unshared[1], "u", 1) != 1)
			_exit(3);
		if (read(sv[0], &c, 1) != 1) /* wait for the parent to write the map */
			_exit(4);
		_exit(getuid() == 0 ? 0 : 5);
	}
	close(sv[0]);
	close(unshared[1]);
	char byte;
	ok(read(unshared[0], &byte, 1) == 1, "the child has its user namespace");
	close(unshared[0]);
	struct lsh_err *err = NULL;
	struct lsh_idmap_range self = { 0, getuid(), 1 };
	struct lsh_idmap_range selfg = { 0, getgid(), 1 };
	int a = lsh_idmap_setgroups(pid, 0, &err);
	int b = lsh_idmap_write(pid, LSH_IDMAP_UID, &self, 1, &err);
	int c = lsh_idmap_write(pid, LSH_IDMAP_GID, &selfg, 1, &err);
	ok(a == 0 && b == 0 && c == 0, "maps written for the child%s%s", err ? ": " : "", err ? err->msg : "");
	lsh_err_free(err);
	err = NULL;
	ok(lsh_idmap_write(pid, LSH_IDMAP_UID, &self, 1, &err) == -EPERM && err &&
	   strstr(err->msg, "uid_map"), "a second write fails and names the file");
	lsh_err_free(err);
	if (write(sv[1], "g", 1) != 1)
		return 1;
	int st;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child is root inside (status %d)", WEXITSTATUS(st));
	err = NULL;
	ok(lsh_idmap_write(pid, LSH_IDMAP_UID, r, 0, &err) == -EINVAL, "an empty map is refused");
	lsh_err_free(err);
	/* A writable bind's mapping: the owner as the sandbox's user, the rest of the
	 * sandbox's range as itself, with the owner and the user cut out (no overlap). */
	struct lsh_idmap_range w[4];
	size_t wn = lsh_idmap_owner_ranges(1000, 2000000000, 2000000000, 65536, w);
	ok(wn == 2 && w[0].inside == 1000 && w[0].outside == 2000000000 && w[0].count == 1 &&
	   w[1].inside == 2000000001 && w[1].outside == 2000000001 && w[1].count == 65535,
	   "owner to the user, the range but the user as itself (%zu)", wn);
	wn = lsh_idmap_owner_ranges(2000000005, 2000000000, 2000000000, 10, w);
	ok(wn == 3 && w[1].inside == 2000000001 && w[1].count == 4 && w[2].inside == 2000000006 &&
	   w[2].count == 4, "an owner inside the range is cut out of it (%zu)", wn);
	ok(lsh_idmap_owner_ranges(0, 2000000000, 0, 0, w) == 1, "no range: the owner alone");
	return done_testing();
}
