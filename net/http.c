/* TEMPORARY SHIM: replaced by the NNG HTTP implementation. */
#include <errno.h>

#include "net/net.h"

int fm_net_http_serve(const char *listen, const char *path,
    const char *content_type, fm_net_http_handler handler, void *userdata,
    fm_net_http **ret) { (void)listen; (void)path; (void)content_type; (void)handler; (void)userdata; (void)ret; return -ENOTSUP; }
uint16_t fm_net_http_port(const fm_net_http *h) { (void)h; return 0; }
fm_net_http *fm_net_http_free(fm_net_http *h) { (void)h; return NULL; }
