//! A webhook node's requests over its life: equal slices of a round width from its first
//! request to now, each counting the requests queued in it by where they stand now.

use app::api::{DeliveryStatus, TimelineSliceOut};

use crate::clock::Millis;

/// At most this many slices: enough to see a receiver break and recover, few enough to draw
/// as bars in the node's log.
pub const MAX_SLICES: i64 = 48;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Slice widths a reader can count in.
const ROUND_WIDTHS: [i64; 19] = [
    SECOND,
    2 * SECOND,
    5 * SECOND,
    10 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    7 * DAY,
];

/// The narrowest round width that covers `[first, now]` in at most [`MAX_SLICES`] slices
/// aligned on multiples of the width; past 48 weeks, whole weeks.
pub fn slice_width(first: Millis, now: Millis) -> i64 {
    let covers = |width: i64| now.max(first) / width - first / width < MAX_SLICES;
    ROUND_WIDTHS
        .into_iter()
        .find(|&width| covers(width))
        .unwrap_or_else(|| {
            let weeks = ((now - first) / (7 * DAY)) / (MAX_SLICES - 1) + 1;
            (weeks..)
                .map(|weeks| weeks * 7 * DAY)
                .find(|&width| covers(width))
                .unwrap_or(i64::MAX)
        })
}

/// Requests queued in slice `slice` (counted from the slice holding the first request) that
/// stand at `status` now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct SliceCount {
    pub slice: i64,
    pub status: DeliveryStatus,
    pub count: i64,
}

/// Where slice 0 starts: the multiple of `width` at or before `first`. [`SliceCount::slice`]
/// counts from it.
pub fn origin(first: Millis, width: i64) -> Millis {
    first - first.rem_euclid(width)
}

/// Every slice from the one holding `first` to the one holding `now`, empty ones included.
pub fn slices(
    first: Millis,
    now: Millis,
    width: i64,
    counts: &[SliceCount],
) -> Vec<TimelineSliceOut> {
    let origin = origin(first, width);
    let total = (now.max(first) - origin) / width + 1;
    let mut slices: Vec<TimelineSliceOut> = (0..total)
        .map(|slice| TimelineSliceOut {
            start: origin + slice * width,
            accepted: 0,
            failed: 0,
            pending: 0,
        })
        .collect();
    for count in counts {
        let Some(slice) = usize::try_from(count.slice)
            .ok()
            .and_then(|slice| slices.get_mut(slice))
        else {
            continue;
        };
        match count.status {
            DeliveryStatus::Accepted => slice.accepted += count.count,
            DeliveryStatus::Failed => slice.failed += count.count,
            DeliveryStatus::Pending | DeliveryStatus::Held => slice.pending += count.count,
            DeliveryStatus::Cancelled => {}
        }
    }
    slices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_width_is_the_narrowest_round_one_that_fits() {
        // 10 s of requests: 1-second slices.
        assert_eq!(slice_width(100_000, 110_000), SECOND);
        // 47 s from a whole second: still 1 s (48 slices); 48 s needs 2 s.
        assert_eq!(slice_width(0, 47_999), SECOND);
        assert_eq!(slice_width(0, 48_000), 2 * SECOND);
        // Three hours: 5-minute slices (36 of them).
        assert_eq!(slice_width(0, 3 * HOUR), 5 * MINUTE);
        // A year: whole weeks, at most 48 slices.
        let width = slice_width(0, 365 * DAY);
        assert_eq!(width % (7 * DAY), 0);
        assert!(365 * DAY / width < MAX_SLICES, "{width}");
    }

    #[test]
    fn a_node_with_one_request_has_one_slice() {
        assert_eq!(slice_width(5_500, 5_500), SECOND);
        let counts = [SliceCount {
            slice: 0,
            status: DeliveryStatus::Accepted,
            count: 1,
        }];
        assert_eq!(
            slices(5_500, 5_500, SECOND, &counts),
            [TimelineSliceOut {
                start: 5_000,
                accepted: 1,
                failed: 0,
                pending: 0
            }]
        );
    }

    #[test]
    fn slices_run_from_the_first_request_to_now_with_empty_ones_between() {
        let counts = [
            SliceCount {
                slice: 0,
                status: DeliveryStatus::Accepted,
                count: 3,
            },
            SliceCount {
                slice: 0,
                status: DeliveryStatus::Failed,
                count: 1,
            },
            SliceCount {
                slice: 2,
                status: DeliveryStatus::Held,
                count: 2,
            },
            SliceCount {
                slice: 2,
                status: DeliveryStatus::Pending,
                count: 1,
            },
            SliceCount {
                slice: 2,
                status: DeliveryStatus::Cancelled,
                count: 9,
            },
        ];
        let drawn = slices(10_000, 13_400, SECOND, &counts);
        let rows: Vec<(i64, i64, i64, i64)> = drawn
            .iter()
            .map(|slice| (slice.start, slice.accepted, slice.failed, slice.pending))
            .collect();
        assert_eq!(
            rows,
            [
                (10_000, 3, 1, 0),
                (11_000, 0, 0, 0),
                (12_000, 0, 0, 3),
                (13_000, 0, 0, 0)
            ]
        );
    }
}
