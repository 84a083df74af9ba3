//! Links that report what a contact did with an email: an open pixel, click redirects and the
//! unsubscribe link. Each carries a token that names the message (and, for a click, the link)
//! with a MAC under a key derived from the server's secret key, so it cannot be forged,
//! altered or enumerated; a click's token also covers the URL it leads to, so the redirect
//! goes only where the email's author pointed (never an open redirect), and nothing per link
//! has to be stored before the email leaves.

use app::ids::MessageId;
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the MAC kept in a token: 128 bits cannot be guessed.
const MAC_BYTES: usize = 16;

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Open,
    /// The email's link at this index.
    Click(u16),
    Unsubscribe,
}

impl Purpose {
    fn tag(self) -> [u8; 3] {
        match self {
            Self::Open => [b'o', 0, 0],
            Self::Click(index) => {
                let [high, low] = index.to_be_bytes();
                [b'c', high, low]
            }
            Self::Unsubscribe => [b'u', 0, 0],
        }
    }

    fn of_tag(tag: [u8; 3]) -> Option<Self> {
        match tag {
            [b'o', 0, 0] => Some(Self::Open),
            [b'c', high, low] => Some(Self::Click(u16::from_be_bytes([high, low]))),
            [b'u', 0, 0] => Some(Self::Unsubscribe),
            _ => None,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Open => "/t/o/",
            Self::Click(_) => "/t/c/",
            Self::Unsubscribe => "/t/u/",
        }
    }
}

/// Makes and checks tracking links.
#[derive(Clone)]
pub struct Tracker {
    /// Where the server is reached from outside, without a trailing slash.
    base_url: String,
    /// The first signs; all verify.
    keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Tracker {
    pub fn new(base_url: &str, keys: Vec<[u8; 32]>) -> Self {
        assert!(!keys.is_empty(), "a tracker needs a key");
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            keys,
        }
    }

    /// The link for `purpose` of `message`; a click's covers `target`.
    pub fn link(&self, message: MessageId, purpose: Purpose, target: &str) -> String {
        let token = self.token(message, purpose, target);
        match purpose {
            Purpose::Click(_) => format!(
                "{}{}{token}?u={}",
                self.base_url,
                purpose.path(),
                URL_SAFE_NO_PAD.encode(target)
            ),
            Purpose::Open | Purpose::Unsubscribe => {
                format!("{}{}{token}", self.base_url, purpose.path())
            }
        }
    }

