/* Push a key into the terminal's input queue with TIOCSTI (a space: harmless if it works). */
#include "probe.h"
#include <sys/ioctl.h>
#include <termios.h>
int main(void)
{
	int fd = -1;
	for (int i = 0; i <= 2 && fd < 0; i++)
		if (isatty(i)) fd = i;
	if (fd < 0) fd = open("/dev/tty", O_RDWR);
	if (fd < 0) {
		printf("skip: no terminal to try on\n");
		return 77;
	}
	char c = ' ';
	if (ioctl(fd, TIOCSTI, &c) < 0) contained("ioctl(TIOCSTI): %s", why());
	escaped("pushed a key into the terminal");
}
