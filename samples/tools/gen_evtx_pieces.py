#!/usr/bin/env python3
"""Generate samples/pieces/evtx/: the event logs of Autopilot scenarios.

Each scenario is one device's timeline, written as the channels a failed (or
healthy) Autopilot device has, one EVTX per channel, with the JSON spec the
file was written from next to it.  Files are named as Windows names them in
%windir%\\System32\\winevt\\Logs ('/' in the channel becomes '%4').

Provider names and GUIDs, channels, event IDs and the EventData field names
and types follow the providers' manifests (DOMAIN.md §7, KNOWN_ERRORS.md §2,
shared/corpus/messages/*.tsv for the number of insertion strings).  Events
807, 815 and 908 are documented by Microsoft but absent from the message
tables; their one field (Message1, the documented text) is an assumption, as
are the Shell-Core CXH field names (CXID, Name, Value).  Everything else is
invented: tenant contoso.onmicrosoft.com, users, devices, SIDs, GUIDs.
Scenarios PC01, PC02 and DESKTOP-7QK2M4R tell the same story, at the same
times, as the sample bundles of those devices (samples/README.md).

Times are UTC, as EVTX stores them.  Deterministic: running it again gives
the same bytes.

Usage: gen_evtx_pieces.py [OUTDIR]      (default: samples/pieces/evtx)
"""

import base64
import datetime as dt
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "tools"))

import evtx_write  # noqa: E402

UTC = dt.timezone.utc
TENANT = "contoso.onmicrosoft.com"
TENANT_ID = "3f2c9a1e-7b4d-4e8a-9c61-2d5e8f0a7b13"     # as in gen_pieces.py
INTUNE_APP = "0000000a-0000-0000-c000-000000000000"    # public Intune MDM application id
SYSTEM = "S-1-5-18"
ZTD_PATH = "C:\\Windows\\ServiceState\\wmansvc\\AutopilotDDSZTDFile.json"

# channel key -> (provider, channel, default keywords)
CHANNELS = {
    "MDD": ({"name": "Microsoft-Windows-ModernDeployment-Diagnostics-Provider",
             "guid": "{BAB3AD92-FB96-5902-450B-B8421BDEC7BD}"},
            "Microsoft-Windows-ModernDeployment-Diagnostics-Provider/Autopilot", "0x4000000000000000"),
    "DM": ({"name": "Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider",
            "guid": "{3DA494E4-0FE2-415C-B895-FB5265C5C83B}"},
           "Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider/Admin", "0x8000000000000000"),
    "UDR": ({"name": "Microsoft-Windows-User Device Registration",
             "guid": "{23B8D46B-67DD-40A3-B636-D43E50552C6D}"},
            "Microsoft-Windows-User Device Registration/Admin", "0x8000000000000000"),
    "AAD": ({"name": "Microsoft-Windows-AAD", "guid": "{4DE9BC9C-B27A-43C9-8994-0915F1A5E24F}"},
            "Microsoft-Windows-AAD/Operational", "0x4000000000000002"),
    "SHELL": ({"name": "Microsoft-Windows-Shell-Core", "guid": "{30336ED4-E327-447C-9DE0-51B652C86108}"},
              "Microsoft-Windows-Shell-Core/Operational", "0x2000000800010000"),
}

S, U32, I32, H32 = "string", "uint32", "int32", "hexint32"

