//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed with the base64 part of `whsec_…`.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::render::OutgoingRequest;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signing secret is not a whsec_ key in base64")]
pub struct BadSecret;

/// The `webhook-signature` value: one `v1,…` signature per secret, separated by spaces (during
/// a rotation's overlap both the new and the previous secret sign).
pub fn signature(
    secrets: &[&str],
    message_id: &str,
    timestamp_seconds: i64,
    body: &[u8],
) -> Result<String, BadSecret> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let key = secret.strip_prefix("whsec_").unwrap_or(secret);
        let key = STANDARD.decode(key).map_err(|_| BadSecret)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| BadSecret)?;
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_seconds.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        signatures.push(format!(
            "v1,{}",
            STANDARD.encode(mac.finalize().into_bytes())
        ));
    }
    Ok(signatures.join(" "))
}

/// Adds `webhook-id`, `webhook-timestamp` and `webhook-signature` over the request's final
/// body. Called just before sending: receivers refuse a timestamp more than a few minutes old
/// (Standard Webhooks libraries: five), and a request may wait for a send slot a while.
pub fn sign(
    request: &mut OutgoingRequest,
    secrets: &[&str],
    timestamp_seconds: i64,
) -> Result<(), BadSecret> {
    let signature = signature(
        secrets,
        &request.message_id,
        timestamp_seconds,
        &request.body,
    )?;
    request.headers.retain(|(name, _)| {
        !matches!(
            name.as_str(),
            "webhook-id" | "webhook-timestamp" | "webhook-signature"
        )
    });
    request
        .headers
        .push(("webhook-id".to_owned(), request.message_id.clone()));
    request.headers.push((
        "webhook-timestamp".to_owned(),
        timestamp_seconds.to_string(),
    ));
    request
        .headers
        .push(("webhook-signature".to_owned(), signature));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_request_carries_the_three_headers_over_its_body() {
        let mut request = OutgoingRequest {
            message_id: "msg_p5jXN8AQM9LWM0D4loKWxJek".to_owned(),
            method: app::api::HttpMethod::Post,
            url: url::Url::parse("https://example.com/hook").expect("a URL"),
            headers: vec![("user-agent".to_owned(), "test".to_owned())],
            body: br#"{"test": 2432232314}"#.to_vec(),
            missing: Vec::new(),
        };
        let secret = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"];
        sign(&mut request, &secret, 1).expect("signs");
        // Signing again (a retry) replaces the headers instead of adding a second set.
        sign(&mut request, &secret, 1_614_265_330).expect("signs");
        let names: Vec<&str> = request
            .headers
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "user-agent",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature"
            ]
        );
        assert_eq!(request.headers[2].1, "1614265330");
        assert_eq!(
            request.headers[3].1,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    /// The example in the Standard Webhooks specification.
    #[test]
    fn matches_the_specification_example() {
        let signed = signature(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .expect("a valid secret");
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn signs_with_every_secret_and_rejects_bad_ones() {
        let two = signature(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_AAAA"],
            "msg_1",
            1,
            b"{}",
        )
        .expect("valid secrets");
        assert_eq!(two.split(' ').count(), 2);
        assert_eq!(
            signature(&["whsec_not base64!"], "msg_1", 1, b"{}"),
            Err(BadSecret)
        );
    }
}
