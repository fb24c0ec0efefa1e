/* Unit tests for the operator's policy: the file's parser, and every setting allowed, refused, and narrowed by the Cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "policy.h"
#include "spec.h"
#include "testmain.h"

/* A Deployment whose template takes the lines in extra (4-space indented). */
#define DEP(extra)                                  \
	"apiVersion: auriga.io/v1\n"               \
	"kind: Deployment\n"                        \
	"metadata: {name: web}\n"                   \
	"spec:\n"                                   \
	"  replicas: 2\n"                           \
	"  template:\n"                             \
	"    image: auriga-demo-node:v1\n" extra

#define CLUSTER(spec)                               \
	"apiVersion: auriga.io/v1\n"               \
	"kind: Cluster\n"                           \
	"metadata: {name: c}\n"                     \
	"spec:\n" spec "---\n"

/* Every diag of a load, one a line. */
static char *diags_text(const struct spec_diags *d)
{
	struct buf b = BUF_INIT_MAX(1 << 20);
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *line = spec_diag_format(&d->v[i]);

		buf_printf(&b, "%s\n", line);
		free(line);
	}
	return buf_detach(&b, NULL);
}

/* Parses policy_yaml (NULL: the built-in policy), loads spec_yaml against it; the diags' text. */
static char *check(const char *policy_yaml, const char *spec_yaml)
{
	struct spec_policy pol;
	struct spec_diags d;
	struct spec_set set;
	char *out;

	spec_policy_init(&pol);
	spec_diags_init(&d);
	if (policy_yaml)
		assert_int_equal(spec_policy_parse(&pol, "/etc/auriga/policy.yaml", policy_yaml, strlen(policy_yaml), &d),
				 0);
	spec_set_init(&set, NULL, NULL);
	set.policy = policy_yaml ? &pol : NULL;
	spec_set_load_buffer(&set, "deploy/web.yaml", spec_yaml, strlen(spec_yaml), &d);
	spec_set_finish(&set, &d);
	spec_diags_sort(&d);
	out = diags_text(&d);
	spec_set_release(&set);
	spec_diags_release(&d);
	spec_policy_release(&pol);
	return out;
}

/* Runs one_row on each of the n rows (each size bytes apart) and fails the test when any did: one_row
 * prints what a row wanted and got and returns how many checks of it failed (0 when it passed). */
static void each_row(const void *rows, size_t n, size_t size, size_t (*one_row)(const void *row))
{
	size_t i, failed = 0;

	for (i = 0; i < n; i++)
		failed += one_row((const char *)rows + i * size);
	assert_int_equal(failed, 0);
}

/* A test that runs one_row on each of the rows. */
#define ROWS_TEST(name, rows, one_row)                                                                         \
	static void name(void **state)                                                                         \
	{                                                                                                      \
		(void)state;                                                                                   \
		each_row(rows, sizeof(rows) / sizeof((rows)[0]), sizeof((rows)[0]), one_row);                  \
	}

/* A Service in front of web, and the port it routes to. */
#define SVC "apiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: front}\nspec: {deployment: web, port: 8080}\n---\n"
#define PORTS "    ports: [{name: http, containerPort: 9003, hostPort: 19100}]\n"

/* A BackupPolicy whose backups come before web's new revisions. */
#define BACKUP "apiVersion: auriga.io/v1\nkind: BackupPolicy\nmetadata: {name: db}\nspec:\n" \
	"  job: {image: auriga-postgres:15, command: [dump]}\n  target: {volume: dumps}\n  before: [web]\n---\n"

/* The operator lists one endpoint besides "local". */
#define EP_POLICY "endpoints: [{name: east, url: \"unix:///run/east.sock\"}]\n"

struct row {
	const char *what;
	const char *policy;	/* NULL: the built-in policy */
	const char *spec;
	const char *expect;	/* NULL: valid; else the one diag line, whole */
};

