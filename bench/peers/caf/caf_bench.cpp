// caf_bench — akt's benchmark workloads written for CAF 0.17 (the C++ Actor
// Framework), so that akt's numbers can be read beside a mature peer's.
//
// Build (Debian 12, libcaf-dev 0.17.6 ships no pkg-config file):
//   g++ -O2 -std=c++17 -o caf_bench caf_bench.cpp -lcaf_core -pthread
// Run:
//   caf_bench [--quick] [--reps N] [--workers N] [WORKLOAD...]
// WORKLOAD is one of tell pingpong request ask fanin spawn memory threadring;
// none means all of them, in that order. Each workload runs once as a
// warm-up and then 5 times (1 with --quick, which also divides every count
// by 10; N times with --reps N); the median goes to stdout as one line
//   workload<TAB>caf<TAB>metric<TAB>value
// and nothing else goes to stdout. Progress and failures go to stderr. The
// exit status is 1 if any workload failed its check, 2 on bad arguments.
//
// `memory` reads glibc's allocator statistics (mallinfo2), which cover only
// the allocator's main arena; the program therefore limits glibc to one
// arena when `memory` is among the workloads (before CAF's worker threads
// start), and run.sh runs `memory` in a process of its own so that the other
// workloads keep the default per-thread arenas.
//
// The scheduler is CAF's default: max(hardware threads, 4) workers, so 4 on
// a 2-core machine. --workers N changes it, for experiments only.

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "caf/all.hpp"

namespace {

// Message tags. CAF predefines get_atom, ping_atom and pong_atom; these are
// the rest. An atom is at most 10 characters.
using msg_atom = caf::atom_constant<caf::atom("msg")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using echo_atom = caf::atom_constant<caf::atom("echo")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using next_atom = caf::atom_constant<caf::atom("next")>;
using token_atom = caf::atom_constant<caf::atom("token")>;

// akt's request and ask always carry a timeout, so the peers' do too: in CAF
// a finite timeout costs a timer entry per request, which `infinite` would
// skip, and leaving it out would flatter CAF against akt.
constexpr auto request_timeout = std::chrono::seconds(10);

// How long the main thread waits for a workload to report that it is done
// before it declares the workload hung.
constexpr auto done_timeout = std::chrono::seconds(120);

// Counts of one run. The same numbers as akt's bench (bench/bench.h).
struct params {
  int64_t tell = 2000000;
  int64_t pingpong = 500000;
  int64_t request = 200000;
  int64_t ask = 100000;
  int64_t fanin = 2000000;
  int64_t fanin_producers = 8;
  int64_t spawn = 100000;
  int64_t memory_actors = 100000;
  int64_t ring_hops = 1000000;
  int64_t ring_size = 503;
  int reps = 5;
};

// A workload that did not do its work throws this; main reports it and
// moves on to the next workload.
struct bench_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(bool ok, const std::string& what) {
  if (!ok)
    throw bench_failure(what);
}

using clock_type = std::chrono::steady_clock;

double ns_since(clock_type::time_point t0) {
  return static_cast<double>(
    std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0)
      .count());
}

// Blocks `self` until an actor sends (done_atom, n) and returns n; a
// workload that never finishes becomes a failure, not a hung benchmark.
int64_t await_done(caf::scoped_actor& self, const char* workload) {
  int64_t n = -1;
  bool timed_out = false;
  self->receive([&](done_atom, int64_t x) { n = x; },
                caf::after(done_timeout) >> [&] { timed_out = true; });
  check(!timed_out, std::string(workload) + ": no done message within "
                      + std::to_string(done_timeout.count()) + " s");
  return n;
}

// Receives `n` messages that `handler` matches and returns how many came
// before one took longer than done_timeout. (receive_for would count a
// timeout as a message and go on waiting.)
template <class F>
int64_t receive_n(caf::scoped_actor& self, int64_t n, F handler) {
  int64_t got = 0;
  for (bool timed_out = false; got < n && !timed_out;) {
    self->receive(handler,
                  caf::after(done_timeout) >> [&] { timed_out = true; });
    got += timed_out ? 0 : 1;
  }
  return got;
}

