//! Ready-made provider shapes a channel's form can start from, kept as data
//! (`presets.json`): a form-encoded SMS API and a JSON push API.

use app::api::ProviderPreset;

const PRESETS: &str = include_str!("presets.json");

pub fn presets() -> Vec<ProviderPreset> {
    // The file ships with the binary and a test reads it, so it parses.
    serde_json::from_str(PRESETS).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use app::api::{AuthIn, ChannelIn, ReceiptAuthIn};

    use super::*;
    use crate::messaging::channel::ChannelSettings;

    #[test]
    fn every_preset_is_valid_once_its_secrets_are_filled_in() {
        let presets: Vec<ProviderPreset> = serde_json::from_str(PRESETS).expect("presets parse");
        assert_eq!(presets.len(), 2);
        for preset in presets {
            let mut provider = preset.provider.clone();
            provider.auth = match provider.auth {
                AuthIn::Basic { username, .. } => AuthIn::Basic {
                    username,
                    password: Some("pw".to_owned()),
                },
                AuthIn::Bearer { .. } => AuthIn::Bearer {
                    token: Some("token".to_owned()),
                },
                other => other,
            };
            provider.receipts.auth = match provider.receipts.auth {
                ReceiptAuthIn::Hmac { header, .. } => ReceiptAuthIn::Hmac {
                    header,
                    secret: Some("secret".to_owned()),
                },
                ReceiptAuthIn::Basic { username, .. } => ReceiptAuthIn::Basic {
                    username,
                    password: Some("pw".to_owned()),
                },
            };
            for &channel in &preset.channels {
                let defaults = ChannelSettings::default_for(channel, "email");
                ChannelSettings::from_input(
                    channel,
                    ChannelIn {
                        provider: Some(provider.clone()),
                        ..ChannelIn::default()
                    },
                    &defaults,
                    &defaults,
                )
                .unwrap_or_else(|error| panic!("preset {}: {error}", preset.id));
            }
        }
    }
}
