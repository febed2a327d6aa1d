/* The mDNS codec: real packets, compression, and the ways a hostile
 * packet can try to make a parser loop, read too far or overflow
 * (src/cluster/mdns_codec.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "akt/error.h"
#include "src/cluster/mdns_codec.h"

static akt__mdns_msg msg; /* 40 KB: not on the stack */

static akt__mdns_name name(const char *text) {
  akt__mdns_name n;
  assert_int_equal(akt__mdns_name_from_text(&n, text), 0);
  return n;
}

/* A response as Avahi sends one, with name compression: PTR
 * _akt._udp.local -> node1._akt._udp.local, SRV to node1.local:7946, and
 * the A record of node1.local. */
static const uint8_t avahi_response[] = {
    0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
    /* answer: _akt._udp.local PTR */
    0x04, '_', 'a', 'k', 't', 0x04, '_', 'u', 'd', 'p', 0x05, 'l', 'o', 'c', 'a', 'l', 0x00,
    0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x08,
    0x05, 'n', 'o', 'd', 'e', '1', 0xc0, 0x0c, /* node1 + pointer to offset 12 */
    /* additional: node1._akt._udp.local SRV (name = pointer to the PTR data at 39) */
    0xc0, 0x27, 0x00, 0x21, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x0e,
    0x00, 0x00, 0x00, 0x00, 0x1f, 0x0a, 0x05, 'n', 'o', 'd', 'e', '1', 0xc0, 0x16, /* node1.local */
    /* additional: node1.local A 10.0.0.7 (name = pointer into the SRV data at 65) */
    0xc0, 0x41, 0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 10, 0, 0, 7,
};

static void a_compressed_response_reads_as_sent(void **state) {
  (void)state;
  assert_int_equal(akt__mdns_parse(avahi_response, sizeof avahi_response, &msg), 0);
  assert_true(msg.flags & AKT__MDNS_QR);
  assert_int_equal(msg.nq, 0);
  assert_int_equal(msg.nr, 3);
  akt__mdns_name svc = name("_akt._udp.local"), inst, host = name("node1.local");
  assert_int_equal(akt__mdns_name_join(&inst, "node1", &svc), 0);
  assert_int_equal(msg.r[0].type, AKT__MDNS_PTR);
  assert_true(akt__mdns_name_eq(&msg.r[0].name, &svc));
  assert_true(akt__mdns_name_eq(&msg.r[0].target, &inst));
  assert_int_equal(msg.r[0].ttl, 4500);
  assert_false(msg.r[0].flush);
  assert_int_equal(msg.r[1].type, AKT__MDNS_SRV);
  assert_int_equal(msg.r[1].section, AKT__MDNS_ADDITIONAL);
  assert_true(msg.r[1].flush);
  assert_true(akt__mdns_name_eq(&msg.r[1].name, &inst));
  assert_true(akt__mdns_name_eq(&msg.r[1].target, &host));
  assert_int_equal(msg.r[1].port, 7946);
  assert_int_equal(msg.r[2].type, AKT__MDNS_A);
  assert_true(akt__mdns_name_eq(&msg.r[2].name, &host));
  assert_memory_equal(msg.r[2].addr, ((uint8_t[]){10, 0, 0, 7}), 4);
  assert_true(akt__mdns_name_child_of(&inst, &svc));
  assert_false(akt__mdns_name_child_of(&svc, &svc));
  char text[64];
  assert_int_equal(akt__mdns_name_host(&host, text, sizeof text), 0);
  assert_string_equal(text, "node1.local");
}

static void what_the_builder_writes_the_parser_reads(void **state) {
  (void)state;
  uint8_t buf[AKT__MDNS_SEND_MAX];
  akt__mdns_writer w;
  akt__mdns_w_init(&w, buf, sizeof buf, 0x1234, AKT__MDNS_QR | AKT__MDNS_AA);
  akt__mdns_name svc = name("_akt._udp.local");
  assert_int_equal(akt__mdns_w_question(&w, &svc, AKT__MDNS_PTR, 1), 0);
  akt__mdns_record r;
  memset(&r, 0, sizeof r);
  r.section = AKT__MDNS_ANSWER;
  r.type = AKT__MDNS_SRV;
  r.klass = AKT__MDNS_IN;
  r.flush = 1;
  r.ttl = 120;
  r.port = 7946;
  r.priority = 3;
  r.weight = 4;
  assert_int_equal(akt__mdns_name_join(&r.name, "a.b with dots", &svc), 0); /* any bytes */
  r.target = name("host.local");
  assert_int_equal(akt__mdns_w_record(&w, &r), 0);
  akt__mdns_record t;
  memset(&t, 0, sizeof t);
  t.section = AKT__MDNS_ADDITIONAL;
  t.type = AKT__MDNS_TXT;
  t.klass = AKT__MDNS_IN;
  t.name = r.name;
  assert_int_equal(akt__mdns_w_record(&w, &t), 0);
  size_t len = akt__mdns_w_finish(&w);
  assert_int_equal(akt__mdns_parse(buf, len, &msg), 0);
  assert_int_equal(msg.id, 0x1234);
  assert_int_equal(msg.nq, 1);
  assert_true(msg.q[0].unicast);
  assert_int_equal(msg.q[0].type, AKT__MDNS_PTR);
  assert_int_equal(msg.nr, 2);
  assert_true(akt__mdns_name_eq(&msg.r[0].name, &r.name));
  assert_int_equal(msg.r[0].port, 7946);
  assert_int_equal(msg.r[0].priority, 3);
  assert_int_equal(msg.r[0].weight, 4);
  assert_true(msg.r[0].flush);
  assert_int_equal(msg.r[1].type, AKT__MDNS_TXT);
  assert_int_equal(msg.r[1].section, AKT__MDNS_ADDITIONAL);
  /* A host name with a label that is no host name's. */
  char text[64];
  assert_int_equal(akt__mdns_name_host(&r.name, text, sizeof text), AKT_EINVAL);
}

