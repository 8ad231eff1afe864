#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The SMTP client against a small SMTP server on 127.0.0.1 that records what it received.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use sha2::Digest;
use suqiu_channels::smtp::{Smtp, SmtpConfig};
use suqiu_channels::{Channel, Message, Retry};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::rustls;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

#[derive(Clone, Default)]
struct Behaviour {
    tls: Option<tokio_rustls::TlsAcceptor>,
    offer_starttls: bool,
    eight_bit: bool,
    auth: Option<(&'static str, &'static str)>,
    mail_reply: Option<&'static str>,
    reject_rcpt: Option<&'static str>,
    silent: bool,
}

#[derive(Debug, Default)]
struct Received {
    commands: Vec<String>,
    auth: Option<(String, String)>,
    mail_from: String,
    rcpt: Vec<String>,
    data: Option<String>,
    bare_lf: bool,
    tls: bool,
    ehlo_after_tls: bool,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn sink(b: Behaviour) -> (u16, tokio::task::JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut rec = Received::default();
        if b.silent {
            tokio::time::sleep(Duration::from_secs(5)).await;
            return rec;
        }
        let mut io: BufReader<Box<dyn Io>> = BufReader::new(Box::new(tcp));
        io.get_mut()
            .write_all(b"220 sink.test ESMTP ready\r\n")
            .await
            .unwrap();
        let mut line = String::new();
        macro_rules! reply {
            ($s:expr) => {
                io.get_mut()
                    .write_all(format!("{}\r\n", $s).as_bytes())
                    .await
                    .unwrap()
            };
        }
        macro_rules! read_line {
            () => {{
                line.clear();
                if io.read_line(&mut line).await.unwrap() == 0 {
                    return rec;
                }
                if !line.ends_with("\r\n") {
                    rec.bare_lf = true;
                }
                line.trim_end().to_string()
            }};
        }
        loop {
            let cmd = read_line!();
            rec.commands.push(cmd.clone());
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                if rec.tls {
                    rec.ehlo_after_tls = true;
                }
                let mut ext = vec!["250-sink.test greets you".to_string()];
                if b.eight_bit {
                    ext.push("250-8BITMIME".into());
                }
                if b.offer_starttls && !rec.tls {
                    ext.push("250-STARTTLS".into());
                }
                if b.auth.is_some() {
                    ext.push("250-AUTH LOGIN PLAIN".into());
                }
                ext.push("250 SIZE 10240000".into());
                reply!(ext.join("\r\n"));
            } else if upper == "STARTTLS" {
                reply!("220 go ahead");
                assert!(io.buffer().is_empty());
                let inner = io.into_inner();
                let tls = b.tls.clone().unwrap().accept(inner).await.unwrap();
                io = BufReader::new(Box::new(tls));
                rec.tls = true;
            } else if let Some(tok) = upper.strip_prefix("AUTH PLAIN ").map(|_| &cmd[11..]) {
                let raw = String::from_utf8(B64.decode(tok).unwrap()).unwrap();
                let parts: Vec<&str> = raw.split('\0').collect();
                rec.auth = Some((parts[1].into(), parts[2].into()));
                let (u, p) = b.auth.unwrap();
                reply!(if parts[1] == u && parts[2] == p {
                    "235 ok"
                } else {
                    "535 5.7.8 bad credentials"
                });
            } else if upper == "AUTH LOGIN" {
                reply!("334 VXNlcm5hbWU6");
                let u = String::from_utf8(B64.decode(read_line!()).unwrap()).unwrap();
                reply!("334 UGFzc3dvcmQ6");
                let p = String::from_utf8(B64.decode(read_line!()).unwrap()).unwrap();
                let ok = b.auth == Some((u.as_str(), p.as_str()));
                rec.auth = Some((u, p));
                reply!(if ok {
                    "235 ok"
                } else {
                    "535 5.7.8 bad credentials"
                });
            } else if upper.starts_with("MAIL FROM:") {
                rec.mail_from = cmd[10..].to_string();
                reply!(b.mail_reply.unwrap_or("250 ok"));
            } else if upper.starts_with("RCPT TO:") {
                let to = cmd[8..].to_string();
                if b.reject_rcpt.is_some_and(|r| to.contains(r)) {
                    reply!("550 5.1.1 no such user");
                } else {
                    rec.rcpt.push(to);
                    reply!("250 ok");
                }
            } else if upper == "DATA" {
                reply!("354 end with <CRLF>.<CRLF>");
                let mut data = String::new();
                loop {
                    line.clear();
                    io.read_line(&mut line).await.unwrap();
                    if !line.ends_with("\r\n") {
                        rec.bare_lf = true;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    // Undo the dot-stuffing.
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                rec.data = Some(data);
                reply!("250 2.0.0 queued as ABC123");
            } else if upper == "RSET" || upper == "NOOP" {
                reply!("250 ok");
            } else if upper == "QUIT" {
                reply!("221 bye");
                return rec;
            } else {
                reply!("502 5.5.2 unknown command");
            }
        }
    });
    (port, task)
}

