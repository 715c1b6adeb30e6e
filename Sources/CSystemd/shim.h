// libsystemd's journal API (sd-journal.h), for WardenSource's journal backend: declarations
// only. The module links nothing; `SystemdJournal` opens libsystemd when a jail reads the journal.
#include <systemd/sd-journal.h>