# (channel key, event id) -> [(field, type)], in insertion-string order
FIELDS = {
    ("MDD", 100): [("Message1", S)],
    ("MDD", 101): [("Message1", S), ("Int1", I32)],
    ("MDD", 103): [("Message1", S), ("Message2", S)],
    ("MDD", 109): [("Message1", S), ("Message2", S)],
    ("MDD", 111): [], ("MDD", 160): [], ("MDD", 161): [], ("MDD", 164): [],
    ("MDD", 169): [], ("MDD", 189): [], ("MDD", 208): [], ("MDD", 250): [],
    ("MDD", 286): [], ("MDD", 314): [],
    ("MDD", 153): [("InitialState", U32), ("UpdateState", U32)],
    ("MDD", 171): [("HRESULT", I32)],
    ("MDD", 172): [("HRESULT", I32)],
    ("MDD", 177): [("Uint1", U32), ("Uint2", U32)],
    ("MDD", 178): [("Int1", I32)],
    ("MDD", 179): [("State", U32)],
    ("MDD", 180): [("State", U32), ("HRESULT", I32)],
    ("MDD", 181): [("State", U32), ("HRESULT", I32)],
    ("MDD", 192): [("HRESULT", I32), ("WaitMs", U32), ("AttemptNumber", U32), ("MaxAttempts", U32)],
    ("MDD", 251): [("HRESULT", I32), ("UInt1", U32), ("Int1", I32)],
    ("MDD", 287): [("Message1", S), ("Message2", S)],
    ("MDD", 288): [("Message1", S), ("Message2", S)],
    ("MDD", 292): [("Message1", S), ("Message2", S)],
    ("MDD", 293): [("Message1", S), ("Message2", S), ("Int1", I32)],
    ("MDD", 296): [("Message1", S), ("Message2", S)],
    ("MDD", 297): [("Message1", S), ("Message2", S)],
    ("MDD", 301): [("State", U32), ("HRESULT", I32)],
    ("MDD", 303): [("State", U32)],
    ("MDD", 702): [("Message1", S)],
    ("MDD", 709): [("HRESULT", I32), ("Message1", S)],
    ("MDD", 807): [("Message1", S)],
    ("MDD", 815): [("Message1", S)],
    ("MDD", 908): [("Message1", S)],
    ("UDR", 100): [], ("UDR", 105): [], ("UDR", 106): [],
    ("UDR", 101): [("ServerMessage", S)],
    ("UDR", 102): [("JoinRequestType", U32), ("JoinRequestTypeSymbolicName", S), ("Domain", S)],
    ("UDR", 103): [("AuthToken", S)],
    ("UDR", 104): [("ServerResponse", S), ("ActivityId", S)],
    ("UDR", 204): [("ExitCode", H32), ("ActivityId", S), ("HttpStatus", U32), ("ServerResponse", S)],
    ("AAD", 1098): [("Error", H32), ("ErrorMessage", S), ("AdditionalInformation", S)],
    ("AAD", 1105): [("API", S), ("Result", H32)],
    ("DM", 52): [("Message1", S), ("Message2", S)],
    ("DM", 54): [], ("DM", 58): [], ("DM", 72): [],
    ("DM", 71): [("HRESULT", H32)],
    ("DM", 209): [("HRESULT", H32)],
    ("SHELL", 62404): [("CXID", S)],
    ("SHELL", 62405): [("Result", S)],
    ("SHELL", 62407): [("Name", S), ("Value", S)],
}
LEVEL = {"E": 2, "W": 3, "I": 4}

# Autopilot profile states and device-enrollment phases (value maps)
UNKNOWN, NOT_PROVISIONED, TPM_ATTESTING, AVAILABLE = 1, 2, 3, 4
AAD_CONFIGURE, AAD_ENROLL, DEVICE_DISCOVERY, AAD_TICKET, MDM_ENROLLING, COMPLETED = 8, 9, 10, 11, 12, 13


def hr(x):
    """HRESULT as the signed 32-bit value Windows logs in Int32 fields."""
    return x - (1 << 32) if x & 0x80000000 else x


def jwt(upn):
    """An unsigned, invented token: what event 103 prints as AuthToken.

    upn None: a device token (self-deploying and pre-provisioning joins).
    """
    def b64(o):
        return base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).decode().rstrip("=")
    claims = {"tid": TENANT_ID}
    claims.update({"upn": upn} if upn else {"scp": "device"})
    return "%s.%s." % (b64({"typ": "JWT", "alg": "none"}), b64(claims))


def cxh(message, code=0):
    return json.dumps({"message": message, "errorCode": code}, separators=(",", ":"))


class Scenario:
    def __init__(self, name, computer, day, story):
        self.name = name
        self.computer = computer
        self.day = day
        self.story = story
        self.events = {k: [] for k in CHANNELS}

    def t(self, h, m, s=0, ms=0):
        return dt.datetime(self.day.year, self.day.month, self.day.day, h, m, s, ms * 1000, tzinfo=UTC)

    def ev(self, ch, when, eid, level="I", *values, pid, tid, user=SYSTEM, task=0):
        fields = FIELDS[(ch, eid)]
        if len(values) != len(fields):
            raise ValueError("%s %s %d: %d values for %d fields" % (self.name, ch, eid, len(values), len(fields)))
        data = [{"name": n, "type": t, "value": v} for (n, t), v in zip(fields, values)]
        self.events[ch].append((when, {"event_id": eid, "level": LEVEL[level], "task": task,
                                       "process_id": pid, "thread_id": tid, "user_id": user,
                                       "event_data": data}))

    def specs(self):
        out = {}
        for ch, evs in self.events.items():
            if not evs:
                continue
            prov, channel, kw = CHANNELS[ch]
            evs = sorted(evs, key=lambda e: e[0])      # stable: same-time events keep their order
            recs = []
            for when, r in evs:
                r = dict(r)
                r["time"] = when.strftime("%Y-%m-%dT%H:%M:%S.") + "%07dZ" % (when.microsecond * 10)
                recs.append(r)
            out[channel] = {
                "comment": "%s on %s: %s" % (self.name, self.computer, self.story),
                "defaults": {"provider": prov, "channel": channel, "computer": self.computer,
                             "keywords": kw, "version": 0, "opcode": 0},
                "records": recs,
            }
        return out


