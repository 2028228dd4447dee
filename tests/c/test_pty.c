/* Pseudo-terminals: a new pty and its peer, the peer as a session's controlling terminal,
 * raw mode and its restore, the window size copied. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "tap.h"
#include "lunshare.h"

int main(void)
{
	struct lsh_err *err = NULL;
	int m = -1, s = -1;

	if (lsh_pty_open(&m, &s, &err) < 0) {
		skip("no /dev/ptmx here: %s", err ? err->msg : "?");
		lsh_err_free(err);
		return done_testing();
	}
	ok(m >= 0 && s >= 0 && isatty(s), "a pty and its peer");
	ok(write(s, "x", 1) == 1, "the peer is writable");
	char c = 0;
	ok(read(m, &c, 1) == 1 && c == 'x', "what the peer writes, the master reads");

	struct termios before, raw, after;
	ok(tcgetattr(s, &before) == 0 && lsh_tty_raw(s, &raw, &err) == 0, "raw mode");
	struct termios now;
	tcgetattr(s, &now);
	ok(!(now.c_lflag & (ICANON | ECHO | ISIG)) && memcmp(&raw, &before, sizeof raw) == 0,
	   "raw: no line editing, echo or signals; the old modes saved");
	lsh_tty_restore(s, &raw);
	ok(tcgetattr(s, &after) == 0 && after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag,
	   "restored");

	struct winsize ws = { .ws_row = 33, .ws_col = 77 }, got;
	int m2, s2;
	ok(ioctl(s, TIOCSWINSZ, &ws) == 0 && lsh_pty_open(&m2, &s2, &err) == 0, "a second pty");
	lsh_pty_copy_winsize(s, m2);
	ok(ioctl(s2, TIOCGWINSZ, &got) == 0 && got.ws_row == 33 && got.ws_col == 77, "the window size copied");

	/* In a new session, the peer becomes the controlling terminal and fds 0-2. */
	pid_t pid = fork();
	if (pid == 0) {
		close(m);
		if (setsid() < 0 || lsh_pty_take(s2, s, NULL) < 0)
			_exit(1);
		struct winsize in;
		if (!isatty(0) || !isatty(1) || !isatty(2) || tcgetsid(0) != getpid())
			_exit(2);
		if (ioctl(0, TIOCGWINSZ, &in) < 0 || in.ws_row != 33)
			_exit(3);
		_exit(0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the peer is the session's terminal, fds 0-2 (%d)",
	   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	close(m2);
	close(s2);
	close(m);
	close(s);
	return done_testing();
}
