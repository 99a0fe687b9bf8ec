"""The Debian package (deploy/CMakeLists.txt, CPack DEB).

One test builds it from the build tree with cpack, then checks what Debian
checks: lintian reports no error; its Depends (from dpkg-shlibdeps) are all
satisfied on this Debian 12 machine (`dpkg --dry-run -i`: what
`apt install ./ioc_*.deb` would need); it installs into a throwaway root with
the real dpkg, running its maintainer scripts there (`--force-script-chrootless`,
DPKG_ROOT), which create the ioc user and /var/lib/ioc; the installed units
pass `systemd-analyze verify` with the installed binaries at their paths and
keep their hardening; an installed binary accepts the installed settings;
purge removes it all but the user."""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, SOURCE

BUILD = os.path.dirname(os.path.abspath(BIN))
CPACK_CONFIG = os.path.join(BUILD, "CPackConfig.cmake")
SERVICES = ["ioc-intake", "ioc-aggregator", "ioc-alerter", "ioc-wall", "ioc-topics", "ioc-broker", "ioc-sim"]
UNITS = sorted(f for f in os.listdir(os.path.join(SOURCE, "deploy/systemd")) if f.endswith(".service"))
CONFFILES = ["/etc/ioc/ioc.yaml", "/etc/ioc/districts.yaml", "/etc/ioc/categories.yaml", "/etc/ioc/views.yaml",
             "/etc/ioc/rules.yaml", "/etc/ioc/ioc.env"]
EXEC_KEYS = ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost")
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
             "CapabilityBoundingSet": "", "Restart": None, "User": "ioc", "Group": "ioc"}


def run(argv, timeout=300, check=True, env=None):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                         env=None if env is None else {**os.environ, **env})
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {out.returncode}\n{out.stdout}\n{out.stderr}")
    return out


def unit_settings(path):
    settings = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and line[0] not in "#;[" and "=" in line:
                key, _, value = line.partition("=")
                settings.setdefault(key, []).append(value)
    return settings


