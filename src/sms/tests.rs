//! The transports.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};

use secrecy::SecretString;

use super::*;
use crate::config::Config;

fn phone() -> Phone {
    Phone::parse("13800138000").unwrap()
}

/// A message like a code's, for the transports.
struct CodeSms;

impl Sms for CodeSms {
    fn text(&self, _: Locale) -> String {
        "【积分联盟】验证码 042917，5 分钟内有效。".to_owned()
    }
}

fn code_sms() -> CodeSms {
    CodeSms
}

#[test]
fn the_code_is_read_back_from_the_text() {
    let sent = SentSms {
        to: "13800138000".to_owned(),
        text: code_sms().text(Locale::En),
    };
    assert_eq!(sent.code().as_deref(), Some("042917"));
    let none = SentSms {
        to: "13800138000".to_owned(),
        text: "【积分联盟】该号码已注册。".to_owned(),
    };
    assert_eq!(none.code(), None);
}

#[tokio::test]
async fn the_memory_outbox_keeps_messages_by_number() {
    let (sender, outbox) = SmsSender::memory();
    sender
        .send(&phone(), &code_sms(), Locale::ZhCn)
        .await
        .unwrap();
    let sent = outbox.last_to("+86 138 0013 8000").unwrap();
    assert_eq!(sent.code().as_deref(), Some("042917"));
    assert!(outbox.last_to("13900000000").is_none());
}

#[tokio::test]
async fn without_a_provider_messages_are_files_in_the_outbox_folder() {
    let dir = std::env::temp_dir().join(format!("alliance-sms-{}", crate::crypto::random_hex_id()));
    let mut config = Config::from_env().unwrap();
    config.sms_url = None;
    config.sms_outbox_dir = dir.clone();
    let sender = SmsSender::from_config(&config).unwrap();
    sender
        .send(&phone(), &code_sms(), Locale::En)
        .await
        .unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1);
    let content = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(
        content.starts_with("To: +8613800138000\n") && content.contains("042917"),
        "{content}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A one-request HTTP server: answers `status` and hands back what it got.
fn provider_stub(status: u16) -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/sms/send", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap();
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = reader.into_inner();
        write!(
            stream,
            "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        format!("{head}\n{}", String::from_utf8(body).unwrap())
    });
    (url, handle)
}

fn provider_config(url: String) -> Config {
    let mut config = Config::from_env().unwrap();
    config.sms_url = Some(SecretString::from(url));
    config.sms_token = Some(SecretString::from("provider-token-1"));
    config
}

#[tokio::test]
async fn the_provider_gets_json_with_the_bearer_token() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (url, request) = provider_stub(200);
    let sender = SmsSender::from_config(&provider_config(url)).unwrap();
    sender
        .send(&phone(), &code_sms(), Locale::En)
        .await
        .unwrap();
    let request = request.join().unwrap();
    assert!(request.starts_with("POST /sms/send HTTP/1.1"), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: bearer provider-token-1"),
        "{request}"
    );
    let body: serde_json::Value =
        serde_json::from_str(request.split("\n\n").last().unwrap()).unwrap();
    assert_eq!(body["to"], "+8613800138000");
    assert!(body["text"].as_str().unwrap().contains("042917"));
}

#[tokio::test]
async fn a_provider_refusal_is_an_error() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (url, request) = provider_stub(503);
    let sender = SmsSender::from_config(&provider_config(url)).unwrap();
    let error = sender
        .send(&phone(), &code_sms(), Locale::En)
        .await
        .unwrap_err();
    request.join().unwrap();
    assert!(
        matches!(error, SmsError::Provider(provider::ProviderError::Refused(s)) if s == 503),
        "{error:?}"
    );
}

#[test]
fn a_provider_url_must_be_http() {
    let error =
        SmsSender::from_config(&provider_config("ftp://sms.example".to_owned())).unwrap_err();
    assert!(error.to_string().contains("ALLIANCE_SMS_URL"), "{error}");
}