// Stops actors that a workload no longer needs. Teardown is not measured.
void stop_all(const std::vector<caf::actor>& actors) {
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

// -- tell --------------------------------------------------------------------

struct counter_state {
  int64_t count = 0;
};

// Counts (msg, n) messages and tells the count when asked for it.
caf::behavior counter(caf::stateful_actor<counter_state>* self) {
  return {
    [=](msg_atom, int64_t) { ++self->state.count; },
    [=](caf::get_atom) { return self->state.count; },
  };
}

// The producer is the main thread, outside any actor: it sends with
// anon_send, then asks for the count, whose reply proves that the counter
// has processed every message.
double wl_tell(caf::actor_system& sys, const params& p) {
  caf::scoped_actor self{sys};
  auto c = sys.spawn(counter);
  auto t0 = clock_type::now();
  for (int64_t i = 0; i < p.tell; ++i)
    caf::anon_send(c, msg_atom::value, i);
  int64_t got = -1;
  self->request(c, done_timeout, caf::get_atom::value)
    .receive([&](int64_t n) { got = n; },
             [&](caf::error& e) {
               throw bench_failure("tell: get failed: " + sys.render(e));
             });
  double ns = ns_since(t0);
  stop_all({c});
  check(got == p.tell, "tell: counted " + std::to_string(got) + " of "
                         + std::to_string(p.tell));
  return ns / static_cast<double>(p.tell);
}

// -- pingpong ----------------------------------------------------------------

// Answers every ping with a pong: a handler's result goes back to the sender.
caf::behavior pong_actor(caf::event_based_actor*) {
  return {
    [](caf::ping_atom, int64_t n) {
      return std::make_tuple(caf::pong_atom::value, n);
    },
  };
}

struct ping_state {
  int64_t rounds = 0;
};

// Serves (start, m): m round trips with `pong`, then (done, rounds) to
// `main`.
caf::behavior ping_actor(caf::stateful_actor<ping_state>* self, caf::actor pong,
                         caf::actor main) {
  return {
    [=](start_atom, int64_t m) { self->send(pong, caf::ping_atom::value, m); },
    [=](caf::pong_atom, int64_t n) {
      ++self->state.rounds;
      if (n > 1)
        self->send(pong, caf::ping_atom::value, n - 1);
      else
        self->send(main, done_atom::value, self->state.rounds);
    },
  };
}

double wl_pingpong(caf::actor_system& sys, const params& p) {
  caf::scoped_actor self{sys};
  auto pong = sys.spawn(pong_actor);
  auto ping = sys.spawn(ping_actor, pong, caf::actor{self});
  auto t0 = clock_type::now();
  caf::anon_send(ping, start_atom::value, p.pingpong);
  int64_t rounds = await_done(self, "pingpong");
  double ns = ns_since(t0);
  stop_all({ping, pong});
  check(rounds == p.pingpong, "pingpong: " + std::to_string(rounds)
                                + " round trips of "
                                + std::to_string(p.pingpong));
  return ns / static_cast<double>(p.pingpong);
}

// -- request and ask ---------------------------------------------------------

// Replies to (echo, n) with n.
caf::behavior echo_actor(caf::event_based_actor*) {
  return {
    [](echo_atom, int64_t n) { return n; },
  };
}

struct requester_state {
  caf::actor echo;
  caf::actor main;
  int64_t next = 0;  // the number the next request carries
  int64_t total = 0; // requests to make
};

// Makes the next request; its reply handler makes the one after, so exactly
// one request is outstanding at a time.
void request_next(caf::stateful_actor<requester_state>* self) {
  int64_t i = self->state.next;
  self->request(self->state.echo, request_timeout, echo_atom::value, i)
    .then(
      [=](int64_t r) {
        auto& st = self->state;
        if (r != i) {
          self->send(st.main, done_atom::value, int64_t{-1});
          return;
        }
        if (++st.next == st.total)
          self->send(st.main, done_atom::value, st.next);
        else
          request_next(self);
      },
      [=](caf::error&) {
        self->send(self->state.main, done_atom::value, int64_t{-1});
      });
}

// Serves (start, k): k sequential requests to `echo`, then (done, k) to
// `main`, or (done, -1) if a reply was wrong or missing.
caf::behavior requester(caf::stateful_actor<requester_state>* self,
                        caf::actor echo, caf::actor main) {
  self->state.echo = std::move(echo);
  self->state.main = std::move(main);
  return {
    [=](start_atom, int64_t k) {
      self->state.next = 0;
      self->state.total = k;
      request_next(self);
    },
  };
}

double wl_request(caf::actor_system& sys, const params& p) {
  caf::scoped_actor self{sys};
  auto echo = sys.spawn(echo_actor);
  auto req = sys.spawn(requester, echo, caf::actor{self});
  auto t0 = clock_type::now();
  caf::anon_send(req, start_atom::value, p.request);
  int64_t done = await_done(self, "request");
  double ns = ns_since(t0);
  stop_all({req, echo});
  check(done == p.request, "request: " + std::to_string(done)
                             + " replies of " + std::to_string(p.request));
  return ns / static_cast<double>(p.request);
}

// The asker is the main thread: a scoped_actor blocks on each reply.
double wl_ask(caf::actor_system& sys, const params& p) {
  caf::scoped_actor self{sys};
  auto echo = sys.spawn(echo_actor);
  int64_t good = 0;
  auto t0 = clock_type::now();
  for (int64_t i = 0; i < p.ask; ++i) {
    self->request(echo, request_timeout, echo_atom::value, i)
      .receive([&](int64_t r) { good += (r == i); },
               [&](caf::error& e) {
                 throw bench_failure("ask: request failed: " + sys.render(e));
               });
  }
  double ns = ns_since(t0);
  stop_all({echo});
  check(good == p.ask, "ask: " + std::to_string(good) + " right replies of "
                         + std::to_string(p.ask));
  return ns / static_cast<double>(p.ask);
}

// -- fanin -------------------------------------------------------------------

struct consumer_state {
  int64_t count = 0;
};

// Counts (msg, n) messages; at the `expected`-th it tells `main`.
caf::behavior consumer(caf::stateful_actor<consumer_state>* self,
                       int64_t expected, caf::actor main) {
  return {
    [=](msg_atom, int64_t) {
      if (++self->state.count == expected)
        self->send(main, done_atom::value, self->state.count);
    },
  };
}

// Serves (start, n): sends n messages to `sink` in one turn.
caf::behavior producer(caf::event_based_actor* self, caf::actor sink) {
  return {
    [=](start_atom, int64_t n) {
      for (int64_t i = 0; i < n; ++i)
        self->send(sink, msg_atom::value, i);
    },
  };
}

double wl_fanin(caf::actor_system& sys, const params& p) {
  caf::scoped_actor self{sys};
  int64_t per = p.fanin / p.fanin_producers;
  int64_t total = per * p.fanin_producers;
  auto sink = sys.spawn(consumer, total, caf::actor{self});
  std::vector<caf::actor> actors{sink};
  for (int64_t i = 0; i < p.fanin_producers; ++i)
    actors.push_back(sys.spawn(producer, sink));
  auto t0 = clock_type::now();
  for (size_t i = 1; i < actors.size(); ++i)
    caf::anon_send(actors[i], start_atom::value, per);
  int64_t got = await_done(self, "fanin");
  double ns = ns_since(t0);
  stop_all(actors);
  check(got == total, "fanin: consumed " + std::to_string(got) + " of "
                        + std::to_string(total));
  return ns / static_cast<double>(total);
}

// -- spawn and memory --------------------------------------------------------

// An actor that does nothing until told to stop.
caf::behavior idle_actor(caf::event_based_actor* self) {
  return {
    [=](stop_atom) { self->quit(); },
  };
}

// Spawns S monitored idle actors, stops them all and waits for every
// down_msg: the clock stops when the last actor is gone.
double wl_spawn(caf::actor_system& sys, const params& p) {
  caf::scoped_actor self{sys};
  std::vector<caf::actor> actors;
  actors.reserve(static_cast<size_t>(p.spawn));
  auto t0 = clock_type::now();
  for (int64_t i = 0; i < p.spawn; ++i)
    actors.push_back(self->spawn<caf::monitored>(idle_actor));
  for (auto& a : actors)
    self->send(a, stop_atom::value);
  actors.clear();
  int64_t downs = receive_n(self, p.spawn, [](const caf::down_msg&) {});
  double ns = ns_since(t0);
  check(downs == p.spawn,
        "spawn: " + std::to_string(downs) + " of " + std::to_string(p.spawn)
          + " actors stopped");
  return ns / static_cast<double>(p.spawn);
}

// An idle actor that first reports, from its own initialisation, that it
// exists: then the measurement sees every actor with its behaviour built.
caf::behavior ready_idle_actor(caf::event_based_actor* self, caf::actor main) {
  self->send(main, ready_atom::value);
  return {
    [=](stop_atom) { self->quit(); },
  };
}

// Bytes the allocator has handed out and not had back, large mappings
// included. Only meaningful with one arena (see the top of this file).
size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

// Resident set size in bytes, or 0 if /proc cannot tell.
size_t rss_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr)
    return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
    resident = 0;
  std::fclose(f);
  return static_cast<size_t>(resident) * 4096;
}

