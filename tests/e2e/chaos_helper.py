#!/usr/bin/env python3
"""Helpers for tests/e2e/chaos.sh (python3 stdlib only).

  schedule SEED COUNT MEMBERS ROUTERS NATTED
                                        the event list, one per line: KIND ARGS... (deterministic
                                        in SEED: shuffled rounds of every kind, random targets and
                                        parameters)
  wait T0 BOUND EXTRA LIVE PINGDIR STATE [CARRIED]
                                        waits until every ordered pair of LIVE members (comma
                                        separated) has answered a ping sent after T0 (epoch
                                        seconds), reading the `ping -D` logs PINGDIR/SRC-DST.log
                                        from the offsets kept in STATE. Gives up at T0 + BOUND +
                                        EXTRA. Prints "SECONDS|-" "missing-at-bound" "missing-at-end"
                                        "slowest pairs" "carried-still-missing" "carried-recovered":
                                        exit 0 if within BOUND, 1 otherwise.
  sample PIDS OUT STOPFILE              every second, VmRSS/fds/threads of the pids listed in
                                        PIDS ("name pid" lines) appended to OUT, until STOPFILE
                                        exists (bounded at 4 h)
  resources OUT T_START T_END           compares first and last quarter of the run per daemon
  report RESULTS                        the table per kind: count, median, p99, max, failures
"""
import json, math, os, random, sys, time

KINDS = ["kill_port", "kill_switch", "kill_pair", "link_flap", "nat_flush", "addr_change",
         "loss", "reorder", "duplicate", "mtu", "member_cycle", "handshake_flood"]


def schedule(seed, count, members, routers, natted):
    rng = random.Random(int(seed))
    members = members.split(","); routers = routers.split(","); natted = natted.split(",")
    kinds = list(KINDS)
    if os.environ.get("CHAOS_KINDS"):
        kinds = [k for k in os.environ["CHAOS_KINDS"].split(",") if k in KINDS]
    out = []
    while len(out) < int(count):
        rnd = list(kinds)
        rng.shuffle(rnd)
        for k in rnd:
            m = rng.choice(members)
            if k == "kill_port":
                ev = [k, m, "%.1f" % rng.uniform(0, 2)]
            elif k == "kill_switch":
                ev = [k, "switch", "%.1f" % rng.uniform(0, 2)]
            elif k == "kill_pair":
                m2 = rng.choice([x for x in members if x != m])
                ev = [k, m + "+" + m2, "%.1f" % rng.uniform(0, 2)]
            elif k == "link_flap":
                ev = [k, m, rng.choice(["lan", "wan"]), "%.1f" % rng.uniform(1, 6)]
            elif k == "nat_flush":
                ev = [k, rng.choice(routers + ["all"])]
            elif k == "addr_change":
                ev = [k, m]
            elif k in ("loss", "reorder", "duplicate"):
                pct = {"loss": rng.choice([10, 20, 30]), "reorder": rng.choice([20, 30, 50]),
                       "duplicate": rng.choice([10, 25, 50])}[k]
                ev = [k, m, str(pct), "%.1f" % rng.uniform(4, 10)]
            elif k == "mtu":
                ev = [k, rng.choice(natted), str(rng.choice([1280, 1340, 1400])), "%.1f" % rng.uniform(4, 8)]
            elif k == "member_cycle":
                ev = [k, m, "%.1f" % rng.uniform(2, 5)]
            elif k == "handshake_flood":
                ev = [k, rng.choice(["switch", "e", "f"]), str(rng.choice([2000, 5000, 8000])),
                      "%.1f" % rng.uniform(4, 8)]
            out.append(" ".join(ev))
    print("\n".join(out[:int(count)]))


def parse_reply(line):
    # "[1796592904.672027] 64 bytes from 198.51.100.12: icmp_seq=1 ttl=64 time=0.083 ms"
    if not line.startswith("[") or " bytes from " not in line or "time=" not in line:
        return None
    try:
        recv = float(line[1:line.index("]")])
        rtt = float(line.split("time=")[1].split()[0]) / 1000.0
    except (ValueError, IndexError):
        return None
    return recv - rtt, recv