# ---------------------------------------------------------------------------
# Building blocks shared by the stories
# ---------------------------------------------------------------------------

WMANSVC = 3012          # svchost.exe hosting wmansvc (ModernDeployment provider)


def policies_not_found(sc, start, names, tid, step=0.4):
    when = start
    for n in names:
        sc.ev("MDD", when, 100, "W", n, pid=WMANSVC, tid=tid)
        when += dt.timedelta(seconds=step)
    return when


def profile_download_ok(sc, start, tid, oobe_config=284, profile="Contoso User-Driven Entra Join"):
    """160 ... 153 Unknown -> Available ... 111, then the policies CXH reads."""
    w = start
    step = dt.timedelta(milliseconds=137)
    for eid in (160, 164, 286):
        sc.ev("MDD", w, eid, pid=WMANSVC, tid=tid)
        w += step
    w += dt.timedelta(seconds=4, milliseconds=611)
    sc.ev("MDD", w, 702, "I", ZTD_PATH, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + step, 153, "I", UNKNOWN, AVAILABLE, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + 2 * step, 161, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + 3 * step, 111, pid=WMANSVC, tid=tid + 8)
    r = w + dt.timedelta(seconds=2)
    for i, (eid, a, b) in enumerate([
            (103, "CloudAssignedTenantDomain", TENANT),
            (103, "CloudAssignedTenantId", TENANT_ID),
            (101, "CloudAssignedOobeConfig", oobe_config),
            (101, "CloudAssignedDomainJoinMethod", 0),
            (101, "CloudAssignedForcedEnrollment", 1),
            (103, "CloudAssignedMdmId", INTUNE_APP),
            (103, "DeploymentProfileName", profile),
            (109, "CloudAssignedOobeConfig_SkipEula", "true"),
            (109, "CloudAssignedOobeConfig_HidePrivacySettings", "true")]):
        sc.ev("MDD", r + dt.timedelta(milliseconds=53 * i), eid, "I", a, b, pid=WMANSVC, tid=tid + 8)
    return r + dt.timedelta(seconds=1)


def udr_join_ok(sc, start, upn, device_id, activity, pid, tid, user=SYSTEM):
    w = start
    ms = lambda n: dt.timedelta(milliseconds=n)      # noqa: E731
    sc.ev("UDR", w, 100, pid=pid, tid=tid, user=user)
    sc.ev("UDR", w + ms(412), 101, "I", discovery_json(), pid=pid, tid=tid + 4, user=user)
    sc.ev("UDR", w + ms(431), 102, "I", 0, "DSREG_DEVICE_JOIN", TENANT, pid=pid, tid=tid + 4, user=user)
    sc.ev("UDR", w + ms(702), 103, "I", jwt(upn), pid=pid, tid=tid + 4, user=user)
    resp = json.dumps({"Certificate": {"Thumbprint": "(elided)", "RawBody": "(elided)"},
                       "User": {"Upn": upn or ""}, "MembershipChanges": [{"LocalSID": "S-1-5-32-544",
                                                                    "AddSIDs": ["(elided)"]}],
                       "DeviceId": device_id}, separators=(",", ":"))
    sc.ev("UDR", w + ms(2877), 104, "I", resp, activity, pid=pid, tid=tid + 12, user=user)
    sc.ev("UDR", w + ms(3019), 105, pid=pid, tid=tid + 12, user=user)
    sc.ev("UDR", w + ms(3392), 106, pid=pid, tid=tid + 12, user=user)
    return w + ms(3400)


def discovery_json():
    return json.dumps({
        "DiscoveryService": {"DiscoveryEndpoint": "https://enterpriseregistration.windows.net/%s/Discover" % TENANT,
                             "ServiceVersion": "1.7"},
        "DeviceRegistrationService": {"RegistrationEndpoint": "https://enterpriseregistration.windows.net/EnrollmentServer/DeviceEnrollmentWebService.svc",
                                      "RegistrationResourceId": "urn:ms-drs:enterpriseregistration.windows.net",
                                      "ServiceVersion": "1.0"},
        "AuthenticationService": {"OAuth2": {"AuthCodeEndpoint": "https://login.microsoftonline.com/%s/oauth2/authorize" % TENANT_ID,
                                             "TokenEndpoint": "https://login.microsoftonline.com/%s/oauth2/token" % TENANT_ID}},
    }, separators=(",", ":"))


def dm_enroll_ok(sc, start, pid, tid):
    s = dt.timedelta(seconds=1)
    sc.ev("DM", start, 54, pid=pid, tid=tid)
    sc.ev("DM", start + 4 * s, 58, pid=pid, tid=tid)
    sc.ev("DM", start + 5 * s, 72, pid=pid, tid=tid)
    return start + 5 * s


def dm_sessions(sc, times, pid, tid):
    for w in times:
        sc.ev("DM", w, 209, "I", 0, pid=pid, tid=tid)


