//! The module's metrics: counters, histograms and gauges that every worker
//! writes into one [`Zone`] (nginx shared memory, `module/metrics.rs`), and
//! their Prometheus text and JSON renderings. Pure Rust: the zone is plain
//! atomics, so a worker that dies mid-update leaves every other count whole,
//! and the counts outlive workers and reloads with the zone.
//!
//! What is counted, once per request the filter took (its context's end):
//! - the reply, by outcome and reason (the parts of `$image_resize_rs_status`);
//! - the bytes received from the origin and sent to the client;
//! - the time of each pipeline stage, and of the whole job;
//! - overload: requests shed, answered 503 or with the original;
//!
//! and, at the response header, origin failures (4xx, 5xx, broken, timed
//! out, not HTTP); in the access phase, URLs refused for their signature. Gauges: each worker publishes its queued and running
//! jobs (and queued bytes) in a slot of its own; the renderings sum the
//! slots of live workers.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Outcomes (`$image_resize_rs_status` before the colon). `incomplete`: the
/// request ended before the filter answered (the client went away while the
/// body was read).
pub const OUTCOMES: [&str; 11] = [
    "resized",
    "asis",
    "asis-smaller",
    "json",
    "passed",
    "head",
    "not_modified",
    "refused",
    "shed",
    "cancelled",
    "incomplete",
];

/// Reasons (after the colon): the pipeline's error codes, the overload
/// codes, the filter's own refusals; `other` for a code not listed here.
pub const REASONS: [&str; 22] = [
    "",
    "not_image",
    "unreadable",
    "too_many_pixels",
    "corrupt",
    "bad_parameter",
    "encode",
    "cancelled",
    "queue_full",
    "queue_size",
    "queue_timeout",
    "pool_full",
    "partial",
    "multipart",
    "encoded",
    "too_big",
    "no_memory",
    "origin",
    "origin_timeout",
    "panic",
    "too_many_frames",
    "other",
];

/// How the origin failed, seen at the response header (or, for `Broken`
/// and `Timeout`, in the body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginFailure {
    /// A 4xx that is not an image (S3's 403/404 XML).
    Client,
    /// A 5xx that is not an image (nginx's own 502/504 when the origin
    /// cannot be reached included).
    Server,
    /// The connection failed after the headers.
    Broken,
    /// Nothing arrived for `proxy_read_timeout` after the headers.
    Timeout,
    /// Not an HTTP response.
    Invalid,
}

const ORIGIN_KINDS: [&str; 5] = ["4xx", "5xx", "broken", "timeout", "invalid"];

/// Why `image_resize_rs_sign` refused a URL (`crate::sign::Refusal::code`).
pub const SIGNATURE_REASONS: [&str; 5] = [
    "missing",
    "invalid",
    "expires_missing",
    "expires_invalid",
    "expired",
];

/// Stages timed: [`Reply::stages_us`], then [`Reply::job_us`].
pub const STAGES: [&str; 4] = ["decode", "resize", "encode", "total"];

/// Histogram bucket upper bounds, microseconds (then `+Inf`).
pub const BUCKETS_US: [u64; 14] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];

/// Worker slots; a worker beyond them counts replies but publishes no gauges.
pub const MAX_WORKERS: usize = 64;

/// "irsmetr" and the layout's version: a zone left by another layout (a
/// reload onto a new build of the module) is not reused.
const MAGIC: u64 = 0x6972_736d_6574_7205;

