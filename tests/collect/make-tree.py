#!/usr/bin/env python3
"""Build a test Windows volume for `apdiag collect --root`.

usage: make-tree.py ROOT [CORPUS]

Everything is byte-faithful to what Windows writes:
  - the hives (SOFTWARE, SYSTEM, Users/jdoe/NTUSER.DAT) are real regf files:
    mkhive.py writes an empty hive, hivexregedit --merge (Debian's
    libwin-hivex-perl) adds the keys, with every registry value type;
  - event logs are real .evtx files copied from CORPUS/evtx (../shared/corpus),
    under the names Windows gives them (channel, '/' -> '%4');
  - IME logs are real ones from CORPUS/ime when present, plus a synthetic
    CMTrace log and a rotated one; the profile JSON is the real UTF-16LE one;
  - ETL traces come from CORPUS/etl.
Without CORPUS the evtx, etl and real IME files are left out (the script says
so on stderr) and synthetic ones stand in where the test needs a file.
Names are mixed-case on purpose: apdiag must find them case-insensitively.
"""
import os, shutil, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = sys.argv[1]
CORPUS = sys.argv[2] if len(sys.argv) > 2 and os.path.isdir(sys.argv[2]) else None

UPN = 'Jane.Doe@contoso.example'


def mk(path, data=b''):
    p = os.path.join(ROOT, *path.split('/'))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode('utf-8'))
    return p


def u16(s):
    return ','.join('%02x' % b for b in (s + '\0').encode('utf-16-le'))


def hexb(b):
    return ','.join('%02x' % x for x in b)


def hive(rel, keys, rootname='ROOT'):
    """keys: {path: [(name, reg-text-value)]}; parents are added as needed."""
    path = os.path.join(ROOT, *rel.split('/'))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run([sys.executable, os.path.join(HERE, 'mkhive.py'), path, rootname], check=True)
    allkeys = {}
    for k in keys:
        parts = k.split('\\')
        for i in range(1, len(parts) + 1):
            allkeys.setdefault('\\'.join(parts[:i]), [])
    for k, v in keys.items():
        allkeys[k] = v
    lines = ['Windows Registry Editor Version 5.00', '']
    for k in sorted(allkeys, key=lambda s: s.lower().split('\\')):
        lines.append('[\\%s]' % k)
        for name, val in allkeys[k]:
            lines.append(('@' if name == '' else '"%s"' % name.replace('\\', '\\\\').replace('"', '\\"')) + '=' + val)
        lines.append('')
    reg = path + '.import.reg'
    with open(reg, 'w', encoding='utf-8') as f:
        f.write('\r\n'.join(lines) + '\r\n')
    # PERL_UNICODE=SDA: hivexregedit reads the .reg as UTF-8 text, so non-ASCII
    # names and strings reach the hive as characters, not as Latin-1 bytes
    subprocess.run(['hivexregedit', '--merge', path, reg], check=True,
                   env=dict(os.environ, PERL_UNICODE='SDA'))
    os.remove(reg)


def sz(s):
    return '"%s"' % s.replace('\\', '\\\\').replace('"', '\\"')


