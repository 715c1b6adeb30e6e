// SwiftPM needs one source file per C target; the wrappers are static inline in the header.
#include "CLinux.h"