#[repr(C)]
struct Histogram {
    /// Per bucket (not cumulative), the last one `+Inf`.
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

#[repr(C)]
struct Worker {
    /// 0: free.
    pid: AtomicU64,
    queued: AtomicU64,
    running: AtomicU64,
    queued_bytes: AtomicU64,
}

/// The shared zone. All zeroes (fresh shared memory) is a valid, empty zone
/// once [`Zone::init`] stamped it.
#[repr(C)]
pub struct Zone {
    magic: AtomicU64,
    replies: [[AtomicU64; REASONS.len()]; OUTCOMES.len()],
    received_bytes: AtomicU64,
    sent_bytes: AtomicU64,
    origin: [AtomicU64; ORIGIN_KINDS.len()],
    /// Requests shed: answered 503, answered with the original.
    shed: [AtomicU64; 2],
    /// URLs refused by `image_resize_rs_sign`, by [`SIGNATURE_REASONS`].
    signature: [AtomicU64; SIGNATURE_REASONS.len()],
    stages: [Histogram; STAGES.len()],
    workers: [Worker; MAX_WORKERS],
}

/// One request's record.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reply<'a> {
    pub outcome: &'a str,
    pub reason: &'a str,
    pub received: u64,
    pub sent: u64,
    /// Refused for overload (503).
    pub shed_503: bool,
    /// decode, resize and encode, microseconds; 0: did not run.
    pub stages_us: [u64; 3],
    /// The whole job, if one ran (a refusal at the sniff may take 0 µs).
    pub job_us: Option<u64>,
}

/// `?format=json` among the request's arguments.
pub fn wants_json(args: &[u8]) -> bool {
    args.split(|&b| b == b'&').any(|a| a == b"format=json")
}

/// An origin status that is a failure (when the body is not an image).
pub fn origin_status(status: usize) -> Option<OriginFailure> {
    match status {
        400..=499 => Some(OriginFailure::Client),
        500..=599 => Some(OriginFailure::Server),
        _ => None,
    }
}

fn index(table: &[&str], name: &str) -> Option<usize> {
    table.iter().position(|&t| t == name)
}

impl Zone {
    /// Stamps a zeroed zone.
    pub fn init(&self) {
        self.magic.store(MAGIC, Relaxed);
    }

    /// A zone this layout wrote (an old cycle's, reused on reload).
    pub fn is_ours(&self) -> bool {
        self.magic.load(Relaxed) == MAGIC
    }

    /// Counts one request the filter took.
    pub fn reply(&self, r: &Reply<'_>) {
        let outcome = if r.outcome.is_empty() {
            "incomplete"
        } else {
            r.outcome
        };
        let o = index(&OUTCOMES, outcome).unwrap_or(OUTCOMES.len() - 1);
        let reason = index(&REASONS, r.reason).unwrap_or(REASONS.len() - 1);
        self.replies[o][reason].fetch_add(1, Relaxed);
        add(&self.received_bytes, r.received);
        add(&self.sent_bytes, r.sent);
        if r.shed_503 {
            self.shed[0].fetch_add(1, Relaxed);
        } else if outcome == "shed" {
            self.shed[1].fetch_add(1, Relaxed);
        }
        let stages = r.stages_us.iter().map(|&us| (us > 0).then_some(us));
        for (h, us) in self.stages.iter().zip(stages.chain([r.job_us])) {
            if let Some(us) = us {
                let b = BUCKETS_US.partition_point(|&le| le < us);
                h.buckets[b].fetch_add(1, Relaxed);
                h.sum_us.fetch_add(us, Relaxed);
            }
        }
    }

    pub fn origin_failure(&self, kind: OriginFailure) {
        self.origin[kind as usize].fetch_add(1, Relaxed);
    }

    /// A URL refused for its signature; `reason` one of [`SIGNATURE_REASONS`].
    pub fn signature_refused(&self, reason: &str) {
        if let Some(i) = index(&SIGNATURE_REASONS, reason) {
            self.signature[i].fetch_add(1, Relaxed);
        }
    }

    /// Takes a gauge slot for worker `pid`: a free one, or one whose worker
    /// is gone (`alive` false: killed, or exited without releasing it).
    pub fn claim(&self, pid: u32, alive: impl Fn(u32) -> bool) -> Option<usize> {
        let pid = u64::from(pid);
        for pass in 0..2 {
            for (i, w) in self.workers.iter().enumerate() {
                let old = w.pid.load(Relaxed);
                let free = old == 0 || old == pid || (pass == 1 && !alive(old as u32));
                if free && w.pid.compare_exchange(old, pid, Relaxed, Relaxed).is_ok() {
                    self.publish(i, 0, 0, 0);
                    return Some(i);
                }
            }
        }
        None
    }

