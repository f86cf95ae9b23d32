#!/usr/bin/env python3
"""How each model's cost grows with cluster size and with run length (issue #20).

For every model, one scenario file is run through the `faultline` CLI at 1x, 4x and 16x its
size (every count that makes the cluster and its load bigger, scaled together, so the load per
server stays the same) and at 1x, 4x and 16x its duration, with the scenario's seed. Each run
is a separate process; its CPU time (user + sys) and peak resident memory come from wait4(),
and its event count from `run --json`. Points are repeated --reps times, interleaved (every
point once, then every point again), so a burst of load from other processes on a shared
machine hits all points alike; the table gives the median and the min-max spread of the CPU
time per event. --max-minutes stops starting new repetitions once that much wall time has
gone (the report says how many ran). Expectations are not the point here: the scenario is
copied without them (a scaled or shortened run need not tell the story), and for the
costlier models with a shorter base duration than the file's (the 1x point); bad input
(exit 2) is an error.

--cpu N runs every point on CPU N only (sched_setaffinity); --cpu fastest times a short fixed
loop on every CPU before each run and runs it on the fastest. Use one on a virtual machine:
on the 2-vCPU VM of 2026-12-07 one vCPU ran the same loop 2.5x slower than the other, and
which one was slow changed within minutes, so unpinned runs landed on either and a point's
spread was mostly which CPU it got. The report gives the loop's time on each CPU at the start.

--cachegrind runs every point once under valgrind's cachegrind instead, on a simulated machine
(--l1 and --ll give the data cache and the last level; by default 32 KiB and 1 MiB, the L1d and
L2 of the AMD EPYC VM of 2026-12-07), and reports instructions, L1 data misses and last-level
misses per event. These counts depend on the binary and the run, not on the load or the CPU's
speed (instruction counts repeat exactly; miss counts move by a few per cent between
invocations, with where the run's memory lands), so the points may run side by side (--jobs). They separate the two reasons a point may cost more per
event: more instructions (an algorithm that grows) or more misses (a working set that no longer
fits). "est. cycles" weighs them as Ir + 10 x (L1d and L1i misses) + 100 x (LL misses), a rough
model of a machine whose L2 hit costs 10 cycles and whose memory costs 100: a yardstick to
compare points, not a prediction of the CPU time (cachegrind simulates no hardware prefetch,
so a sequential scan counts misses a real CPU hides). A run takes 30-60x its CPU time.

Usage: bench/growth.py [--faultline PATH] [--reps N] [--only model,model] [--sizes 1,4,16]
                       [--durations 1,4,16] [--max-minutes M] [--cpu N|fastest] [--out FILE.md]
       bench/growth.py --cachegrind [--l1 BYTES,WAYS,LINE] [--ll BYTES,WAYS,LINE] [--jobs N]
                       [--faultline PATH] [--only ...] [--sizes ...] [--durations ...] [--out ...]
Writes a Markdown report (machine, commit, load, the table) to --out (default
bench/results/growth-latest.md, or growth-cachegrind-latest.md with --cachegrind) and prints it.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# model -> scenario, variant, and the params that grow with the cluster (JSON paths under
# model.params, scaled from the file's own values) and, for duration, the times besides the
# run's own duration that must stretch with it (a client population's stop time).
MODELS = {
    "services": {
        "scenario": "metastable-retry-storm.json", "variant": "base",
        "size": ["tiers.0.instances", "clients.0.processes"],
    },
    "dynamodb": {
        "scenario": "dynamodb-2015-retry-storm.json", "variant": "base", "duration": "1h",
        "size": ["storage.nodes_per_zone", "metadata.instances", "metadata.added_instances",
                 "tables.0.count", "routers", "customers.0.processes",
                 "customers.0.rate_per_s"],
    },
    "ringpop": {
        "scenario": "ringpop-swim-at-scale.json", "variant": "base", "duration": "60s",
        "size": ["members"],
    },
    "dynamo": {
        "scenario": "dynamo-vnodes-node-failure.json", "variant": "base", "duration": "8s",
        "size": ["nodes", "clients.0.processes", "clients.0.rate_per_s"],
    },
    "spanner": {
        "scenario": "spanner-leader-hard-kill.json", "variant": "base",
        "size": ["servers_per_zone", "groups", "keys", "workload.clients_per_zone"],
    },
    "evcache": {
        "scenario": "evcache-zone-failure.json", "variant": "base", "duration": "150s",
        "size": ["server.servers_per_zone", "client.ops_per_s", "client.keys",
                 "store.concurrency", "store.queue_limit"],
    },
    "elb": {
        "scenario": "netflix-2012-christmas-eve-elb.json", "variant": "base",
        "size": ["fleet.elbs", "families.0.rate_per_s", "families.1.rate_per_s",
                 "families.2.rate_per_s"],
    },
    "stripe": {
        "scenario": "stripe-double-charge.json", "variant": "keys-recovery-points-completer",
        "duration": "3m", "base": {"clients.stop_at": "2m"},
        "size": ["api.servers", "clients.customers"],
        "duration_also": ["clients.stop_at"],
    },
    "contention": {
        # A trial is one contended row with its clients, independent of the others: the
        # cluster grows by rows. Scaling the clients of each row instead raises the contention
        # on it (800 writers fight for one version), a different workload, not a bigger one.
        "scenario": "backoff-jitter-contention.json", "variant": "base",
        "size": ["trials"],
        "duration_also": [],
    },
}

UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text):
    """'1h30m' / '90s' / '250ms' -> seconds (the scenario files' duration strings)."""
    total, pos = 0.0, 0
    for m in re.finditer(r"([0-9.]+)(ns|us|ms|min|s|m|h)", text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"cannot read duration {text!r}")
    return total


def fmt_duration(seconds):
    ms = round(seconds * 1000)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def lookup(params, path):
    node = params
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def assign(params, path, value):
    parts = path.split(".")
    node = lookup(params, ".".join(parts[:-1])) if len(parts) > 1 else params
    node[int(parts[-1]) if isinstance(node, list) else parts[-1]] = value


def base_scenario(spec, doc, directory):
    """The scenario as the 1x point runs it: no expectations, the model's base duration and
    base params; written to `directory`. Returns (path, doc)."""
    doc = json.loads(json.dumps(doc))
    doc["expectations"] = []
    if "duration" in spec:
        doc["duration"] = spec["duration"]
    for path, value in spec.get("base", {}).items():
        assign(doc["model"]["params"], path, value)
    path = os.path.join(directory, spec["scenario"])
    with open(path, "w") as f:
        json.dump(doc, f)
    return path, doc


def point_sets(m, docs, size, length):
    """The `--set` overrides of model `m`'s point (size x, duration x), from its 1x scenario."""
    doc = docs[m]
    return overrides(MODELS[m], doc["model"]["params"], parse_duration(doc["duration"]), size,
                     length)


def overrides(spec, params, duration_s, size, length):
    sets = []
    for path in spec["size"]:
        base = lookup(params, path)
        value = base * size
        sets.append((f"model.params.{path}", int(value) if isinstance(base, int) else value))
    if length != 1:
        sets.append(("duration", fmt_duration(duration_s * length)))
        for path in spec.get("duration_also", []):
            sets.append((f"model.params.{path}",
                         fmt_duration(parse_duration(lookup(params, path)) * length)))
    return sets


def pinned(cpu):
    """A preexec_fn that keeps the child on `cpu` (None: anywhere)."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def loop_seconds(cpu, n):
    """CPU seconds of a fixed loop of n steps, in a child process on `cpu`."""
    proc = subprocess.Popen([sys.executable, "-c", f"sum(range({n}))"], preexec_fn=pinned(cpu))
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime


def cpu_speeds():
    """The same fixed loop's CPU time on each CPU this process may use, as a report line."""
    return ", ".join(f"cpu{cpu} {loop_seconds(cpu, 30_000_000):.2f} s"
                     for cpu in sorted(os.sched_getaffinity(0)))


def fastest_cpu():
    """The CPU that runs a short fixed loop fastest now (ties: the lowest number)."""
    times = [(loop_seconds(cpu, 3_000_000), cpu) for cpu in sorted(os.sched_getaffinity(0))]
    return min(times)[1]


def run_command(faultline, scenario, variant, sets, out):
    cmd = [faultline, "run", scenario, "--variant", variant, "--quiet", "--json", out]
    for path, value in sets:
        cmd += ["--set", f"{path}={json.dumps(value) if not isinstance(value, str) else value}"]
    return cmd


def run_once(faultline, scenario, variant, sets, cpu=None):
    """One run in its own process: (cpu seconds, peak RSS MiB, events, exit code)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        out = tmp.name
    try:
        cmd = run_command(faultline, scenario, variant, sets, out)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                preexec_fn=pinned(cpu))
        _, status, usage = os.wait4(proc.pid, 0)
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{err}")
        with open(out) as f:
            result = json.load(f)["runs"][0]
        cpu = usage.ru_utime + usage.ru_stime
        return cpu, usage.ru_maxrss / 1024.0, result["events"], code
    finally:
        if os.path.exists(out):
            os.remove(out)


def cache_spec(text, option):
    """'BYTES,WAYS,LINE' as cachegrind takes it, checked the way cachegrind would refuse it."""
    try:
        size, ways, line = (int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"{option} {text}: give BYTES,WAYS,LINE, e.g. 1048576,8,64")
    sets = size // max(ways * line, 1)
    if size <= 0 or ways <= 0 or line <= 0 or size % (ways * line) or sets & (sets - 1):
        raise ValueError(f"{option} {text}: the size must be ways x line x a power of two")
    return text


def cachegrind_once(faultline, scenario, variant, sets, l1, ll):
    """One run under cachegrind: ({event name: count}, events, exit code)."""
    with tempfile.TemporaryDirectory(prefix="faultline-cg-") as tmp:
        out, counts = os.path.join(tmp, "run.json"), os.path.join(tmp, "cachegrind.out")
        cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--D1={l1}", f"--LL={ll}",
               f"--cachegrind-out-file={counts}"]
        cmd += run_command(faultline, scenario, variant, sets, out)
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if proc.returncode not in (0, 1):
            err = proc.stderr.decode(errors="replace")
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{err}")
        names = total = None
        with open(counts) as f:
            for line in f:
                if line.startswith("events:"):
                    names = line.split()[1:]
                elif line.startswith("summary:"):
                    total = [int(x) for x in line.split()[1:]]
        if names is None or total is None or len(names) != len(total):
            raise RuntimeError(f"{counts}: no 'events:' and 'summary:' lines of equal length")
        with open(out) as f:
            events = json.load(f)["runs"][0]["events"]
        return dict(zip(names, total)), events, proc.returncode


def per_event(counts, events):
    """Instructions, L1 data misses, last-level misses (instruction and data) and the
    estimated cycles, each per event."""
    ir = counts.get("Ir", 0)
    l1 = counts.get("D1mr", 0) + counts.get("D1mw", 0)
    ll = counts.get("DLmr", 0) + counts.get("DLmw", 0) + counts.get("ILmr", 0)
    est = ir + 10 * (l1 + counts.get("I1mr", 0)) + 100 * ll
    n = max(events, 1)
    return ir / n, l1 / n, ll / n, est / n


def cachegrind_main(a, models, points, files, docs):
    """--cachegrind: every point once under cachegrind, --jobs at a time."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--cachegrind needs valgrind (apt-get install valgrind)")
    started = datetime.datetime.now(datetime.timezone.utc)

    def one(p):
        m, size, length = p
        try:
            counts, events, code = cachegrind_once(a.faultline, files[m], MODELS[m]["variant"],
                                                   point_sets(m, docs, size, length), a.l1, a.ll)
        except RuntimeError as e:  # reported in the table; the other points still run
            print(e, file=sys.stderr, flush=True)
            return p, None, 0, 2
        ir, l1, ll, est = per_event(counts, events)
        print(f"{m:<10} size {size:>2}x duration {length:>2}x: {events:>10} events "
              f"{ir:8.0f} Ir {l1:6.1f} L1 {ll:6.2f} LL {est:8.0f} est. cycles per event",
              file=sys.stderr, flush=True)
        return p, counts, events, code

    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:  # --jobs >= 1
        results = {p: (c, e, code) for p, c, e, code in pool.map(one, points)}

    columns = ["Ir/event", "vs 1x", "L1d misses/event", "vs 1x", "LL misses/event", "vs 1x",
               "est. cycles/event", "vs 1x"]
    out = report_head(
        "# Cost growth per model, counted by cachegrind (bench/growth.py --cachegrind)",
        a.faultline, started,
        [f"simulated: L1d {a.l1}, last level {a.ll} (bytes,ways,line); "
         "est. cycles = Ir + 10 x L1d and L1i misses + 100 x LL misses",
         "runs:      one per point (the counts do not depend on load or CPU speed)"],
        columns)
    for m in models:
        base = None
        for p in [q for q in points if q[0] == m]:
            _, size, length = p
            counts, events, code = results[p]
            where = where_of(m, docs)
            if counts is None:
                dashes = " | ".join(["-"] * (1 + len(columns)))  # events and every column
                out.append(f"| {m} | {where} | {size}x | {length}x | {dashes} | {code} |")
                continue
            row = per_event(counts, events)
            if base is None:
                base = row
            ratio = [v / b if b else float("nan") for v, b in zip(row, base)]
            out.append(f"| {m} | {where} | {size}x | {length}x | {events:,} | {row[0]:.0f} | "
                       f"{ratio[0]:.2f} | {row[1]:.1f} | {ratio[1]:.2f} | {row[2]:.2f} | "
                       f"{ratio[2]:.2f} | {row[3]:.0f} | {ratio[3]:.2f} | {code} |")
    return out


