/* What status.c shares with the status's other forms (status_json.c). */
#ifndef AURIGA_STATUS_INTERNAL_H
#define AURIGA_STATUS_INTERNAL_H

#include "status/status.h"

/* The next line of *p, bounded (text_bounded), and *p moved past it; NULL after the last. */
char *status_next_line(const char **p);

/* Whether the status has a source section to show. */
int status_source_present(const struct fleet_status *s);

/* The verifications of a deployment: freed, and copied from sd onto d (status_verify.c). */
void status_verifications_release(struct status_deployment *d);
void status_verifications_copy(struct status_deployment *d, const struct status_deployment *sd);

#endif
