/* cgotypes.h: const-qualified aliases so that cgo's generated prototypes
 * match the const parameters declared in gokpl.h. Internal to the build. */
#ifndef GOKPL_CGOTYPES_H
#define GOKPL_CGOTYPES_H
#include "gokpl.h"
typedef const char gokpl_cchar;
typedef const uint8_t gokpl_cbyte;
typedef const gokpl_record gokpl_crecord;
typedef const gokpl_tag gokpl_ctag;
typedef const gokpl_outcome gokpl_coutcome;
typedef const uint32_t gokpl_cuint32;
#endif
