//! A minimal HTTP/1.1 keep-alive client for the benchmarks and tests: one
//! request at a time on one connection, Content-Length bodies only (which is
//! what the server sends).

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
}

pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Conn {
    pub async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<Conn> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Conn {
            stream: BufReader::new(s),
            host: addr.to_string(),
        })
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&[u8]>,
    ) -> anyhow::Result<Reply> {
        self.send(method, path, json, None).await
    }

    /// A request with a bearer token and no body.
    pub async fn request_auth(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
    ) -> anyhow::Result<Reply> {
        self.send(method, path, None, Some(token)).await
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&[u8]>,
        token: Option<&str>,
    ) -> anyhow::Result<Reply> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", self.host).into_bytes();
        if let Some(t) = token {
            req.extend_from_slice(format!("authorization: Bearer {t}\r\n").as_bytes());
        }
        if let Some(body) = json {
            req.extend_from_slice(
                format!(
                    "content-type: application/json\r\ncontent-length: {}\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            req.extend_from_slice(b"\r\n");
            req.extend_from_slice(body);
        } else {
            req.extend_from_slice(b"\r\n");
        }
        self.stream.get_mut().write_all(&req).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut len = 0usize;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                bail!("connection closed in headers");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse()?;
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked responses are not supported by this client");
                }
            }
        }
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body).await?;
        Ok(Reply { status, body })
    }
}
