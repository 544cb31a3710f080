//! Admission control for the image jobs of one nginx worker: how many run at
//! once, a bounded FIFO for the rest, and what a request gets when it cannot
//! wait. Pure Rust: the nginx glue (`module::threads`) owns the requests and
//! their timers and asks this module what to do.
//!
//! The rules, checked in this order:
//! - at the response header, a body of `Content-Length` bytes is **held**
//!   (counted against the queue's byte bound) while it is read; over the
//!   bound, the request is shed before its body is read;
//! - when the body is complete: run now if fewer than `jobs` run; else wait
//!   in the FIFO if it has room by count and by bytes; else shed;
//! - a waiting job that is still queued after `timeout` is shed;
//! - when a job ends, the oldest waiting one runs.
//!
//! "Shed" is a 503 with `Retry-After`, or the original bytes
//! ([`Overload::Original`]). Nothing runs on the event loop instead.

use std::collections::VecDeque;

/// `image_resize_rs_jobs` and `image_resize_rs_queue`: one worker's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Jobs running at once; `None` = auto (usable CPUs / worker_processes).
    pub jobs: Option<usize>,
    /// Jobs waiting at once.
    pub length: usize,
    /// Bytes of bodies waiting (read or being read) at once.
    pub size: usize,
    /// Longest wait in the queue, milliseconds.
    pub timeout_ms: u64,
}

impl Limits {
    /// `image_resize_rs_jobs auto; image_resize_rs_queue length=64 size=64m timeout=10s;`
    pub const DEFAULT: Limits = Limits {
        jobs: None,
        length: 64,
        size: 64 << 20,
        timeout_ms: 10_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// The `auto` job count: the CPUs a worker may use divided by the workers,
/// at least 1.
pub fn auto_jobs(cpus: usize, workers: usize) -> usize {
    (cpus / workers.max(1)).clamp(1, MAX_JOBS)
}

/// `image_resize_rs_overload`: what a shed request gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overload {
    /// 503 Service Unavailable with `Retry-After`.
    #[default]
    Unavailable,
    /// The original bytes when at most `max_size` (with a short
    /// `Cache-Control: max-age=<max_age>`), else 503.
    Original { max_size: usize, max_age: u64 },
}

/// Why a request was shed (`$image_resize_rs_status`, the log line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shed {
    /// The queue holds `length` jobs already.
    QueueFull,
    /// The bodies waiting would exceed `size`.
    QueueBytes,
    /// Waited `timeout` in the queue.
    Timeout,
    /// The thread pool refused the task (its own `max_queue`).
    PoolFull,
}

impl Shed {
    pub fn code(self) -> &'static str {
        match self {
            Shed::QueueFull => "queue_full",
            Shed::QueueBytes => "queue_size",
            Shed::Timeout => "queue_timeout",
            Shed::PoolFull => "pool_full",
        }
    }

    /// The reason, for the error log.
    pub fn describe(self) -> &'static str {
        match self {
            Shed::QueueFull => "image_resize_rs_queue length reached",
            Shed::QueueBytes => "image_resize_rs_queue size reached",
            Shed::Timeout => "waited image_resize_rs_queue timeout for a job",
            Shed::PoolFull => "the thread pool's queue is full (its max_queue)",
        }
    }
}

/// What to do with a complete body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    Run,
    Queue,
    Shed(Shed),
}

/// The most jobs that run at once in a worker. Each running job holds
/// `r->main->blocked` of its request raised (waiting ones do not), and that
/// field is 8 bits wide: however many images one request (an SSI page)
/// has, it never has more than this many running.
pub const MAX_JOBS: usize = 128;

/// One worker's queue of waiting jobs, keyed by an id the caller keeps, and
/// the counters the limits are checked against.
#[derive(Debug)]
pub struct Scheduler<T> {
    running: usize,
    /// Bytes of bodies held by requests that wait: being read (by their
    /// Content-Length) or queued.
    held: usize,
    queue: VecDeque<(u64, T)>,
    next_id: u64,
}

impl<T> Default for Scheduler<T> {
    fn default() -> Self {
        Scheduler {
            running: 0,
            held: 0,
            queue: VecDeque::new(),
            next_id: 1,
        }
    }
}