    /// Gives slot `i` back (a worker exiting).
    pub fn release(&self, i: usize, pid: u32) {
        if let Some(w) = self.workers.get(i) {
            self.publish(i, 0, 0, 0);
            let _ = w.pid.compare_exchange(u64::from(pid), 0, Relaxed, Relaxed);
        }
    }

    /// Worker slot `i`'s gauges.
    pub fn publish(&self, i: usize, queued: usize, running: usize, queued_bytes: usize) {
        if let Some(w) = self.workers.get(i) {
            w.queued.store(queued as u64, Relaxed);
            w.running.store(running as u64, Relaxed);
            w.queued_bytes.store(queued_bytes as u64, Relaxed);
        }
    }

    /// Reads the zone once; gauges of workers that are not `alive` are left out.
    pub fn snapshot(&self, alive: impl Fn(u32) -> bool) -> Snapshot {
        let mut s = Snapshot::default();
        for (o, row) in self.replies.iter().enumerate() {
            for (r, c) in row.iter().enumerate() {
                s.replies[o][r] = c.load(Relaxed);
            }
        }
        s.received_bytes = self.received_bytes.load(Relaxed);
        s.sent_bytes = self.sent_bytes.load(Relaxed);
        for (d, c) in s.origin.iter_mut().zip(&self.origin) {
            *d = c.load(Relaxed);
        }
        for (d, c) in s.shed.iter_mut().zip(&self.shed) {
            *d = c.load(Relaxed);
        }
        for (d, c) in s.signature.iter_mut().zip(&self.signature) {
            *d = c.load(Relaxed);
        }
        for (d, h) in s.stages.iter_mut().zip(&self.stages) {
            for (db, b) in d.buckets.iter_mut().zip(&h.buckets) {
                *db = b.load(Relaxed);
            }
            d.sum_us = h.sum_us.load(Relaxed);
        }
        for w in &self.workers {
            let pid = w.pid.load(Relaxed);
            if pid != 0 && alive(pid as u32) {
                s.workers += 1;
                s.queued += w.queued.load(Relaxed);
                s.running += w.running.load(Relaxed);
                s.queued_bytes += w.queued_bytes.load(Relaxed);
            }
        }
        s
    }
}

fn add(c: &AtomicU64, n: u64) {
    if n > 0 {
        c.fetch_add(n, Relaxed);
    }
}

#[derive(Clone, Copy, Default)]
pub struct StageSnapshot {
    pub buckets: [u64; BUCKETS_US.len() + 1],
    pub sum_us: u64,
}

