// libnftables' API (nftables/libnftables.h), for WardenFirewall: declarations only. The
// module links nothing; `NftablesLibrary` opens libnftables when the first firewall context
// is created, so commands that never touch the firewall start without it.
#include <nftables/libnftables.h>