double wl_memory(caf::actor_system& sys, const params& p) {
  caf::scoped_actor self{sys};
  // The handles are bookkeeping of the benchmark, not part of an actor:
  // reserving them first keeps them out of the difference.
  std::vector<caf::actor> actors;
  actors.reserve(static_cast<size_t>(p.memory_actors));
  caf::actor main{self};
  size_t heap0 = heap_in_use();
  size_t rss0 = rss_bytes();
  for (int64_t i = 0; i < p.memory_actors; ++i)
    actors.push_back(sys.spawn(ready_idle_actor, main));
  int64_t ready = receive_n(self, p.memory_actors, [](ready_atom) {});
  size_t heap1 = heap_in_use();
  size_t rss1 = rss_bytes();
  check(ready == p.memory_actors, "memory: " + std::to_string(ready) + " of "
                      + std::to_string(p.memory_actors) + " actors started");
  // RSS only grows in the first run: later runs reuse what earlier ones
  // freed. It is printed to cross-check the allocator's figure.
  std::fprintf(stderr, "caf: memory: heap %+.0f B/actor, rss %+.0f B/actor\n",
               (static_cast<double>(heap1) - static_cast<double>(heap0))
                 / static_cast<double>(p.memory_actors),
               (static_cast<double>(rss1) - static_cast<double>(rss0))
                 / static_cast<double>(p.memory_actors));
  // Stopping is not measured, but the next run must start from a heap
  // without these actors.
  for (auto& a : actors) {
    self->monitor(a);
    self->send(a, stop_atom::value);
  }
  actors.clear();
  int64_t downs = receive_n(self, p.memory_actors, [](const caf::down_msg&) {});
  check(downs == p.memory_actors, "memory: actors did not stop");
  check(heap1 > heap0, "memory: the heap did not grow");
  return (static_cast<double>(heap1) - static_cast<double>(heap0))
         / static_cast<double>(p.memory_actors);
}

