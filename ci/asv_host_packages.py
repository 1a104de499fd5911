"""asv install step: let the benchmark environment import the host Python's packages.

asv measures each commit in a virtualenv of its own, into which it installs that commit's
``kernels``. torch and triton cannot be installed there (the H100 machine reaches no
package registry, and a CUDA torch is gigabytes); they are already installed for the
Python that asv made the environment from. This writes a ``.pth`` file into the
environment that appends that Python's site-packages to ``sys.path``. Appended, not
prepended: the environment's own packages, the measured commit's ``kernels`` first among
them, win over anything of the same name on the host. (A plain path line: the host's
own ``.pth`` files, e.g. an editable install of this repo, are not run.)

"That Python" is found as asv finds it: the first ``pythonX.Y`` of this version on PATH,
this environment's own bin directory excepted. Run by asv with the environment's python
(asv.conf.json, ``install_command``).
"""

import json
import os
import subprocess
import sys
import sysconfig

PTH_NAME = "asv_host_site_packages.pth"


def host_python() -> str:
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    own_bin = os.path.realpath(os.path.join(sys.prefix, "bin"))
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(directory, name)
        if directory and os.path.realpath(directory) != own_bin and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit(f"asv_host_packages: no {name} on PATH besides this environment's own; "
                     "put the Python that has torch and triton first on PATH")


def site_packages(python: str) -> list:
    query = ("import json, sysconfig; "
             "print(json.dumps(sorted({sysconfig.get_path('purelib'), sysconfig.get_path('platlib')})))")
    return json.loads(subprocess.run([python, "-c", query], check=True, capture_output=True,
                                     text=True).stdout)


def main() -> None:
    if sys.prefix == sys.base_prefix:
        raise SystemExit("asv_host_packages: not inside a virtual environment; nothing to do here")
    python = host_python()
    paths = site_packages(python)
    target = os.path.join(sysconfig.get_path("purelib"), PTH_NAME)
    with open(target, "w") as pth:
        pth.write("".join(f"{path}\n" for path in paths))
    print(f"asv_host_packages: {target} appends {', '.join(paths)} (from {python})")


if __name__ == "__main__":
    main()
