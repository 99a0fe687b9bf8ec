"""The systemd units of deploy/systemd, as installed on a production host.

`systemd-analyze verify` loads every unit from a scratch root laid out like
that host: the units in /etc/systemd/system, the built binaries in
/usr/local/bin, this machine's own systemd units. It exits 0 after unknown
keys and bad values, only printing a warning, so any line of its output about
one of our units fails the test; a deliberately broken unit proves such lines
are seen. The settings the units pass to the services are checked with the
services' own --check-config, and the promises the README makes about the
units (restart policy, stop timeout, state directories, user) are read from
the files."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, CONFIG, SOURCE

UNITS = os.path.join(SOURCE, "deploy/systemd")
SYSUSERS = os.path.join(UNITS, "ioc.sysusers.conf")
ANALYZE = shutil.which("systemd-analyze")
SKIP = "systemd-analyze is not installed (Debian package systemd): the units are not verified"
INSTANCE = "9101"  # ioc-aggregator@.service is verified as ioc-aggregator@9101.service
SERVICES = ["ioc-intake", "ioc-aggregator@", "ioc-alerter", "ioc-wall"]  # the long-running ones


def unit_files():
    return sorted(f for f in os.listdir(UNITS) if f.endswith(".service"))


def instance_name(unit_file):
    return unit_file.replace("@.", f"@{INSTANCE}.")


def parse_unit(path):
    """[(section, key, value)] in file order (systemd allows a key twice)."""
    entries, section = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            entries.append((section, key.strip(), value.strip()))
    return entries


def values(entries, key):
    return [v for _, k, v in entries if k == key]


def seconds(span):
    """A systemd or ioc.yaml time span like 45s, 2min, 5m: seconds."""
    m = re.fullmatch(r"(\d+)\s*(s|sec|m|min)?", span)
    assert m, f"unexpected time span {span!r}"
    return int(m.group(1)) * (60 if m.group(2) in ("m", "min") else 1)


def exec_paths(entries):
    """The executables of every Exec*= line (prefixes like '-' stripped)."""
    return [v.split()[0].lstrip("-@:+!") for _, k, v in entries if k.startswith("Exec")]


@unittest.skipUnless(ANALYZE, SKIP)
class SystemdUnitsTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="unit-root-")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def place(self, path, source):
        """Puts `source` at `path` inside the root (a hard link when it can);
        a missing source is left for systemd-analyze to report."""
        target = os.path.join(self.root, path.lstrip("/"))
        if os.path.exists(target) or not os.path.exists(source):
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)

    def install(self):
        """Lays out the root as README's steps leave a host; returns the unit
        names to verify."""
        system = next(d for d in ("/usr/lib/systemd/system", "/lib/systemd/system")
                      if os.path.exists(os.path.join(d, "sysinit.target")))
        shutil.copytree(system, os.path.join(self.root, "usr/lib/systemd/system"), symlinks=True)
        for f in unit_files():
            self.place(f"/etc/systemd/system/{f}", os.path.join(UNITS, f))
            for path in exec_paths(parse_unit(os.path.join(UNITS, f))):
                name = os.path.basename(path)
                self.place(path, os.path.join(BIN, name) if name.startswith("ioc-") else path)
        return [instance_name(f) for f in unit_files()]

    def verify(self, names):
        out = subprocess.run([ANALYZE, "verify", f"--root={self.root}", "--man=no", *names],
                             capture_output=True, text=True, timeout=120)
        lines = (out.stdout + out.stderr).splitlines()
        stems = [n.split("@")[0] for n in names]
        ours = [line for line in lines if "/etc/systemd/system/" in line or any(s in line for s in stems)]
        return out.returncode, ours, lines

    def test_systemd_analyze_verify_prints_nothing_about_the_units(self):
        names = self.install()
        self.assertEqual(len(names), 5, names)
        code, ours, lines = self.verify(names)
        self.assertEqual(ours, [], "\n".join(lines))
        self.assertEqual(code, 0, "\n".join(lines))

        # The check sees a warning: a bad value is only a warning to systemd-analyze.
        with open(os.path.join(UNITS, "ioc-wall.service"), encoding="utf-8") as f:
            broken = f.read().replace("Restart=on-failure", "Restart=sometimes")
        with open(os.path.join(self.root, "etc/systemd/system/ioc-broken.service"), "w", encoding="utf-8") as f:
            f.write(broken)
        code, ours, lines = self.verify(["ioc-broken.service"])
        self.assertTrue(any("ioc-broken.service" in line and "sometimes" in line for line in ours),
                        f"exit {code}:\n" + "\n".join(lines))

    def test_sysusers_creates_the_user(self):
        sysusers = shutil.which("systemd-sysusers")
        if not sysusers:
            self.skipTest("systemd-sysusers is not installed")
        out = subprocess.run([sysusers, f"--root={self.root}", "--dry-run", SYSUSERS],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Creating user 'ioc'", out.stdout + out.stderr)


class UnitSettingsTest(unittest.TestCase):
    """What the units promise, read from the files (no systemd needed)."""

    def test_every_service_unit_restarts_stops_in_time_and_waits_for_topics(self):
        with open(CONFIG, encoding="utf-8") as f:
            shutdown = seconds(re.search(r"^\s*shutdown_timeout:\s*(\S+)", f.read(), re.M).group(1))
        self.assertEqual(sorted(f.split(".")[0] for f in unit_files()), sorted(SERVICES + ["ioc-topics"]))
        for name in SERVICES:
            e = parse_unit(os.path.join(UNITS, f"{name}.service"))
            self.assertEqual(values(e, "Restart"), ["on-failure"], name)
            self.assertEqual(values(e, "KillSignal"), ["SIGTERM"], name)
            self.assertGreater(seconds(values(e, "TimeoutStopSec")[0]), shutdown, name)
            for key in ("Wants", "After"):
                self.assertIn("ioc-topics.service", " ".join(values(e, key)).split(), f"{name} {key}")
            self.assertIn("-/etc/ioc/ioc.env", values(e, "EnvironmentFile"), name)

    def test_every_unit_runs_as_the_user_sysusers_creates(self):
        with open(SYSUSERS, encoding="utf-8") as f:
            users = [line.split()[1] for line in f if line.startswith("u ")]
        self.assertEqual(users, ["ioc"])
        for f in unit_files():
            e = parse_unit(os.path.join(UNITS, f))
            self.assertEqual((values(e, "User"), values(e, "Group")), (["ioc"], ["ioc"]), f)

    def test_state_lives_in_the_state_directory(self):
        state = {"ioc-intake": "intake.spool.dir", "ioc-alerter": "alerter.state_dir"}
        for f in unit_files():
            name = f.split(".")[0]
            e = parse_unit(os.path.join(UNITS, f))
            dirs = values(e, "StateDirectory")
            if name not in state:
                self.assertEqual(dirs, [], f"{name} keeps no files")
                continue
            self.assertEqual(dirs, [f"ioc/{name[len('ioc-'):]}"], name)
            self.assertIn(f"--set {state[name]}=/var/lib/{dirs[0]}", values(e, "ExecStart")[0], name)

    def test_the_settings_the_units_pass_are_valid(self):
        """Each ExecStart, with the repository's config for /etc/ioc/ioc.yaml,
        passes the service's own --check-config."""
        for f in unit_files():
            argv = values(parse_unit(os.path.join(UNITS, f)), "ExecStart")[0].replace("%i", INSTANCE).split()
            self.assertEqual(argv[1:3], ["--config", "/etc/ioc/ioc.yaml"], f)
            argv = [os.path.join(BIN, os.path.basename(argv[0])), "--config", CONFIG, *argv[3:],
                    "--set", "kafka.bootstrap_servers=127.0.0.1:1", "--check-config"]  # never dialled
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, f"{f}: {argv}\n{out.stdout}{out.stderr}")
            self.assertIn("configuration OK", out.stdout, f)


if __name__ == "__main__":
    unittest.main()
