//! Test-only fault injection (feature `fault-injection`): a request header
//! `X-IRS-Fault: alloc | panic | thread_panic | sleep=MS` makes the filter fail on
//! purpose, so the suite can prove a worker survives an allocation failure or
//! a panic and the client gets an error status. Compiled to nothing otherwise.

use ngx::http::Request;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The request context allocation fails.
    Alloc,
    /// A panic in the body filter on the event loop.
    Panic,
    /// A panic inside the pipeline on the pool thread.
    ThreadPanic,
}

#[cfg(feature = "fault-injection")]
pub(crate) fn inject(r: &Request, f: Fault) -> bool {
    let want: &[u8] = match f {
        Fault::Alloc => b"alloc",
        Fault::Panic => b"panic",
        Fault::ThreadPanic => b"thread_panic",
    };
    r.headers_in_iterator()
        .any(|(k, v)| k.as_bytes().eq_ignore_ascii_case(b"x-irs-fault") && v.as_bytes() == want)
}

/// `X-IRS-Fault: sleep=MS`: the job sleeps that long on the pool thread
/// before its work (a slow job, to keep others queued).
#[cfg(feature = "fault-injection")]
pub(crate) fn sleep_ms(r: &Request) -> u64 {
    r.headers_in_iterator()
        .find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(b"x-irs-fault"))
        .and_then(|(_, v)| v.as_bytes().strip_prefix(b"sleep="))
        .and_then(crate::value::parse_decimal)
        .unwrap_or(0)
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn sleep_ms(_r: &Request) -> u64 {
    0
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn inject(_r: &Request, _f: Fault) -> bool {
    false
}