def cache_size(name):
    """A cache's size from getconf (as the C library reads it), where lscpu gives none; "?"
    when neither knows. A virtual machine may report what its host's CPU has."""
    try:
        out = subprocess.run(["getconf", name], capture_output=True, text=True).stdout.strip()
        size = int(out)
    except (OSError, ValueError):
        return "?"
    if size <= 0:
        return "?"
    return f"{size // (1 << 20)} MiB (getconf)" if size >= (1 << 20) else f"{size // 1024} KiB (getconf)"


def machine_lines(faultline):
    lines = []
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = re.search(r"^Model name:\s*(.*)$", lscpu, re.M)
        l2 = re.search(r"^L2 cache:\s*(.*)$", lscpu, re.M)
        l3 = re.search(r"^L3 cache:\s*(.*)$", lscpu, re.M)
        l2 = l2.group(1) if l2 else cache_size("LEVEL2_CACHE_SIZE")
        l3 = l3.group(1) if l3 else cache_size("LEVEL3_CACHE_SIZE")
        lines.append(f"cpu:       {model.group(1) if model else '?'}, {os.cpu_count()} cores, "
                     f"L2 {l2}, L3 {l3}")
    except OSError:
        lines.append("cpu:       lscpu not available")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    lines.append(f"commit:    {commit}")
    lines.append(f"binary:    {faultline}")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faultline", default=os.path.join(ROOT, "build", "src", "cli", "faultline"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--sizes", default="1,4,16")
    ap.add_argument("--durations", default="1,4,16")
    ap.add_argument("--max-minutes", type=float, default=0.0)
    ap.add_argument("--cpu", default=None,
                    help="run every point on this CPU only, or 'fastest': the fastest CPU "
                         "at each run's start")
    ap.add_argument("--out", default=None,
                    help="the report (default bench/results/growth-latest.md, or "
                         "growth-cachegrind-latest.md with --cachegrind)")
    ap.add_argument("--cachegrind", action="store_true",
                    help="count instructions and simulated cache misses per event instead of "
                         "timing (each point once)")
    ap.add_argument("--l1", default="32768,8,64", help="--cachegrind's L1 data cache")
    ap.add_argument("--ll", default="1048576,8,64", help="--cachegrind's last-level cache")
    ap.add_argument("--jobs", type=int, default=1, help="--cachegrind runs at a time")
    a = ap.parse_args()
    if a.out is None:
        a.out = os.path.join(ROOT, "bench", "results", "growth-cachegrind-latest.md"
                             if a.cachegrind else "growth-latest.md")
    if a.cachegrind:
        try:
            a.l1, a.ll = cache_spec(a.l1, "--l1"), cache_spec(a.ll, "--ll")
        except ValueError as e:
            ap.error(str(e))
        if a.jobs < 1:
            ap.error(f"--jobs {a.jobs}: give 1 or more")
    if a.cpu is not None and a.cpu != "fastest" and (
            not a.cpu.isdigit() or int(a.cpu) not in os.sched_getaffinity(0)):
        ap.error(f"--cpu {a.cpu}: give 'fastest' or one of the CPUs this process may use: "
                 f"{', '.join(map(str, sorted(os.sched_getaffinity(0))))}")
    models = [m for m in MODELS if not a.only or m in a.only.split(",")]
    sizes = [int(x) for x in a.sizes.split(",")]
    durations = [int(x) for x in a.durations.split(",")]

    points = []  # (model, size, length)
    for m in models:
        points += [(m, s, 1) for s in sizes]
        points += [(m, 1, d) for d in durations if d != 1]
    workdir = tempfile.mkdtemp(prefix="faultline-growth-")
    docs, files = {}, {}
    for m in models:
        with open(os.path.join(ROOT, "scenarios", MODELS[m]["scenario"])) as f:
            files[m], docs[m] = base_scenario(MODELS[m], json.load(f), workdir)

    if a.cachegrind:
        out = cachegrind_main(a, models, points, files, docs)
        shutil.rmtree(workdir, ignore_errors=True)
        write_report(a.out, out)
        return

    # Wall time only labels the report and bounds the benchmark's own length.
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = open("/proc/loadavg").read().split()[:3]
    speeds = cpu_speeds()
    samples = {p: [] for p in points}
    reps_done = 0
    for rep in range(a.reps):
        elapsed = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
        if rep > 0 and a.max_minutes > 0 and elapsed > a.max_minutes * 60:
            break
        reps_done += 1
        for p in points:
            m, size, length = p
            sets = point_sets(m, docs, size, length)
            try:
                on = None if a.cpu is None else fastest_cpu() if a.cpu == "fastest" else int(a.cpu)
                cpu, rss, events, code = run_once(a.faultline, files[m], MODELS[m]["variant"],
                                                  sets, on)
            except RuntimeError as e:  # reported in the table; the other points still run
                print(e, file=sys.stderr, flush=True)
                cpu, rss, events, code = float("nan"), float("nan"), 0, 2
            samples[p].append((cpu, rss, events, code))
            print(f"rep {rep + 1}/{a.reps} {m:<10} size {size:>2}x duration {length:>2}x: "
                  f"{events:>10} events {cpu:7.2f} s CPU {rss:7.1f} MiB "
                  f"{cpu / max(events, 1) * 1e9:6.0f} ns/event", file=sys.stderr, flush=True)
    load_after = open("/proc/loadavg").read().split()[:3]

    pin = ("no (any CPU)" if a.cpu is None else
           "the fastest CPU at each run's start" if a.cpu == "fastest" else f"cpu{a.cpu}")
    out = report_head(
        "# Cost growth per model (bench/growth.py)", a.faultline, started,
        [f"load avg:  {' '.join(load_before)} before, {' '.join(load_after)} after",
         f"cpu speed: the same loop on each CPU: {speeds}",
         f"pinned:    {pin}",
         f"reps:      {reps_done} per point, interleaved; CPU = user + sys of the run's "
         "process (wait4)"],
        ["ns CPU/event, median (min-max)", "vs 1x", "peak RSS MiB", "vs 1x"])
    for m in models:
        base = None
        for p in [q for q in points if q[0] == m]:
            _, size, length = p
            per = [c / max(e, 1) * 1e9 for c, _, e, _ in samples[p]]
            med = statistics.median(per)
            rss = statistics.median([r for _, r, _, _ in samples[p]])
            events = samples[p][0][2]
            codes = sorted({c for _, _, _, c in samples[p]})
            if base is None:
                base = (med, rss)
            where = where_of(m, docs)
            out.append(f"| {m} | {where} | {size}x | {length}x | {events:,} | {med:.0f} "
                       f"({min(per):.0f}-{max(per):.0f}) | {med / base[0]:.2f} | {rss:.0f} | "
                       f"{rss / base[1]:.2f} | {','.join(map(str, codes))} |")
    shutil.rmtree(workdir, ignore_errors=True)
    write_report(a.out, out)


def report_head(title, faultline, started, settings, columns):
    """A report's title, its machine and settings block, and the header of its table: the
    columns every report has (model, scenario, size, duration, events, ..., exit) around
    `columns`."""
    out = [title, "", "```", f"date:      {started.strftime('%Y-%m-%dT%H:%MZ')}"]
    out += machine_lines(faultline) + settings + ["```", ""]
    out.append("| model | scenario (variant), 1x duration | size | duration | events | "
               + " | ".join(columns) + " | exit |")
    out.append("|---|---|---:|---:|---:|" + "---:|" * len(columns) + "---|")
    return out


def where_of(m, docs):
    return f"{MODELS[m]['scenario']} ({MODELS[m]['variant']}), {docs[m]['duration']}"


def write_report(path, lines):
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
