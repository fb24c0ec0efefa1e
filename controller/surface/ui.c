/* The status page's routes: the embedded files by path, the page itself at "/", "/ui" and "/ui/". */
#include "surface/ui.h"

#include <string.h>

const struct ui_asset *ui_find(const char *url)
{
	size_t i;

	if (strcmp(url, "/") == 0 || strcmp(url, "/ui") == 0 || strcmp(url, "/ui/") == 0)
		url = "/ui/index.html";
	for (i = 0; i < ui_assets_count; i++)
		if (strcmp(ui_assets[i].path, url) == 0)
			return &ui_assets[i];
	return NULL;
}