    fn token(&self, message: MessageId, purpose: Purpose, target: &str) -> String {
        let mut bytes = Vec::with_capacity(11 + MAC_BYTES);
        bytes.extend_from_slice(&message.get().to_be_bytes());
        bytes.extend_from_slice(&purpose.tag());
        let mac = mac(&self.keys[0], &bytes, target);
        bytes.extend_from_slice(&mac[..MAC_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The message and purpose a token names, if one of the keys made it for `target` (empty
    /// for opens and unsubscribes).
    pub fn verify(&self, token: &str, target: &str) -> Option<(MessageId, Purpose)> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() != 11 + MAC_BYTES {
            return None;
        }
        let (signed, given) = bytes.split_at(11);
        let genuine = self.keys.iter().any(|key| {
            let expected = mac(key, signed, target);
            // Constant time: the comparison must not tell how much of a guess was right.
            expected[..MAC_BYTES]
                .iter()
                .zip(given)
                .fold(0u8, |differ, (a, b)| differ | (a ^ b))
                == 0
        });
        if !genuine {
            return None;
        }
        let id = i64::from_be_bytes(signed[..8].try_into().ok()?);
        let purpose = Purpose::of_tag(signed[8..11].try_into().ok()?)?;
        Some((MessageId(id), purpose))
    }

    /// A click token's target, from the link's `u` parameter.
    pub fn click_target(encoded: &str) -> Option<String> {
        String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()
    }

    /// The email's HTML with each http(s) link leading through a click link, and the open
    /// pixel added; also returns the original links in order.
    pub fn track_html(&self, message: MessageId, html: &str) -> (String, Vec<String>) {
        let mut out = String::with_capacity(html.len() + 256);
        let mut links = Vec::new();
        let mut rest = html;
        while let Some((before, quote, value, after)) = next_href(rest) {
            out.push_str(before);
            let target = html_unescape(value);
            let is_web = target.starts_with("http://") || target.starts_with("https://");
            match u16::try_from(links.len()) {
                Ok(index) if is_web => {
                    let link = self.link(message, Purpose::Click(index), &target);
                    out.push_str(&super::compose::html_escape(&link));
                    links.push(target);
                }
                _ => out.push_str(value),
            }
            out.push(quote);
            rest = after;
        }
        out.push_str(rest);
        let pixel = format!(
            r#"<img src="{}" width="1" height="1" alt="" style="display:none">"#,
            super::compose::html_escape(&self.link(message, Purpose::Open, ""))
        );
        match out.to_ascii_lowercase().rfind("</body>") {
            Some(at) => out.insert_str(at, &pixel),
            None => out.push_str(&pixel),
        }
        (out, links)
    }
}

fn mac(key: &[u8; 32], signed: &[u8], target: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(signed);
    mac.update(target.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The text before the next quoted `href` value (up to and including its opening quote), the
/// quote, the value and the text after the closing quote.
fn next_href(html: &str) -> Option<(&str, char, &str, &str)> {
    // ASCII lowercasing keeps every byte offset.
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find("href").map(|at| from + at) {
        from = found + 4;
        // The attribute, not "href" inside other text.
        let is_attribute = found > 0 && lower.as_bytes()[found - 1].is_ascii_whitespace();
        let Some(value) = lower[from..].trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let quote = match value.chars().next() {
            Some(quote @ ('"' | '\'')) if is_attribute => quote,
            _ => continue,
        };
        let value_start = html.len() - value.len() + 1;
        let length = html[value_start..].find(quote)?;
        return Some((
            &html[..value_start],
            quote,
            &html[value_start..value_start + length],
            &html[value_start + length + 1..],
        ));
    }
    None
}

fn html_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> Tracker {
        Tracker::new("https://wf.example/", vec![[7; 32]])
    }

    fn token_of(link: &str) -> (&str, &str) {
        let (_, rest) = link.rsplit_once('/').expect("a path");
        rest.split_once("?u=").unwrap_or((rest, ""))
    }

    #[test]
    fn links_are_rewritten_and_verify_only_untouched() {
        let tracker = tracker();
        let html = r#"<html><body><a class="x" href="https://shop.example/cart?a=1&amp;b=2">cart</a>
            <a href='mailto:help@shop.example'>help</a> <A HREF = "http://shop.example/">home</A></body></html>"#;
        let (tracked, links) = tracker.track_html(MessageId(42), html);
        assert_eq!(
            links,
            vec!["https://shop.example/cart?a=1&b=2", "http://shop.example/"]
        );
        assert!(tracked.contains("href='mailto:help@shop.example'"));
        assert!(tracked.contains(r#"<img src="https://wf.example/t/o/"#));
        assert!(tracked.ends_with("</body></html>"));

        let first = tracked
            .split("href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a rewritten link")
            .replace("&amp;", "&");
        assert!(first.starts_with("https://wf.example/t/c/"), "{first}");
        let (token, encoded) = token_of(&first);
        let target = Tracker::click_target(encoded).expect("target");
        assert_eq!(target, "https://shop.example/cart?a=1&b=2");
        assert_eq!(
            tracker.verify(token, &target),
            Some((MessageId(42), Purpose::Click(0)))
        );
        // Another target under the same token: refused (no open redirect).
        assert_eq!(tracker.verify(token, "https://evil.example/"), None);
        // Another key: refused.
        assert_eq!(
            Tracker::new("https://wf.example", vec![[8; 32]]).verify(token, &target),
            None
        );
    }

    #[test]
    fn a_token_cannot_be_altered_or_reused_for_another_purpose() {
        let tracker = tracker();
        let link = tracker.link(MessageId(5), Purpose::Open, "");
        let (token, _) = token_of(&link);
        assert_eq!(
            tracker.verify(token, ""),
            Some((MessageId(5), Purpose::Open))
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(token).expect("base64");
        bytes[7] ^= 1; // message 4
        assert_eq!(tracker.verify(&URL_SAFE_NO_PAD.encode(&bytes), ""), None);
        bytes[7] ^= 1;
        bytes[8] = b'u';
        assert_eq!(tracker.verify(&URL_SAFE_NO_PAD.encode(&bytes), ""), None);
        assert_eq!(tracker.verify("not-a-token", ""), None);
        // A rotated-out key still verifies while the file keeps it.
        let rotated = Tracker::new("https://wf.example", vec![[9; 32], [7; 32]]);
        assert_eq!(
            rotated.verify(token, ""),
            Some((MessageId(5), Purpose::Open))
        );
    }

    #[test]
    fn a_pixel_is_added_to_html_without_a_body_tag() {
        let (tracked, links) = tracker().track_html(MessageId(1), "<p>no links</p>");
        assert!(links.is_empty());
        assert!(tracked.starts_with("<p>no links</p><img src=\"https://wf.example/t/o/"));
    }
}
