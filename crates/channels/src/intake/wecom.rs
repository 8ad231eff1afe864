//! WeCom (企业微信) callback crypto ("加解密方案"):
//!
//! - `msg_signature = hex(sha1(concat(sort([token, timestamp, nonce, encrypt]))))`;
//! - AES-256-CBC, key = base64-decode(EncodingAESKey + "="), IV = the key's first 16 bytes;
//! - PKCS#7 padding to 32-byte blocks;
//! - plaintext = 16 random bytes + 4-byte big-endian length + message + receiveid (the corp
//!   id for an internal app), and the receiveid must be ours.
//!
//! URL verification is a GET with `msg_signature`, `timestamp`, `nonce`, `echostr`: answer
//! the decrypted echostr ([`WeComCrypto::verify_url`]). Messages are POSTed as
//! `<xml>…<Encrypt>…</Encrypt></xml>` with the same query parameters
//! ([`WeComCrypto::decrypt_message`], then [`parse_message`]); a passive reply is encrypted
//! with [`WeComCrypto::encrypt_reply`].

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes256;

use super::xml;
use super::IntakeError;
use crate::crypto::{b64, b64_decode, b64_decode_lenient, constant_time_eq, sha1_hex};

/// WeCom pads to 32-byte blocks (not AES's 16).
const PAD_BLOCK: usize = 32;

pub struct WeComCrypto {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl std::fmt::Debug for WeComCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeComCrypto")
            .field("receive_id", &self.receive_id)
            .finish_non_exhaustive()
    }
}

/// The signature WeCom puts in `msg_signature`.
pub fn signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort_unstable();
    sha1_hex(parts.concat().as_bytes())
}

impl WeComCrypto {
    /// `encoding_aes_key` is the 43-character key from the admin console; `receive_id` is
    /// the corp id (internal apps) or suite id (third-party apps).
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self, IntakeError> {
        if token.is_empty() || receive_id.is_empty() {
            return Err(IntakeError::Config(
                "token and receive id must not be empty".into(),
            ));
        }
        if encoding_aes_key.len() != 43 {
            return Err(IntakeError::Config(format!(
                "EncodingAESKey must be 43 characters, got {}",
                encoding_aes_key.len()
            )));
        }
        let key = b64_decode_lenient(&format!("{encoding_aes_key}="))
            .map_err(|e| IntakeError::Config(format!("EncodingAESKey is not base64: {e}")))?;
        let key: [u8; 32] = key.try_into().map_err(|_| {
            IntakeError::Config("EncodingAESKey does not decode to 32 bytes".into())
        })?;
        Ok(WeComCrypto {
            token: token.into(),
            key,
            receive_id: receive_id.into(),
        })
    }

    fn check_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), IntakeError> {
        let want = signature(&self.token, timestamp, nonce, encrypt);
        if constant_time_eq(
            want.as_bytes(),
            msg_signature.trim().to_ascii_lowercase().as_bytes(),
        ) {
            Ok(())
        } else {
            Err(IntakeError::BadSignature)
        }
    }

    /// The GET that verifies the callback URL: the text to answer (200, text/plain).
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String, IntakeError> {
        self.check_signature(msg_signature, timestamp, nonce, echostr)?;
        self.decrypt(echostr)
    }

    /// A POSTed callback: checks the signature over its `Encrypt` field and returns the
    /// decrypted message XML.
    pub fn decrypt_message(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &str,
    ) -> Result<String, IntakeError> {
        let doc = xml::parse(body)?;
        let encrypt = doc
            .child_text("Encrypt")
            .ok_or(IntakeError::MissingField("Encrypt"))?;
        self.check_signature(msg_signature, timestamp, nonce, encrypt)?;
        self.decrypt(encrypt)
    }

    /// Decrypts one `Encrypt` value (no signature check: use the methods above).
    pub fn decrypt(&self, encrypt: &str) -> Result<String, IntakeError> {
        let mut data =
            b64_decode(encrypt.trim()).map_err(|e| IntakeError::BadBase64(e.to_string()))?;
        if data.is_empty() || data.len() % 16 != 0 {
            return Err(IntakeError::BadCiphertextLength(data.len()));
        }
        let cipher = Aes256::new(GenericArray::from_slice(&self.key));
        let mut prev = [0u8; 16];
        prev.copy_from_slice(&self.key[..16]);
        for block in data.chunks_exact_mut(16) {
            let mut cur = [0u8; 16];
            cur.copy_from_slice(block);
            cipher.decrypt_block(GenericArray::from_mut_slice(block));
            for (b, p) in block.iter_mut().zip(prev) {
                *b ^= p;
            }
            prev = cur;
        }
        let pad = usize::from(*data.last().ok_or(IntakeError::BadPadding)?);
        if pad == 0 || pad > PAD_BLOCK || pad > data.len() {
            return Err(IntakeError::BadPadding);
        }
        if !data[data.len() - pad..]
            .iter()
            .all(|&b| usize::from(b) == pad)
        {
            return Err(IntakeError::BadPadding);
        }
        data.truncate(data.len() - pad);
        if data.len() < 20 {
            return Err(IntakeError::BadFrame(format!(
                "{} bytes, fewer than 20",
                data.len()
            )));
        }
        let len = u32::from_be_bytes([data[16], data[17], data[18], data[19]]) as usize;
        if len > data.len() - 20 {
            return Err(IntakeError::BadFrame(format!(
                "length field {len} exceeds the {} bytes present",
                data.len() - 20
            )));
        }
        let msg = &data[20..20 + len];
        let rid = &data[20 + len..];
        if rid != self.receive_id.as_bytes() {
            return Err(IntakeError::WrongReceiveId {
                got: String::from_utf8_lossy(rid).into_owned(),
            });
        }
        String::from_utf8(msg.to_vec()).map_err(|_| IntakeError::NotUtf8)
    }

    /// Encrypts `message` with the given 16 random bytes (tests pass fixed ones).
    pub fn encrypt_with(&self, message: &str, random: [u8; 16]) -> String {
        let mut data = Vec::with_capacity(20 + message.len() + self.receive_id.len() + PAD_BLOCK);
        data.extend_from_slice(&random);
        data.extend_from_slice(&(message.len() as u32).to_be_bytes());
        data.extend_from_slice(message.as_bytes());
        data.extend_from_slice(self.receive_id.as_bytes());
        let pad = PAD_BLOCK - data.len() % PAD_BLOCK;
        data.resize(data.len() + pad, pad as u8);
        let cipher = Aes256::new(GenericArray::from_slice(&self.key));
        let mut prev = [0u8; 16];
        prev.copy_from_slice(&self.key[..16]);
        for block in data.chunks_exact_mut(16) {
            for (b, p) in block.iter_mut().zip(prev) {
                *b ^= p;
            }
            cipher.encrypt_block(GenericArray::from_mut_slice(block));
            prev.copy_from_slice(block);
        }
        b64(&data)
    }

    /// The encrypted passive reply document for `reply_xml`, with fixed randomness.
    pub fn encrypt_reply_with(
        &self,
        reply_xml: &str,
        timestamp: &str,
        nonce: &str,
        random: [u8; 16],
    ) -> String {
        let encrypt = self.encrypt_with(reply_xml, random);
        let sig = signature(&self.token, timestamp, nonce, &encrypt);
        format!(
            "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
            xml::cdata(&encrypt),
            xml::cdata(&sig),
            xml::cdata(timestamp),
            xml::cdata(nonce)
        )
    }

    /// The encrypted passive reply document for `reply_xml` (answer it with 200).
    pub fn encrypt_reply(&self, reply_xml: &str, timestamp: &str, nonce: &str) -> String {
        self.encrypt_reply_with(reply_xml, timestamp, nonce, rand::random())
    }
}