# ---- SOFTWARE ----
CV = 'Microsoft\\Windows NT\\CurrentVersion'
software = {
    CV: [('ProductName', sz('Windows 10 Pro')), ('CurrentBuild', sz('22631')),
         ('CurrentBuildNumber', sz('22631')), ('UBR', 'dword:00000d3e'),
         ('EditionID', sz('Professional')), ('DisplayVersion', sz('23H2')),
         ('InstallDate', 'dword:65a1b2c3')],
    CV + '\\ProfileList\\S-1-5-21-1111111111-2222222222-3333333333-1001':
        [('ProfileImagePath', 'hex(2):' + u16('C:\\Users\\jdoe'))],
    CV + '\\Winlogon': [('Shell', sz('explorer.exe'))],   # not collected: recurse="no"
    'Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\Setup':
        [('HasProvisioningCompleted', 'dword:00000000')],
    'Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\Setup\\Apps\\Tracking\\Sidecar\\Win32App_6a2b4c1d-0000-4000-8000-000000000001_1':
        [('InstallationState', 'dword:00000004'), ('RebootRequired', 'dword:00000001')],
    'Microsoft\\Enrollments\\{A1B2C3D4-0000-4000-8000-00000000ABCD}':
        [('ProviderID', sz('MS DM Server')), ('UPN', sz(UPN)), ('EnrollmentState', 'dword:00000001')],
    'Microsoft\\Enrollments\\{A1B2C3D4-0000-4000-8000-00000000ABCD}\\FirstSync':
        [('SkipDeviceStatusPage', 'dword:00000000'), ('SyncFailureTimeout', 'dword:0000003c'),
         ('Timestamp', 'hex:' + hexb(bytes.fromhex('00a0b1c2d3e4d901')))],
    'Microsoft\\Provisioning\\Diagnostics\\Autopilot':
        [('CloudAssignedTenantDomain', sz('contoso.example')),
         ('IsAutoPilotDisabled', 'dword:00000000'),
         ('DeploymentProfileName', sz('Contoso "Standard" \\ profile'))],
    'Microsoft\\Provisioning\\AutopilotPolicyCache': [('PolicyJsonCache', sz('{"ZtdCorrelationId":"x"}'))],
    # every value type, under the IME key that MdmDiagnosticsTool leaves out
    'Microsoft\\IntuneManagementExtension': [
        ('', sz('Intune Management Extension')),
        ('String', sz('quote " backslash \\ tab\tend')),
        ('Unicode ünï 名前', sz('vålue ✓ 𝄞')),
        ('Expand', 'hex(2):' + u16('%ProgramData%\\Microsoft')),
        ('Binary', 'hex:' + hexb(bytes(range(0, 200)))),
        ('EmptyBinary', 'hex:'),
        ('Dword', 'dword:deadbeef'),
        ('DwordBE', 'hex(5):00,00,01,02'),
        ('Link', 'hex(6):' + u16('\\Registry\\Machine\\Software')),
        ('Multi', 'hex(7):' + hexb('one\0\0three\0\0'.encode('utf-16-le'))),
        ('ResourceList', 'hex(8):01,00,00,00,02,00,00,00'),
        ('FullResource', 'hex(9):05,00,00,00'),
        ('ResourceReq', 'hex(a):20,00,00,00'),
        ('Qword', 'hex(b):' + hexb((0x0102030405060708).to_bytes(8, 'little'))),
        ('None', 'hex(0):'),
        ('SzNoNul', 'hex(1):' + hexb('abc'.encode('utf-16-le'))),
        ('SzEmbeddedNul', 'hex(1):' + hexb('a\0b\0'.encode('utf-16-le'))),
        ('SzNewline', 'hex(1):' + hexb('line1\r\nline2\0'.encode('utf-16-le'))),
        ('Unknown', 'hex(1234):01,02'),
        ('DwordShort', 'hex(4):01,02'),
    ],
    'Microsoft\\IntuneManagementExtension\\Win32Apps\\00000000-0000-0000-0000-000000000000\\6a2b4c1d-0000-4000-8000-000000000001_1\\EnforcementStateMessage':
        [('EnforcementStateMessage', sz('{"EnforcementState":5000,"ErrorCode":-2016330908}'))],
    'Microsoft\\Ünicode Këy': [('Name', sz('non-ASCII key'))],
    'Microsoft\\PolicyManager\\current\\device\\Update': [('AllowAutoUpdate', 'dword:00000001')],
}
# a key with 10,000 values and a 16,000-byte one (hivex writes values up to about 16 KiB)
software['Microsoft\\Provisioning\\NodeCache\\CSP\\Device\\Many'] = (
    [('v%05d' % i, 'dword:%08x' % i) for i in range(10000)] +
    [('Large', 'hex:' + hexb(bytes(i & 255 for i in range(16000))))])
hive('Windows/System32/config/SOFTWARE', software)

# ---- SYSTEM: CurrentControlSet is ControlSet002 here ----
system = {
    'Select': [('Current', 'dword:00000002'), ('Default', 'dword:00000002')],
    'ControlSet001\\Control\\ComputerName\\ComputerName': [('ComputerName', sz('WRONG-SET'))],
    'ControlSet002\\Control\\ComputerName\\ComputerName': [('ComputerName', sz('CONTOSO-PC07'))],
    'ControlSet002\\Control\\TimeZoneInformation': [
        ('TimeZoneKeyName', sz('W. Europe Standard Time')), ('Bias', 'dword:ffffffc4'),
        ('StandardBias', 'dword:00000000'), ('DaylightBias', 'dword:ffffffc4'),
        ('StandardStart', 'hex:' + hexb(bytes([0, 0, 10, 0, 5, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]))),
        ('DaylightStart', 'hex:' + hexb(bytes([0, 0, 3, 0, 5, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0])))],
    'ControlSet002\\Control\\CloudDomainJoin\\JoinInfo': [('TenantId', sz('00000000-1111-2222-3333-444444444444'))],
}
hive('Windows/System32/config/SYSTEM', system)

# ---- a user ----
hive('Users/jdoe/NTUSER.DAT', {
    'Software\\Microsoft\\EnterpriseModernAppManagement\\AppManagement': [('LastScanTime', 'hex(b):00,00,00,00,00,00,00,00')],
    'Software\\Microsoft\\Windows\\CurrentVersion\\UserOOBE': [('OOBEStatus', 'dword:00000001')],
})
os.makedirs(os.path.join(ROOT, 'Users', 'Public', 'Documents'), exist_ok=True)

# ---- event logs ----
EVTX = {
    'Microsoft-Windows-ModernDeployment-Diagnostics-Provider%4Autopilot.evtx': 'edge/E_Windows_system32_winevt_logs_Microsoft-Windows-Shell-Core%4Operational.evtx',
    'Microsoft-Windows-Shell-Core%4Operational.evtx': 'edge/E_Windows_system32_winevt_logs_Microsoft-Windows-Shell-Core%4Operational.evtx',
    'System.evtx': 'edge/2-vss_7-System.evtx',
    'Application.evtx': 'edge/Application_no_crc32.evtx',
    'Microsoft-Windows-AAD%4Operational.evtx': 'edge/2-system-Microsoft-Windows-LiveId%4Operational.evtx',
}
if CORPUS:
    for name, src in EVTX.items():
        s = os.path.join(CORPUS, 'evtx', src)
        if os.path.exists(s):
            d = mk('Windows/System32/winevt/Logs/' + name)
            shutil.copyfile(s, d)