def esp_shell(sc, w, pid, tid, user, steps):
    """Shell-Core CXH events; steps: (seconds after w, event id, *values)."""
    for secs, eid, *vals in steps:
        sc.ev("SHELL", w + dt.timedelta(seconds=secs), eid, "I", *vals, pid=pid, tid=tid, user=user, task=eid)


DEFAULTUSER0 = "S-1-5-21-2964291637-1758843114-2438127410-1000"     # invented

# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------


def entra_join_801c0003():
    """CONTOSO-PC01, 2025-10-01: the story of DiagLogs-CONTOSO-PC01 (bundle B)."""
    sc = Scenario("entra-join-801c0003", "CONTOSO-PC01", dt.date(2025, 10, 1),
                  "user-driven Entra join fails at 09:12:44 with 0x801c0003 for adele.vance "
                  "(per-user device limit); it-setup@ joins at 09:31:07, MDM enrollment 09:33:12, ESP completes")
    t = sc.t
    w = policies_not_found(sc, t(9, 7, 58, 211), ["CloudAssignedTenantDomain", "CloudAssignedTenantId",
                                                  "CloudAssignedOobeConfig", "ZtdCorrelationId"], tid=3240)
    profile_download_ok(sc, t(9, 8, 26, 884), tid=3240)
    # first join attempt, adele.vance
    ms = lambda n: dt.timedelta(milliseconds=n)       # noqa: E731
    j = t(9, 12, 41, 377)
    cxh_pid, cxh_tid = 6104, 6288
    sc.ev("UDR", j, 100, pid=cxh_pid, tid=cxh_tid)
    sc.ev("UDR", j + ms(388), 101, "I", discovery_json(), pid=cxh_pid, tid=cxh_tid + 4)
    sc.ev("UDR", j + ms(404), 102, "I", 0, "DSREG_DEVICE_JOIN", TENANT, pid=cxh_pid, tid=cxh_tid + 4)
    sc.ev("UDR", j + ms(690), 103, "I", jwt("adele.vance@" + TENANT), pid=cxh_pid, tid=cxh_tid + 4)
    fail = t(9, 12, 44, 102)
    server = json.dumps({"ErrorType": "AuthorizationError",
                         "Message": "The user adele.vance@%s has reached the maximum number of devices "
                                    "allowed to be joined by a user." % TENANT,
                         "TraceId": "6e0c2a48-13f5-4b7d-9e21-c8a4f60b3d97",
                         "Time": "10-01-2025 09:12:44Z"}, separators=(",", ":"))
    sc.ev("UDR", fail, 204, "E", 0x801C0003, "2f8a6c4e-0b1d-4e3f-a5b7-c9d1e3f5a7b9", 400, server,
          pid=cxh_pid, tid=cxh_tid + 12)
    sc.ev("AAD", fail + ms(21), 1105, "E", "JoinAsync", 0x801C0003, pid=cxh_pid, tid=cxh_tid + 12, task=102)
    sc.ev("AAD", fail + ms(25), 1098, "E", 0x801C0003, "Unknown HResult Error code: 0x801c0003",
          "Logged at DeviceJoinHandler.cpp, line: 522, method: DeviceJoinHandler::OnJoinCompleted.",
          pid=cxh_pid, tid=cxh_tid + 12, task=102)
    # the technician retries with it-setup@
    policies_not_found(sc, t(9, 29, 40, 5), ["CloudAssignedDeviceName"], tid=3240)
    udr_join_ok(sc, t(9, 31, 3, 710), "it-setup@" + TENANT, "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
                "9d3f5b7a-1c2e-4a6b-8d0f-2e4a6c8e0b1d", pid=cxh_pid, tid=cxh_tid)
    dm = dm_enroll_ok(sc, t(9, 33, 7, 220), pid=7732, tid=7740)
    dm_sessions(sc, [dm + dt.timedelta(seconds=34), t(9, 36, 0, 912), t(9, 43, 5, 4)], pid=4420, tid=4436)
    esp_shell(sc, t(9, 33, 20, 486), 6104, 6300, DEFAULTUSER0, [
        (0, 62404, "MDMProgressAfterAADRefactored"),
        (1.5, 62407, "CommercialOOBE_ESPProgress_Page_Loaded", cxh("BootstrapStatus: Device setup started.")),
        (582, 62407, "CommercialOOBE_BootstrapStatusCategory_SubcategoryProcessing_Succeeded",
         cxh("BootstrapStatus: Subcategory ID = DeviceSetup.AppsSubcategory; state = succeeded.")),
        (583, 62407, "CommercialOOBE_ESPProgress_Page_Exiting", cxh("BootstrapStatus: Device setup complete.")),
        (584, 62405, "success"),
    ])
    return sc


