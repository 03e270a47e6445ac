//! Tasks as JSON, byte for byte what `serde_json` makes of [`Task`], written straight into one buffer.
//!
//! Only the title and the description can hold characters JSON must escape; the id, the priority, the flag
//! and the times cannot, so they are copied without serde_json's escaping scan, and the times without a
//! `String` each. That scan and those strings were the largest share of the list's instructions.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::Serializer as _;
use task_types::Task;

/// Bytes of one task's JSON besides its title and description (keys, id, times), to size buffers.
const FIXED_BYTES: usize = 200;
/// Bytes of a task's JSON with a short title and a sentence of description, to size a page's buffer.
const TYPICAL_TASK_BYTES: usize = 320;

/// One task, as `serde_json::to_vec(task)` writes it.
pub fn task(task: &Task) -> Vec<u8> {
    let mut out = Vec::with_capacity(FIXED_BYTES + task.title.len() + task.description.len());
    write_task(&mut out, task);
    out
}

/// A list of tasks as `serde_json::to_vec` writes a slice of them, written a task at a time so that a page's
/// tasks need not be held until it is complete.
pub struct TaskArray(Vec<u8>);

impl TaskArray {
    /// An array with room for `tasks` typical tasks: growing a small buffer step by step copied a page
    /// several times (measurable in the list benchmark); a page of longer tasks still grows.
    pub fn with_room_for(tasks: usize) -> Self {
        let mut out = Vec::with_capacity(2 + tasks * TYPICAL_TASK_BYTES);
        out.push(b'[');
        TaskArray(out)
    }

    pub fn push(&mut self, task: &Task) {
        if self.0.len() > 1 {
            self.0.push(b',');
        }
        write_task(&mut self.0, task);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.0.push(b']');
        self.0
    }
}

fn write_task(out: &mut Vec<u8>, task: &Task) {
    out.extend_from_slice(b"{\"id\":\"");
    out.extend_from_slice(
        task.id
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer())
            .as_bytes(),
    );
    out.extend_from_slice(b"\",\"title\":");
    escaped(out, &task.title);
    out.extend_from_slice(b",\"description\":");
    escaped(out, &task.description);
    out.extend_from_slice(b",\"priority\":\"");
    out.extend_from_slice(task.priority.as_str().as_bytes());
    out.extend_from_slice(b"\",\"completed\":");
    out.extend_from_slice(if task.completed { b"true" } else { b"false" });
    out.extend_from_slice(b",\"created_at\":\"");
    rfc3339(out, &task.created_at);
    out.extend_from_slice(b"\",\"updated_at\":\"");
    rfc3339(out, &task.updated_at);
    out.extend_from_slice(b"\"}");
}

/// `text` as a JSON string: copied as it is when nothing in it needs escaping (the usual title), escaped by
/// serde_json otherwise. serde_json escapes only quotes, backslashes and control characters below U+0020.
fn escaped(out: &mut Vec<u8>, text: &str) {
    // One pass without an early exit, which the compiler vectorises.
    let plain = text.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20 && b != b'"' && b != b'\\')
    });
    if plain {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        serde_json::Serializer::new(out)
            .serialize_str(text)
            .expect("writing to a Vec cannot fail");
    }
}

/// `time` as chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)` writes it (what `Task` serializes):
/// digits written here for the years 0-9999, chrono itself for the rest and for leap seconds.
fn rfc3339(out: &mut Vec<u8>, time: &DateTime<Utc>) {
    let naive = time.naive_utc();
    let (date, clock) = (naive.date(), naive.time());
    let (year, nanos) = (date.year(), clock.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        let text = time.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let mut text = *b"0000-00-00T00:00:00.000000000";
    digits(&mut text[0..4], year as u32);
    digits(&mut text[5..7], date.month());
    digits(&mut text[8..10], date.day());
    digits(&mut text[11..13], clock.hour());
    digits(&mut text[14..16], clock.minute());
    digits(&mut text[17..19], clock.second());
    // AutoSi: no fraction, or milli-, micro- or nanoseconds, whichever is exact.
    let (fraction, width) = match nanos {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    let end = match width {
        0 => 19,
        _ => {
            digits(&mut text[20..20 + width], fraction);
            20 + width
        }
    };
    out.extend_from_slice(&text[..end]);
    out.push(b'Z');
}

/// Fills `slot` with the last `slot.len()` decimal digits of `value`, zero-padded, two at a time.
fn digits(slot: &mut [u8], mut value: u32) {
    let mut end = slot.len();
    while end >= 2 {
        let pair = (value % 100) as usize;
        slot[end - 2..end].copy_from_slice(&PAIRS[2 * pair..2 * pair + 2]);
        value /= 100;
        end -= 2;
    }
    if end == 1 {
        slot[0] = b'0' + (value % 10) as u8;
    }
}

/// "00" to "99", for [`digits`].
const PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use task_types::Priority;
    use uuid::Uuid;

    use super::*;

    fn sample(title: &str, description: &str, time: DateTime<Utc>) -> Task {
        Task {
            id: Uuid::new_v4(),
            title: title.to_owned(),
            description: description.to_owned(),
            priority: Priority::High,
            completed: true,
            created_at: time,
            updated_at: time + chrono::Duration::microseconds(1),
        }
    }

    #[test]
    fn tasks_are_written_byte_for_byte_as_serde_json_writes_them() {
        let base = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let times = [
            base,
            base + chrono::Duration::milliseconds(120),
            base + chrono::Duration::microseconds(123_456),
            base + chrono::Duration::nanoseconds(123_456_789),
            base + chrono::Duration::nanoseconds(1),
            Utc.with_ymd_and_hms(0, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-4713, 11, 24, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(200_000, 12, 31, 23, 59, 59).unwrap(),
        ];
        let texts = [
            ("", ""),
            ("plain", "words and more words"),
            (
                "quote \" and \\ slash /",
                "line\nbreak\ttab\r\u{1}\u{1f}\u{7f}",
            ),
            ("é ✓ 🦀 \u{2028}\u{2029}", "</script><b>&amp;</b>"),
        ];
        let mut all = Vec::new();
        for time in times {
            for (title, description) in texts {
                let mut task = sample(title, description, time);
                for priority in Priority::ALL {
                    task.priority = priority;
                    task.completed = !task.completed;
                    assert_eq!(
                        String::from_utf8(super::task(&task)).unwrap(),
                        serde_json::to_string(&task).unwrap()
                    );
                    all.push(task.clone());
                }
            }
        }
        for tasks in [&all[..], &all[..1], &[]] {
            let mut array = TaskArray::with_room_for(1);
            tasks.iter().for_each(|task| array.push(task));
            assert_eq!(array.finish(), serde_json::to_vec(tasks).unwrap());
        }
    }

    #[test]
    fn a_leap_second_is_written_as_chrono_writes_it() {
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        let task = sample("t", "d", leap);
        assert_eq!(super::task(&task), serde_json::to_vec(&task).unwrap());
    }
}