impl<T> Scheduler<T> {
    pub fn running(&self) -> usize {
        self.running
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn held(&self) -> usize {
        self.held
    }

    /// Before the origin is asked: would a new request be shed whatever its
    /// size? (Then it is answered 503 without fetching anything.)
    pub fn saturated(&self, jobs: usize, limits: &Limits) -> Option<Shed> {
        if self.held > 0 && self.held >= limits.size {
            return Some(Shed::QueueBytes);
        }
        if self.running >= jobs.max(1) && self.queue.len() >= limits.length {
            return Some(Shed::QueueFull);
        }
        None
    }

    /// At the response header: may a body of `len` bytes be read and held?
    /// Always yes when nothing is held (one body of any size can wait).
    pub fn hold(&mut self, len: usize, limits: &Limits) -> Result<(), Shed> {
        if self.held > 0 && self.held.saturating_add(len) > limits.size {
            return Err(Shed::QueueBytes);
        }
        self.held += len;
        Ok(())
    }

    /// A held body turned out `new` bytes long instead of the `old` its
    /// Content-Length announced (or 0: none was announced).
    pub fn rehold(&mut self, old: usize, new: usize) {
        self.held = self.held.saturating_sub(old).saturating_add(new);
    }

    /// Gives back bytes [`hold`](Self::hold) took.
    pub fn release(&mut self, len: usize) {
        debug_assert!(self.held >= len);
        self.held = self.held.saturating_sub(len);
    }

    /// The body is complete: its `len` bytes are already held. Decides, and
    /// counts a [`Admit::Run`] as running.
    pub fn admit(&mut self, jobs: usize, limits: &Limits, len: usize) -> Admit {
        if self.running < jobs.max(1) && self.queue.is_empty() {
            self.running += 1;
            return Admit::Run;
        }
        if self.queue.len() >= limits.length {
            return Admit::Shed(Shed::QueueFull);
        }
        // held includes this body; it may wait if it is alone or fits.
        if self.held > len && self.held > limits.size {
            return Admit::Shed(Shed::QueueBytes);
        }
        Admit::Queue
    }

    /// Queues `item` (after [`Admit::Queue`]); returns its id.
    pub fn push(&mut self, item: T) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push_back((id, item));
        id
    }

    /// Puts a job that was to run back at the head of the queue (the pool
    /// refused it for now); it no longer counts as running.
    pub fn requeue(&mut self, item: T) -> u64 {
        self.finished();
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push_front((id, item));
        id
    }

    /// Takes a waiting job out (its request ended, or it timed out).
    pub fn remove(&mut self, id: u64) -> Option<T> {
        let at = self.queue.iter().position(|(i, _)| *i == id)?;
        self.queue.remove(at).map(|(_, t)| t)
    }

    /// A job ended (or a [`Admit::Run`] could not be started).
    pub fn finished(&mut self) {
        debug_assert!(self.running > 0);
        self.running = self.running.saturating_sub(1);
    }

    /// The oldest waiting job, if one may run now; counted as running.
    pub fn next(&mut self, jobs: usize) -> Option<(u64, T)> {
        if self.running >= jobs.max(1) {
            return None;
        }
        let item = self.queue.pop_front()?;
        self.running += 1;
        Some(item)
    }
}

/// Why a directive value is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("invalid value \"{0}\"")]
    Invalid(String),
    #[error("unknown parameter \"{0}\"")]
    Unknown(String),
}

fn invalid(s: &[u8]) -> ParseError {
    ParseError::Invalid(String::from_utf8_lossy(s).into_owned())
}

/// `image_resize_rs_jobs number | auto;`
pub fn parse_jobs(s: &[u8]) -> Result<Option<usize>, ParseError> {
    if s == b"auto" {
        return Ok(None);
    }
    match crate::value::parse_decimal(s) {
        Some(n) if (1..=MAX_JOBS as u64).contains(&n) => Ok(Some(n as usize)),
        _ => Err(invalid(s)),
    }
}

/// `image_resize_rs_queue [length=number] [size=size] [timeout=time];`
pub fn parse_queue(args: &[&[u8]]) -> Result<Limits, ParseError> {
    let mut l = Limits::DEFAULT;
    for &a in args {
        if let Some(v) = a.strip_prefix(b"length=") {
            l.length = match crate::value::parse_decimal(v) {
                Some(n) if n <= 1 << 20 => n as usize,
                _ => return Err(invalid(a)),
            };
        } else if let Some(v) = a.strip_prefix(b"size=") {
            l.size = parse_size(v).ok_or_else(|| invalid(a))?;
        } else if let Some(v) = a.strip_prefix(b"timeout=") {
            l.timeout_ms = match parse_time_ms(v) {
                Some(ms) if ms > 0 => ms,
                _ => return Err(invalid(a)),
            };
        } else {
            return Err(ParseError::Unknown(String::from_utf8_lossy(a).into_owned()));
        }
    }
    Ok(l)
}