def profile_failure(name, computer, day, story, eid, message, detail, t0):
    sc = Scenario(name, computer, day, story)
    t = sc.t
    tid = 2876
    w = policies_not_found(sc, t(*t0), ["CloudAssignedTenantDomain", "CloudAssignedTenantId",
                                        "CloudAssignedOobeConfig", "ZtdCorrelationId"], tid=tid)
    w += dt.timedelta(seconds=11, milliseconds=309)
    step = dt.timedelta(milliseconds=141)
    for e in (160, 164, 286):
        sc.ev("MDD", w, e, pid=WMANSVC, tid=tid)
        w += step
    w += dt.timedelta(seconds=3, milliseconds=877)
    if detail is not None:
        sc.ev("MDD", w, 709, "E", 400, detail, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + step, eid, "E", message, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + 2 * step, 153, "I", UNKNOWN, NOT_PROVISIONED, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + 3 * step, 314, "W", pid=WMANSVC, tid=tid)
    # OOBE keeps asking for the policies that never came (AP-05)
    r = w + dt.timedelta(seconds=9)
    for i in range(12):
        r = policies_not_found(sc, r, ["CloudAssignedTenantDomain", "CloudAssignedOobeConfig"], tid=tid + 64)
        r += dt.timedelta(seconds=61 + 7 * (i % 3))
    return sc


def profile_not_registered_807():
    """DESKTOP-7QK2M4R, 2025-10-03: the story of folder-profile-not-assigned (bundle C)."""
    detail = json.dumps({"ErrorCode": 807, "ErrorReason": "ZtdDeviceIsNotRegistered",
                         "PolicyDownloadDate": "2025-10-03T08:14:22Z"}, separators=(",", ":"))
    return profile_failure("profile-not-registered-807", "DESKTOP-7QK2M4R", dt.date(2025, 10, 3),
                           "the hardware hash is not registered for Autopilot: the profile download at 08:14:22 "
                           "returns ZtdDeviceIsNotRegistered (807), OOBE goes on without a profile",
                           807, "ZtdDeviceIsNotRegistered", detail, (8, 14, 2, 930))


def profile_not_assigned_815():
    return profile_failure("profile-not-assigned-815", "DESKTOP-4NR8WQ2", dt.date(2025, 10, 4),
                           "registered, but no profile is assigned and the tenant has no default profile (815)",
                           815, "ZtdDeviceHasNoAssignedProfile - No profile assigned to the device, "
                           "and no default profile found in the tenant.", None, (10, 2, 17, 64))


def hardware_mismatch_908():
    detail = json.dumps({"ErrorCode": 908, "ErrorReason": "SerialNumberMismatch"}, separators=(",", ":"))
    return profile_failure("hardware-mismatch-908", "DESKTOP-2HV6TKC", dt.date(2025, 10, 5),
                           "the motherboard was replaced: the serial number no longer matches the registered "
                           "hardware (908, SerialNumberMismatch)", 908, "SerialNumberMismatch", detail,
                           (13, 40, 51, 502))


def self_deploying_phases(sc, w, tid, upto, fail_hr=None):
    """178/179/181 for each phase up to 'upto'; 180 with fail_hr at 'upto' if given."""
    s = dt.timedelta(seconds=1)
    sc.ev("MDD", w, 178, "I", 2, pid=WMANSVC, tid=tid)
    for phase in (AAD_CONFIGURE, AAD_ENROLL, DEVICE_DISCOVERY, AAD_TICKET, MDM_ENROLLING):
        w += 2 * s
        sc.ev("MDD", w, 179, "I", phase, pid=WMANSVC, tid=tid)
        w += 3 * s + dt.timedelta(milliseconds=317 * phase)
        if phase == upto and fail_hr is not None:
            sc.ev("MDD", w, 180, "E", phase, hr(fail_hr), pid=WMANSVC, tid=tid)
            return w
        sc.ev("MDD", w, 181, "I", phase, 0, pid=WMANSVC, tid=tid)
        if phase == upto:
            return w
    return w


