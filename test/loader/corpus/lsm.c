/* lsm/: attach_btf_id is bpf_lsm_file_open; this machine's lockdown refuses LSM programs (EPERM). */
#include "corpus.h"
SEC("lsm/file_open") int lsm_open(__u64 *ctx) { return 0; }
LICENSE;
