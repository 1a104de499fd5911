"""Command-line pieces the tools share: comma-separated lists, and window lists that start with '-'.

Each list parser raises ValueError naming the flag; a tool turns it into its parser's error.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple


def attach_window_values(argv: Sequence[str]) -> List[str]:
    """'--windows -1,127' -> '--windows=-1,127': argparse takes '-1,127' for an unknown flag."""
    out: List[str] = []
    for arg in argv:
        if out and out[-1] == "--windows":
            out[-1] = f"--windows={arg}"
        else:
            out.append(arg)
    return out


def int_list(flag: str, text: str) -> Tuple[int, ...]:
    """'1024,8192' -> (1024, 8192)."""
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"{flag}={text!r}: expected comma-separated integers") from None


def name_list(flag: str, text: str, known: Sequence[str]) -> Tuple[str, ...]:
    """'cg,default' -> ('cg', 'default'), every name one of ``known``, at least one."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        raise ValueError(f"{flag}={text!r}: expected comma-separated names from {list(known)}")
    return names