def mdm_enroll_80180014():
    sc = Scenario("mdm-enroll-80180014", "CONTOSO-PC14", dt.date(2025, 10, 6),
                  "self-deploying device redeployed while its Intune record from the first deployment "
                  "still exists: MDM enrollment is blocked (0x80180014, DeviceNotSupported, one-time limit)")
    t = sc.t
    tid = 3516
    policies_not_found(sc, t(8, 20, 11, 409), ["CloudAssignedTenantDomain", "CloudAssignedOobeConfig"], tid=tid)
    w = profile_download_ok(sc, t(8, 20, 30, 12), tid=tid, oobe_config=1278,
                            profile="Contoso Self-Deploying Kiosk")
    sc.ev("MDD", w + dt.timedelta(seconds=3), 208, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + dt.timedelta(seconds=3, milliseconds=90), 177, "I", 1, 3, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + dt.timedelta(seconds=19, milliseconds=640), 169, pid=WMANSVC, tid=tid)
    w += dt.timedelta(seconds=25)
    for attempt in (1, 2):
        w = self_deploying_phases(sc, w, tid, MDM_ENROLLING, 0x80180014)
        if attempt == 1:
            udr_join_ok(sc, w - dt.timedelta(seconds=14), None, "4a6c8e0b-2d4f-4a6c-9e0b-2d4f6a8c0e1b",
                        "7b9d1f3a-5c7e-4e9b-8d1f-3a5c7e9b1d2f", pid=5120, tid=5136)
        m = w - dt.timedelta(milliseconds=850)
        sc.ev("DM", m, 52, "E", "DeviceNotSupported", "Enrollment blocked for AP device by SDM One Time Limit Check",
              pid=7732, tid=7748)
        sc.ev("DM", m + dt.timedelta(milliseconds=30), 71, "E", 0x80180014, pid=7732, tid=7748)
        if attempt == 1:
            sc.ev("MDD", w + dt.timedelta(milliseconds=12), 192, "E", hr(0x80180014), 30000, 1, 2,
                  pid=WMANSVC, tid=tid)
            w += dt.timedelta(seconds=30, milliseconds=40)
    sc.ev("MDD", w + dt.timedelta(milliseconds=15), 301, "E", MDM_ENROLLING, hr(0x80180014), pid=WMANSVC, tid=tid)
    esp_shell(sc, t(8, 20, 58, 211), 6212, 6400, DEFAULTUSER0, [
        (0, 62404, "MDMProgressAfterAADRefactored"),
        ((w - t(8, 20, 58, 211)).total_seconds() + 1.2, 62407, "CommercialOOBE_ESPProgress_Failure",
         cxh("BootstrapStatus: Device preparation failed: MDM enrollment.", 0x80180014)),
    ])
    return sc


def mdm_enroll_80180018():
    sc = Scenario("mdm-enroll-80180018", "CONTOSO-PC15", dt.date(2025, 10, 6),
                  "user-driven: the Entra join succeeds, MDM enrollment fails because the user has no "
                  "Intune licence (0x80180018, UserLicense)")
    t = sc.t
    tid = 2940
    policies_not_found(sc, t(14, 3, 2, 118), ["CloudAssignedTenantDomain", "CloudAssignedOobeConfig"], tid=tid)
    profile_download_ok(sc, t(14, 3, 20, 551), tid=tid)
    udr_join_ok(sc, t(14, 6, 48, 903), "nestor.wilke@" + TENANT, "5e7a9c1b-3d5f-4a7c-9e1b-3d5f7a9c1e3b",
                "3c5e7a9b-1d3f-4b5d-8f7a-9c1e3b5d7f9a", pid=6588, tid=6604)
    m = t(14, 7, 9, 214)
    sc.ev("DM", m, 54, pid=7820, tid=7836)
    sc.ev("DM", m + dt.timedelta(seconds=2, milliseconds=640), 52, "E", "UserLicense",
          "User license validation failed: the user is not licensed for Intune.", pid=7820, tid=7836)
    sc.ev("DM", m + dt.timedelta(seconds=2, milliseconds=660), 71, "E", 0x80180018, pid=7820, tid=7836)
    esp_shell(sc, t(14, 7, 5, 734), 6588, 6700, DEFAULTUSER0, [
        (0, 62404, "MDMProgressAfterAADRefactored"),
        (7, 62407, "CommercialOOBE_ESPProgress_Failure", cxh("BootstrapStatus: MDM enrollment failed.", 0x80180018)),
        (7.006, 62405, "fail"),
    ])
    return sc


