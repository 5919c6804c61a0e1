/*
 * internal.h - every layer's internal header at once, for white-box code outside mm/ (unit tests,
 * fuzz targets and their checker) that reads or corrupts mm internals on purpose. Not public.
 *
 * Nothing inside mm/ includes it: a file of mm/ includes its own layer's internal header, which
 * includes the core (lib/core.h: mm_state and its per-layer parts) and what it may use below it
 * (mm/tools/layers.sh checks this).
 */
#ifndef LEAXOS_MM_INTERNAL_H
#define LEAXOS_MM_INTERNAL_H

#include "lib/core.h"
#include "physical/phys_internal.h"
#include "heap/slab_internal.h"
#include "virtual/vm_internal.h"
#include "virtual/mmap_internal.h"
#include "swap/swap_internal.h"
#include "protection/prot_internal.h"

#endif /* LEAXOS_MM_INTERNAL_H */
