/* Pseudo-terminals: the sandbox's own pty (opened inside it, from its devpts), the
 * caller's terminal in raw mode while the supervisor proxies, and the window size. */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int lsh_pty_open(int *master, int *slave, struct lsh_err **err)
{
	*master = *slave = -1;
	/* /dev/ptmx of the caller's mount view: in a sandbox with dev "/dev", the link to
	 * its own devpts instance (newinstance), so the pty is invisible to the host's. */
	_cleanup_close_ int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return lsh_err_set(err, errno, "open /dev/ptmx");
	int unlock = 0;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
		return lsh_err_set(err, errno, "unlock the pty");
	/* The peer by the master's fd, not by a /dev/pts path another process could race. */
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return lsh_err_set(err, errno, "open the pty's peer");
	*master = take_fd(&m);
	*slave = s;
	return 0;
}

int lsh_pty_take(int slave, int like, struct lsh_err **err)
{
	struct termios t;
	struct winsize ws;
	/* The caller's line settings (erase, kill, intr characters…) and size, so the
	 * sandbox's terminal behaves as the one it stands in for. */
	if (like >= 0 && tcgetattr(like, &t) == 0)
		tcsetattr(slave, TCSANOW, &t);
	if (like >= 0 && ioctl(like, TIOCGWINSZ, &ws) == 0)
		ioctl(slave, TIOCSWINSZ, &ws);
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return lsh_err_set(err, errno, "make the pty the controlling terminal");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return lsh_err_set(err, errno, "dup2 the pty to fd %d", fd);
	if (slave > 2)
		close(slave);
	return 0;
}

int lsh_tty_raw(int fd, struct termios *saved, struct lsh_err **err)
{
	struct termios raw;
	if (tcgetattr(fd, saved) < 0)
		return lsh_err_set(err, errno, "tcgetattr");
	raw = *saved;
	cfmakeraw(&raw);
	/* Output processing stays the sandbox pty's to do; keep ours raw too. */
	if (tcsetattr(fd, TCSANOW, &raw) < 0)
		return lsh_err_set(err, errno, "tcsetattr");
	return 0;
}

void lsh_tty_restore(int fd, const struct termios *saved)
{
	/* TCSADRAIN: what the sandbox wrote last is shown with the modes it was meant for. */
	while (tcsetattr(fd, TCSADRAIN, saved) < 0 && errno == EINTR)
		;
}

void lsh_pty_copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}
