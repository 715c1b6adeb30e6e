"""Deterministic generator of a realistic sshd auth log (Debian syslog format).

About half of the lines are failures of the kinds fail2ban's stock sshd filter
counts in its default mode (failed passwords, invalid users, too many
authentication attempts, PAM errors); the rest are what a busy server logs
besides: accepted logins with their sessions, preauth disconnects, cron,
systemd-logind and sudo. Lines of one SSH connection share the sshd pid, as in a
real log, so fail2ban's per-connection state (mlfid) sees realistic input.

Addresses: a pool of many distinct IPv4 addresses with a skewed reuse (a few
loud scanners, a long tail), and some IPv6 addresses. Time stamps increase
monotonically from the start date; the year is not written (syslog), so readers
infer it.
"""

import datetime
import random

HOST = "web1"

BOT_USERS = ["root", "admin", "test", "user", "ubuntu", "oracle", "postgres", "git",
             "guest", "ftpuser", "pi", "support", "deploy", "jenkins", "hadoop",
             "minecraft", "steam", "tomcat", "www-data", "nagios", "ansible", "dev",
             "es", "mysql", "sa", "teamspeak", "debian", "centos", "vagrant", "test1"]
REAL_USERS = ["alice", "bob", "carol", "deploy-ci"]
REAL_ADDRS = ["198.51.100.10", "198.51.100.11", "203.0.113.20", "2001:db8:cafe::10"]
COMMANDS = ["/usr/bin/apt update", "/usr/bin/systemctl restart nginx",
            "/usr/bin/journalctl -u ssh", "/usr/bin/tail -f /var/log/syslog"]


class AddressPool:
    """Attacker addresses: mostly IPv4, some IPv6; reuse skewed towards a few."""

    def __init__(self, rng, size=40000, ipv6_share=0.06):
        self.rng = rng
        self.addrs = [self._ipv6() if rng.random() < ipv6_share else self._ipv4()
                      for _ in range(size)]

    def _ipv4(self):
        r = self.rng
        first = r.choice([n for n in range(1, 224) if n not in (10, 127, 100, 169, 172, 192)])
        return "%d.%d.%d.%d" % (first, r.randrange(256), r.randrange(256), r.randrange(1, 255))

    def _ipv6(self):
        r = self.rng
        return "2a0%x:%x:%x::%x" % (r.randrange(16), r.randrange(1, 0xffff),
                                     r.randrange(0xffff), r.randrange(1, 0xffff))

    def pick(self):
        # Pareto-like reuse: low indexes (loud scanners) come up far more often.
        i = int(len(self.addrs) * (self.rng.random() ** 3))
        return self.addrs[i]


