#!/usr/bin/env python3
"""Runs a command, samples the memory of every process it starts, and kills it
when the machine runs low on memory.

usage: memwatch.py --out LOG.json [--interval 0.25] [--min-avail-mb 1500]
                   [--name maca,exe] -- COMMAND ...

Every interval it walks the command's process tree (by parent pid) and reads,
for each process whose name is in --name (default maca,exe), VmRSS, RssAnon,
RssFile, RssShmem and VmHWM from /proc/PID/status, and the machine's
MemAvailable from /proc/meminfo (what `free -m` calls "available"). When
MemAvailable falls below --min-avail-mb, it kills the command's process group
and every process of the tree by pid (only processes this script started)
and records that it did.

LOG.json: the command, its exit status, whether it was killed, the lowest
MemAvailable seen, and per process the maxima of the sampled values plus its
last VmHWM (the kernel's own high-water mark, which sampling cannot miss), and
the largest sum over the processes of RssAnon plus the largest RssShmem of
any of them (what the node holds when they share one window).
RssFile is the part of RSS that is file-backed (here: pages of the
memory-mapped safetensors shards); RssAnon is allocated memory.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time


def read_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("Name",):
                    out[key] = rest.strip()
                elif key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                    out[key] = int(rest.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return out


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return -1


def descendants(root):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces, so split after ')'
        ppid = int(stat[stat.rfind(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0.25)
    ap.add_argument("--min-avail-mb", type=float, default=1500)
    ap.add_argument("--name", default="maca,exe",
                    help="process names to sample, comma-separated (maca re-executes itself through "
                         "/proc/self/exe, so its name becomes 'exe')")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")

    names = set(a.name.split(","))
    t0 = time.time()
    child = subprocess.Popen(cmd, start_new_session=True)
    procs = {}
    min_avail = mem_available()
    killed = None
    max_node = 0
    timeline = []
    last_timeline = 0.0
    while True:
        rc = child.poll()
        avail = mem_available()
        min_avail = min(min_avail, avail)
        tree = descendants(child.pid) + [child.pid]
        total_anon = shmem = 0
        for pid in tree:
            st = read_status(pid)
            if not st or st.get("Name") not in names:
                continue
            p = procs.setdefault(pid, {"pid": pid, "max_VmRSS": 0, "max_RssAnon": 0, "max_RssFile": 0,
                                       "max_RssShmem": 0, "VmHWM": 0, "anon_at_max_rss": 0, "file_at_max_rss": 0})
            for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                p["max_" + k] = max(p["max_" + k], st.get(k, 0))
            if st.get("VmRSS", 0) >= p.get("_rss_for_split", -1):
                p["_rss_for_split"] = st.get("VmRSS", 0)
                p["anon_at_max_rss"] = st.get("RssAnon", 0)
                p["file_at_max_rss"] = st.get("RssFile", 0)
            p["VmHWM"] = max(p["VmHWM"], st.get("VmHWM", 0))
            total_anon += st.get("RssAnon", 0)
            shmem = max(shmem, st.get("RssShmem", 0))
        # The processes' own memory plus shared memory counted once (ranks map the same window).
        max_node = max(max_node, total_anon + shmem)
        now = time.time() - t0
        if now - last_timeline >= 5.0:
            timeline.append({"t": round(now, 1), "avail_mb": avail // 2**20, "anon_mb_all": total_anon // 2**20,
                             "shmem_mb_max": shmem // 2**20})
            last_timeline = now
        if rc is not None:
            break
        if avail >= 0 and avail < a.min_avail_mb * 2**20 and killed is None:
            killed = {"t": round(now, 1), "mem_available_bytes": avail}
            print(f"memwatch: MemAvailable {avail / 2**20:.0f} MB < {a.min_avail_mb:.0f} MB: killing the run "
                  f"(pids {tree})", file=sys.stderr, flush=True)
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for pid in tree:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(a.interval)

    for p in procs.values():
        p.pop("_rss_for_split", None)
    log = {"cmd": cmd, "returncode": child.returncode, "wall_s": round(time.time() - t0, 1), "killed": killed,
           "min_mem_available_bytes": min_avail, "max_anon_sum_plus_shmem_bytes": max_node, "interval_s": a.interval,
           "processes": sorted(procs.values(), key=lambda p: p["pid"]), "timeline": timeline}
    with open(a.out, "w") as f:
        json.dump(log, f, indent=1)
    sys.exit(child.returncode if child.returncode >= 0 else 128 - child.returncode)


if __name__ == "__main__":
    main()
