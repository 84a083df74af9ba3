//! When a message may go out: not during the quiet hours of the contact's own day (it waits
//! until they end), and not beyond the channel's frequency cap (it is skipped).

use app::api::QuietHours;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::clock::Millis;

pub const DEFAULT_TIME_ZONE_ATTRIBUTE: &str = "time_zone";
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// Quiet hours as checked when saved: times and the default zone parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quiet {
    start: NaiveTime,
    end: NaiveTime,
    default_zone: Tz,
}

/// The reason quiet hours cannot be used, naming the field.
pub fn check(quiet: &QuietHours) -> Result<Quiet, String> {
    let time = |field: &str, text: &str| {
        NaiveTime::parse_from_str(text.trim(), "%H:%M").map_err(|_| {
            format!("quiet_hours.{field}: \"{text}\" is not a time of day; write it like 21:00.")
        })
    };
    let start = time("start", &quiet.start)?;
    let end = time("end", &quiet.end)?;
    if start == end {
        return Err("quiet_hours: start and end are the same time; leave quiet hours out to send at any hour.".to_owned());
    }
    let zone = zone_name(&quiet.default_time_zone);
    let default_zone = zone.parse::<Tz>().map_err(|_| {
        format!(
            "quiet_hours.default_time_zone: \"{zone}\" is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)."
        )
    })?;
    Ok(Quiet {
        start,
        end,
        default_zone,
    })
}

/// The zone's name with the default filled in.
pub fn zone_name(given: &str) -> &str {
    match given.trim() {
        "" => DEFAULT_TIME_ZONE,
        name => name,
    }
}

/// The attribute's name with the default filled in.
pub fn zone_attribute(given: &str) -> &str {
    match given.trim() {
        "" => DEFAULT_TIME_ZONE_ATTRIBUTE,
        name => name,
    }
}

/// When the quiet hours the contact is in at `now` end, with the zone they were reckoned in;
/// `None` when the contact is not in them.
pub fn quiet_until(
    quiet: &Quiet,
    zone_attribute: &str,
    contact: &Map<String, Value>,
    now: Millis,
) -> Option<(Millis, Tz)> {
    let zone = contact
        .get(zone_attribute)
        .and_then(Value::as_str)
        .and_then(|name| name.trim().parse::<Tz>().ok())
        .unwrap_or(quiet.default_zone);
    let local = DateTime::<Utc>::from_timestamp_millis(now)?.with_timezone(&zone);
    let time = local.time();
    let inside = if quiet.start < quiet.end {
        quiet.start <= time && time < quiet.end
    } else {
        time >= quiet.start || time < quiet.end
    };
    if !inside {
        return None;
    }
    let day = if time < quiet.end {
        local.date_naive()
    } else {
        local.date_naive().succ_opt()?
    };
    let wall = day.and_time(quiet.end);
    // A wall time skipped by a DST change (02:30 on the spring night) is reached an hour on.
    let ends = zone.from_local_datetime(&wall).earliest().or_else(|| {
        zone.from_local_datetime(&(wall + Duration::hours(1)))
            .earliest()
    })?;
    Some((ends.timestamp_millis(), zone))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn quiet(start: &str, end: &str, zone: &str) -> Quiet {
        check(&QuietHours {
            start: start.to_owned(),
            end: end.to_owned(),
            time_zone_attribute: String::new(),
            default_time_zone: zone.to_owned(),
        })
        .expect("valid")
    }

    fn at(rfc3339: &str) -> Millis {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("a time")
            .timestamp_millis()
    }

    fn contact(zone: &str) -> Map<String, Value> {
        json!({"time_zone": zone})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn quiet_hours_spanning_midnight_hold_until_the_morning_in_the_contacts_zone() {
        let night = quiet("21:00", "08:00", "UTC");
        // 22:30 in Paris (CET, UTC+1): held until 08:00 Paris the next day.
        let paris = contact("Europe/Paris");
        let (until, zone) =
            quiet_until(&night, "time_zone", &paris, at("2026-12-03T21:30:00Z")).expect("quiet");
        assert_eq!(zone, chrono_tz::Europe::Paris);
        assert_eq!(until, at("2026-12-04T07:00:00Z"));
        // 07:00 Paris: held one hour.
        assert_eq!(
            quiet_until(&night, "time_zone", &paris, at("2026-12-04T06:00:00Z"))
                .map(|(until, _)| until),
            Some(at("2026-12-04T07:00:00Z"))
        );
        // 12:00 Paris: sent.
        assert_eq!(
            quiet_until(&night, "time_zone", &paris, at("2026-12-04T11:00:00Z")),
            None
        );
        // The same instant is daytime in New York... and night without a zone (the default, UTC).
        assert_eq!(
            quiet_until(
                &night,
                "time_zone",
                &contact("America/New_York"),
                at("2026-12-03T21:30:00Z")
            ),
            None
        );
        assert!(
            quiet_until(
                &night,
                "time_zone",
                &contact("Not/AZone"),
                at("2026-12-03T21:30:00Z")
            )
            .is_some()
        );
    }

    #[test]
    fn quiet_hours_within_a_day_and_across_a_dst_change() {
        let lunch = quiet("12:00", "14:00", "Europe/Paris");
        let nobody = Map::new();
        assert_eq!(
            quiet_until(&lunch, "time_zone", &nobody, at("2026-07-01T11:00:00Z"))
                .map(|(until, _)| until),
            Some(at("2026-07-01T12:00:00Z"))
        );
        assert_eq!(
            quiet_until(&lunch, "time_zone", &nobody, at("2026-07-01T12:00:00Z")),
            None
        );
        // Paris springs forward at 02:00 on 29 March 2026: 02:30 does not exist that night.
        let early = quiet("01:00", "02:30", "Europe/Paris");
        assert_eq!(
            quiet_until(&early, "time_zone", &nobody, at("2026-03-29T00:30:00Z"))
                .map(|(until, _)| until),
            Some(at("2026-03-29T01:30:00Z"))
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let with = |start: &str, end: &str, zone: &str| {
            check(&QuietHours {
                start: start.to_owned(),
                end: end.to_owned(),
                time_zone_attribute: String::new(),
                default_time_zone: zone.to_owned(),
            })
        };
        assert!(
            with("25:00", "08:00", "")
                .expect_err("hour")
                .contains("quiet_hours.start")
        );
        assert!(with("21:00", "21:00", "").is_err());
        assert!(
            with("21:00", "08:00", "Mars/Olympus")
                .expect_err("zone")
                .contains("default_time_zone")
        );
        assert!(with("21:00", "8:00", "").is_ok());
    }
}
