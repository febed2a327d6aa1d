/* The counter actor of docs/testing.md. */
#ifndef EXAMPLES_COUNTER_H
#define EXAMPLES_COUNTER_H
#include <akt/akt.h>
extern const akt_actor_def counter_def;
#endif
