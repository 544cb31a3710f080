//! Test-only fault injection (feature `fault-injection`): a request header
//! `X-IRS-Fault: alloc | panic | thread_panic` makes the filter fail on
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

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn inject(_r: &Request, _f: Fault) -> bool {
    false
}
