/* libFuzzer target: an allowed-signers file, an armored SSH signature and a message, as a signed commit brings them. */
#include "source/sshsig.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input: allowed signers, a NUL, the armored signature, a NUL, the signed message. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *signers = (const char *)data, *end = signers + size, *sig, *nul, *msg;
	struct sshsig_signers *s = NULL;
	struct error *err = NULL;
	char *principal = NULL;
	unsigned char *raw = NULL;
	size_t raw_len, sig_len;

	sig = memchr(signers, '\0', size);
	if (sig == NULL)
		return 0;
	sig++;
	nul = memchr(sig, '\0', (size_t)(end - sig));
	sig_len = (size_t)((nul ? nul : end) - sig);
	msg = nul ? nul + 1 : end;
	if (sshsig_b64decode(sig, sig_len, &raw, &raw_len) == 0)
		free(raw);
	if (sshsig_signers_parse(&s, signers, (size_t)(sig - 1 - signers), "fuzz_signers", &err) < 0) {
		error_free(err);
		return 0;
	}
	if (sshsig_verify(s, sig, sig_len, msg, (size_t)(end - msg), "git", &principal, &err) == 0)
		free(principal);
	else
		error_free(err);
	sshsig_signers_free(s);
	return 0;
}