def tpm_attestation_801c03ea():
    sc = Scenario("tpm-attestation-801c03ea", "CONTOSO-PC16", dt.date(2025, 10, 7),
                  "pre-provisioning: TPM attestation fails three times (0x801c03ea), the service rejects the "
                  "device-token join and ESP device preparation fails at 'Securing your hardware'")
    t = sc.t
    tid = 3308
    policies_not_found(sc, t(11, 15, 40, 2), ["CloudAssignedTenantDomain", "CloudAssignedOobeConfig"], tid=tid)
    w = profile_download_ok(sc, t(11, 16, 2, 377), tid=tid, oobe_config=1534,
                            profile="Contoso Pre-Provisioned Entra Join")
    s = dt.timedelta(seconds=1)
    sc.ev("MDD", w + 2 * s, 153, "I", AVAILABLE, TPM_ATTESTING, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + 2 * s + dt.timedelta(milliseconds=40), 208, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + 3 * s, 250, pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + 9 * s, 251, "I", 0, 5874123, 60000, pid=WMANSVC, tid=tid)
    w += 10 * s
    for attempt in (1, 2, 3):
        sc.ev("MDD", w, 177, "I", attempt, 3, pid=WMANSVC, tid=tid)
        w += dt.timedelta(seconds=41, milliseconds=12 * attempt)
        sc.ev("MDD", w, 171, "E", hr(0x801C03EA), pid=WMANSVC, tid=tid)
        sc.ev("MDD", w + dt.timedelta(milliseconds=6), 172, "E", hr(0x801C03EA), pid=WMANSVC, tid=tid)
        if attempt < 3:
            sc.ev("MDD", w + dt.timedelta(milliseconds=9), 192, "E", hr(0x801C03EA), 60000, attempt, 3,
                  pid=WMANSVC, tid=tid)
            w += dt.timedelta(seconds=60, milliseconds=25)
    sc.ev("MDD", w + dt.timedelta(milliseconds=30), 189, "E", pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + dt.timedelta(milliseconds=31), 180, "E", AAD_ENROLL, hr(0x801C03EA), pid=WMANSVC, tid=tid)
    sc.ev("MDD", w + dt.timedelta(milliseconds=33), 301, "E", AAD_ENROLL, hr(0x801C03EA), pid=WMANSVC, tid=tid)
    server = json.dumps({"ErrorType": "DeviceAuthenticationFailed",
                         "Message": "The TPM attestation of the device key could not be verified.",
                         "TraceId": "b4d6f8a0-2c4e-4f6a-8b0d-2f4a6c8e0b2d",
                         "Time": "10-07-2025 11:20:31Z"}, separators=(",", ":"))
    sc.ev("UDR", w - dt.timedelta(milliseconds=410), 204, "E", 0x801C03EA,
          "e1f3a5c7-9b1d-4e3f-a5c7-9b1d3f5a7c9e", 400, server, pid=5120, tid=5136)
    esp_shell(sc, t(11, 16, 20, 317), 6440, 6512, DEFAULTUSER0, [
        (0, 62404, "MDMProgressAfterAADRefactored"),
        (1, 62407, "CommercialOOBE_ESPDevicePreparation_TpmAttestation_Started",
         cxh("BootstrapStatus: Securing your hardware.")),
        ((w - t(11, 16, 20, 317)).total_seconds() + 1.1, 62407, "CommercialOOBE_ESPDevicePreparation_TpmAttestation_Failed",
         cxh("BootstrapStatus: Securing your hardware failed.", 0x801C03EA)),
        ((w - t(11, 16, 20, 317)).total_seconds() + 1.104, 62407, "CommercialOOBE_ESPProgress_WhiteGlove_Failed",
         cxh("BootstrapStatus: Pre-provisioning failed.", 0x801C03EA)),
    ])
    return sc


def esp_timeout_800705b4():
    """CONTOSO-PC02, 2025-10-02: the story of DiagLogs-CONTOSO-PC02 (numbered zip)."""
    sc = Scenario("esp-timeout-800705b4", "CONTOSO-PC02", dt.date(2025, 10, 2),
                  "ESP device setup: Win32 app 'Contoso LOB Suite 2025' hangs in a non-silent installer; "
                  "the 60-minute ESP timeout fires at 08:06 (0x800705b4)")
    t = sc.t
    tid = 3124
    policies_not_found(sc, t(6, 57, 31, 840), ["CloudAssignedTenantDomain", "CloudAssignedOobeConfig"], tid=tid)
    profile_download_ok(sc, t(6, 57, 57, 310), tid=tid)
    udr_join_ok(sc, t(7, 1, 52, 604), "lee.gu@" + TENANT, "e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8",
                "8f1b3d5e-7a9c-4b1d-9f3a-5c7e9b1d3f5a", pid=6020, tid=6036)
    dm = dm_enroll_ok(sc, t(7, 2, 35, 18), pid=7604, tid=7612)
    dm_sessions(sc, [dm + dt.timedelta(seconds=31), t(7, 10, 44, 2), t(7, 41, 2, 578), t(8, 11, 3, 900)],
                pid=4388, tid=4400)
    mdd = [
        (t(7, 3, 1, 507), 287, "Sidecar", "Sidecar"),
        (t(7, 5, 12, 88), 288, "Sidecar", "Sidecar"),
        (t(7, 5, 14, 12), 292, "Win32App", "Sidecar"),
        (t(7, 6, 2, 405), 293, "Win32App", "Sidecar", 2),
        (t(7, 6, 2, 420), 297, "Win32App", "1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d"),
        (t(7, 6, 2, 431), 297, "Win32App", "4f3e2d1c-0b9a-4876-9543-210fedcba987"),
        (t(7, 9, 37, 262), 296, "Win32App", "1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d"),
    ]
    for when, eid, *vals in mdd:
        sc.ev("MDD", when, eid, "I", *vals, pid=WMANSVC, tid=tid + 40)
    start = t(7, 2, 50, 142)
    esp_shell(sc, start, 6020, 6144, DEFAULTUSER0, [
        (0, 62404, "MDMProgressAfterAADRefactored"),
        (1, 62407, "CommercialOOBE_ESPProgress_Page_Loaded", cxh("BootstrapStatus: Device setup started.")),
        (192, 62407, "CommercialOOBE_BootstrapStatusCategory_SubcategoryProcessing_Started",
         cxh("BootstrapStatus: Subcategory ID = DeviceSetup.AppsSubcategory; state = started.")),
        (3790, 62407, "CommercialOOBE_BootstrapStatusCategory_SubcategoryProcessing_Failed",
         cxh("BootstrapStatus: Subcategory ID = DeviceSetup.AppsSubcategory; state = failed.", 0x800705B4)),
        (3790.004, 62407, "CommercialOOBE_ESPProgress_Timeout",
         cxh("BootstrapStatus: Timed out waiting for the tracked apps to install.", 0x800705B4)),
        (3790.631, 62405, "fail"),
    ])
    return sc


