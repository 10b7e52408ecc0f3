#!/usr/bin/env python3
"""Generate samples/pieces/: the byte-faithful source files of the sample bundles.

Deterministic: fixed seeds, fixed clocks, no dependence on the host.  Run it
again and git sees no change.  All tenants, users, devices, serials and GUIDs
are invented (tenant contoso.onmicrosoft.com).

Usage: gen_pieces.py [OUTDIR]        (default: samples/pieces next to tools/)
"""

import datetime as dt
import json
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from apfmt import Node, crlf, filetime, mdm_dump_key, multi_bytes, regexport, systemtime  # noqa: E402
from apfmt import CMTrace  # noqa: E402
from ime_story import App, ImeStory, web_exception  # noqa: E402

UTC = dt.timezone.utc
TENANT = "contoso.onmicrosoft.com"
TENANT_ID = "3f2c9a1e-7b4d-4e8a-9c61-2d5e8f0a7b13"
INTUNE_APP = "0000000a-0000-0000-c000-000000000000"   # public Intune MDM application id
DEVICE_SID = "S-0-0-00-0000000000-0000000000-000000000-000"
IME_MSI = "{9E1B4C27-5D3A-4F60-A8B2-7C1D0E3F5A94}"
IME_MSI_URL = ("https://fef.msub02.manage.microsoft.com/SideCar/Content/"
               "5c7e1a3b-2d4f-4a6c-9e8b-0f1a2b3c4d5e/IntuneWindowsAgent.msi")
ESP_URI = "./Device/Vendor/MSFT/EnrollmentStatusTracking/Setup/Apps/Tracking/Sidecar/Win32App_%s_%d"

HKCU_KEYS = [
    "software\\microsoft\\enterprisemodernappmanagement",
    "software\\microsoft\\windows\\assignedaccessconfiguration",
    "software\\microsoft\\windows\\currentversion\\useroobe",
]
HKLM_KEYS = [
    "software\\microsoft\\cdndownload",
    "software\\microsoft\\declaredconfiguration",
    "software\\microsoft\\dmorchestrator",
    "software\\microsoft\\enrollments",
    "software\\microsoft\\enterprisedesktopappmanagement",
    "software\\microsoft\\enterpriseresourcemanager",
    "software\\microsoft\\policymanager",
    "software\\microsoft\\provisioning",
    "software\\microsoft\\multivariant",
    "system\\currentcontrolset\\control\\clouddomainjoin",
    "software\\microsoft\\windows nt\\currentversion\\update\\targetinginfo",
    "software\\microsoft\\windows\\assignedaccessconfiguration",
    "software\\microsoft\\windows\\assignedaccesscsp",
    "software\\microsoft\\windows\\autopilot",
    "software\\microsoft\\windows\\currentversion\\setup\\oobe",
]
TZ_KEY = "system\\currentcontrolset\\control\\timezoneinformation"

EVTX_CHANNELS = [
    "Microsoft-Windows-AAD/Operational",
    "Microsoft-Windows-AppXDeploymentServer/Operational",
    "Microsoft-Windows-AssignedAccess/Admin",
    "Microsoft-Windows-AssignedAccess/Operational",
    "Microsoft-Windows-AssignedAccessBroker/Admin",
    "Microsoft-Windows-AssignedAccessBroker/Operational",
    "Microsoft-Windows-Crypto-NCrypt/Operational",
    "Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider/Admin",
    "Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider/Autopilot",
    "Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider/Debug",
    "Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider/Operational",
    "Microsoft-Windows-LAPS/Operational",
    "Microsoft-Windows-ModernDeployment-Diagnostics-Provider/Autopilot",
    "Microsoft-Windows-ModernDeployment-Diagnostics-Provider/Diagnostics",
    "Microsoft-Windows-ModernDeployment-Diagnostics-Provider/ManagementService",
    "Microsoft-Windows-Provisioning-Diagnostics-Provider/Admin",
    "Microsoft-Windows-Shell-Core/Operational",
    "Microsoft-Windows-User Device Registration/Admin",
]


# Pieces that would carry the name of a real log in ../shared/corpus/ are kept
# as NAME.piece, so that no file in the repository looks like a copy of the
# corpus; samples/build.sh drops the suffix when it stages a bundle.
PIECE_SUFFIXED = {"IntuneManagementExtension.log", "AgentExecutor.log", "ClientHealth.log"}


def write(path, data):
    if os.path.basename(path) in PIECE_SUFFIXED:
        path += ".piece"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def utf16_json(obj):
    """AutopilotDDSZTDFile.json: one line, UTF-16LE with BOM, no trailing newline."""
    return b"\xff\xfe" + json.dumps(obj, separators=(",", ":")).encode("utf-16-le")


