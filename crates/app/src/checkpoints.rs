//! Audit checkpoints kept apart from the database: the server appends the
//! audit chain's head (`SEQ:HASH`) to a file every so often, each line with an
//! HMAC-SHA256 under a key of its own (a file beside it, made at first use,
//! readable by its owner only; it may be moved to another volume with
//! `--audit-key`). `suqiu audit verify --checkpoints FILE` then checks that the
//! log still holds every head: cutting the newest records, or cutting and
//! re-chaining them, is found from the next checkpoint on. A line whose MAC
//! does not verify is refused (the file was edited or forged).

use crate::privacy::AuditHead;
use hmac::{KeyInit, Mac};
use std::io::Write;
use std::path::{Path, PathBuf};
use suqiu_domain::case::Millis;

type HmacSha256 = hmac::Hmac<sha2_mac::Sha256>;

/// A checkpoint file and its key.
pub struct Checkpoints {
    path: PathBuf,
    key: Vec<u8>,
}

impl Checkpoints {
    /// The checkpoint file `path`, keyed by the file `key` (default
    /// `path` + `.key`), which is made with a random key if missing.
    pub fn open(path: &Path, key: Option<&Path>) -> std::io::Result<Checkpoints> {
        let key_path = key.map_or_else(|| with_suffix(path, ".key"), Path::to_path_buf);
        let key = match std::fs::read(&key_path) {
            Ok(k) if k.len() >= 32 => k,
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: audit key shorter than 32 bytes", key_path.display()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let k: [u8; 32] = rand::random();
                write_private(&key_path, &k)?;
                k.to_vec()
            }
            Err(e) => return Err(e),
        };
        Ok(Checkpoints {
            path: path.to_path_buf(),
            key,
        })
    }

    fn mac(&self, head: &AuditHead, at: Millis) -> String {
        let Ok(mut m) = HmacSha256::new_from_slice(&self.key) else {
            unreachable!("HMAC takes a key of any length")
        };
        m.update(format!("{head} {at}").as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// Appends a checkpoint (and syncs it to disk).
    pub fn append(&self, head: &AuditHead, at: Millis) -> std::io::Result<()> {
        let line = format!("{head} {at} {}\n", self.mac(head, at));
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(line.as_bytes())?;
        f.sync_data()
    }

    /// Every checkpoint, oldest first; an error names the first line that
    /// is malformed or whose MAC does not verify.
    pub fn read(&self) -> Result<Vec<AuditHead>, String> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("{}: {e}", self.path.display())),
        };
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let bad = || {
                format!(
                    "{} line {}: not a checkpoint of this key",
                    self.path.display(),
                    i + 1
                )
            };
            let mut parts = line.split(' ');
            let (Some(head), Some(at), Some(mac), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let head: AuditHead = head.parse().map_err(|_| bad())?;
            let at: Millis = at.parse().map_err(|_| bad())?;
            // compared in constant time by the MAC's own verification
            let Ok(given) = hex::decode(mac) else {
                return Err(bad());
            };
            let Ok(mut m) = HmacSha256::new_from_slice(&self.key) else {
                return Err(bad());
            };
            m.update(format!("{head} {at}").as_bytes());
            if m.verify_slice(&given).is_err() {
                return Err(bad());
            }
            out.push(head);
        }
        Ok(out)
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

impl crate::App {
    /// Appends the audit head to `cp` every `every` when it moved.
    pub fn spawn_audit_checkpoints(
        &self,
        cp: Checkpoints,
        every: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut last = cp.read().ok().and_then(|v| v.last().cloned());
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match app.audit_head().await {
                    Ok(Some(head)) if last.as_ref() != Some(&head) => {
                        match cp.append(&head, app.now()) {
                            Ok(()) => last = Some(head),
                            Err(e) => tracing::error!(error = %e, "audit checkpoint not written"),
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "audit head not read"),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_refuse_edits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-checkpoints");
        let cp = Checkpoints::open(&path, None).unwrap();
        let h = |seq, c: char| AuditHead {
            seq,
            hash: c.to_string().repeat(64),
        };
        cp.append(&h(3, 'a'), 1000).unwrap();
        cp.append(&h(7, 'b'), 2000).unwrap();
        assert_eq!(cp.read().unwrap(), vec![h(3, 'a'), h(7, 'b')]);
        // the same key is read back
        let again = Checkpoints::open(&path, None).unwrap();
        assert_eq!(again.read().unwrap().len(), 2);
        // an edited head fails its MAC
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replacen("7:", "6:", 1);
        std::fs::write(&path, text).unwrap();
        assert!(cp.read().unwrap_err().contains("line 2"));
        // another key does not verify them
        let other = Checkpoints::open(&path, Some(&dir.path().join("other.key"))).unwrap();
        assert!(other.read().unwrap_err().contains("line 1"));
    }
}