class AuthLog:
    def __init__(self, seed, start):
        self.rng = random.Random(seed)
        self.now = start
        self.pid = 20000
        self.session = 100
        self.pool = AddressPool(self.rng)

    # -- helpers ---------------------------------------------------------------

    def _stamp(self):
        self.now += datetime.timedelta(seconds=self.rng.choice((0, 0, 1, 1, 2, 3, 5, 8)))
        return "%s %2d %s" % (self.now.strftime("%b"), self.now.day, self.now.strftime("%H:%M:%S"))

    def _line(self, program, text):
        return "%s %s %s: %s" % (self._stamp(), HOST, program, text)

    def _next_pid(self):
        self.pid = 20000 + (self.pid - 19999) % 40000
        return self.pid

    def _port(self):
        return self.rng.randrange(1024, 65536)

    # -- connections -----------------------------------------------------------

    def bot_password(self):
        """A scanner guessing passwords for a few user names on one connection."""
        sshd, ip, port = "sshd[%d]" % self._next_pid(), self.pool.pick(), self._port()
        user = self.rng.choice(BOT_USERS)
        valid = user in ("root", "git", "www-data", "mysql")
        out = []
        if not valid:
            out.append(self._line(sshd, "Invalid user %s from %s port %d" % (user, ip, port)))
        tries = self.rng.choice((1, 1, 2, 3, 6))
        # Only some servers run password checks through PAM (UsePAM yes).
        via_pam = self.rng.random() < 0.3
        for _ in range(tries):
            if via_pam:
                out.append(self._line(sshd, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s%s"
                                  % (ip, "  user=" + user if valid else "")))
            out.append(self._line(sshd, "Failed password for %s%s from %s port %d ssh2"
                                  % ("" if valid else "invalid user ", user, ip, port)))
        if tries == 6:
            out.append(self._line(sshd, "error: maximum authentication attempts exceeded for %s%s from %s port %d ssh2 [preauth]"
                                  % ("" if valid else "invalid user ", user, ip, port)))
            out.append(self._line(sshd, "Disconnecting %s user %s %s port %d: Too many authentication failures [preauth]"
                                  % ("authenticating" if valid else "invalid", user, ip, port)))
        else:
            out.append(self._line(sshd, "Received disconnect from %s port %d:11: Bye Bye [preauth]" % (ip, port)))
            out.append(self._line(sshd, "Disconnected from %s user %s %s port %d [preauth]"
                                  % ("authenticating" if valid else "invalid", user, ip, port)))
        return out

    def bot_probe(self):
        """A scanner that only checks for an SSH banner or gives up early."""
        sshd, ip, port = "sshd[%d]" % self._next_pid(), self.pool.pick(), self._port()
        kind = self.rng.randrange(4)
        if kind == 0:
            return [self._line(sshd, "Connection closed by %s port %d [preauth]" % (ip, port))]
        if kind == 1:
            return [self._line(sshd, "error: kex_exchange_identification: Connection closed by remote host"),
                    self._line(sshd, "Connection closed by %s port %d" % (ip, port))]
        if kind == 2:
            return [self._line(sshd, "Unable to negotiate with %s port %d: no matching host key type found. Their offer: ssh-rsa,ssh-dss [preauth]" % (ip, port))]
        return [self._line(sshd, "Invalid user %s from %s port %d" % (self.rng.choice(BOT_USERS), ip, port)),
                self._line(sshd, "Connection closed by invalid user %s %s port %d [preauth]" % (self.rng.choice(BOT_USERS), ip, port))]

    def real_login(self):
        """A legitimate key login with its session."""
        sshd = "sshd[%d]" % self._next_pid()
        i = self.rng.randrange(len(REAL_USERS))
        user, ip, port = REAL_USERS[i], REAL_ADDRS[i], self._port()
        self.session += 1
        return [
            self._line(sshd, "Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:q0Vb3Jd8yQ1oZ6nT5cR2mW7xK4pL9sF0aE1gH2iJ3kM" % (user, ip, port)),
            self._line(sshd, "pam_unix(sshd:session): session opened for user %s(uid=1000) by (uid=0)" % user),
            self._line("systemd-logind[612]", "New session %d of user %s." % (self.session, user)),
            self._line("sudo", "   %s : TTY=pts/0 ; PWD=/home/%s ; USER=root ; COMMAND=%s" % (user, user, self.rng.choice(COMMANDS))),
            self._line("sudo", "pam_unix(sudo:session): session opened for user root(uid=0) by %s(uid=1000)" % user),
            self._line("sudo", "pam_unix(sudo:session): session closed for user root"),
            self._line(sshd, "Received disconnect from %s port %d:11: disconnected by user" % (ip, port)),
            self._line(sshd, "Disconnected from user %s %s port %d" % (user, ip, port)),
            self._line(sshd, "pam_unix(sshd:session): session closed for user %s" % user),
            self._line("systemd-logind[612]", "Session %d logged out. Waiting for processes to exit." % self.session),
            self._line("systemd-logind[612]", "Removed session %d." % self.session),
        ]

    def cron(self):
        pid = "CRON[%d]" % self._next_pid()
        return [self._line(pid, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"),
                self._line(pid, "pam_unix(cron:session): session closed for user root")]

    def lines(self, count):
        """Exactly `count` lines; the mix is tuned so about half are failures."""
        makers = [(self.bot_password, 66), (self.bot_probe, 18), (self.real_login, 5), (self.cron, 11)]
        population = [m for m, _ in makers]
        weights = [w for _, w in makers]
        produced = 0
        while produced < count:
            for line in self.rng.choices(population, weights)[0]():
                if produced == count:
                    return
                yield line
                produced += 1


def write(path, count=200000, seed=1, start="2000-02-01T00:00:00"):
    """Write the log; same arguments, same bytes."""
    log = AuthLog(seed, datetime.datetime.fromisoformat(start))
    with open(path, "w", encoding="utf-8") as f:
        for line in log.lines(count):
            f.write(line + "\n")
