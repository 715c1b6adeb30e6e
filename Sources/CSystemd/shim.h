// libsystemd's journal API (sd-journal.h), for WardenSource's journal backend.
#include <systemd/sd-journal.h>