static void a_record_that_does_not_fit_is_not_written(void **state) {
  (void)state;
  uint8_t buf[64];
  akt__mdns_writer w;
  akt__mdns_w_init(&w, buf, sizeof buf, 0, 0);
  akt__mdns_record r;
  memset(&r, 0, sizeof r);
  r.section = AKT__MDNS_ANSWER;
  r.type = AKT__MDNS_PTR;
  r.klass = AKT__MDNS_IN;
  r.name = name("_akt._udp.local");
  r.target = name("a-rather-long-instance-name._akt._udp.local");
  assert_int_equal(akt__mdns_w_record(&w, &r), AKT_ELIMIT);
  size_t len = akt__mdns_w_finish(&w);
  assert_int_equal(len, AKT__MDNS_HEADER);
  assert_int_equal(akt__mdns_parse(buf, len, &msg), 0);
  assert_int_equal(msg.nr, 0);
}

/* A header with the given counts, then `body`. */
static size_t packet(uint8_t *out, uint16_t qd, uint16_t an, const uint8_t *body, size_t n) {
  uint8_t h[12] = {0, 0, 0x84, 0, 0, (uint8_t)qd, 0, (uint8_t)an, 0, 0, 0, 0};
  memcpy(out, h, 12);
  memcpy(out + 12, body, n);
  return 12 + n;
}

static void hostile_names_are_refused(void **state) {
  (void)state;
  uint8_t p[600];
  /* A pointer to itself: a loop. */
  static const uint8_t self_ptr[] = {0xc0, 0x0c, 0, 1, 0, 1};
  assert_int_equal(akt__mdns_parse(p, packet(p, 1, 0, self_ptr, sizeof self_ptr), &msg), AKT_EPROTO);
  /* A pointer forward, past the end. */
  static const uint8_t fwd_ptr[] = {0xc0, 0xff, 0, 1, 0, 1};
  assert_int_equal(akt__mdns_parse(p, packet(p, 1, 0, fwd_ptr, sizeof fwd_ptr), &msg), AKT_EPROTO);
  /* Two pointers into each other (the second back at the first). */
  static const uint8_t ping_pong[] = {0x01, 'a', 0xc0, 0x0c, 0, 1, 0, 1};
  assert_int_equal(akt__mdns_parse(p, packet(p, 1, 0, ping_pong, sizeof ping_pong), &msg),
                   AKT_EPROTO);
  /* Label types 01 and 10. */
  static const uint8_t ext[] = {0x41, 'a', 0, 0, 1, 0, 1};
  assert_int_equal(akt__mdns_parse(p, packet(p, 1, 0, ext, sizeof ext), &msg), AKT_EPROTO);
  /* A label running past the end. */
  static const uint8_t past[] = {0x3f, 'a', 'b'};
  assert_int_equal(akt__mdns_parse(p, packet(p, 1, 0, past, sizeof past), &msg), AKT_EPROTO);
  /* A name longer than 255 bytes: five labels of 63. */
  uint8_t longname[5 * 64 + 5];
  size_t k = 0;
  for (int i = 0; i < 5; i++) {
    longname[k++] = 63;
    memset(longname + k, 'x', 63);
    k += 63;
  }
  longname[k++] = 0;
  memcpy(longname + k, (uint8_t[]){0, 1, 0, 1}, 4);
  k += 4;
  assert_int_equal(akt__mdns_parse(p, packet(p, 1, 0, longname, k), &msg), AKT_EPROTO);
}