def healthy():
    sc = Scenario("healthy", "CONTOSO-PC17", dt.date(2025, 10, 8),
                  "a user-driven Entra join that works: profile, join, enrollment, ESP device and account "
                  "setup all succeed (for negative tests)")
    t = sc.t
    tid = 2988
    policies_not_found(sc, t(10, 0, 5, 220), ["CloudAssignedTenantDomain", "CloudAssignedOobeConfig"], tid=tid)
    profile_download_ok(sc, t(10, 0, 31, 604), tid=tid)
    udr_join_ok(sc, t(10, 4, 12, 45), "alex.wilber@" + TENANT, "7c9e1b3d-5f7a-4c9e-8b3d-5f7a9c1e3b5d",
                "2a4c6e8f-0b1d-4f3a-8c5e-7a9c1e3f5b7d", pid=6300, tid=6316)
    dm = dm_enroll_ok(sc, t(10, 4, 40, 331), pid=7704, tid=7720)
    dm_sessions(sc, [dm + dt.timedelta(seconds=29), t(10, 9, 51, 17), t(10, 20, 40, 883)], pid=4512, tid=4528)
    for when, eid, *vals in [
            (t(10, 5, 8, 17), 287, "Sidecar", "Sidecar"),
            (t(10, 6, 49, 530), 288, "Sidecar", "Sidecar"),
            (t(10, 6, 51, 2), 292, "Win32App", "Sidecar"),
            (t(10, 7, 30, 96), 293, "Win32App", "Sidecar", 1),
            (t(10, 7, 30, 110), 297, "Win32App", "1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d"),
            (t(10, 10, 2, 745), 296, "Win32App", "1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d")]:
        sc.ev("MDD", when, eid, "I", *vals, pid=WMANSVC, tid=tid + 40)
    esp_shell(sc, t(10, 4, 55, 608), 6300, 6420, DEFAULTUSER0, [
        (0, 62404, "MDMProgressAfterAADRefactored"),
        (1, 62407, "CommercialOOBE_ESPProgress_Page_Loaded", cxh("BootstrapStatus: Device setup started.")),
        (310, 62407, "CommercialOOBE_BootstrapStatusCategory_SubcategoryProcessing_Succeeded",
         cxh("BootstrapStatus: Subcategory ID = DeviceSetup.AppsSubcategory; state = succeeded.")),
        (312, 62407, "CommercialOOBE_ESPProgress_Page_Exiting", cxh("BootstrapStatus: Device setup complete.")),
        (312.011, 62405, "success"),
        (455, 62404, "AADHello"),
        (520, 62405, "success"),
        (522, 62404, "MDMProgressAfterAADRefactored"),
        (700, 62407, "CommercialOOBE_ESPProgress_Page_Exiting", cxh("BootstrapStatus: Account setup complete.")),
        (701, 62405, "success"),
    ])
    return sc


SCENARIOS = [entra_join_801c0003, profile_not_registered_807, profile_not_assigned_815, hardware_mismatch_908,
             mdm_enroll_80180014, mdm_enroll_80180018, tpm_attestation_801c03ea, esp_timeout_800705b4, healthy]


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "pieces", "evtx"))
    os.makedirs(out, exist_ok=True)
    for make in SCENARIOS:
        sc = make()
        d = os.path.join(out, sc.name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        for channel, spec in sorted(sc.specs().items()):
            base = channel.replace("/", "%4")
            data, exps, per_chunk = evtx_write.build(spec)
            with open(os.path.join(d, base + ".json"), "w", encoding="utf-8", newline="\n") as f:
                f.write(json.dumps(spec, indent=1, ensure_ascii=False) + "\n")
            with open(os.path.join(d, base + ".evtx"), "wb") as f:
                f.write(data)
            print("%s/%s.evtx: %d records" % (sc.name, base, len(exps)))


if __name__ == "__main__":
    main()
