#include <zlib.h>

// inflateInit2 is a macro over inflateInit2_ (it passes the header's version and sizeof(z_stream) for zlib's
// compatibility check), so Swift cannot call it directly.
static inline int tweedie_inflate_init2(z_streamp stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}
