/* Release controls from the command line, asked of the running controller over its HTTP API. */
#ifndef AURIGA_CONTROL_CLI_H
#define AURIGA_CONTROL_CLI_H

struct control_call {
	const char *cmd;		/* "promote", "abort", "rollback", "pause", "resume" */
	const char *deployment;
	const char *listen;		/* the controller's address (the listen setting) */
	const char *token_file;		/* NULL or "": no token sent */
	const char *instance;		/* sent as ?instance=: another instance there answers 421; NULL: not sent */
	const char *reason;		/* the request's {"reason": ...}; NULL: none */
	long timeout_s;
	int full;			/* promote?full=1 */
	int unverified;			/* approve?unverified=1 */
};

enum control_result {
	CONTROL_ACCEPTED,	/* 202: the controller took it (printed) */
	CONTROL_REFUSED,	/* refused or failed (printed with the controller's reason) */
	CONTROL_USAGE,		/* a bad address or token file (printed) */
	CONTROL_NO_DAEMON,	/* nothing answers at the address, or another instance does: nothing printed */
};

/* POSTs /api/v1/deployments/DEPLOYMENT/CMD to the controller and says what it answered. */
enum control_result control_cli_call(const struct control_call *c);

#endif
