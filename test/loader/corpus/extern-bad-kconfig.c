/* A .kconfig value its type cannot hold (a string into a char): refused. */
#include "corpus.h"
extern char CONFIG_DEFAULT_HOSTNAME __kconfig;
SEC("socket") int bad(void *ctx) { return CONFIG_DEFAULT_HOSTNAME; }
LICENSE;
