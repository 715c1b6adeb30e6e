// pcre2.h only declares the 8-bit API when the code unit width is set first.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