def wait(t0, bound, extra, live, pingdir, statefile, carried=""):
    """CARRIED: pairs ("a>c,...") still without an answer when an earlier event gave up on them.
    They are not held against this event (that failure is reported already) and not waited for,
    but those that answer meanwhile are reported as recovered."""
    t0 = float(t0); bound = float(bound); extra = float(extra)
    live = [m for m in live.split(",") if m]
    carried = [tuple(p.split(">")) for p in carried.split(",") if ">" in p]
    allpairs = [(s, d) for s in live for d in live if s != d]
    pairs = [p for p in allpairs if p not in carried]
    try:
        offsets = json.load(open(statefile))
    except (OSError, ValueError):
        offsets = {}
    first = {}          # pair -> receive time of the first answer to a ping sent after t0
    missing_at_bound = None
    while True:
        for s, d in allpairs:
            key = s + "-" + d
            if key in first:
                continue
            path = os.path.join(pingdir, key + ".log")
            try:
                with open(path, "rb") as f:
                    f.seek(offsets.get(key, 0))
                    data = f.read()
            except OSError:
                continue
            # Lines before the first answer after t0 are no use to later events either (their
            # t0 is later): the offset moves to that answer, or past the last complete line.
            pos = 0
            while True:
                nl = data.find(b"\n", pos)
                if nl < 0:
                    break
                r = parse_reply(data[pos:nl].decode(errors="replace"))
                if r and r[0] > t0:
                    first[key] = r[1]
                    break
                pos = nl + 1
            offsets[key] = offsets.get(key, 0) + pos
        now = time.time()
        missing = [s + ">" + d for s, d in pairs if s + "-" + d not in first]
        if not missing:
            break
        if now > t0 + bound and missing_at_bound is None:
            missing_at_bound = list(missing)
        if now > t0 + bound + extra:
            break
        time.sleep(0.25)
    json.dump(offsets, open(statefile + ".new", "w")); os.replace(statefile + ".new", statefile)
    missing = [s + ">" + d for s, d in pairs if s + "-" + d not in first]
    mine = [first[s + "-" + d] for s, d in pairs if s + "-" + d in first]
    took = max(mine) - t0 if mine and not missing else (0.0 if not pairs else None)
    worst = sorted(((first[s + "-" + d] - t0, s + ">" + d) for s, d in pairs if s + "-" + d in first), reverse=True)[:3]
    still = [s + ">" + d for s, d in carried if s + "-" + d not in first]
    recovered = [s + ">" + d for s, d in carried if s + "-" + d in first]
    print("%s %s %s %s %s %s" % ("%.2f" % took if took is not None else "-",
                                 ",".join(missing_at_bound or []) or "none",
                                 ",".join(missing) or "none",
                                 ",".join("%s=%.1f" % kv[::-1] for kv in worst) or "none",
                                 ",".join(still) or "none",
                                 ",".join(recovered) or "none"))
    return 0 if took is not None and took <= bound else 1


def sample(pidfile, out, stopfile):
    end = time.time() + 4 * 3600
    with open(out, "a") as o:
        while time.time() < end and not os.path.exists(stopfile):
            try:
                rows = [l.split() for l in open(pidfile) if l.strip()]
            except OSError:
                rows = []
            now = time.time()
            for name, pid in rows:
                try:
                    st = open("/proc/%s/status" % pid).read()
                    fields = dict(l.split(":", 1) for l in st.splitlines() if ":" in l)
                    if fields.get("State", "").strip().startswith("Z"):
                        continue
                    rss = int(fields["VmRSS"].split()[0])
                    thr = int(fields["Threads"])
                    fds = len(os.listdir("/proc/%s/fd" % pid))
                except (OSError, KeyError, ValueError):
                    continue
                o.write("%.2f %s %s %d %d %d\n" % (now, name, pid, rss, fds, thr))
            o.flush()
            time.sleep(1)


def median(v):
    v = sorted(v); n = len(v)
    return None if n == 0 else (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2)


def resources(out, t_start, t_end):
    """Median VmRSS and fd count per daemon name in the first and the last quarter of the chaos
    period. RSS: the last quarter's median may exceed the first's by at most 25 % + 4 MiB (a
    restarted daemon starts small and grows to its working set; a leak grows without bound).
    fds: at most +4 (a socket or descriptor leaked per event would show as many more)."""
    t_start = float(t_start); t_end = float(t_end); q = (t_end - t_start) / 4
    rows = [l.split() for l in open(out) if l.strip()]
    names = sorted({r[1] for r in rows})
    ok = True
    print("%-10s %8s %8s %6s %6s %6s %6s  %s" % ("daemon", "rss Q1", "rss Q4", "fd Q1", "fd Q4", "thr Q1", "thr Q4", "verdict"))
    for n in names:
        first = [r for r in rows if r[1] == n and t_start <= float(r[0]) < t_start + q]
        last = [r for r in rows if r[1] == n and t_end - q <= float(r[0]) <= t_end]
        if not first or not last:
            print("%-10s not enough samples (%d, %d)" % (n, len(first), len(last)))
            continue
        r1 = median([int(r[3]) for r in first]); r4 = median([int(r[3]) for r in last])
        f1 = median([int(r[4]) for r in first]); f4 = median([int(r[4]) for r in last])
        t1 = median([int(r[5]) for r in first]); t4 = median([int(r[5]) for r in last])
        good = r4 <= r1 * 1.25 + 4096 and f4 <= f1 + 4
        ok &= good
        print("%-10s %6.1fMi %6.1fMi %6d %6d %6d %6d  %s" % (n, r1 / 1024, r4 / 1024, f1, f4, t1, t4,
                                                         "ok" if good else "GREW"))
    return 0 if ok else 1


def report(results):
    """RESULTS: lines 'N KIND TARGET SECONDS|- BOUND ok|FAIL'."""
    rows = [l.split() for l in open(results) if l.strip()]
    print("%-16s %5s %8s %8s %8s %7s %8s" % ("event", "count", "median", "p99", "max", "bound", "failures"))
    for k in KINDS:
        rs = [r for r in rows if r[1] == k]
        if not rs:
            continue
        # an event that never reconverged counts as infinitely slow
        t = sorted(float(r[3]) if r[3] != "-" else math.inf for r in rs)
        p99 = t[max(0, math.ceil(0.99 * len(t)) - 1)]
        fails = sum(r[5] != "ok" for r in rs)
        fmt = lambda x: "never" if x == math.inf else "%.1f" % x
        print("%-16s %5d %8s %8s %8s %7s %8d" % (k, len(rs), fmt(median(t)), fmt(p99), fmt(t[-1]), rs[0][4], fails))
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.exit({"schedule": schedule, "wait": wait, "sample": sample, "resources": resources,
              "report": report}[cmd](*args) or 0)
