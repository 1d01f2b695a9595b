namespace Anshimi.Installer;

/// <summary>
/// What the installer reads, Korean first; English with <c>--lang en</c> or an English LANG. Either
/// way the other language follows in brackets for the domain terms an installer must match
/// against labels and documents.
/// </summary>
public sealed class Texts(bool english)
{
    private static readonly Dictionary<string, (string Ko, string En)> Table = new(StringComparer.Ordinal)
    {
        ["discover.none"] = ("주변에 미등록 장치가 없습니다. 장치 전원과 Wi-Fi를 확인하세요.", "No unclaimed devices heard. Check the device's power and Wi-Fi."),
        ["discover.waiting"] = ("미등록 장치를 찾는 중…", "Listening for unclaimed devices…"),
        ["discover.header"] = ("미등록 장치 (등록 대기)", "Unclaimed devices"),
        ["claim.checking"] = ("등록 코드 확인 및 자격 증명 발급 중…", "Checking the claim code and issuing credentials…"),
        ["claim.issued"] = ("등록 완료: 장치 전용 키와 브로커 계정을 발급해 암호화 전송했습니다.", "Claimed: the device's own key and broker account were issued and sent sealed."),
        ["claim.waiting"] = ("장치가 새 계정으로 접속하기를 기다리는 중…", "Waiting for the device to connect with its new account…"),
        ["claim.connected"] = ("장치가 새 계정으로 접속했습니다.", "The device is connected with its new account."),
        ["claim.silent"] = ("등록됐지만 장치가 아직 접속하지 않았습니다. 전원을 껐다 켠 뒤 claim을 다시 실행하면 새 자격 증명을 보냅니다.", "Claimed, but the device has not connected yet. Power-cycle it and run claim again to reissue credentials."),
        ["bind.done"] = ("설치 장소 등록 완료", "Site bound"),
        ["walk.start"] = ("시험 모드 시작. 지금 비상벨을 누르세요 (1.5초 이상).", "Walk test started. Press the bell now (hold 1.5 s or more)."),
        ["walk.arrived"] = ("경보 수신 — 시험 경보로 표시되어 관제센터에 실제 경보로 보이지 않습니다.", "Alarm received — marked as a test; the control center does not see it as a real alarm."),
        ["walk.timeout"] = ("시간 안에 경보가 오지 않았습니다. 배선, 전원, 접속 상태를 확인하세요.", "No alarm arrived in time. Check wiring, power and connection."),
        ["walk.passed"] = ("시험 통과: 장치가 운영 상태입니다.", "Walk test passed: the device is in service."),
        ["replace.done"] = ("교체 완료: 설치 장소가 새 장치로 옮겨졌고, 이전 장치의 키와 브로커 계정은 폐기됐습니다.", "Replaced: the site moved to the new device; the old device's key and broker account are revoked."),
        ["rekey.sent"] = ("키 세대 교체를 보냈습니다. 장치의 다음 메시지부터 새 세대를 쓰며, 이전에 녹음된 메시지는 거부됩니다:", "Re-key sent. The device uses the new epoch from its next message on, and anything recorded before is refused:"),
        ["decommission.confirm"] = ("장치를 영구 해지합니다. 확인하려면 --yes 를 붙이세요.", "This revokes the device for good. Add --yes to confirm."),
        ["decommission.done"] = ("해지 완료: 키와 브로커 계정을 폐기했습니다.", "Decommissioned: key and broker account revoked."),
        ["export.done"] = ("장치 목록을 CSV로 저장했습니다", "Registry written as CSV"),
        ["import.done"] = ("CSV 가져오기 완료: 설치 장소 갱신", "CSV import done: sites updated"),
        ["import.refused"] = ("CSV에 잘못된 행이 있어 아무것도 바꾸지 않았습니다:", "The CSV has bad rows; nothing was changed:"),
        ["label.new"] = ("새 등록 코드를 만들었습니다. 공장에서 장치에 기록하고 라벨에 인쇄하세요.", "A new claim code was made. Write it into the device at the factory and print it on the label."),
        ["label.svg"] = ("라벨용 QR 코드 SVG 저장", "Label QR code written as SVG"),
        ["list.none"] = ("등록된 장치가 없습니다.", "No devices in the registry."),
        ["error.unreachable"] = ("게이트웨이에 연결할 수 없습니다", "Cannot reach the gateway"),
        ["error.token"] = ("관리자 토큰 파일을 읽을 수 없습니다 (sudo로 실행하세요)", "Cannot read the admin token file (run with sudo)"),
        ["error.prefix"] = ("오류", "error"),
        ["code.wrong_claim_code"] = ("등록 코드가 이 장치와 맞지 않습니다. 라벨을 다시 확인하세요.", "The claim code does not match this device. Check the label again."),
        ["code.bad_claim_code"] = ("등록 코드 형식이 잘못됐습니다 (16자, 예: ABCD-EFGH-JKMN-PQRS).", "The claim code is malformed (16 characters, e.g. ABCD-EFGH-JKMN-PQRS)."),
        ["code.bad_key"] = ("라벨의 공개키가 필요합니다. QR 코드를 스캔하거나 --key로 16진수 64자를 입력하세요.", "The label's public key is needed: scan the QR code, or type its 64 hex digits with --key."),
        ["code.version_1"] = ("이 장치는 아직 프레임 버전 1을 씁니다. 펌웨어를 먼저 갱신하세요.", "The device still speaks frame version 1: update its firmware first."),
        ["code.last_epoch"] = ("마지막 키 세대(255)입니다. 장치를 다시 등록해 새 키를 받으세요.", "The device is at the last key epoch (255): claim it again for a new key."),
        ["code.ble_only"] = ("BLE로만 통신하는 장치는 자체 카운터 순환으로만 키 세대를 바꿉니다.", "A BLE-only device moves its key epoch only at its own counter's wrap."),
        ["code.bad_label"] = ("이 장치의 버전 2 라벨이 아닙니다. 버전 1 라벨 장치는 펌웨어 갱신과 새 라벨이 필요합니다.", "Not this device's version-2 label. A device with a version-1 label needs new firmware and a new label."),
        ["code.key_mismatch"] = ("이 장치 ID로 라벨과 다른 키의 인사 메시지만 들립니다. 아무것도 발급하지 않았습니다. 장치 전원을 확인하고 위조 시도를 보고하세요.", "Only hellos with a key other than the label's are heard for this id; nothing was issued. Check the device is powered and report a possible forgery."),
        ["code.unsafe_key"] = ("이 장치의 공장 공개키로는 자격 증명을 안전하게 봉인할 수 없습니다. 아무것도 발급하지 않았습니다. 장치를 창고로 반송하세요.", "Credentials cannot be sealed safely to this device's factory key; nothing was issued. Return the device to the depot."),
        ["code.not_heard"] = ("이 장치의 인사 메시지가 최근에 없었습니다. 전원을 켜고 discover로 확인하세요.", "This device has not said hello recently. Power it on and check with discover."),
        ["code.not_claimable"] = ("이미 운영·교체·해지된 장치라 등록할 수 없습니다.", "The device is already in service, replaced or decommissioned."),
        ["code.not_found"] = ("게이트웨이 장치 목록에 없는 장치입니다.", "The device is not in the gateway's registry."),
        ["code.not_live"] = ("교체 또는 해지된 장치입니다.", "The device is replaced or decommissioned."),
        ["code.not_bound"] = ("먼저 설치 장소를 등록하세요 (bind).", "Bind the device to a site first (bind)."),
        ["code.not_replaceable"] = ("교체할 수 없습니다: 이전 장치는 운영 중, 새 장치는 등록만 되고 장소 미지정이어야 합니다.", "Cannot replace: the old device must be in service, the new one claimed and not yet bound."),
        ["code.bad_site"] = ("설치 장소 정보가 잘못됐습니다:", "The site is invalid:"),
        ["code.csv_refused"] = ("CSV에 잘못된 행이 있어 아무것도 바꾸지 않았습니다:", "The CSV has bad rows; nothing was changed:"),
        ["code.broker_refused"] = ("브로커가 계정 변경을 거부했습니다.", "The broker refused the account change."),
        ["code.unauthorized"] = ("관리자 토큰이 틀렸습니다.", "The admin token is wrong."),
        ["code.forbidden"] = ("게이트웨이 본체에서만 실행할 수 있습니다.", "Only callers on the gateway itself are allowed."),
        ["code.bad_device_id"] = ("장치 ID는 16진수 8자리입니다.", "A device id is 8 hex digits."),
        ["code.bad_request"] = ("게이트웨이가 요청을 이해하지 못했습니다. 설치 도구와 게이트웨이의 버전이 같은지 확인하세요.", "The gateway did not understand the request. Check that the installer and the gateway are the same version."),
        ["code.bad_since"] = ("시험 경보를 조회할 시작 시각이 잘못됐습니다.", "The start time for reading walk-test alarms is invalid."),
        ["row"] = ("행", "row"),
        ["column"] = ("열", "column"),
        ["state.claimed"] = ("등록됨", "claimed"),
        ["state.active"] = ("운영 중", "active"),
        ["state.replaced"] = ("교체됨", "replaced"),
        ["state.decommissioned"] = ("해지됨", "decommissioned"),
        ["firmware.header"] = ("펌웨어 버전과 갱신 상태 (클라우드 관제 화면과 같은 보고)", "Firmware version and update state (the reports the cloud console shows)"),
        ["firmware.summary"] = ("이 현장 요약", "This site's summary"),
        ["firmware.release"] = ("릴리스", "release"),
        ["update.idle"] = ("갱신 없음", "no update"),
        ["update.offered"] = ("갱신 제안됨", "offered"),
        ["update.downloading"] = ("내려받는 중", "downloading"),
        ["update.verified"] = ("검증됨, 전환 대기", "verified, waiting to switch"),
        ["update.activating"] = ("전환 중", "activating"),
        ["update.trial"] = ("새 버전 시험 중", "on trial"),
        ["update.confirmed"] = ("갱신 완료", "confirmed"),
        ["update.rolled-back"] = ("이전 버전으로 복귀", "rolled back"),
        ["update.refused"] = ("장치가 거부", "refused"),
        ["update.failed"] = ("갱신 실패", "failed"),
        ["update.cancelled"] = ("취소됨", "cancelled"),
        ["reason.bad_manifest"] = ("잘못된 매니페스트", "bad manifest"),
        ["reason.unknown_key"] = ("신뢰하지 않는 서명 키", "unknown signing key"),
        ["reason.bad_signature"] = ("서명 불일치", "bad signature"),
        ["reason.wrong_kind"] = ("다른 장치 종류용", "for another device kind"),
        ["reason.wrong_board"] = ("다른 보드용", "for another board"),
        ["reason.downgrade"] = ("하위 버전 거부", "downgrade refused"),
        ["reason.too_old"] = ("현재 버전이 너무 오래됨", "running version too old"),
        ["reason.busy"] = ("다른 갱신 진행 중", "another update in progress"),
        ["reason.no_space"] = ("저장 공간 부족", "no space"),
        ["reason.alarm_pending"] = ("경보 처리 중이라 보류", "held: an alarm is pending"),
        ["reason.bad_chunk"] = ("손상된 조각", "corrupted chunk"),
        ["reason.image_mismatch"] = ("이미지 해시 불일치", "image hash mismatch"),
        ["reason.flash_error"] = ("플래시 쓰기 오류", "flash error"),
        ["reason.crashed"] = ("새 버전이 시작 중 멈춤", "new image crashed"),
        ["reason.trial_timeout"] = ("새 버전이 접속하지 못함", "new image never connected"),
        ["reason.bad_slot"] = ("슬롯 손상", "bad slot"),
        ["reason.expired"] = ("제안 만료", "offer expired"),
        ["reason.unreachable"] = ("BLE 전용 — 현장 방문 갱신", "BLE only: updated at an installer visit"),
    };

