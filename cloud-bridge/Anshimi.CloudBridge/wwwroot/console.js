// Control-center console: sign-in, live alarm queue (SSE), alarm detail with timeline, snapshot and nearby CCTV, district map,
// device health (for central staff with the alarms an alarm receiver has not taken), walk-test alarms, device firmware and (central staff) rollouts, the audit log, the retention report and opening a closed alarm's case. Plain JS, no build step, no external resources.
(() => {
  "use strict";

  const text = {
    ko: {
      title: "안심이 관제", subtitle: "자치구 CCTV 관제센터 · 총괄관제센터",
      openCount: "미확인", ackCount: "처리 중",
      connecting: "연결 중…", live: "실시간 연결됨", down: "연결 끊김 — 재연결 중",
      soundEnable: "소리 켜기", soundDisable: "소리 끄기",
      signInTitle: "관제요원 로그인", userName: "아이디", password: "비밀번호", signIn: "로그인", signOut: "로그아웃",
      signInFailed: "아이디 또는 비밀번호가 올바르지 않습니다.", throttled: "이 주소에서 로그인 실패가 많습니다. 잠시 후 다시 시도하세요.",
      sessionExpired: "세션이 만료되었습니다. 다시 로그인하세요.", central: "총괄관제센터",
      tabQueue: "경보", tabMap: "지도", tabHealth: "장치 상태", tabWalkTest: "시험 경보", tabAudit: "감사 기록",
      tabFirmware: "펌웨어", fwRollouts: "배포", fwRollout: "배포", fwVersion: "버전", fwRolloutState: "상태", fwStage: "단계",
      fwStages: "시범 · 자치구 · 전체 (확정/실패/대기)", fwDevices: "장치 펌웨어", fwGateway: "게이트웨이", fwUpdate: "업데이트 상태",
      fwResume: "재개", fwCancel: "취소", fwInstallerVisit: "설치기사 방문 업데이트 (배터리 비상벨)",
      fwState: { unknown: "미보고", idle: "대기", offered: "제안됨", downloading: "내려받는 중", verified: "검증됨", activating: "전환 중",
        trial: "시험 구동", confirmed: "확정", "rolled-back": "이전 버전 복귀", refused: "거부", failed: "실패", cancelled: "취소됨",
        pending: "응답 대기", "timed-out": "시간 초과" },
      fwRolloutStates: { running: "진행 중", halted: "자동 중단", cancelled: "취소됨", completed: "완료" },
      fwStageNames: { canary: "시범", district: "자치구", all: "전체" },
      colTime: "시각", colDistrict: "자치구", colEvent: "이벤트", colDevice: "장치",
      colAddress: "주소", colState: "상태", colActions: "조치",
      colActor: "사용자", colAction: "행위", colTarget: "대상", colOutcome: "결과", colDetail: "내용",
      empty: "접수된 경보가 없습니다.", test: "시험", timeline: "처리 기록",
      ack: "확인", dispatch: "출동 지령", resolve: "종결",
      state: { open: "미확인", acknowledged: "확인됨", dispatched: "출동 중", resolved: "종결", test: "시험" },
      stage: {
        raised: "발생 (게이트웨이 수신)", received: "관제 서버 접수", acknowledged: "관제요원 확인", dispatched: "출동 지령",
        resolved: "종결", "acknowledged-relayed": "확인 신호 장치 전달", "resolved-relayed": "종결 신호 장치 전달",
        "conflicting-claim": "다른 신고와 불일치 (보안 점검)",
      },
      snapshot: "도어벨 사진", snapshotView: "사진 보기",
      snapshotRule: "경보가 처리 중인 동안에만 볼 수 있으며 모든 열람은 감사 기록에 남습니다.",
      snapshotNone: "이 경보에는 사진이 없습니다.", snapshotClosed: "종결된 경보의 사진은 볼 수 없습니다.",
      siteWithheld: "주소 비공개 (종결된 경보)", caseOpen: "사건 열람 (사유 입력)", caseReason: "열람 사유",
      caseNote: "종결된 경보의 주소와 사진은 총괄관제센터가 사유를 남기고 사건을 열람할 때만 보이며, 열람은 감사 기록에 남습니다.",
      caseOpened: "사건 열람 중 — 감사 기록에 남았습니다.",
      retentionTitle: "보존 기간 보고", retentionTable: "대상", retentionPeriod: "보존 기간", retentionPurged: "삭제 건수",
      retentionLastPass: "마지막 삭제 실행", retentionNone: "아직 삭제된 자료가 없습니다.", days: "일",
      legendAlarm: "미처리 경보", legendDevice: "장치", legendEscort: "귀가 동행", legendLight: "스마트보안등",
      legendLightEscort: "동행 점등", legendLightEmergency: "비상 점멸", legendLightFault: "램프 고장",
      legendLightFailed: "제어 실패", legendLightIdle: "평상",
      mapWholeCity: "서울 전체 보기", mapZoomHint: "자치구를 누르면 확대됩니다. 평상 상태의 보안등은 확대하면 보입니다.",
      healthSilent: "응답 없는 장치", healthLowBattery: "배터리 부족", healthTamper: "탬퍼 (훼손 감지)",
      healthLampFault: "램프 고장", healthTroubles: "장애 이벤트", healthGatewaysDown: "게이트웨이 중단", healthNone: "없음",
      healthUpstreamWaiting: "경보 수신기 전달 대기", upstreamHeld: "수신 불가 — 조치 필요 (재시작 시 재전송)", upstreamRetrying: "재시도 중",
      lastSeen: "마지막 수신",
      walkTestNote: "설치 점검용 시험 경보입니다. 실제 경보 목록과 경보 수신기에는 나타나지 않습니다.",
      auditVerify: "무결성 검증", auditIntact: "정상: {n}건 검증", auditBroken: "변조 감지: {id}번 기록 ({problem})",
      failed: "요청 실패", offline: "서버에 연결할 수 없습니다.",
      alreadyResolved: "이미 종결된 경보입니다 (다른 관제요원이 처리했습니다).", alarmGone: "경보를 찾을 수 없습니다.",
      neighbourhoodFilter: "행정동", neighbourhoodAll: "전체",
      cameras: "주변 안심이 CCTV", camerasNone: "반경 안에 연계 CCTV가 없습니다.", camerasOnMap: "지도에서 보기",
      cameraCount: "{n}대", radius: "반경 {m} m", legendCamera: "선택한 경보 주변 CCTV",
      attribution: "자료: 자치구 경계 southkorea/seoul-maps (JUSO 2015, Apache License 2.0) · 행정동 경계 통계청 SGIS (공공누리 제1유형), vuski/admdongkor 편집 (CC BY 4.0, 2021년 4월 기준) · 안심이 CCTV 연계 현황 서울 열린데이터광장 (OA-20923, statgarten/datatoys 재배포, CC0) · 가로등 위치 정보 서울 열린데이터광장 (OA-22205) · 광진구 보안등정보 서울특별시 광진구청 (2025-12-23)",
    },
    en: {
      title: "Anshimi control center", subtitle: "District CCTV control centers · Central control center",
      openCount: "open", ackCount: "in progress",
      connecting: "Connecting…", live: "Live", down: "Disconnected — reconnecting",
      soundEnable: "Enable sound", soundDisable: "Mute sound",
      signInTitle: "Operator sign-in", userName: "User name", password: "Password", signIn: "Sign in", signOut: "Sign out",
      signInFailed: "Wrong user name or password.", throttled: "Too many failed sign-ins from this address. Try again shortly.",
      sessionExpired: "Your session has ended. Please sign in again.", central: "Central control center",
      tabQueue: "Alarms", tabMap: "Map", tabHealth: "Device health", tabWalkTest: "Walk tests", tabAudit: "Audit log",
      tabFirmware: "Firmware", fwRollouts: "Rollouts", fwRollout: "Rollout", fwVersion: "Version", fwRolloutState: "State", fwStage: "Stage",
      fwStages: "Canary · district · all (confirmed/failed/open)", fwDevices: "Device firmware", fwGateway: "Gateway", fwUpdate: "Update state",
      fwResume: "Resume", fwCancel: "Cancel", fwInstallerVisit: "Updated at an installer visit (battery bell)",
      fwState: { unknown: "Not reported", idle: "Idle", offered: "Offered", downloading: "Downloading", verified: "Verified", activating: "Activating",
        trial: "On trial", confirmed: "Confirmed", "rolled-back": "Rolled back", refused: "Refused", failed: "Failed", cancelled: "Cancelled",
        pending: "Awaiting answer", "timed-out": "Timed out" },
      fwRolloutStates: { running: "Running", halted: "Halted", cancelled: "Cancelled", completed: "Completed" },
      fwStageNames: { canary: "Canary", district: "District", all: "All" },
      colTime: "Time", colDistrict: "District", colEvent: "Event", colDevice: "Device",
      colAddress: "Address", colState: "State", colActions: "Actions",
      colActor: "User", colAction: "Action", colTarget: "Target", colOutcome: "Outcome", colDetail: "Detail",
      empty: "No alarms.", test: "Test", timeline: "Timeline",
      ack: "Acknowledge", dispatch: "Dispatch", resolve: "Resolve",
      state: { open: "Open", acknowledged: "Acknowledged", dispatched: "Dispatched", resolved: "Resolved", test: "Test" },
      stage: {
        raised: "Raised (gateway)", received: "Received by control center", acknowledged: "Acknowledged by operator",
        dispatched: "Dispatched", resolved: "Resolved", "acknowledged-relayed": "Acknowledgement reached device",
        "resolved-relayed": "Resolution reached device",
        "conflicting-claim": "Conflicting claim by a gateway (security check)",
      },
      snapshot: "Doorbell snapshot", snapshotView: "View snapshot",
      snapshotRule: "Visible only while the alarm is open; every view is written to the audit log.",
      snapshotNone: "This alarm has no snapshot.", snapshotClosed: "Snapshots of resolved alarms cannot be viewed.",
      siteWithheld: "Address withheld (resolved alarm)", caseOpen: "Open case (enter reason)", caseReason: "Reason",
      caseNote: "A resolved alarm's address and picture are shown only to central staff who open the case with a reason; the opening is audited.",
      caseOpened: "Case open — recorded in the audit log.",
      retentionTitle: "Retention report", retentionTable: "Data", retentionPeriod: "Kept for", retentionPurged: "Removed",
      retentionLastPass: "Last purge run", retentionNone: "Nothing purged yet.", days: "days",
      legendAlarm: "Open alarm", legendDevice: "Device", legendEscort: "Escort", legendLight: "Smart streetlight",
      legendLightEscort: "Escort", legendLightEmergency: "Emergency blink", legendLightFault: "Lamp fault",
      legendLightFailed: "Command failed", legendLightIdle: "Normal",
      mapWholeCity: "Whole city", mapZoomHint: "Click a district to zoom in; streetlights in their normal state show when zoomed in.",
      healthSilent: "Silent devices", healthLowBattery: "Low battery", healthTamper: "Tamper",
      healthLampFault: "Lamp faults", healthTroubles: "Trouble events", healthGatewaysDown: "Gateways down", healthNone: "None",
      healthUpstreamWaiting: "Alarms waiting for an alarm receiver", upstreamHeld: "not taken — needs a person (sent again on restart)", upstreamRetrying: "retrying",
      lastSeen: "last seen",
      walkTestNote: "Walk-test alarms from installers. They never appear in the live queue or at alarm receivers.",
      auditVerify: "Verify chain", auditIntact: "Intact: {n} rows verified", auditBroken: "Tampering detected at row {id} ({problem})",
      failed: "Request failed", offline: "Cannot reach the server.",
      alreadyResolved: "This alarm is already resolved (another operator handled it).", alarmGone: "Alarm not found.",
      neighbourhoodFilter: "Neighbourhood", neighbourhoodAll: "All",
      cameras: "Nearby Anshimi CCTV", camerasNone: "No linked CCTV within the radius.", camerasOnMap: "Show on map",
      cameraCount: "{n} cam.", radius: "within {m} m", legendCamera: "CCTV around the selected alarm",
      attribution: "Data: district boundaries southkorea/seoul-maps (JUSO 2015, Apache License 2.0) · neighbourhood (행정동) boundaries Statistics Korea SGIS (KOGL Type 1) as compiled by vuski/admdongkor (CC BY 4.0, April 2021) · Anshimi CCTV points Seoul Open Data Plaza (서울 열린데이터광장, OA-20923, redistributed by statgarten/datatoys, CC0) · streetlight positions Seoul Open Data Plaza (서울 열린데이터광장, OA-22205) · Gwangjin-gu security lights (보안등) Gwangjin-gu office (서울특별시 광진구청, 2025-12-23)",
    },
  };
  const stateOrder = { open: 0, acknowledged: 1, dispatched: 2, resolved: 3, test: 4 };
  const actions = [
    { name: "ack", path: "ack", until: 1 },
    { name: "dispatch", path: "dispatch", until: 2 },
    { name: "resolve", path: "resolve", until: 3 },
  ];
  const svgNs = "http://www.w3.org/2000/svg";
  // A streetlight's state on the map (server's LightMapLayer) and its legend text.
  const lightStates = {
    escort: "legendLightEscort", emergency: "legendLightEmergency", fault: "legendLightFault",
    failed: "legendLightFailed", idle: "legendLightIdle",
  };

  const alarms = new Map();
  // Closed alarms whose case this central operator opened (사건 열람): the server's view with the site, kept only while shown.
  const cases = new Map();
  const walkTests = new Map();
  const fresh = new Set();
  let lang = localStorage.getItem("anshimi.lang") === "en" ? "en" : "ko";
  let session = null;
  let soundOn = false;
  let audio = null;
  let loadedOnce = false;
  // Per list (alarms, walk tests), one entry per request on its way: what the stream delivered meanwhile.
  const streamedDuringLoad = new Map([[alarms, new Set()], [walkTests, new Set()]]);
  let connection = "connecting";
  let source = null;
  let selectedKey = null;
  let snapshotUrl = null;
  let tab = "queue";
  let mapOutline = null;
  // The map's current view as a viewBox [x, y, width, height]; null shows the whole city.
  let mapView = null;
  // The nearest cameras of each alarm opened in the detail, by key (the list and the stream carry none).
  const cameras = new Map();
  let cameraRadius = null;
  let neighbourhood = "";
  // Marker requests overlap (a zoom while the periodic refresh is on its way): only the newest may draw.
  let markerRequest = 0;

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
  const list = $("[data-testid=alarm-list]");
  const rowTemplate = $("#alarm-row");
  const t = (key) => text[lang][key];
  const other = () => (lang === "ko" ? "en" : "ko");
  const names = (ko, en) => (lang === "ko" ? [ko, en] : [en, ko]);

  function formatTime(iso, withDate) {
    const options = { timeZone: "Asia/Seoul", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
    if (withDate) Object.assign(options, { month: "2-digit", day: "2-digit" });
    return new Intl.DateTimeFormat(lang === "ko" ? "ko-KR" : "en-GB", options).format(new Date(iso));
  }

  // Every call carries the console header (the server's CSRF guard); a 401 means the session ended.
  async function api(path, options = {}) {
    const response = await fetch(path, {
      ...options,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Anshimi-Request": "console", ...(options.headers || {}) },
    });
    if (response.status === 401 && session) signedOut(t("sessionExpired"));
    return response;
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    $$("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $$("[data-i18n-alt]").forEach((el) => { el.textContent = text[other()][el.dataset.i18nAlt]; });
    $$("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === lang)));
    document.title = `${text.ko.title} · ${text.en.title}`;
    showConnection(connection);
    showSound();
    showUser();
    render();
    renderWalkTests();
    if (tab === "map") renderMap();
    if (tab === "health") loadHealth();
  }

  function showConnection(state) {
    connection = state;
    const el = $("[data-testid=connection-status]");
    el.dataset.state = state;
    el.querySelector(".connection-text").textContent = t(state === "live" ? "live" : state === "down" ? "down" : "connecting");
  }

  function showSound() {
    const button = $("[data-testid=sound-toggle]");
    button.setAttribute("aria-pressed", String(soundOn));
    button.querySelector(".sound-label").textContent = `${t(soundOn ? "soundDisable" : "soundEnable")} / ${text[other()][soundOn ? "soundDisable" : "soundEnable"]}`;
  }

  function showUser() {
    if (!session) return;
    const districts = session.central ? t("central") : session.districts.map((d) => (lang === "ko" ? d.nameKo : d.nameEn)).join(", ");
    $("[data-testid=signed-in-user]").textContent = `${session.displayName} · ${districts}`;
  }

  function showError(message) {
    const banner = $("[data-testid=error-banner]");
    banner.textContent = message;
    banner.hidden = !message;
  }

  // Three short tones (Web Audio); browsers only allow audio after a click, hence the "enable sound" control.
  function beep() {
    if (!soundOn || !audio) return;
    const start = audio.currentTime;
    [[880, 0], [660, 0.18], [880, 0.36]].forEach(([frequency, offset]) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.12, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
      osc.connect(gain).connect(audio.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.17);
    });
    document.body.dataset.lastBeep = String(Date.now());
  }

  // A closed alarm's site is null from the server (MOU rule) unless its case was opened here.
  const siteOf = (alarm) => (alarm.site.address == null && cases.get(alarm.key)?.site) || alarm.site;
  const placeText = (site) => (site.address == null ? t("siteWithheld") : site.address);
  const hasSite = (site) => site.lat != null && site.lon != null;

  function fillPair(cell, pair) {
    cell.querySelector(".primary").textContent = pair[0];
    cell.querySelector(".secondary").textContent = pair[1];
  }

  function actionButtons(alarm, container) {
    container.replaceChildren(...actions.map((action) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `btn btn-${action.name}`;
      button.dataset.testid = `${action.name}-button`;
      button.innerHTML = '<span class="primary"></span><span class="secondary"></span>';
      button.querySelector(".primary").textContent = t(action.name);
      button.querySelector(".secondary").textContent = text[other()][action.name];
      button.disabled = (stateOrder[alarm.state] ?? 3) >= action.until;
      button.addEventListener("click", (e) => { e.stopPropagation(); act(alarm.key, action.path, button); });
      return button;
    }));
  }

  function buildRow(alarm) {
    const row = rowTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.key = alarm.key;
    row.dataset.state = alarm.state;
    if (fresh.has(alarm.key)) row.classList.add("is-new");
    if (alarm.key === selectedKey) row.classList.add("is-selected");

    const today = new Date().toDateString() === new Date(alarm.receivedAt).toDateString();
    const time = row.querySelector("[data-testid=alarm-time]");
    time.textContent = formatTime(alarm.receivedAt, !today);
    time.title = alarm.receivedAt;

    fillPair(row.querySelector("[data-testid=alarm-district]"), names(alarm.district.nameKo, alarm.district.nameEn));
    row.querySelector("[data-testid=alarm-neighbourhood]").textContent = alarm.neighbourhood ? alarm.neighbourhood.nameKo : "";
    const eventCell = row.querySelector("[data-testid=alarm-event]");
    fillPair(eventCell, names(alarm.event.nameKo, alarm.event.nameEn));
    const testTag = eventCell.querySelector(".tag-test");
    testTag.hidden = !alarm.test;
    testTag.textContent = t("test");
    row.querySelector("[data-testid=alarm-device]").textContent = alarm.deviceId;
    const site = siteOf(alarm);
    fillPair(row.querySelector("[data-testid=alarm-address]"), [placeText(site), hasSite(site) ? `${site.lat.toFixed(5)}, ${site.lon.toFixed(5)}` : ""]);

    const badge = row.querySelector("[data-testid=alarm-state]");
    badge.dataset.state = alarm.state;
    badge.textContent = t("state")[alarm.state] || alarm.state;
    actionButtons(alarm, row.querySelector("[data-testid=alarm-actions]"));
    row.addEventListener("click", () => select(alarm.key));
    return row;
  }

  function render() {
    const sorted = [...alarms.values()].filter((a) => !neighbourhood || a.neighbourhood?.code === neighbourhood).sort((a, b) =>
      (stateOrder[a.state] - stateOrder[b.state]) || (Date.parse(b.receivedAt) - Date.parse(a.receivedAt)));
    list.replaceChildren(...sorted.map(buildRow));
    $("[data-testid=empty-state]").hidden = sorted.length > 0;
    $("[data-testid=open-count]").textContent = sorted.filter((a) => a.state === "open").length;
    $("[data-testid=ack-count]").textContent = sorted.filter((a) => a.state === "acknowledged" || a.state === "dispatched").length;
    renderDetail();
    if (tab === "map") renderMarkers();
  }

  // Opening the detail is a view the server audits (one row per opening); the list's updates then keep it current.
  async function select(key) {
    if (selectedKey !== key) { clearSnapshot(""); cases.clear(); }
    selectedKey = key;
    render();
    const response = await api(`/api/alarms/${encodeURIComponent(key)}`).catch(() => null);
    if (!response?.ok || key !== selectedKey) return;
    const alarm = await response.json();
    const listed = alarms.get(key);
    if (listed && listed.timeline.length <= alarm.timeline.length) alarms.set(key, alarm);
    if (alarm.state === "resolved" && alarm.site.address != null) cases.set(key, alarm);
    // The server lists only the operator's districts' points, and none while the site is withheld.
    cameras.set(key, alarm.cameras || []);
    render();
  }

  function renderCameras(alarm, panel) {
    const nearby = cameras.get(alarm.key);
    const listEl = $("[data-testid=detail-cameras]", panel);
    $("[data-testid=detail-cameras-radius]", panel).textContent = cameraRadius ? t("radius").replace("{m}", cameraRadius) : "";
    listEl.replaceChildren(...(nearby || []).map((c) => {
      const item = document.createElement("li");
      item.dataset.testid = "detail-camera";
      const metres = document.createElement("span");
      metres.className = "metres";
      metres.textContent = `${c.metres} m`;
      const label = document.createElement("span");
      label.textContent = c.label;
      const count = document.createElement("span");
      count.className = "secondary";
      count.textContent = t("cameraCount").replace("{n}", c.cameras);
      item.append(metres, " ", label, " ", count);
      return item;
    }));
    $("[data-testid=detail-cameras-none]", panel).hidden = !nearby || nearby.length > 0;
    $("[data-testid=cameras-on-map]", panel).disabled = !nearby || nearby.length === 0;
  }

  // The alarm and its cameras fill the map: a box about three times the camera radius across.
  function showCamerasOnMap() {
    const alarm = selectedKey && alarms.get(selectedKey);
    if (!alarm) return;
    showTab("map");
    const focus = () => {
      const p = mapOutline.projection;
      const half = ((cameraRadius || 150) * 1.6) / 111320;
      const x = (alarm.site.lon - half / Math.cos((alarm.site.lat * Math.PI) / 180) - p.west) * p.kx;
      const y = (p.north - (alarm.site.lat + half)) * p.ky;
      const w = ((2 * half) / Math.cos((alarm.site.lat * Math.PI) / 180)) * p.kx;
      mapView = [x, y, w, 2 * half * p.ky];
      applyMapView();
      renderMarkers();
    };
    if (mapOutline) focus(); else setTimeout(function wait() { if (mapOutline) focus(); else setTimeout(wait, 50); }, 50);
  }

  function renderDetail() {
    const panel = $("[data-testid=alarm-detail]");
    const alarm = selectedKey && alarms.get(selectedKey);
    panel.hidden = !alarm;
    if (!alarm) return;
    panel.dataset.key = alarm.key;
    $("[data-testid=detail-event]", panel).textContent = names(alarm.event.nameKo, alarm.event.nameEn).join(" · ");
    const dong = alarm.neighbourhood ? ` ${alarm.neighbourhood.nameKo}` : "";
    $("[data-testid=detail-place]", panel).textContent =
      `${names(alarm.district.nameKo, alarm.district.nameEn)[0]}${dong} · ${placeText(siteOf(alarm))} · ${alarm.deviceId}`;
    renderCameras(alarm, panel);
    const badge = $("[data-testid=detail-state]", panel);
    badge.dataset.state = alarm.state;
    badge.textContent = t("state")[alarm.state] || alarm.state;
    $("[data-testid=detail-key]", panel).textContent = alarm.key;
    actionButtons(alarm, $("[data-testid=detail-actions]", panel));
    $("[data-testid=detail-timeline]", panel).replaceChildren(...alarm.timeline.map((entry) => {
      const item = document.createElement("li");
      item.dataset.testid = "timeline-entry";
      item.dataset.stage = entry.stage;
      const when = document.createElement("time");
      when.textContent = formatTime(entry.at, false);
      when.title = entry.at;
      const what = document.createElement("span");
      what.className = "stage";
      what.textContent = t("stage")[entry.stage] || entry.stage;
      item.append(when, " ", what);
      if (entry.actor) {
        const who = document.createElement("span");
        who.className = "actor";
        who.dataset.testid = "timeline-actor";
        who.textContent = entry.actor;
        item.append(" · ", who);
      }
      return item;
    }));
    const closed = alarm.state === "resolved" || alarm.test;
    const caseOpen = cases.has(alarm.key);
    $("[data-testid=snapshot-button]", panel).disabled = closed && !caseOpen;
    // The image leaves the screen the moment its alarm is resolved, unless central staff opened the case.
    if (closed && !caseOpen && snapshotUrl) clearSnapshot(t("snapshotClosed"));
    const caseForm = $("[data-testid=case-form]", panel);
    caseForm.hidden = !(session?.central && alarm.state === "resolved" && !caseOpen);
    $("[data-testid=case-status]", panel).hidden = !caseOpen;
  }

  function clearSnapshot(message) {
    const image = $("[data-testid=snapshot-image]");
    if (snapshotUrl) URL.revokeObjectURL(snapshotUrl);
    snapshotUrl = null;
    image.removeAttribute("src");
    image.hidden = true;
    const status = $("[data-testid=snapshot-status]");
    status.textContent = message;
    status.hidden = !message;
  }

  async function viewSnapshot() {
    const key = selectedKey;
    if (!key) return;
    clearSnapshot("");
    try {
      const response = await api(`/api/alarms/${encodeURIComponent(key)}/snapshot`);
      if (key !== selectedKey) return;
      if (!response.ok) {
        clearSnapshot(response.status === 410 ? t("snapshotClosed") : t("snapshotNone"));
        return;
      }
      snapshotUrl = URL.createObjectURL(await response.blob());
      const image = $("[data-testid=snapshot-image]");
      image.src = snapshotUrl;
      image.alt = `${t("snapshot")} ${key}`;
      image.hidden = false;
    } catch {
      showError(t("offline"));
    }
  }

  async function openCase(e) {
    e.preventDefault();
    const form = e.currentTarget;
    const key = selectedKey;
    const reason = form.reason.value;
    const response = await api(`/api/alarms/${encodeURIComponent(key)}/case`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason }),
    }).catch(() => null);
    if (!response) { showError(t("offline")); return; }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) { showError(`${t("failed")}: ${problemText(response.status, body)}`); return; }
    form.reason.value = "";
    showError("");
    if (key === selectedKey) cases.set(key, body);
    render();
  }

  function markFresh(key) {
    fresh.add(key);
    setTimeout(() => { fresh.delete(key); list.querySelector(`tr[data-key="${CSS.escape(key)}"]`)?.classList.remove("is-new"); }, 16000);
  }

  function keep(target, alarm) {
    streamedDuringLoad.get(target).forEach((streamed) => streamed.set(alarm.key, alarm));
    target.set(alarm.key, alarm);
  }

  // Replaces a list with the server's, keeping what the stream delivered meanwhile: the server may have
  // read its list before that. A timeline only grows, so of two copies the longer one is the newer.
  async function replaceFromServer(target, url, beforeReplacing) {
    const streamed = new Map();
    streamedDuringLoad.get(target).add(streamed);
    try {
      const response = await api(url);
      if (!response.ok) throw new Error(`${response.status}`);
      const incoming = await response.json();
      beforeReplacing?.(incoming);
      target.clear();
      incoming.forEach((a) => target.set(a.key, a));
      for (const [key, alarm] of streamed) {
        const listed = target.get(key);
        if (!listed || listed.timeline.length < alarm.timeline.length) target.set(key, alarm);
      }
    } finally {
      streamedDuringLoad.get(target).delete(streamed);
    }
  }

  function upsert(alarm, isNew) {
    keep(alarms, alarm);
    if (isNew && alarm.state === "open") {
      markFresh(alarm.key);
      beep();
    }
    render();
  }

  async function load() {
    try {
      let arrived = false;
      const inDong = neighbourhood ? `&neighbourhood=${encodeURIComponent(neighbourhood)}` : "";
      await replaceFromServer(alarms, `/api/alarms?limit=500${inDong}`, (incoming) => {
        for (const alarm of incoming) {
          // Alarms that came in while the stream was down are new to this operator too.
          if (loadedOnce && !alarms.has(alarm.key) && alarm.state === "open") { markFresh(alarm.key); arrived = true; }
        }
      });
      loadedOnce = true;
      if (arrived) beep();
      render();
      showError("");
    } catch {
      if (session) showError(t("offline"));
    }
  }

  // The answers an operator meets in normal work in their language; anything else as the server put it.
  function problemText(status, body) {
    if (status === 409 && body.state === "resolved") return t("alreadyResolved");
    if (status === 404) return t("alarmGone");
    return `${body.title || status}${body.detail ? ` — ${body.detail}` : ""}`;
  }

  async function act(key, action, button) {
    button.disabled = true;
    try {
      const response = await api(`/api/alarms/${encodeURIComponent(key)}/${action}`, { method: "POST" });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        // Reloaded first: a successful reload clears the banner, and this refusal must stay on it.
        await load();
        if (response.status !== 401) showError(`${t("failed")}: ${problemText(response.status, body)}`);
        return;
      }
      fresh.delete(key);
      showError("");
      upsert(body, false);
    } catch {
      showError(t("offline"));
      button.disabled = false;
    }
  }

  function connect() {
    if (source) source.close();
    // Live only once this session's own stream is ready, never still from a previous one.
    showConnection("connecting");
    source = new EventSource("/api/alarms/stream");
    source.addEventListener("ready", () => { showConnection("live"); load(); loadWalkTests(); });
    source.addEventListener("alarm", (e) => upsert(JSON.parse(e.data), true));
    source.addEventListener("alarm-updated", (e) => upsert(JSON.parse(e.data), false));
    source.addEventListener("walk-test", (e) => { keep(walkTests, JSON.parse(e.data)); renderWalkTests(); });
    source.onerror = () => {
      showConnection("down");
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        source = null;
        // A closed stream may mean the session ended: ask before reconnecting.
        setTimeout(async () => {
          if (!session) return;
          if ((await api("/api/session")).status === 200) connect(); else signedOut(t("sessionExpired"));
        }, 3000);
      }
    };
  }

  // Walk tests (시험 경보)
  async function loadWalkTests() {
    try {
      await replaceFromServer(walkTests, "/api/alarms?view=walk-test&limit=200");
      renderWalkTests();
    } catch {
      if (session) showError(t("offline"));
    }
  }

  function renderWalkTests() {
    const rows = [...walkTests.values()].sort((a, b) => Date.parse(b.receivedAt) - Date.parse(a.receivedAt)).map((a) => {
      const row = document.createElement("tr");
      row.dataset.testid = "walktest-row";
      row.dataset.key = a.key;
      [formatTime(a.receivedAt, true), names(a.district.nameKo, a.district.nameEn)[0], names(a.event.nameKo, a.event.nameEn)[0], a.deviceId, placeText(a.site)]
        .forEach((value) => { const cell = document.createElement("td"); cell.textContent = value; row.append(cell); });
      return row;
    });
    $("[data-testid=walktest-list]").replaceChildren(...rows);
  }

  // Map (지도): district outlines from the server, projected there; markers use the same projection.
  async function renderMap() {
    const svg = $("[data-testid=district-map]");
    if (!mapOutline) {
      const response = await api("/api/map/districts");
      if (!response.ok) return;
      mapOutline = await response.json();
    }
    const mine = new Set(session.central ? mapOutline.districts.map((d) => d.code) : session.districts.map((d) => d.code));
    const shapes = document.createElementNS(svgNs, "g");
    const labels = document.createElementNS(svgNs, "g");
    for (const d of mapOutline.districts) {
      const path = document.createElementNS(svgNs, "path");
      path.setAttribute("d", d.path);
      path.setAttribute("class", mine.has(d.code) ? "district mine" : "district");
      path.dataset.code = d.code;
      path.dataset.testid = "map-district";
      path.addEventListener("click", () => zoomTo([path]));
      const title = document.createElementNS(svgNs, "title");
      title.textContent = `${d.nameKo} ${d.nameEn}`;
      path.append(title);
      shapes.append(path);
      const label = document.createElementNS(svgNs, "text");
      label.setAttribute("x", d.labelX);
      label.setAttribute("y", d.labelY);
      label.setAttribute("class", "district-label");
      label.textContent = lang === "ko" ? d.nameKo : d.nameEn;
      labels.append(label);
    }
    const markers = document.createElementNS(svgNs, "g");
    markers.setAttribute("class", "markers");
    svg.replaceChildren(shapes, labels, markers);
    // A district operator starts on their own districts; central staff on the whole city.
    if (!mapView && !session.central) zoomTo([...shapes.children].filter((path) => mine.has(path.dataset.code)), false);
    applyMapView();
    await renderMarkers();
  }

  const wholeCity = () => mapOutline.viewBox.split(/[\s,]+/).map(Number);

  // Markers and labels keep their size on screen at any zoom: sizes are multiplied by this.
  const mapScale = () => (mapView || wholeCity())[2] / wholeCity()[2];

  // A city holds tens of thousands of lights: the whole-city view fetches only those doing something (escort,
  // emergency, fault, failed command); a zoomed view fetches every marker inside its box.
  function layerQuery(p) {
    if (!mapView) return "idle=false";
    const [x, y, w, h] = mapView;
    const box = [p.west + x / p.kx, p.north - (y + h) / p.ky, p.west + (x + w) / p.kx, p.north - y / p.ky];
    return `bbox=${box.map((v) => v.toFixed(6)).join(",")}`;
  }

  function applyMapView() {
    const svg = $("[data-testid=district-map]");
    svg.setAttribute("viewBox", (mapView || wholeCity()).map((v) => v.toFixed(1)).join(" "));
    svg.style.setProperty("--map-scale", mapScale());
    $("[data-testid=map-whole-city]").hidden = !mapView;
  }

  function zoomTo(paths, redraw = true) {
    if (paths.length === 0) return;
    const boxes = paths.map((path) => path.getBBox());
    const x0 = Math.min(...boxes.map((b) => b.x)), y0 = Math.min(...boxes.map((b) => b.y));
    const x1 = Math.max(...boxes.map((b) => b.x + b.width)), y1 = Math.max(...boxes.map((b) => b.y + b.height));
    const pad = 0.08 * Math.max(x1 - x0, y1 - y0);
    mapView = [x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad];
    if (redraw) { applyMapView(); renderMarkers(); }
  }

  async function renderMarkers() {
    const group = $("[data-testid=district-map] .markers");
    if (!group || !mapOutline) return;
    const request = ++markerRequest;
    const p = mapOutline.projection;
    const radius = { "marker-alarm": 9, "marker-lights": 3, "marker-camera": 6 };
    const scale = mapScale();
    const dot = (lat, lon, cls, id, title, state) => {
      const c = document.createElementNS(svgNs, "circle");
      c.setAttribute("cx", ((lon - p.west) * p.kx).toFixed(1));
      c.setAttribute("cy", ((p.north - lat) * p.ky).toFixed(1));
      c.setAttribute("r", ((radius[cls] || 5) * scale).toFixed(2));
      c.setAttribute("class", cls);
      c.dataset.testid = cls;
      c.dataset.id = id;
      if (state) c.dataset.state = state;
      const tip = document.createElementNS(svgNs, "title");
      tip.textContent = title;
      c.append(tip);
      return c;
    };
    const stateName = (layer, state) => {
      const key = layer === "lights" ? lightStates[state] : layer === "escorts" ? "legendEscort" : null;
      return key ? names(text.ko[key], text.en[key]).join(" / ") : state;
    };
    const layerDots = (layer) => layer.markers.map((m) =>
      dot(m.lat, m.lon, `marker-${layer.layer}`, m.id, `${m.id} ${stateName(layer.layer, m.state)}`, m.state));
    const [devices, layers] = await Promise.all([
      api("/api/devices").then((r) => (r.ok ? r.json() : [])),
      api(`/api/map/layers?${layerQuery(p)}`).then((r) => (r.ok ? r.json() : [])),
    ]);
    if (request !== markerRequest) return;
    // Later children paint on top: the many small lights first, open alarms last.
    const items = layers.filter((l) => l.layer === "lights").flatMap(layerDots);
    // Only devices with an open alarm come with their site; the others are listed by district and box only.
    devices.filter((d) => hasSite(d.site)).forEach((d) => items.push(dot(d.site.lat, d.site.lon, "marker-device", d.deviceId, `${d.deviceId} ${d.site.address}`)));
    items.push(...layers.filter((l) => l.layer !== "lights").flatMap(layerDots));
    const selected = selectedKey && alarms.get(selectedKey);
    if (selected && hasSite(selected.site) && cameras.has(selectedKey) && cameraRadius) {
      // The search radius as a ring around the alarm (degrees of latitude to map units).
      const ring = dot(selected.site.lat, selected.site.lon, "camera-radius", selectedKey, t("radius").replace("{m}", cameraRadius));
      ring.setAttribute("r", ((cameraRadius / 111320) * p.ky).toFixed(2));
      items.unshift(ring);
    }
    (cameras.get(selectedKey) || []).forEach((c, i) =>
      items.push(dot(c.lat, c.lon, "marker-camera", `${selectedKey}/${i}`, `CCTV ${c.metres} m · ${c.label} · ${t("cameraCount").replace("{n}", c.cameras)}`)));
    [...alarms.values()].filter((a) => a.state !== "resolved" && hasSite(a.site)).forEach((a) =>
      items.push(dot(a.site.lat, a.site.lon, "marker-alarm", a.key, `${names(a.event.nameKo, a.event.nameEn)[0]} ${a.site.address}`)));
    // A fragment, not replaceChildren(...items): tens of thousands of lights would overflow the argument list.
    const fragment = document.createDocumentFragment();
    items.forEach((item) => fragment.append(item));
    group.replaceChildren(fragment);
  }

  // Device health (장치 상태)
  async function loadHealth() {
    const response = await api("/api/health");
    if (!response.ok) return;
    const health = await response.json();
    // Central staff only (403 for district operators): alarms an upstream has not taken yet, with its reason.
    const upstreams = session?.central ? await api("/api/upstreams").then((r) => (r.ok ? r.json() : [])).catch(() => []) : [];
    const waiting = upstreams.flatMap((u) => u.waiting.map((w) => ({ ...w, upstream: u.name })));
    const section = (key, testid, items, describe) => {
      const box = document.createElement("section");
      box.dataset.testid = testid;
      const h = document.createElement("h3");
      h.textContent = `${t(key)} (${items.length})`;
      const ul = document.createElement("ul");
      if (items.length === 0) { const li = document.createElement("li"); li.className = "secondary"; li.textContent = t("healthNone"); ul.append(li); }
      items.forEach((item) => { const li = document.createElement("li"); li.dataset.testid = "health-item"; li.textContent = describe(item); ul.append(li); });
      box.append(h, ul);
      return box;
    };
    const device = (d) => `${d.deviceId} · ${names(d.district.nameKo, d.district.nameEn)[0]}${d.neighbourhood ? ` ${d.neighbourhood.nameKo}` : ""} · ${d.gatewayId}` + (d.site.address != null ? ` · ${d.site.address}` : "") +
      (d.health.batteryPercent != null ? ` · ${d.health.batteryPercent}%` : "") + (d.lastSeen ? ` · ${t("lastSeen")} ${formatTime(d.lastSeen, true)}` : "");
    $("[data-testid=health-panel]").replaceChildren(
      section("healthSilent", "health-silent", health.silent, device),
      section("healthLowBattery", "health-low-battery", health.lowBattery, device),
      section("healthTamper", "health-tamper", health.tamper, device),
      section("healthLampFault", "health-lamp-fault", health.lampFaults, device),
      section("healthTroubles", "health-troubles", health.troubles, (x) =>
        `${formatTime(x.detectedAt, true)} · ${names(x.event.nameKo, x.event.nameEn)[0]} · ${x.deviceId} · ${names(x.district.nameKo, x.district.nameEn)[0]} · ${x.gatewayId}${x.address != null ? ` · ${x.address}` : ""}`),
      section("healthGatewaysDown", "health-gateways-down", health.gatewaysDown, (g) => `${g.gatewayId} · ${t("lastSeen")} ${formatTime(g.lastSeenAt, true)}`),
      ...(session?.central ? [section("healthUpstreamWaiting", "health-upstream-waiting", waiting, (w) =>
        `${w.alarmKey} · ${w.upstream} · ${t(w.held ? "upstreamHeld" : "upstreamRetrying")} · ${w.reason ?? ""}`)] : []));
  }

  // Firmware (펌웨어): each device's version and update state; for central staff the rollouts, resumable and cancellable.
  const both = (ko, en) => (lang === "ko" ? `${ko} ${en}` : `${en} ${ko}`);
  const stateName = (group, key) => both(text.ko[group][key] ?? key, text.en[group][key] ?? key);

  async function loadFirmware() {
    const devices = await api("/api/firmware/devices");
    if (devices.ok) {
      $("[data-testid=firmware-list]").replaceChildren(...(await devices.json()).map((d) => {
        const row = document.createElement("tr");
        row.dataset.testid = "firmware-row";
        row.dataset.device = d.deviceId;
        row.dataset.state = d.state;
        const progress = d.state === "downloading" ? ` ${d.chunksDone}/${d.chunkCount}` : "";
        const update = d.overTheAir ? stateName("fwState", d.state) + progress + (d.reason ? ` (${d.reason})` : "") : both(text.ko.fwInstallerVisit, text.en.fwInstallerVisit);
        [d.deviceId, d.districtCode, d.gatewayId, d.runningVersion ?? "—", update]
          .forEach((value, i) => { const cell = document.createElement("td"); cell.textContent = value; if (i === 4) cell.dataset.testid = "firmware-state"; row.append(cell); });
        return row;
      }));
    }

    if (!session?.central) return;
    const rollouts = await api("/api/firmware/rollouts");
    if (!rollouts.ok) return;
    $("[data-testid=rollout-list]").replaceChildren(...(await rollouts.json()).map((r) => {
      const row = document.createElement("tr");
      row.dataset.testid = "rollout-row";
      row.dataset.rollout = r.rolloutId;
      row.dataset.state = r.state;
      const state = stateName("fwRolloutStates", r.state) + (r.haltReason ? ` (${r.haltReason})` : "");
      const stages = r.stages.map((s) => `${s.confirmed}/${s.failed}/${s.open}`).join(" · ");
      [r.rolloutId, r.version, state, stateName("fwStageNames", r.stage), stages]
        .forEach((value, i) => { const cell = document.createElement("td"); cell.textContent = value; if (i === 2) cell.dataset.testid = "rollout-state"; row.append(cell); });
      const actionsCell = document.createElement("td");
      const act = (name, testid, allowed) => {
        if (!allowed) return;
        const button = document.createElement("button");
        button.type = "button";
        button.className = "btn";
        button.dataset.testid = testid;
        button.textContent = both(text.ko[name], text.en[name]);
        button.addEventListener("click", async () => {
          const response = await api(`/api/firmware/rollouts/${encodeURIComponent(r.rolloutId)}/${name === "fwResume" ? "resume" : "cancel"}`, { method: "POST" });
          if (!response.ok) showError(t("failed"));
          await loadFirmware();
        });
        actionsCell.append(button);
      };
      act("fwResume", "rollout-resume", r.state === "halted");
      act("fwCancel", "rollout-cancel", r.state === "running" || r.state === "halted");
      row.append(actionsCell);
      return row;
    }));
  }

  // Audit log (감사 기록), central staff only.
  async function loadAudit() {
    const response = await api("/api/audit?limit=200");
    if (!response.ok) return;
    const rows = (await response.json()).map((r) => {
      const row = document.createElement("tr");
      row.dataset.testid = "audit-row";
      row.dataset.action = r.action;
      row.dataset.outcome = r.outcome;
      row.dataset.target = r.target;
      [String(r.id), formatTime(r.at, true), r.actor, r.action, r.target, r.outcome, r.detail]
        .forEach((value) => { const cell = document.createElement("td"); cell.textContent = value; row.append(cell); });
      return row;
    });
    $("[data-testid=audit-list]").replaceChildren(...rows);
    await loadRetention();
  }

  // Retention report (보존 기간 보고): periods and what the purge removed when, counts only.
  async function loadRetention() {
    const response = await api("/api/retention");
    if (!response.ok) return;
    const report = await response.json();
    const days = (span) => { const [d, rest] = span.includes(".") ? span.split(".") : ["0", span]; return rest.startsWith("00:00:00") ? `${d} ${t("days")}` : span; };
    const cells = (testid, values, data) => {
      const row = document.createElement("tr");
      row.dataset.testid = testid;
      Object.assign(row.dataset, data);
      values.forEach((value) => { const cell = document.createElement("td"); cell.textContent = value; row.append(cell); });
      return row;
    };
    $("[data-testid=retention-periods]").replaceChildren(...report.periods.map((p) => cells("retention-period", [p.table, days(p.period)], { table: p.table })));
    $("[data-testid=retention-purges]").replaceChildren(...report.purges.map((p) =>
      cells("retention-purge", [formatTime(p.at, true), p.table, String(p.removed)], { table: p.table, removed: String(p.removed) })));
    $("[data-testid=retention-empty]").hidden = report.purges.length > 0;
    $("[data-testid=retention-last-pass]").textContent = report.lastPassAt ? `${t("retentionLastPass")}: ${formatTime(report.lastPassAt, true)}` : "";
  }

  async function verifyAudit() {
    const response = await api("/api/audit/verify");
    if (!response.ok) return;
    const result = await response.json();
    const el = $("[data-testid=audit-verify-result]");
    el.dataset.intact = String(result.intact);
    el.textContent = result.intact ? t("auditIntact").replace("{n}", result.rowsVerified)
      : t("auditBroken").replace("{id}", result.firstBrokenId).replace("{problem}", result.problem);
  }

  function showTab(name) {
    tab = name;
    $$("[data-tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
    $$("[data-panel]").forEach((p) => { p.hidden = p.dataset.panel !== name; });
    if (name === "map") renderMap();
    if (name === "health") loadHealth();
    if (name === "walktest") loadWalkTests();
    if (name === "audit") loadAudit();
    if (name === "firmware") loadFirmware();
  }

  // Sign-in and sign-out
  function showSignedIn(signedIn) {
    $("[data-testid=signin-view]").hidden = signedIn;
    $$("[data-signed-in]").forEach((el) => { el.hidden = !signedIn; });
    $$("[data-central]").forEach((el) => { el.hidden = !(signedIn && session?.central); });
  }

  async function loadNeighbourhoods() {
    const [options, settings] = await Promise.all([
      api("/api/neighbourhoods").then((r) => (r.ok ? r.json() : [])),
      api("/api/cameras/settings").then((r) => (r.ok ? r.json() : null)),
    ]).catch(() => [[], null]);
    cameraRadius = settings?.radiusMetres ?? null;
    const select = $("[data-testid=neighbourhood-filter]");
    select.replaceChildren(select.options[0], ...options.map((n) => {
      const option = document.createElement("option");
      option.value = n.code;
      option.textContent = n.fullNameKo.replace(/^서울특별시 /, "");
      return option;
    }));
  }

  function signedIn(me) {
    session = me;
    loadNeighbourhoods();
    showSignedIn(true);
    showUser();
    showTab("queue");
    connect();
  }

  function signedOut(message) {
    session = null;
    if (source) { source.close(); source = null; }
    alarms.clear();
    walkTests.clear();
    cases.clear();
    cameras.clear();
    selectedKey = null;
    mapView = null;
    clearSnapshot("");
    loadedOnce = false;
    showSignedIn(false);
    showError("");
    const error = $("[data-testid=signin-error]");
    error.textContent = message || "";
    error.hidden = !message;
    render();
  }

  $("[data-testid=signin-form]").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const signIn = () => api("/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ userName: form.username.value, password: form.password.value }),
    }).catch(() => null);
    let response = await signIn();
    // 409: another tab's session was still open; the server ended it, so sign in afresh.
    if (response && response.status === 409) response = await signIn();
    form.password.value = "";
    if (response && response.ok) { $("[data-testid=signin-error]").hidden = true; signedIn(await response.json()); return; }
    signedOut(!response ? t("offline") : response.status === 429 ? t("throttled") : t("signInFailed"));
  });

  $("[data-testid=sign-out]").addEventListener("click", async () => {
    await api("/api/session/sign-out", { method: "POST" }).catch(() => null);
    signedOut("");
  });

  $$("[data-lang]").forEach((button) => button.addEventListener("click", () => {
    lang = button.dataset.lang;
    localStorage.setItem("anshimi.lang", lang);
    applyLanguage();
  }));
  $$("[data-tab]").forEach((button) => button.addEventListener("click", () => showTab(button.dataset.tab)));
  $("[data-testid=snapshot-button]").addEventListener("click", viewSnapshot);
  $("[data-testid=detail-close]").addEventListener("click", () => { clearSnapshot(""); cases.clear(); selectedKey = null; render(); });
  $("[data-testid=case-form]").addEventListener("submit", openCase);
  $("[data-testid=cameras-on-map]").addEventListener("click", showCamerasOnMap);
  $("[data-testid=neighbourhood-filter]").addEventListener("change", (e) => { neighbourhood = e.target.value; render(); load(); });
  $("[data-testid=audit-verify]").addEventListener("click", verifyAudit);
  $("[data-testid=sound-toggle]").addEventListener("click", () => {
    soundOn = !soundOn;
    if (soundOn && !audio) audio = new AudioContext();
    if (soundOn) { audio.resume(); beep(); }
    showSound();
  });

  const clock = $("[data-testid=clock]");
  const tick = () => { clock.textContent = formatTime(new Date().toISOString(), false); };
  setInterval(tick, 1000);
  $("[data-testid=map-whole-city]").addEventListener("click", () => { mapView = null; applyMapView(); renderMarkers(); });
  setInterval(() => { if (session && tab === "health") loadHealth(); if (session && tab === "map") renderMarkers(); }, 15000);
  tick();

  applyLanguage();
  api("/api/session").then(async (r) => (r.status === 200 ? signedIn(await r.json()) : signedOut(""))).catch(() => signedOut(t("offline")));
})();