else:
    print('make-tree: no corpus: no .evtx, .etl or real IME logs in the tree', file=sys.stderr)
os.makedirs(os.path.join(ROOT, 'Windows', 'System32', 'winevt', 'Logs'), exist_ok=True)

# ---- IME logs (folder named in another case on purpose) ----
IME = 'ProgramData/Microsoft/intunemanagementextension/LOGS/'


def cmtrace(msg, t, comp='IntuneManagementExtension', typ=1, thread=7):
    return ('<![LOG[%s]LOG]!><time="%s.1234567" date="10-1-2025" component="%s" context="" '
            'type="%d" thread="%d" file="">\r\n' % (msg, t, comp, typ, thread))


ime = '\ufeff' + ''.join([
    cmtrace('[Win32App][EspManager] In EspPhase: DeviceSetup', '10:00:00'),
    cmtrace('Signed in user is %s, profile C:\\Users\\jdoe\\AppData\\Local\\Temp' % UPN, '10:00:01'),
    cmtrace('[Win32App] Installation failed with 0x87D1041C', '10:00:02', typ=3),
])
mk(IME + 'IntuneManagementExtension.log', ime)
mk(IME + 'IntuneManagementExtension-20251001-095959.log', '\ufeff' + cmtrace('rotated log, older', '09:59:59'))
mk(IME + 'AgentExecutor.log', '\ufeff' + cmtrace('agent executor for %s' % UPN, '10:00:03', comp='AgentExecutor'))
if CORPUS:
    src = os.path.join(CORPUS, 'ime', 'IntuneManagementExtension-2025-06-03.log')
    if os.path.exists(src):
        shutil.copyfile(src, mk(IME + 'AppWorkload.log'))

# ---- the rest of the profile ----
mk('Windows/Panther/UnattendGC/setupact.log',
   '2025-10-01 09:00:00, Info                  OOBE   Started\r\n'
   '2025-10-01 09:00:01, Info                  OOBE   User C:\\Users\\jdoe signed in\r\n')
if CORPUS and os.path.exists(os.path.join(CORPUS, 'autopilot', 'AutopilotDDSZTDFile-success.json')):
    shutil.copyfile(os.path.join(CORPUS, 'autopilot', 'AutopilotDDSZTDFile-success.json'),
                    mk('Windows/ServiceState/wmansvc/AutopilotDDSZTDFile.json'))
else:
    mk('Windows/ServiceState/wmansvc/AutopilotDDSZTDFile.json',
       b'\xff\xfe' + '{"CloudAssignedTenantDomain":"contoso.example","ZtdRegistrationId":"x"}'.encode('utf-16-le'))
mk('Windows/ServiceState/Autopilot/DeviceStatus.json', '{"state":"failed"}')
mk('Windows/Provisioning/Diagnostics/AutopilotDiag.txt', 'provisioning diagnostics\r\n')
# 1.2 MB each: the full-disk tests rely on staged copies of this size
mk('Windows/Logs/CBS/CBS.log', ''.join('2025-10-01 09:00:%02d, Info                  CBS    '
                                       'Loaded Servicing Stack, line %06d\r\n' % (i % 60, i)
                                       for i in range(15000)))
mk('Windows/Logs/DISM/dism.log', ''.join('2025-10-01 09:00:%02d, Info                  DISM   '
                                         'PID=1 TID=2 line %06d\r\n' % (i % 60, i)
                                         for i in range(17000)))
if CORPUS:
    for name, src in [('ProgramData/Microsoft/DiagnosticLogCSP/Collectors/DiagnosticLogCSP_Collector_Autopilot_2025_10_1_10_0_0.etl', 'lxcore_kernel.etl'),
                      ('Windows/System32/LogFiles/WMI/CloudExperienceHostOobe.etl.001', 'etw_ad_netlogon_provider_zerologon_mimikatz.etl')]:
        s = os.path.join(CORPUS, 'etl', src)
        if os.path.exists(s):
            shutil.copyfile(s, mk(name))
# MdmDiagnosticsTool output already on disk, with the hardware hash
mk('Users/Public/Documents/MDMDiagnostics/MdmLogCollectorFootPrint.txt',
   '--- Start at:2025-10-01T10:00:00\r\nFailed (HResult: 0x80070002) to CollectFileEntry:c:\\windows\\x\r\n--- End at:2025-10-01T10:00:01\r\n')
mk('Users/Public/Documents/MDMDiagnostics/DeviceHash_SERIAL123.csv',
   'Device Serial Number,Windows Product ID,Hardware Hash\r\nSERIAL123,,AAAA\r\n')
# a non-ASCII file name
mk(IME + 'Sensor-ünïcödé.log', '\ufeff' + cmtrace('sensor', '10:00:04', comp='Sensor'))
print(ROOT)