    public bool English { get; } = english;

    /// <summary>From <c>--lang</c> when given, else from LANG / LC_ALL: English only when asked for.</summary>
    public static Texts Choose(string? lang)
    {
        string? chosen = lang ?? Environment.GetEnvironmentVariable("LC_ALL") ?? Environment.GetEnvironmentVariable("LANG");
        return new Texts(chosen is not null && chosen.StartsWith("en", StringComparison.OrdinalIgnoreCase));
    }

    public string this[string key] => Table.TryGetValue(key, out var pair) ? (English ? pair.En : pair.Ko) : key;

    /// <summary>The text of an API error code, or the gateway's own message for codes without one.</summary>
    public string Error(string code, string message) => Table.ContainsKey("code." + code) ? this["code." + code] : message;

    /// <summary>An update state and its reason, Korean first with the protocol's names in brackets (or English alone).</summary>
    public string UpdateState(string state, string? reason)
    {
        string text = Table.ContainsKey("update." + state) ? this["update." + state] : state;
        string? why = string.IsNullOrEmpty(reason) ? null : Table.ContainsKey("reason." + reason) ? this["reason." + reason] : reason;
        string names = string.IsNullOrEmpty(reason) ? state : state + ", " + reason;
        return English ? text + (why is null ? "" : ": " + why) : text + (why is null ? "" : ": " + why) + " (" + names + ")";
    }

    public string State(string state) => Table.ContainsKey("state." + state) ? this["state." + state] + (English ? "" : " (" + state + ")") : state;
}