/// `image_resize_rs_overload 503 | original [max_size=size] [max_age=time];`
pub fn parse_overload(args: &[&[u8]]) -> Result<Overload, ParseError> {
    match args.split_first() {
        Some((&b"503", [])) => Ok(Overload::Unavailable),
        Some((&b"original", rest)) => {
            let (mut max_size, mut max_age) = (1 << 20, 10);
            for &a in rest {
                if let Some(v) = a.strip_prefix(b"max_size=") {
                    max_size = parse_size(v).ok_or_else(|| invalid(a))?;
                } else if let Some(v) = a.strip_prefix(b"max_age=") {
                    max_age = parse_time_ms(v).ok_or_else(|| invalid(a))? / 1000;
                } else {
                    return Err(ParseError::Unknown(String::from_utf8_lossy(a).into_owned()));
                }
            }
            Ok(Overload::Original { max_size, max_age })
        }
        Some((&b"503", [extra, ..])) => Err(invalid(extra)),
        Some((a, _)) => Err(invalid(a)),
        None => Err(invalid(b"")),
    }
}

/// nginx's `ngx_parse_size`: a number with an optional k/K, m/M or g/G.
pub fn parse_size(s: &[u8]) -> Option<usize> {
    let (num, unit) = match s.last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1usize << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n = crate::value::parse_decimal(num)? as usize;
    n.checked_mul(unit)
}

