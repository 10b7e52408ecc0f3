#!/usr/bin/env python3
"""gen_cmtrace.py - write a synthetic IME-like CMTrace log for benchmarks.

    gen_cmtrace.py [--size-mb N] [--seed S] -o FILE

The output looks like IntuneManagementExtension.log as IME 1.9x writes it:
UTF-8 with a BOM, CRLF, 7 fractional digits, dates not zero-padded,
type 1/2/3 at roughly the rates of real logs, messages from one-liners to
multi-kilobyte JSON, and multi-line entries (.NET stack traces, script
output) so that about a third of all lines are continuation lines, as in
real IME logs (DOMAIN.md 4.2).  All names, GUIDs and URLs are made up.
Deterministic for a given seed.  Statistics go to stderr.
"""

import argparse
import random
import sys
import uuid

COMPONENTS = [("IntuneManagementExtension", 80), ("AgentExecutor", 8), ("AppWorkload", 8),
              ("HealthScripts", 4)]
TYPES = [("1", 92), ("2", 5), ("3", 3)]

SHORT = [
    "[Win32App][EspHelper][CheckEspPhase] In EspPhase: DeviceSetup",
    "[Win32App][EspHelper] Returning device and account setup state: DeviceSetup",
    "Session change detected.",
    "OnSessionChange: SessionUnlock",
    "[Location Service] Service URL is not available or expired, retrieving with LocationService "
    "ServiceAddresses Controller",
    "RegistryKeyExistsFullPath opening subPath SOFTWARE\\Microsoft\\Provisioning\\OMADM\\Accounts...",
    "[Win32App] ..................... Processing app (id={g}, name = Sample App {n}) with mode = "
    "DetectInstall .....................",
    "[Win32App][DetectionActionHandler] Detection for policy with id: {g} resulted in action status: "
    "Success and detection state: NotDetected.",
    "[Win32App][ActionProcessor] Found: 0 apps with intent to uninstall before enforcing installs: [].",
    "[DO TEL] = {{\"JobId\":\"{g}\",\"BytesFromPeers\":0,\"TotalBytesDownloaded\":{n}}}",
    "Add Token with length {n} into WebRequest",
    "Sending network request... retryCount = 0",
    "[Flighting] Flag Win32AppUseDeliveryOptimization is enabled",
]

FRAMES = [
    "   at System.Net.HttpWebRequest.EndGetResponse(IAsyncResult asyncResult)",
    "   at System.Threading.Tasks.TaskFactory`1.FromAsyncCoreLogic(IAsyncResult iar, "
    "Func`2 endFunction, Action`1 endAction, Task`1 promise, Boolean requiresSynchronization)",
    "--- End of stack trace from previous location where exception was thrown ---",
    "   at System.Runtime.CompilerServices.TaskAwaiter.ThrowForNonSuccess(Task task)",
    "   at System.Runtime.CompilerServices.TaskAwaiter.HandleNonSuccessAndDebuggerNotification(Task task)",
    "   at Sample.Agent.Common.ServiceBase.<SendWebRequest>d__16.MoveNext()",
    "   at Sample.Agent.Win32App.ContentManager.<DownloadAsync>d__9.MoveNext()",
    "   at Sample.Agent.Common.TokenManager.<GetTokenInternalAsync>d__42.MoveNext()",
]


def weighted(rng, table):
    """Pick a value from [(value, weight), ...]."""
    total = sum(w for _, w in table)
    r = rng.randrange(total)
    for v, w in table:
        if r < w:
            return v
        r -= w
    return table[-1][0]


def guid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def json_blob(rng, items):
    parts = []
    for i in range(items):
        parts.append('{"Id":"%s","Name":"Sample App %d","Intent":%d,"Version":%d,'
                     '"DetectionRule":"[{\\"DetectionType\\":2,\\"DetectionText\\":\\"C:\\\\\\\\Program Files'
                     '\\\\\\\\Sample\\\\\\\\app%d.exe\\"}]","InstallCommandLine":"setup.exe /quiet"}'
                     % (guid(rng), i, rng.randrange(4), rng.randrange(100), i))
    return "[" + ",".join(parts) + "]"


def message(rng):
    """One message and how many extra lines it spans."""
    r = rng.random()
    if r < 0.045:
        # an exception with a .NET stack trace; IME's first break is sometimes LF only
        frames = [rng.choice(FRAMES) for _ in range(rng.randrange(6, 16))]
        first = "Failed to download content, exception is System.Net.WebException: The remote " \
                "server returned an error: (401) Unauthorized."
        sep = "\n" if rng.random() < 0.3 else "\r\n"
        return first + sep + "\r\n".join(frames), len(frames)
    if r < 0.06:
        # script output
        lines = ["Script output:"] + ["  step %d done, exit code 0" % i
                                      for i in range(rng.randrange(2, 8))]
        return "\r\n".join(lines), len(lines) - 1
    if r < 0.10:
        return "Get policies = " + json_blob(rng, rng.randrange(1, 6)), 0
    if r < 0.16:
        return ("[Win32App][ReportingManager] Sending status to company portal based on report: "
                '{"ApplicationId":"%s","ResultantAppState":1,"ReportingImpact":{"DesiredState":3,'
                '"Classification":2,"ConflictReason":0},"WriteableToStorage":true,'
                '"CanGenerateComplianceState":true,"CanGenerateEnforcementState":true,'
                '"IsAppReportable":true,"IsAppAggregatable":true,"AvailableAppEnforcementFlag":0,'
                '"DesiredState":2,"DetectionState":1,"DetectionErrorOccurred":false,'
                '"DetectionErrorCode":null,"InstallContext":2,"InstallState":1}' % guid(rng)), 0
    return rng.choice(SHORT).format(g=guid(rng), n=rng.randrange(100000)), 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=512, help="size in MiB (default 512)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    target = a.size_mb * 1024 * 1024
    threads = [str(t) for t in (1, 4, 7, 12, 16, 19, 24, 25, 31, 42)]
    secs = 7 * 3600.0
    day, month, year = 4, 8, 2025
    written = entries = lines = cont = 0
    with open(a.output, "wb") as f:
        f.write(b"\xef\xbb\xbf")
        written = 3
        while written < target:
            batch = []
            for _ in range(2000):
                msg, extra = message(rng)
                secs += rng.random() * 0.05
                if secs >= 86400:
                    secs -= 86400
                    day += 1
                    if day > 28:
                        day, month = 1, month % 12 + 1
                s = int(secs)
                frac = int((secs - s) * 1e7)
                batch.append('<![LOG[%s]LOG]!><time="%02d:%02d:%02d.%07d" date="%d-%d-%d" '
                             'component="%s" context="" type="%s" thread="%s" file="">\r\n'
                             % (msg, s // 3600, s // 60 % 60, s % 60, frac, month, day, year,
                                weighted(rng, COMPONENTS), weighted(rng, TYPES),
                                rng.choice(threads)))
                entries += 1
                lines += 1 + extra
                cont += extra
            data = "".join(batch).encode("utf-8")
            f.write(data)
            written += len(data)
    print("gen_cmtrace: %s: %d bytes, %d entries, %d lines, %.1f%% continuation lines"
          % (a.output, written, entries, lines, 100.0 * cont / lines), file=sys.stderr)


if __name__ == "__main__":
    main()
