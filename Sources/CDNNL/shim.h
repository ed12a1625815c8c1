#include <oneapi/dnnl/dnnl.h>
/* Execution-argument indices: chained macros that Swift does not import. */
static const int TWEEDIE_DNNL_ARG_SRC = DNNL_ARG_SRC;
static const int TWEEDIE_DNNL_ARG_WEIGHTS = DNNL_ARG_WEIGHTS;
static const int TWEEDIE_DNNL_ARG_BIAS = DNNL_ARG_BIAS;
static const int TWEEDIE_DNNL_ARG_DST = DNNL_ARG_DST;
static const int TWEEDIE_DNNL_ARG_FROM = DNNL_ARG_FROM;
static const int TWEEDIE_DNNL_ARG_TO = DNNL_ARG_TO;
static const int TWEEDIE_DNNL_ARG_DIFF_SRC = DNNL_ARG_DIFF_SRC;
static const int TWEEDIE_DNNL_ARG_DIFF_DST = DNNL_ARG_DIFF_DST;
static const int TWEEDIE_DNNL_ARG_DIFF_WEIGHTS = DNNL_ARG_DIFF_WEIGHTS;
static const int TWEEDIE_DNNL_ARG_DIFF_BIAS = DNNL_ARG_DIFF_BIAS;