fn config(port: u16, extra: &str) -> SmtpConfig {
    toml::from_str(&format!(
        "host = \"127.0.0.1\"\nport = {port}\nfrom = \"noreply@suqiu.example\"\nfrom_name = \"某区诉求服务平台\"\ntimeout_secs = 5\n{extra}"
    ))
    .unwrap()
}

/// Starts a sink with `b`, sends `message()` with the config plus `extra`.
async fn send_with(
    b: Behaviour,
    extra: &str,
) -> (
    Result<suqiu_channels::Delivery, suqiu_channels::SendError>,
    tokio::task::JoinHandle<Received>,
) {
    let (port, server) = sink(b).await;
    let r = Smtp::new(&config(port, extra))
        .unwrap()
        .send(&message())
        .await;
    (r, server)
}

fn message() -> Message {
    Message {
        idempotency_key: "case-42:dispatched:3".into(),
        to: vec!["zhang@example.org".into(), "li@example.org".into()],
        subject: "【新派单】关于幸福村路灯损坏长期无人维修、夜间出行十分不便的反映".into(),
        text: "第一行\n.以点开头的一行\n..\nlast line.".into(),
        markdown: Some("**ignored by mail**".into()),
    }
}

/// Headers (unfolded) and body of a received message.
fn split(data: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = data.split_once("\r\n\r\n").unwrap();
    let mut headers: Vec<(String, String)> = Vec::new();
    for l in head.split("\r\n") {
        if l.starts_with(' ') || l.starts_with('\t') {
            headers.last_mut().unwrap().1.push_str(l);
        } else {
            let (k, v) = l.split_once(": ").unwrap();
            headers.push((k.to_string(), v.to_string()));
        }
    }
    (headers, body.to_string())
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    &h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .unwrap()
        .1
}

