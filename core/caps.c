/* Capabilities (libcap), securebits, no_new_privs and the session keyring: the process
 * attributes the child sets on itself just before exec. */
#include "internal.h"

#include <ctype.h>
#include <linux/keyctl.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <grp.h>
#include <sys/syscall.h>

int lsh_caps_from_name(const char *name)
{
	char buf[64];
	cap_value_t v;

	if (name == NULL || strlen(name) + 5 > sizeof buf)
		return -EINVAL;
	size_t i = 0;
	if (strncasecmp(name, "cap_", 4) != 0) {
		memcpy(buf, "cap_", 4);
		i = 4;
	}
	for (const char *p = name; *p; p++)
		buf[i++] = (char)tolower((unsigned char)*p);
	buf[i] = '\0';
	if (cap_from_name(buf, &v) < 0)
		return -EINVAL;
	return (int)v;
}

int lsh_caps_name(int cap, char *buf, size_t size)
{
	if (cap < 0)
		return -EINVAL;
	char *name = cap_to_name((cap_value_t)cap);
	if (name == NULL)
		return -ENOMEM;
	/* For a number it has no name for, libcap answers the number itself. */
	int known = strncmp(name, "cap_", 4) == 0;
	int r = !known ? -EINVAL : snprintf(buf, size, "%s", name + 4) >= (int)size ? -ERANGE : 0;
	cap_free(name);
	return r;
}

/* The locked securebits: uid 0 gets no capabilities from exec (NOROOT), a setuid() away
 * from 0 does not clear or grant them (NO_SETUID_FIXUP), and nobody can unlock either
 * again, so root inside the sandbox has exactly the kept set after every exec. KEEP_CAPS
 * is left unlocked: with NO_SETUID_FIXUP it changes nothing, and programs such as
 * iputils' ping fail outright when prctl(PR_SET_KEEPCAPS) is refused. */
static const unsigned locked_bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
				    SECBIT_NO_SETUID_FIXUP_LOCKED;

unsigned lsh_caps_locked_securebits(void)
{
	return locked_bits;
}

int lsh_caps_restrict(const char *const *keep, size_t n, int lock_securebits, struct lsh_err **err)
{
	cap_value_t kept[64];
	uint64_t mask = 0;

	if (n > LSH_ARRAY_SIZE(kept))
		return lsh_err_msg(err, EINVAL, "capabilities: too many");
	for (size_t i = 0; i < n; i++) {
		int v = lsh_caps_from_name(keep[i]);
		if (v < 0 || v >= 64)
			return lsh_err_msg(err, EINVAL, "capabilities: unknown capability \"%s\"", keep[i]);
		kept[i] = v;
		mask |= 1ULL << v;
	}
	/* The bounding set goes first: it is what exec can ever give back, and dropping from
	 * it needs CAP_SETPCAP, which goes away with the permitted set below. */
	int last = (int)cap_max_bits();
	for (int c = 0; c < last && c < 64; c++) {
		if (mask & (1ULL << c))
			continue;
		/* One call per capability: asking first whether the kernel knows it
		 * (CAP_IS_SUPPORTED) would double the calls; one it does not know is EINVAL. */
		if (cap_drop_bound((cap_value_t)c) < 0 && errno != EINVAL)
			return lsh_err_set(err, errno, "drop %s from the bounding set (needs CAP_SETPCAP)",
					   cap_to_name((cap_value_t)c));
	}
	if (lock_securebits && cap_set_secbits(locked_bits) < 0)
		return lsh_err_set(err, errno, "lock the securebits");
	cap_t caps = cap_init();
	if (caps == NULL)
		return lsh_err_set(err, errno, "cap_init");
	int r = 0;
	if (n > 0 && (cap_set_flag(caps, CAP_PERMITTED, (int)n, kept, CAP_SET) < 0 ||
		      cap_set_flag(caps, CAP_EFFECTIVE, (int)n, kept, CAP_SET) < 0 ||
		      cap_set_flag(caps, CAP_INHERITABLE, (int)n, kept, CAP_SET) < 0))
		r = lsh_err_set(err, errno, "cap_set_flag");
	if (r == 0 && cap_set_proc(caps) < 0)
		r = lsh_err_set(err, errno, "set the permitted, effective and inheritable sets");
	cap_free(caps);
	if (r < 0)
		return r;
	/* Ambient capabilities survive execve of an unprivileged program; for uid 0 under
	 * SECBIT_NOROOT they are the only way the kept set survives. */
	/* One prctl: libcap's cap_reset_ambient asks about every capability first (41
	 * calls more). EINVAL: a kernel without ambient capabilities (before 4.3). */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return lsh_err_set(err, errno, "clear the ambient set");
	for (size_t i = 0; i < n; i++)
		if (cap_set_ambient(kept[i], CAP_SET) < 0)
			return lsh_err_set(err, errno, "raise %s as ambient", keep[i]);
	return 0;
}

int lsh_caps_no_new_privs(struct lsh_err **err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return lsh_err_set(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	return 0;
}

int lsh_caps_set_ids(uid_t uid, gid_t gid, struct lsh_err **err)
{
	/* A user namespace whose setgroups is "deny" refuses even the empty list: that is
	 * fine when the list is empty already (a join into a sandbox's nested namespace,
	 * after op_join dropped the caller's). */
	if (setgroups(0, NULL) < 0 && !(errno == EPERM && getgroups(0, NULL) == 0))
		return lsh_err_set(err, errno, "setgroups(0, NULL)");
	if (setresgid(gid, gid, gid) < 0)
		return lsh_err_set(err, errno, "setresgid(%u)", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		return lsh_err_set(err, errno, "setresuid(%u)", (unsigned)uid);
	/* Changing ids made the process non-dumpable (suid_dumpable), which hands its /proc
	 * files to host root and would stop it writing its own timens_offsets. Nothing in it
	 * is secret, no other process shares its user namespace yet, and exec resets the flag
	 * anyway; pid 1 turns it off again for good before the command starts. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return lsh_err_set(err, errno, "prctl(PR_SET_DUMPABLE)");
	return 0;
}

int lsh_keyring_new_session(struct lsh_err **err)
{
	/* A NULL name makes an anonymous keyring: nothing else can join it by name. */
	long r = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL, 0, 0, 0);
	if (r < 0)
		return lsh_err_set(err, errno, "keyctl(KEYCTL_JOIN_SESSION_KEYRING)");
	return 0;
}