static const struct row rows[] = {
	/* privileged */
	{ "privileged refused by default", NULL, DEP("    privileged: true\n"),
	  "deploy/web.yaml:8:17: Deployment/web: spec.template.privileged: refused by the operator's policy "
	  "(privileged: false in the built-in policy)" },
	{ "privileged refused by the file", "privileged: false\n", DEP("    privileged: true\n"),
	  "deploy/web.yaml:8:17: Deployment/web: spec.template.privileged: refused by the operator's policy "
	  "(privileged: false in /etc/auriga/policy.yaml)" },
	{ "privileged allowed", "privileged: true\n", DEP("    privileged: true\n"), NULL },
	{ "privileged narrowed by the Cluster", "privileged: true\n",
	  CLUSTER("  policy: {allowPrivileged: false}\n") DEP("    privileged: true\n"),
	  "deploy/web.yaml:14:17: Deployment/web: spec.template.privileged: refused by the Cluster's policy "
	  "(spec.policy.allowPrivileged: false)" },
	{ "the Cluster cannot widen privileged", NULL, CLUSTER("  policy: {allowPrivileged: true}\n") DEP(""),
	  "deploy/web.yaml:5:29: Cluster/c: spec.policy.allowPrivileged: true refused by the operator's policy "
	  "(privileged: false in the built-in policy): the Cluster may narrow the policy, never widen it" },
	{ "the Cluster may repeat an allowance", "privileged: true\n",
	  CLUSTER("  policy: {allowPrivileged: true}\n") DEP("    privileged: true\n"), NULL },
	/* hostPaths */
	{ "host path refused by default", NULL, DEP("    volumes: [{name: d, mountPath: /d, hostPath: /srv/data}]\n"),
	  "deploy/web.yaml:8:50: Deployment/web: spec.template.volumes[0].hostPath: host path \"/srv/data\" refused "
	  "by the operator's policy (not under hostPaths in the built-in policy)" },
	{ "host path under an allowed prefix", "hostPaths: [/srv/data]\n",
	  DEP("    volumes: [{name: d, mountPath: /d, hostPath: /srv/data/node-1}]\n"), NULL },
	{ "a prefix is whole components", "hostPaths: [/srv/data]\n",
	  DEP("    volumes: [{name: d, mountPath: /d, hostPath: /srv/database}]\n"),
	  "deploy/web.yaml:8:50: Deployment/web: spec.template.volumes[0].hostPath: host path \"/srv/database\" "
	  "refused by the operator's policy (not under hostPaths in /etc/auriga/policy.yaml)" },
	{ "no '..' out of a prefix", "hostPaths: [/srv/data]\n",
	  DEP("    volumes: [{name: d, mountPath: /d, hostPath: /srv/data/../../etc}]\n"),
	  "deploy/web.yaml:8:50: Deployment/web: spec.template.volumes[0].hostPath: host path "
	  "\"/srv/data/../../etc\" is not canonical (empty, '.' or '..' components, or a trailing '/')" },
	{ "the socket needs its exact name, / is not enough", "hostPaths: [/]\n",
	  DEP("    volumes: [{name: d, mountPath: /d, hostPath: /var/run/docker.sock}]\n"),
	  "deploy/web.yaml:8:50: Deployment/web: spec.template.volumes[0].hostPath: host path "
	  "\"/var/run/docker.sock\" refused by the operator's policy (it holds the Docker socket, and hostPaths "
	  "in /etc/auriga/policy.yaml does not name it exactly)" },
	{ "a folder holding the socket needs its exact name", "hostPaths: [/, /var/run/docker.sock]\n",
	  DEP("    volumes: [{name: d, mountPath: /d, hostPath: /run}]\n"),
	  "deploy/web.yaml:8:50: Deployment/web: spec.template.volumes[0].hostPath: host path \"/run\" refused by "
	  "the operator's policy (it holds the Docker socket, and hostPaths in /etc/auriga/policy.yaml does not "
	  "name it exactly)" },
	{ "the socket named exactly", "hostPaths: [/var/run/docker.sock]\n",
	  DEP("    volumes: [{name: d, mountPath: /d, hostPath: /var/run/docker.sock}]\n"), NULL },
	{ "host paths narrowed by the Cluster", "hostPaths: [/srv]\n",
	  CLUSTER("  policy: {allowHostBindMounts: false}\n")
	  DEP("    volumes: [{name: d, mountPath: /d, hostPath: /srv/x}]\n"),
	  "deploy/web.yaml:14:50: Deployment/web: spec.template.volumes[0].hostPath: host path \"/srv/x\" refused "
	  "by the Cluster's policy (spec.policy.allowHostBindMounts: false)" },
	{ "the Cluster cannot widen host paths", NULL, CLUSTER("  policy: {allowHostBindMounts: true}\n") DEP(""),
	  "deploy/web.yaml:5:33: Cluster/c: spec.policy.allowHostBindMounts: true refused by the operator's policy "
	  "(hostPaths in the built-in policy lists none): the Cluster may narrow the policy, never widen it" },
	/* hostNetwork, containerNetwork */
	{ "host network refused", NULL, DEP("    network: host\n"),
	  "deploy/web.yaml:8:14: Deployment/web: spec.template.network: \"host\" refused by the operator's policy "
	  "(hostNetwork: false in the built-in policy)" },
	{ "host network allowed", "hostNetwork: true\n", DEP("    network: host\n"), NULL },
	{ "container: refused", "hostNetwork: true\n", DEP("    network: \"container:auriga\"\n"),
	  "deploy/web.yaml:8:14: Deployment/web: spec.template.network: \"container:auriga\" refused by the "
	  "operator's policy (containerNetwork: false in /etc/auriga/policy.yaml)" },
	{ "container: allowed", "containerNetwork: true\n", DEP("    network: \"container:db\"\n"), NULL },
	{ "an auriga network needs no policy", NULL, DEP("    network: fleet\n"), NULL },
	/* capabilities */
	{ "a capability refused", NULL, DEP("    capabilities: {add: [NET_ADMIN]}\n"),
	  "deploy/web.yaml:8:26: Deployment/web: spec.template.capabilities.add[0]: \"NET_ADMIN\" refused by the "
	  "operator's policy (not in capabilities in the built-in policy)" },
	{ "a capability allowed, CAP_ and case aside", "capabilities: [cap_net_admin]\n",
	  DEP("    capabilities: {add: [CAP_NET_ADMIN, net_admin]}\n"), NULL },
	{ "only the listed capability", "capabilities: [NET_ADMIN]\n",
	  DEP("    capabilities: {add: [NET_ADMIN, SYS_ADMIN]}\n"),
	  "deploy/web.yaml:8:37: Deployment/web: spec.template.capabilities.add[1]: \"SYS_ADMIN\" refused by the "
	  "operator's policy (not in capabilities in /etc/auriga/policy.yaml)" },
	/* images */
	{ "any image without images", NULL, DEP(""), NULL },
	{ "an image outside the prefixes", "images: [\"registry.example.com/\"]\n", DEP(""),
	  "deploy/web.yaml:7:12: Deployment/web: spec.template.image: \"auriga-demo-node:v1\" refused by the "
	  "operator's policy (no prefix in images in /etc/auriga/policy.yaml matches it)" },
	{ "an image under a prefix", "images: {prefixes: [\"auriga-demo-node:\"]}\n", DEP(""), NULL },
	{ "a digest required", "images: {prefixes: [\"auriga-demo-node\"], requireDigest: true}\n", DEP(""),
	  "deploy/web.yaml:7:12: Deployment/web: spec.template.image: \"auriga-demo-node:v1\" refused by the "
	  "operator's policy (images.requireDigest: true in /etc/auriga/policy.yaml: name the image by "
	  "@sha256:<digest>)" },
	{ "a digest given", "images: {prefixes: [\"auriga-demo-node\"], requireDigest: true}\n",
	  "apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    image: "
	  "auriga-demo-node@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", NULL },
	/* maxReplicas, maxMemory, maxCpus */
	{ "replicas over the bound", "maxReplicas: 1\n", DEP(""),
	  "deploy/web.yaml:5:13: Deployment/web: spec.replicas: 2 refused by the operator's policy (maxReplicas: 1 "
	  "in /etc/auriga/policy.yaml)" },
	{ "replicas at the bound", "maxReplicas: 2\n", DEP(""), NULL },
	{ "memory over the bound", "maxMemory: 256Mi\n", DEP("    resources: {limits: {memory: 512Mi}}\n"),
	  "deploy/web.yaml:8:34: Deployment/web: spec.template.resources.limits.memory: 536870912 bytes refused by "
	  "the operator's policy (maxMemory: 268435456 bytes in /etc/auriga/policy.yaml)" },
	{ "no memory limit under a bound", "maxMemory: 256Mi\n", DEP(""),
	  "deploy/web.yaml:7:5: Deployment/web: spec.template: no memory limit refused by the operator's policy "
	  "(maxMemory: 268435456 bytes in /etc/auriga/policy.yaml): set resources.limits.memory" },
	{ "memory within the bound", "maxMemory: 1Gi\n", DEP("    resources: {limits: {memory: 512Mi}}\n"), NULL },
	{ "CPU over the bound", "maxCpus: \"1\"\n", DEP("    resources: {limits: {cpu: 1500m}}\n"),
	  "deploy/web.yaml:8:31: Deployment/web: spec.template.resources.limits.cpu: 1500m refused by the "
	  "operator's policy (maxCpus: 1000m in /etc/auriga/policy.yaml)" },
	{ "CPU within the bound", "maxCpus: 2\n", DEP("    resources: {limits: {cpu: 500m}}\n"), NULL },
	/* router */
	{ "the built-in router values may be named", NULL,
	  CLUSTER("  router: {configPath: /etc/nginx/conf.d/auriga.conf, reloadCommand: [nginx, -s, reload], "
		  "listenAddress: 127.0.0.1}\n") DEP(""), NULL },
	{ "a config path not listed", NULL, CLUSTER("  router: {configPath: /etc/cron.d/x}\n") DEP(""),
	  "deploy/web.yaml:5:24: Cluster/c: spec.router.configPath: \"/etc/cron.d/x\" refused by the operator's "
	  "policy (not listed in router.configPath in the built-in policy)" },
	{ "a config path listed", "router: {configPath: [/srv/nginx/a.conf, /srv/nginx/b.conf]}\n",
	  CLUSTER("  router: {configPath: /srv/nginx/b.conf}\n") DEP(""), NULL },
	{ "a reload command not listed", "router: {reloadCommand: [nginx, -s, reload]}\n",
	  CLUSTER("  router: {reloadCommand: [sh, -c, id]}\n") DEP(""),
	  "deploy/web.yaml:5:27: Cluster/c: spec.router.reloadCommand: refused by the operator's policy (not "
	  "listed in router.reloadCommand in /etc/auriga/policy.yaml)" },
	{ "a reload command listed", "router: {reloadCommand: [[nginx, -s, reload], [/usr/sbin/nginx, -s, reload]]}\n",
	  CLUSTER("  router: {reloadCommand: [/usr/sbin/nginx, -s, reload]}\n") DEP(""), NULL },
	{ "a reload container not listed", NULL, CLUSTER("  router: {container: nginx}\n") DEP(""),
	  "deploy/web.yaml:5:23: Cluster/c: spec.router.container: \"nginx\" refused by the operator's policy (not "
	  "listed in router.container in the built-in policy)" },
	{ "a reload container beside a reload command", "router: {reloadCommand: [[nginx, -s, reload]], container: [edge]}\n",
	  CLUSTER("  router: {container: edge, reloadCommand: [nginx, -s, reload]}\n") DEP(""),
	  "deploy/web.yaml:5:23: Cluster/c: spec.router.container: give reloadCommand or container, not both" },
	{ "a reload container listed", "router: {container: [edge]}\n", CLUSTER("  router: {container: edge}\n") DEP(""),
	  NULL },
	{ "a listen address not listed", "router: {listenAddress: 127.0.0.1}\n",
	  CLUSTER("  router: {listenAddress: 0.0.0.0}\n") DEP(""),
	  "deploy/web.yaml:5:27: Cluster/c: spec.router.listenAddress: \"0.0.0.0\" refused by the operator's "
	  "policy (not listed in router.listenAddress in /etc/auriga/policy.yaml)" },
	/* Jobs are held to the same policy. */
	{ "a privileged Job", NULL, "apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n"
	  "    image: x\n    privileged: true\n",
	  "deploy/web.yaml:7:17: Job/j: spec.template.privileged: refused by the operator's policy (privileged: "
	  "false in the built-in policy)" },
	/* endpoints: "local" (docker-host) and those the policy lists */
	{ "a listed endpoint, by name", EP_POLICY, CLUSTER("  endpoints: [{name: east}]\n") DEP(""), NULL },
	{ "a listed endpoint, with its url", EP_POLICY,
	  CLUSTER("  endpoints: [{name: east, url: \"unix:///run/east.sock\"}]\n") DEP(""), NULL },
	{ "local, with docker-host's url", NULL,
	  CLUSTER("  endpoints: [{name: local, url: \"unix:///var/run/docker.sock\"}]\n") DEP(""), NULL },
	{ "an endpoint the policy does not list", NULL, CLUSTER("  endpoints: [{name: east}]\n") DEP(""),
	  "deploy/web.yaml:5:22: Cluster/c: spec.endpoints[0].name: endpoint \"east\" refused by the operator's policy (not listed in endpoints in the built-in policy; \"local\" is the docker-host setting)" },
	{ "a listed endpoint at another url", EP_POLICY,
	  CLUSTER("  endpoints: [{name: east, url: \"unix:///run/west.sock\"}]\n") DEP(""),
	  "deploy/web.yaml:5:33: Cluster/c: spec.endpoints[0].url: \"unix:///run/west.sock\" is not endpoint \"east\"'s url (unix:///run/east.sock in /etc/auriga/policy.yaml): the operator decides where an endpoint is" },
	{ "local at another url than docker-host's", NULL,
	  CLUSTER("  endpoints: [{name: local, url: \"unix:///run/west.sock\"}]\n") DEP(""),
	  "deploy/web.yaml:5:34: Cluster/c: spec.endpoints[0].url: \"unix:///run/west.sock\" is not endpoint "
	  "\"local\"'s url (unix:///var/run/docker.sock, the docker-host setting): the operator decides where an "
	  "endpoint is" },
	{ "a second endpoint the policy lists", EP_POLICY,
	  CLUSTER("  endpoints: [{name: local}, {name: east}]\n") DEP(""), NULL },
	{ "a Service of a deployment over two endpoints", EP_POLICY,
	  CLUSTER("  endpoints: [{name: local}, {name: east}]\n") SVC DEP(PORTS), NULL },
	{ "a BackupPolicy before a deployment over two endpoints is not carried out", EP_POLICY,
	  CLUSTER("  endpoints: [{name: local}, {name: east}]\n") BACKUP DEP(""),
	  "deploy/web.yaml:13:12: BackupPolicy/db: spec.before[0]: Deployment \"web\" may run on endpoint \"east\": backups "
	  "run on the Cluster's first endpoint (\"local\") alone yet (give it placement.endpoints: [local])" },
	{ "a BackupPolicy before a deployment kept to the first endpoint", EP_POLICY,
	  CLUSTER("  endpoints: [{name: local}, {name: east}]\n") BACKUP DEP("  placement: {endpoints: [local]}\n"),
	  NULL },
	{ "TLS material in the Cluster", EP_POLICY,
	  CLUSTER("  endpoints: [{name: east, tls: {caFile: /ca.pem}}]\n") DEP(""),
	  "deploy/web.yaml:5:33: Cluster/c: spec.endpoints[0].tls: refused: an endpoint's TLS material is the operator's (certPath of the endpoint under endpoints in the policy file)" },
};

