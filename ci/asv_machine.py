"""Register this machine with asv, with its GPU and software beside asv's fields; refuse a name
whose stored history was measured on other hardware.

    python ci/asv_machine.py [--machine NAME] [--machine-file PATH] [--config asv.conf.json]

Prints the name it registered. Without ``--machine`` the name is this machine's own:
``h100-sxm-80gb`` on an H100 80GB HBM3 (the name of the stored H100 history), the GPU's
name on another GPU ("NVIDIA H200" -> ``nvidia-h200``), ``cpu-codegen`` without one.

asv's machine record (``~/.asv-machine.json``, or ``--machine-file``) has fixed fields (os,
arch, cpu, num_cpu, ram) but keeps any other key given to it. asv copies the record into
``results/<machine>/machine.json``, which the dashboard shows as the tooltip of the
machine's button, and into every results file's parameters. This adds:

    gpu, gpu_driver, gpu_max_clocks   nvidia-smi (``none`` without a GPU)
    cuda, torch, triton               the versions this Python imports, which are the ones
                                      the benchmark environment borrows (ci/asv_host_packages.py)

The software fields change only when the machine's software does; asv then starts a new
series, as it should. The clocks a run actually ran at change from run to run and are
measured instead (``bench_ceilings.Clocks``).

**The guard.** A stored ``results/<machine>/machine.json`` names the hardware that machine's
history was measured on. If its ``gpu`` differs from this machine's (another GPU, or a GPU
against none), the name is refused before anything is written: exit 1, naming the machine
and the difference. asv would otherwise rewrite that record and file this machine's times in
the other machine's history. Only the GPU is the hardware's identity here: the host's CPU,
memory and OS, and the driver and toolchain versions may differ (a new series, not another
machine). A stored record that cannot be read: exit 2, naming the file.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from asv.machine import Machine, MachineCollection

REPO = Path(__file__).resolve().parents[1]
NO_GPU = "none"
CPU_MACHINE = "cpu-codegen"
# GPUs whose stored history has a name of its own: nvidia-smi's name (a part of it) -> asv machine
STORED_MACHINE_NAMES = {"H100 80GB HBM3": "h100-sxm-80gb"}
IDENTITY = ("gpu",)


class MachineRefused(Exception):
    """The name's stored history is another machine's; the message says what differs."""


class StoredRecordError(Exception):
    """A stored machine record cannot be read; the message names the file."""


def gpu_fields() -> dict:
    query = "name,driver_version,clocks.max.sm,clocks.max.mem"
    try:
        line = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
                              check=True, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return {"gpu": NO_GPU}
    name, driver, max_sm, max_mem = (field.strip() for field in line.splitlines()[0].split(","))
    return {"gpu": name, "gpu_driver": driver, "gpu_max_clocks": f"SM {max_sm} MHz, memory {max_mem} MHz"}


def software_fields() -> dict:
    import torch
    import triton
    return {"cuda": torch.version.cuda or "none", "torch": torch.__version__, "triton": triton.__version__}


def default_name(gpu: str) -> str:
    """This machine's asv name, from nvidia-smi's name of its GPU (``none`` without one)."""
    if gpu == NO_GPU:
        return CPU_MACHINE
    for part, name in STORED_MACHINE_NAMES.items():
        if part in gpu:
            return name
    return re.sub(r"[^a-z0-9-]", "", gpu.lower().replace(" ", "-"))


def machine_info(name: str, gpu: dict) -> dict:
    info = Machine.get_defaults()
    info["machine"] = name
    info.update(gpu)
    info.update(software_fields())
    return info


def results_dir(config: Path) -> Path:
    """The asv config's results folder (relative to the config's folder, as asv reads it)."""
    try:
        conf = json.loads(config.read_text())
        return config.parent / conf["results_dir"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoredRecordError(f"{config}: cannot read results_dir ({exc})") from exc


def check_identity(name: str, gpu: dict, results: Path) -> None:
    """Raise MachineRefused when results/<name>/machine.json describes other hardware."""
    path = results / name / "machine.json"
    if not path.exists():
        return
    try:
        stored = json.loads(path.read_text())
        if not isinstance(stored, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise StoredRecordError(f"{path}: cannot read the stored machine record ({exc})") from exc
    differences = [f"{field}: stored {stored.get(field, '(not recorded)')!r}, this machine {gpu.get(field)!r}"
                   for field in IDENTITY if stored.get(field) != gpu.get(field)]
    if differences:
        raise MachineRefused(
            f"asv machine {name!r} refused: its stored history ({path}) was measured on other hardware; "
            + "; ".join(differences)
            + f". Nothing was written. Give this machine its own name (this one's is {default_name(gpu['gpu'])!r}).")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", help="the asv machine name (default: this machine's own, see above)")
    parser.add_argument("--machine-file", help="the registrations file (default: asv's, ~/.asv-machine.json)")
    parser.add_argument("--config", type=Path, default=REPO / "asv.conf.json",
                        help="the asv config whose results_dir holds the stored records (default %(default)s)")
    args = parser.parse_args(argv)
    gpu = gpu_fields()
    name = args.machine or default_name(gpu["gpu"])
    try:
        check_identity(name, gpu, results_dir(args.config))
    except MachineRefused as exc:
        print(exc, file=sys.stderr)
        return 1
    except StoredRecordError as exc:
        print(exc, file=sys.stderr)
        return 2
    info = machine_info(name, gpu)
    MachineCollection.save(name, info, _path=args.machine_file)
    print("asv machine " + ", ".join(f"{key}={value}" for key, value in info.items()), file=sys.stderr)
    print(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
