/* akt-cluster-node: one member of a cluster, configured from the
 * environment as on Kubernetes (GoAkt's variables), printing every
 * membership event it sees.
 *
 *   export AKT_COOKIE=$(openssl rand -hex 32)
 *   NODE_NAME=a NODE_IP=127.0.0.1 GOSSIP_PORT=7946 REMOTING_PORT=2552 \
 *     akt-cluster-node
 *   NODE_NAME=b NODE_IP=127.0.0.1 GOSSIP_PORT=7947 REMOTING_PORT=2553 \
 *     AKT_CLUSTER_SEEDS=127.0.0.1:7946 akt-cluster-node
 *
 * Port 0 picks a free one. The first line of stdout is the node's gossip
 * address ("a: gossip 127.0.0.1:7946"); then one line per event, e.g.
 * "a: member-up b@127.0.0.1:7947". SIGINT or SIGTERM makes the node leave
 * the cluster gracefully and exit 0; the others then see it left, exited
 * and removed instead of suspecting it. Remoting, which carries joins and
 * syncs, is secured by the cookie in AKT_COOKIE (at least 16 bytes), by TLS
 * (AKT_TLS_CA, AKT_TLS_CERT, AKT_TLS_KEY: PEM files), or both; a node with
 * neither refuses to start. DISCOVERY=dns, mdns or kubernetes finds the
 * members through that provider instead of the seeds (docs/discovery.md):
 *
 *   DISCOVERY=mdns NODE_NAME=c NODE_IP=127.0.0.1 GOSSIP_PORT=7948 \
 *     REMOTING_PORT=2554 akt-cluster-node
 *
 * `akt-cluster-node --help` lists every variable.
 * demo.sh runs three of them and kills one.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akt/akt.h"
#include "akt/cluster.h"
#include "akt/cluster.pb-c.h"
#include "akt/discovery.h"
#include "akt/remote.h"
#include "akt/transport.h"

#define LEAVE_TIMEOUT AKT_SECONDS(10)

/* Prints the cluster events it is subscribed to. */
static int printer_receive(akt_ctx *ctx, const ProtobufCMessage *msg) {
  if (!akt_msg_is(msg, &akt__cluster__member_event__descriptor)) return AKT_EUNHANDLED;
  const Akt__Cluster__MemberEvent *e = (const Akt__Cluster__MemberEvent *)msg;
  const char *me = akt_system_name(akt_ctx_system(ctx));
  if (e->member)
    printf("%s: %s %s@%s:%u\n", me, akt_cluster_event_name((akt_cluster_event_kind)e->kind),
           e->member->name, e->member->host, (unsigned)e->member->port);
  else
    printf("%s: %s (none)\n", me, akt_cluster_event_name((akt_cluster_event_kind)e->kind));
  fflush(stdout);
  return 0;
}

static const akt_actor_def printer_def = {.kind = "printer", .receive = printer_receive};

static const char usage[] =
    "usage: akt-cluster-node   (configured by the environment)\n"
    "  NODE_NAME          this node's name (required)\n"
    "  NODE_IP            the host to bind and advertise (required)\n"
    "  GOSSIP_PORT        the gossip (UDP) port, 0: any free one (required)\n"
    "  REMOTING_PORT      the remoting (TCP) port, 0: any free one (required)\n"
    "  CLUSTER_PORT       the advertised cluster port (optional)\n"
    "  AKT_CLUSTER_SEEDS  host:port,... gossip addresses of members to join\n"
    "  DISCOVERY          how to find members: static (default: the seeds),\n"
    "                     dns (DNS_NAME, DNS_RECORD, DNS_PORT), mdns (MDNS_SERVICE,\n"
    "                     MDNS_GROUP, MDNS_PORT, MDNS_IFACE) or kubernetes\n"
    "                     (K8S_LABEL_SELECTOR, K8S_NAMESPACE, K8S_PORT_NAME,\n"
    "                     K8S_API_URL): see docs/discovery.md\n"
    "  AKT_CLUSTER_ROLES, AKT_CLUSTER_DOWNING, AKT_CLUSTER_STABLE_AFTER,\n"
    "  AKT_CLUSTER_BOOTSTRAP_EXPECT: see docs/cluster.md\n"
    "Security (a cookie, TLS, or both; the same on every node):\n"
    "  AKT_COOKIE         the cluster's shared secret, at least 16 bytes\n"
    "                     (e.g. $(openssl rand -hex 32))\n"
    "  AKT_TLS_CA, AKT_TLS_CERT, AKT_TLS_KEY\n"
    "                     PEM files: the cluster's CA, this node's certificate\n"
    "                     and its key (docs/security.md makes them)\n"
    "Prints one line per membership event; SIGINT or SIGTERM leaves the\n"
    "cluster gracefully.\n";

