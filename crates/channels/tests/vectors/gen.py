#!/usr/bin/env python3
"""Independent reference vectors for suqiu-channels' chat-group crypto and signatures.

Written from the vendors' published descriptions with Python's `cryptography`
package, hashlib and hmac, not from the Rust code. Randomness is fixed so the
Rust side can compare its own encryption byte for byte. Run from this folder:

    pip install cryptography && python3 gen.py

It rewrites wecom.json, dingtalk.json, webhook.json and tls.json here.
"""
import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import struct
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

# ---------------------------------------------------------------- WeCom (企业微信)
TOKEN = "QDG6eK"
# 43 characters; base64-decoding it plus "=" gives the 32-byte AES key.
ENCODING_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wx5823bf96d3bd56c7"


def aes_key(encoding_aes_key):
    key = base64.b64decode(encoding_aes_key + "=")
    assert len(key) == 32
    return key


def pkcs7_pad32(data):
    n = 32 - (len(data) % 32)
    return data + bytes([n]) * n


def aes_cbc_encrypt_raw(key, padded):
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return enc.update(padded) + enc.finalize()


def wecom_plain(random16, msg, receive_id):
    m = msg.encode("utf-8")
    return random16 + struct.pack(">I", len(m)) + m + receive_id.encode("utf-8")


def wecom_encrypt(key, random16, msg, receive_id):
    raw = aes_cbc_encrypt_raw(key, pkcs7_pad32(wecom_plain(random16, msg, receive_id)))
    return base64.b64encode(raw).decode("ascii")


def wecom_sign(token, timestamp, nonce, encrypt):
    parts = sorted([token, timestamp, nonce, encrypt])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def wecom_vectors():
    key = aes_key(ENCODING_AES_KEY)
    out = {
        "token": TOKEN,
        "encoding_aes_key": ENCODING_AES_KEY,
        "aes_key_hex": key.hex(),
        "receive_id": CORP_ID,
        "messages": [],
        "url_verification": {},
        "bad": [],
    }
    # URL verification: the echostr is encrypted like a message.
    random16 = bytes(range(16))
    echo = "4527012539474358913"
    echostr = wecom_encrypt(key, random16, echo, CORP_ID)
    out["url_verification"] = {
        "timestamp": "1409659589",
        "nonce": "263014780",
        "echostr": echostr,
        "msg_signature": wecom_sign(TOKEN, "1409659589", "263014780", echostr),
        "plain": echo,
    }
    # Messages: a group text message (with ChatId), a direct text message, and a
    # plaintext whose length is already a multiple of 32 (a whole padding block).
    group_text = (
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
        "<FromUserName><![CDATA[zhangsan]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[小区门口路灯坏了三天，晚上很黑 <请尽快> & 谢谢]]></Content>"
        "<MsgId>7311234567890123456</MsgId>"
        "<AgentID>1000002</AgentID>"
        "<ChatId><![CDATA[wrkSFfCgAALFgnrSsWU38puA]]></ChatId>"
        "</xml>"
    )
    direct_text = (
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
        "<FromUserName><![CDATA[lisi]]></FromUserName>"
        "<CreateTime>1700000100</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        "<Content>a &lt; b &amp;&amp; c &#25105;</Content>"
        "<MsgId>7311234567890123999</MsgId>"
        "<AgentID>1000002</AgentID>"
        "</xml>"
    )
    for i, xml in enumerate([group_text, direct_text]):
        r = hashlib.sha256(b"random" + bytes([i])).digest()[:16]
        enc = wecom_encrypt(key, r, xml, CORP_ID)
        ts, nonce = str(1700000000 + i), "nonce%d" % i
        out["messages"].append({
            "timestamp": ts,
            "nonce": nonce,
            "random_hex": r.hex(),
            "plain": xml,
            "encrypt": enc,
            "msg_signature": wecom_sign(TOKEN, ts, nonce, enc),
            "post_body": "<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (CORP_ID, enc),
        })
    # Block-aligned plaintext: 16 + 4 + len(msg) + len(corp id) == 64.
    msg = "x" * (64 - 16 - 4 - len(CORP_ID))
    r = b"\x11" * 16
    assert len(wecom_plain(r, msg, CORP_ID)) % 32 == 0
    enc = wecom_encrypt(key, r, msg, CORP_ID)
    out["messages"].append({
        "timestamp": "1700000500",
        "nonce": "aligned",
        "random_hex": r.hex(),
        "plain": msg,
        "encrypt": enc,
        "msg_signature": wecom_sign(TOKEN, "1700000500", "aligned", enc),
    })
    # A passive reply, encrypted with fixed randomness: the Rust side must produce it exactly.
    reply = (
        "<xml><ToUserName><![CDATA[zhangsan]]></ToUserName>"
        "<FromUserName><![CDATA[wx5823bf96d3bd56c7]]></FromUserName>"
        "<CreateTime>1700000001</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[已收到，查询码 SQ-2024-0001]]></Content></xml>"
    )
    r = bytes.fromhex("00112233445566778899aabbccddeeff")
    enc = wecom_encrypt(key, r, reply, CORP_ID)
    out["reply"] = {
        "timestamp": "1700000001",
        "nonce": "replynonce",
        "random_hex": r.hex(),
        "plain": reply,
        "encrypt": enc,
        "msg_signature": wecom_sign(TOKEN, "1700000001", "replynonce", enc),
    }

    def bad(name, encrypt, why):
        ts, nonce = "1700000900", "bad"
        out["bad"].append({
            "name": name, "why": why, "timestamp": ts, "nonce": nonce,
            "encrypt": encrypt, "msg_signature": wecom_sign(TOKEN, ts, nonce, encrypt),
        })

    r = b"\x22" * 16
    bad("wrong_receive_id", wecom_encrypt(key, r, "<xml/>", "wwOTHERCORP"), "receiveid")
    # Padding byte 0 (invalid), otherwise a well-formed frame.
    p = wecom_plain(r, "<xml/>", CORP_ID)
    n = 32 - len(p) % 32
    padded = p + bytes([n]) * (n - 1) + b"\x00"
    bad("pad_zero", base64.b64encode(aes_cbc_encrypt_raw(key, padded)).decode(), "padding")
    # Padding length larger than the block size (33).
    padded = p + bytes([n]) * n
    padded = padded[:-1] + b"\x21"
    bad("pad_too_long", base64.b64encode(aes_cbc_encrypt_raw(key, padded)).decode(), "padding")
    # Inconsistent padding bytes.
    if n >= 2:
        padded = p + bytes([n]) * (n - 2) + bytes([n - 1]) + bytes([n])
        bad("pad_inconsistent", base64.b64encode(aes_cbc_encrypt_raw(key, padded)).decode(), "padding")
    # Length field larger than the frame.
    m = b"<xml/>"
    frame = r + struct.pack(">I", 5000) + m + CORP_ID.encode()
    bad("length_overflow", base64.b64encode(aes_cbc_encrypt_raw(key, pkcs7_pad32(frame))).decode(), "length")
    # Encrypted with another AES key.
    other = aes_key("a" * 43)
    bad("wrong_key", wecom_encrypt(other, r, "<xml/>", CORP_ID), "padding_or_receiveid")
    return out


