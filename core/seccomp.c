/* seccomp filters through libseccomp, built from rule strings the planner wrote.
 *
 * A rule is "ACTION SYSCALL [COND...]". The filter's default is to allow: lunshare's
 * default filter, like Flatpak's and bubblewrap users', is a list of what is refused. */
#include "internal.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct rule {
	uint32_t action;
	int nr;
	unsigned ncmp;
	struct scmp_arg_cmp cmp[6];
};

static int parse_action(const char *s, uint32_t *action)
{
	if (strcmp(s, "allow") == 0)
		*action = SCMP_ACT_ALLOW;
	else if (strcmp(s, "kill") == 0)
		*action = SCMP_ACT_KILL_PROCESS;
	else if (strcmp(s, "log") == 0)
		*action = SCMP_ACT_LOG;
	else if (strncmp(s, "errno:", 6) == 0) {
		char *end;
		long e = strtol(s + 6, &end, 10);
		if (*end || e <= 0 || e > 4095)
			return -EINVAL;
		*action = SCMP_ACT_ERRNO((uint32_t)e);
	} else
		return -EINVAL;
	return 0;
}

/* "a1&0xffffffff==0x5412", "a0!=0", "a2>=4" */
static int parse_cmp(const char *s, struct scmp_arg_cmp *c)
{
	char *end;
	if (s[0] != 'a' || s[1] < '0' || s[1] > '5')
		return -EINVAL;
	c->arg = (unsigned)(s[1] - '0');
	s += 2;
	uint64_t mask = 0;
	int masked = 0;
	if (*s == '&') {
		mask = strtoull(s + 1, &end, 0);
		if (end == s + 1)
			return -EINVAL;
		s = end;
		masked = 1;
	}
	static const struct {
		const char *text;
		enum scmp_compare op;
	} ops[] = { { "==", SCMP_CMP_EQ }, { "!=", SCMP_CMP_NE }, { "<=", SCMP_CMP_LE },
		    { ">=", SCMP_CMP_GE }, { "<", SCMP_CMP_LT }, { ">", SCMP_CMP_GT } };
	size_t i;
	for (i = 0; i < LSH_ARRAY_SIZE(ops); i++)
		if (strncmp(s, ops[i].text, strlen(ops[i].text)) == 0)
			break;
	if (i == LSH_ARRAY_SIZE(ops))
		return -EINVAL;
	s += strlen(ops[i].text);
	uint64_t v = strtoull(s, &end, 0);
	if (end == s || *end)
		return -EINVAL;
	if (masked) {
		if (ops[i].op != SCMP_CMP_EQ)
			return -EINVAL;
		c->op = SCMP_CMP_MASKED_EQ;
		c->datum_a = mask;
		c->datum_b = v;
	} else {
		c->op = ops[i].op;
		c->datum_a = v;
		c->datum_b = 0;
	}
	return 0;
}

static int parse_rule(const char *text, struct rule *r, struct lsh_err **err)
{
	char buf[512];
	char *save = NULL;

	if (strlen(text) >= sizeof buf)
		return lsh_err_msg(err, EINVAL, "seccomp rule too long: \"%.40s…\"", text);
	strcpy(buf, text);
	memset(r, 0, sizeof *r);
	char *act = strtok_r(buf, " \t", &save);
	char *name = strtok_r(NULL, " \t", &save);
	if (act == NULL || name == NULL || parse_action(act, &r->action) < 0)
		return lsh_err_msg(err, EINVAL, "bad seccomp rule \"%s\" (expected ACTION SYSCALL [aN==V…])", text);
	r->nr = seccomp_syscall_resolve_name(name);
	if (r->nr == __NR_SCMP_ERROR)
		return lsh_err_msg(err, EINVAL, "seccomp rule \"%s\": unknown system call \"%s\"", text, name);
	for (char *c; (c = strtok_r(NULL, " \t", &save)) != NULL;) {
		if (r->ncmp == LSH_ARRAY_SIZE(r->cmp) || parse_cmp(c, &r->cmp[r->ncmp]) < 0)
			return lsh_err_msg(err, EINVAL, "seccomp rule \"%s\": bad condition \"%s\"", text, c);
		r->ncmp++;
	}
	return 0;
}

static void release(scmp_filter_ctx *f)
{
	if (*f)
		seccomp_release(*f);
}

/* The compat architectures a native process can still enter the kernel through: a
 * 64-bit x86 process can make i386 (int 0x80) and x32 system calls, so a filter that
 * only knew x86_64 numbers would let those through. */
static const uint32_t compat_arches[] = {
#if defined(__x86_64__)
	SCMP_ARCH_X86, SCMP_ARCH_X32,
#elif defined(__aarch64__)
	SCMP_ARCH_ARM,
#endif
	0,
};

