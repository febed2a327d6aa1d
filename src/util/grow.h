/* akt — arrays that grow by doubling up to a named limit (internal).
 *
 * Most of akt's tables are arrays that start small, double when full and
 * stop at a named limit (pending requests, timers, watchers, the stash,
 * topics, scheduled messages...). One helper does it, so that every such
 * table checks its limit the same way and never grows past it.
 */
#ifndef AKT_UTIL_GROW_H
#define AKT_UTIL_GROW_H

#include <stddef.h>
#include <stdint.h>

/* Makes room for one more element in an array holding `n` elements of
 * `size` bytes in a capacity of *cap. `items` is the address of the array
 * pointer (of any object pointer type; NULL while *cap is 0). When the
 * array is full it is reallocated to twice its capacity (`initial` when it
 * has none), but never beyond `max` elements. Returns 0 (element n may be
 * written), AKT_ELIMIT (n has reached `max`) or AKT_ENOMEM; on either error
 * the array and *cap are unchanged. Requires n <= *cap and 0 < initial. */
int akt__grow(void *items, size_t size, uint32_t n, uint32_t *cap, uint32_t initial,
              uint32_t max);

#endif
