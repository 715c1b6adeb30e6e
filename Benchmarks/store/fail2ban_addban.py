# fail2ban 1.0.2's own Fail2BanDb.addBan, one ban per call (each call is one commit, as
# in fail2ban's observer), timed the same way as warden's store benchmark.
import os, statistics, sys, time
from fail2ban.server.database import Fail2BanDb
from fail2ban.server.ticket import FailTicket

class Actions:
    def getBanTime(self): return 600

class Jail:
    def __init__(self, name): self.name, self.actions, self.idle = name, Actions(), False

path = sys.argv[1]
count = int(sys.argv[2])
for suffix in ("", "-journal"):
    if os.path.exists(path + suffix): os.unlink(path + suffix)
db = Fail2BanDb(path)
jail = Jail("sshd")
db.addJail(jail)
latencies = []
for index in range(count):
    ticket = FailTicket("10.%d.%d.%d" % (index >> 16 & 255, index >> 8 & 255, index & 255), 1_700_000_000 + index)
    start = time.monotonic_ns()
    db.addBan(jail, ticket)
    latencies.append(time.monotonic_ns() - start)
latencies.sort()
print("single_median_us %.1f" % (latencies[len(latencies) // 2] / 1000))
print("single_p99_us %.1f" % (latencies[len(latencies) * 99 // 100] / 1000))