/// RFC 2047 B-words, decoded independently of the client.
fn decode_words(v: &str) -> String {
    let mut bytes = Vec::new();
    for w in v.split_whitespace() {
        let inner = w
            .strip_prefix("=?UTF-8?B?")
            .unwrap()
            .strip_suffix("?=")
            .unwrap();
        bytes.extend(B64.decode(inner).unwrap());
    }
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn delivers_eight_bit_with_auth_plain_and_dot_stuffing() {
    let (r, server) = send_with(
        Behaviour {
        eight_bit: true,
        auth: Some(("noreply", "s3cret")),
        ..Default::default()
    },
        "tls = \"none\"\nusername = \"noreply\"\npassword = \"s3cret\"\nallow_plaintext_auth = true",
    )
    .await;
    let d = r.unwrap();
    assert_eq!(d.channel, "smtp");
    assert!(d.peer_ids[0].contains("ABC123"), "{:?}", d.peer_ids);
    let rec = server.await.unwrap();
    assert!(!rec.bare_lf, "every line must end with CRLF");
    assert_eq!(rec.auth, Some(("noreply".into(), "s3cret".into())));
    assert_eq!(rec.mail_from, "<noreply@suqiu.example> BODY=8BITMIME");
    assert_eq!(rec.rcpt, ["<zhang@example.org>", "<li@example.org>"]);
    assert_eq!(rec.commands.last().unwrap(), "QUIT");
    let (h, body) = split(rec.data.as_deref().unwrap());
    assert_eq!(decode_words(header(&h, "Subject")), message().subject);
    let from = header(&h, "From");
    let (name, addr) = from.rsplit_once(' ').unwrap();
    assert_eq!(decode_words(name), "某区诉求服务平台");
    assert_eq!(addr, "<noreply@suqiu.example>");
    let id = hex::encode(sha2::Sha256::digest(b"case-42:dispatched:3"));
    assert_eq!(
        header(&h, "Message-ID"),
        format!("<{}@suqiu.example>", &id[..40])
    );
    assert_eq!(header(&h, "Content-Transfer-Encoding"), "8bit");
    assert!(header(&h, "Content-Type").contains("charset=utf-8"));
    assert_eq!(
        header(&h, "To").replace(' ', ""),
        "zhang@example.org,li@example.org"
    );
    assert_eq!(body, "第一行\r\n.以点开头的一行\r\n..\r\nlast line.\r\n");
    assert!(time::OffsetDateTime::parse(
        header(&h, "Date"),
        &time::format_description::well_known::Rfc2822
    )
    .is_ok());
}

#[tokio::test]
async fn base64_body_without_eight_bit_and_auth_login() {
    let (r, server) = send_with(
        Behaviour {
        eight_bit: false,
        auth: Some(("u", "p w")),
        ..Default::default()
    },
        "tls = \"none\"\nusername = \"u\"\npassword = \"p w\"\nauth = \"login\"\nallow_plaintext_auth = true",
    )
    .await;
    r.unwrap();
    let rec = server.await.unwrap();
    assert_eq!(rec.auth, Some(("u".into(), "p w".into())));
    assert_eq!(rec.mail_from, "<noreply@suqiu.example>");
    let (h, body) = split(rec.data.as_deref().unwrap());
    assert_eq!(header(&h, "Content-Transfer-Encoding"), "base64");
    assert!(body.split("\r\n").all(|l| l.len() <= 76));
    let decoded = B64.decode(body.replace("\r\n", "")).unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "第一行\r\n.以点开头的一行\r\n..\r\nlast line.\r\n"
    );
}

fn test_tls() -> (tokio_rustls::TlsAcceptor, String) {
    let v: serde_json::Value = serde_json::from_str(include_str!("vectors/tls.json")).unwrap();
    let certs: Vec<_> = rustls_pemfile::certs(&mut v["cert_pem"].as_str().unwrap().as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut v["key_pem"].as_str().unwrap().as_bytes())
        .unwrap()
        .unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg)),
        v["ca_pem"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn starttls_then_auth_over_tls() {
    let (acceptor, ca) = test_tls();
    let (r, server) = send_with(
        Behaviour {
        tls: Some(acceptor),
        offer_starttls: true,
        eight_bit: true,
        auth: Some(("noreply", "s3cret")),
        ..Default::default()
    },
        &format!("tls = \"starttls\"\nusername = \"noreply\"\npassword = \"s3cret\"\nextra_root_certs_pem = '''\n{ca}'''"),
    )
    .await;
    r.unwrap();
    let rec = server.await.unwrap();
    assert!(rec.tls && rec.ehlo_after_tls);
    let starttls_at = rec.commands.iter().position(|c| c == "STARTTLS").unwrap();
    let auth_at = rec
        .commands
        .iter()
        .position(|c| c.starts_with("AUTH"))
        .unwrap();
    assert!(auth_at > starttls_at, "{:?}", rec.commands);
    assert!(rec.data.is_some());
}

#[tokio::test]
async fn untrusted_certificate_is_permanent() {
    let (acceptor, _) = test_tls();
    // Without the test CA the server's certificate is not trusted.
    let (r, _server) = send_with(
        Behaviour {
            tls: Some(acceptor),
            offer_starttls: true,
            ..Default::default()
        },
        "tls = \"starttls\"",
    )
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.retry, Retry::Permanent, "{e}");
    assert!(e.reason.contains("TLS"), "{e}");
}

