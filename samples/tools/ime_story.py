"""Deterministic IME log stories (IntuneManagementExtension.log, AppWorkload.log,
AgentExecutor.log) for the sample bundles.

All identifiers are invented.  Message texts follow the IME line catalogue in
KNOWN_ERRORS.md §2.8 and DOMAIN.md §4.5; layout follows real IME 1.9x logs
(7 fractional digits, no bias, M-D-YYYY, empty context/file, CRLF, BOM,
multi-line .NET exception records whose first line break is a bare LF).
"""

import datetime as dt
import json

from apfmt import CMTrace

DEVICE_USER = "00000000-0000-0000-0000-000000000000"
GATEWAY = ("https://fef.msub02.manage.microsoft.com/TrafficGateway/TrafficRoutingService/"
           "SideCar/StatelessSideCarGatewayService")

# one .NET exception record; the line break after the first line is a bare LF
# (IME concatenates "\n" + exception.ToString(), whose own breaks are CRLF)


def token_exception(session):
    frames = [
        "Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.IntuneTokenManager.<AcquireUserTokenAsync>d__31.MoveNext()",
        None,
        "System.Runtime.CompilerServices.TaskAwaiter.ThrowForNonSuccess(Task task)",
        "System.Runtime.CompilerServices.TaskAwaiter.HandleNonSuccessAndDebuggerNotification(Task task)",
        "Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.DiscoveryService.<CheckAadUserAsync>d__22.MoveNext()",
        None,
        "System.Runtime.CompilerServices.TaskAwaiter.ThrowForNonSuccess(Task task)",
        "System.Runtime.CompilerServices.TaskAwaiter.HandleNonSuccessAndDebuggerNotification(Task task)",
        "System.Runtime.CompilerServices.TaskAwaiter.GetResult()",
        "Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.ImpersonateHelper.<RunImpersonatedAsync>d__7.MoveNext()",
    ]
    lines = ["Exception: Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.TokenAquireException: Attempt to get token, but failed."]
    for f in frames:
        lines.append("--- End of stack trace from previous location where exception was thrown ---" if f is None else "   at " + f)
    return ("AAD User check is failed, exception is Intune Management Extension Error.\n"
            + "\r\n".join(lines) + ", session is %d" % session)


def web_exception(host):
    return ("[ServiceBase] Web Exception occurs when sending network request, It's retryable. the exception is "
            "System.Net.WebException: The operation has timed out\r\n"
            "   at System.Net.HttpWebRequest.GetResponse()\r\n"
            "   at Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.ServiceBase.<SendWebRequestInternalAsync>d__18.MoveNext()\r\n"
            "--- End of stack trace from previous location where exception was thrown ---\r\n"
            "   at System.Runtime.CompilerServices.TaskAwaiter.ThrowForNonSuccess(Task task)\r\n"
            "   at System.Runtime.CompilerServices.TaskAwaiter.HandleNonSuccessAndDebuggerNotification(Task task)\r\n"
            "   at Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.ServiceBase.<SendWebRequestAsync>d__17.MoveNext(), host %s" % host)


class App:
    def __init__(self, app_id, rev, name, size, outcome="success", exit_code=0,
                 product_code=None, detection="msi", install_cmd=None, hang=False, install_secs=None,
                 user_id=None, do_peer_pct=None):
        self.id = app_id
        self.rev = rev
        self.name = name
        self.size = size
        self.outcome = outcome      # success | fail | timeout
        self.exit_code = exit_code
        self.product_code = product_code
        self.detection = detection  # msi | script | file
        self.install_cmd = install_cmd or 'msiexec /i "%s.msi" /qn' % name.replace(" ", "")
        self.hang = hang
        self.install_secs = install_secs
        self.user_id = user_id          # an Entra user object id: a user-context app
        self.do_peer_pct = do_peer_pct  # Delivery Optimization: share from peers (DO TEL line)


