#!/usr/bin/env python3
"""bench/upload.py - upload throughput of `apdiag upload` to Azurite over loopback.

    bench/upload.py [--size-mb 1024] [--parallel 1,4] [--apdiag build/analyze/apdiag]

Makes a file of SIZE MiB of pseudo-random bytes, starts Azurite (as the tests
do: 127.0.0.1, a free port, a temporary folder), and uploads the file once per
--parallel value with the default 8 MiB blocks, each time to a new blob name.
Prints MB/s (10^6 bytes per second, wall clock including hashing, the commit
and the verification) and apdiag's peak RSS (GNU time).  Azurite writes every
block to disk through node, so it bounds the rate: this measures the pair, not
apdiag alone.  Run on demand; not part of the test suite.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "upload"))
import azlib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--parallel", default="1,4")
    ap.add_argument("--apdiag", default=os.path.join(here, "..", "build", "analyze", "apdiag"))
    a = ap.parse_args()
    if not os.path.exists("/usr/bin/time"):
        sys.exit("bench/upload.py: needs /usr/bin/time (apt-get install time)")
    work = tempfile.mkdtemp(prefix="apdiag-bench-upload-")
    try:
        f = os.path.join(work, "bundle.cab")
        size = a.size_mb << 20
        sha = azlib.make_file(f, size, seed=42)
        subprocess.run(["sync"])
        print("file: %d bytes; %d cores; Azurite on loopback" % (size, os.cpu_count()))
        with azlib.Azurite(work) as az:
            azlib.create_container(az, "bench")
            q = azlib.service_sas("bench")
            for par in [int(x) for x in a.parallel.split(",")]:
                name = "bench-p%d.cab" % par
                t = time.time()
                r = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", a.apdiag, "upload", f,
                                    az.base + "/bench?" + q, "--name", name, "--parallel",
                                    str(par), "--no-progress"],
                                   capture_output=True, text=True,
                                   env={k: v for k, v in os.environ.items()
                                        if "proxy" not in k.lower()})
                secs = time.time() - t
                if r.returncode != 0:
                    sys.exit("upload failed (%d): %s" % (r.returncode, r.stderr))
                rss = int(re.search(r"maxrss_kb=(\d+)", r.stderr).group(1))
                got, n, _h = azlib.blob_sha256(az, "bench", name)
                ok = "identical" if (got, n) == (sha, size) else "DIFFERENT"
                print("parallel %d: %.1f s, %.1f MB/s, peak RSS %.1f MB, blob %s"
                      % (par, secs, size / secs / 1e6, rss / 1024, ok))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
