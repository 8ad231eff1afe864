//! The six-order story in a real browser: Debian's headless Chromium, driven
//! through chromedriver (W3C WebDriver, spoken here over plain HTTP on
//! loopback), against the real router served on 127.0.0.1 with the demo
//! district. Each demo user does their step through the pages and the test
//! checks what they see. Screenshots go to `target/screenshots/`.
//!
//! Without /usr/bin/chromium and /usr/bin/chromedriver the test prints a
//! notice and passes, unless `SUQIU_REQUIRE_BROWSER=1` (set by scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(10);
/// A 32×32 PNG the resident attaches.
const PHOTO: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x20\x00\x00\x00\x20\x08\x02\x00\x00\x00\xfc\x18\xed\xa3\x00\x00\x00\x2a\x49\x44\x41\x54\x78\xda\x63\xb8\x13\xa0\x41\x53\xc4\x30\x6a\xc1\xa8\x05\xa3\x16\x8c\x5a\x30\x6a\xc1\xa8\x05\xa3\x16\x8c\x5a\x30\x6a\xc1\xa8\x05\xa3\x16\x0c\x15\x0b\x00\xbf\x77\x50\x4c\x70\x2f\x7e\xf9\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// chromedriver in its own process group; the group (driver and browsers)
/// is killed on drop, whatever happened.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let pgid = self.child.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 exchange with chromedriver; returns the JSON `value`.
/// Bounded in time, so a stuck browser fails the test instead of hanging it.
async fn wd(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    tokio::time::timeout(Duration::from_secs(90), wd_once(port, method, path, body))
        .await
        .map_err(|_| format!("chromedriver did not answer {method} {path} in time"))?
}