def iso_ms(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


# ---------------------------------------------------------------------------
# Device description shared by every generator of one bundle
# ---------------------------------------------------------------------------


class Device:
    def __init__(self, **kw):
        self.__dict__.update(kw)


# ---------------------------------------------------------------------------
# MdmDiagReport_RegistryDump.reg
# ---------------------------------------------------------------------------


def hklm_trees(d):
    """Return {lower-case collector key: Node or None (missing)} for one device."""
    t = {}
    t["software\\microsoft\\cdndownload"] = None
    t["software\\microsoft\\declaredconfiguration"] = None
    t["software\\microsoft\\multivariant"] = None
    t["software\\microsoft\\windows\\assignedaccessconfiguration"] = None
    t["software\\microsoft\\windows\\assignedaccesscsp"] = None

    dmo = Node()
    dmo.expand("LogDirectory", "%SystemRoot%\\Logs\\DMOrchestrator")
    dmo.dword("Enabled", 1)
    t["software\\microsoft\\dmorchestrator"] = dmo

    # --- enrollments -----------------------------------------------------
    enr = Node()
    if d.enrolled:
        e = enr.key(d.enr_id)
        e.sz("UPN", d.join_upn)
        e.dword("EnrollmentState", 1)
        e.dword("EnrollmentType", 6)
        e.sz("ProviderID", "MS DM Server")
        e.sz("AADResourceID", "https://manage.microsoft.com/")
        e.sz("AADTenantID", TENANT_ID)
        e.sz("DiscoveryServiceFullURL", "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc")
        e.dword("EnrollmentFlags", 0)
        e.sz("DMPCertThumbPrint", d.dmp_thumb)
        e.qword("LastPolicyUpdateTime", int((d.enrolled_at - dt.datetime(1601, 1, 1, tzinfo=UTC)).total_seconds()) * 10_000_000)
        e.sz("SID", d.join_sid)
        e.key("DMClient\\MS DM Server").sz("EntDMID", d.device_id)
        e.key("DMClient\\MS DM Server").sz("EntDeviceName", d.name)
        e.key("DMClient\\MS DM Server").sz("ExeFlags", "")
        fs = e.key("FirstSync")
        fs.dword("SyncFailureTimeout", d.esp_timeout_min)
        fs.dword("BlockInStatusPage", d.block_in_status_page)
        fs.dword("SkipDeviceStatusPage", 0)
        fs.dword("SkipUserStatusPage", d.skip_user_esp)
        fs.dword("AllowCollectLogsButton", 1)
        fs.dword("IsServerProvisioningDone", 1)
        fs.dword("IsSyncDone", 1 if d.esp_device_done else 0)
        fs.sz("CustomErrorText", "Setup could not be completed. Please contact the Contoso service desk on extension 4357.")
        us = fs.key(d.user_sid)
        us.binary("Timestamp", filetime(d.first_sync_ts))
        us.dword("IsSyncDone", 0)
        us.dword("PolicyDuration", d.durations[0])
        us.dword("NetworkingDuration", d.durations[1])
        us.dword("ApplicationsDuration", d.durations[2])
        us.dword("CertificatesDuration", d.durations[3])
        pol = e.key("Poll")
        pol.dword("IntervalForFirstSetOfRetries", 3)
        pol.dword("NumberOfFirstRetries", 15)
        enr.key("Context").dword("Enrollments", 1)
        enr.key("Ownership").dword("CorpOwned", 1)
        st = enr.key("Status\\MDMDeviceWithAAD")
        st.dword("EnrollmentState", 1)
    else:
        enr.key("Context")
    enr.key("ValidNodePaths")
    t["software\\microsoft\\enrollments"] = enr

    # --- MSI LOB: the IME agent MSI -------------------------------------
    edam = Node()
    if d.enrolled:
        m = edam.key(DEVICE_SID + "\\MSI\\" + IME_MSI)
        m.dword("Status", 70)
        m.sz("CurrentDownloadUrl", IME_MSI_URL)
        m.sz("ProductCode", IME_MSI)
        m.sz("ProductVersion", d.ime_version)
        m.dword("LastError", 0)
        m.sz("ActionType", "Install")
        m.expand("InstallCommandLine", "%SystemRoot%\\System32\\msiexec.exe /quiet")
        for pc, fname, ver, status in d.lob_msis:
            m = edam.key(DEVICE_SID + "\\MSI\\" + pc)
            m.dword("Status", status)
            m.sz("CurrentDownloadUrl", "https://fef.msub02.manage.microsoft.com/SideCar/Content/%s/%s" % (d.lob_content_id, fname))
            m.sz("ProductCode", pc)
            m.sz("ProductVersion", ver)
            m.dword("LastError", 0)
            m.sz("ActionType", "Install")
            m.expand("InstallCommandLine", "%SystemRoot%\\System32\\msiexec.exe /quiet")
    t["software\\microsoft\\enterprisedesktopappmanagement"] = edam

    erm = Node()
    if d.enrolled:
        tr = erm.key("Tracked\\%s\\device\\default" % d.enr_id)
        tr.sz("URI0", "./Vendor/MSFT/Policy/Config/Update/DeferFeatureUpdatesPeriodInDays")
        tr.sz("URI1", "./Device/Vendor/MSFT/EnrollmentStatusTracking/DevicePreparation/PolicyProviders/Sidecar/TrackedResourceTypes/Apps")
        tr.multi("Groups", ["Contoso-Autopilot-Devices", "Contoso-All-Windows"])
        tr.dword("Count", 2)
    t["software\\microsoft\\enterpriseresourcemanager"] = erm

    pm = Node()
    if d.enrolled:
        cur = pm.key("current\\device\\Update")
        cur.dword("DeferFeatureUpdatesPeriodInDays", 30)
        cur.dword("DeferFeatureUpdatesPeriodInDays_ProviderSet", 1)
        cur.sz("DeferFeatureUpdatesPeriodInDays_WinningProvider", d.enr_id)
        cur = pm.key("current\\device\\DeviceLock")
        cur.dword("DevicePasswordEnabled", 0)
        cur.dword("DevicePasswordEnabled_ProviderSet", 1)
        cur.sz("DevicePasswordEnabled_WinningProvider", d.enr_id)
        pm.key("providers\\%s\\default\\Device\\Update" % d.enr_id).dword("DeferFeatureUpdatesPeriodInDays", 30)
    pm.key("AdmxDefault")
    t["software\\microsoft\\policymanager"] = pm

    # --- provisioning -----------------------------------------------------
    prov = Node()
    ap = prov.key("Diagnostics\\Autopilot")
    if d.registered:
        ap.sz("CloudAssignedTenantDomain", TENANT)
        ap.sz("CloudAssignedTenantId", TENANT_ID)
        ap.dword("CloudAssignedOobeConfig", 0x11C)
        ap.dword("CloudAssignedForcedEnrollment", 1)
        ap.dword("CloudAssignedDomainJoinMethod", d.join_method)
        if d.join_method == 1:
            ap.dword("HybridJoinSkipDCConnectivityCheck", 1)
        ap.sz("CloudAssignedTenantUpn", "")
        ap.sz("DeploymentProfileName", d.profile_name)
        ap.sz("ZtdCorrelationId", d.ztd_corr)
        ap.sz("CloudAssignedRegion", "os-default")
        ap.dword("IsAutoPilotDisabled", 0)
        ap.sz("AadTenantId", TENANT_ID)
        ap.dword("TenantMatched", 1)
        ap.sz("LatestAutopilotAgilityProductVersion", "10.0.26100.6584")
    else:
        ap.sz("CloudAssignedTenantDomain", "")
        ap.sz("CloudAssignedTenantId", "")
        ap.dword("CloudAssignedOobeConfig", 0)
        ap.dword("IsAutoPilotDisabled", 1)
        ap.sz("ZtdCorrelationId", d.ztd_corr)
        ap.sz("AadTenantId", TENANT_ID if d.user_signed_in else "")
        ap.dword("TenantMatched", 0)
    ec = ap.key("EstablishedCorrelations")
    ec.sz("AutopilotCorrelationVector", d.cv)
    if d.enrolled:
        ec.sz("EntDMID", d.device_id)
        ec.sz("EnrollmentCorrelationVector", d.cv[:-2] + ".7")
    deo = ap.key("DefaultEvaluationOrder")
    for name, v in (("Registry", 2), ("RipAndReuse", 4), ("DdsZtd", 8), ("Concierge", 16)):
        deo.dword(name, v)
    ap.key("WindowsAutopilotDiagnostics\\Certificate")
    ap.key("WindowsAutopilotDiagnostics\\Policy")

    cache = prov.key("AutopilotPolicyCache")
    if d.registered:
        pol = {
            "CloudAssignedTenantId": TENANT_ID, "CloudAssignedDeviceName": d.name_template,
            "CloudAssignedTenantDomain": TENANT, "CloudAssignedOobeConfig": 284,
            "CloudAssignedDomainJoinMethod": d.join_method, "CloudAssignedForcedEnrollment": 1,
            "CloudAssignedAadServerData": "{\"ZeroTouchConfig\":{\"CloudAssignedTenantUpn\":\"\",\"ForcedEnrollment\":1,\"CloudAssignedTenantDomain\":\"%s\"}}" % TENANT,
            "ZtdCorrelationId": d.ztd_corr, "DeploymentProfileName": d.profile_name,
            "PolicyDownloadDate": d.policy_download.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "AutopilotCreationDate": "2025-06-12T14:03:27Z",
        }
        # REG_SZ holding JSON: the dump writes it with its quotes unescaped
        cache.sz("PolicyJsonCache", json.dumps(pol, separators=(",", ":")))
        cache.dword("ProfileAvailable", 1)
    else:
        cache.sz("PolicyJsonCache", json.dumps({"ZeroTouchConfig": "", "ErrorCode": 807,
                                                 "ErrorReason": "ZtdDeviceIsNotRegistered",
                                                 "PolicyDownloadDate": d.policy_download.strftime("%Y-%m-%dT%H:%M:%SZ")},
                                                separators=(",", ":")))
        cache.dword("ProfileAvailable", 0)
    s = prov.key("AutopilotSettings")
    s.sz("AutopilotDeviceBootstrapPoliciesUrl", "https://ztd.dds.microsoft.com/ztd/device/AutopilotDeviceBootstrapPolicies")
    s.dword("AllowedTimeDriftDeltaMinutes", 10)
    s.dword("UseRefactoredEsp", 1)
    if d.enrolled:
        s.sz("DevicePreparationCategory.Status", d.device_prep_status)
        s.sz("DeviceSetupCategory.Status", d.device_setup_status)
        s.sz("AccountSetupCategory.Status", d.account_setup_status)
    if d.enrolled:
        om = prov.key("OMADM")
        om.key("Logger").sz("CurrentEnrollmentId", d.enr_id)
        if d.join_method == 1:   # hybrid: the offline domain join blob was applied
            om.key("SyncML").dword("ODJApplied", 1)
        ci = om.key("Accounts\\%s\\Protected\\ConnInfo" % d.omadm_account)
        ci.sz("ServerLastSuccessTime", d.server_last_success.strftime("%Y%m%dT%H%M%SZ"))
        ci.sz("ServerLastAccessTime", d.server_last_success.strftime("%Y%m%dT%H%M%SZ"))
        ci.dword("LastSessionResult", 0)
        om.key("Accounts\\%s" % d.omadm_account).sz("Addr", "https://r.manage.microsoft.com/devicegatewayproxy/cimhandler.ashx")
        nodes = prov.key("NodeCache\\CSP\\Device\\MS DM Server\\Nodes")
        for i, (uri, val) in enumerate([
                ("./Vendor/MSFT/Policy/Config/Update/DeferFeatureUpdatesPeriodInDays", "30"),
                ("./Device/Vendor/MSFT/DMClient/Provider/MS DM Server/FirstSyncStatus/TimeOutUntilSyncFailure", str(d.esp_timeout_min)),
                ("./Device/Vendor/MSFT/DMClient/Provider/MS DM Server/FirstSyncStatus/BlockInStatusPage", str(d.block_in_status_page)),
        ], start=1):
            n = nodes.key(str(i))
            n.sz("NodeUri", uri)
            n.sz("ExpectedValue", val)
    t["software\\microsoft\\provisioning"] = prov

    cdj = Node()
    if d.joined:
        ji = cdj.key("JoinInfo\\%s" % d.device_thumb)
        ji.sz("IdpDomain", "login.windows.net")
        ji.sz("TenantId", TENANT_ID)
        ji.sz("UserEmail", d.join_upn)
        ji.sz("AttestationLevel", "0")
        ji.dword("AikCertStatus", 0)
        ti = cdj.key("TenantInfo\\%s" % TENANT_ID)
        ti.sz("DisplayName", "Contoso")
        ti.sz("MdmEnrollmentUrl", "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc")
        ti.sz("MdmTermsOfUseUrl", "https://portal.manage.microsoft.com/TermsofUse.aspx")
        ti.sz("MdmComplianceUrl", "https://portal.manage.microsoft.com/?portalAction=Compliance")
    t["system\\currentcontrolset\\control\\clouddomainjoin"] = cdj

    ti = Node()
    inst = ti.key("Installed\\Client.OS.rs2.amd64")
    inst.sz("Version", d.os_version)
    inst.sz("Branch", "ge_release")
    inst.sz("ProductName", "Windows 11 Enterprise")
    inst.sz("Edition", "Enterprise")
    t["software\\microsoft\\windows nt\\currentversion\\update\\targetinginfo"] = ti

    # --- Autopilot / ESP tracking ----------------------------------------------
    apk = Node()
    if d.enrolled:
        est = apk.key("EnrollmentStatusTracking")
        sc = est.key("Device\\DevicePreparation\\PolicyProviders\\Sidecar")
        sc.dword("InstallationState", 3)
        sc.dword("Timeout", 15)
        sc.dword("InstallDurationInSec", d.sidecar_secs)
        sc.key("TrackedResourceTypes").dword("Apps", 1)
        ds = est.key("Device\\Setup")
        ds.dword("HasProvisioningCompleted", 1 if d.esp_device_done else 0)
        ds.key("Apps").dword("Locked", 0 if d.esp_device_done else 1)
        ds.key("Apps\\PolicyProviders\\Sidecar").dword("TrackingPoliciesCreated", 1)
        codes = {"NotInstalled": 1, "InProgress": 2, "Completed": 3, "Error": 4}
        for a in d.apps:
            k = ds.key("Apps\\Tracking\\Sidecar\\Win32App_%s_%d" % (a.id, a.rev))
            k.dword("InstallationState", codes[d.final_state[a.id]])
            k.dword("RebootRequired", 1)
            k.sz("TrackingUri", ESP_URI % (a.id, a.rev))
        diag = est.key("ESPTrackingInfo\\Diagnostics")
        diag.key("ExpectedPolicies\\" + iso_ms(d.esp_snapshots[0][0])).dword("./Vendor/MSFT/DMClient/Provider/MS DM Server/EntDMID", 1)
        em = diag.key("ExpectedMSIAppPackages\\" + iso_ms(d.esp_snapshots[0][0]))
        em.dword("./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%s/Status" % IME_MSI.replace("{", "%7B").replace("}", "%7D"), 70)
        for pc, _, _, status in d.lob_msis:
            em.dword("./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%s/Status" % pc.replace("{", "%7B").replace("}", "%7D"), status)
        for ts, states in d.esp_snapshots:
            k = diag.key("Sidecar\\" + iso_ms(ts))
            for a in d.apps:
                k.dword(ESP_URI % (a.id, a.rev), codes[states[a.id]])
        diag.key("Sidecar").sz("LastLoggedState", json.dumps({a.id: d.final_state[a.id] for a in d.apps}, separators=(",", ":")))
        if d.user_apps:
            us = est.key(d.user_sid + "\\Setup")
            us.dword("HasProvisioningCompleted", d.user_prov_done)
            us.key("Apps\\PolicyProviders\\Sidecar").dword("TrackingPoliciesCreated", 1)
            for a in d.user_apps:
                k = us.key("Apps\\Tracking\\Sidecar\\Win32App_%s_%d" % (a.id, a.rev))
                k.dword("InstallationState", codes[d.user_final_state[a.id]])
                k.dword("RebootRequired", 1)
                k.sz("TrackingUri", ESP_URI.replace("./Device/", "./User/") % (a.id, a.rev))
            for ts, states in d.user_snapshots:
                k = diag.key(d.user_sid + "\\Sidecar\\" + iso_ms(ts))
                for a in d.user_apps:
                    k.dword(ESP_URI.replace("./Device/", "./User/") % (a.id, a.rev), codes[states[a.id]])
            for pfn in d.user_store_apps:
                k = diag.key(d.user_sid + "\\ExpectedModernAppPackages\\" + iso_ms(d.user_snapshots[0][0]))
                k.dword("./User/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/AppStore/%s" % pfn, 1)
    apk.key("EnrollmentStatusTracking\\ESPTrackingInfo")
    t["software\\microsoft\\windows\\autopilot"] = apk

    oobe = Node()
    oobe.dword("SetupDisplayedEula", 1)
    oobe.dword("OobeComplete", 1 if d.enrolled else 0)
    oobe.dword("PrivacyConsentStatus", 1)
    oobe.sz("LaunchUserOOBE", "")
    t["software\\microsoft\\windows\\currentversion\\setup\\oobe"] = oobe

    if d.with_tz and d.tz_name == "W. Europe Standard Time":
        tz = Node()
        tz.dword("Bias", -60)
        tz.sz("DaylightName", "@tzres.dll,-321")
        tz.binary("DaylightStart", systemtime(0, 3, 0, 5, 2))      # last Sunday of March, 02:00
        tz.dword("StandardBias", 0)
        tz.sz("StandardName", "@tzres.dll,-322")
        tz.binary("StandardStart", systemtime(0, 10, 0, 5, 3))     # last Sunday of October, 03:00
        tz.dword("DaylightBias", -60)
        tz.sz("TimeZoneKeyName", "W. Europe Standard Time")
        tz.dword("DynamicDaylightTimeDisabled", 0)
        tz.dword("ActiveTimeBias", -120)
        t[TZ_KEY] = tz
    elif d.with_tz:
        tz = Node()
        tz.dword("Bias", 480)
        tz.sz("DaylightName", "@tzres.dll,-211")
        tz.binary("DaylightStart", systemtime(0, 3, 0, 2, 2))      # second Sunday of March, 02:00
        tz.dword("StandardBias", 0)
        tz.sz("StandardName", "@tzres.dll,-212")
        tz.binary("StandardStart", systemtime(0, 11, 0, 1, 2))     # first Sunday of November, 02:00
        tz.dword("DaylightBias", -60)
        tz.sz("TimeZoneKeyName", "Pacific Standard Time")
        tz.dword("DynamicDaylightTimeDisabled", 0)
        tz.dword("ActiveTimeBias", 420)
        t[TZ_KEY] = tz
    return t


def hkcu_trees(d):
    t = {}
    em = Node()
    em.key("AppInstallLog")
    if d.enrolled:
        a = em.key("AppManagement\\ContosoKundenportal_8wekyb3d8bbwe")
        # a non-ANSI character: the narrow writer turns it into '?'
        a.sz("DisplayName", "Contoso Kundenportal f\u00fcr Mitarbeiter \u2013 \u30dd\u30fc\u30bf\u30eb")
        a.dword("InstallState", 1)
    t["software\\microsoft\\enterprisemodernappmanagement"] = em
    t["software\\microsoft\\windows\\assignedaccessconfiguration"] = None
    uo = Node()
    uo.dword("UserOOBEComplete", 0)
    uo.sz("LastOOBEPage", "ESP_Apps" if d.enrolled else "AADSignIn")
    t["software\\microsoft\\windows\\currentversion\\useroobe"] = uo
    return t


def registry_dump(d):
    """Return (dump bytes, footprint registry lines)."""
    out = []
    foot = []
    cu = hkcu_trees(d)
    for k in HKCU_KEYS:
        if cu[k] is None:
            foot.append("Failed (HResult:0x80070002) to dump HKCU registry:%s" % k)
        else:
            out.append(mdm_dump_key("HKEY_CURRENT_USER", k, cu[k]))
            foot.append("Succeeded to dump HKCU registry:%s" % k)
    foot.append("--- %d HKCU registry entries are collected" % len(HKCU_KEYS))
    lm = hklm_trees(d)
    keys = HKLM_KEYS + ([TZ_KEY] if d.with_tz else [])
    for k in keys:
        if lm[k] is None:
            foot.append("Failed (HResult:0x80070002) to dump HKLM registry:%s" % k)
        else:
            out.append(mdm_dump_key("HKEY_LOCAL_MACHINE", k, lm[k]))
            foot.append("Succeeded to dump HKLM registry:%s" % k)
    foot.append("--- %d HKLM registry entries are collected" % len(keys))
    return b"".join(out), foot


# ---------------------------------------------------------------------------
# MdmLogCollectorFootPrint.txt, MdmDiagLogMetadata.json, MDMDiagReport.xml
# ---------------------------------------------------------------------------


def footprint(d, reg_lines, copied, missing):
    dst = "C:\\Windows\\Temp\\MDMDiagnostics\\%s" % d.collect_guid
    lines = ["--- Start at:%s" % d.collect_utc.strftime("%Y-%m-%dT%H:%M:%S")]
    for ch in EVTX_CHANNELS:
        lines.append("Collected EventViewer Entry: %s" % ch)
    for src, name in copied:
        lines.append("Copied file:%s, to:%s\\%s" % (src, dst, name))
    for p in missing:
        lines.append("Failed (HResult: 0x80070002) to CollectFileEntry:%s" % p)
    lines += reg_lines
    end = d.collect_utc + dt.timedelta(seconds=47)
    lines.append("--- End at:%s" % end.strftime("%Y-%m-%dT%H:%M:%S"))
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


MISSING_FILES = [
    "c:\\windows\\provisioning\\autopilot\\autopilotconfigurationfile.json",
    "c:\\windows\\provisioning\\autopilot\\profileouput.pml",
    "c:\\programdata\\microsoft\\dc\\hostos\\*.xml",
]


def metadata_json(d):
    return json.dumps({
        "MdmDiagVersion": "1.0",
        "AreaName": d.areas,
        "BuildBranch": "ge_release",
        "BuildLab": "26100.ge_release.240331-1435",
        "CurrentBuild": d.os_version.split(".")[2],
        "UBR": d.os_version.split(".")[3],
        "EditionID": "Enterprise",
        "ProductName": "Windows 10 Enterprise",
        "InstallDate": int(d.install_date.timestamp()),
        "CollectionTimeUTC": d.collect_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }, separators=(",", ":")).encode("utf-8")


def x(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def mdm_xml(d):
    """MDMDiagReport.xml: IXmlWriter output, UTF-8, 2-space indent, CRLF."""
    L = []

    def el(depth, name, text=None, children=None):
        pad = "  " * depth
        if children is None:
            if text is None or text == "":
                L.append("%s<%s />" % (pad, name))
            else:
                L.append("%s<%s>%s</%s>" % (pad, name, x(str(text)), name))
        else:
            L.append("%s<%s>" % (pad, name))
            children(depth + 1)
            L.append("%s</%s>" % (pad, name))

    L.append('<?xml version="1.0" encoding="utf-8"?>')

    def root(n):
        el(n, "Version", "1.0")
        rc = d.collect_utc
        el(n, "SystemInformation", children=lambda m: (
            el(m, "ReportCreationTime", rc.strftime("%A, %d %B %Y--%H:%M:%S (UTC)")),
            el(m, "OSVersion", d.os_version),
            el(m, "BuildBranch", "ge_release"),
            el(m, "SerialNumber", d.serial),
            el(m, "DeviceName", d.name),
        ))
        if d.enrolled:
            el(n, "Enrollments", children=lambda m: el(m, "Enrollment", children=lambda k: (
                el(k, "EnrollmentId", d.enr_id),
                el(k, "EnrollmentState", "1"),
                el(k, "EnrollmentType", "6"),
                el(k, "ProviderID", "MS DM Server"),
                el(k, "UPN", d.join_upn),
                el(k, "DiscoveryServiceFullURL", "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc"),
                el(k, "AADTenantID", TENANT_ID),
            )))
            el(n, "DeviceManagementAccount", children=lambda m: el(m, "Enrollment", children=lambda k: (
                el(k, "EnrollmentId", d.enr_id),
                el(k, "ProtectedInformation", children=lambda j: (
                    el(j, "MDMServerName", "MS DM Server"),
                    el(j, "EntDMID", d.device_id),
                    el(j, "ConnectionInformation", children=lambda i: (
                        el(i, "ServerLastSuccessTime", d.server_last_success.strftime("%Y%m%dT%H%M%SZ")),
                        el(i, "ServerLastFailureTime", (d.server_last_success - dt.timedelta(minutes=41)).strftime("%Y%m%dT%H%M%SZ")),
                        el(i, "ServerLastAccessTime", d.server_last_success.strftime("%Y%m%dT%H%M%SZ")),
                    )),
                )),
                el(k, "OMADMSessions", children=lambda j: el(j, "Session", children=lambda i: (
                    el(i, "SessionId", "12"),
                    el(i, "Result", "0x00000000"),
                ))),
                el(k, "CorrelationVectors", children=lambda j: el(j, "CorrelationVector", d.cv)),
            )))
            el(n, "PolicyManager", children=lambda m: el(m, "ConfigSource", children=lambda k: (
                el(k, "EnrollmentId", d.enr_id),
                el(k, "PolicyScope", children=lambda j: (
                    el(j, "PolicyScope", "Device"),
                    el(j, "Area", children=lambda i: (
                        el(i, "PolicyAreaName", "Update"),
                        el(i, "DeferFeatureUpdatesPeriodInDays", "30"),
                    )),
                )),
            )))
            el(n, "EnterpriseDesktopAppManagementinfo", children=lambda m: el(m, "MsiInstallations", children=lambda k: el(
                k, "TargetedUser", children=lambda j: (
                    el(j, "UserSID", DEVICE_SID),
                    el(j, "Package", children=lambda i: (
                        el(i, "Type", "MSI"),
                        el(i, "Details", children=lambda h: (
                            el(h, "PackageId", IME_MSI),
                            el(h, "DownloadInstall", "Ready"),
                            el(h, "ProductCode", IME_MSI),
                            el(h, "ProductVersion", d.ime_version),
                            el(h, "ActionType", "1"),
                            el(h, "Status", "70"),
                            el(h, "JobStatusReport", "1"),
                            el(h, "LastError", "0"),
                            el(h, "BITSJobId", ""),
                            el(h, "DownloadLocation", ""),
                            el(h, "CurrentDownloadUrl", IME_MSI_URL),
                            el(h, "EnforcementStartTime", ""),
                        )),
                    )),
                ))))
        el(n, "Diagnostics", children=lambda m: el(m, "ErrorLog", children=lambda k: (
            el(k, "Component", "AutoPilot"),
            el(k, "SubComponent", children=lambda j: (
                el(j, "Name", "AutopilotPolicy"),
                el(j, "Error", "0" if d.registered else "807"),
                el(j, "Metadata1", "ProfileDownload"),
                el(j, "Metadata2", "Success" if d.registered else "ZtdDeviceIsNotRegistered"),
                el(j, "Time", d.policy_download.strftime("%Y-%m-%d %H:%M:%S.000")),
            )),
        )))
        if d.enrolled:
            el(n, "FirstSyncData", children=lambda m: (
                el(m, "ExpectedMSIAppPackages", children=lambda k: el(k, "Package", IME_MSI)),
                el(m, "ExpectedPolicies", children=lambda k: el(k, "Policy", "./Vendor/MSFT/DMClient/Provider/MS DM Server/EntDMID")),
                el(m, d.user_sid + "ExpectedSCEPCerts", ""),
                el(m, "CustomErrorText", "Setup could not be completed. Please contact the Contoso service desk on extension 4357."),
            ))
        el(n, "MdmWinsOverGp", "0")

    el(0, "MDMEnterpriseDiagnosticsReport", children=root)
    return ("\r\n".join(L) + "\r\n").encode("utf-8")


def ztd_json(d):
    if not d.registered:
        return utf16_json({"ErrorCode": 807, "ErrorReason": "ZtdDeviceIsNotRegistered",
                           "PolicyDownloadDate": d.policy_download.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return utf16_json({
        "AutopilotServiceCorrelationId": d.ap_corr,
        "ZtdRegistrationId": d.ztd_reg,
        "AadDeviceId": d.device_id,
        "CloudAssignedOobeConfig": 284,
        "CloudAssignedDomainJoinMethod": d.join_method,
        "CloudAssignedForcedEnrollment": 1,
        "CloudAssignedTenantDomain": TENANT,
        "CloudAssignedTenantId": TENANT_ID,
        "CloudAssignedMdmId": INTUNE_APP,
        "CloudAssignedRegion": "os-default",
        "CloudAssignedLanguage": "os-default",
        "DeploymentProfileName": d.profile_name,
        "IsExplicitProfileAssignment": True,
        "CloudAssignedAutopilotUpdateDisabled": 1,
        "CloudAssignedPrivacyDiagnostics": 0,
        "HybridJoinSkipDCConnectivityCheck": 1 if d.join_method == 1 else 0,
        "CloudAssignedAutopilotUpdateTimeout": 1800000,
        **({"CloudAssignedDeviceName": d.name_template} if d.name_template else {}),
        "ZtdCorrelationId": d.ztd_corr,
        "PolicyDownloadDate": d.policy_download.strftime("%Y-%m-%dT%H:%M:%SZ"),
    })


def setupact(d, rng):
    """%windir%\\Panther\\UnattendGC\\setupact.log (device-local time)."""
    t = d.oobe_local
    rows = []

    def row(level, msg, secs=0.0):
        nonlocal t
        t += dt.timedelta(seconds=secs + rng.random())
        rows.append("%s, %-22s%s" % (t.strftime("%Y-%m-%d %H:%M:%S"), level, msg))

    row("Info", "[windeploy.exe] ------------------------------------------------")
    row("Info", "[windeploy.exe] WinDeploy.exe launched with command-line []...")
    row("Info", "[windeploy.exe] Found no unattend file.")
    row("Info", "[windeploy.exe] Launching [C:\\Windows\\System32\\oobe\\oobeldr.exe /system]...")
    row("Info", "[oobeldr.exe] OOBELdr.exe launched with command-line [/system]...")
    row("Info", "[oobeldr.exe] Parsing command line arguments...")
    row("Info", "[oobeldr.exe] Unattend file is not present; skipping unattend processing.", 1)
    row("Info", "[oobeldr.exe] Status for unattend pass [oobeSystem] = 0x00000000")
    row("Info", "[oobeldr.exe] Calling SetupGC to apply OOBE settings...")
    row("Info", "[UnattendGC] Gathering data for pass [oobeSystem]", 2)
    row("Info", "[UnattendGC] Gathering data for pass [oobeSystem] - done")
    row("Warning", "[oobeldr.exe] [Spp] Failed to find product key in registry, hr = 0x80070002; continuing", 0.3)
    row("Info", "[oobeldr.exe] Successfully launched OOBE [msoobe.exe]", 3)
    row("Info", "[msoobe.exe] OOBE launched; ZDP state = 1, Autopilot policy state = %s" % ("Available" if d.registered else "Unknown"), 40)
    if not d.registered:
        row("Warning", "[msoobe.exe] Autopilot profile not available (ZtdDeviceIsNotRegistered); continuing with standard OOBE", 25)
    row("Info", "[oobeldr.exe] OOBE returned 0x00000000", 600)
    row("Info", "[windeploy.exe] Process exited with exit code [0x00000000]")
    row("Info", "[windeploy.exe] Flushing registry to disk...")
    row("Info", "[windeploy.exe] Flush took 78 ms.")
    row("Info", "[windeploy.exe] Exiting with code [0x00000000]...")
    return ("\r\n".join(rows) + "\r\n").encode("ascii")


# ---------------------------------------------------------------------------
# dsregcmd /status
# ---------------------------------------------------------------------------


def dsreg_block(title, rows):
    bar = "+" + "-" * 70 + "+"
    out = [bar, "| %-68s |" % title, bar, ""]
    for k, v in rows:
        if k is None:
            out.append("")
        elif v is None:
            out.append("    " + k)
        else:
            out.append("%30s : %s" % (k, v))
    out.append("")
    return out


def dsregcmd(d):
    lines = [""]
    lines += dsreg_block("Device State", [
        ("AzureAdJoined", "YES"), ("EnterpriseJoined", "NO"), ("DomainJoined", "NO"),
        ("Virtual Desktop", "NOT SET"), ("Device Name", d.name)])
    lines += dsreg_block("Device Details", [
        ("DeviceId", d.device_id), ("Thumbprint", d.device_thumb),
        ("DeviceCertificateValidity", "[ %s -- %s ]" % (
            d.joined_at.strftime("%Y-%m-%d %H:%M:%S.000 UTC"),
            d.joined_at.replace(year=d.joined_at.year + 10).strftime("%Y-%m-%d %H:%M:%S.000 UTC"))),
        ("KeyContainerId", d.key_container), ("KeyProvider", "Microsoft Platform Crypto Provider"),
        ("TpmProtected", "YES"), ("DeviceAuthStatus", "SUCCESS")])
    lines += dsreg_block("Tenant Details", [
        ("TenantName", "Contoso"), ("TenantId", TENANT_ID),
        ("AuthCodeUrl", "https://login.microsoftonline.com/%s/oauth2/authorize" % TENANT_ID),
        ("AccessTokenUrl", "https://login.microsoftonline.com/%s/oauth2/token" % TENANT_ID),
        ("MdmUrl", "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc"),
        ("MdmTouUrl", "https://portal.manage.microsoft.com/TermsofUse.aspx"),
        ("MdmComplianceUrl", "https://portal.manage.microsoft.com/?portalAction=Compliance"),
        ("SettingsUrl", ""), ("JoinSrvVersion", "2.0"),
        ("JoinSrvUrl", "https://enterpriseregistration.windows.net/EnrollmentServer/device/"),
        ("JoinSrvId", "urn:ms-drs:enterpriseregistration.windows.net"),
        ("KeySrvVersion", "1.0"),
        ("KeySrvUrl", "https://enterpriseregistration.windows.net/EnrollmentServer/key/"),
        ("KeySrvId", "urn:ms-drs:enterpriseregistration.windows.net"),
        ("WebAuthNSrvVersion", "1.0"),
        ("WebAuthNSrvUrl", "https://enterpriseregistration.windows.net/webauthn/%s/" % TENANT_ID),
        ("WebAuthNSrvId", "urn:ms-drs:enterpriseregistration.windows.net"),
        ("DeviceManagementSrvVer", "1.0"),
        ("DeviceManagementSrvUrl", "https://enterpriseregistration.windows.net/manage/%s/" % TENANT_ID),
        ("DeviceManagementSrvId", "urn:ms-drs:enterpriseregistration.windows.net")])
    lines += dsreg_block("User State", [
        ("NgcSet", "NO"), ("WorkplaceJoined", "NO"), ("WamDefaultSet", "NO")])
    lines += dsreg_block("SSO State", [
        ("AzureAdPrt", "NO"), ("AzureAdPrtAuthority", ""), ("EnterprisePrt", "NO"),
        ("EnterprisePrtAuthority", "")])
    lines += dsreg_block("Diagnostic Data", [
        ("Diagnostics Reference", "www.microsoft.com/aadjerrors"),
        ("User Context", "SYSTEM"),
        ("Client Time", d.collect_utc.strftime("%Y-%m-%d %H:%M:%S.000 UTC")),
        ("AD Connectivity Test", "SKIPPED"),
        ("AD Configuration Test", "SKIPPED"),
        ("DRS Discovery Test", "PASS"),
        ("DRS Connectivity Test", "PASS"),
        ("Token acquisition Test", "SKIPPED"),
        ("Fallback to Sync-Join", "DISABLED"),
        (None, None),
        ("Previous Registration", d.failed_join_utc.strftime("%Y-%m-%d %H:%M:%S.000 UTC")),
        ("Registration Type", "fed"),
        ("Error Phase", "join"),
        ("Client ErrorCode", "0x801c0003"),
        ("Server ErrorCode", "AuthorizationError"),
        ("Server Message", "The user %s has reached the maximum number of devices allowed to be joined by a user." % d.failed_upn),
        ("Https Status", "400"),
        ("Request Id", d.failed_request_id)])
    lines += dsreg_block("IE Proxy Config for Current User", [
        ("Auto Detect Settings", "YES"), ("Auto-Configuration URL", ""), ("Proxy Server List", ""),
        ("Proxy Bypass List", "")])
    lines += dsreg_block("WinHttp Default Proxy Config", [("Access Type", "DIRECT")])
    lines += dsreg_block("Ngc Prerequisite Check", [
        ("IsDeviceJoined", "YES"), ("IsUserAzureAD", "NO"), ("PolicyEnabled", "NO"),
        ("PostLogonEnabled", "YES"), ("DeviceEligible", "YES"), ("SessionIsNotRemote", "YES"),
        ("CertEnrollment", "none"), ("PreReqResult", "WillNotProvision"), (None, None),
        ("For more information, please visit https://www.microsoft.com/aadjerrors", None)])
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def ipconfig(d):
    t = """
Windows IP Configuration

   Host Name . . . . . . . . . . . . : %s
   Primary Dns Suffix  . . . . . . . : 
   Node Type . . . . . . . . . . . . : Hybrid
   IP Routing Enabled. . . . . . . . : No
   WINS Proxy Enabled. . . . . . . . : No
   DNS Suffix Search List. . . . . . : corp.contoso.example

Ethernet adapter Ethernet:

   Connection-specific DNS Suffix  . : corp.contoso.example
   Description . . . . . . . . . . . : Intel(R) Ethernet Connection (16) I219-LM
   Physical Address. . . . . . . . . : 00-1B-21-0A-4C-7E
   DHCP Enabled. . . . . . . . . . . : Yes
   Autoconfiguration Enabled . . . . : Yes
   IPv4 Address. . . . . . . . . . . : 192.0.2.41(Preferred) 
   Subnet Mask . . . . . . . . . . . : 255.255.255.0
   Lease Obtained. . . . . . . . . . : %s
   Lease Expires . . . . . . . . . . : %s
   Default Gateway . . . . . . . . . : 192.0.2.1
   DHCP Server . . . . . . . . . . . : 192.0.2.1
   DNS Servers . . . . . . . . . . . : 192.0.2.53
   NetBIOS over Tcpip. . . . . . . . : Enabled
""" % (d.name, d.lease.strftime("%A, %B %-d, %Y %-I:%M:%S %p"),
       (d.lease + dt.timedelta(days=1)).strftime("%A, %B %-d, %Y %-I:%M:%S %p"))
    return crlf(t).encode("ascii")


# ---------------------------------------------------------------------------
# IME export.reg (Intune RegistryKey directive)
# ---------------------------------------------------------------------------


def ime_registry(d):
    root = Node()
    root.sz("Version", d.ime_version)
    root.expand("InstallPath", "%ProgramFiles(x86)%\\Microsoft Intune Management Extension\\")
    pol = root.key("Policies\\00000000-0000-0000-0000-000000000000")
    for sid, name, result in d.scripts:
        k = pol.key(sid)
        k.sz("Result", result)
        k.sz("LastUpdatedTimeUtc", d.script_time.strftime("%m/%d/%Y %H:%M:%S"))
        k.sz("ResultDetails", '{"ExecutionMsg":"%s","ResultDetails":null}' % ("" if result == "Success" else "New-ItemProperty : The property already exists."))
        k.dword("ExecutionContext", 0)
        k.dword("DownloadCount", 1)
        k.dword("ErrorCode", 0 if result == "Success" else 1)
    w = root.key("Win32Apps")
    dev = w.key("00000000-0000-0000-0000-000000000000")
    for a in d.apps:
        k = dev.key("%s_%d" % (a.id, a.rev))
        final = d.final_state[a.id]
        if final == "Completed":
            es, cs, err = 1000, 1, 0
        elif a.outcome == "timeout":
            es, cs, err = 5000, 4, -2016214839
        else:
            es, cs, err = 5000, 4, -(0x100000000 - (0x80070000 | a.exit_code))
        k.dword("ExitCode", a.exit_code if a.outcome != "timeout" else 0)
        k.sz("Result", "Success" if es == 1000 else "Failed")
        k.key("ComplianceStateMessage").sz("ComplianceStateMessage", json.dumps({
            "Applicability": 0, "ComplianceState": cs, "DesiredState": 2,
            "ErrorCode": None if es == 1000 else err, "TargetingMethod": 0, "InstallContext": 2,
            "TargetType": 2, "ProductVersion": None, "AssignmentFilterIds": None}, separators=(",", ":")))
        k.key("EnforcementStateMessage").sz("EnforcementStateMessage", json.dumps({
            "EnforcementState": es, "ErrorCode": err, "TargetingMethod": 0}, separators=(",", ":")))
        k.binary("LastEnforcementTime", filetime(d.script_time))
    grs = dev.key("GRS")
    for a in d.apps:
        if d.final_state[a.id] != "Completed":
            grs.key(a.grs_hash).sz(a.id, (d.script_time + dt.timedelta(hours=24)).strftime("%m/%d/%Y %H:%M:%S"))
    dev.dword("OperationalState", 0)
    rep = w.key("Reporting\\00000000-0000-0000-0000-000000000000")
    rep.sz("LastFullReportTimeUtc", d.script_time.strftime("%m/%d/%Y %H:%M:%S"))
    rep.qword("ReportingSequence", 0x1DC32E1F8A3B4C0 + len(d.apps))
    root.key("Settings").multi("EnabledFeatures", ["Win32App", "PowerShell", "HealthScripts"])
    root.key("SideCarPolicies\\Scripts\\Reports")
    return regexport("HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\IntuneManagementExtension", root)


def policies_export(d):
    root = Node()
    root.key("Microsoft\\Windows\\DataCollection").dword("AllowTelemetry", 1)
    root.key("Microsoft\\Windows\\WindowsUpdate").dword("SetDisableUXWUAccess", 0)
    root.key("Microsoft\\Cryptography\\Configuration\\SSL\\00010002").multi(
        "Functions", ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"])
    return regexport("HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies", root)


# ---------------------------------------------------------------------------
# Bundles
# ---------------------------------------------------------------------------


def base_device(**kw):
    d = Device(
        with_tz=False, enrolled=True, registered=True, joined=True, user_signed_in=True,
        esp_timeout_min=60, block_in_status_page=7, skip_user_esp=0,
        areas="deviceenrollment;deviceprovisioning;autopilot;", os_version="10.0.26100.6584",
        profile_name="Contoso User-Driven Entra Join", name_template="CONTOSO-%SERIAL%",
        install_date=dt.datetime(2025, 9, 30, 15, 2, 11, tzinfo=UTC),
        autopilot_error=0, scripts=[], apps=[],
        join_method=0, lob_msis=[], lob_content_id="", sidecar_secs=212, tz_name="Pacific Standard Time",
        user_apps=[], user_snapshots=[], user_final_state={}, user_prov_done=0, user_store_apps=[],
        device_prep_status='{"categoryState":"succeeded","subcategoryStates":{"DevicePreparation.MdmEnrollmentSubcategory":"succeeded","DevicePreparation.AadRegistrationSubcategory":"succeeded","DevicePreparation.PolicyProvidersSubcategory":"succeeded"}}',
    )
    d.__dict__.update(kw)
    return d


def ime_logs(d, seed, start_local, events):
    """Run a story; events is a callable(story) that writes the sequence."""
    rng = random.Random(seed)
    st = ImeStory(rng, start_local, d.ime_version, d.enr_id, d.user_sid, TENANT_ID,
                  d.apps, d.scripts, name_suffix=d.ime_name_suffix)
    st.device_id = d.device_id
    events(st)
    return st


def bundle_a(out):
    """MdmDiagnosticsTool cab: Win32 app fails with 1603 during ESP device setup."""
    vpn = App("8c6e2f1a-4b3d-4f9e-a2c7-5d1b0e9f3a64", 1, "Contoso VPN Client 5.2", 48_211_968,
              outcome="fail", exit_code=1603, product_code="{3A7C1E9B-42D6-4F08-9B5E-1C3D5E7F9A2B}", install_secs=340,
              install_cmd='msiexec /i "ContosoVPN-5.2.0.msi" /qn /l*v "%windir%\\Temp\\ContosoVPN_install.log"')
    certs = App("1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d", 3, "Contoso Root Certificates", 412_337,
                detection="script", product_code="{00000000-0000-0000-0000-000000000000}",
                install_cmd='powershell.exe -ExecutionPolicy Bypass -File .\\Install-ContosoRoots.ps1')
    zip7 = App("b2c4d6e8-0a1b-4c3d-9e5f-7a8b9c0d1e2f", 2, "7-Zip 24.08 (x64)", 1_992_704,
               product_code="{23170F69-40C1-2702-2408-000001000000}", install_cmd='msiexec /i "7z2408-x64.msi" /qn')
    apps = [certs, vpn, zip7]
    pdt = dt.timezone(dt.timedelta(hours=-7))
    d = base_device(
        with_tz=True, name="CONTOSO-PC03", serial="PF4A7K2M", enr_id="6F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9",
        device_id="9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", join_upn="megan.bowen@" + TENANT,
        join_sid="S-1-12-1-2718281828-1131415926-3141592653-2236067977",
        user_sid="S-1-12-1-2718281828-1131415926-3141592653-2236067977",
        dmp_thumb="5D0C2B7A9E4F13A6B8C1D2E3F4A5B6C7D8E9F0A1", device_thumb="A1F0E9D8C7B6A5F4E3D2C1B8A6314F9E7A2B0C5D",
        key_container="4e2a1c3b-7d6f-4a8e-b9c0-d1e2f3a4b5c6", omadm_account="0B1C2D3E-4F5A-4B6C-8D7E-9F0A1B2C3D4E",
        enrolled_at=dt.datetime(2025, 10, 1, 15, 51, 4, tzinfo=UTC),
        first_sync_ts=dt.datetime(2025, 10, 1, 15, 51, 9, 412000, tzinfo=UTC),
        durations=(38, 4, 0, 0), esp_device_done=False,
        device_setup_status='{"categoryState":"failed","subcategoryStates":{"DeviceSetup.SecurityPoliciesSubcategory":"succeeded","DeviceSetup.CertificatesSubcategory":"succeeded","DeviceSetup.NetworkConnectionsSubcategory":"succeeded","DeviceSetup.AppsSubcategory":"failed"}}',
        account_setup_status='{"categoryState":"notStarted"}',
        ztd_corr="e3b1c2d4-5f6a-4b7c-8d9e-0f1a2b3c4d5e", ap_corr="c0ffee00-1234-4abc-9def-0123456789ab",
        ztd_reg="f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b", cv="pQ3vH8kzT0uN2bXc.1",
        policy_download=dt.datetime(2025, 10, 1, 15, 47, 55, tzinfo=UTC),
        server_last_success=dt.datetime(2025, 10, 1, 16, 58, 40, tzinfo=UTC),
        collect_utc=dt.datetime(2025, 10, 1, 17, 2, 11, tzinfo=UTC), collect_guid="{7A4C2E91-0B3D-4F5E-8A6C-1D2E3F4A5B6C}",
        ime_version="1.93.102.0", ime_name_suffix=False, apps=apps,
        scripts=[("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "Set-ContosoBranding.ps1", "Failed"),
                 ("0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "Enable-ContosoLogging.ps1", "Success"),
                 ("6d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a", "Set-ContosoPowerPlan.ps1", "Success"),
                 ("3c2b1a09-f8e7-4d6c-b5a4-9382716f5e4d", "Remove-ConsumerApps.ps1", "Success")],
        oobe_local=dt.datetime(2025, 10, 1, 8, 44, 3),
    )
    u = lambda h, m, s=0, ms=0: dt.datetime(2025, 10, 1, h, m, s, ms * 1000, tzinfo=UTC)
    d.esp_snapshots = [
        (u(15, 56, 31, 207), {certs.id: "NotInstalled", vpn.id: "NotInstalled", zip7.id: "NotInstalled"}),
        (u(16, 0, 2, 881), {certs.id: "Completed", vpn.id: "InProgress", zip7.id: "NotInstalled"}),
        (u(16, 6, 13, 64), {certs.id: "Completed", vpn.id: "Error", zip7.id: "NotInstalled"}),
        (u(16, 9, 41, 530), {certs.id: "Completed", vpn.id: "Error", zip7.id: "Completed"}),
    ]
    d.final_state = d.esp_snapshots[-1][1]

    def story(st):
        st.agent_start()
        st.ime.advance(14)
        st.esp_check("DeviceSetup")
        st.get_policies()
        st.aad_user_fail()
        st.ime.advance(3)
        st.powershell_round()
        st.aw.set_time(st.ime.now())
        st.appworkload_start()
        st.aw.set_time(dt.datetime(2025, 10, 1, 8, 58, 52))
        st.app_flow(certs)
        st.ime.set_time(st.aw.now())
        st.esp_check("DeviceSetup")
        st.aw.set_time(dt.datetime(2025, 10, 1, 9, 0, 1))
        st.app_flow(vpn)
        st.ime.set_time(st.aw.now())
        st.esp_check("DeviceSetup")
        st.aw.set_time(dt.datetime(2025, 10, 1, 9, 8, 47))
        st.app_flow(zip7)
        st.appworkload_idle()
        st.ime.set_time(st.aw.now())
        for i in range(8):
            st.ime.advance(240, jitter=90)
            st.esp_check("DeviceSetup")
            if i % 2 == 1:
                st.aw.set_time(st.ime.now())
                st.appworkload_checkin()
            if i == 3:
                st.aad_user_fail()
            if i == 5:
                st.powershell_round()
        st.ime.advance(30)
        st.ime.log("Session change detected.", thread=7)
        st.ime.log("OnSessionChange: ConsoleConnect", thread=7)

    st = ime_logs(d, 1001, dt.datetime(2025, 10, 1, 8, 55, 41), story)
    dump, reg_lines = registry_dump(d)
    files = {
        "IntuneManagementExtension.log": st.ime.render(),
        "AppWorkload.log": st.aw.render(),
        "AgentExecutor.log": st.ae.render(),
        "MdmDiagReport_RegistryDump.reg": dump,
        "MDMDiagReport.xml": mdm_xml(d),
        "MdmDiagLogMetadata.json": metadata_json(d),
        "AutopilotDDSZTDFile.json": ztd_json(d),
        "setupact.log": setupact(d, random.Random(11)),
    }
    ime_dir = "C:\\ProgramData\\Microsoft\\IntuneManagementExtension\\Logs\\"
    copied = [(ime_dir + n, n) for n in ("AgentExecutor.log", "AppWorkload.log", "IntuneManagementExtension.log")]
    copied += [("C:\\Windows\\ServiceState\\wmansvc\\AutopilotDDSZTDFile.json", "AutopilotDDSZTDFile.json"),
               ("C:\\Windows\\Panther\\UnattendGC\\setupact.log", "setupact.log")]
    files["MdmLogCollectorFootPrint.txt"] = footprint(d, reg_lines, copied, MISSING_FILES)
    for n, b in files.items():
        write(os.path.join(out, "esp-app-failure", n), b)


def intune_common_entries(d, directives, produced, bundle_dir, layout):
    """Write the zip tree for an Intune collection.

    directives: list of (kind, text, hresult); produced: {index: [(name, bytes)]}
    layout: 'flattened' -> '(NN) <Kind> <flat> <file>' names; 'numbered' -> 'N/<file>'.
    """
    parts = ['<Collection HRESULT="0"><ID>%s</ID><SasUrl>SasUrlPlaceHolder</SasUrl>' % d.collection_id]
    for kind, text, hr in directives:
        parts.append('<%s HRESULT="%d">%s</%s>' % (kind, hr, x(text), kind))
    parts.append("<ClientTimeoutInSeconds>5400</ClientTimeoutInSeconds>")
    if layout == "flattened":
        parts.append("<OutputFileFormat>flattened</OutputFileFormat>")
    parts.append("</Collection>")
    write(os.path.join(bundle_dir, "results.xml"), "".join(parts).encode("utf-8"))
    for i, (kind, text, hr) in enumerate(directives, start=1):
        if layout == "numbered":
            for name, data in produced.get(i, []):
                write(os.path.join(bundle_dir, str(i), name), data)
            continue
        flat = flat_name(text)
        if hr != 0:
            write(os.path.join(bundle_dir, "(%d) No Results - Error [0x%08X] %s %s" % (i, hr & 0xFFFFFFFF, kind, flat)), b"")
            continue
        for name, data in produced[i]:
            if kind == "FoldersFiles":
                write(os.path.join(bundle_dir, "(%d) %s %s" % (i, kind, flat), name), data)
            else:
                write(os.path.join(bundle_dir, "(%d) %s %s %s" % (i, kind, flat, name)), data)


def flat_name(text):
    s = text.replace("%", "")
    for a, b in (("\\", "_"), (".", "_"), (" ", "_"), ("/", ""), ("*", "")):
        s = s.replace(a, b)
    while "__" in s:
        s = s.replace("__", "_")
    return s.strip("_")


def bundle_b(out):
    """Intune zip (flattened): first join attempt failed with 0x801c0003."""
    certs = App("1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d", 3, "Contoso Root Certificates", 412_337,
                detection="script", product_code="{00000000-0000-0000-0000-000000000000}",
                install_cmd='powershell.exe -ExecutionPolicy Bypass -File .\\Install-ContosoRoots.ps1')
    zip7 = App("b2c4d6e8-0a1b-4c3d-9e5f-7a8b9c0d1e2f", 2, "7-Zip 24.08 (x64)", 1_992_704,
               product_code="{23170F69-40C1-2702-2408-000001000000}", install_cmd='msiexec /i "7z2408-x64.msi" /qn')
    apps = [certs, zip7]
    u = lambda h, m, s=0, ms=0: dt.datetime(2025, 10, 1, h, m, s, ms * 1000, tzinfo=UTC)
    d = base_device(
        name="CONTOSO-PC01", serial="PF2B8N5R", enr_id="0D4C8B2A-7E6F-4A1B-9C3D-5E7F9A1B3C5D",
        device_id="c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", join_upn="it-setup@" + TENANT,
        join_sid="S-1-12-1-1414213562-3730950488-1680720100-2449489742",
        user_sid="S-1-12-1-1414213562-3730950488-1680720100-2449489742",
        failed_upn="adele.vance@" + TENANT, failed_request_id="2f8a6c4e-0b1d-4e3f-a5b7-c9d1e3f5a7b9",
        failed_join_utc=u(9, 12, 44), joined_at=u(9, 31, 7),
        dmp_thumb="8E7D6C5B4A3F2E1D0C9B8A7F6E5D4C3B2A1F0E9D", device_thumb="3C5E7A9B1D2F4A6C8E0B2D4F6A8C0E1B3D5F7A9C",
        key_container="7b9d1f3a-5c7e-4a9b-8d1f-3a5c7e9b1d2f", omadm_account="5F6A7B8C-9D0E-4F1A-8B2C-3D4E5F6A7B8C",
        enrolled_at=u(9, 33, 12), first_sync_ts=u(9, 33, 18, 77), durations=(41, 3, 388, 0), esp_device_done=True,
        device_setup_status='{"categoryState":"succeeded","subcategoryStates":{"DeviceSetup.AppsSubcategory":"succeeded"}}',
        account_setup_status='{"categoryState":"succeeded"}',
        ztd_corr="a9b8c7d6-e5f4-4a3b-9c2d-1e0f2a3b4c5d", ap_corr="d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a",
        ztd_reg="b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e", cv="Zr4mQ1wYk2uS7dPa.1",
        policy_download=u(9, 8, 31), server_last_success=u(10, 1, 57),
        collect_utc=u(10, 5, 38), collect_guid="{3E5A7C9B-1D2F-4A6C-8E0B-2D4F6A8C0E1B}",
        ime_version="1.93.102.0", ime_name_suffix=False, apps=apps,
        scripts=[("0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "Enable-ContosoLogging.ps1", "Success")],
        oobe_local=dt.datetime(2025, 10, 1, 10, 4, 40), collection_id="6c4e2a0b-8f1d-4b3e-a5c7-e9f1a3b5c7d9",
        lease=dt.datetime(2025, 10, 1, 10, 3, 51), script_time=u(9, 41, 20),
    )
    d.final_state = {certs.id: "Completed", zip7.id: "Completed"}
    d.esp_snapshots = [
        (u(9, 36, 2, 405), {certs.id: "NotInstalled", zip7.id: "NotInstalled"}),
        (u(9, 40, 11, 19), {certs.id: "Completed", zip7.id: "InProgress"}),
        (u(9, 42, 55, 730), {certs.id: "Completed", zip7.id: "Completed"}),
    ]

    # device clock: British Summer Time (UTC+1); IME writes local time
    def story(st):
        st.agent_start()
        st.ime.advance(12)
        st.esp_check("DeviceSetup")
        st.get_policies()
        st.aad_user_fail()
        st.powershell_round()
        st.aw.set_time(st.ime.now())
        st.appworkload_start()
        st.aw.set_time(dt.datetime(2025, 10, 1, 10, 39, 18))
        st.app_flow(certs)
        st.aw.set_time(dt.datetime(2025, 10, 1, 10, 41, 50))
        st.app_flow(zip7)
        st.appworkload_idle()
        st.ime.set_time(st.aw.now())
        st.esp_check("AccountSetup", device_done=True, user_sid=d.user_sid)
        for i in range(6):
            st.ime.advance(180, jitter=120)
            st.ime.log("[Win32App][EspHelper][CheckEspPhase] Checking ESP status and found isSyncDoneForUser: True", type_=2, thread=13)
            st.ime.log("[Win32App][EspHelper][CheckEspPhase] The EspPhase: NotInEsp in session", thread=13)
            if i == 2:
                st.ime.log(web_exception("fef.msub02.manage.microsoft.com"), type_=2, thread=21)
        st.ime.set_time(dt.datetime(2025, 10, 1, 11, 5, 30))
        st.ime.log("[Win32App][EspHelper][CheckEspPhase] Checking ESP status and found isSyncDoneForUser: True", type_=2, thread=13)
        st.ime.log("[Win32App][EspHelper][CheckEspPhase] The EspPhase: NotInEsp in session", thread=13)

    st = ime_logs(d, 2002, dt.datetime(2025, 10, 1, 10, 35, 2), story)
    root = os.path.join(out, "intune-pc01")
    # nested MdmDiagnosticsTool cab contents
    dump, reg_lines = registry_dump(d)
    cab = {
        "IntuneManagementExtension.log": st.ime.render(),
        "AppWorkload.log": st.aw.render(),
        "AgentExecutor.log": st.ae.render(),
        "MdmDiagReport_RegistryDump.reg": dump,
        "MDMDiagReport.xml": mdm_xml(d),
        "MdmDiagLogMetadata.json": metadata_json(d),
        "AutopilotDDSZTDFile.json": ztd_json(d),
    }
    d.areas = "Autopilot;deviceprovisioning;deviceenrollment;tpm;HololensFallbackDeviceOwner;"
    cab["MdmDiagLogMetadata.json"] = metadata_json(d)
    ime_dir = "C:\\ProgramData\\Microsoft\\IntuneManagementExtension\\Logs\\"
    copied = [(ime_dir + n, n) for n in ("AgentExecutor.log", "AppWorkload.log", "IntuneManagementExtension.log")]
    copied.append(("C:\\Windows\\ServiceState\\wmansvc\\AutopilotDDSZTDFile.json", "AutopilotDDSZTDFile.json"))
    cab["MdmLogCollectorFootPrint.txt"] = footprint(d, reg_lines, copied, MISSING_FILES)
    for n, b in cab.items():
        write(os.path.join(root, "mdmlogs", n), b)

    ts = "2025-10-01-10-05-38"
    directives = [
        ("RegistryKey", "HKLM\\Software\\Microsoft\\CloudManagedUpdate", -2147024895),
        ("RegistryKey", "HKLM\\Software\\Microsoft\\IntuneManagementExtension", 0),
        ("RegistryKey", "HKLM\\SOFTWARE\\Policies", 0),
        ("Command", "%windir%\\system32\\Dsregcmd.exe /status", 0),
        ("Command", "%windir%\\system32\\ipconfig.exe /all", 0),
        ("Command", "%windir%\\system32\\mdmdiagnosticstool.exe -area Autopilot;deviceprovisioning;deviceenrollment;tpm;HololensFallbackDeviceOwner -cab %temp%\\MDMDiagnostics\\mdmlogs-" + ts + ".cab", 0),
        ("FoldersFiles", "%ProgramData%\\Microsoft\\IntuneManagementExtension\\Logs\\*.*", 0),
        ("FoldersFiles", "%temp%\\MDMDiagnostics\\mdmlogs-" + ts + ".cab", 0),
        ("FoldersFiles", "%windir%\\Panther\\UnattendGC\\setupact.log", 0),
    ]
    produced = {
        2: [("export.reg", ime_registry(d))],
        3: [("export.reg", policies_export(d))],
        4: [("output.log", dsregcmd(d))],
        5: [("output.log", ipconfig(d))],
        6: [("output.log", b"")],
        7: [("agentexecutor.log", st.ae.render()), ("appworkload.log", st.aw.render()),
            ("intunemanagementextension.log", st.ime.render())],
        8: [],   # the nested cab: built by build.sh from mdmlogs/
        9: [("setupact.log", setupact(d, random.Random(12)))],
    }
    zipdir = os.path.join(root, "zip")
    intune_common_entries(d, directives, produced, zipdir, "flattened")
    with open(os.path.join(root, "nested-cab-path.txt"), "w") as f:
        f.write("(8) FoldersFiles %s/mdmlogs-%s.cab\n" % (flat_name(directives[7][1]), ts))


def bundle_pc02(out):
    """Old numbered-folder Intune zip: ESP timed out (0x800705b4) on a hung installer (0x87D300C9)."""
    suite = App("4f3e2d1c-0b9a-4876-9543-210fedcba987", 2, "Contoso LOB Suite 2025", 312_475_648,
                outcome="timeout", product_code="{6B8D0F2A-4C6E-4A8B-9D0F-2A4C6E8A0B2D}",
                install_cmd='setup.exe /install')
    certs = App("1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d", 3, "Contoso Root Certificates", 412_337,
                detection="script", product_code="{00000000-0000-0000-0000-000000000000}",
                install_cmd='powershell.exe -ExecutionPolicy Bypass -File .\\Install-ContosoRoots.ps1')
    apps = [certs, suite]
    suite.grs_hash = "9f86d081884c7d659a2feaa0c55ad015"
    u = lambda h, m, s=0, ms=0: dt.datetime(2025, 10, 2, h, m, s, ms * 1000, tzinfo=UTC)
    d = base_device(
        name="CONTOSO-PC02", serial="PF9C3T6W", enr_id="2B3C4D5E-6F70-4819-A2B3-C4D5E6F70819",
        device_id="e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8", join_upn="lee.gu@" + TENANT,
        join_sid="S-1-12-1-1732050807-5688772935-2742960650-1618033988",
        user_sid="S-1-12-1-1732050807-5688772935-2742960650-1618033988",
        dmp_thumb="1F2E3D4C5B6A79881726354453627180A9B8C7D6", device_thumb="6A8C0E2B4D6F8A0C2E4B6D8F0A2C4E6B8D0F2A4C",
        key_container="0e2c4a6b-8d1f-4c3e-a5b7-d9f1b3d5f7a9", omadm_account="8C9D0E1F-2A3B-4C5D-9E6F-7A8B9C0D1E2F",
        enrolled_at=u(7, 2, 40), first_sync_ts=u(7, 2, 46, 901), durations=(36, 5, 0, 0), esp_device_done=False,
        device_setup_status='{"categoryState":"failed","subcategoryStates":{"DeviceSetup.AppsSubcategory":"timedOut"}}',
        account_setup_status='{"categoryState":"notStarted"}',
        ztd_corr="5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", ap_corr="11223344-5566-4778-899a-abbccddeeff0",
        ztd_reg="0f1e2d3c-4b5a-4697-8877-665544332211", cv="Kq7pW2nRb5xLc9Ve.1",
        policy_download=u(6, 58, 2), server_last_success=u(8, 51, 14),
        collect_utc=u(8, 55, 12), collect_guid="{9B1D3F5A-7C9E-4B1D-8F3A-5C7E9B1D3F5A}",
        ime_version="1.97.104.0", ime_name_suffix=True, apps=apps,
        scripts=[("0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "Enable-ContosoLogging.ps1", "Success")],
        oobe_local=dt.datetime(2025, 10, 2, 2, 51, 30), collection_id="a1c3e5f7-9b1d-4f3a-8c5e-7a9c1e3f5b7d",
        lease=dt.datetime(2025, 10, 2, 2, 52, 0), script_time=u(8, 12, 0),
        os_version="10.0.19045.6332",
    )
    certs.grs_hash = "unused"
    d.final_state = {certs.id: "Completed", suite.id: "InProgress"}
    d.esp_snapshots = [
        (u(7, 6, 1, 118), {certs.id: "NotInstalled", suite.id: "NotInstalled"}),
        (u(7, 9, 37, 640), {certs.id: "Completed", suite.id: "InProgress"}),
    ]

    # device clock: Eastern Daylight Time (UTC-4)
    def story(st):
        st.agent_start()
        st.ime.advance(10)
        st.esp_check("DeviceSetup")
        st.get_policies()
        st.powershell_round()
        st.aw.set_time(st.ime.now())
        st.appworkload_start()
        st.aw.set_time(dt.datetime(2025, 10, 2, 3, 8, 40))
        st.app_flow(certs)
        st.ime.set_time(st.aw.now())
        # the installer waits for input for an hour; meanwhile IME keeps checking ESP
        st.app_flow(suite)
        for i in range(12):
            st.ime.advance(290, jitter=30)
            st.esp_check("DeviceSetup")
            if i == 6:
                st.powershell_round()
        st.ime.set_time(st.aw.now())
        st.appworkload_idle()
        st.esp_check("DeviceSetup")

    st = ime_logs(d, 3003, dt.datetime(2025, 10, 2, 3, 5, 12), story)
    # IME rotated its log at 03:38 local: split the records
    recs = st.ime.records
    cut = len(recs) * 2 // 3
    rotated, current = recs[:cut], recs[cut:]
    rot_name = "IntuneManagementExtension-20251002-%s.log" % (
        (dt.datetime(1, 1, 1) + dt.timedelta(microseconds=rotated[-1][1] // 10)).strftime("%H%M%S"))
    root = os.path.join(out, "intune-pc02")
    dump, reg_lines = registry_dump(d)
    d.areas = "Autopilot;deviceprovisioning;deviceenrollment;tpm;"
    cab = {
        "MdmDiagReport_RegistryDump.reg": dump,
        "MDMDiagReport.xml": mdm_xml(d),
        "MdmDiagLogMetadata.json": metadata_json(d),
        "AutopilotDDSZTDFile.json": ztd_json(d),
        "IntuneManagementExtension.log": st.ime.render(current),
        rot_name: st.ime.render(rotated),
        "AppWorkload.log": st.aw.render(),
    }
    ime_dir = "C:\\ProgramData\\Microsoft\\IntuneManagementExtension\\Logs\\"
    copied = [(ime_dir + n, n) for n in ("AppWorkload.log", "IntuneManagementExtension.log", rot_name)]
    cab["MdmLogCollectorFootPrint.txt"] = footprint(d, reg_lines, copied, MISSING_FILES)
    for n, b in cab.items():
        write(os.path.join(root, "mdmlogs", n), b)
    ts = "2025-10-02-08-55-12"
    directives = [
        ("RegistryKey", "HKLM\\Software\\Microsoft\\IntuneManagementExtension", 0),
        ("Command", "%windir%\\system32\\ipconfig.exe /all", 0),
        ("Command", "%windir%\\system32\\mdmdiagnosticstool.exe -area Autopilot;deviceprovisioning;deviceenrollment;tpm -cab %temp%\\MDMDiagnostics\\mdmlogs-" + ts + ".cab", 0),
        ("FoldersFiles", "%ProgramData%\\Microsoft\\IntuneManagementExtension\\Logs\\*.*", 0),
        ("FoldersFiles", "%temp%\\MDMDiagnostics\\mdmlogs-" + ts + ".cab", 0),
        ("RegistryKey", "HKLM\\Software\\Microsoft\\CloudManagedUpdate", -2147024894),
    ]
    produced = {
        1: [("export.reg", ime_registry(d))],
        2: [("output.log", ipconfig(d))],
        3: [("output.log", b"")],
        4: [("AgentExecutor.log", st.ae.render()), ("AppWorkload.log", st.aw.render()),
            ("IntuneManagementExtension.log", st.ime.render(current)), (rot_name, st.ime.render(rotated))],
        5: [],
    }
    intune_common_entries(d, directives, produced, os.path.join(root, "zip"), "numbered")
    with open(os.path.join(root, "nested-cab-path.txt"), "w") as f:
        f.write("5/mdmlogs-%s.cab\n" % ts)


def bundle_c(out):
    """Plain folder: device not registered for Autopilot -> no profile (ZtdDeviceIsNotRegistered)."""
    u = lambda h, m, s=0: dt.datetime(2025, 10, 3, h, m, s, tzinfo=UTC)
    d = base_device(
        name="DESKTOP-7QK2M4R", serial="PF4ZQ9X1", enrolled=False, registered=False, joined=False,
        user_signed_in=False, ztd_corr="7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9", cv="Lm2oP8qRs4tUv6Wx.0",
        policy_download=u(8, 14, 22), collect_utc=u(8, 31, 5), collect_guid="{2C4E6A8B-0D2F-4A4C-9E6B-8D0F2A4C6E8A}",
        areas="Autopilot;TPM;", user_sid="", oobe_local=dt.datetime(2025, 10, 3, 10, 9, 14),
        ime_version="", apps=[],
    )
    dump, reg_lines = registry_dump(d)
    rng = random.Random(4004)
    hwhash = __import__("base64").b64encode(bytes(rng.getrandbits(8) for _ in range(3000))).decode()
    files = {
        "MdmDiagReport_RegistryDump.reg": dump,
        "MDMDiagReport.xml": mdm_xml(d),
        "MdmDiagLogMetadata.json": metadata_json(d),
        "AutopilotDDSZTDFile.json": ztd_json(d),
        "setupact.log": setupact(d, random.Random(13)),
        "DeviceHash_%s.csv" % d.serial: crlf('Device Serial Number,Windows Product ID,Hardware Hash\n%s,,%s\n' % (d.serial, hwhash)).encode("ascii"),
    }
    copied = [("C:\\Windows\\ServiceState\\wmansvc\\AutopilotDDSZTDFile.json", "AutopilotDDSZTDFile.json"),
              ("C:\\Windows\\Panther\\UnattendGC\\setupact.log", "setupact.log")]
    missing = MISSING_FILES + ["C:\\ProgramData\\Microsoft\\IntuneManagementExtension\\Logs\\*.log"]
    files["MdmLogCollectorFootPrint.txt"] = footprint(d, reg_lines, copied, missing)
    for n, b in files.items():
        write(os.path.join(out, "profile-not-assigned", n), b)


def cab_files(d, st, extra=None, with_setupact=True, seed=21):
    """The files of a flat MdmDiagnosticsTool cab for device d and IME story st."""
    dump, reg_lines = registry_dump(d)
    files = {
        "IntuneManagementExtension.log": st.ime.render(),
        "AppWorkload.log": st.aw.render(),
        "AgentExecutor.log": st.ae.render(),
        "MdmDiagReport_RegistryDump.reg": dump,
        "MDMDiagReport.xml": mdm_xml(d),
        "MdmDiagLogMetadata.json": metadata_json(d),
        "AutopilotDDSZTDFile.json": ztd_json(d),
    }
    files.update(extra or {})
    if with_setupact:
        files["setupact.log"] = setupact(d, random.Random(seed))
    ime_dir = "C:\\ProgramData\\Microsoft\\IntuneManagementExtension\\Logs\\"
    copied = [(ime_dir + n, n) for n in sorted(n for n in files if n.endswith(".log") and n != "setupact.log")]
    copied += [("C:\\Windows\\ServiceState\\wmansvc\\AutopilotDDSZTDFile.json", "AutopilotDDSZTDFile.json")]
    if with_setupact:
        copied.append(("C:\\Windows\\Panther\\UnattendGC\\setupact.log", "setupact.log"))
    files["MdmLogCollectorFootPrint.txt"] = footprint(d, reg_lines, copied, MISSING_FILES)
    return files


def user_lockin(st, apps):
    st.aw.log("[Win32App][V3Processor] Processing %d subgraphs." % len(apps), step=0.2)
    st.aw.log("[Win32App][ESPAppLockInProcessor] Found %d apps which need to be installed for current phase of ESP. AppIds: %s"
              % (len(apps), ", ".join(a.id for a in apps)))


def not_in_esp(st, n, gap=180):
    for _ in range(n):
        st.ime.advance(gap, jitter=60)
        st.ime.log("[Win32App][EspHelper][CheckEspPhase] Checking ESP status and found isSyncDoneForUser: True", type_=2, thread=13)
        st.ime.log("[Win32App][EspHelper][CheckEspPhase] The EspPhase: NotInEsp in session", thread=13)


def bundle_d(out):
    """MdmDiagnosticsTool cab: hybrid join; the account setup fails on a user-context Win32 app."""
    entra_user = "5a1c9e3d-7b2f-4d8a-9c6e-0f1a2b3c4d5e"
    certs = App("1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d", 3, "Contoso Root Certificates", 412_337,
                detection="script", product_code="{00000000-0000-0000-0000-000000000000}",
                install_cmd='powershell.exe -ExecutionPolicy Bypass -File .\\Install-ContosoRoots.ps1')
    proxy = App("6a9d2c4e-1f3b-4a5c-8d7e-9f0a1b2c3d4e", 1, "Contoso Proxy Config 3.1", 86_507_520,
                product_code="{5C8E1A3F-7B2D-4E6A-9C0F-1D3B5A7C9E2F}", install_secs=118, do_peer_pct=62,
                install_cmd='msiexec /i "ContosoProxyConfig-3.1.msi" /qn')
    expense = App("3e5a7c9b-2d4f-4a6c-8e0b-1d3f5a7c9e0b", 2, "Contoso Expense Helper 1.8", 9_437_184,
                  detection="script", product_code="{00000000-0000-0000-0000-000000000000}", user_id=entra_user,
                  install_secs=21, install_cmd='ExpenseHelperSetup.exe /S')
    teams = App("9f1b3d5e-7a9c-4b2d-8f0e-2a4c6e8b0d1f", 4, "Contoso Teams Add-in 2.4", 14_680_064,
                outcome="fail", exit_code=1, product_code="{7E9A1C3B-5D7F-4B9D-8E1A-3C5E7A9B1D3F}",
                user_id=entra_user, install_secs=74, install_cmd='TeamsAddinSetup.exe --silent')
    apps = [certs, proxy]
    user_apps = [expense, teams]
    u = lambda h, m, s=0, ms=0: dt.datetime(2025, 10, 6, h, m, s, ms * 1000, tzinfo=UTC)
    ok = lambda cat, subs: json.dumps(dict(
        [("categorySucceeded", True), ("categoryStatusMessage", "Complete")] +
        [("%s.%sSubcategory" % (cat, n), {"subcategoryState": "succeeded", "subcategoryStatusText": "Complete"}) for n in subs]),
        separators=(",", ":"))
    d = base_device(
        with_tz=True, tz_name="W. Europe Standard Time", join_method=1,
        name="CONTOSO-PC04", serial="PF7H3D2K", enr_id="8A9B0C1D-2E3F-4A5B-9C6D-7E8F9A0B1C2D",
        device_id="0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", join_upn="nestor.wilke@" + TENANT,
        join_sid="S-1-5-21-3623811015-3361044348-30300820-1013",
        user_sid="S-1-5-21-3623811015-3361044348-30300820-1013",
        dmp_thumb="2B4D6F8A0C1E3A5C7E9B1D3F5A7C9E0B2D4F6A8C", device_thumb="9E7C5A3B1D0F2E4C6A8B0D2F4E6C8A0B1D3F5E7C",
        key_container="5c7e9a1b-3d5f-4b7d-9f1a-3c5e7b9d1f3a", omadm_account="3D4E5F6A-7B8C-4D9E-8F0A-1B2C3D4E5F6A",
        enrolled_at=u(7, 11, 33), first_sync_ts=u(7, 11, 38, 250), durations=(44, 6, 301, 0), esp_device_done=True,
        esp_timeout_min=90, block_in_status_page=3,
        profile_name="Contoso Hybrid Azure AD Join", name_template="",
        device_setup_status=ok("DeviceSetup", ["SecurityPolicies", "Certificates", "NetworkConnections", "Apps"]),
        account_setup_status=json.dumps(dict(
            [("categorySucceeded", False), ("categoryStatusMessage", "Apps (2 of 3 installed)")] +
            [("AccountSetup.%sSubcategory" % n, {"subcategoryState": "succeeded", "subcategoryStatusText": "Complete"})
             for n in ("SecurityPolicies", "Certificates", "NetworkConnections")] +
            [("AccountSetup.AppsSubcategory", {"subcategoryState": "failed", "subcategoryStatusText": "Apps (2 of 3 installed)"})]),
            separators=(",", ":")),
        ztd_corr="2c4e6a8b-0d1f-4a3c-8e5b-7d9f1b3d5f7a", ap_corr="44556677-8899-4aab-bccd-deeff0011223",
        ztd_reg="6e8a0c2e-4b6d-4f8a-9c1e-3a5c7e9b1d3f", cv="Hb6nT3qWz8rYc1Xu.1",
        policy_download=u(6, 58, 47), server_last_success=u(8, 1, 2),
        collect_utc=u(8, 4, 40), collect_guid="{6C8E0A2B-4D6F-4A8C-9E0B-2D4F6A8C0E1B}",
        ime_version="1.93.102.0", ime_name_suffix=False, apps=apps,
        scripts=[("0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "Enable-ContosoLogging.ps1", "Success")],
        oobe_local=dt.datetime(2025, 10, 6, 8, 52, 10),
        lob_msis=[("{2D4F6A8C-0B1D-4E3F-A5C7-E9F1B3D5A7C9}", "ContosoPrinterDrivers.msi", "4.2.0", 70)],
        lob_content_id="7b9d1f3a-5c7e-4a9b-8d1f-3a5c7e9b1d2f", sidecar_secs=187,
        user_apps=user_apps, user_store_apps=["ContosoKundenportal_8wekyb3d8bbwe"], user_prov_done=0,
    )
    d.esp_snapshots = [
        (u(7, 12, 41, 318), {certs.id: "NotInstalled", proxy.id: "NotInstalled"}),
        (u(7, 14, 13, 902), {certs.id: "Completed", proxy.id: "NotInstalled"}),
        (u(7, 14, 43, 77), {certs.id: "Completed", proxy.id: "InProgress"}),
        (u(7, 16, 58, 640), {certs.id: "Completed", proxy.id: "Completed"}),
    ]
    d.final_state = d.esp_snapshots[-1][1]
    d.user_snapshots = [
        (u(7, 31, 36, 455), {expense.id: "NotInstalled", teams.id: "NotInstalled"}),
        (u(7, 32, 44, 190), {expense.id: "InProgress", teams.id: "NotInstalled"}),
        (u(7, 33, 18, 623), {expense.id: "Completed", teams.id: "NotInstalled"}),
        (u(7, 34, 9, 14), {expense.id: "Completed", teams.id: "InProgress"}),
        (u(7, 35, 36, 871), {expense.id: "Completed", teams.id: "Error"}),
    ]
    d.user_final_state = d.user_snapshots[-1][1]

    # device clock: Central European Summer Time (UTC+2)
    def story(st):
        hs = CMTrace("HealthScripts", dt.datetime(2025, 10, 6, 9, 12, 30), st.rng, thread=9)
        st.agent_start()
        st.ime.advance(12)
        st.esp_check("DeviceSetup")
        st.get_policies()
        st.powershell_round()
        st.aw.set_time(st.ime.now())
        st.appworkload_start()
        st.aw.set_time(dt.datetime(2025, 10, 6, 9, 13, 30))
        st.app_flow(certs)
        st.ime.set_time(st.aw.now())
        st.esp_check("DeviceSetup")
        st.aw.set_time(dt.datetime(2025, 10, 6, 9, 14, 40))
        st.app_flow(proxy)
        st.appworkload_idle()
        st.ime.set_time(st.aw.now())
        st.esp_check("AccountSetup", device_done=True)
        hs.set_time(st.ime.now())
        st.hs_round(hs, [("7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "Contoso Restart Print Spooler", False, 0),
                         ("2f3e4d5c-6b7a-4988-b7a6-c5d4e3f2a1b0", "Contoso Clear Teams Cache", True, 0)])
        # the user signs in with the domain account (hybrid): account setup
        st.ime.set_time(dt.datetime(2025, 10, 6, 9, 31, 12))
        st.ime.log("Session change detected.", thread=7)
        st.ime.log("OnSessionChange: SessionLogon", thread=7)
        st.esp_check("AccountSetup", device_done=True, user_sid=d.user_sid)
        st.esp_state.update({a.id: "NotInstalled" for a in user_apps})
        st.get_policies(user_apps)
        st.aw.set_time(st.ime.now())
        user_lockin(st, user_apps)
        st.aw.set_time(dt.datetime(2025, 10, 6, 9, 32, 40))
        st.app_flow(expense)
        st.aw.set_time(dt.datetime(2025, 10, 6, 9, 34, 5))
        st.app_flow(teams)
        st.ime.set_time(st.aw.now())
        for i in range(4):
            st.ime.advance(200, jitter=60)
            st.esp_check("AccountSetup", device_done=True, user_sid=d.user_sid)
            if i == 2:
                st.aw.set_time(st.ime.now())
                st.appworkload_checkin()
        return hs

    rng = random.Random(5005)
    st = ImeStory(rng, dt.datetime(2025, 10, 6, 9, 12, 4), d.ime_version, d.enr_id, d.user_sid, TENANT_ID,
                  d.apps, d.scripts, name_suffix=d.ime_name_suffix)
    st.device_id = d.device_id
    hs = story(st)
    d.script_time = u(7, 12, 50)
    files = cab_files(d, st, {"HealthScripts.log": hs.render()}, seed=22)
    for n, b in files.items():
        write(os.path.join(out, "hybrid-user-app-failure", n), b)


def bundle_e(out):
    """MdmDiagnosticsTool cab: pre-provisioned; technician flow on Tuesday, user flow on Thursday."""
    entra_user = "8d0f2b4d-6f8a-4c1e-a3b5-c7d9e1f3a5b7"
    certs = App("1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d", 3, "Contoso Root Certificates", 412_337,
                detection="script", product_code="{00000000-0000-0000-0000-000000000000}",
                install_cmd='powershell.exe -ExecutionPolicy Bypass -File .\\Install-ContosoRoots.ps1')
    vpn = App("5b7d9f1a-3c5e-4a7c-9e1b-3d5f7a9c1e3b", 1, "Contoso VPN Client 5.3", 49_020_928,
              product_code="{4B8D2F6A-53E7-4A19-8C6F-2D4E6F8A0B3C}", install_secs=205, do_peer_pct=0,
              install_cmd='msiexec /i "ContosoVPN-5.3.0.msi" /qn')
    zip7 = App("b2c4d6e8-0a1b-4c3d-9e5f-7a8b9c0d1e2f", 2, "7-Zip 24.08 (x64)", 1_992_704,
               product_code="{23170F69-40C1-2702-2408-000001000000}", install_cmd='msiexec /i "7z2408-x64.msi" /qn')
    expense = App("3e5a7c9b-2d4f-4a6c-8e0b-1d3f5a7c9e0b", 2, "Contoso Expense Helper 1.8", 9_437_184,
                  detection="script", product_code="{00000000-0000-0000-0000-000000000000}", user_id=entra_user,
                  install_secs=23, install_cmd='ExpenseHelperSetup.exe /S')
    apps = [certs, vpn, zip7]
    user_apps = [expense]
    u1 = lambda h, m, s=0, ms=0: dt.datetime(2025, 10, 7, h, m, s, ms * 1000, tzinfo=UTC)
    u3 = lambda h, m, s=0, ms=0: dt.datetime(2025, 10, 9, h, m, s, ms * 1000, tzinfo=UTC)
    d = base_device(
        with_tz=True, name="CONTOSO-PC05", serial="PF8J4E6N", enr_id="4C5D6E7F-8A9B-4C0D-9E1F-2A3B4C5D6E7F",
        device_id="7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", join_upn="alex.wilber@" + TENANT,
        join_sid="S-1-12-1-3141592653-2718281828-1618033988-1414213562",
        user_sid="S-1-12-1-3141592653-2718281828-1618033988-1414213562",
        dmp_thumb="6C8E0A2B4D6F8A0C2E4B6D8F0A2C4E6B8D0F2A4C", device_thumb="D3F5A7C9E1B3D5F7A9C1E3B5D7F9A1C3E5B7D9F1",
        key_container="9b1d3f5a-7c9e-4b1d-8f3a-5c7e9b1d3f5a", omadm_account="6A7B8C9D-0E1F-4A2B-9C3D-4E5F6A7B8C9D",
        enrolled_at=u1(21, 4, 52), first_sync_ts=u3(15, 11, 31, 640), durations=(39, 4, 226, 0), esp_device_done=True,
        profile_name="Contoso Pre-Provisioned User-Driven",
        device_setup_status='{"categoryState":"succeeded","subcategoryStates":{"DeviceSetup.SecurityPoliciesSubcategory":"succeeded","DeviceSetup.CertificatesSubcategory":"succeeded","DeviceSetup.NetworkConnectionsSubcategory":"succeeded","DeviceSetup.AppsSubcategory":"succeeded"}}',
        account_setup_status='{"categoryState":"succeeded","subcategoryStates":{"AccountSetup.SecurityPoliciesSubcategory":"succeeded","AccountSetup.CertificatesSubcategory":"succeeded","AccountSetup.NetworkConnectionsSubcategory":"succeeded","AccountSetup.AppsSubcategory":"succeeded"}}',
        ztd_corr="8e0a2c4e-6b8d-4f0a-9c2e-4b6d8f0a2c4e", ap_corr="99887766-5544-4332-a110-ffeeddccbbaa",
        ztd_reg="3b5d7f9a-1c3e-4a5c-8e7a-9c1e3b5d7f9a", cv="Qs9dK4mXa7pZv2Lb.1",
        policy_download=u1(21, 1, 36), server_last_success=u3(15, 24, 30),
        collect_utc=u3(15, 31, 12), collect_guid="{8E0A2C4E-6B8D-4F0A-9C2E-4B6D8F0A2C4E}",
        ime_version="1.93.102.0", ime_name_suffix=False, apps=apps, scripts=[],
        oobe_local=dt.datetime(2025, 10, 7, 13, 58, 4), sidecar_secs=164,
        user_apps=user_apps, user_prov_done=1,
    )
    d.esp_snapshots = [
        (u1(21, 6, 20, 115), {certs.id: "NotInstalled", vpn.id: "NotInstalled", zip7.id: "NotInstalled"}),
        (u1(21, 7, 50, 402), {certs.id: "Completed", vpn.id: "NotInstalled", zip7.id: "NotInstalled"}),
        (u1(21, 8, 14, 960), {certs.id: "Completed", vpn.id: "InProgress", zip7.id: "NotInstalled"}),
        (u1(21, 11, 44, 231), {certs.id: "Completed", vpn.id: "Completed", zip7.id: "NotInstalled"}),
        (u1(21, 15, 2, 588), {certs.id: "Completed", vpn.id: "Completed", zip7.id: "Completed"}),
    ]
    d.final_state = d.esp_snapshots[-1][1]
    d.user_snapshots = [
        (u3(15, 12, 5, 83), {expense.id: "NotInstalled"}),
        (u3(15, 13, 40, 517), {expense.id: "InProgress"}),
        (u3(15, 14, 12, 350), {expense.id: "Completed"}),
    ]
    d.user_final_state = d.user_snapshots[-1][1]

    # device clock: Pacific (PDT)
    def story(st):
        # technician flow (Tuesday)
        st.agent_start()
        st.ime.advance(11)
        st.esp_check("DeviceSetup")
        st.get_policies()
        st.aw.set_time(st.ime.now())
        st.appworkload_start()
        st.aw.set_time(dt.datetime(2025, 10, 7, 14, 7, 10))
        st.app_flow(certs)
        st.ime.set_time(st.aw.now())
        st.esp_check("DeviceSetup")
        st.aw.set_time(dt.datetime(2025, 10, 7, 14, 8, 5))
        st.app_flow(vpn)
        st.aw.set_time(dt.datetime(2025, 10, 7, 14, 14, 30))
        st.app_flow(zip7)
        st.appworkload_idle()
        st.ime.set_time(st.aw.now())
        st.esp_check("DeviceSetup")
        st.ime.advance(95)
        st.ime.log("EMS Agent received shutdown signal", thread=4)
        st.ime.log("EMS Agent Stopped", thread=4, step=0.3)
        # user flow (Thursday): the same IME log, two days later
        st.ime.set_time(dt.datetime(2025, 10, 9, 8, 9, 58))
        st.agent_start()
        st.ime.advance(10)
        st.esp_check("AccountSetup", device_done=True, user_sid=d.user_sid)
        st.esp_state.update({a.id: "NotInstalled" for a in user_apps})
        st.get_policies(user_apps)
        st.aw.set_time(st.ime.now())
        user_lockin(st, user_apps)
        st.aw.set_time(dt.datetime(2025, 10, 9, 8, 13, 30))
        st.app_flow(expense)
        st.ime.set_time(st.aw.now())
        st.esp_check("AccountSetup", device_done=True, user_sid=d.user_sid)
        not_in_esp(st, 4)

    rng = random.Random(6006)
    st = ImeStory(rng, dt.datetime(2025, 10, 7, 14, 5, 31), d.ime_version, d.enr_id, d.user_sid, TENANT_ID,
                  d.apps, d.scripts, name_suffix=d.ime_name_suffix)
    st.device_id = d.device_id
    story(st)
    files = cab_files(d, st, seed=23)
    for n, b in files.items():
        write(os.path.join(out, "preprovisioned", n), b)


def bundle_notcomputed(out):
    """MdmDiagnosticsTool cab: pre-provisioned device whose user flow runs seven months after
    the technician flow; every Win32 app's detection is NotComputed (PP-03, IME-01)."""
    vpn = App("8c6e2f1a-4b3d-4f9e-a2c7-5d1b0e9f3a64", 1, "Contoso VPN Client 5.2", 48_211_968,
              product_code="{3A7C1E9B-42D6-4F08-9B5E-1C3D5E7F9A2B}", install_secs=210,
              install_cmd='msiexec /i "ContosoVPN-5.2.0.msi" /qn /l*v "%windir%\\Temp\\ContosoVPN_install.log"')
    certs = App("1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d", 3, "Contoso Root Certificates", 412_337,
                detection="script", product_code="{00000000-0000-0000-0000-000000000000}",
                install_cmd='powershell.exe -ExecutionPolicy Bypass -File .\\Install-ContosoRoots.ps1')
    office = App("e7d6c5b4-a392-4181-b0f9-e8d7c6b5a493", 5, "Microsoft 365 Apps for enterprise", 3_904_512,
                 product_code="{90160000-008C-0000-1000-0000000FF1CE}", install_secs=900,
                 install_cmd='setup.exe /configure configuration.xml')
    apps = [certs, vpn, office]
    u = lambda y, mo, dd, h, m, s=0, ms=0: dt.datetime(y, mo, dd, h, m, s, ms * 1000, tzinfo=UTC)
    d = base_device(
        with_tz=True, name="CONTOSO-PC04", serial="PF5B8L3N", enr_id="2B7D4F61-8A3C-4E95-B1D7-F2A4C6E8B0D3",
        device_id="4c3b2a19-0f8e-4d7c-9b6a-5e4d3c2b1a09", join_upn="alex.wilber@" + TENANT,
        join_sid="S-1-12-1-1414213562-1732050807-2236067977-2449489742",
        user_sid="S-1-12-1-1414213562-1732050807-2236067977-2449489742",
        dmp_thumb="7E2D4C6B8A0F35C8DAE3F4A5B6C7D8E9F0A1B2C3", device_thumb="C3B2A1F0E9D8C7B6A5F4E3D2C1B0A9F8E7D6C5B4",
        key_container="6a4c2e1d-9f8b-4c0a-d1e2-f3a4b5c6d7e8", omadm_account="1C2D3E4F-5A6B-4C7D-9E8F-0A1B2C3D4E5F",
        profile_name="Contoso Pre-Provisioned Entra Join",
        enrolled_at=u(2025, 3, 12, 16, 21, 40),
        first_sync_ts=u(2025, 3, 12, 16, 21, 46, 205),
        durations=(35, 4, 611, 0), esp_device_done=True,
        device_setup_status='{"categoryState":"succeeded","subcategoryStates":{"DeviceSetup.SecurityPoliciesSubcategory":"succeeded","DeviceSetup.CertificatesSubcategory":"succeeded","DeviceSetup.NetworkConnectionsSubcategory":"succeeded","DeviceSetup.AppsSubcategory":"succeeded"}}',
        account_setup_status='{"categoryState":"succeeded"}',
        ztd_corr="a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", ap_corr="b16b00b5-4321-4cba-8fed-fedcba987654",
        ztd_reg="0a9b8c7d-6e5f-4a3b-9c2d-1e0f2a3b4c5d", cv="rT5yU7iO9pAs1dFg.2",
        policy_download=u(2025, 3, 12, 16, 15, 2),
        server_last_success=u(2025, 10, 6, 15, 58, 13),
        collect_utc=u(2025, 10, 6, 16, 4, 27), collect_guid="{5D7F9B1C-3E5A-4C7E-9B1D-3F5A7C9E1B3D}",
        ime_version="1.93.102.0", ime_name_suffix=False, apps=apps, scripts=[],
        oobe_local=dt.datetime(2025, 3, 12, 9, 8, 51),
    )
    d.esp_snapshots = [
        (u(2025, 3, 12, 16, 26, 3, 118), {certs.id: "NotInstalled", vpn.id: "NotInstalled", office.id: "NotInstalled"}),
        (u(2025, 3, 12, 16, 29, 40, 512), {certs.id: "Completed", vpn.id: "InProgress", office.id: "NotInstalled"}),
        (u(2025, 3, 12, 16, 34, 9, 37), {certs.id: "Completed", vpn.id: "Completed", office.id: "InProgress"}),
        (u(2025, 3, 12, 16, 50, 22, 640), {certs.id: "Completed", vpn.id: "Completed", office.id: "Completed"}),
    ]
    d.final_state = d.esp_snapshots[-1][1]

    # the technician flow on 12 March: device ESP, every app installed and detected
    def technician(st):
        st.agent_start()
        st.ime.advance(11)
        st.esp_check("DeviceSetup")
        st.get_policies()
        st.aw.set_time(st.ime.now())
        st.appworkload_start()
        st.aw.set_time(dt.datetime(2025, 3, 12, 9, 26, 40))
        st.app_flow(certs)
        st.ime.set_time(st.aw.now())
        st.esp_check("DeviceSetup")
        st.aw.set_time(dt.datetime(2025, 3, 12, 9, 28, 2))
        st.app_flow(vpn)
        st.ime.set_time(st.aw.now())
        st.esp_check("DeviceSetup")
        st.aw.set_time(dt.datetime(2025, 3, 12, 9, 33, 15))
        st.app_flow(office)
        st.appworkload_idle()
        st.ime.set_time(st.aw.now())
        for _ in range(3):
            st.ime.advance(180, jitter=60)
            st.esp_check("DeviceSetup", device_done=True)
        st.ime.advance(20)
        st.ime.log("EMS Agent received shutdown signal", thread=4)
        st.ime.log("EMS Agent Stopped", thread=4)

    # the user flow on 6 October, 208 days later: detection cannot run any more
    def user(st):
        st.agent_start()
        st.ime.advance(9)
        st.esp_check("AccountSetup", device_done=True, user_sid=d.user_sid)
        st.get_policies()
        st.aw.set_time(st.ime.now())
        st.appworkload_start()
        for a in apps:
            st.app_detect_not_computed(a)
        st.appworkload_idle()
        st.ime.set_time(st.aw.now())
        for i in range(4):
            st.ime.advance(300, jitter=60)
            st.esp_check("AccountSetup", device_done=True, user_sid=d.user_sid)
            if i % 2 == 1:
                st.aw.set_time(st.ime.now())
                st.aw.log("[Win32App][V3Processor] Processing %d subgraphs." % len(apps), step=0.3)
                for a in apps:
                    st.app_detect_not_computed(a)
                st.appworkload_idle()

    tech = ime_logs(d, 4242, dt.datetime(2025, 3, 12, 9, 22, 40), technician)
    usr = ime_logs(d, 4343, dt.datetime(2025, 10, 6, 8, 41, 7), user)
    dump, reg_lines = registry_dump(d)
    files = {
        "IntuneManagementExtension-20250312-095914.log": tech.ime.render(),
        "AppWorkload-20250312-095914.log": tech.aw.render(),
        "IntuneManagementExtension.log": usr.ime.render(),
        "AppWorkload.log": usr.aw.render(),
        "MdmDiagReport_RegistryDump.reg": dump,
        "MDMDiagReport.xml": mdm_xml(d),
        "MdmDiagLogMetadata.json": metadata_json(d),
        "AutopilotDDSZTDFile.json": ztd_json(d),
        "setupact.log": setupact(d, random.Random(17)),
    }
    ime_dir = "C:\\ProgramData\\Microsoft\\IntuneManagementExtension\\Logs\\"
    copied = [(ime_dir + n, n) for n in ("AppWorkload-20250312-095914.log", "AppWorkload.log",
                                         "IntuneManagementExtension-20250312-095914.log",
                                         "IntuneManagementExtension.log")]
    copied += [("C:\\Windows\\ServiceState\\wmansvc\\AutopilotDDSZTDFile.json", "AutopilotDDSZTDFile.json"),
               ("C:\\Windows\\Panther\\UnattendGC\\setupact.log", "setupact.log")]
    files["MdmLogCollectorFootPrint.txt"] = footprint(d, reg_lines, copied, MISSING_FILES)
    for n, b in files.items():
        write(os.path.join(out, "preprov-notcomputed", n), b)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "pieces")
    out = os.path.abspath(out)
    # evtx/ belongs to gen_evtx_pieces.py: clear everything else
    if os.path.isdir(out):
        for entry in os.listdir(out):
            if entry != "evtx":
                path = os.path.join(out, entry)
                if os.path.isdir(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
    bundle_a(out)
    bundle_b(out)
    bundle_pc02(out)
    bundle_c(out)
    bundle_d(out)
    bundle_e(out)
    bundle_notcomputed(out)


if __name__ == "__main__":
    main()
