/* akt/akt.h alone declares every public header of libakt (the testkit has
 * its own library and header): this program names one function of each,
 * and with -Werror an undeclared one fails the build. */
#include "akt/akt.h"

typedef void (*any_fn)(void);

int main(void) {
  const any_fn fns[] = {
      (any_fn)akt_spawn,            /* actor.h */
      (any_fn)akt_tell,             /* message.h */
      (any_fn)akt_default_decider,  /* supervisor.h */
      (any_fn)akt_mail_message,     /* mailbox.h */
      (any_fn)akt_subscribe,        /* events.h */
      (any_fn)akt_pid_retain,       /* pid.h */
      (any_fn)akt_system_new,       /* system.h */
      (any_fn)akt_spawn_router,     /* router.h */
      (any_fn)akt_schedule,         /* scheduler.h */
      (any_fn)akt_strerror,         /* error.h */
      (any_fn)akt_remote_start,     /* remote.h */
      (any_fn)akt_sim_world_new,    /* sim.h */
      (any_fn)akt_uv_backend_new,   /* transport.h */
      (any_fn)akt_sim_main,         /* scenario.h */
  };
  /* backend.h and time.h declare types and macros only. */
  akt_backend_ops ops = {0};
  akt_duration d = AKT_SECONDS(1);
  (void)ops;
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (!fns[i]) return 1;
  return d == AKT_MILLIS(1000) ? 0 : 1;
}
