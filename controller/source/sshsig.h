/* SSH signatures (the sshsig format git writes with gpg.format=ssh), checked against an allowed-signers file. */
#ifndef AURIGA_SSHSIG_H
#define AURIGA_SSHSIG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct git_repository;

/*
 * The keys of an allowed-signers file (ssh-keygen(1) ALLOWED SIGNERS), with
 * their options: namespaces, valid-after and valid-before are honoured,
 * cert-authority lines allow nothing, any other option is an error naming
 * the file and line.
 */
struct sshsig_signers;

int sshsig_signers_load(struct sshsig_signers **out, const char *path, struct error **err);
int sshsig_signers_parse(struct sshsig_signers **out, const char *text, size_t len,
			 const char *name, struct error **err);
void sshsig_signers_free(struct sshsig_signers *s);
size_t sshsig_signers_count(const struct sshsig_signers *s);

/*
 * Verifies an armored SSH signature over msg for namespace ns. Returns 0
 * with *principal (when not NULL) set to the signer's principal, or
 * ERR_REFUSED with a reason: malformed, wrong namespace, key not allowed,
 * signature does not match.
 */
int sshsig_verify(const struct sshsig_signers *s, const char *armored, size_t armored_len,
		  const void *msg, size_t msg_len, const char *ns, char **principal,
		  struct error **err);

/*
 * The same, with the key checked against the times in at[] (epoch seconds):
 * a signer line whose valid-after / valid-before window leaves out one of
 * them does not allow the key ("not valid at ..."). sshsig_verify checks
 * against now.
 */
int sshsig_verify_at(const struct sshsig_signers *s, const char *armored, size_t armored_len,
		     const void *msg, size_t msg_len, const char *ns, const int64_t *at, size_t n_at,
		     char **principal, struct error **err);

/*
 * Verifies the signature of a commit (namespace "git"); unsigned commits are
 * refused. The key must be valid both at the commit's committer time and now.
 */
int sshsig_verify_commit(const struct sshsig_signers *s, struct git_repository *repo,
			 const char *commit_hex, char **principal, struct error **err);

/* Base64 (OpenSSL's decoder, whitespace and padding handled): 0 and a malloc'd *out, or -1. */
int sshsig_b64decode(const char *in, size_t n, unsigned char **out, size_t *out_len);

#endif
