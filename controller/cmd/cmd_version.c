/* `auriga version`: the program's version and the versions of the libraries it runs with. */
#include "cmd/cli.h"
#include "cmd/version.h"

#include <curl/curl.h>
#include <git2.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

int cmd_version(int argc, char **argv)
{
	int major, minor, rev;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: auriga version\n\nPrints auriga's version and the versions of the "
		       "libraries it is linked with.\n");
		return 0;
	}
	git_libgit2_version(&major, &minor, &rev);
	printf("auriga %s\n", AURIGA_VERSION);
	printf("libgit2 %d.%d.%d, libyaml %s, jansson %s, %s, %s, libmicrohttpd %s\n",
	       major, minor, rev, yaml_get_version_string(), jansson_version_str(),
	       curl_version(), OpenSSL_version(OPENSSL_VERSION), MHD_get_version());
	return 0;
}
