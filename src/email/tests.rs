use std::{
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    sync::mpsc,
    thread,
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::STANDARD};

use super::*;

const RESET_URL: &str = "https://alliance.example.cn/password-reset/AbC-123_xyz";

fn reset_email() -> PasswordResetEmail {
    PasswordResetEmail {
        display_name: "王小明".to_owned(),
        reset_url: RESET_URL.to_owned(),
        expires_in_minutes: 30,
    }
}

fn recipient() -> Mailbox {
    "王小明 <xiaoming@example.com>".parse().unwrap()
}

#[tokio::test]
async fn the_memory_outbox_captures_a_password_reset_in_chinese() {
    let (mailer, outbox) = Mailer::memory();
    mailer
        .send(&recipient(), &reset_email(), Locale::ZhCn)
        .await
        .unwrap();

    let sent = outbox.last_to("xiaoming@example.com").expect("an email");
    assert_eq!(sent.subject, "重置密码");
    for body in [&sent.text, &sent.html] {
        assert!(body.contains("王小明，您好："), "{body}");
        assert!(body.contains("只能使用一次，30 分钟后失效"), "{body}");
        assert!(body.contains("请忽略本邮件"), "{body}");
        assert!(body.contains("这是一封系统自动发送的邮件"), "{body}");
    }
    assert!(sent.text.contains(RESET_URL), "{}", sent.text);
    assert!(
        sent.html.contains(r#"<html lang="zh-CN">"#),
        "{}",
        sent.html
    );
    assert!(sent.html.contains("积分联盟 Alliance"), "{}", sent.html);
    assert!(
        sent.html.contains(&format!(r#"href="{RESET_URL}""#)),
        "{}",
        sent.html
    );
    assert_eq!(outbox.sent().len(), 1);
}

#[tokio::test]
async fn the_memory_outbox_captures_a_password_reset_in_english() {
    let (mailer, outbox) = Mailer::memory();
    mailer
        .send(&recipient(), &reset_email(), Locale::En)
        .await
        .unwrap();

    let sent = outbox.last_to("XiaoMing@example.com").expect("an email");
    assert_eq!(sent.subject, "Reset your password");
    for body in [&sent.text, &sent.html] {
        assert!(body.contains("Hello 王小明,"), "{body}");
        assert!(
            body.contains("works once and expires in 30 minutes"),
            "{body}"
        );
        assert!(
            body.contains("If you did not ask to reset your password"),
            "{body}"
        );
        assert!(body.contains("This is an automated message"), "{body}");
        assert!(
            !body.contains("重置密码"),
            "no Chinese in an English email: {body}"
        );
    }
    assert!(sent.text.contains(RESET_URL), "{}", sent.text);
    assert!(sent.html.contains(r#"<html lang="en">"#), "{}", sent.html);
    assert!(outbox.last_to("someone-else@example.com").is_none());
}

#[tokio::test]
async fn a_display_name_cannot_inject_html() {
    let (mailer, outbox) = Mailer::memory();
    let email = PasswordResetEmail {
        display_name: "<b>Mallory</b>".to_owned(),
        ..reset_email()
    };
    mailer.send(&recipient(), &email, Locale::En).await.unwrap();

    let sent = outbox.sent().pop().unwrap();
    assert!(sent.html.contains("Mallory"), "{}", sent.html);
    assert!(
        !sent.html.contains("<b>"),
        "the name is escaped: {}",
        sent.html
    );
    assert!(
        sent.text.contains("Hello <b>Mallory</b>,"),
        "text is not HTML: {}",
        sent.text
    );
}

#[test]
fn logged_addresses_are_masked() {
    let address: Address = "xiaoming@example.com".parse().unwrap();
    assert_eq!(masked(&address), "x***@example.com");
}

#[tokio::test]
async fn without_smtp_an_eml_file_with_both_parts_is_written_to_the_outbox() {
    let dir =
        std::env::temp_dir().join(format!("alliance-outbox-{}", crate::crypto::random_token()));
    let mut config = Config::from_env().expect("development configuration");
    config.smtp_url = None;
    config.outbox_dir = dir.clone();
    let mailer = Mailer::from_config(&config).unwrap();

    mailer
        .send(&recipient(), &reset_email(), Locale::En)
        .await
        .unwrap();

    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let message = ParsedMessage::parse(&raw);
    assert_eq!(message.header("Subject"), "Reset your password");
    assert!(
        message.header("To").contains("<xiaoming@example.com>"),
        "{raw}"
    );
    assert!(message.header("From").contains("noreply@"), "{raw}");
    assert!(message.header("Message-ID").contains('@'), "{raw}");
    assert!(!message.header("Date").is_empty(), "{raw}");
    assert!(
        message.text.contains("expires in 30 minutes"),
        "{}",
        message.text
    );
    assert!(message.text.contains(RESET_URL), "{}", message.text);
    assert!(
        message.html.contains("expires in 30 minutes"),
        "{}",
        message.html
    );
    assert!(message.html.contains("<a href="), "{}", message.html);
}

#[tokio::test]
async fn with_smtp_configured_the_email_goes_to_the_smtp_server() {
    let (port, received) = one_message_smtp_server();
    let mut config = Config::from_env().expect("development configuration");
    config.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
    let mailer = Mailer::from_config(&config).unwrap();

    mailer
        .send(&recipient(), &reset_email(), Locale::ZhCn)
        .await
        .unwrap();

    let session = received
        .recv_timeout(Duration::from_secs(10))
        .expect("the server got a message");
    assert!(
        session
            .envelope
            .iter()
            .any(|c| c == "RCPT TO:<xiaoming@example.com>"),
        "{:?}",
        session.envelope
    );
    let message = ParsedMessage::parse(&session.data);
    assert_eq!(message.header("Subject"), "重置密码");
    assert!(message.text.contains("王小明，您好："), "{}", message.text);
    assert!(message.text.contains(RESET_URL), "{}", message.text);
    assert!(message.html.contains("30 分钟后失效"), "{}", message.html);
    assert!(message.html.contains("<a href="), "{}", message.html);
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_an_error() {
    // A port that was free a moment ago: nothing listens on it now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = Config::from_env().expect("development configuration");
    config.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
    let mailer = Mailer::from_config(&config).unwrap();

    let error = mailer
        .send(&recipient(), &reset_email(), Locale::En)
        .await
        .unwrap_err();
    assert!(matches!(error, EmailError::Smtp(_)), "{error:?}");
}

/// What the test SMTP server saw: the commands before DATA, and the message.
struct SmtpSession {
    envelope: Vec<String>,
    data: String,
}

/// Just enough SMTP (RFC 5321) on a loopback port for lettre to deliver one
/// message, which it hands back. A plain thread and std networking: no SMTP
/// crate, and nothing asked of the tokio features.
fn one_message_smtp_server() -> (u16, mpsc::Receiver<SmtpSession>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut reply = |text: &str| writer.write_all(format!("{text}\r\n").as_bytes()).unwrap();
        reply("220 localhost ESMTP test");
        let mut envelope = Vec::new();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 {
            let command = line.trim_end().to_owned();
            line.clear();
            match command
                .get(..4)
                .unwrap_or_default()
                .to_ascii_uppercase()
                .as_str()
            {
                "EHLO" | "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => {
                    envelope.push(command);
                    reply("250 OK");
                }
                "DATA" => {
                    reply("354 End data with <CR><LF>.<CR><LF>");
                    let mut data = String::new();
                    while reader.read_line(&mut line).unwrap() > 0 && line != ".\r\n" {
                        // Undo dot-stuffing: a leading "." was doubled by the client.
                        data.push_str(line.strip_prefix('.').unwrap_or(&line));
                        line.clear();
                    }
                    line.clear();
                    reply("250 OK: queued");
                    let envelope = std::mem::take(&mut envelope);
                    sender.send(SmtpSession { envelope, data }).unwrap();
                }
                "QUIT" => {
                    reply("221 Bye");
                    return;
                }
                _ => reply("502 Command not implemented"),
            }
        }
    });
    (port, receiver)
}

/// A raw message read back just far enough to check it: unfolded headers, and
/// the decoded text and HTML parts of a `multipart/alternative` body.
struct ParsedMessage {
    headers: Vec<(String, String)>,
    text: String,
    html: String,
}

impl ParsedMessage {
    fn parse(raw: &str) -> Self {
        let (head, body) = raw.split_once("\r\n\r\n").expect("headers end");
        let headers = parse_headers(head);
        let content_type = &headers.iter().find(|(n, _)| n == "Content-Type").unwrap().1;
        assert!(
            content_type.starts_with("multipart/alternative"),
            "{content_type}"
        );
        let boundary = content_type
            .split("boundary=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a boundary");
        let (mut text, mut html) = (None, None);
        let (body, _epilogue) = body
            .split_once(&format!("--{boundary}--"))
            .expect("a closing boundary");
        for part in body.split(&format!("--{boundary}")).skip(1) {
            let (part_head, part_body) = part.split_once("\r\n\r\n").expect("part headers end");
            let part_headers = parse_headers(part_head.trim_start());
            let header = |name: &str| {
                part_headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or_default()
            };
            let decoded = decode_body(part_body, header("Content-Transfer-Encoding"));
            match header("Content-Type") {
                t if t.starts_with("text/plain") => text = Some(decoded),
                t if t.starts_with("text/html") => html = Some(decoded),
                other => panic!("unexpected part {other}"),
            }
        }
        Self {
            headers,
            text: text.expect("a text part"),
            html: html.expect("an HTML part"),
        }
    }

    fn header(&self, name: &str) -> String {
        let value = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        decode_encoded_words(value)
    }
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// RFC 2047 `=?utf-8?b?…?=` words, as lettre writes non-ASCII headers.
fn decode_encoded_words(value: &str) -> String {
    let words: Option<Vec<u8>> = value
        .split_whitespace()
        .map(|word| {
            let (prefix, payload) = word.strip_suffix("?=")?.split_at_checked(10)?;
            let payload = prefix
                .eq_ignore_ascii_case("=?utf-8?b?")
                .then_some(payload)?;
            STANDARD.decode(payload).ok()
        })
        .collect::<Option<Vec<_>>>()
        .map(|chunks| chunks.concat());
    match words {
        Some(bytes) if !value.is_empty() => String::from_utf8(bytes).unwrap(),
        _ => value.to_owned(),
    }
}

fn decode_body(body: &str, encoding: &str) -> String {
    let bytes = match encoding {
        "base64" => STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .unwrap(),
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
}

fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&joined[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}
