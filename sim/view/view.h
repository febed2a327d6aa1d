/* akt — the trace viewer (internal): a message sequence chart of a trace
 * as one self-contained HTML file (docs/scenarios.md, "Seeing a run").
 *
 * akt__view_write reads a trace (sim/trace.c's records), builds the chart's
 * model (model.h: lanes, messages paired send to arrival, faults as
 * bands, highlights) and writes one HTML file holding the page, the
 * viewer's CSS and JavaScript (viewer.css, viewer.js, embedded at build
 * time) and the model as JSON. The page needs nothing else: no network, no
 * external script or font.
 */
#ifndef AKT_SIM_VIEW_VIEW_H
#define AKT_SIM_VIEW_VIEW_H

#include <stddef.h>
#include <stdint.h>

/* What a chart holds. */
typedef struct akt__view_stats {
  uint64_t records;
  size_t lanes;   /* nodes */
  size_t arrows;  /* paired messages, frames and datagrams (with drops) */
  size_t bands;   /* faults with a duration */
  size_t marks;   /* highlighted records */
} akt__view_stats;

/* Writes the chart of the trace file `trace` to `html`, titled `title`.
 * Fills *stats (may be NULL). Returns 0, or a negative akt error with a
 * message in err: AKT_ENOENT (cannot read the trace), AKT_EINVAL (a line
 * that is not a trace record; err names its number), AKT_ELIMIT (more than
 * AKT__VIEW_MAX_RECORDS records), AKT_EBACKEND (cannot write the page),
 * AKT_ENOMEM. */
int akt__view_write(const char *trace, const char *html, const char *title,
                    akt__view_stats *stats, char *err, size_t errsize);

#endif