static size_t policy_row(const void *p)
{
	const struct row *r = p;
	char *got = check(r->policy, r->spec);
	char want[2048];
	size_t failed = 0;

	snprintf(want, sizeof(want), "%s%s", r->expect ? r->expect : "", r->expect ? "\n" : "");
	if (strcmp(got, want) != 0) {
		print_error("row '%s':\n  want: %s\n  got:  %s\n", r->what, want, got);
		failed++;
	}
	free(got);
	return failed;
}

ROWS_TEST(policy_rows, rows, policy_row)

/* Parses policy_text into pol, loads spec against it into set (both must be valid); the set's Cluster. */
static const struct spec_cluster *load_under(struct spec_policy *pol, const char *policy_text, const char *spec,
					     struct spec_set *set, struct spec_diags *d)
{
	assert_int_equal(spec_policy_parse(pol, "p.yaml", policy_text, strlen(policy_text), d), 0);
	spec_set_init(set, NULL, NULL);
	set->policy = pol;
	spec_set_load_buffer(set, "w.yaml", spec, strlen(spec), d);
	assert_int_equal(spec_set_finish(set, d), 0);
	return spec_set_cluster(set);
}

/* What the Cluster leaves out of the router comes from the policy's first listed value. */
static void router_defaults_from_policy(void **state)
{
	static const char pol_text[] = "router:\n  configPath: [/srv/nginx/auriga.conf]\n"
				       "  reloadCommand: [[/usr/sbin/nginx, -s, reload]]\n  listenAddress: [10.0.0.1]\n";
	static const char pol_container[] = "router: {container: [edge-nginx]}\n";
	static const char spec[] = DEP("");
	struct spec_policy pol;
	struct spec_diags d;
	struct spec_set set;
	const struct spec_cluster *c;

	(void)state;
	spec_policy_init(&pol);
	spec_diags_init(&d);
	c = load_under(&pol, pol_text, spec, &set, &d);
	assert_string_equal(c->router.config_path, "/srv/nginx/auriga.conf");
	assert_int_equal(c->router.n_reload_command, 3);
	assert_string_equal(c->router.reload_command[0], "/usr/sbin/nginx");
	assert_string_equal(c->router.listen_address, "10.0.0.1");
	assert_int_equal(c->allow_privileged, 0);
	spec_set_release(&set);

	c = load_under(&pol, pol_container, spec, &set, &d);
	assert_string_equal(c->router.container, "edge-nginx");
	assert_int_equal(c->router.n_reload_command, 0);
	assert_string_equal(c->router.config_path, "/etc/nginx/conf.d/auriga.conf");
	spec_set_release(&set);
	spec_diags_release(&d);
	spec_policy_release(&pol);
}