class ImeStory:
    """Builds the three IME logs of one device on one day."""

    def __init__(self, rng, start, ime_version, enrollment_id, user_sid, tenant_id,
                 apps, scripts, name_suffix=False, ime_start_session_user=None):
        self.rng = rng
        self.ime = CMTrace("IntuneManagementExtension", start, rng, thread=4)
        self.aw = CMTrace("AppWorkload", start, rng, thread=8)
        self.ae = CMTrace("AgentExecutor", start, rng, thread=1)
        self.version = ime_version
        self.enr = enrollment_id
        self.user_sid = user_sid
        self.tenant = tenant_id
        self.apps = apps
        self.scripts = scripts
        self.name_suffix = name_suffix   # IME 1.97+: EspManager line ends "with name: <app>."
        self.esp_state = {a.id: "NotInstalled" for a in apps}
        self.pid = 5100

    # ---- IntuneManagementExtension.log ---------------------------------
    def agent_start(self):
        L = self.ime.log
        L("EMS Agent Started", thread=4)
        L("RecycleScripts = True")
        L("EnableRotateBitLockerKeys = False")
        L("MaxTotalKeysAllowedToDelete = 8")
        L("EnableDeviceAction = True")
        L("Found 1 MDM certificates from Local Computer Store.", step=0.03)
        L("[EMS Agent] OnStart, public cloud env.")
        L("Starting ECS flighting client initialization")
        L("Flighting client initialized successfully.", step=0.05)
        L("Agent version is: %s" % self.version)
        L("Populating AccountId and DeviceId globally. Account ID is : 7d1f3b5a-9c2e-4f6a-8b0d-2e4f6a8c0b1d Device Id is : %s" % self.device_id)
        L("[Location Service] Got address for service: SideCarGatewayService, url: %s" % GATEWAY, step=0.4)
        L("The sideCar gateway url from OnStart is : %s" % GATEWAY)
        L("Start watching registry SOFTWARE\\MICROSOFT\\IntuneWindowsAgent\\Logging")
        L("[StatusService] Starting service host.")
        L("[StatusService] Service host started.", step=0.2)
        L("Win32AppTimer interval is : 3600000 ms")
        L("Starting Win32AppOnTimer task...")
        L("set timer, delayed seconds = %d for workload Win32RequiredApp" % self.rng.randrange(30, 240))
        L("Starting content manager...")
        L("Delaying all checkins by seconds = %d in the first check in on start/restart." % self.rng.randrange(30, 60))
        L("EMS Agent APv2 check returned = False", step=0.1)
        L("EMS Agent initialization is done.")

    def esp_check(self, phase, tracked=None, device_done=False, user_sid=None):
        """One CheckEspPhase round as IME 1.9x writes it (EspHelper tags)."""
        L = self.ime.log
        th = self.rng.choice((11, 13, 14))
        p = "[Win32App][EspHelper]"
        L("%s[CheckEspPhase] Checking ESP status and phase for sessionId: 0" % p, thread=th)
        L("%s[CheckDeviceOnlyFromFirstSyncReg] Opening SOFTWARE\\\\Microsoft\\\\Enrollments" % p, thread=th, step=0.04)
        L("%s[CheckDeviceOnlyFromFirstSyncReg] Found FirstSync under: SOFTWARE\\\\Microsoft\\\\Enrollments\\%s" % (p, self.enr), thread=th)
        L("%s[CheckDeviceOnlyFromFirstSyncReg] Got skipDeviceStatusPageString: 0 under: SOFTWARE\\\\Microsoft\\\\Enrollments\\%s\\FirstSync" % (p, self.enr), thread=th)
        L("%s[CheckDeviceOnlyFromFirstSyncReg] Set skipDeviceStatusPage: False" % p, thread=th)
        L("%s[CheckDeviceOnlyFromFirstSyncReg] Got skipUserStatusPageString: 0 under: SOFTWARE\\\\Microsoft\\\\Enrollments\\%s\\FirstSync" % (p, self.enr), thread=th)
        L("%s[CheckDeviceOnlyFromFirstSyncReg] Set skipUserStatusPage: False" % p, thread=th)
        L("%s[GetLogonIdFromFirstSyncReg] Getting logonId from FirstSyncReg for sessionId 0. Current UserSIDFromFirstSync: , IsSyncDoneForUser: False" % p, thread=th)
        L("%s[GetLogonIdFromFirstSyncReg] Current interactive user sessionId: 1, passed in sessionId: 0" % p, thread=th)
        L("%s[GetLogonIdFromFirstSyncReg] Returning UserSIDFromFirstSync: %s" % (p, user_sid or ""), thread=th)
        L("%s[CheckEspPhase] ESP Checking SidecarCspProvider status" % p, thread=th)
        L("%s[GetHasProvisioningCompleted] Getting hasProvisioningCompleted with userSID " % p, thread=th, step=0.03)
        L("%s[GetHasProvisioningCompletedWmi] Got HasProvisioningCompletedWmi value as %s" % (p, device_done), type_=2, thread=th, step=0.03)
        L("%s[CheckDeviceAndAccountSetupStateWithWmi] ESP got devicePolicyCreated True, deviceHasProvisioningCompleted %s" % (p, device_done), thread=th)
        if device_done:
            L("%s[CheckDeviceAndAccountSetupStateWithWmi] All apps completed for device" % p, type_=2, thread=th)
            L("%s[CheckDeviceAndAccountSetupStateWithWmi] Checked phase in device session, return AccountSetup" % p, type_=2, thread=th)
            L("%s[CheckEspPhase] In EspPhase: AccountSetup. Start the thread to check user token and user SID again if reboot in ESP" % p, type_=2, thread=th)
        else:
            codes = {"NotInstalled": 1, "InProgress": 2, "Completed": 3, "Error": 4}
            for a in self.apps:
                st = codes[(tracked or self.esp_state)[a.id]]
                L("%s[CheckDeviceAndAccountSetupStateWithWmi] DEVICE: got trackingApp Win32App_%s_%d, install: %d, reboot: " % (p, a.id, a.rev, st), thread=th, step=0.02)
            for a in self.apps:
                st = codes[(tracked or self.esp_state)[a.id]]
                if st != 3:
                    L("%s[CheckDeviceAndAccountSetupStateWithWmi] DEVICE got non-completed:  Win32App_%s_%d, %d" % (p, a.id, a.rev, st), type_=2, thread=th)
            L("%s[CheckEspPhase] In EspPhase: %s" % (p, phase), type_=2, thread=th)
        L("%s[CheckEspPhase] Returning device and account setup state: %s" % (p, phase), thread=th)

    def get_policies(self, apps=None):
        pol = []
        for a in (self.apps if apps is None else apps):
            pol.append({
                "Id": a.id, "Name": a.name, "Version": a.rev, "Intent": 3, "TargetType": 1 if a.user_id else 2,
                "InstallCommandLine": a.install_cmd,
                "UninstallCommandLine": 'msiexec /x "%s" /qn' % (a.product_code or "{00000000-0000-0000-0000-000000000000}"),
                "InstallBehavior": 0, "RestartBehavior": 0, "MaxRetries": 3, "RetryIntervalInMinutes": 5,
                "InstallTimeout": 60,
                "ReturnCodes": [{"ReturnCode": 0, "Type": 1}, {"ReturnCode": 1707, "Type": 1},
                                {"ReturnCode": 3010, "Type": 2}, {"ReturnCode": 1641, "Type": 3},
                                {"ReturnCode": 1618, "Type": 4}],
                "AvailableAppEnforcement": 0, "ToastState": 1, "ContentMode": 0,
            })
        self.ime.log("Get policies = %s" % json.dumps(pol, separators=(",", ":")), thread=12, step=0.5)

    def aad_user_fail(self):
        self.ime.log(token_exception(1), type_=1, thread=self.rng.choice((17, 19, 23)), step=0.05)
        self.ime.log("AAD User check using device check in app is failed, now fallback to the Graph audience. ex = Intune Management Extension Error.", type_=3)

    def powershell_round(self, ok=True):
        L = self.ime.log
        L("[PowerShell] Polling thread starts.", thread=15, step=0.2)
        L("[PowerShell] Get 1 active user sessions", thread=15)
        L("[PowerShell] Total valid AAD User session count is 0", thread=15)
        L("[PowerShell] Processing user session 0, user id = %s" % DEVICE_USER, thread=15)
        L("[PowerShell] Requesting policies with session id %s ..." % self.guid(), thread=15, step=0.3)
        L("[PowerShell] Get %d policies for user %s in session 0" % (len(self.scripts), DEVICE_USER), thread=15, step=0.8)
        for sid, name, result in self.scripts:
            L("[PowerShell] Processing policy with id = %s for user %s" % (sid, DEVICE_USER), thread=15)
            L("[PowerShell] Policy body = # %s" % name, thread=15)
            L("[PowerShell] The policy needs be run as System", thread=15)
            L('"C:\\Program Files (x86)\\Microsoft Intune Management Extension\\agentexecutor.exe"  -powershell  "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\Policies\\Scripts\\%s_%s.ps1" "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\Policies\\Results\\%s_%s.output" "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\Policies\\Results\\%s_%s.error" "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\Policies\\Results\\%s_%s.timeout" 960 "C:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" 0 "" "" False False False'
              % ((DEVICE_USER, sid) * 4), thread=15)
            L("Launch powershell executor in machine session", thread=15)
            self.pid += self.rng.randrange(40, 900)
            L("Create proxy process successfully. Process id = %d" % self.pid, thread=15)
            self.agent_executor_script(sid, name, result)
            L("Powershell execution is done, exitCode = %d" % (0 if result == "Success" else 1), thread=15, step=2.5)
            L("[PowerShell] User Id = %s, Policy id = %s, policy result = %s" % (DEVICE_USER, sid, result), thread=15)
            if result != "Success":
                L("[PowerShell] Fail, the details are {\"ExecutionMsg\":\"New-ItemProperty : The property already exists.\",\"ResultDetails\":null}", type_=3, thread=15)
        L("[PowerShell] Polling thread stopped.", thread=15)

    # ---- HealthScripts.log (remediations) -------------------------------
    def hs_round(self, hs, remediations):
        """One remediation check: remediations = [(policy id, name, detect_ok, remediate_exit)]."""
        H = hs.log
        H("[HS] Calling CheckRemediations", step=0.2)
        H("[HS] Get policies = %s" % json.dumps([
            {"PolicyId": pid, "PolicyName": name, "PolicyType": 6, "PolicyBody": "<encoded>",
             "RemediationScript": "<encoded>", "RunAsAccount": 1, "RunAs32Bit": False, "ExecutionFrequency": 1440}
            for pid, name, _, _ in remediations], separators=(",", ":")), step=0.6)
        for pid, name, ok, rexit in remediations:
            H("[HS] Processing policy with id = %s for user %s" % (pid, DEVICE_USER), step=0.1)
            H("[HS] the pre-remdiation detection script compliance result for %s is %s" % (pid, ok), step=1.8)
            if not ok:
                H("[HS] remediation is enabled, starting remediation script for %s" % pid, step=0.1)
                H("[HS] exit code of the script is %d" % rexit, step=2.4)
                H("[HS] the post-remediation detection script compliance result for %s is %s" % (pid, rexit == 0), step=1.1)
            H("[HS] new result = %s" % json.dumps({
                "PolicyId": pid, "UserId": DEVICE_USER, "PolicyHash": None, "Result": 3 if ok or rexit == 0 else 4,
                "ResultDetails": None, "InternalVersion": 1, "ErrorCode": 0 if ok or rexit == 0 else -2147024895,
                "ResultType": 1, "PreRemediationDetectScriptOutput": "compliant" if ok else "not compliant",
                "PreRemediationDetectScriptError": None, "RemediationScriptErrorDetails": None,
                "PostRemediationDetectScriptOutput": None}, separators=(",", ":")), step=0.2)

    # ---- AgentExecutor.log ---------------------------------------------
    def agent_executor_script(self, sid, name, result):
        self.ae.set_time(self.ime.now())
        A = self.ae.log
        base = "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\Policies"
        A("ExecutorLog AgentExecutor gets invoked", step=0.02)
        A("Creating command line parser, name delimiter is - and value separator is  .")
        A("Getting Ordered Parameters")
        A("Parsing Ordered Parameters.")
        A("PowerShell option gets invoked")
        A("%s\\Scripts\\%s_%s.ps1" % (base, DEVICE_USER, sid))
        A("%s\\Results\\%s_%s.output" % (base, DEVICE_USER, sid))
        A("%s\\Results\\%s_%s.error" % (base, DEVICE_USER, sid))
        A("%s\\Results\\%s_%s.timeout" % (base, DEVICE_USER, sid))
        A("Prepare to run Powershell Script ..")
        A('cmd line for running powershell is -NoProfile -executionPolicy bypass -file  "%s\\Scripts\\%s_%s.ps1" ' % (base, DEVICE_USER, sid))
        A("runAs64BitProcess is false")
        A("PowerShell path is C:\\WINDOWS\\SysWOW64\\WindowsPowerShell\\v1.0\\powershell.exe")
        A("[Executor] Running powershell with 960 timeout", step=2.0)
        ok = result == "Success"
        A("Powershell exit code is %d" % (0 if ok else 1), step=2.2)
        A("lenth of out=%d" % (24 if ok else 2))
        A("lenth of error=%d" % (0 if ok else 441))
        if ok:
            A("write output done. output = %s completed.\r\n, error = " % name.replace(".ps1", ""))
        else:
            A("error from script =New-ItemProperty : The property already exists.\r\n"
              "At C:\\Program Files (x86)\\Microsoft Intune Management \r\n"
              "Extension\\Policies\\Scripts\\%s_%s.ps1:12 char:1\r\n"
              "+ New-ItemProperty -Path HKLM:\\SOFTWARE\\Contoso\\Branding -Name Tenant ...\r\n"
              "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\r\n"
              "    + CategoryInfo          : ResourceExists: (HKEY_LOCAL_MACH...ontoso\\Branding:String) [New-ItemProperty], IOException\r\n"
              "    + FullyQualifiedErrorId : System.IO.IOException,Microsoft.PowerShell.Commands.NewItemPropertyCommand\r\n"
              " " % (DEVICE_USER, sid), type_=3)
            A("write output done. output = \r\n, error = New-ItemProperty : The property already exists.", type_=3)
        A("Powershell script is failed to run" if not ok else "Powershell script is successfully executed.")

    def agent_executor_detection(self, app):
        self.ae.set_time(self.aw.now())
        A = self.ae.log
        cache = "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\Content\\DetectionScripts"
        A("ExecutorLog AgentExecutor gets invoked", step=0.02)
        A("Creating command line parser, name delimiter is - and value separator is  .")
        A("Getting Ordered Parameters")
        A("Parsing Ordered Parameters.")
        A("Adding argument powershellDetection with value %s\\%s_%d.ps1 to the named argument list." % (cache, app.id, app.rev))
        A("Powershell detection option gets invoked")
        A('cmd line for running powershell is -NoProfile -executionPolicy bypass -file  "%s\\%s_%d.ps1" ' % (cache, app.id, app.rev))
        A("runAs64BitProcess is true")
        A("PowerShell path is C:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")
        A("[Executor] Running powershell with 60 timeout", step=1.5)
        A("Powershell exit code is 0", step=1.1)
        A("lenth of out=%d" % (len(app.name) + 11))
        A("lenth of error=0")
        A("write output done. output = %s is present\r\n, error = " % app.name)
        A("Powershell script is successfully executed.")

    # ---- AppWorkload.log -----------------------------------------------
    def guid(self):
        r = self.rng.getrandbits(128)
        h = "%032x" % r
        return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[r % 4], h[17:20], h[20:32])

    def esp_update(self, app, old, new):
        s = "[Win32App][EspManager] Updating ESP tracked install status from %s to %s for application %s" % (old, new, app.id)
        s += " with name: %s." % app.name if self.name_suffix else "."
        self.aw.log(s, thread=8)
        self.esp_state[app.id] = new

    def appworkload_start(self):
        W = self.aw.log
        W("[Win32App][V3Processor] Processing %d subgraphs." % len(self.apps), step=0.2)
        W("[Win32App][ESPAppLockInProcessor] Found %d apps which need to be installed for current phase of ESP. AppIds: %s"
          % (len(self.apps), ", ".join(a.id for a in self.apps)))

    def app_flow(self, app, retries_left=0):
        W = self.aw.log
        pfx = "[Win32App]"
        W("[Win32App][V3Processor] Processing subgraph with app ids: %s" % app.id, step=0.3)
        W("[Win32App][DetectionActionHandler] Detection for policy with id: %s resulted in action status: Success and detection state: NotDetected." % app.id, step=0.2)
        W("[Win32App][ApplicabilityActionHandler] Applicability check for policy with id: %s resulted in action status: Success and applicability state: Applicable." % app.id)
        W("[Win32App][ActionProcessor] App with id: %s, targeted intent: RequiredInstall, and enforceability: Enforceable has projected enforcement classification: EnforcementPoint with desired state: Present. Current state is:\r\n"
          "Detection state: NotDetected\r\n"
          "Applicability state: Applicable\r\n"
          "Reboot state: Clean, timestamp: 1/1/0001 12:00:00 AM\r\n"
          "Download state: NotStarted\r\n"
          "Execution state: NotStarted" % app.id)
        W("[Win32App][DownloadActionHandler] Handler invoked for policy with id: %s" % app.id)
        W("%s Content cache miss for app (id = %s, name = %s), start downloading" % (pfx, app.id, app.name))
        job = self.guid()
        uid = app.user_id or DEVICE_USER
        W("[StatusService] Downloading app (id = %s, name %s) via DO, bytes 0/%d for user %s" % (app.id, app.name, app.size, uid))
        W("[Win32App DO] DO Job Id = %s " % job, step=0.1)
        W("[Win32App DO] start creating a new download job, FileId = %s_%s_%d_intunewin-bin" % (self.guid(), app.id, app.rev))
        self.aw.advance(app.size / 9_000_000.0, jitter=3)
        W("[StatusService] Downloading app (id = %s, name %s) via DO, bytes %d/%d for user %s" % (app.id, app.name, app.size, app.size, uid))
        W("[Win32App DO] DO download and decryption is successfully done")
        if app.do_peer_pct is not None:
            peers = app.size * app.do_peer_pct // 100
            W("[DO TEL] = %s" % json.dumps({
                "FileId": "%s_%s_%d_intunewin-bin" % (self.guid(), app.id, app.rev), "FileSize": app.size,
                "TotalBytesDownloaded": app.size, "BytesFromPeers": peers, "BytesFromHttp": app.size - peers,
                "BytesFromLanPeers": peers, "BytesFromGroupPeers": 0, "BytesFromInternetPeers": 0,
                "PercentPeerCaching": app.do_peer_pct, "DownloadMode": 1, "DownloadDuration": "00:00:%02d" % min(59, max(1, app.size // 9_000_000)),
                "Status": "Caching"}, separators=(",", ":")))
        W("%s Starts verifying encrypted hash" % pfx)
        W("%s hmac validation is pass." % pfx, step=0.3)
        W("%s file hash validation pass, starts decrypting" % pfx)
        W("%s Decryption is done successfully." % pfx, step=0.4)
        W("%s Start unzipping." % pfx)
        W("%s Unzipping file on session 0 from C:\\Program Files (x86)\\Microsoft Intune Management Extension\\Content\\Staging\\%s_%d\\%s_%d.zip to C:\\Windows\\IMECache\\%s_%d"
          % (pfx, app.id, app.rev, app.id, app.rev, app.id, app.rev), step=1.2)
        W("[Win32App][ReportingManager] Download state for app with id: %s has been updated. Report delta: {\"DownloadState\":{\"OldValue\":\"NotStarted\",\"NewValue\":\"Completed\"}}" % app.id)
        W("[Win32App][ExecutionActionHandler] Handler invoked for policy with id: %s" % app.id)
        self.esp_update(app, "NotInstalled", "InProgress")
        W("%s ===Step=== Execute retry 0" % pfx)
        W("%s ===Step=== InstallBehavior RegularWin32App, Intent 3, UninstallCommandLine msiexec /x \"%s\" /qn" % (pfx, app.product_code))
        W("%s SetCurrentDirectory: C:\\Windows\\IMECache\\%s_%d" % (pfx, app.id, app.rev))
        W("%s Launch Win32AppInstaller in %s session" % (pfx, "user" if app.user_id else "machine"))
        W("%s lastWin32Error 0 after CreateProcess" % pfx)
        W("%s Create installer process successfully." % pfx)
        self.pid += self.rng.randrange(100, 2000)
        W("%s process id = %d" % (pfx, self.pid))
        W("%s Installer process timeout milliseconds: 3600000." % pfx)
        if app.outcome == "timeout":
            self.aw.advance(3600, jitter=0.5)
            W("%s lastWin32Error 0 after WaitForSingleObject" % pfx)
            W("%s Installation is timeout, collecting result" % pfx, type_=3)
            W("%s installer is running timeout, skip staged content clean up." % pfx, type_=2)
            W("%s Set EnforcementStateMessage.ErrorCode -2016214839" % pfx)
            W("[Win32App][ReportingManager] Execution state for app with id: %s has been updated. Report delta: {\"EnforcementState\":{\"OldValue\":\"InProgress\",\"NewValue\":\"Error\"},\"ErrorCode\":{\"OldValue\":null,\"NewValue\":-2016214839}}" % app.id, type_=3)
            return
        if app.install_secs:
            self.aw.advance(app.install_secs, jitter=5)
        else:
            self.aw.advance(25 + app.size / 4_000_000.0, jitter=30)
        W("%s lastWin32Error 0 after WaitForSingleObject" % pfx)
        W("%s Installation is done, collecting result" % pfx)
        W("%s lpExitCode %d" % (pfx, app.exit_code))
        hr = 0 if app.exit_code == 0 else -(0x100000000 - (0x80070000 | app.exit_code))
        W("%s hResultFromWin32 %d" % (pfx, hr))
        if app.outcome == "fail":
            W("%s lpExitCode is defined as Failed" % pfx, type_=3)
            W("%s Set EnforcementStateMessage.ErrorCode %d" % (pfx, hr))
            W("%s SetCurrentDirectory back to C:\\WINDOWS\\system32" % pfx)
            W("%s Close handle" % pfx)
            W("[Win32App][ReportingManager] Execution state for app with id: %s has been updated. Report delta: {\"EnforcementState\":{\"OldValue\":\"InProgress\",\"NewValue\":\"Error\"},\"ErrorCode\":{\"OldValue\":null,\"NewValue\":%d}}" % (app.id, hr), type_=3)
            self.esp_update(app, "InProgress", "Error")
            W("[Win32App][ReportingManager] Sending status to company portal based on report: %s" % json.dumps(
                {"ApplicationId": app.id, "ResultantAppState": 3, "ReportingImpact": {"DesiredState": 3, "Classification": 2, "ConflictReason": 0, "ImpactingApps": []},
                 "WriteableToStorage": True, "CanGenerateComplianceState": True, "CanGenerateEnforcementState": True,
                 "IsAppReportable": True, "IsAppAggregatable": True, "AvailableAppEnforcementFlag": 0,
                 "DesiredState": 2, "DetectionState": 2, "DetectionErrorOccurred": False, "DetectionErrorCode": None,
                 "ApplicabilityState": 0, "ApplicabilityErrorOccurred": False, "ApplicabilityErrorCode": None,
                 "EnforcementState": 5000, "EnforcementErrorCode": hr, "TargetingMethod": 0, "TargetingType": 2,
                 "InstallContext": 2, "Intent": 3, "InternalVersion": app.rev, "DetectedIdentityVersion": None,
                 "RemovalReason": None}, separators=(",", ":")), type_=1)
            W("[Win32App][GRSManager] App with id: %s is not expected but has GRS, setting GRS for retry. Hash: %s" % (app.id, self.guid().replace("-", "")[:32]), type_=2)
            return
        W("%s lpExitCode is defined as Success" % pfx)
        W("%s Set EnforcementStateMessage.ErrorCode 0" % pfx)
        W("%s SetCurrentDirectory back to C:\\WINDOWS\\system32" % pfx)
        W("%s ===Step=== Detection rules after Execution" % pfx)
        if app.detection == "script":
            self.agent_executor_detection(app)
            W("%s Completed detectionManager SideCarScriptDetectionManager, applicationDetectedByCurrentRule: True" % pfx, step=3.0)
        else:
            W("%s Checked ProductCode %s, Found it. sideCarProductCodeDetectionMetadata.ProductVersionOperator is 0 applicationDetected: True" % (pfx, app.product_code), step=10.0)
            W("%s Completed detectionManager SideCarProductCodeDetectionManager, applicationDetectedByCurrentRule: True" % pfx)
        W("[Win32App][DetectionActionHandler] Detection for policy with id: %s resulted in action status: Success and detection state: Detected." % app.id)
        W("[Win32App][ReportingManager] Detection state for app with id: %s has been updated. Report delta: {\"DetectionState\":{\"OldValue\":\"NotDetected\",\"NewValue\":\"Installed\"}}" % app.id)
        W("[Win32App][ReportingManager] Execution state for app with id: %s has been updated. Report delta: {\"EnforcementState\":{\"OldValue\":\"InProgress\",\"NewValue\":\"Success\"},\"ErrorCode\":{\"OldValue\":null,\"NewValue\":0}}" % app.id)
        self.esp_update(app, "InProgress", "Completed")
        W("[Win32App][V3Processor] Done processing subgraph.")

    def appworkload_idle(self):
        W = self.aw.log
        W("[Win32App][V3Processor] Done processing 1 subgraphs.", step=0.1)
        W("[Win32App][ReportingManager] Sending status for %d apps to service." % len(self.apps), step=0.8)

    def appworkload_checkin(self):
        """A later check-in: installed apps are detected, failed ones sit in GRS."""
        W = self.aw.log
        W("[Win32App][V3Processor] Processing %d subgraphs." % len(self.apps), step=0.3)
        for a in self.apps:
            st = self.esp_state[a.id]
            if st == "Completed":
                W("[Win32App][DetectionActionHandler] Detection for policy with id: %s resulted in action status: Success and detection state: Detected." % a.id, step=0.2)
                W("[Win32App][ActionProcessor] App with id: %s, targeted intent: RequiredInstall, and enforceability: Enforceable has projected enforcement classification: NoEnforcement with desired state: Present. Current state is:\r\n"
                  "Detection state: Detected\r\n"
                  "Applicability state: Applicable\r\n"
                  "Reboot state: Clean, timestamp: 1/1/0001 12:00:00 AM\r\n"
                  "Download state: Completed\r\n"
                  "Execution state: Success" % a.id)
            elif st == "Error":
                W("[Win32App][DetectionActionHandler] Detection for policy with id: %s resulted in action status: Success and detection state: NotDetected." % a.id, step=0.2)
                W("[Win32App][ActionProcessor] App with id: %s to install is in GRS. The app will not be enforced." % a.id, type_=2)
            else:
                W("[Win32App][ActionProcessor] App with id: %s has previously been selected for enforcement. The app will not be enforced." % a.id)
        W("[Win32App][V3Processor] Done processing %d subgraphs." % len(self.apps))

    # ---- pre-provisioning user flow, long after the technician flow -------
    def app_detect_not_computed(self, app):
        """A user-flow check-in in which detection cannot run (KNOWN_ERRORS PP-03 / IME-01).

        The app was installed and detected in the technician flow; now the IME
        cannot evaluate its detection rule, reports NotComputed and does not
        enforce the app.
        """
        W = self.aw.log
        W("[Win32App][V3Processor] Processing subgraph with app ids: %s" % app.id, step=0.3)
        W("[Win32App][DetectionActionHandler] Detection for policy with id: %s resulted in action status: Failed and detection state: NotComputed." % app.id,
          type_=3, step=0.2)
        W("[Win32App][ReportingManager] Detection state for app with id: %s has been updated. Report delta: {\"DetectionState\":{\"OldValue\":\"Installed\",\"NewValue\":\"NotComputed\"}}" % app.id)
        W("[Win32App][ActionProcessor] App with id: %s, targeted intent: RequiredInstall, and enforceability: Enforceable has projected enforcement classification: NoEnforcement with desired state: Present. Current state is:\r\n"
          "Detection state: NotComputed\r\n"
          "Applicability state: Applicable\r\n"
          "Reboot state: Clean, timestamp: 1/1/0001 12:00:00 AM\r\n"
          "Download state: Completed\r\n"
          "Execution state: Success" % app.id)
        W("[Win32App][V3Processor] Done processing subgraph.")
