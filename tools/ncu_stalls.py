"""What each profiled kernel's warps waited on: Nsight Compute's text report of
``tools.ncu_point`` as one table per profiled process.

    ncu --profile-from-start off --clock-control none \\
        --metrics 'regex:smsp__average_warps_issue_stalled_.*_per_issue_active\\.ratio' \\
        python3 -m tools.ncu_point --impls default,flashinfer-0.7.2-fa3 --n-ctx 8192 > ncu.txt
    python3 -m tools.ncu_stalls ncu.txt [--min 0.05]

A column is one profiled kernel, named by the implementation ``tools.ncu_point`` announced
before ncu profiled it (and by the kernel's name where one call launched several). A row is
one stall reason (cycles a warp spent stalled for that reason per instruction issued,
averaged over every warp of the kernel: a warp-specialized kernel's producer warps and its
consumers together), largest first; reasons under ``--min`` in every column are left out.
Any other metric asked for with ``--metrics`` follows the stall reasons, under its own name;
the rows of ncu's ``--section`` tables are not read.
Exit 2, naming the file, where it holds no profiled kernel.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence

STALL = re.compile(r"smsp__average_warps_issue_stalled_(\w+?)_per_issue_active\.ratio")
_CONNECTED = re.compile(r"==PROF== Connected to process")
_ANNOUNCED = re.compile(r"ncu_point: (\S+) at ")
_PROFILING = re.compile(r'==PROF== Profiling "([^"]+)" - (\d+):')
# a kernel's section starts with its name and launch shape: "  name (63232, 1, 1)x(384, 1, 1), Context 1, ..."
_SECTION = re.compile(r"^  \S.*\(\d+, \d+, \d+\)x\(\d+, \d+, \d+\), Context")
# a line of the "Command line profiler metrics" section: "    smsp__...ratio   inst   1.38"
# (a --section's rows are named in words, "Block Size", and are not read)
_METRIC = re.compile(r"^\s+([a-z0-9]+__[\w.]+)\s+(?:\S+\s+)?([\d,.]+)$")


class Kernel(NamedTuple):
    label: str  # the implementation ncu_point announced, with the kernel's name if it launched several
    metrics: Dict[str, float]


def parse(text: str) -> List[List[Kernel]]:
    """Each profiled process's kernels, in the order ncu profiled them."""
    processes: List[List[Kernel]] = []
    names: List[tuple] = []  # (implementation, kernel name) per profiled launch
    announced = "?"
    kernels: Optional[List[Kernel]] = None
    current: Optional[Dict[str, float]] = None
    for line in text.splitlines():
        if _CONNECTED.search(line):
            names, announced, kernels, current = [], "?", None, None
        elif (match := _ANNOUNCED.search(line)) is not None:
            announced = match.group(1)
        elif (match := _PROFILING.search(line)) is not None:
            names.append((announced, match.group(1)))
        elif _SECTION.match(line):
            if kernels is None:
                kernels = []
                processes.append(kernels)
            current = {}
            kernels.append(Kernel(_label(names, len(kernels)), current))
        elif current is not None and (match := _METRIC.match(line)) is not None:
            current[match.group(1)] = float(match.group(2).replace(",", ""))
    return processes


def _label(names: List[tuple], index: int) -> str:
    if index >= len(names):
        return f"kernel {index}"
    implementation, kernel = names[index]
    launches = sum(1 for name, _ in names if name == implementation)
    return implementation if launches == 1 else f"{implementation} ({kernel})"


def table(kernels: Sequence[Kernel], minimum: float) -> str:
    """Markdown: the stall reasons, largest first, then the report's other metrics."""
    metrics = sorted({name for kernel in kernels for name in kernel.metrics})
    reasons = {name: match.group(1) for name in metrics if (match := STALL.fullmatch(name))}
    peak = {name: max(kernel.metrics.get(name, 0.0) for kernel in kernels) for name in reasons}
    stalls = sorted((name for name in reasons if peak[name] >= minimum), key=lambda name: -peak[name])
    others = [name for name in metrics if name not in reasons]
    lines = ["| metric | " + " | ".join(kernel.label for kernel in kernels) + " |",
             "|---|" + "---|" * len(kernels)]
    for name in stalls + others:
        values = [f"{kernel.metrics[name]:.2f}" if name in kernel.metrics else "–" for kernel in kernels]
        lines.append(f"| {reasons.get(name, name)} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="ncu's text output")
    parser.add_argument("--min", type=float, default=0.05,
                        help="leave out a stall reason under this in every kernel")
    args = parser.parse_args(argv)
    try:
        with open(args.report, encoding="utf-8", errors="replace") as f:
            processes = parse(f.read())
    except OSError as err:
        print(f"ncu_stalls: {args.report}: {err.strerror}", file=sys.stderr)
        return 2
    if not processes:
        print(f"ncu_stalls: {args.report}: no profiled kernel in it", file=sys.stderr)
        return 2
    print("\n\n".join(table(kernels, args.min) for kernels in processes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