impl StageSnapshot {
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// The zone read at one moment.
#[derive(Clone, Copy, Default)]
pub struct Snapshot {
    pub replies: [[u64; REASONS.len()]; OUTCOMES.len()],
    pub received_bytes: u64,
    pub sent_bytes: u64,
    pub origin: [u64; ORIGIN_KINDS.len()],
    pub shed: [u64; 2],
    pub signature: [u64; SIGNATURE_REASONS.len()],
    pub stages: [StageSnapshot; STAGES.len()],
    pub workers: u64,
    pub queued: u64,
    pub running: u64,
    pub queued_bytes: u64,
}

/// Seconds from microseconds, as Prometheus and JSON print them.
fn secs(us: u64) -> String {
    let s = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

const SHED_REPLIES: [&str; 2] = ["503", "original"];

impl Snapshot {
    /// The series worth printing: every outcome without a reason, and any
    /// (outcome, reason) that happened.
    fn reply_series(&self) -> impl Iterator<Item = (&'static str, &'static str, u64)> + '_ {
        OUTCOMES.iter().enumerate().flat_map(move |(o, &outcome)| {
            REASONS.iter().enumerate().filter_map(move |(r, &reason)| {
                let n = self.replies[o][r];
                (r == 0 || n > 0).then_some((outcome, reason, n))
            })
        })
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn prometheus(&self) -> String {
        let mut out = String::with_capacity(8192);
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP image_resize_rs_{name} {help}");
            let _ = writeln!(out, "# TYPE image_resize_rs_{name} {kind}");
        };
        head(
            &mut out,
            "replies_total",
            "counter",
            "Requests the filter took, by outcome and refusal reason.",
        );
        for (outcome, reason, n) in self.reply_series() {
            let _ = writeln!(
                out,
                "image_resize_rs_replies_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {n}"
            );
        }
        head(
            &mut out,
            "shed_total",
            "counter",
            "Requests shed for overload, by the reply they got.",
        );
        for (reply, n) in SHED_REPLIES.iter().zip(self.shed) {
            let _ = writeln!(out, "image_resize_rs_shed_total{{reply=\"{reply}\"}} {n}");
        }
        head(
            &mut out,
            "origin_failures_total",
            "counter",
            "Origin responses that were not an image: 4xx, 5xx, broken or timed out after the headers, not HTTP.",
        );
        for (kind, n) in ORIGIN_KINDS.iter().zip(self.origin) {
            let _ = writeln!(
                out,
                "image_resize_rs_origin_failures_total{{kind=\"{kind}\"}} {n}"
            );
        }
        head(
            &mut out,
            "signature_refusals_total",
            "counter",
            "URLs refused (403) by image_resize_rs_sign, by reason.",
        );
        for (reason, n) in SIGNATURE_REASONS.iter().zip(self.signature) {
            let _ = writeln!(
                out,
                "image_resize_rs_signature_refusals_total{{reason=\"{reason}\"}} {n}"
            );
        }
        for (name, help, n) in [
            (
                "received_bytes_total",
                "Body bytes received from the origin for processing.",
                self.received_bytes,
            ),
            (
                "sent_bytes_total",
                "Body bytes of the filter's replies.",
                self.sent_bytes,
            ),
        ] {
            head(&mut out, name, "counter", help);
            let _ = writeln!(out, "image_resize_rs_{name} {n}");
        }
        head(
            &mut out,
            "stage_duration_seconds",
            "histogram",
            "Time per pipeline stage (decode, resize, encode) and per job (total).",
        );
        for (stage, h) in STAGES.iter().zip(&self.stages) {
            let mut cumulative = 0;
            for (i, n) in h.buckets.iter().enumerate() {
                cumulative += n;
                let le = BUCKETS_US.get(i).map_or("+Inf".to_string(), |&us| secs(us));
                let _ = writeln!(
                    out,
                    "image_resize_rs_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "image_resize_rs_stage_duration_seconds_sum{{stage=\"{stage}\"}} {}",
                secs(h.sum_us)
            );
            let _ = writeln!(
                out,
                "image_resize_rs_stage_duration_seconds_count{{stage=\"{stage}\"}} {cumulative}"
            );
        }
        for (name, help, n) in [
            (
                "jobs_queued",
                "Jobs waiting for a slot, summed over live workers.",
                self.queued,
            ),
            (
                "jobs_running",
                "Jobs on the thread pools, summed over live workers.",
                self.running,
            ),
            (
                "queued_bytes",
                "Body bytes held for queued and announced jobs, summed over live workers.",
                self.queued_bytes,
            ),
            (
                "workers",
                "Live worker processes publishing gauges.",
                self.workers,
            ),
        ] {
            head(&mut out, name, "gauge", help);
            let _ = writeln!(out, "image_resize_rs_{name} {n}");
        }
        out
    }

    /// The same as one JSON object.
    pub fn json(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("{\"replies\":{");
        for (o, &outcome) in OUTCOMES.iter().enumerate() {
            let _ = write!(out, "{}\"{outcome}\":{{", if o > 0 { "," } else { "" });
            let mut first = true;
            for (r, &reason) in REASONS.iter().enumerate() {
                let n = self.replies[o][r];
                if r == 0 || n > 0 {
                    let _ = write!(out, "{}\"{reason}\":{n}", if first { "" } else { "," });
                    first = false;
                }
            }
            out.push('}');
        }
        let _ = write!(
            out,
            "}},\"shed\":{{\"503\":{},\"original\":{}}},\"origin_failures\":{{",
            self.shed[0], self.shed[1]
        );
        for (i, (kind, n)) in ORIGIN_KINDS.iter().zip(self.origin).enumerate() {
            let _ = write!(out, "{}\"{kind}\":{n}", if i > 0 { "," } else { "" });
        }
        out.push_str("},\"signature_refusals\":{");
        for (i, (reason, n)) in SIGNATURE_REASONS.iter().zip(self.signature).enumerate() {
            let _ = write!(out, "{}\"{reason}\":{n}", if i > 0 { "," } else { "" });
        }
        let _ = write!(
            out,
            "}},\"received_bytes\":{},\"sent_bytes\":{},\"stages\":{{",
            self.received_bytes, self.sent_bytes
        );
        for (i, (stage, h)) in STAGES.iter().zip(&self.stages).enumerate() {
            let _ = write!(
                out,
                "{}\"{stage}\":{{\"count\":{},\"sum_seconds\":{},\"buckets\":[",
                if i > 0 { "," } else { "" },
                h.count(),
                secs(h.sum_us)
            );
            let mut cumulative = 0;
            for (j, n) in h.buckets.iter().enumerate() {
                cumulative += n;
                let le = BUCKETS_US
                    .get(j)
                    .map_or("\"+Inf\"".to_string(), |&us| secs(us));
                let _ = write!(
                    out,
                    "{}{{\"le\":{le},\"count\":{cumulative}}}",
                    if j > 0 { "," } else { "" }
                );
            }
            out.push_str("]}");
        }
        let _ = write!(
            out,
            "}},\"jobs\":{{\"queued\":{},\"running\":{},\"queued_bytes\":{}}},\"workers\":{}}}",
            self.queued, self.running, self.queued_bytes, self.workers
        );
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zeroed zone, as shared memory from the slab allocator is.
    fn zeroed() -> Box<Zone> {
        fn n<const N: usize>() -> [AtomicU64; N] {
            std::array::from_fn(|_| AtomicU64::new(0))
        }
        Box::new(Zone {
            magic: AtomicU64::new(0),
            replies: std::array::from_fn(|_| n()),
            received_bytes: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            origin: n(),
            shed: n(),
            signature: n(),
            stages: std::array::from_fn(|_| Histogram {
                buckets: n(),
                sum_us: AtomicU64::new(0),
            }),
            workers: std::array::from_fn(|_| Worker {
                pid: AtomicU64::new(0),
                queued: AtomicU64::new(0),
                running: AtomicU64::new(0),
                queued_bytes: AtomicU64::new(0),
            }),
        })
    }

    fn zone() -> Box<Zone> {
        let z = zeroed();
        z.init();
        z
    }

    #[test]
    fn counts_replies_bytes_and_stages() {
        let z = zone();
        z.reply(&Reply {
            outcome: "resized",
            received: 1000,
            sent: 200,
            stages_us: [3_000, 400, 1_200],
            job_us: Some(4_700),
            ..Default::default()
        });
        z.reply(&Reply {
            outcome: "refused",
            reason: "not_image",
            received: 10,
            job_us: Some(90),
            ..Default::default()
        });
        z.reply(&Reply {
            outcome: "refused",
            reason: "no such reason",
            ..Default::default()
        });
        z.reply(&Reply::default());
        z.reply(&Reply {
            outcome: "asis-smaller",
            received: 0,
            ..Default::default()
        });
        let s = z.snapshot(|_| true);
        let o = |name| index(&OUTCOMES, name).unwrap();
        assert_eq!(s.replies[o("asis-smaller")][0], 1, "never_larger's status");
        assert_eq!(s.replies[o("resized")][0], 1);
        assert_eq!(s.replies[o("refused")][1], 1);
        assert_eq!(
            s.replies[o("refused")][REASONS.len() - 1],
            1,
            "unknown reason is other"
        );
        assert_eq!(s.replies[o("incomplete")][0], 1, "no outcome is incomplete");
        assert_eq!(o("incomplete"), OUTCOMES.len() - 1, "the fallback is last");
        assert_eq!((s.received_bytes, s.sent_bytes), (1010, 200));
        // decode 3 ms falls in le=0.005; total counted twice.
        assert_eq!(s.stages[0].buckets[3], 1);
        assert_eq!(s.stages[0].count(), 1);
        assert_eq!(s.stages[3].count(), 2);
        assert_eq!(s.stages[3].sum_us, 4_790);
        z.reply(&Reply {
            outcome: "refused",
            job_us: Some(0),
            ..Default::default()
        });
        assert_eq!(
            z.snapshot(|_| true).stages[3].count(),
            3,
            "a 0 us job is counted"
        );
        // le is inclusive: exactly 1 ms is in the 1 ms bucket.
        z.reply(&Reply {
            outcome: "json",
            stages_us: [1_000, 0, 0],
            ..Default::default()
        });
        assert_eq!(z.snapshot(|_| true).stages[0].buckets[1], 1);
    }

    #[test]
    fn shed_is_counted_by_reply() {
        let z = zone();
        z.reply(&Reply {
            outcome: "refused",
            reason: "queue_full",
            shed_503: true,
            ..Default::default()
        });
        z.reply(&Reply {
            outcome: "shed",
            reason: "queue_timeout",
            ..Default::default()
        });
        let s = z.snapshot(|_| true);
        assert_eq!(s.shed, [1, 1]);
        let text = s.prometheus();
        assert!(text.contains("image_resize_rs_shed_total{reply=\"503\"} 1\n"));
        assert!(text.contains("image_resize_rs_shed_total{reply=\"original\"} 1\n"));
        assert!(text.contains(
            "image_resize_rs_replies_total{outcome=\"shed\",reason=\"queue_timeout\"} 1\n"
        ));
    }

    #[test]
    fn worker_slots_are_claimed_reused_and_summed_for_live_workers() {
        let z = zone();
        let a = z.claim(100, |_| true).unwrap();
        let b = z.claim(200, |_| true).unwrap();
        assert_ne!(a, b);
        assert_eq!(z.claim(100, |_| true), Some(a), "same pid, same slot");
        z.publish(a, 3, 1, 5000);
        z.publish(b, 2, 2, 100);
        let s = z.snapshot(|_| true);
        assert_eq!(
            (s.workers, s.queued, s.running, s.queued_bytes),
            (2, 5, 3, 5100)
        );
        // 200 was SIGKILLed: its gauges are left out and its slot is taken
        // over once every slot is used.
        let s = z.snapshot(|pid| pid != 200);
        assert_eq!((s.workers, s.queued, s.running), (1, 3, 1));
        for pid in 1000..1000 + MAX_WORKERS as u32 - 2 {
            assert!(z.claim(pid, |_| true).is_some());
        }
        assert_eq!(z.claim(9999, |_| true), None, "all slots live");
        assert_eq!(
            z.claim(9999, |pid| pid != 200),
            Some(b),
            "dead worker's slot"
        );
        assert_eq!(z.snapshot(|_| true).queued, 3, "its gauges reset");
        z.release(a, 100);
        assert_eq!(z.claim(4242, |_| true), Some(a));
    }

    #[test]
    fn prometheus_text_is_well_formed() {
        let z = zone();
        z.reply(&Reply {
            outcome: "resized",
            received: 5,
            sent: 3,
            stages_us: [20_000_000, 1, 2],
            job_us: Some(20_000_003),
            ..Default::default()
        });
        z.origin_failure(OriginFailure::Client);
        z.origin_failure(OriginFailure::Timeout);
        z.signature_refused("expired");
        z.signature_refused("no such reason");
        let text = z.snapshot(|_| true).prometheus();
        assert!(text.ends_with('\n'));
        for line in text.lines() {
            if line.starts_with('#') {
                let mut w = line.split(' ');
                assert!(matches!(w.next(), Some("#")));
                assert!(matches!(w.next(), Some("HELP" | "TYPE")), "{line}");
                continue;
            }
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(name.starts_with("image_resize_rs_"), "{line}");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert!(text.contains(
            "image_resize_rs_stage_duration_seconds_bucket{stage=\"decode\",le=\"10\"} 0\n"
        ));
        assert!(text.contains(
            "image_resize_rs_stage_duration_seconds_bucket{stage=\"decode\",le=\"+Inf\"} 1\n"
        ));
        assert!(text.contains("image_resize_rs_stage_duration_seconds_sum{stage=\"decode\"} 20\n"));
        assert!(text.contains(
            "image_resize_rs_stage_duration_seconds_bucket{stage=\"resize\",le=\"0.0005\"} 1\n"
        ));
        assert!(text.contains("image_resize_rs_origin_failures_total{kind=\"4xx\"} 1\n"));
        assert!(text.contains("image_resize_rs_origin_failures_total{kind=\"timeout\"} 1\n"));
        assert!(text.contains("image_resize_rs_received_bytes_total 5\n"));
        assert!(text.contains("image_resize_rs_signature_refusals_total{reason=\"expired\"} 1\n"));
        assert!(text.contains("image_resize_rs_signature_refusals_total{reason=\"missing\"} 0\n"));
        assert!(text.contains("image_resize_rs_workers 0\n"));
        // every outcome is there, even at zero
        for o in OUTCOMES {
            assert!(
                text.contains(&format!("{{outcome=\"{o}\",reason=\"\"}}")),
                "{o}"
            );
        }
    }

    #[test]
    fn json_has_the_same_numbers() {
        let z = zone();
        z.reply(&Reply {
            outcome: "refused",
            reason: "too_big",
            job_us: Some(1_500),
            ..Default::default()
        });
        z.signature_refused("invalid");
        let j = z.snapshot(|_| true).json();
        assert!(j.contains(
            "\"signature_refusals\":{\"missing\":0,\"invalid\":1,\"expires_missing\":0,"
        ));
        assert!(j.starts_with("{\"replies\":{\"resized\":{\"\":0},"));
        assert!(j.contains("\"refused\":{\"\":0,\"too_big\":1}"));
        assert!(j.contains("\"total\":{\"count\":1,\"sum_seconds\":0.0015,"));
        assert!(j.contains("{\"le\":\"+Inf\",\"count\":1}"));
        assert!(j.trim_end().ends_with("\"workers\":0}"));
        // balanced, no trailing commas
        assert_eq!(j.matches('{').count(), j.matches('}').count());
        assert!(!j.contains(",}") && !j.contains(",]"));
    }

    #[test]
    fn a_foreign_zone_is_not_ours() {
        let z = zeroed();
        assert!(!z.is_ours());
        z.init();
        assert!(z.is_ours());
    }

    #[test]
    fn json_is_asked_for_by_argument() {
        assert!(wants_json(b"format=json"));
        assert!(wants_json(b"a=1&format=json"));
        assert!(!wants_json(b"format=jsonx"));
        assert!(!wants_json(b""));
        assert_eq!(origin_status(404), Some(OriginFailure::Client));
        assert_eq!(origin_status(502), Some(OriginFailure::Server));
        assert_eq!(origin_status(302), None);
    }

    #[test]
    fn seconds_are_printed_exactly() {
        assert_eq!(secs(0), "0");
        assert_eq!(secs(500), "0.0005");
        assert_eq!(secs(2_500_000), "2.5");
        assert_eq!(secs(10_000_000), "10");
    }
}
