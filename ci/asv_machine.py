"""Register this machine with asv under a fixed name, with its GPU and software beside asv's fields.

    python ci/asv_machine.py --machine h100-sxm-80gb

asv's machine record (``~/.asv-machine.json``) has fixed fields (os, arch, cpu, num_cpu,
ram) but keeps any other key given to it. asv copies the record into
``results/<machine>/machine.json``, which the dashboard shows as the tooltip of the
machine's button, and into every results file's parameters. This adds:

    gpu, gpu_driver, gpu_max_clocks   nvidia-smi (``none`` without a GPU)
    cuda, torch, triton               the versions this Python imports, which are the ones
                                      the benchmark environment borrows (ci/asv_host_packages.py)

These change only when the machine's software does; asv then starts a new series, as it
should. The clocks a run actually ran at change from run to run and are measured instead
(``bench_ceilings.Clocks``).
"""

from __future__ import annotations

import argparse
import subprocess

from asv.machine import Machine, MachineCollection


def gpu_fields() -> dict:
    query = "name,driver_version,clocks.max.sm,clocks.max.mem"
    try:
        line = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
                              check=True, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return {"gpu": "none"}
    name, driver, max_sm, max_mem = (field.strip() for field in line.splitlines()[0].split(","))
    return {"gpu": name, "gpu_driver": driver, "gpu_max_clocks": f"SM {max_sm} MHz, memory {max_mem} MHz"}


def software_fields() -> dict:
    import torch
    import triton
    return {"cuda": torch.version.cuda or "none", "torch": torch.__version__, "triton": triton.__version__}


def machine_info(name: str) -> dict:
    info = Machine.get_defaults()
    info["machine"] = name
    info.update(gpu_fields())
    info.update(software_fields())
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", required=True, help="the asv machine name, e.g. h100-sxm-80gb")
    args = parser.parse_args(argv)
    info = machine_info(args.machine)
    MachineCollection.save(args.machine, info)
    print("asv machine " + ", ".join(f"{key}={value}" for key, value in info.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
