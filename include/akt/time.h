/* akt — durations.
 *
 * All akt times are unsigned 64-bit nanoseconds: monotonic instants from the
 * backend's clock (virtual in the simulator) and durations alike.
 */
#ifndef AKT_TIME_H
#define AKT_TIME_H

#include <stdint.h>

typedef uint64_t akt_duration; /* nanoseconds */

#define AKT_NANOS(n) ((akt_duration)(n))
#define AKT_MICROS(n) ((akt_duration)(n) * UINT64_C(1000))
#define AKT_MILLIS(n) ((akt_duration)(n) * UINT64_C(1000000))
#define AKT_SECONDS(n) ((akt_duration)(n) * UINT64_C(1000000000))

/* A deadline that never passes. */
#define AKT_FOREVER UINT64_MAX

#endif