/// A decrypted callback message. Text messages have `content`; group messages a `chat_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeComMessage {
    pub to_user_name: String,
    pub from_user_name: String,
    /// Unix seconds.
    pub create_time: i64,
    pub msg_type: String,
    pub content: Option<String>,
    pub msg_id: Option<String>,
    pub agent_id: Option<String>,
    pub chat_id: Option<String>,
    /// Event name for `msg_type = "event"`.
    pub event: Option<String>,
}

impl WeComMessage {
    pub fn is_text(&self) -> bool {
        self.msg_type == "text"
    }
}

/// Parses a decrypted message XML.
pub fn parse_message(xml_text: &str) -> Result<WeComMessage, IntakeError> {
    let doc = xml::parse(xml_text)?;
    let req = |name: &'static str| {
        doc.child_text(name)
            .map(str::to_string)
            .ok_or(IntakeError::MissingField(name))
    };
    let opt = |name: &str| {
        doc.child_text(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let create_time = req("CreateTime")?;
    let msg = WeComMessage {
        to_user_name: req("ToUserName")?,
        from_user_name: req("FromUserName")?,
        create_time: create_time
            .trim()
            .parse()
            .map_err(|_| IntakeError::Xml(format!("CreateTime {create_time:?} is not a number")))?,
        msg_type: req("MsgType")?,
        content: doc.child_text("Content").map(str::to_string),
        msg_id: opt("MsgId"),
        agent_id: opt("AgentID"),
        chat_id: opt("ChatId"),
        event: opt("Event"),
    };
    if msg.is_text() && msg.content.is_none() {
        return Err(IntakeError::MissingField("Content"));
    }
    Ok(msg)
}

/// A passive text reply (before encryption): to the sender, from our corp id.
pub fn text_reply_xml(to_user: &str, from_corp: &str, create_time: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime><MsgType>{}</MsgType><Content>{}</Content></xml>",
        xml::cdata(to_user),
        xml::cdata(from_corp),
        xml::cdata("text"),
        xml::cdata(content)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    #[test]
    fn round_trip_and_tamper() {
        let c = WeComCrypto::new("tok", KEY, "corp").unwrap();
        for msg in ["", "a", &"长".repeat(100)] {
            let enc = c.encrypt_with(msg, [7; 16]);
            assert_eq!(c.decrypt(&enc).unwrap(), msg);
        }
        let other = WeComCrypto::new("tok", KEY, "corp2").unwrap();
        let enc = c.encrypt_with("x", [7; 16]);
        assert!(
            matches!(other.decrypt(&enc), Err(IntakeError::WrongReceiveId { got }) if got == "corp")
        );
        assert!(matches!(
            c.decrypt("AAAA"),
            Err(IntakeError::BadCiphertextLength(3))
        ));
        assert!(matches!(c.decrypt("%%"), Err(IntakeError::BadBase64(_))));
        assert!(WeComCrypto::new("tok", &KEY[1..], "corp").is_err());
    }

    #[test]
    fn reply_document_verifies() {
        let c = WeComCrypto::new("tok", KEY, "corp").unwrap();
        let reply = text_reply_xml("zhangsan", "corp", 1, "收到]]>");
        let doc = c.encrypt_reply(&reply, "123", "n");
        let parsed = xml::parse(&doc).unwrap();
        let sig = parsed.child_text("MsgSignature").unwrap();
        let back = c.decrypt_message(sig, "123", "n", &doc).unwrap();
        assert_eq!(back, reply);
        let m = parse_message(&back).unwrap();
        assert_eq!(m.content.as_deref(), Some("收到]]>"));
        assert!(matches!(
            c.decrypt_message(sig, "124", "n", &doc),
            Err(IntakeError::BadSignature)
        ));
    }
}
