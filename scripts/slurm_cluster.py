"""A single-node SLURM in one folder, for the tests and for trying the cluster path on one
machine: munged, MariaDB and slurmdbd (accounting, unless ``--no-accounting``), slurmctld
and slurmd, every one bound to 127.0.0.1, started as root and stopped by pid.

Needs root and Debian's packages:
    apt-get install --no-install-recommends slurmctld slurmd slurm-client slurmdbd munge mariadb-server

    python scripts/slurm_cluster.py DIR      # runs until Ctrl-C, then stops every daemon
    export SLURM_CONF=DIR/slurm.conf         # in another shell: sinfo, sbatch, and
    algoperf-lite study study=smoke executor=slurm executor.partition=debug executor.gpus_per_node=0 \\
        executor.cpus_per_task=1 executor.mem_gb=1

The tests use :class:`SlurmCluster` (tests/slurm.py)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PARTITION = "debug"
DAEMONS = ("munged", "mariadbd", "mariadb-install-db", "slurmdbd", "slurmctld", "slurmd", "sbatch", "squeue")


def why_not_here() -> str | None:
    """Why a cluster cannot start on this machine (None: it can)."""
    if os.geteuid() != 0:
        return "starting SLURM's daemons needs root (SlurmUser=root, munged's key)"
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    if missing:
        return (f"{', '.join(missing)} not installed (apt-get install --no-install-recommends slurmctld slurmd "
                f"slurm-client slurmdbd munge mariadb-server)")
    return None


def _free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now (held together, so that they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _node_line() -> str:
    """This machine's node definition, as slurmd measures it (CPUs, cores, memory)."""
    line = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    return " ".join(f for f in line.split() if not f.startswith("UpTime"))


