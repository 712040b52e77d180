/* Section names libbpf learned after 1.1 (tc/ingress and tcx 1.3, netkit 1.3, netfilter 1.2, unix sockaddr 1.3). */
#include "corpus.h"
SEC("tc/ingress") int p_tc_in(void *ctx) { return 0; }
SEC("tc/egress") int p_tc_out(void *ctx) { return 0; }
SEC("tcx/ingress") int p_tcx_in(void *ctx) { return 0; }
SEC("tcx/egress") int p_tcx_out(void *ctx) { return 0; }
SEC("netkit/primary") int p_nk_primary(void *ctx) { return 0; }
SEC("netkit/peer") int p_nk_peer(void *ctx) { return 0; }
SEC("netfilter") int p_nf(void *ctx) { return 1; }
SEC("cgroup/connect_unix") int p_cg_unix(void *ctx) { return 1; }
LICENSE;