# ---------------------------------------------------------------- DingTalk (钉钉)
def dingtalk_sign(secret, timestamp_ms):
    s = "%s\n%s" % (timestamp_ms, secret)
    d = hmac.new(secret.encode("utf-8"), s.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(d).decode("ascii")


def dingtalk_vectors():
    secret = "SEC1a2b3c4d5e6f7g8h9i0jkLMNopQRstUVwxYZ+/="
    app_secret = "appsecret_Ab+/9xYz-Q"
    out = {"robot": [], "outgoing": {}}
    for ts in ["1700000000000", "1577262236757", "1711111111111"]:
        sig = dingtalk_sign(secret, ts)
        out["robot"].append({
            "secret": secret, "timestamp": ts, "sign": sig,
            "sign_urlencoded": urllib.parse.quote_plus(sig),
        })
    body = {
        "msgtype": "text",
        "text": {"content": " 我们村的水管爆了，请帮忙 "},
        "msgId": "msgZWIw0c7zD0qHu/Ur9u1Z1Q==",
        "createAt": 1700000000123,
        "conversationType": "2",
        "conversationId": "cidZ4cZ2IK8ZlyL6FsgOqa4bA==",
        "conversationTitle": "幸福村村民群",
        "senderId": "$:LWCP_v1:$abc123",
        "senderNick": "王大妈",
        "senderCorpId": "ding1234",
        "senderStaffId": "0123456789",
        "chatbotUserId": "$:LWCP_v1:$bot",
        "isAdmin": False,
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=xyz",
        "sessionWebhookExpiredTime": 1700005400000,
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}],
    }
    ts = "1700000000500"
    out["outgoing"] = {
        "app_secret": app_secret,
        "timestamp": ts,
        "sign": dingtalk_sign(app_secret, ts),
        "body": json.dumps(body, ensure_ascii=False),
    }
    return out


# ---------------------------------------------------------------- generic webhook
def webhook_vectors():
    secret = "whsec_test_8f1c"
    ts = "1700000000"
    body = json.dumps({"idempotency_key": "case-42:dispatched:1", "text": "测试"}, ensure_ascii=False,
                      separators=(",", ":"))
    mac = hmac.new(secret.encode(), (ts + "." + body).encode("utf-8"), hashlib.sha256).hexdigest()
    return {"secret": secret, "timestamp": ts, "body": body, "signature": "sha256=" + mac}


# ---------------------------------------------------------------- TLS test certificate
def tls_vectors():
    """A throw-away CA and a server certificate for 127.0.0.1/localhost (tests only)."""
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    later = datetime.datetime(2124, 1, 1, tzinfo=datetime.timezone.utc)
    ca_key = ec.derive_private_key(0x5EED_CA, ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "suqiu test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now).not_valid_after(later)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.derive_private_key(0x5EED_5E, ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now).not_valid_after(later)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM).decode()
    return {
        "ca_pem": pem(ca),
        "cert_pem": pem(cert),
        "key_pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode(),
    }


def write(name, obj):
    with open(name, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    write("wecom.json", wecom_vectors())
    write("dingtalk.json", dingtalk_vectors())
    write("webhook.json", webhook_vectors())
    write("tls.json", tls_vectors())
