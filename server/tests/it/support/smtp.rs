//! A local SMTP server that keeps every message it accepts (alerts, action nodes' emails), and
//! answers the end of a message with the replies a test queued (`451 …`, `550 …`) first.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    task::JoinHandle,
};

pub struct SmtpReceiver {
    port: u16,
    messages: Arc<Mutex<Vec<String>>>,
    replies: Arc<Mutex<VecDeque<String>>>,
    task: JoinHandle<()>,
}

impl SmtpReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let replies: Arc<Mutex<VecDeque<String>>> = Arc::default();
        let kept = messages.clone();
        let queued = replies.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                let queued = queued.clone();
                tokio::spawn(async move {
                    let (reader, mut writer) = stream.into_split();
                    let mut lines = BufReader::new(reader).lines();
                    let _ = writer.write_all(b"220 test ESMTP\r\n").await;
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(message) = &mut data {
                            if line == "." {
                                let reply = queued.lock().expect("lock").pop_front();
                                let reply = match reply {
                                    Some(reply) => reply,
                                    None => {
                                        kept.lock().expect("lock").push(std::mem::take(message));
                                        "250 queued".to_owned()
                                    }
                                };
                                data = None;
                                let _ = writer.write_all(format!("{reply}\r\n").as_bytes()).await;
                            } else {
                                message.push_str(&line);
                                message.push('\n');
                            }
                            continue;
                        }
                        let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                        let answer: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250 test\r\n",
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => {
                                let _ = writer.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"250 OK\r\n",
                        };
                        let _ = writer.write_all(answer).await;
                    }
                });
            }
        });
        Self {
            port,
            messages,
            replies,
            task,
        }
    }

    /// Answers the next messages with these replies (e.g. `451 4.3.0 try later`) instead of
    /// accepting them, in order.
    pub fn reply_next(&self, replies: &[&str]) {
        self.replies
            .lock()
            .expect("lock")
            .extend(replies.iter().map(|reply| (*reply).to_owned()));
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, headers and body as sent.
    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().expect("lock").clone()
    }

    /// Every message received, once there are at least `count` (within 5 s).
    pub async fn messages_when(&self, count: usize) -> Vec<String> {
        for _ in 0..500 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{count} emails never arrived: {:?}", self.messages());
    }
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
