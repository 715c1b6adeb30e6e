"""Follows one log file with fail2ban's own pyinotify backend and prints each line.

fail2ban's FilterPyinotify (with its FileFilter/FileContainer reading, decoding and
rotation checks) runs unchanged; only processLineAndAdd, where fail2ban would hand the
line to its regexes, is replaced by a write to standard output, flushed after every
read of the file, so the same line reader can time it as it times `tail -F` and warden.

    /usr/bin/python3 fail2ban_follower.py LOGFILE
"""
import sys
import time

from fail2ban.server.filterpyinotify import FilterPyinotify
from fail2ban.tests.dummyjail import DummyJail


class PrintingFilter(FilterPyinotify):
    def processLineAndAdd(self, line, date=None):
        out.write(line if line.endswith("\n") else line + "\n")

    def getFailures(self, filename, inOperation=None):
        result = super().getFailures(filename, inOperation)
        out.flush()
        return result


out = sys.stdout
log = sys.argv[1]
follower = PrintingFilter(DummyJail())
follower.addLogPath(log, tail=True)  # like a running jail: start at the end
follower.active = True
follower.start()
print("ready", file=sys.stderr, flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    follower.stop()