struct prow {
	const char *text;
	const char *expect;	/* every diag, one a line */
};

static const struct prow parse_rows[] = {
	{ "", "" },
	{ "privileged: yes\n", "p.yaml:1:13: privileged: expected true or false, got a string\n" },
	{ "privileged: true\nprivilegd: false\n",
	  "p.yaml:2:1: privilegd: unknown key (known: privileged, hostPaths, hostNetwork, containerNetwork, networks, "
	  "capabilities, images, maxReplicas, maxMemory, maxCpus, router, endpoints)\n" },
	{ "hostPaths: /srv\n", "p.yaml:1:12: hostPaths: expected a list of strings, got a string\n" },
	{ "hostPaths: [srv, /a/../b, /c/]\n",
	  "p.yaml:1:13: hostPaths: \"srv\": expected an absolute path without empty, '.' or '..' components or a "
	  "trailing '/'\n"
	  "p.yaml:1:18: hostPaths: \"/a/../b\": expected an absolute path without empty, '.' or '..' components or "
	  "a trailing '/'\n"
	  "p.yaml:1:27: hostPaths: \"/c/\": expected an absolute path without empty, '.' or '..' components or a "
	  "trailing '/'\n" },
	{ "capabilities: [NET-ADMIN]\n", "p.yaml:1:16: capabilities: \"NET-ADMIN\": expected a capability name such as "
	  "NET_ADMIN\n" },
	{ "images: {prefix: [a/]}\n", "p.yaml:1:10: images: unknown key \"prefix\" (known: prefixes, requireDigest)\n" },
	{ "maxReplicas: -1\n", "p.yaml:1:14: maxReplicas: expected an integer from 0 to 1000000, got an integer\n" },
	{ "maxMemory: lots\n", "p.yaml:1:12: maxMemory: expected a positive memory quantity (\"512Mi\", \"4Gi\"), got "
	  "\"lots\"\n" },
	{ "maxCpus: 0\n", "p.yaml:1:10: maxCpus: expected a positive CPU quantity (\"500m\", \"2\"), got \"0\"\n" },
	{ "router: {configPath: x.conf}\n", "p.yaml:1:22: router.configPath: \"x.conf\": expected an absolute path\n" },
	{ "router: {reloadCommand: nginx}\n",
	  "p.yaml:1:25: router.reloadCommand: expected a command (a list of words) or a list of commands, got a "
	  "string\n" },
	{ "router: {reload: [x]}\n",
	  "p.yaml:1:10: router: unknown key \"reload\" (known: configPath, reloadCommand, container, listenAddress)\n" },
	{ "- privileged\n", "p.yaml:1:1: expected a mapping of policy settings, got a list\n" },
	{ "a: [\n", "p.yaml:2:1: yaml: did not find expected node content while parsing a flow node at line 2\n" },
	{ "endpoints: [{name: local, url: \"unix:///x\"}]\n",
	  "p.yaml:1:20: endpoints[0].name: \"local\" is the docker-host setting's endpoint: give this one another name\n" },
	{ "endpoints: [{name: t, url: \"tcp://h:2376\"}]\n",
	  "p.yaml:1:13: endpoints[0]: endpoint \"t\": a tcp:// endpoint needs certPath, the folder of its ca.pem, cert.pem and key.pem (mutual TLS)\n" },
	{ "endpoints: [{name: u, url: \"unix:///x\", certPath: /c}]\n",
	  "p.yaml:1:51: endpoints[0]: endpoint \"u\": certPath applies to tcp:// endpoints only\n" },
	{ "endpoints: [{name: A, url: \"ftp://x\", tls: 1}, {url: \"tcp://h:x\", certPath: c}]\n",
	  "p.yaml:1:20: endpoints[0].name: \"A\": expected lower case letters, digits and '-'\n"
	  "p.yaml:1:28: endpoints[0].url: \"ftp://x\": expected unix:///path or tcp://host:port\n"
	  "p.yaml:1:39: endpoints[0]: unknown key \"tls\" (known: name, url, certPath, address)\n"
	  "p.yaml:1:48: endpoints[1]: an endpoint needs a name and a url\n"
	  "p.yaml:1:54: endpoints[1].url: \"tcp://h:x\": expected unix:///path or tcp://host:port\n"
	  "p.yaml:1:77: endpoints[1].certPath: \"c\": expected an absolute path\n" },
	{ "endpoints: [{name: a, url: \"unix:///x\"}, {name: a, url: \"unix:///y\"}]\n",
	  "p.yaml:1:49: endpoints[1].name: \"a\" listed twice\n" },
	{ "endpoints: {a: 1}\n",
	  "p.yaml:1:12: endpoints: expected a list of endpoints, got a mapping\n" },
};