// -- threadring --------------------------------------------------------------

struct ring_state {
  caf::actor next;
};

// One node of the ring: passes (token, n) on as (token, n-1); the node that
// receives (token, 0) tells `main`.
caf::behavior ring_node(caf::stateful_actor<ring_state>* self, caf::actor main,
                        int64_t hops) {
  return {
    [=](next_atom, caf::actor next) { self->state.next = std::move(next); },
    [=](token_atom, int64_t n) {
      if (n > 0)
        self->send(self->state.next, token_atom::value, n - 1);
      else
        self->send(main, done_atom::value, hops);
    },
  };
}

double wl_threadring(caf::actor_system& sys, const params& p) {
  caf::scoped_actor self{sys};
  std::vector<caf::actor> ring;
  for (int64_t i = 0; i < p.ring_size; ++i)
    ring.push_back(sys.spawn(ring_node, caf::actor{self}, p.ring_hops));
  // Each link is sent before the token is, so it is in its node's mailbox
  // before the token can reach that node.
  for (size_t i = 0; i < ring.size(); ++i)
    caf::anon_send(ring[i], next_atom::value, ring[(i + 1) % ring.size()]);
  auto t0 = clock_type::now();
  caf::anon_send(ring[0], token_atom::value, p.ring_hops);
  int64_t hops = await_done(self, "threadring");
  double ns = ns_since(t0);
  stop_all(ring);
  check(hops == p.ring_hops, "threadring: bad done message");
  return ns / static_cast<double>(p.ring_hops);
}

// -- driver ------------------------------------------------------------------

