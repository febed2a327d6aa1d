/* Simulated multicast: group endpoints, who gets a datagram sent to a
 * group, and the links' faults on each copy (sim/dgram.c, "Multicast"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/error.h"
#include "akt/sim.h"

#define GROUP "224.0.0.251"
#define PORT 5353
#define LAT AKT_MILLIS(1) /* the default link latency */

typedef struct ep {
  akt_sim_world *w;
  akt_backend *b;
  akt_dgram *d;
  int got;
  uint64_t at;
  akt_addr from;
  char data[32];
  int close_other; /* closes `other` on its first datagram */
  struct ep *other;
} ep;

static void on_recv(akt_dgram *d, const akt_addr *from, const uint8_t *buf, size_t len,
                    void *data) {
  ep *e = data;
  assert_ptr_equal(d, e->d);
  e->got++;
  e->at = akt_sim_now(e->w);
  e->from = *from;
  snprintf(e->data, sizeof e->data, "%.*s", (int)len, (const char *)buf);
  if (e->close_other && e->other->d) {
    e->b->ops->dgram_close(e->b, e->other->d);
    e->other->d = NULL;
  }
}

static const akt_addr group = {.host = GROUP, .port = PORT};

static akt_sim_world *world(void) {
  akt_sim_world *w = NULL;
  akt_sim_options o = {.seed = 3};
  assert_int_equal(akt_sim_world_new(&o, &w), 0);
  return w;
}

static void join(akt_sim_world *w, akt_backend *b, ep *e) {
  memset(e, 0, sizeof *e);
  e->w = w;
  e->b = b;
  assert_int_equal(b->ops->dgram_open_group(b, &group, NULL, on_recv, e, &e->d), 0);
}

static void send_str(akt_backend *b, akt_dgram *d, const akt_addr *to, const char *s) {
  assert_int_equal(b->ops->dgram_send(b, d, to, (const uint8_t *)s, strlen(s)), 0);
}

static void every_member_hears_a_datagram_to_the_group_the_sender_too(void **state) {
  (void)state;
  akt_sim_world *w = world();
  akt_backend *n[4];
  const char *names[4] = {"n0", "n1", "n2", "outsider"};
  for (int i = 0; i < 4; i++) assert_int_equal(akt_sim_node_new(w, names[i], &n[i]), 0);
  ep e[3], plain = {.w = w, .b = n[3]};
  for (int i = 0; i < 3; i++) join(w, n[i], &e[i]);
  akt_addr any = {.host = "", .port = PORT};
  assert_int_equal(n[3]->ops->dgram_open(n[3], &any, on_recv, &plain, &plain.d), 0);
  send_str(n[0], e[0].d, &group, "hello");
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(e[i].got, 1);
    assert_string_equal(e[i].data, "hello");
    assert_string_equal(e[i].from.host, "n0");
    assert_int_equal(e[i].from.port, PORT);
    assert_int_equal(e[i].at, LAT); /* its own copy too crosses the loopback link */
  }
  assert_int_equal(plain.got, 0); /* not a member, though on the port */
  akt_sim_world_free(w);
}

static void group_endpoints_share_a_port_and_a_plain_one_does_not(void **state) {
  (void)state;
  akt_sim_world *w = world();
  akt_backend *a, *b;
  assert_int_equal(akt_sim_node_new(w, "a", &a), 0);
  assert_int_equal(akt_sim_node_new(w, "b", &b), 0);
  ep e1, e2, e3;
  join(w, a, &e1);
  join(w, a, &e2); /* two responders on one host, as on a real machine */
  akt_addr plain = {.host = "a", .port = PORT};
  akt_dgram *d;
  assert_int_equal(a->ops->dgram_open(a, &plain, on_recv, &e3, &d), AKT_EEXIST);
  /* A plain endpoint first keeps the port to itself. */
  memset(&e3, 0, sizeof e3);
  e3.w = w;
  akt_addr pb = {.host = "b", .port = PORT};
  assert_int_equal(b->ops->dgram_open(b, &pb, on_recv, &e3, &e3.d), 0);
  assert_int_equal(b->ops->dgram_open_group(b, &group, NULL, on_recv, &e3, &d), AKT_EEXIST);
  /* One copy reaches node a and both of its endpoints. */
  send_str(b, e3.d, &group, "x");
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(e1.got, 1);
  assert_int_equal(e2.got, 1);
  akt_sim_world_free(w);
}