static size_t parse_row(const void *p)
{
	const struct prow *r = p;
	struct spec_policy pol;
	struct spec_diags d;
	size_t failed = 0;
	char *got;

	spec_policy_init(&pol);
	spec_diags_init(&d);
	spec_policy_parse(&pol, "p.yaml", r->text, strlen(r->text), &d);
	spec_diags_sort(&d);
	got = diags_text(&d);
	if (strcmp(got, r->expect) != 0) {
		print_error("policy '%s':\n  want: %s\n  got:  %s\n", r->text, r->expect, got);
		failed++;
	}
	/* A policy with an error is the built-in one, never half of the file. */
	if (d.n > 0 && (pol.privileged || pol.n_host_paths || pol.max_replicas != -1)) {
		print_error("policy '%s': not reset after an error\n", r->text);
		failed++;
	}
	free(got);
	spec_diags_release(&d);
	spec_policy_release(&pol);
	return failed;
}

ROWS_TEST(parse_errors, parse_rows, parse_row)

static void networks_listed(void **state)
{
	static const char text[] = "networks: [shared-backend]\n";
	struct spec_policy pol;
	struct spec_diags d;

	(void)state;
	spec_policy_init(&pol);
	spec_diags_init(&d);
	assert_int_equal(spec_policy_parse(&pol, "p.yaml", text, strlen(text), &d), 0);
	assert_true(spec_policy_network_allowed(&pol, "shared-backend"));
	assert_false(spec_policy_network_allowed(&pol, "shared"));
	assert_false(spec_policy_network_allowed(NULL, "shared-backend"));
	spec_diags_release(&d);
	spec_policy_release(&pol);
}

