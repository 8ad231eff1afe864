//! E-mail over SMTP (RFC 5321) on tokio: greeting, `EHLO` (falling back to `HELO`),
//! `STARTTLS` or implicit TLS (rustls with the ring provider; WebPKI roots plus optional
//! extra PEM anchors), optional `AUTH PLAIN` / `AUTH LOGIN` (refused over plaintext unless
//! allowed), `MAIL FROM`, `RCPT TO` for every recipient, `DATA` with dot-stuffing, `QUIT`.
//!
//! The message is `text/plain; charset=utf-8`, sent `8bit` when the server offers
//! `8BITMIME` and no line exceeds 998 bytes, else base64. The subject and sender name are
//! RFC 2047 encoded-words when not plain ASCII. `Message-ID` is derived from the
//! idempotency key, so a retried message carries the same id and receivers can drop the
//! duplicate. Reply codes 4xx are retryable, 5xx permanent; a rejected recipient fails
//! the whole message (nothing is sent to the others).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::crypto::{b64, sha256_hex};
use crate::message::{Channel, ConfigError, Delivery, Message, SendError};

const KIND: &str = "smtp";
/// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.
const MAX_LINE: usize = 998;
/// Longest reply line we accept (RFC 5321 allows 512; be generous).
const MAX_REPLY_LINE: usize = 4096;
const MAX_REPLY_LINES: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain TCP: only for a relay on the same host or a trusted network.
    None,
    /// Plain connection upgraded with `STARTTLS` (required: fails if the server does not offer it).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMechanism {
    Plain,
    Login,
}

fn default_timeout() -> u64 {
    30
}

fn default_connect_timeout() -> u64 {
    10
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 25 without TLS, 587 with STARTTLS, 465 with implicit TLS.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    /// Envelope and header sender address.
    pub from: String,
    /// Display name of the sender, e.g. `某区诉求服务平台`.
    #[serde(default)]
    pub from_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Default: PLAIN if the server offers it, else LOGIN.
    #[serde(default)]
    pub auth: Option<AuthMechanism>,
    /// Allow AUTH without TLS (a local relay, tests). Default false.
    #[serde(default)]
    pub allow_plaintext_auth: bool,
    /// Name sent in EHLO; default the domain of `from`.
    #[serde(default)]
    pub helo_name: Option<String>,
    /// Extra trust anchors (PEM text), e.g. a private CA of the county's mail server.
    #[serde(default)]
    pub extra_root_certs_pem: Option<String>,
    /// Name checked in the server's certificate; default `host`.
    #[serde(default)]
    pub tls_server_name: Option<String>,
    /// Limit for each command's reply and each write.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
}

pub struct Smtp {
    config: SmtpConfig,
    port: u16,
    helo: String,
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
    timeout: Duration,
    connect_timeout: Duration,
}

impl Smtp {
    pub fn new(config: &SmtpConfig) -> Result<Self, ConfigError> {
        if !valid_address(&config.from) {
            return Err(ConfigError(format!(
                "smtp from {:?} is not an address",
                config.from
            )));
        }
        if config.username.is_some() != config.password.is_some() {
            return Err(ConfigError("smtp username and password go together".into()));
        }
        if config.timeout_secs == 0 || config.connect_timeout_secs == 0 {
            return Err(ConfigError(
                "smtp timeouts must be greater than zero".into(),
            ));
        }
        let port = config.port.unwrap_or(match config.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Implicit => 465,
        });
        let helo = match &config.helo_name {
            Some(h) => h.clone(),
            None => domain_of(&config.from).to_string(),
        };
        if helo.is_empty()
            || helo
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(ConfigError(format!(
                "smtp helo name {helo:?} is not a host name"
            )));
        }
        let tls = match config.tls {
            SmtpTls::None => None,
            SmtpTls::Starttls | SmtpTls::Implicit => Some(tls_connector(config)?),
        };
        Ok(Smtp {
            config: config.clone(),
            port,
            helo,
            tls,
            timeout: Duration::from_secs(config.timeout_secs),
            connect_timeout: Duration::from_secs(config.connect_timeout_secs),
        })
    }

    /// Shorter limits than whole seconds (tests).
    pub fn with_timeouts(mut self, command: Duration, connect: Duration) -> Self {
        self.timeout = command;
        self.connect_timeout = connect;
        self
    }
}

fn tls_connector(
    config: &SmtpConfig,
) -> Result<
    (
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    ),
    ConfigError,
> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = &config.extra_root_certs_pem {
        let mut n = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
            let cert = cert.map_err(|e| ConfigError(format!("smtp extra_root_certs_pem: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| ConfigError(format!("smtp extra_root_certs_pem: {e}")))?;
            n += 1;
        }
        if n == 0 {
            return Err(ConfigError(
                "smtp extra_root_certs_pem holds no certificate".into(),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError(format!("smtp TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = config
        .tls_server_name
        .clone()
        .unwrap_or_else(|| config.host.clone());
    let server_name = rustls::pki_types::ServerName::try_from(name.clone())
        .map_err(|e| ConfigError(format!("smtp TLS server name {name:?}: {e}")))?;
    Ok((tokio_rustls::TlsConnector::from(Arc::new(tls)), server_name))
}

/// A plausible address: `local@domain`, no spaces, controls or angle brackets.
pub fn valid_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && a.len() <= 254
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

fn domain_of(addr: &str) -> &str {
    addr.rsplit_once('@').map(|(_, d)| d).unwrap_or("localhost")
}

/// `Message-ID` for an idempotency key: the same key always gives the same id.
pub fn message_id(idempotency_key: &str, from: &str) -> String {
    format!(
        "<{}@{}>",
        &sha256_hex(idempotency_key.as_bytes())[..40],
        domain_of(from)
    )
}

/// RFC 2047: the value as is when it is printable ASCII without `=?`, else a run of
/// `=?UTF-8?B?…?=` words of at most 75 characters, never splitting a character,
/// folded onto continuation lines.
pub fn encode_header_value(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) && !s.contains("=?") && s.len() <= 900 {
        return s.to_string();
    }
    // 45 bytes of UTF-8 → 60 base64 characters + 12 of framing = 72 ≤ 75.
    let mut words = Vec::new();
    let mut start = 0;
    while start < s.len() {
        let mut end = (start + 45).min(s.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        words.push(format!("=?UTF-8?B?{}?=", b64(&s.as_bytes()[start..end])));
        start = end;
    }
    words.join("\r\n ")
}

fn display_name(name: &str) -> String {
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ') {
        format!("\"{name}\"")
    } else if name.bytes().all(|b| (0x20..0x7f).contains(&b)) && !name.contains("=?") {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        encode_header_value(name)
    }
}

/// Splits text into lines, whatever the line ends (CRLF, LF, lone CR).
fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        match rest.find(['\r', '\n']) {
            Some(i) => {
                out.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out
}

/// The message (headers and body, CRLF line ends, not yet dot-stuffed).
/// `date` is an RFC 5322 date; `eight_bit` chooses 8bit over base64 for the body.
pub fn build_message(
    from: &str,
    from_name: Option<&str>,
    message: &Message,
    date: &str,
    eight_bit: bool,
) -> String {
    let mut out = String::new();
    let mut h = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    };
    h("Date", date);
    match from_name {
        Some(n) if !n.trim().is_empty() => {
            h("From", &format!("{} <{from}>", display_name(n.trim())))
        }
        _ => h("From", &format!("<{from}>")),
    }
    h("To", &message.to.join(",\r\n "));
    h("Subject", &encode_header_value(message.subject.trim()));
    h("Message-ID", &message_id(&message.idempotency_key, from));
    h("MIME-Version", "1.0");
    h("Content-Type", "text/plain; charset=utf-8");
    h("Auto-Submitted", "auto-generated");
    let body_lines = lines(&message.text);
    if eight_bit {
        h("Content-Transfer-Encoding", "8bit");
        out.push_str("\r\n");
        for l in body_lines {
            out.push_str(l);
            out.push_str("\r\n");
        }
    } else {
        h("Content-Transfer-Encoding", "base64");
        out.push_str("\r\n");
        let body = body_lines.join("\r\n") + "\r\n";
        let enc = b64(body.as_bytes());
        for chunk in enc.as_bytes().chunks(76) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push_str("\r\n");
        }
    }
    out
}

/// RFC 5321 §4.5.2: a line starting with `.` gets one more; the data ends with `.` alone.
/// `payload` must use CRLF line ends and end with CRLF.
pub fn dot_stuff(payload: &str) -> String {
    let mut out = String::with_capacity(payload.len() + 8);
    for line in payload.split_inclusive("\r\n") {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        self.lines.join(" / ")
    }

    /// The error for a reply that is not the one expected.
    fn error(&self, during: &str) -> SendError {
        let reason = format!("{during}: server answered {} {}", self.code, self.text());
        if (400..500).contains(&self.code) {
            SendError::retryable(KIND, reason)
        } else if (500..600).contains(&self.code) {
            SendError::permanent(KIND, reason)
        } else {
            SendError::retryable(KIND, format!("{reason} (unexpected reply)"))
        }
    }
}

struct Conn {
    io: BufReader<Box<dyn Io>>,
    timeout: Duration,
    tls: bool,
}

fn io_error(during: &str, e: std::io::Error) -> SendError {
    SendError::retryable(KIND, format!("{during}: {e}"))
}

impl Conn {
    /// Stands in for a connection given away during the TLS upgrade: reads see the end.
    fn closed(timeout: Duration) -> Conn {
        Conn {
            io: BufReader::new(Box::new(tokio::io::duplex(1).0)),
            timeout,
            tls: false,
        }
    }

    async fn read_reply(&mut self, during: &str) -> Result<Reply, SendError> {
        let mut lines = Vec::new();
        loop {
            let mut raw = Vec::new();
            let mut limited = (&mut self.io).take(MAX_REPLY_LINE as u64);
            let read = limited.read_until(b'\n', &mut raw);
            let n = tokio::time::timeout(self.timeout, read)
                .await
                .map_err(|_| {
                    SendError::retryable(
                        KIND,
                        format!("{during}: no reply within {:?}", self.timeout),
                    )
                })?
                .map_err(|e| io_error(during, e))?;
            if n == 0 {
                return Err(SendError::retryable(
                    KIND,
                    format!("{during}: connection closed by the server"),
                ));
            }
            if !raw.ends_with(b"\n") {
                return Err(SendError::retryable(
                    KIND,
                    format!("{during}: reply line too long"),
                ));
            }
            let line = String::from_utf8_lossy(&raw)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c))
                .ok_or_else(|| {
                    SendError::retryable(KIND, format!("{during}: malformed reply {line:?}"))
                })?;
            let sep = line.as_bytes().get(3).copied();
            let text = line.get(4..).unwrap_or("").to_string();
            if let Some(first) = lines.first().map(|(c, _): &(u16, String)| *c) {
                if first != code {
                    return Err(SendError::retryable(
                        KIND,
                        format!("{during}: reply codes differ across lines ({first}, {code})"),
                    ));
                }
            }
            lines.push((code, text));
            match sep {
                Some(b'-') if lines.len() < MAX_REPLY_LINES => continue,
                Some(b'-') => {
                    return Err(SendError::retryable(
                        KIND,
                        format!("{during}: reply too long"),
                    ))
                }
                Some(b' ') | None => {
                    return Ok(Reply {
                        code,
                        lines: lines.into_iter().map(|(_, t)| t).collect(),
                    })
                }
                Some(_) => {
                    return Err(SendError::retryable(
                        KIND,
                        format!("{during}: malformed reply {line:?}"),
                    ))
                }
            }
        }
    }

    async fn write(&mut self, data: &[u8], during: &str) -> Result<(), SendError> {
        let w = async {
            self.io.get_mut().write_all(data).await?;
            self.io.get_mut().flush().await
        };
        tokio::time::timeout(self.timeout, w)
            .await
            .map_err(|_| SendError::retryable(KIND, format!("{during}: write timed out")))?
            .map_err(|e| io_error(during, e))
    }

    /// Sends one command line and reads the reply; `ok` says which codes are success.
    async fn command(
        &mut self,
        line: &str,
        during: &str,
        ok: impl Fn(u16) -> bool,
    ) -> Result<Reply, SendError> {
        self.write(format!("{line}\r\n").as_bytes(), during).await?;
        let r = self.read_reply(during).await?;
        if ok(r.code) {
            Ok(r)
        } else {
            Err(r.error(during))
        }
    }
}

/// What the server said it supports in its EHLO reply.
#[derive(Debug, Default)]
struct Extensions {
    starttls: bool,
    eight_bit: bool,
    smtputf8: bool,
    auth: Vec<String>,
}

fn extensions(r: &Reply) -> Extensions {
    let mut e = Extensions::default();
    for l in r.lines.iter().skip(1) {
        let mut words = l.split_whitespace();
        match words.next().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("STARTTLS") => e.starttls = true,
            Some("8BITMIME") => e.eight_bit = true,
            Some("SMTPUTF8") => e.smtputf8 = true,
            Some("AUTH") => e.auth = words.map(|w| w.to_ascii_uppercase()).collect(),
            _ => {}
        }
    }
    e
}

impl Smtp {
    async fn connect(&self) -> Result<Conn, SendError> {
        let addr = (self.config.host.as_str(), self.port);
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                SendError::retryable(
                    KIND,
                    format!("connect to {}:{} timed out", self.config.host, self.port),
                )
            })?
            .map_err(|e| io_error(&format!("connect to {}:{}", self.config.host, self.port), e))?;
        let _ = tcp.set_nodelay(true);
        let mut conn = Conn {
            io: BufReader::new(Box::new(tcp)),
            timeout: self.timeout,
            tls: false,
        };
        if self.config.tls == SmtpTls::Implicit {
            conn = self.start_tls(conn).await?;
        }
        Ok(conn)
    }

    async fn start_tls(&self, conn: Conn) -> Result<Conn, SendError> {
        let Some((connector, name)) = &self.tls else {
            return Err(SendError::permanent(KIND, "TLS is not configured"));
        };
        if !conn.io.buffer().is_empty() {
            // Data sent before the handshake could be injected by a man in the middle.
            return Err(SendError::retryable(
                KIND,
                "server sent data before the TLS handshake",
            ));
        }
        let inner = conn.io.into_inner();
        let tls = tokio::time::timeout(self.timeout, connector.connect(name.clone(), inner))
            .await
            .map_err(|_| SendError::retryable(KIND, "TLS handshake timed out"))?
            .map_err(|e| {
                // A certificate the server presents that we do not trust will not change by
                // itself: permanent, so an operator looks at it.
                let invalid = e
                    .get_ref()
                    .and_then(|r| r.downcast_ref::<rustls::Error>())
                    .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
                if invalid {
                    SendError::permanent(KIND, format!("TLS handshake: {e}"))
                } else {
                    SendError::retryable(KIND, format!("TLS handshake: {e}"))
                }
            })?;
        Ok(Conn {
            io: BufReader::new(Box::new(tls)),
            timeout: conn.timeout,
            tls: true,
        })
    }

    async fn hello(&self, conn: &mut Conn) -> Result<Extensions, SendError> {
        let r = conn
            .command(&format!("EHLO {}", self.helo), "EHLO", |c| c == 250)
            .await;
        match r {
            Ok(r) => Ok(extensions(&r)),
            Err(e) if !e.is_retryable() => {
                conn.command(&format!("HELO {}", self.helo), "HELO", |c| c == 250)
                    .await?;
                Ok(Extensions::default())
            }
            Err(e) => Err(e),
        }
    }

    async fn authenticate(&self, conn: &mut Conn, ext: &Extensions) -> Result<(), SendError> {
        let (Some(user), Some(pass)) = (&self.config.username, &self.config.password) else {
            return Ok(());
        };
        if !conn.tls && !self.config.allow_plaintext_auth {
            return Err(SendError::permanent(
                KIND,
                "refusing to send the password without TLS (set tls, or allow_plaintext_auth for a local relay)",
            ));
        }
        let offered = |m: &str| ext.auth.iter().any(|a| a == m);
        let mech = match self.config.auth {
            Some(m) => m,
            None if offered("PLAIN") => AuthMechanism::Plain,
            None if offered("LOGIN") => AuthMechanism::Login,
            None => {
                return Err(SendError::permanent(
                    KIND,
                    format!(
                        "server offers no AUTH PLAIN or LOGIN (offers: {})",
                        if ext.auth.is_empty() {
                            "none".to_string()
                        } else {
                            ext.auth.join(" ")
                        }
                    ),
                ))
            }
        };
        match mech {
            AuthMechanism::Plain => {
                let token = b64(format!("\0{user}\0{pass}").as_bytes());
                conn.command(&format!("AUTH PLAIN {token}"), "AUTH PLAIN", |c| c == 235)
                    .await?;
            }
            AuthMechanism::Login => {
                conn.command("AUTH LOGIN", "AUTH LOGIN", |c| c == 334)
                    .await?;
                conn.command(&b64(user.as_bytes()), "AUTH LOGIN user", |c| c == 334)
                    .await?;
                conn.command(&b64(pass.as_bytes()), "AUTH LOGIN password", |c| c == 235)
                    .await?;
            }
        }
        Ok(())
    }

    async fn transaction(&self, message: &Message) -> Result<String, SendError> {
        let mut conn = self.connect().await?;
        let result = self.session(&mut conn, message).await;
        // Say goodbye politely, briefly: the outcome is already decided.
        conn.timeout = conn.timeout.min(Duration::from_secs(2));
        let _ = conn.command("QUIT", "QUIT", |c| c == 221).await;
        result
    }

    async fn session(&self, conn: &mut Conn, message: &Message) -> Result<String, SendError> {
        let greeting = conn.read_reply("greeting").await?;
        if greeting.code != 220 {
            return Err(greeting.error("greeting"));
        }
        let mut ext = self.hello(conn).await?;
        if self.config.tls == SmtpTls::Starttls {
            if !ext.starttls {
                return Err(SendError::permanent(
                    KIND,
                    "server does not offer STARTTLS (set tls = \"none\" only for a trusted relay)",
                ));
            }
            conn.command("STARTTLS", "STARTTLS", |c| c == 220).await?;
            let plain = std::mem::replace(conn, Conn::closed(self.timeout));
            *conn = self.start_tls(plain).await?;
            ext = self.hello(conn).await?;
        }
        self.authenticate(conn, &ext).await?;

        let non_ascii = !self.config.from.is_ascii() || message.to.iter().any(|t| !t.is_ascii());
        if non_ascii && !ext.smtputf8 {
            return Err(SendError::permanent(
                KIND,
                "an address is not ASCII and the server does not offer SMTPUTF8",
            ));
        }
        let eight_bit = ext.eight_bit && lines(&message.text).iter().all(|l| l.len() <= MAX_LINE);
        let mut mail = format!("MAIL FROM:<{}>", self.config.from);
        if eight_bit {
            mail.push_str(" BODY=8BITMIME");
        }
        if non_ascii {
            mail.push_str(" SMTPUTF8");
        }
        conn.command(&mail, "MAIL FROM", |c| c == 250).await?;
        for to in &message.to {
            conn.command(
                &format!("RCPT TO:<{to}>"),
                &format!("RCPT TO <{to}>"),
                |c| c == 250 || c == 251,
            )
            .await?;
        }
        conn.command("DATA", "DATA", |c| c == 354).await?;
        let date = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc2822)
            .map_err(|e| SendError::permanent(KIND, format!("date: {e}")))?;
        let payload = build_message(
            &self.config.from,
            self.config.from_name.as_deref(),
            message,
            &date,
            eight_bit,
        );
        conn.write(dot_stuff(&payload).as_bytes(), "DATA content")
            .await?;
        let accepted = conn.read_reply("end of DATA").await?;
        if accepted.code != 250 {
            return Err(accepted.error("end of DATA"));
        }
        Ok(format!("250 {}", accepted.text()))
    }
}