static void addresses_that_are_not_groups_are_refused(void **state) {
  (void)state;
  akt_sim_world *w = world();
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "a", &a), 0);
  ep e = {.w = w};
  akt_dgram *d;
  const char *bad[] = {"a", "10.0.0.1", "223.255.255.255", "240.0.0.1", "224.0.0", "fe80::1", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    akt_addr g = {.port = PORT};
    snprintf(g.host, sizeof g.host, "%s", bad[i]);
    assert_int_equal(a->ops->dgram_open_group(a, &g, NULL, on_recv, &e, &d), AKT_EINVAL);
  }
  akt_addr ok6 = {.host = "ff02::fb", .port = PORT};
  assert_int_equal(a->ops->dgram_open_group(a, &ok6, NULL, on_recv, &e, &d), 0);
  akt_addr zero = {.host = GROUP, .port = 0};
  assert_int_equal(a->ops->dgram_open_group(a, &zero, NULL, on_recv, &e, &d), AKT_EINVAL);
  akt_sim_world_free(w);
}

static void each_copy_meets_its_own_links_faults(void **state) {
  (void)state;
  akt_sim_world *w = world();
  akt_backend *n[3];
  for (int i = 0; i < 3; i++) {
    char name[8];
    snprintf(name, sizeof name, "n%d", i);
    assert_int_equal(akt_sim_node_new(w, name, &n[i]), 0);
  }
  ep e[3];
  for (int i = 0; i < 3; i++) join(w, n[i], &e[i]);
  akt_sim_link_faults lossy = {.loss_ppm = 1000000};
  akt_sim_link_faults slow = {.latency = AKT_MILLIS(40)};
  assert_int_equal(akt_sim_link_set(w, n[0], n[1], &lossy), 0);
  assert_int_equal(akt_sim_link_set(w, n[0], n[2], &slow), 0);
  send_str(n[0], e[0].d, &group, "x");
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(e[0].got, 1);
  assert_int_equal(e[1].got, 0);
  assert_int_equal(e[2].got, 1);
  assert_int_equal(e[2].at, AKT_MILLIS(40));
  /* A cut drops its copy; the others still go. */
  assert_int_equal(akt_sim_link_set(w, n[0], n[1], NULL), 0);
  assert_int_equal(akt_sim_cut(w, n[0], n[2], 0), 0);
  send_str(n[0], e[0].d, &group, "y");
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(e[1].got, 1);
  assert_int_equal(e[2].got, 1);
  akt_sim_world_free(w);
}

static void a_member_closed_by_another_during_delivery_is_skipped(void **state) {
  (void)state;
  akt_sim_world *w = world();
  akt_backend *a;
  assert_int_equal(akt_sim_node_new(w, "a", &a), 0);
  ep e1, e2;
  join(w, a, &e1);
  join(w, a, &e2);
  e1.close_other = 1;
  e1.other = &e2;
  send_str(a, e1.d, &group, "x");
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(e1.got, 1);
  assert_int_equal(e2.got, 0);
  assert_null(e2.d);
  akt_sim_world_free(w);
}

static void unicast_to_a_shared_port_reaches_one_member(void **state) {
  (void)state;
  akt_sim_world *w = world();
  akt_backend *a, *b;
  assert_int_equal(akt_sim_node_new(w, "a", &a), 0);
  assert_int_equal(akt_sim_node_new(w, "b", &b), 0);
  ep e1, e2, eb;
  join(w, a, &e1);
  join(w, a, &e2);
  join(w, b, &eb);
  akt_addr to = {.host = "a", .port = PORT};
  send_str(b, eb.d, &to, "u");
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(e1.got + e2.got, 1);
  assert_int_equal(eb.got, 0);
  akt_sim_world_free(w);
}

static void a_group_without_members_drops_and_a_crash_leaves_it(void **state) {
  (void)state;
  akt_sim_world *w = world();
  akt_backend *a, *b;
  assert_int_equal(akt_sim_node_new(w, "a", &a), 0);
  assert_int_equal(akt_sim_node_new(w, "b", &b), 0);
  ep ea, eb;
  join(w, a, &ea);
  join(w, b, &eb);
  akt_addr other = {.host = "239.1.2.3", .port = PORT};
  send_str(a, ea.d, &other, "nobody");
  assert_int_equal(akt_sim_crash(w, b), 0); /* its endpoint goes with it */
  send_str(a, ea.d, &group, "x");
  assert_int_equal(akt_sim_run_until_idle(w), 0);
  assert_int_equal(ea.got, 1);
  assert_int_equal(eb.got, 0);
  akt_sim_world_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_member_hears_a_datagram_to_the_group_the_sender_too),
      cmocka_unit_test(group_endpoints_share_a_port_and_a_plain_one_does_not),
      cmocka_unit_test(addresses_that_are_not_groups_are_refused),
      cmocka_unit_test(each_copy_meets_its_own_links_faults),
      cmocka_unit_test(a_member_closed_by_another_during_delivery_is_skipped),
      cmocka_unit_test(unicast_to_a_shared_port_reaches_one_member),
      cmocka_unit_test(a_group_without_members_drops_and_a_crash_leaves_it),
  };
  return cmocka_run_group_tests_name("sim-multicast", tests, NULL, NULL);
}