static void hostile_records_are_refused(void **state) {
  (void)state;
  uint8_t p[256];
  /* An A record with 5 bytes of data. */
  static const uint8_t a5[] = {0x01, 'h', 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5};
  assert_int_equal(akt__mdns_parse(p, packet(p, 0, 1, a5, sizeof a5), &msg), AKT_EPROTO);
  /* Data longer than the packet. */
  static const uint8_t rdlong[] = {0x01, 'h', 0, 0, 1, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 1, 2, 3, 4};
  assert_int_equal(akt__mdns_parse(p, packet(p, 0, 1, rdlong, sizeof rdlong), &msg), AKT_EPROTO);
  /* An SRV whose target name runs past its data. */
  static const uint8_t srv[] = {0x01, 'h', 0,    0, 33, 0, 1, 0, 0, 0, 1, 0,   8,
                                0,    0,   0,    0, 0,  1, 2, 'x', 0, 0, 0, 0, 0};
  assert_int_equal(akt__mdns_parse(p, packet(p, 0, 1, srv, sizeof srv), &msg), AKT_EPROTO);
  /* A TXT whose strings overrun its data. */
  static const uint8_t txt[] = {0x01, 'h', 0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 2, 5, 'a'};
  assert_int_equal(akt__mdns_parse(p, packet(p, 0, 1, txt, sizeof txt), &msg), AKT_EPROTO);
  /* Counts that promise more than is there. */
  assert_int_equal(akt__mdns_parse(p, packet(p, 0, 3, a5, 0), &msg), AKT_EPROTO);
  /* Bytes after the last record. */
  static const uint8_t trailing[] = {0x01, 'h', 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4, 9};
  assert_int_equal(akt__mdns_parse(p, packet(p, 0, 1, trailing, sizeof trailing), &msg),
                   AKT_EPROTO);
  /* A non-zero opcode or rcode (RFC 6762 §18.3, §18.11). */
  static const uint8_t ok_a[] = {0x01, 'h', 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4};
  size_t n = packet(p, 0, 1, ok_a, sizeof ok_a);
  assert_int_equal(akt__mdns_parse(p, n, &msg), 0);
  p[2] |= 0x08; /* opcode 1 */
  assert_int_equal(akt__mdns_parse(p, n, &msg), AKT_EPROTO);
  p[2] &= (uint8_t)~0x08;
  p[3] |= 0x03; /* rcode 3 */
  assert_int_equal(akt__mdns_parse(p, n, &msg), AKT_EPROTO);
  /* Short headers and oversize packets. */
  assert_int_equal(akt__mdns_parse(p, 11, &msg), AKT_EPROTO);
  assert_int_equal(akt__mdns_parse(p, AKT__MDNS_PACKET_MAX + 1, &msg), AKT_ELIMIT);
}

static void records_beyond_the_limit_are_walked_and_counted(void **state) {
  (void)state;
  static uint8_t p[AKT__MDNS_PACKET_MAX];
  size_t n = 12, count = AKT__MDNS_MAX_RECORDS + 10;
  memset(p, 0, 12);
  p[2] = 0x84;
  p[6] = (uint8_t)(count >> 8);
  p[7] = (uint8_t)count;
  for (size_t i = 0; i < count; i++) {
    static const uint8_t a[] = {0x01, 'h', 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4};
    memcpy(p + n, a, sizeof a);
    n += sizeof a;
  }
  /* One record of a type akt does not read (NSEC, 47) is walked over. */
  static const uint8_t nsec[] = {0x01, 'h', 0, 0, 47, 0, 1, 0, 0, 0, 1, 0, 2, 0xab, 0xcd};
  memcpy(p + n, nsec, sizeof nsec);
  n += sizeof nsec;
  p[7] = (uint8_t)(count + 1);
  assert_int_equal(akt__mdns_parse(p, n, &msg), 0);
  assert_int_equal(msg.nr, AKT__MDNS_MAX_RECORDS);
  assert_int_equal(msg.skipped, 11);
}

static void names_from_text_are_checked(void **state) {
  (void)state;
  akt__mdns_name n;
  assert_int_equal(akt__mdns_name_from_text(&n, ""), AKT_EINVAL);
  assert_int_equal(akt__mdns_name_from_text(&n, "a..b"), AKT_EINVAL);
  char label[70];
  memset(label, 'x', 64);
  label[64] = '\0';
  assert_int_equal(akt__mdns_name_from_text(&n, label), AKT_EINVAL);
  akt__mdns_name a = name("Node1.LOCAL"), b = name("node1.local");
  assert_true(akt__mdns_name_eq(&a, &b)); /* case does not matter */
  akt__mdns_name c = name("node2.local");
  assert_false(akt__mdns_name_eq(&a, &c));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_compressed_response_reads_as_sent),
      cmocka_unit_test(what_the_builder_writes_the_parser_reads),
      cmocka_unit_test(a_record_that_does_not_fit_is_not_written),
      cmocka_unit_test(hostile_names_are_refused),
      cmocka_unit_test(hostile_records_are_refused),
      cmocka_unit_test(records_beyond_the_limit_are_walked_and_counted),
      cmocka_unit_test(names_from_text_are_checked),
  };
  return cmocka_run_group_tests_name("mdns-codec", tests, NULL, NULL);
}