static int build(const char *const *rules, size_t n, scmp_filter_ctx *out, struct lsh_err **err)
{
	__attribute__((cleanup(release))) scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (f == NULL)
		return lsh_err_msg(err, ENOMEM, "seccomp_init");
	/* no_new_privs is a plan step of its own: the profile decides, not libseccomp. */
	if ((r = seccomp_attr_set(f, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		return lsh_err_set(err, -r, "seccomp: no_new_privs attribute");
	/* A binary tree of syscall numbers rather than a linear list: the same decisions in
	 * fewer instructions per system call (libseccomp 2.5; an older one keeps the list). */
	(void)seccomp_attr_set(f, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; compat_arches[i]; i++)
		if ((r = seccomp_arch_add(f, compat_arches[i])) < 0 && r != -EEXIST)
			return lsh_err_set(err, -r, "seccomp: add architecture %u", compat_arches[i]);
	for (size_t i = 0; i < n; i++) {
		struct rule rule;
		if ((r = parse_rule(rules[i], &rule, err)) < 0)
			return r;
		if (rule.action == SCMP_ACT_ALLOW)
			continue; /* what the default does already */
		r = seccomp_rule_add_array(f, rule.action, rule.nr, rule.ncmp, rule.cmp);
		if (r < 0)
			return lsh_err_set(err, -r, "seccomp rule \"%s\"", rules[i]);
	}
	*out = steal_pointer(&f);
	return 0;
}

int lsh_seccomp_check(const char *const *rules, size_t n, struct lsh_err **err)
{
	__attribute__((cleanup(release))) scmp_filter_ctx f = NULL;
	return build(rules, n, &f, err);
}

int lsh_seccomp_load(const char *const *rules, size_t n, struct lsh_err **err)
{
	__attribute__((cleanup(release))) scmp_filter_ctx f = NULL;
	int r = build(rules, n, &f, err);
	if (r < 0)
		return r;
	/* Without no_new_privs the kernel wants CAP_SYS_ADMIN in the current namespace. */
	if ((r = seccomp_load(f)) < 0)
		return lsh_err_set(err, -r, "load the seccomp filter");
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

int lsh_seccomp_compile(const char *const *rules, size_t n, char **hex, struct lsh_err **err)
{
	__attribute__((cleanup(release))) scmp_filter_ctx f = NULL;
	int r = build(rules, n, &f, err);
	if (r < 0)
		return r;
	/* libseccomp 2.5 exports to a file descriptor only: a memfd, read back. */
	__attribute__((cleanup(close_fd))) int fd = memfd_create("lsh-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "seccomp: memfd_create");
	if ((r = seccomp_export_bpf(f, fd)) < 0)
		return lsh_err_set(err, -r, "seccomp: export the filter");
	off_t len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % (off_t)sizeof(struct sock_filter) != 0 ||
	    len / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
		return lsh_err_msg(err, EINVAL, "seccomp: the exported filter has %lld bytes", (long long)len);
	unsigned char *bytes = malloc((size_t)len);
	char *out = malloc(2 * (size_t)len + 1);
	if (bytes == NULL || out == NULL) {
		free(bytes);
		free(out);
		return lsh_err_set(err, ENOMEM, "seccomp: export the filter");
	}
	if (pread(fd, bytes, (size_t)len, 0) != len) {
		free(bytes);
		free(out);
		return lsh_err_set(err, EIO, "seccomp: read the exported filter");
	}
	static const char digits[] = "0123456789abcdef";
	for (off_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * len] = '\0';
	free(bytes);
	*hex = out;
	return 0;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The instructions hex holds, in prog (filter allocated), or -EINVAL. */
static int decode(const char *hex, struct sock_fprog *prog)
{
	size_t n = strlen(hex), insn = 2 * sizeof(struct sock_filter);
	if (n == 0 || n % insn != 0 || n / insn > BPF_MAXINSNS)
		return -EINVAL;
	unsigned char *b = malloc(n / 2);
	if (b == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(b);
			return -EINVAL;
		}
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	prog->len = (unsigned short)(n / insn);
	prog->filter = (struct sock_filter *)(void *)b;
	return 0;
}

int lsh_seccomp_bpf_check(const char *hex, struct lsh_err **err)
{
	struct sock_fprog prog;
	int r = decode(hex, &prog);
	if (r < 0)
		return lsh_err_msg(err, -r, "seccomp: bpf is not a compiled filter (hex of 1 to %d instructions)",
				   BPF_MAXINSNS);
	free(prog.filter);
	return 0;
}

int lsh_seccomp_attach(const char *hex, struct lsh_err **err)
{
	struct sock_fprog prog;
	int r = decode(hex, &prog);
	if (r < 0)
		return lsh_err_msg(err, -r, "seccomp: bpf is not a compiled filter");
	/* What seccomp_load does for a filter without flags (no TSYNC, no log, no
	 * no_new_privs attribute): the kernel checks the program as it would libseccomp's. */
	r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
	int e = errno;
	free(prog.filter);
	if (r < 0)
		return lsh_err_set(err, e, "load the seccomp filter");
	return 0;
}

int lsh_seccomp_syscall(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	return nr == __NR_SCMP_ERROR || nr < 0 ? -ENOENT : nr;
}

char *lsh_seccomp_syscall_name(int nr)
{
	return seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
}