struct workload {
  const char* name;
  const char* metric;
  double (*fn)(caf::actor_system&, const params&);
  bool integer; // print the value as an integer (bytes), not ns
};

const workload workloads[] = {
  {"tell", "ns_per_msg", wl_tell, false},
  {"pingpong", "ns_per_op", wl_pingpong, false},
  {"request", "ns_per_op", wl_request, false},
  {"ask", "ns_per_op", wl_ask, false},
  {"fanin", "ns_per_msg", wl_fanin, false},
  {"spawn", "ns_per_op", wl_spawn, false},
  {"memory", "bytes_per_actor", wl_memory, true},
  {"threadring", "ns_per_op", wl_threadring, false},
};

const workload* find_workload(const char* name) {
  for (auto& w : workloads)
    if (std::strcmp(w.name, name) == 0)
      return &w;
  return nullptr;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  size_t n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

// Runs one workload: a warm-up, then p.reps measured runs; prints the
// median. Returns false if any run failed its check.
bool run_workload(caf::actor_system& sys, const params& p, const workload& w) {
  std::vector<double> values;
  try {
    for (int rep = 0; rep <= p.reps; ++rep) {
      double v = w.fn(sys, p);
      if (rep == 0) {
        std::fprintf(stderr, "caf: %s warm-up %.1f %s\n", w.name, v, w.metric);
        continue;
      }
      std::fprintf(stderr, "caf: %s rep %d/%d %.1f %s\n", w.name, rep, p.reps,
                   v, w.metric);
      values.push_back(v);
    }
  } catch (const bench_failure& e) {
    std::fprintf(stderr, "caf: FAILED %s\n", e.what());
    return false;
  }
  double m = median(values);
  if (w.integer)
    std::printf("%s\tcaf\t%s\t%.0f\n", w.name, w.metric, m);
  else
    std::printf("%s\tcaf\t%s\t%.1f\n", w.name, w.metric, m);
  std::fflush(stdout);
  return true;
}

int usage() {
  std::fprintf(stderr, "usage: caf_bench [--quick] [--reps N] [--workers N] "
                       "[WORKLOAD...]\n"
                       "WORKLOAD: tell pingpong request ask fanin spawn memory "
                       "threadring\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  params p;
  bool quick = false;
  long workers = 0;
  long reps = 0; // 0: the default (p.reps, or 1 with --quick)
  std::vector<const workload*> todo;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
      workers = std::strtol(argv[++i], nullptr, 10);
      if (workers < 1)
        return usage();
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::strtol(argv[++i], nullptr, 10);
      if (reps < 1 || reps > 1000)
        return usage();
    } else if (auto w = find_workload(argv[i])) {
      todo.push_back(w);
    } else {
      return usage();
    }
  }
  if (todo.empty())
    for (auto& w : workloads)
      todo.push_back(&w);
  if (quick) {
    for (int64_t* c : {&p.tell, &p.pingpong, &p.request, &p.ask, &p.fanin,
                       &p.spawn, &p.memory_actors, &p.ring_hops})
      *c /= 10;
    p.reps = 1;
  }
  if (reps > 0)
    p.reps = static_cast<int>(reps);
  bool measures_memory = std::find(todo.begin(), todo.end(),
                                   find_workload("memory"))
                         != todo.end();
  if (measures_memory) {
    // Must precede the first thread: see the top of this file.
    mallopt(M_ARENA_MAX, 1);
    if (todo.size() > 1)
      std::fprintf(stderr, "caf: note: memory limits malloc to one arena for "
                           "every workload of this process\n");
  }
  caf::actor_system_config cfg;
  if (workers > 0)
    cfg.set("scheduler.max-threads", static_cast<size_t>(workers));
  bool ok = true;
  {
    caf::actor_system sys{cfg};
    std::fprintf(stderr, "caf: CAF %d.%d.%d, %zu scheduler workers%s\n",
                 CAF_MAJOR_VERSION, CAF_MINOR_VERSION, CAF_PATCH_VERSION,
                 sys.scheduler().num_workers(), quick ? ", quick" : "");
    for (auto w : todo)
      ok = run_workload(sys, p, *w) && ok;
    if (!ok) {
      // A failed workload may have left actors running, and the system's
      // destructor would wait for them forever.
      std::fflush(stdout);
      std::_Exit(1);
    }
  }
  return 0;
}
