"""Where a kernel's warps waited, per machine instruction: Nsight Compute's source page (sampled
warp states per SASS instruction) summed over an address range, by opcode or by instruction.

    ncu --profile-from-start off --clock-control none -k regex:_extend_attention_ws \\
        --section SourceCounters --section WarpStateStats -o prof \\
        python3 -m tools.ncu_point --impls default --n-ctx 8192 --windows=-1
    ncu -i prof.ncu-rep --page source --csv --print-source sass | gzip > source.csv.gz
    python3 -m tools.ncu_source source.csv.gz [--start 0x5310 --end 0x91d0] [--by opcode] [--top 30]

Addresses are offsets from the kernel's first instruction, as ``cuobjdump -sass`` and
``python3 -m tools.sass_loops`` print them, so that a loop found in a compile here (same
Triton, same ptxas) names the range to sum on the profile taken on the GPU. A row's share is
its samples over the range's; the stall reasons after it are shares of the range too (ncu's
``stall_*`` columns: ``wait`` is a fixed-latency dependency, ``barrier`` includes waiting for
warpgroup MMAs, ``long_sb`` global memory and mbarrier waits, ``selected`` issuing).
Exit 2, naming the file, where it is not such a page.
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import io
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence

SAMPLES = "Warp Stall Sampling (All Samples)"
STALL_PREFIX = "stall_"
NOT_ISSUED = "(Not Issued)"


class Instruction(NamedTuple):
    offset: int  # from the kernel's first instruction
    text: str  # as ncu prints it: "@!P0 BRA 0x7f2d37a5de50"
    samples: int
    stalls: Dict[str, int]  # reason -> samples

    @property
    def opcode(self) -> str:
        """The operation without its predicate and modifiers: "BRA", "HGMMA"."""
        words = self.text.split()
        word = words[1] if words[0].startswith("@") and len(words) > 1 else words[0]
        return word.split(".")[0]


class SourcePageError(ValueError):
    """A file that is not ncu's SASS source page."""


def parse(text: str) -> List[Instruction]:
    """The instructions of the page's (first) kernel, in address order."""
    rows = list(csv.reader(io.StringIO(text)))
    header_at = next((i for i, row in enumerate(rows) if row[:2] == ["Address", "Source"]), None)
    if header_at is None:
        raise SourcePageError("no 'Address','Source' header: not ncu's --page source --csv output")
    header = rows[header_at]
    if SAMPLES not in header:
        raise SourcePageError(f"no '{SAMPLES}' column: profile with --section SourceCounters")
    column = {name: i for i, name in enumerate(header)}
    reasons = [name for name in header if name.startswith(STALL_PREFIX) and NOT_ISSUED not in name]
    instructions: List[Instruction] = []
    base = None
    for row in rows[header_at + 1:]:
        if len(row) < len(header) or not row[0].startswith("0x"):
            if row and row[0] == "Kernel Name" and instructions:
                break  # the next kernel's page
            continue
        address = int(row[0], 16)
        base = address if base is None else base
        instructions.append(Instruction(
            address - base, row[1].strip(), _count(row[column[SAMPLES]]),
            {name[len(STALL_PREFIX):]: _count(row[column[name]]) for name in reasons}))
    if not instructions:
        raise SourcePageError("no instruction rows")
    return instructions


def _count(cell: str) -> int:
    return int(cell.replace(",", "")) if cell.strip() not in ("", "-") else 0


def table(instructions: Sequence[Instruction], by: str, top: int, reasons: int = 4) -> str:
    """Markdown: the ``top`` groups (opcodes or single instructions) with the most samples."""
    total = sum(instruction.samples for instruction in instructions)
    groups: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    samples: Dict[str, int] = collections.Counter()
    counts: Dict[str, int] = collections.Counter()
    for instruction in instructions:
        key = instruction.opcode if by == "opcode" else f"{instruction.offset:#x} {instruction.text}"
        groups[key].update(instruction.stalls)
        samples[key] += instruction.samples
        counts[key] += 1
    first = ["opcode", "instructions"] if by == "opcode" else ["instruction"]
    columns = first + ["share", "largest stall reasons (share of the range)"]
    lines = [f"{total} samples over {len(instructions)} instructions, "
             f"{instructions[0].offset:#x}–{instructions[-1].offset:#x}", "",
             "| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    for key in sorted(samples, key=lambda k: -samples[k])[:top]:
        stalls = ", ".join(f"{reason} {_share(value, total)}"
                           for reason, value in groups[key].most_common(reasons) if value)
        name = f"{key} | {counts[key]}" if by == "opcode" else key
        lines.append(f"| {name} | {_share(samples[key], total)} | {stalls} |")
    return "\n".join(lines)


def _share(value: int, total: int) -> str:
    return f"{100.0 * value / total:.1f}%" if total else "–"


def _address(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an address such as 0x5310") from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help="ncu's --page source --csv --print-source sass output (.gz read too)")
    parser.add_argument("--start", type=_address, default=0, help="first offset summed")
    parser.add_argument("--end", type=_address, default=None, help="first offset past the range")
    parser.add_argument("--by", choices=("opcode", "instruction"), default="opcode")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    opener = gzip.open if args.page.endswith(".gz") else open
    try:
        with opener(args.page, "rt", encoding="utf-8", errors="replace") as f:
            instructions = parse(f.read())
    except OSError as err:
        print(f"ncu_source: {args.page}: {err.strerror or err}", file=sys.stderr)
        return 2
    except SourcePageError as err:
        print(f"ncu_source: {args.page}: {err}", file=sys.stderr)
        return 2
    chosen = [i for i in instructions
              if i.offset >= args.start and (args.end is None or i.offset < args.end)]
    if not chosen:
        parser.error(f"--start {args.start:#x} --end {args.end}: no instruction in that range "
                     f"(the kernel spans 0x0–{instructions[-1].offset:#x})")
    print(table(chosen, args.by, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
