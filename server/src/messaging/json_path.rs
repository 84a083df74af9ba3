//! The small subset of JSONPath that provider settings use to find one value: `$.sid`,
//! `$.data.reference`, `$.messages[0].id` (the `$.` may be left out).

use serde_json::Value;

/// A path that does not have that shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{0}\" is not a path Wayfarer reads; write it like $.sid, $.data.reference or \
     $.messages[0].id"
)]
pub struct BadPath(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Checks that `path` has a shape [`find`] reads.
pub fn check(path: &str) -> Result<(), BadPath> {
    steps(path).map(|_| ())
}

/// The text at `path` in `value`: a string as it is, a number or boolean as JSON writes it;
/// `None` when nothing (or null, an object, a list) is there.
pub fn find(value: &Value, path: &str) -> Option<String> {
    let found = steps(path)
        .ok()?
        .iter()
        .try_fold(value, |value, step| match step {
            Step::Key(key) => value.as_object()?.get(key),
            Step::Index(index) => value.as_array()?.get(*index),
        })?;
    match found {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn steps(path: &str) -> Result<Vec<Step>, BadPath> {
    let bad = || BadPath(path.to_owned());
    let trimmed = path.trim();
    let rest = trimmed
        .strip_prefix("$.")
        .or_else(|| trimmed.strip_prefix('$'))
        .unwrap_or(trimmed);
    if rest.is_empty() {
        return Err(bad());
    }
    let mut steps = Vec::new();
    for segment in rest.split('.') {
        let (key, mut indexes) = match segment.find('[') {
            Some(open) => (&segment[..open], &segment[open..]),
            None => (segment, ""),
        };
        let well_formed = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '$' | '@'));
        if !well_formed {
            return Err(bad());
        }
        steps.push(Step::Key(key.to_owned()));
        while !indexes.is_empty() {
            let close = indexes.find(']').ok_or_else(bad)?;
            let index = indexes[1..close].parse().map_err(|_| bad())?;
            steps.push(Step::Index(index));
            indexes = &indexes[close + 1..];
            if !indexes.is_empty() && !indexes.starts_with('[') {
                return Err(bad());
            }
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_keys_nested_keys_and_list_items() {
        let answer = json!({"sid": "SM1", "data": {"reference": 42, "ok": true},
                            "messages": [{"id": "wamid.1"}], "none": null});
        assert_eq!(find(&answer, "$.sid").as_deref(), Some("SM1"));
        assert_eq!(find(&answer, "sid").as_deref(), Some("SM1"));
        assert_eq!(find(&answer, "$.data.reference").as_deref(), Some("42"));
        assert_eq!(find(&answer, "$.data.ok").as_deref(), Some("true"));
        assert_eq!(
            find(&answer, "$.messages[0].id").as_deref(),
            Some("wamid.1")
        );
        assert_eq!(find(&answer, "$.messages[1].id"), None);
        assert_eq!(find(&answer, "$.none"), None);
        assert_eq!(find(&answer, "$.data"), None);
        assert_eq!(find(&json!("text"), "$.sid"), None);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for path in [
            "", "$", "$.", "$..sid", "$.a[x]", "$.a[0", "$.a b", "$.a[0]b",
        ] {
            assert!(check(path).is_err(), "{path:?}");
        }
        assert_eq!(check("$.MessageSid"), Ok(()));
    }
}