class SlurmCluster:
    """``with SlurmCluster(folder) as cluster:`` SLURM runs, with ``cluster.env`` (SLURM_CONF)
    for its clients; on exit every job is cancelled and every daemon stopped."""

    def __init__(self, folder: Path, accounting: bool = True):
        self.folder, self.accounting = Path(folder).resolve(), accounting
        self.conf = self.folder / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._daemons: list[tuple[str, subprocess.Popen]] = []

    def __enter__(self) -> SlurmCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> None:
        reason = why_not_here()
        if reason:
            raise RuntimeError(reason)
        for sub in ("munge", "db", "state", "spool", "log", "run"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        ctld_port, slurmd_port, dbd_port, db_port = _free_ports(4)
        self._start_munge()
        if self.accounting:
            self._start_mariadb(db_port, timeout)
            self._write_dbd_conf(dbd_port, db_port)
            self._start("slurmdbd", ["slurmdbd", "-D"])
            self._wait_for_port(dbd_port, "slurmdbd", timeout)
        self._write_slurm_conf(ctld_port, slurmd_port, dbd_port)
        self._start("slurmctld", ["slurmctld", "-D", "-i"])
        self._start("slurmd", ["slurmd", "-D", "-N", socket.gethostname().split(".")[0]])
        self._wait_for_node(timeout)

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = (self.folder / "log" / f"{name}.out").open("ab")
        process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self._daemons.append((name, process))
        return process

    def _start_munge(self) -> None:
        munge = self.folder / "munge"
        key = munge / "munge.key"
        if not key.exists():
            subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True, capture_output=True)
        self._start("munged", ["munged", "--foreground", "--force", f"--key-file={key}",
                               f"--socket={munge / 'munge.socket'}", f"--pid-file={munge / 'munged.pid'}",
                               f"--seed-file={munge / 'munged.seed'}", f"--log-file={self.folder / 'log' / 'munged.log'}"])
        deadline = time.monotonic() + 10
        while not (munge / "munge.socket").exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"munged did not start: {self._log_tail('munged')}")
            time.sleep(0.05)

    def _start_mariadb(self, port: int, timeout: float) -> None:
        data = self.folder / "db"
        if not (data / "mysql").is_dir():
            subprocess.run(["mariadb-install-db", f"--datadir={data}", "--user=root", "--skip-test-db",
                            "--auth-root-authentication-method=normal"],
                           check=True, capture_output=True)
        self._start("mariadbd", ["mariadbd", "--no-defaults", f"--datadir={data}", "--user=root",
                                 "--bind-address=127.0.0.1", f"--port={port}", f"--socket={self.folder / 'run' / 'db.sock'}",
                                 f"--pid-file={self.folder / 'run' / 'db.pid'}", "--skip-name-resolve",
                                 "--innodb-buffer-pool-size=32M", "--skip-log-bin"])
        self._wait_for_port(port, "mariadbd", timeout)

    def _write_dbd_conf(self, dbd_port: int, db_port: int) -> None:
        path = self.folder / "slurmdbd.conf"
        path.write_text(f"""\
AuthType=auth/munge
AuthInfo=socket={self.folder / 'munge' / 'munge.socket'}
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={dbd_port}
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={db_port}
StorageUser=root
StorageLoc=slurm_acct_db
PidFile={self.folder / 'run' / 'slurmdbd.pid'}
LogFile={self.folder / 'log' / 'slurmdbd.log'}
""")
        path.chmod(0o600)  # slurmdbd refuses a config that others can read

    def _write_slurm_conf(self, ctld_port: int, slurmd_port: int, dbd_port: int) -> None:
        f = self.folder
        accounting = (f"AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=127.0.0.1\n"
                      f"AccountingStoragePort={dbd_port}\nAccountingStoragePass={f / 'munge' / 'munge.socket'}\n"
                      f"JobAcctGatherType=jobacct_gather/linux\n"
                      if self.accounting else "AccountingStorageType=accounting_storage/none\n")
        self.conf.write_text(f"""\
ClusterName=algoperf
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
AuthInfo=socket={f / 'munge' / 'munge.socket'}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={f / 'state'}
SlurmdSpoolDir={f / 'spool'}
SlurmctldPidFile={f / 'run' / 'slurmctld.pid'}
SlurmdPidFile={f / 'run' / 'slurmd.pid'}
SlurmctldLogFile={f / 'log' / 'slurmctld.log'}
SlurmdLogFile={f / 'log' / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=600
{accounting}{_node_line()} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")

    def _wait_for_port(self, port: int, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self._exited(name):
                    raise RuntimeError(f"{name} did not start: {self._log_tail(name)}") from None
                time.sleep(0.1)

    def _wait_for_node(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            state = self.run("sinfo", "-h", "-o", "%T", check=False).stdout.strip()
            if state in ("idle", "mixed", "allocated"):
                return
            if time.monotonic() > deadline or self._exited("slurmctld") or self._exited("slurmd"):
                raise RuntimeError(f"the node did not come up (sinfo: {state!r}): slurmctld: "
                                   f"{self._log_tail('slurmctld')}; slurmd: {self._log_tail('slurmd')}")
            time.sleep(0.1)

    def _exited(self, name: str) -> bool:
        return any(n == name and p.poll() is not None for n, p in self._daemons)

    def _log_tail(self, name: str, lines: int = 5) -> str:
        texts = [p.read_text(errors="replace") for p in sorted((self.folder / "log").glob(f"{name}.*"))]
        return " | ".join("\n".join(texts).strip().splitlines()[-lines:]) or "(no log)"

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        return subprocess.run(list(command), env=self.env, capture_output=True, text=True, check=check)

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel every job, wait until their processes are gone, stop the daemons (in the
        reverse order of their start), each by its pid; raises if something would not stop."""
        if any(n == "slurmctld" and p.poll() is None for n, p in self._daemons):
            self.run("scancel", "--full", "--user=root", check=False)
            deadline = time.monotonic() + timeout
            while (self.run("squeue", "-h", check=False).stdout.strip() or self._job_steps()) \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
        for pid in self._job_steps():  # a job step that outlived its cancellation
            os.kill(pid, signal.SIGKILL)
        left = []
        for name, process in reversed(self._daemons):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    left.append(name)
        self._daemons.clear()
        if left:
            raise RuntimeError(f"{', '.join(left)} did not stop on SIGTERM within {timeout:.0f} s: killed")

    def _job_steps(self) -> list[int]:
        """The pids of this cluster's slurmstepd processes (they hold slurmd's log open)."""
        log = str(self.folder / "log" / "slurmd.log")
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if (proc / "comm").read_text().strip() != "slurmstepd":
                    continue
                if any(os.readlink(fd) == log for fd in (proc / "fd").iterdir()):
                    pids.append(int(proc.name))
            except OSError:  # gone meanwhile
                continue
        return pids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where its config, state, logs and database go")
    parser.add_argument("--no-accounting", action="store_true", help="no slurmdbd, no MariaDB: sacct does not work")
    args = parser.parse_args()
    reason = why_not_here()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    started = time.monotonic()
    with SlurmCluster(args.folder, accounting=not args.no_accounting) as cluster:
        print(f"SLURM up in {time.monotonic() - started:.1f} s (partition {PARTITION}"
              f"{', accounting' if cluster.accounting else ', no accounting'}); in another shell:\n"
              f"  export SLURM_CONF={cluster.conf}\nCtrl-C stops it.", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill PID stops it as Ctrl-C does
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
