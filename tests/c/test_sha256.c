/* SHA-256 against the FIPS 180-4 examples and the NIST CAVP byte-oriented vectors,
 * including the lengths where the padding needs a second block (55, 56, 63, 64 bytes). */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "lunshare.h"

static void check(const char *what, const void *data, size_t len, const char *want)
{
	char hex[2 * LSH_SHA256_SIZE + 1];
	lsh_sha256_hex(data, len, hex);
	ok(strcmp(hex, want) == 0, "%s: %s", what, hex);
}

int main(void)
{
	check("empty", "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check("abc", "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check("448 bits (two blocks of padding)", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check("896 bits", "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	      112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	check("one byte 0xbd", "\xbd", 1, "68325720aabd7c82f30f554b313d0570c95accbb7dc4b5aae11204c08ffe732b");
	check("four bytes c98c8e55", "\xc9\x8c\x8e\x55", 4,
	      "7abc22c0ae5af26ce93dbb94433a0e0b2e119d014f8e7f65bd56c61ccccd9504");

	char *buf = malloc(1000000);
	memset(buf, 'a', 1000000);
	check("one million 'a'", buf, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* NIST SHA256ShortMsg-style lengths at the block edges: 55 bytes fit the length in the
	 * same block, 56 do not; 64 is a whole block plus a padding block. */
	memset(buf, 0, 64);
	check("55 zero bytes", buf, 55, "02779466cdec163811d078815c633f21901413081449002f24aa3e80f0b88ef7");
	check("56 zero bytes", buf, 56, "d4817aa5497628e7c77e6b606107042bbba3130888c5f47a375e6179be789fbb");
	check("64 zero bytes", buf, 64, "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b");
	/* 1000 bytes: more than one full block and a tail. */
	memset(buf, 'A', 1000);
	check("1000 'A'", buf, 1000, "c2e686823489ced2017f6059b8b239318b6364f6dcd835d0a519105a1eadd6e4");
	free(buf);
	return done_testing();
}