async fn wd_once(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // chromedriver answers `Connection: close` but may keep the socket open:
    // read the head, then exactly the body it announces.
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the head".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut payload = raw[split + 4..].to_vec();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(len) => {
            while payload.len() < len {
                let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("connection closed in the body".into());
                }
                payload.extend_from_slice(&buf[..n]);
            }
            payload.truncate(len);
        }
        None => {
            // chunked or close-delimited: read until the terminating chunk or EOF
            loop {
                if head.contains("chunked") && payload.ends_with(b"0\r\n\r\n") {
                    break;
                }
                let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                payload.extend_from_slice(&buf[..n]);
            }
            if head.contains("chunked") {
                payload = dechunk(&payload)?;
            }
        }
    }
    let v: Value = serde_json::from_slice(&payload).map_err(|e| format!("{e}: {head}"))?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if value.get("error").is_some() {
        return Err(value.to_string());
    }
    Ok(value)
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let nl = rest.windows(2).position(|w| w == b"\r\n").ok_or("chunk")?;
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&rest[..nl])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .map_err(|e| e.to_string())?;
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(rest.get(nl + 2..nl + 2 + size).ok_or("short chunk")?);
        rest = rest.get(nl + 4 + size..).ok_or("short chunk")?;
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = val(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

struct Browser {
    driver: Driver,
    session: String,
    base: String,
    shots: PathBuf,
}

impl Browser {
    async fn start(base: String) -> Browser {
        let port = free_port();
        let profile = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().expect("chromedriver starts");
        let driver = Driver {
            child,
            port,
            _profile: profile,
        };
        let t = Instant::now();
        while wd(port, "GET", "/status", None).await.is_err() {
            assert!(t.elapsed() < WAIT, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--lang=zh-CN",
                    "--disable-crash-reporter", "--disable-breakpad",
                    format!("--user-data-dir={}", driver._profile.path().display()),
                ]
            }
        }}});
        let v = wd(port, "POST", "/session", Some(&caps))
            .await
            .expect("a browser session");
        let session = v["sessionId"].as_str().unwrap().to_string();
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            driver,
            session,
            base,
            shots,
        }
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        wd(
            self.driver.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        )
        .await
    }

    async fn size(&self, w: u32, h: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": w, "height": h})),
        )
        .await
        .unwrap();
    }

    async fn goto(&self, path: &str) {
        self.cmd(
            "POST",
            "/url",
            Some(json!({"url": format!("{}{path}", self.base)})),
        )
        .await
        .unwrap();
    }

    /// The element, waiting until it is there.
    async fn find(&self, css: &str) -> String {
        let t = Instant::now();
        loop {
            if let Ok(v) = self
                .cmd(
                    "POST",
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await
            {
                if let Some(id) = v
                    .as_object()
                    .and_then(|o| o.values().next())
                    .and_then(Value::as_str)
                {
                    return id.to_string();
                }
            }
            if t.elapsed() > WAIT {
                let body = self.text("body").await;
                panic!("no element {css} on the page:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})))
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn fill(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({})))
            .await
            .unwrap();
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await
        .unwrap();
    }

    /// Chooses a local file in a file input.
    async fn upload(&self, css: &str, path: &std::path::Path) {
        let id = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": path.display().to_string()})),
        )
        .await
        .unwrap_or_else(|e| panic!("upload to {css}: {e}"));
    }

    /// Waits until the image has loaded; returns its natural width.
    async fn image_width(&self, css: &str) -> u64 {
        self.find(css).await;
        let t = Instant::now();
        loop {
            let w = self
                .script(&format!(
                    "const i = document.querySelector({css:?}); return i && i.complete ? i.naturalWidth : 0"
                ))
                .await;
            if let Some(w) = w.as_u64().filter(|w| *w > 0) {
                return w;
            }
            assert!(t.elapsed() < WAIT, "{css} did not load");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn choose(&self, select: &str, value: &str) {
        self.click(&format!(r#"{select} option[value="{value}"]"#))
            .await;
    }

    async fn text(&self, css: &str) -> String {
        let Ok(v) = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await
        else {
            return String::new();
        };
        let Some(id) = v
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
        else {
            return String::new();
        };
        self.cmd("GET", &format!("/element/{id}/text"), None)
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Waits until the element's text contains `want`.
    async fn see(&self, css: &str, want: &str) {
        let t = Instant::now();
        loop {
            let got = self.text(css).await;
            if got.contains(want) {
                return;
            }
            if t.elapsed() > WAIT {
                panic!(
                    "{css} should show {want:?}; it shows:\n{got}\n--- page:\n{}",
                    self.text("body").await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn shot(&self, name: &str) {
        let v = self.cmd("GET", "/screenshot", None).await.unwrap();
        let png = base64_decode(v.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    async fn login(&self, login: &str) {
        self.goto("/login").await;
        self.fill("#login", login).await;
        self.fill("#password", suqiu_app::orgconfig::DEMO_PASSWORD)
            .await;
        self.click("#login-submit").await;
        self.see("h1", "工作台").await;
    }

    async fn logout(&self) {
        self.click("#logout").await;
        self.see("h1", "工作人员登录").await;
    }

    /// Opens the case titled `title` from a queue card of the workbench.
    async fn open_from_queue(&self, queue: &str, title: &str) {
        self.see(&format!("#q-{queue}"), title).await;
        // the link of the case with this title (a queue may hold several)
        let href = self
            .script(&format!(
                "for (const a of document.querySelectorAll('#q-{queue} a')) {{ if (a.textContent.includes({title:?})) return a.getAttribute('href'); }} return null"
            ))
            .await;
        let href = href
            .as_str()
            .unwrap_or_else(|| panic!("{title} in #q-{queue}"));
        self.goto(href).await;
        self.see("#case-title", title).await;
    }

    /// Opens an action's form and submits it.
    async fn act(&self, name: &str) {
        let open = self
            .cmd("POST", "/execute/sync", Some(json!({"script": format!("return document.getElementById('action-{name}').open"), "args": []})))
            .await
            .unwrap();
        if open != json!(true) {
            self.click(&format!("#action-{name} summary")).await;
        }
    }

    /// Runs a script in the page (WebDriver's, not subject to the page's CSP).
    async fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
        .unwrap()
    }

    async fn quit(self) {
        let _ = self.cmd("DELETE", "", None).await;
    }
}

fn browser_available() -> bool {
    let ok = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !ok {
        if std::env::var("SUQIU_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("SUQIU_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing (scripts/browser-deps.sh installs them)");
        }
        eprintln!("notice: {CHROMIUM} or {CHROMEDRIVER} missing: browser test skipped (apt-get install chromium chromium-driver)");
    }
    ok
}

#[test]
fn six_orders_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    // The story is one long future: poll it on a thread with a roomy stack
    // (debug builds keep every step's state on it).
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
                .block_on(story())
        })
        .unwrap()
        .join()
        .unwrap();
}

/// A resident's request filed directly (for the cases the story only needs to exist).
async fn file(
    site: &common::Site,
    unit: &str,
    title: &str,
    content: &str,
    who: (&str, &str),
) -> i64 {
    let input = suqiu_domain::case::IntakeInput {
        channel: Some("web".into()),
        unit: Some(unit.into()),
        title: Some(title.into()),
        content: Some(content.into()),
        reporter_name: Some(who.0.into()),
        reporter_phone: Some(who.1.into()),
        ..Default::default()
    };
    site.app.file_case(&input, None).await.unwrap().id
}

async fn story() {
    let site = common::Site::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(suqiu_web::serve(site.app.clone(), listener, async {
        let _ = stopped.await;
    }));
    let b = Browser::start(format!("http://{addr}")).await;
    let title = "幸福路电线杆倾斜";

    // 点单 — the resident files on a phone, first forgetting everything
    b.size(390, 844).await;
    b.goto("/").await;
    b.see("h1", "有事您说").await;
    b.shot("01-home-phone").await;
    b.click("#go-report").await;
    b.click("#submit").await;
    b.see("#report-form", "请填写此项").await;
    b.see("#report-form", "请选择所在的村（社区）和网格").await;
    b.shot("02-report-errors-phone").await;
    b.fill("#title", title).await;
    b.fill("#content", "幸福路12号旁电线杆严重倾斜，担心倒塌。")
        .await;
    b.choose("#category_hint", "基础建设").await;
    b.choose("#unit", "430799001002-01").await;
    b.fill("#address", "丹阳社区幸福路12号").await;
    b.fill("#reporter_name", "周敏").await;
    b.fill("#reporter_phone", "13600004444").await;
    let photo_dir = tempfile::tempdir().unwrap();
    let photo = photo_dir.path().join("电线杆.png");
    std::fs::write(&photo, PHOTO).unwrap();
    b.upload("#photos", &photo).await;
    b.click("#submit").await;
    b.see("#filed", "提交成功").await;
    let code = b.text("#tracking-code").await;
    assert_eq!(code.len(), 10, "{code}");
    b.see("#status", "已受理，待研判").await;
    assert_eq!(b.image_width("#photos img[data-photo='1']").await, 32);
    b.shot("03-filed-phone").await;

    // 报单 — the community triages and reports the same day
    b.size(1280, 1000).await;
    b.login("shequ.chen").await;
    b.see("#q-triage", title).await;
    // the queue refreshes in place (htmx), without reloading the page
    b.script("window.stayed = 1; return 1").await;
    let neighbour = "社区广场健身器材损坏";
    file(
        &site,
        "430799001002-03",
        neighbour,
        "广场上的单杠松动。",
        ("孙丽", "13800003333"),
    )
    .await;
    b.click("#refresh-triage").await;
    b.see("#q-triage", neighbour).await;
    assert_eq!(
        b.script("return window.stayed").await,
        json!(1),
        "the page was not reloaded"
    );
    b.shot("04-community-workbench").await;
    b.open_from_queue("triage", title).await;
    b.see("#related", "群众选择的类别：基础建设").await;
    // the resident's photo, served to the staff member who may see the case
    assert_eq!(b.image_width("#photos img[data-photo='1']").await, 32);
    // routing suggestions sit in the triage form (no model learned yet here)
    b.see("#category-suggestions", "智能推荐").await;
    b.see("#deadlines", "当日研判").await;
    b.choose("#triage-urgency", "urgent").await;
    b.choose("#triage-category", "基础建设").await;
    b.shot("05-case-triage").await;
    b.click("#submit-triage").await;
    b.see("#done", "研判分流").await;
    b.see("#case-status", "已研判").await;
    b.act("report").await;
    b.fill("#report-note", "涉及供电线路安全，社区无法处置")
        .await;
    b.click("#submit-report").await;
    b.see("#case-status", "已上报乡镇（街道），待签收").await;
    b.see("#timeline", "上报白沙街道").await;
    b.logout().await;

    // 跟单 — the street signs and dispatches to 城管局
    b.login("jiedao.liu").await;
    b.see("#review-board", "已上报乡镇（街道），待签收").await;
    b.shot("06a-street-workbench").await;
    b.goto("/staff/cases?status=reported").await;
    b.see("#case-list", title).await;
    b.shot("06b-street-case-list").await;
    b.goto("/staff").await;
    b.open_from_queue("sign", title).await;
    b.act("sign").await;
    b.click("#submit-sign").await;
    b.see("#case-status", "乡镇（街道）跟单中").await;
    b.act("dispatch").await;
    b.choose("#dispatch-lead", "430799-D02").await;
    b.choose("#dispatch-difficulty", "ordinary").await;
    b.shot("06-street-dispatch").await;
    b.click("#submit-dispatch").await;
    b.see("#case-status", "已派单，待部门接单").await;
    b.logout().await;

    // 接单 — 城管局 is not responsible and returns it with a reason
    b.login("bumen.wu").await;
    b.open_from_queue("accept", title).await;
    b.act("return").await;
    b.click("#submit-return").await;
    b.see("#form-return", "请填写此项").await;
    b.fill(
        "#return-reason",
        "电线杆属住建部门管理的市政设施，非城管职责",
    )
    .await;
    b.click("#submit-return").await;
    b.see("#timeline", "退单").await;
    b.goto("/staff").await;
    b.see("h1", "工作台").await;
    assert!(
        !b.text("#q-accept").await.contains(title),
        "returned: gone from 城管局's queue"
    );
    b.logout().await;

    // the street re-dispatches to 住建局, 城管局 cooperating
    b.login("jiedao.liu").await;
    b.open_from_queue("dispatch", title).await;
    b.see("#timeline", "退单").await;
    b.act("dispatch").await;
    b.choose("#dispatch-lead", "430799-D01").await;
    b.click("#action-dispatch input[value='430799-D02']").await;
    b.choose("#dispatch-difficulty", "ordinary").await;
    b.click("#submit-dispatch").await;
    b.see("#case-status", "已派单，待部门接单").await;
    b.see("#deadlines", "当日接单并联系群众").await;
    b.logout().await;

    // 接单 and reply — 住建局 accepts, contacts the resident, replies with the policy basis
    b.login("bumen.zhang").await;
    b.shot("07-department-workbench").await;
    b.open_from_queue("accept", title).await;
    b.act("accept").await;
    b.fill("#accept-contact_note", "已电话联系周女士，当天到场查看")
        .await;
    b.click("#submit-accept").await;
    b.see("#case-status", "部门办理中").await;
    b.act("reply").await;
    b.fill("#reply-result", "已加固电线杆并设置警示标志").await;
    b.fill("#reply-policy_basis", "《城市道路管理条例》第二十条")
        .await;
    b.click("#submit-reply").await;
    b.see("#case-status", "已答复，待评价").await;
    b.see("#timeline", "政策依据").await;
    b.shot("08-case-replied").await;
    b.logout().await;

    // 评单 — the resident follows it in plain words and rates it on the phone
    b.size(390, 844).await;
    b.goto(&format!("/track?code={code}")).await;
    b.see("#status", "已答复，待评价").await;
    b.see("#latest", "已加固电线杆并设置警示标志").await;
    b.see(
        "#timeline",
        "区住房和城乡建设局已答复：已加固电线杆并设置警示标志",
    )
    .await;
    b.see("#timeline", "承办单位认为不属其职责，正在重新派单")
        .await;
    b.shot("09-track-phone").await;
    b.click("#rate-submit").await;
    b.see("#rate-form", "请选择满意、一般或不满意").await;
    b.click("input[name='rating'][value='satisfied']").await;
    b.fill("#comment", "处理及时，谢谢").await;
    // the last four digits of the phone, checked: a wrong guess is refused
    b.fill("#rate-phone-last4", "0000").await;
    b.click("#rate-submit").await;
    b.see("#rate-form", "手机号后四位不对").await;
    b.click("input[name='rating'][value='satisfied']").await;
    b.fill("#rate-phone-last4", "4444").await;
    b.click("#rate-submit").await;
    b.see("#rated", "感谢您的评价").await;
    b.see("#timeline", "评价：满意").await;
    b.shot("10-rated-phone").await;
    // the English switch
    b.click("a.lang").await;
    b.see("#timeline", "Rating: satisfied").await;
    b.click("a.lang").await;
    b.see("#timeline", "评价：满意").await;

    // the grid worker files for a resident (proxy) on the phone
    b.login("wangge.li").await;
    b.see("#my-grid", title).await;
    b.shot("11-grid-worker-phone").await;
    b.click("#proxy-file").await;
    b.fill("#title", "楼道堆放杂物").await;
    b.fill("#content", "3栋2单元楼道堆满杂物，有消防隐患。")
        .await;
    b.fill("#reporter_name", "赵大爷").await;
    b.fill("#reporter_phone", "13700001111").await;
    b.click("#submit").await;
    b.see("#filed", "已录入").await;
    b.click("#filed a[href^='/staff/cases/']").await;
    b.see("#timeline", "网格员代办").await;
    b.logout().await;

    // the statistics of the day, as the petition bureau sees them
    b.size(1280, 1000).await;
    b.login("xinfang.he").await;
    b.shot("11a-bureau-workbench").await;
    b.goto("/staff/dashboard").await;
    b.see("#figures", "白沙街道").await;
    b.see("#figures", "区住房和城乡建设局").await;
    b.see("#ranking", "区住房和城乡建设局").await;
    b.logout().await;

    // 督单 — a case nobody triaged goes overdue and reaches the linked leader
    let late = "雨水井盖缺失";
    file(
        &site,
        "430799001002-02",
        late,
        "丹阳社区二组路口井盖缺失，夜间危险。",
        ("李强", "13500002222"),
    )
    .await;
    site.clock.advance(2 * 24 * 3600 * 1000);
    site.app.sweep_once().await.unwrap();
    b.login("lingdao.yang").await;
    b.see("#q-supervise", late).await;
    b.goto("/staff/dashboard").await;
    b.see("#leader-supervise", late).await;
    let total = b.text("#total").await;
    assert!(total.contains('2') || total.contains('3'), "{total}");
    b.shot("12-leader-dashboard").await;
    b.click("#leader-supervise a[href^='/staff/cases/']").await;
    b.see("#deadlines", "已超期").await;
    b.act("supervise").await;
    b.fill("#supervise-note", "请社区今日研判并上门查看").await;
    b.fill("#supervise-days", "1").await;
    b.click("#submit-supervise").await;
    b.see("#timeline", "督办").await;
    b.logout().await;

    // the administrator's pages
    b.login("admin").await;
    b.goto("/staff/admin").await;
    b.see("#units", "丹阳社区").await;
    b.see("#users", "lingdao.yang").await;
    b.shot("13-admin").await;
    // a bad rule is refused in plain words and nothing changes
    b.script(
        "const t = document.getElementById('rules-text'); t.value = t.value.replace('start = \"received\"', 'start = \"nonsense\"'); return 1",
    )
    .await;
    b.click("#save-rules").await;
    b.see("#rules-form", "起算环节「nonsense」不存在").await;
    // the explanation of an unreasonable demand gets 5 working days
    b.goto("/staff/admin").await;
    let changed = b
        .script(
            "const t = document.getElementById('rules-text'); const before = t.value; t.value = t.value.replace(/(id = \"explain\"[\\s\\S]*?length = )3/, '$15'); return t.value !== before",
        )
        .await;
    assert_eq!(changed, json!(true), "the explain rule is in the text");
    b.click("#save-rules").await;
    b.see("#done", "已保存办理时限规则").await;
    b.see("#rules tr[data-rule='explain']", "5").await;
    // a new category, offered to residents at once
    let cats = b
        .script("return document.getElementById('categories-text').value")
        .await;
    b.fill(
        "#categories-text",
        &format!("{}\n物业管理", cats.as_str().unwrap()),
    )
    .await;
    b.click("#save-categories").await;
    b.see("#done", "已保存诉求类别").await;
    b.see("#category-list", "物业管理").await;
    // a new staff member
    b.fill("#new-login", "wangge.qian").await;
    b.fill("#new-name", "钱网格").await;
    b.choose("#new-role", "grid_worker").await;
    b.fill("#new-unit", "430799001002-02").await;
    b.fill("#new-password", "Qian#Grid2026").await;
    b.click("#create-user").await;
    b.see("#done", "wangge.qian").await;
    b.see("#users tr[data-login='wangge.qian']", "钱网格").await;
    // the unit tree: a hamlet cannot sit under a community; a new grid can
    b.fill("#unit-parent", "430799001002").await;
    b.choose("#unit-level", "hamlet").await;
    b.fill("#unit-code", "430799001002-07").await;
    b.fill("#unit-name", "丹阳社区第七网格").await;
    b.click("#add-unit").await;
    b.see("#unit-add-form", "屋场不能设在村（社区）之下").await;
    b.choose("#unit-level", "grid").await;
    b.click("#add-unit").await;
    b.see("#done", "单位已新增").await;
    b.see("#units li[data-unit='430799001002-07']", "丹阳社区第七网格")
        .await;
    b.fill("#rename-code", "430799001002-07").await;
    b.fill("#rename-name", "丹阳社区七组网格").await;
    b.click("#rename-unit").await;
    b.see("#units li[data-unit='430799001002-07']", "丹阳社区七组网格")
        .await;
    b.shot("14-admin-edited").await;
    b.logout().await;
    b.goto("/report").await;
    b.see("#category_hint", "物业管理").await;
    b.see("#unit", "七组网格").await;
    // the new grid worker logs in with the initial password
    b.goto("/login").await;
    b.fill("#login", "wangge.qian").await;
    b.fill("#password", "Qian#Grid2026").await;
    b.click("#login-submit").await;
    b.see("h1", "工作台").await;
    b.see(".me", "钱网格").await;
    b.logout().await;
    assert!(b.url().await.ends_with("/login"));

    // 合并 — a second resident reports the broken fitness equipment: the community
    // merges it as a duplicate into the first report
    let again = "广场健身器材损坏";
    let dup = file(
        &site,
        "430799001002-03",
        again,
        "社区广场的单杠松动了，孩子玩耍很危险。",
        ("钱进", "13800006666"),
    )
    .await;
    b.login("shequ.chen").await;
    b.see("#q-triage", again).await;
    b.click(&format!("#q-triage a[href='/staff/cases/{dup}']"))
        .await;
    b.see("#case-title", again).await;
    b.act("merge").await;
    b.see("#merge-into", neighbour).await;
    let primary = b
        .script(&format!(
            "for (const l of document.querySelectorAll('#merge-into label')) {{ if (l.textContent.includes({neighbour:?} + ' ')) return l.querySelector('input').value; }} return null"
        ))
        .await;
    let primary = primary
        .as_str()
        .expect("the first report is offered")
        .to_string();
    b.click(&format!("#merge-into input[value='{primary}']"))
        .await;
    b.click("#submit-merge").await;
    b.see("#form-merge", "请填写合并理由").await;
    b.fill("#merge-reason", "同一处健身器材，另一位居民重复反映")
        .await;
    b.script("document.getElementById('action-merge').scrollIntoView(); return 1")
        .await;
    b.shot("15-merge").await;
    b.click("#submit-merge").await;
    b.see("#done", "合并为重复件").await;
    b.see("#merged-into", &format!("#{primary}")).await;
    b.see("#case-status", "已办结").await;
    b.shot("15b-merged").await;
    b.click("#merged-into a").await;
    b.see("#case-title", neighbour).await;
    b.see("#timeline", "已合并至本件").await;
    b.logout().await;

    // 热点问题 — three residents report one broken lift; the leader sees the topic
    let mut lift = Vec::new();
    for (i, (t, c)) in [
        (
            "丽发新城小区电梯又坏了",
            "丽发新城小区3栋电梯坏了两天，老人上不了楼。",
        ),
        (
            "丽发新城电梯故障",
            "丽发新城小区3栋的电梯经常停运，希望物业尽快修好。",
        ),
        (
            "丽发新城小区电梯停运",
            "丽发新城小区电梯停了，物业一直不修。",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        lift.push(
            file(
                &site,
                "430799001002-01",
                t,
                c,
                ("居民", &format!("1391234560{i}")),
            )
            .await,
        );
    }
    // the dashboard's hot topics may be a minute old (the leader looked before)
    site.clock.advance(61_000);
    b.login("lingdao.yang").await;
    b.goto("/staff/dashboard").await;
    b.see("#hot-topics", "丽发新城").await;
    for id in &lift {
        b.see("#hot-topics #topic-1", &format!("#{id}")).await;
    }
    b.shot("16-hot-topics").await;
    b.click("#all-topics").await;
    b.choose("#days", "7").await;
    b.choose("#unit", "430799001002").await;
    b.click("#topics-submit").await;
    b.see("#topics h2", "近 7 天").await;
    b.see("#topic-1", "电梯").await;
    b.shot("16b-topics-page").await;
    b.click(&format!("#topic-1 a[href='/staff/cases/{}']", lift[0]))
        .await;
    b.see("#case-title", "丽发新城小区电梯又坏了").await;
    b.logout().await;

    // every staff page is usable on a 375 px phone: nothing wider than the
    // screen (tables scroll inside their frame), touch-sized rating choices
    b.size(375, 812).await;
    let phone_pages: &[(&str, &[&str])] = &[
        (
            "shequ.chen",
            &["/staff", "/staff/cases", "/staff/queue/triage"],
        ),
        ("jiedao.liu", &["/staff", "/staff/cases"]),
        ("bumen.zhang", &["/staff"]),
        (
            "lingdao.yang",
            &["/staff", "/staff/dashboard", "/staff/topics"],
        ),
        ("xinfang.he", &["/staff"]),
        (
            "admin",
            &[
                "/staff/admin",
                "/staff/admin/audit",
                "/staff/admin/templates",
            ],
        ),
    ];
    for (login, paths) in phone_pages {
        b.login(login).await;
        for path in *paths {
            b.goto(path).await;
            let widths = b
                .script("return [document.documentElement.scrollWidth, window.innerWidth]")
                .await;
            let (page, screen) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
            assert!(
                page <= screen,
                "{path} as {login} is {page} px wide on a {screen} px screen"
            );
            let name = format!(
                "375-{login}-{}",
                path.trim_start_matches('/').replace('/', "-")
            );
            b.shot(&name).await;
        }
        b.logout().await;
    }
    // the rating choices (radio buttons) are finger-sized, not 13 px
    b.goto("/").await;
    let radio = b
        .script("const r = document.createElement('input'); r.type = 'radio'; document.querySelector('main').appendChild(r); return r.getBoundingClientRect().width")
        .await;
    assert!(
        radio.as_f64().unwrap() >= 20.0,
        "a radio button is {radio} px wide"
    );

    b.quit().await;
    let _ = stop.send(());
    let _ = server.await;
}