/// nginx's `ngx_parse_time` for one unit: a number with ms, s (default),
/// m or h.
pub fn parse_time_ms(s: &[u8]) -> Option<u64> {
    let (num, unit) = if let Some(n) = s.strip_suffix(b"ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix(b"s") {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix(b"m") {
        (n, 60_000)
    } else if let Some(n) = s.strip_suffix(b"h") {
        (n, 3_600_000)
    } else {
        (s, 1000)
    };
    crate::value::parse_decimal(num)?.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        jobs: Some(2),
        length: 3,
        size: 100,
        timeout_ms: 1000,
    };

    #[test]
    fn runs_up_to_jobs_then_queues_then_sheds_by_count() {
        let mut s = Scheduler::<u32>::default();
        for _ in 0..2 {
            s.hold(1, &L).unwrap();
            assert_eq!(s.admit(2, &L, 1), Admit::Run);
            s.release(1);
        }
        for i in 0..3 {
            s.hold(1, &L).unwrap();
            assert_eq!(s.admit(2, &L, 1), Admit::Queue);
            s.push(i);
        }
        s.hold(1, &L).unwrap();
        assert_eq!(s.admit(2, &L, 1), Admit::Shed(Shed::QueueFull));
        assert_eq!((s.running(), s.queued()), (2, 3));
    }

    #[test]
    fn saturated_before_the_origin_is_asked() {
        let mut s = Scheduler::<u32>::default();
        assert_eq!(s.saturated(1, &L), None);
        assert_eq!(s.admit(1, &L, 0), Admit::Run);
        assert_eq!(s.saturated(1, &L), None, "room in the queue");
        for i in 0..3 {
            s.push(i);
        }
        assert_eq!(s.saturated(1, &L), Some(Shed::QueueFull));
        assert_eq!(s.saturated(2, &L), None, "a free slot");
        let mut s = Scheduler::<u32>::default();
        s.hold(100, &L).unwrap();
        assert_eq!(s.saturated(1, &L), Some(Shed::QueueBytes));
    }

    #[test]
    fn fifo_order_and_running_count() {
        let mut s = Scheduler::<u32>::default();
        assert_eq!(s.admit(1, &L, 0), Admit::Run);
        assert_eq!(s.admit(1, &L, 0), Admit::Queue);
        s.push(10);
        assert_eq!(s.admit(1, &L, 0), Admit::Queue);
        s.push(11);
        assert_eq!(s.next(1), None, "the slot is taken");
        s.finished();
        assert_eq!(s.next(1).map(|x| x.1), Some(10));
        s.finished();
        assert_eq!(s.next(1).map(|x| x.1), Some(11));
        assert_eq!(s.next(1), None);
        assert_eq!(s.running(), 1);
    }

    #[test]
    fn a_new_job_does_not_overtake_the_queue() {
        let mut s = Scheduler::<u32>::default();
        assert_eq!(s.admit(1, &L, 0), Admit::Run);
        assert_eq!(s.admit(1, &L, 0), Admit::Queue);
        s.push(1);
        s.finished();
        // a slot is free but a job waits: the newcomer queues behind it
        assert_eq!(s.admit(1, &L, 0), Admit::Queue);
    }

    #[test]
    fn a_requeued_job_runs_first() {
        let mut s = Scheduler::<u32>::default();
        assert_eq!(s.admit(2, &L, 0), Admit::Run);
        assert_eq!(s.admit(2, &L, 0), Admit::Run);
        s.push(1);
        s.requeue(2);
        assert_eq!(s.running(), 1);
        assert_eq!(s.next(2).map(|x| x.1), Some(2));
    }

    #[test]
    fn removed_jobs_leave_the_queue() {
        let mut s = Scheduler::<u32>::default();
        assert_eq!(s.admit(1, &L, 0), Admit::Run);
        let a = s.push(1);
        let b = s.push(2);
        assert_eq!(s.remove(a), Some(1));
        assert_eq!(s.remove(a), None);
        s.finished();
        assert_eq!(s.next(1), Some((b, 2)));
    }

    #[test]
    fn bytes_bound_at_the_header_and_at_the_queue() {
        let mut s = Scheduler::<u32>::default();
        // one body larger than the bound may always wait alone
        s.hold(150, &L).unwrap();
        assert_eq!(s.hold(1, &L), Err(Shed::QueueBytes));
        s.release(150);
        s.hold(60, &L).unwrap();
        s.hold(40, &L).unwrap();
        assert_eq!(s.hold(1, &L), Err(Shed::QueueBytes));
        assert_eq!(s.held(), 100);
        // a body read without Content-Length, held only when complete
        let mut s = Scheduler::<u32>::default();
        assert_eq!(s.admit(1, &L, 0), Admit::Run);
        s.hold(90, &L).unwrap();
        assert_eq!(s.admit(1, &L, 90), Admit::Queue);
        s.push(1);
        s.rehold(0, 20); // a complete chunked body
        assert_eq!(s.admit(1, &L, 20), Admit::Shed(Shed::QueueBytes));
    }

    #[test]
    fn auto_jobs_is_cpus_per_worker() {
        assert_eq!(auto_jobs(2, 1), 2);
        assert_eq!(auto_jobs(8, 4), 2);
        assert_eq!(auto_jobs(2, 4), 1);
        assert_eq!(auto_jobs(0, 0), 1);
        assert_eq!(auto_jobs(1024, 1), MAX_JOBS);
    }

    #[test]
    fn directive_values() {
        assert_eq!(parse_jobs(b"auto"), Ok(None));
        assert_eq!(parse_jobs(b"3"), Ok(Some(3)));
        assert!(parse_jobs(b"0").is_err());
        assert_eq!(parse_jobs(b"128"), Ok(Some(128)));
        assert!(parse_jobs(b"129").is_err());
        assert!(parse_jobs(b"x").is_err());
        assert_eq!(parse_queue(&[]), Ok(Limits::DEFAULT));
        assert_eq!(
            parse_queue(&[b"length=5", b"size=2m", b"timeout=500ms"]),
            Ok(Limits {
                jobs: None,
                length: 5,
                size: 2 << 20,
                timeout_ms: 500
            })
        );
        assert_eq!(parse_queue(&[b"timeout=2m"]).unwrap().timeout_ms, 120_000);
        assert_eq!(parse_queue(&[b"length=0"]).unwrap().length, 0);
        assert!(parse_queue(&[b"timeout=0"]).is_err());
        assert!(parse_queue(&[b"size=1x"]).is_err());
        assert!(matches!(
            parse_queue(&[b"depth=1"]),
            Err(ParseError::Unknown(_))
        ));
        assert_eq!(parse_overload(&[b"503"]), Ok(Overload::Unavailable));
        assert_eq!(
            parse_overload(&[b"original"]),
            Ok(Overload::Original {
                max_size: 1 << 20,
                max_age: 10
            })
        );
        assert_eq!(
            parse_overload(&[b"original", b"max_size=300k", b"max_age=1m"]),
            Ok(Overload::Original {
                max_size: 300 << 10,
                max_age: 60
            })
        );
        assert!(parse_overload(&[b"404"]).is_err());
        assert!(parse_overload(&[b"503", b"x"]).is_err());
        assert!(parse_overload(&[b"original", b"max=1"]).is_err());
        assert_eq!(parse_size(b"64m"), Some(64 << 20));
        assert_eq!(parse_size(b"100"), Some(100));
        assert_eq!(parse_time_ms(b"10"), Some(10_000));
        assert_eq!(parse_time_ms(b"1h"), Some(3_600_000));
    }
}
