/* The status page's files (HTML, CSS, script), embedded in the binary at build time by hack/embed-ui.sh. */
#ifndef AURIGA_UI_H
#define AURIGA_UI_H

#include <stddef.h>

/*
 * The policy every file of the page is served with: the page, its style and
 * its script come from this server only (no inline script or style, nothing
 * from elsewhere), it is not framed, and its data comes from the API.
 */
#define UI_CSP "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct ui_asset {
	const char *path;		/* "/ui/app.js" */
	const char *type;		/* its Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Generated (build/gen/ui.c): every file of controller/surface/ui/. */
extern const struct ui_asset ui_assets[];
extern const size_t ui_assets_count;

/* The file a GET of url serves ("/", "/ui" and "/ui/" are the page itself), or NULL. */
const struct ui_asset *ui_find(const char *url);

#endif