/* Remoting's security from the environment: the cookie, TLS, or both.
 * Returns 0, or 2 (nothing set, or TLS half set) after saying why. */
static int security_from_env(akt_security_options *sec) {
  const char *cookie = getenv("AKT_COOKIE");
  sec->cookie = cookie && *cookie ? cookie : NULL;
  sec->tls.ca_file = getenv("AKT_TLS_CA");
  sec->tls.cert_file = getenv("AKT_TLS_CERT");
  sec->tls.key_file = getenv("AKT_TLS_KEY");
  int tls = !!sec->tls.ca_file + !!sec->tls.cert_file + !!sec->tls.key_file;
  if (tls != 0 && tls != 3) {
    fprintf(stderr, "akt-cluster-node: TLS needs all of AKT_TLS_CA, AKT_TLS_CERT and AKT_TLS_KEY\n");
    return 2;
  }
  if (!sec->cookie && !tls) {
    fprintf(stderr, "akt-cluster-node: set AKT_COOKIE to the cluster's secret (e.g. "
                    "$(openssl rand -hex 32)), or TLS (AKT_TLS_CA, AKT_TLS_CERT, AKT_TLS_KEY)\n");
    return 2;
  }
  return 0;
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "akt-cluster-node: %s: %s\n", what, akt_strerror(rc));
  return 1;
}

int main(int argc, char **argv) {
  if (argc > 1) {
    int help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");
    fputs(usage, help ? stdout : stderr);
    return help ? 0 : 2;
  }
  akt_cluster_options co;
  akt_cluster_env env;
  char err[256];
  if (akt_cluster_options_from_env(&co, &env, NULL, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "akt-cluster-node: %s\n", err);
    return 2;
  }
  akt_remote_options ro = {.host = env.node_ip, .port = env.remoting_port};
  if (security_from_env(&ro.security)) return 2;
  /* SIGINT and SIGTERM stay blocked in every thread (akt's inherit the
   * mask); the main thread takes them with sigwait. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  akt_backend *b;
  int rc = akt_uv_backend_new(NULL, &b);
  if (rc) return fail("starting the backend", rc);
  akt_system *sys;
  akt_system_options so = {.host = env.node_ip, .log_level = AKT_LOG_ERROR};
  if ((rc = akt_system_new(env.node_name, b, &so, &sys))) return fail("creating the system", rc);
  if ((rc = akt_remote_start(sys, &ro))) return fail("starting remoting", rc);
  akt_pid *printer;
  if ((rc = akt_spawn(sys, "printer", &printer_def, NULL, &printer)))
    return fail("spawning the printer", rc);
  if ((rc = akt_subscribe(printer, AKT_TOPIC_CLUSTER))) return fail("subscribing", rc);
  /* DISCOVERY names a provider (static: the seeds in co are enough). */
  if (env.discovery.config.kind != AKT_DISCOVERY_STATIC &&
      (rc = akt_discovery_new(&env.discovery.config, &co.discovery)))
    return fail("creating the discovery provider", rc);
  if ((rc = akt_cluster_start(sys, &co))) {
    if (co.discovery) co.discovery->ops->free(co.discovery); /* the cluster did not take it */
    return fail("starting the cluster", rc);
  }
  akt_member me;
  if ((rc = akt_cluster_self(sys, &me))) return fail("reading the local member", rc);
  printf("%s: gossip %s:%u\n", env.node_name, me.addr.host, (unsigned)me.addr.port);
  fflush(stdout);

  int sig;
  sigwait(&stop, &sig);
  rc = akt_cluster_leave(sys, LEAVE_TIMEOUT);
  printf("%s: %s\n", env.node_name, rc == 0 ? "left the cluster" : akt_strerror(rc));
  fflush(stdout);
  akt_pid_release(printer);
  akt_system_free(sys);
  akt_uv_backend_free(b);
  return rc == 0 ? 0 : 1;
}