class DebPackageTest(unittest.TestCase):
    def setUp(self):
        for tool in ("cpack", "dpkg", "dpkg-deb", "lintian", "systemd-analyze", "systemd-sysusers"):
            self.assertTrue(shutil.which(tool), f"{tool} is missing: run scripts/install-deps.sh")
        self.assertTrue(os.path.exists(CPACK_CONFIG), f"no {CPACK_CONFIG}: configure the build first")
        self.tmp = tempfile.mkdtemp(prefix="deb-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def build_package(self):
        out = os.path.join(self.tmp, "out")
        run(["cpack", "--config", CPACK_CONFIG, "-B", out], timeout=600)
        debs = glob.glob(os.path.join(out, "ioc_*.deb"))
        self.assertEqual(len(debs), 1, os.listdir(out))
        self.assertRegex(os.path.basename(debs[0]), r"^ioc_\d+\.\d+\.\d+_[a-z0-9]+\.deb$")
        return debs[0]

    def empty_root(self):
        """A root laid out like a merged-/usr Debian 12 system with an empty dpkg database."""
        root = os.path.join(self.tmp, "root")
        for d in ("usr/bin", "usr/lib", "usr/sbin", "etc", "var/lib/dpkg/info", "var/lib/dpkg/updates",
                  "var/lib/dpkg/triggers", "var/log"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        for link in ("bin", "lib", "sbin"):
            os.symlink(f"usr/{link}", os.path.join(root, link))
        for f in ("status", "available"):
            open(os.path.join(root, "var/lib/dpkg", f), "w").close()
        return root

    def dpkg_root(self, root, *args):
        # Maintainer scripts run without chroot, with DPKG_ROOT=root; the
        # empty root has none of the libraries the package depends on.
        return run(["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
                    f"--log={os.path.join(self.tmp, 'dpkg.log')}", *args])

    def test_package_builds_lints_installs_and_verifies(self):
        deb = self.build_package()

        # What is in it.
        fields = run(["dpkg-deb", "--field", deb]).stdout
        depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
        for lib in ("librdkafka1", "libprotobuf32", "libyaml-cpp0.7", "libprometheus-cpp-core1.0",
                    "libboost-json1.81.0", "libc6", "libstdc++6", "adduser", "procps"):
            self.assertIn(lib, depends, "Depends must come from dpkg-shlibdeps")
        files = run(["dpkg-deb", "--contents", deb]).stdout
        for s in SERVICES:
            self.assertRegex(files, rf"\./usr/bin/{s}\n")
        for u in UNITS:
            self.assertIn(f"./lib/systemd/system/{u}\n", files)
        self.assertIn("./usr/lib/sysusers.d/ioc.conf\n", files)
        self.assertIn("./usr/share/doc/ioc/copyright\n", files)
        control = os.path.join(self.tmp, "control")
        run(["dpkg-deb", "--control", deb, control])
        with open(os.path.join(control, "conffiles"), encoding="utf-8") as f:
            self.assertEqual(sorted(f.read().split()), sorted(CONFFILES))
        for script in ("postinst", "prerm", "postrm"):
            self.assertEqual(os.stat(os.path.join(control, script)).st_mode & 0o777, 0o755, script)
            run(["sh", "-n", os.path.join(control, script)])

        # Debian's checks: no lintian error (warnings are listed in the log).
        lint = run(["lintian", "--fail-on", "error", "--tag-display-limit", "0", deb], timeout=600, check=False)
        errors = [line for line in lint.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [], lint.stdout + lint.stderr)
        self.assertEqual(lint.returncode, 0, lint.stdout + lint.stderr)

        # `apt install ./ioc_*.deb` on Debian 12: every dependency is there
        # (this machine has them from Debian 12's archive). Nothing is changed.
        run(["dpkg", "--dry-run", "--install", deb])

        # A real install into a throwaway root, maintainer scripts included.
        root = self.empty_root()
        self.dpkg_root(root, "--install", deb)
        status = run(["dpkg-query", f"--root={root}", "--status", "ioc"]).stdout
        self.assertIn("Status: install ok installed", status)
        for c in CONFFILES:
            self.assertRegex(status, rf"\n {re.escape(c)} [0-9a-f]{{32}}", "conffiles are recorded")
        with open(os.path.join(root, "etc/passwd"), encoding="utf-8") as f:
            user = re.search(r"(?m)^ioc:x:(\d+):(\d+):", f.read())
        self.assertTrue(user, "postinst creates the ioc system user")
        self.assertLess(int(user.group(1)), 1000, "a system user")
        st = os.stat(os.path.join(root, "var/lib/ioc"))
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (int(user.group(1)), int(user.group(2)), 0o750),
                         "/var/lib/ioc belongs to ioc")
        for s in SERVICES:
            self.assertTrue(os.access(os.path.join(root, "usr/bin", s), os.X_OK), s)

        # The installed units: hardening and paths, then systemd-analyze
        # with the installed binaries at their ExecStart paths.
        installed = os.path.join(root, "usr/lib/systemd/system")
        for u in UNITS:
            s = unit_settings(os.path.join(installed, u))
            self.assertTrue(s["ExecStart"][0].startswith("/usr/bin/ioc-"), f"{u}: {s['ExecStart']}")
            for key, value in HARDENING.items():
                if key == "Restart" and u == "ioc-topics.service":
                    continue  # a one-shot, run again by `systemctl restart`
                expected = "on-failure" if key == "Restart" else value
                self.assertEqual(s.get(key), [expected], f"{u}: {key}")
            if u in ("ioc-intake.service", "ioc-alerter.service"):
                state = s["StateDirectory"][0]
                self.assertTrue(state.startswith("ioc/"), u)
                self.assertIn(f"=/var/lib/{state}", s["ExecStart"][0], f"{u}: its state goes to its StateDirectory")
        # What the units run besides the package's own binaries (/bin/kill
        # for ExecReload) comes from its Depends; the throwaway root has no
        # other package, so it is placed there from this host.
        for u in UNITS:
            s = unit_settings(os.path.join(installed, u))
            for key in EXEC_KEYS:
                for command in s.get(key, []):
                    path = command.lstrip("-@:+!").split()[0]
                    if path.startswith("/usr/bin/ioc-"):
                        continue
                    owner = run(["dpkg", "--search", path]).stdout.split(":")[0]
                    self.assertRegex(depends, rf"(^|, ){re.escape(owner)}( |,|$)", f"{u}: {path} is in {owner}")
                    target = os.path.join(root, path.lstrip("/"))
                    if not os.path.exists(target):
                        shutil.copy2(path, target)
        system = next(d for d in ("/usr/lib/systemd/system", "/lib/systemd/system")
                      if os.path.exists(os.path.join(d, "sysinit.target")))
        shutil.copytree(system, installed, symlinks=True, dirs_exist_ok=True,
                        ignore=lambda d, names: [n for n in names if n in UNITS])
        names = [u.replace("@.", "@9101.") for u in UNITS]
        out = run(["systemd-analyze", "verify", f"--root={root}", "--man=no", *names], timeout=120, check=False)
        lines = (out.stdout + out.stderr).splitlines()
        ours = [line for line in lines if "ioc" in line]
        self.assertEqual(ours, [], "\n".join(lines))
        self.assertEqual(out.returncode, 0, "\n".join(lines))

        # The installed binary accepts the installed settings (as the units pass them).
        for s in ("ioc-intake", "ioc-aggregator", "ioc-alerter", "ioc-wall", "ioc-topics"):
            check = run([os.path.join(root, "usr/bin", s), "--config", os.path.join(root, "etc/ioc/ioc.yaml"),
                         "--set", "kafka.bootstrap_servers=127.0.0.1:1", "--check-config"], timeout=30)
            self.assertIn("configuration OK", check.stdout, s)

        # Purge: binaries, units, settings and state go; the user stays.
        self.dpkg_root(root, "--purge", "ioc")
        self.assertFalse(os.path.exists(os.path.join(root, "usr/bin/ioc-intake")))
        self.assertFalse(os.path.exists(os.path.join(root, "etc/ioc/ioc.yaml")))
        self.assertFalse(os.path.exists(os.path.join(root, "var/lib/ioc")))
        self.assertFalse(os.path.exists(os.path.join(installed, "ioc-intake.service")))


if __name__ == "__main__":
    unittest.main()