/* One template without positions (as a rollback takes it back from the state file). */
struct trow {
	const char *name;
	const char *policy;	/* NULL: the built-in policy */
	int allow_privileged, allow_host_bind_mounts;
	struct spec_policy_tmpl t;
	size_t refused;
	const char *msg;	/* the first refusal, "" when none */
};

static char *const caps_net[] = { "NET_ADMIN", "SYS_TIME" };
static char *const vol_root[] = { NULL, "/" };
static char *const vol_data[] = { "/srv/data/x" };

static const struct trow trows[] = {
	{ "a plain template passes the built-in policy", NULL, -1, -1, { .image = "auriga-demo-node:v1" }, 0, "" },
	{ "privileged, refused by the built-in policy", NULL, -1, -1,
	  { .image = "auriga-demo-node:v1", .privileged = 1 }, 1,
	  "revision 0123456789ab: spec.template.privileged: refused by the operator's policy (privileged: false in "
	  "the built-in policy)" },
	{ "privileged, refused by the policy file", "hostNetwork: true\n", -1, -1,
	  { .image = "auriga-demo-node:v1", .privileged = 1 }, 1,
	  "revision 0123456789ab: spec.template.privileged: refused by the operator's policy (privileged: false in "
	  "/etc/auriga/policy.yaml)" },
	{ "privileged, allowed", "privileged: true\n", -1, -1, { .image = "auriga-demo-node:v1", .privileged = 1 }, 0,
	  "" },
	{ "privileged, allowed but narrowed by the Cluster", "privileged: true\n", 0, -1,
	  { .image = "auriga-demo-node:v1", .privileged = 1 }, 1,
	  "revision 0123456789ab: spec.template.privileged: refused by the Cluster's policy "
	  "(spec.policy.allowPrivileged: false)" },
	{ "a host path, the second volume", "hostPaths: [/srv]\n", -1, -1,
	  { .image = "auriga-demo-node:v1", .host_paths = vol_root, .n_volumes = 2 }, 1,
	  "revision 0123456789ab: spec.template.volumes[1].hostPath: host path \"/\" refused by the operator's policy "
	  "(it holds the Docker socket, and hostPaths in /etc/auriga/policy.yaml does not name it exactly)" },
	{ "a host path under a prefix", "hostPaths: [/srv/data]\n", -1, -1,
	  { .image = "auriga-demo-node:v1", .host_paths = vol_data, .n_volumes = 1 }, 0, "" },
	{ "capabilities: the first refused is named, both counted", "capabilities: [CHOWN]\n", -1, -1,
	  { .image = "auriga-demo-node:v1", .cap_add = caps_net, .n_cap_add = 2 }, 2,
	  "revision 0123456789ab: spec.template.capabilities.add[0]: \"NET_ADMIN\" refused by the operator's policy "
	  "(not in capabilities in /etc/auriga/policy.yaml)" },
	{ "an image outside the prefixes", "images: {prefixes: [registry.example/]}\n", -1, -1,
	  { .image = "auriga-demo-node:v1" }, 1,
	  "revision 0123456789ab: spec.template.image: \"auriga-demo-node:v1\" refused by the operator's policy (no "
	  "prefix in images in /etc/auriga/policy.yaml matches it)" },
	{ "host network", NULL, -1, -1, { .image = "auriga-demo-node:v1", .network = "host" }, 1,
	  "revision 0123456789ab: spec.template.network: \"host\" refused by the operator's policy (hostNetwork: false "
	  "in the built-in policy)" },
	{ "memory over the bound", "maxMemory: 64Mi\n", -1, -1,
	  { .image = "auriga-demo-node:v1", .memory_limit = 128 << 20, .cpu_millis = 100 }, 1,
	  "revision 0123456789ab: spec.template.resources.limits.memory: 134217728 bytes refused by the operator's "
	  "policy (maxMemory: 67108864 bytes in /etc/auriga/policy.yaml)" },
};

