// Control-center alarm queue: loads /api/alarms, follows /api/alarms/stream, sends 확인/종결.
(() => {
  "use strict";

  const text = {
    ko: {
      title: "관제 경보 목록", subtitle: "안심이 자치구 관제센터",
      openCount: "미확인", ackCount: "처리 중",
      connecting: "연결 중…", live: "실시간 연결됨", down: "연결 끊김 — 재연결 중",
      operator: "관제요원", operatorPlaceholder: "이름",
      soundOn: "소리 켜짐", soundOff: "소리 꺼짐",
      colTime: "시각", colDistrict: "자치구", colEvent: "이벤트", colDevice: "장치",
      colAddress: "주소", colState: "상태", colActions: "조치",
      empty: "접수된 경보가 없습니다.", test: "시험", timeline: "기록",
      ack: "확인", resolve: "종결",
      state: { open: "미확인", acknowledged: "확인됨", resolved: "종결", test: "시험" },
      stage: {
        raised: "발생(게이트웨이 수신)", received: "관제 서버 접수", acknowledged: "관제요원 확인",
        resolved: "종결", "acknowledged-relayed": "확인 신호 장치 전달", "resolved-relayed": "종결 신호 장치 전달",
      },
      failed: "요청 실패", offline: "서버에 연결할 수 없습니다.",
    },
    en: {
      title: "Alarm queue", subtitle: "Anshimi district control center",
      openCount: "open", ackCount: "in progress",
      connecting: "Connecting…", live: "Live", down: "Disconnected — reconnecting",
      operator: "Operator", operatorPlaceholder: "Name",
      soundOn: "Sound on", soundOff: "Sound off",
      colTime: "Time", colDistrict: "District", colEvent: "Event", colDevice: "Device",
      colAddress: "Address", colState: "State", colActions: "Actions",
      empty: "No alarms.", test: "Test", timeline: "Timeline",
      ack: "Acknowledge", resolve: "Resolve",
      state: { open: "Open", acknowledged: "Acknowledged", resolved: "Resolved", test: "Test" },
      stage: {
        raised: "Raised (gateway)", received: "Received by control center", acknowledged: "Acknowledged by operator",
        resolved: "Resolved", "acknowledged-relayed": "Acknowledgement reached device", "resolved-relayed": "Resolution reached device",
      },
      failed: "Request failed", offline: "Cannot reach the server.",
    },
  };
  const stateOrder = { open: 0, acknowledged: 1, resolved: 2, test: 3 };

  const alarms = new Map();
  const fresh = new Set();
  let lang = localStorage.getItem("anshimi.lang") === "en" ? "en" : "ko";
  let soundOn = false;
  let audio = null;
  let loadedOnce = false;
  let connection = "connecting";

  const $ = (selector) => document.querySelector(selector);
  const list = $("[data-testid=alarm-list]");
  const rowTemplate = $("#alarm-row");
  const operatorInput = $("[data-testid=operator-name]");
  operatorInput.value = localStorage.getItem("anshimi.operator") || "";
  operatorInput.addEventListener("change", () => localStorage.setItem("anshimi.operator", operatorInput.value.trim()));

  const t = (key) => text[lang][key];
  const other = () => (lang === "ko" ? "en" : "ko");

  function formatTime(iso, withDate) {
    const options = { timeZone: "Asia/Seoul", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
    if (withDate) Object.assign(options, { month: "2-digit", day: "2-digit" });
    return new Intl.DateTimeFormat(lang === "ko" ? "ko-KR" : "en-GB", options).format(new Date(iso));
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-alt]").forEach((el) => { el.textContent = text[other()][el.dataset.i18nAlt]; });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    document.querySelectorAll("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === lang)));
    document.title = `${text.ko.title} · Anshimi ${text.en.title.toLowerCase()}`;
    showConnection(connection);
    showSound();
    render();
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
    button.querySelector(".sound-label").textContent = t(soundOn ? "soundOn" : "soundOff");
  }

  function showError(message) {
    const banner = $("[data-testid=error-banner]");
    banner.textContent = message;
    banner.hidden = !message;
  }

  // Two short tones; needs a prior click (browsers only start audio after a user gesture).
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
  }

  function names(ko, en) {
    return lang === "ko" ? [ko, en] : [en, ko];
  }

  function fillPair(cell, pair) {
    cell.querySelector(".primary").textContent = pair[0];
    cell.querySelector(".secondary").textContent = pair[1];
  }

  function buildRow(alarm) {
    const row = rowTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.key = alarm.key;
    row.dataset.state = alarm.state;
    if (fresh.has(alarm.key)) row.classList.add("is-new");

    const today = new Date().toDateString() === new Date(alarm.receivedAt).toDateString();
    const time = row.querySelector("[data-testid=alarm-time]");
    time.textContent = formatTime(alarm.receivedAt, !today);
    time.title = alarm.receivedAt;

    fillPair(row.querySelector("[data-testid=alarm-district]"), names(alarm.district.nameKo, alarm.district.nameEn));
    const eventCell = row.querySelector("[data-testid=alarm-event]");
    fillPair(eventCell, names(alarm.event.nameKo, alarm.event.nameEn));
    const testTag = eventCell.querySelector(".tag-test");
    testTag.hidden = !alarm.test;
    testTag.textContent = t("test");

    row.querySelector("[data-testid=alarm-device]").textContent = alarm.deviceId;
    fillPair(row.querySelector("[data-testid=alarm-address]"), [alarm.site.address, `${alarm.site.lat.toFixed(5)}, ${alarm.site.lon.toFixed(5)}`]);

    const badge = row.querySelector("[data-testid=alarm-state]");
    badge.dataset.state = alarm.state;
    badge.textContent = t("state")[alarm.state] || alarm.state;

    row.querySelector(".timeline summary").textContent = t("timeline");
    const timeline = row.querySelector("[data-testid=alarm-timeline]");
    for (const entry of alarm.timeline) {
      const item = document.createElement("li");
      const who = entry.actor ? ` · ${entry.actor}` : "";
      item.textContent = `${formatTime(entry.at, false)} ${t("stage")[entry.stage] || entry.stage}${who}`;
      timeline.append(item);
    }

    const ack = row.querySelector("[data-testid=ack-button]");
    const resolve = row.querySelector("[data-testid=resolve-button]");
    ack.querySelector(".primary").textContent = t("ack");
    ack.querySelector(".secondary").textContent = text[other()].ack;
    resolve.querySelector(".primary").textContent = t("resolve");
    resolve.querySelector(".secondary").textContent = text[other()].resolve;
    ack.disabled = alarm.state !== "open";
    resolve.disabled = alarm.state === "resolved" || alarm.state === "test";
    ack.addEventListener("click", () => act(alarm.key, "ack", ack));
    resolve.addEventListener("click", () => act(alarm.key, "resolve", resolve));
    return row;
  }

  function render() {
    const sorted = [...alarms.values()].sort((a, b) =>
      (stateOrder[a.state] - stateOrder[b.state]) || (Date.parse(b.receivedAt) - Date.parse(a.receivedAt)));
    list.replaceChildren(...sorted.map(buildRow));
    $("[data-testid=empty-state]").hidden = sorted.length > 0;
    $("[data-testid=open-count]").textContent = sorted.filter((a) => a.state === "open").length;
    $("[data-testid=ack-count]").textContent = sorted.filter((a) => a.state === "acknowledged").length;
  }

  function markFresh(key) {
    fresh.add(key);
    setTimeout(() => { fresh.delete(key); list.querySelector(`tr[data-key="${CSS.escape(key)}"]`)?.classList.remove("is-new"); }, 16000);
  }

  function upsert(alarm, isNew) {
    alarms.set(alarm.key, alarm);
    if (isNew && alarm.state === "open") {
      markFresh(alarm.key);
      beep();
    }
    render();
  }

  async function load() {
    try {
      const response = await fetch("/api/alarms?limit=500", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`${response.status}`);
      const incoming = await response.json();
      let arrived = false;
      for (const alarm of incoming) {
        // Alarms that came in while the stream was down are new to this operator too.
        if (loadedOnce && !alarms.has(alarm.key) && alarm.state === "open") { markFresh(alarm.key); arrived = true; }
      }
      alarms.clear();
      incoming.forEach((a) => alarms.set(a.key, a));
      loadedOnce = true;
      if (arrived) beep();
      render();
      showError("");
    } catch {
      showError(t("offline"));
    }
  }

  async function act(key, action, button) {
    button.disabled = true;
    const operator = operatorInput.value.trim();
    try {
      const response = await fetch(`/api/alarms/${encodeURIComponent(key)}/${action}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(operator ? { operator } : {}),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        showError(`${t("failed")}: ${body.title || response.status}${body.detail ? ` — ${body.detail}` : ""}`);
        await load();
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
    const source = new EventSource("/api/alarms/stream");
    source.addEventListener("ready", () => { showConnection("live"); load(); });
    source.addEventListener("alarm", (e) => upsert(JSON.parse(e.data), true));
    source.addEventListener("alarm-updated", (e) => upsert(JSON.parse(e.data), false));
    source.onerror = () => {
      showConnection("down");
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(connect, 3000);
      }
    };
  }

  document.querySelectorAll("[data-lang]").forEach((button) => button.addEventListener("click", () => {
    lang = button.dataset.lang;
    localStorage.setItem("anshimi.lang", lang);
    applyLanguage();
  }));

  $("[data-testid=sound-toggle]").addEventListener("click", () => {
    soundOn = !soundOn;
    if (soundOn && !audio) audio = new AudioContext();
    if (soundOn) { audio.resume(); beep(); }
    showSound();
  });

  const clock = $("[data-testid=clock]");
  const tick = () => { clock.textContent = formatTime(new Date().toISOString(), false); };
  setInterval(tick, 1000);
  tick();

  applyLanguage();
  connect();
})();
