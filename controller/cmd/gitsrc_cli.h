/* Command-line options for reaching a specs repo, shared by `auriga status` and `auriga source`. */
#ifndef AURIGA_GITSRC_CLI_H
#define AURIGA_GITSRC_CLI_H

#include <getopt.h>

#include "error.h"
#include "source/gitsrc.h"

enum {
	GITSRC_OPT_REPO = 1000,
	GITSRC_OPT_REF,
	GITSRC_OPT_STATE_DIR,
	GITSRC_OPT_SSH_USER,
	GITSRC_OPT_SSH_KEY,
	GITSRC_OPT_KNOWN_HOSTS,
	GITSRC_OPT_HTTPS_USER,
	GITSRC_OPT_HTTPS_PASSWORD_FILE,
	GITSRC_OPT_CA_BUNDLE,
	GITSRC_OPT_ALLOWED_SIGNERS,
	GITSRC_OPT_NOTES_REF,
	GITSRC_OPT_TIMEOUT,
	GITSRC_OPT_ALLOW_NON_FF,
};

#define GITSRC_CLI_LONGOPTS                                                         \
	{ "repo", required_argument, NULL, GITSRC_OPT_REPO },                        \
	{ "ref", required_argument, NULL, GITSRC_OPT_REF },                          \
	{ "state-dir", required_argument, NULL, GITSRC_OPT_STATE_DIR },              \
	{ "ssh-user", required_argument, NULL, GITSRC_OPT_SSH_USER },                \
	{ "ssh-key", required_argument, NULL, GITSRC_OPT_SSH_KEY },                  \
	{ "known-hosts", required_argument, NULL, GITSRC_OPT_KNOWN_HOSTS },          \
	{ "https-user", required_argument, NULL, GITSRC_OPT_HTTPS_USER },            \
	{ "https-password-file", required_argument, NULL, GITSRC_OPT_HTTPS_PASSWORD_FILE }, \
	{ "ca-bundle", required_argument, NULL, GITSRC_OPT_CA_BUNDLE },              \
	{ "allowed-signers", required_argument, NULL, GITSRC_OPT_ALLOWED_SIGNERS },  \
	{ "notes-ref", required_argument, NULL, GITSRC_OPT_NOTES_REF },              \
	{ "timeout", required_argument, NULL, GITSRC_OPT_TIMEOUT },                  \
	{ "allow-non-fast-forward", no_argument, NULL, GITSRC_OPT_ALLOW_NON_FF }

#define GITSRC_CLI_HELP                                                                      \
	"  --repo URL|PATH            the specs repo (default: the current directory)\n"        \
	"  --ref REF                  branch or tag (default: main, or HEAD for a local repo)\n" \
	"  --state-dir DIR            keep the mirror here (default: a temporary directory)\n"  \
	"  --ssh-key FILE             SSH deploy key; --ssh-user NAME (default from the URL)\n" \
	"  --known-hosts FILE         SSH host keys to trust (required for SSH)\n"              \
	"  --https-user NAME          HTTPS basic auth user (default x-access-token)\n"         \
	"  --https-password-file FILE HTTPS password or token, read from a file\n"              \
	"  --ca-bundle FILE           CA certificates to trust for HTTPS\n"                     \
	"  --allowed-signers FILE     accept only commits signed by these SSH keys\n"           \
	"  --allow-non-fast-forward   with --allowed-signers, also take a force-pushed head\n"   \
	"  --notes-ref REF            the notes ref (default refs/notes/auriga)\n"              \
	"  --timeout SECONDS          network deadline per operation (default 60)\n"

struct gitsrc_cli {
	struct gitsrc_config cfg;
	const char *repo;
	const char *notes_ref;
	char *password;		/* read from --https-password-file */
	char *tmp_state;	/* a temporary state dir we made and remove */
};

void gitsrc_cli_init(struct gitsrc_cli *c);
void gitsrc_cli_release(struct gitsrc_cli *c);
/* Handles one of the GITSRC_OPT_ options; 0, or ERR_INVALID. */
int gitsrc_cli_opt(struct gitsrc_cli *c, int opt, const char *arg, struct error **err);
/* Fills cfg.url / cfg.state_dir (making a temporary one when none was given). */
int gitsrc_cli_finish(struct gitsrc_cli *c, struct error **err);

#endif