static size_t template_row(const void *p)
{
	const struct trow *r = p;
	struct spec_policy pol;
	struct spec_diags d;
	size_t failed;
	char msg[900];
	size_t n;

	spec_policy_init(&pol);
	spec_diags_init(&d);
	if (r->policy)
		assert_int_equal(spec_policy_parse(&pol, "/etc/auriga/policy.yaml", r->policy, strlen(r->policy), &d), 0);
	memset(msg, 'x', sizeof(msg));
	n = spec_policy_check_template(r->policy ? &pol : NULL, r->allow_privileged, r->allow_host_bind_mounts, &r->t,
				       "0123456789abcdef", msg, sizeof(msg));
	failed = n != r->refused || strcmp(msg, r->msg) != 0;
	if (failed)
		print_error("%s:\n  want %zu: %s\n  got  %zu: %s\n", r->name, r->refused, r->msg, n, msg);
	spec_diags_release(&d);
	spec_policy_release(&pol);
	return failed;
}

ROWS_TEST(template_rows, trows, template_row)

TEST_MAIN(
	cmocka_unit_test(policy_rows),
	cmocka_unit_test(router_defaults_from_policy),
	cmocka_unit_test(parse_errors),
	cmocka_unit_test(networks_listed),
	cmocka_unit_test(template_rows))