#[async_trait]
impl Channel for Smtp {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn send(&self, message: &Message) -> Result<Delivery, SendError> {
        if message.to.is_empty() {
            return Err(SendError::permanent(KIND, "no recipient address"));
        }
        if let Some(bad) = message.to.iter().find(|a| !valid_address(a)) {
            return Err(SendError::permanent(KIND, format!("bad address {bad:?}")));
        }
        let answer = self.transaction(message).await?;
        Ok(Delivery {
            channel: KIND,
            peer_ids: vec![answer],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing() {
        assert_eq!(dot_stuff("a\r\n.b\r\n..\r\n"), "a\r\n..b\r\n...\r\n.\r\n");
        assert_eq!(dot_stuff(".\r\n"), "..\r\n.\r\n");
    }

    #[test]
    fn encoded_words_never_split_characters() {
        let s = "关于小区门口路灯损坏的诉求办理进展通知（第二次提醒，请尽快处理）";
        let enc = encode_header_value(s);
        let mut decoded = Vec::new();
        for w in enc.split("\r\n ") {
            assert!(w.len() <= 75, "{w}");
            let inner = w
                .strip_prefix("=?UTF-8?B?")
                .unwrap()
                .strip_suffix("?=")
                .unwrap();
            let bytes = crate::crypto::b64_decode(inner).unwrap();
            assert!(
                std::str::from_utf8(&bytes).is_ok(),
                "word splits a character"
            );
            decoded.extend(bytes);
        }
        assert_eq!(String::from_utf8(decoded).unwrap(), s);
        assert_eq!(encode_header_value("Plain subject"), "Plain subject");
        assert!(encode_header_value("x =?y?=").starts_with("=?UTF-8?B?"));
    }

    #[test]
    fn message_ids_follow_the_key() {
        let a = message_id("case-1:dispatched", "noreply@suqiu.example");
        assert_eq!(a, message_id("case-1:dispatched", "noreply@suqiu.example"));
        assert_ne!(a, message_id("case-1:closed", "noreply@suqiu.example"));
        assert!(a.ends_with("@suqiu.example>"));
    }

    #[test]
    fn addresses() {
        assert!(valid_address("a.b@example.org"));
        assert!(!valid_address("a b@example.org"));
        assert!(!valid_address("a@b>\r\nRCPT TO:<c@d"));
        assert!(!valid_address("nobody"));
        assert!(!valid_address("@example.org"));
    }

    #[test]
    fn line_splitting_accepts_any_line_end() {
        assert_eq!(lines("a\r\nb\nc\rd"), vec!["a", "b", "c", "d"]);
    }
}