#[tokio::test]
async fn missing_starttls_and_plaintext_auth_are_refused() {
    let (r, server) = send_with(Behaviour::default(), "tls = \"starttls\"").await;
    let e = r.unwrap_err();
    assert_eq!(e.retry, Retry::Permanent);
    assert!(e.reason.contains("STARTTLS"), "{e}");
    drop(server);

    let (r, server) = send_with(
        Behaviour {
            auth: Some(("u", "p")),
            ..Default::default()
        },
        "tls = \"none\"\nusername = \"u\"\npassword = \"p\"",
    )
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.retry, Retry::Permanent);
    assert!(e.reason.contains("without TLS"), "{e}");
    server.abort();
}

#[tokio::test]
async fn wrong_password_is_permanent() {
    let (r, _server) = send_with(
        Behaviour {
            auth: Some(("u", "right")),
            ..Default::default()
        },
        "tls = \"none\"\nusername = \"u\"\npassword = \"wrong\"\nallow_plaintext_auth = true",
    )
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.retry, Retry::Permanent);
    assert!(e.reason.contains("535"), "{e}");
}

#[tokio::test]
async fn rejected_recipient_is_permanent_and_nothing_is_sent() {
    let (r, server) = send_with(
        Behaviour {
            reject_rcpt: Some("li@"),
            ..Default::default()
        },
        "tls = \"none\"",
    )
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.retry, Retry::Permanent);
    assert!(
        e.reason.contains("li@example.org") && e.reason.contains("550"),
        "{e}"
    );
    let rec = server.await.unwrap();
    assert!(rec.data.is_none(), "no DATA after a rejected recipient");
    assert_eq!(rec.commands.last().unwrap(), "QUIT");
}

#[tokio::test]
async fn temporary_failure_is_retryable() {
    let (r, server) = send_with(
        Behaviour {
            mail_reply: Some("451 4.3.0 try again later"),
            ..Default::default()
        },
        "tls = \"none\"",
    )
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.retry, Retry::Retryable);
    assert!(e.reason.contains("451"), "{e}");
    server.abort();
}

#[tokio::test]
async fn silent_server_times_out_retryable() {
    let (port, server) = sink(Behaviour {
        silent: true,
        ..Default::default()
    })
    .await;
    let smtp = Smtp::new(&config(port, "tls = \"none\""))
        .unwrap()
        .with_timeouts(Duration::from_millis(300), Duration::from_millis(300));
    let started = std::time::Instant::now();
    let e = smtp.send(&message()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(e.retry, Retry::Retryable);
    assert!(e.reason.contains("no reply"), "{e}");
    server.abort();
}

#[tokio::test]
async fn refused_connection_is_retryable_and_bad_address_permanent() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let smtp = Smtp::new(&config(port, "tls = \"none\"")).unwrap();
    let e = smtp.send(&message()).await.unwrap_err();
    assert_eq!(e.retry, Retry::Retryable, "{e}");
    let mut m = message();
    m.to = vec!["x@y>\r\nRCPT TO:<evil@z".into()];
    assert_eq!(smtp.send(&m).await.unwrap_err().retry, Retry::Permanent);
}

#[tokio::test]
async fn long_lines_go_base64_even_with_eight_bit() {
    let (port, server) = sink(Behaviour {
        eight_bit: true,
        ..Default::default()
    })
    .await;
    let mut m = message();
    m.text = "长".repeat(400); // 1,200 bytes on one line: over SMTP's 998
    Smtp::new(&config(port, "tls = \"none\""))
        .unwrap()
        .send(&m)
        .await
        .unwrap();
    let rec = server.await.unwrap();
    assert_eq!(rec.mail_from, "<noreply@suqiu.example>");
    let (h, body) = split(rec.data.as_deref().unwrap());
    assert_eq!(header(&h, "Content-Transfer-Encoding"), "base64");
    let decoded = B64.decode(body.replace("\r\n", "")).unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("{}\r\n", m.text)
    );
}
